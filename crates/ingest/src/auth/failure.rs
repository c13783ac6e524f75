//! Why a request was refused: says which credential was missing or wrong, never what was
//! expected, and never echoes what was presented.

use super::Scheme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    NotConfigured,
    Missing {
        accepted: Vec<Scheme>,
    },
    Wrong(Scheme),
    NotAccepted {
        presented: Scheme,
        accepted: Vec<Scheme>,
    },
    UnsupportedScheme {
        accepted: Vec<Scheme>,
    },
    /// `X-Radar-Signing-Id` present but empty: a signature over nothing vouches for nothing.
    EmptySigningId,
    /// A Radar signature already accepted with another body within the window: a replay.
    Replayed,
}

fn list(schemes: &[Scheme]) -> String {
    schemes
        .iter()
        .map(|m| m.describe())
        .collect::<Vec<_>>()
        .join(", or ")
}

impl AuthFailure {
    pub fn message(&self) -> String {
        match self {
            AuthFailure::NotConfigured => {
                "this endpoint has no credential configured and refuses all requests".to_owned()
            }
            AuthFailure::Missing { accepted } => {
                format!("missing credential: send {}", list(accepted))
            }
            AuthFailure::Wrong(Scheme::Token) => {
                "wrong credential: the token presented is not valid".to_owned()
            }
            AuthFailure::Wrong(Scheme::Basic) => {
                "wrong credential: the Basic user or password is not valid".to_owned()
            }
            AuthFailure::Wrong(Scheme::Radar) => {
                "wrong credential: X-Radar-Signature does not match the signing id or event _id"
                    .to_owned()
            }
            AuthFailure::NotAccepted {
                presented,
                accepted,
            } => format!(
                "{} is not accepted on this route: send {}",
                presented.describe(),
                list(accepted)
            ),
            AuthFailure::UnsupportedScheme { accepted } => {
                format!("unsupported Authorization scheme: send {}", list(accepted))
            }
            AuthFailure::EmptySigningId => {
                "wrong credential: X-Radar-Signing-Id is empty".to_owned()
            }
            AuthFailure::Replayed => {
                "wrong credential: this X-Radar-Signature was already accepted with another body"
                    .to_owned()
            }
        }
    }
}
