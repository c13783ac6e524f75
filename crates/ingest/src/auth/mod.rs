//! Sender authentication, per route: shared tokens (several at once, for rotation), HTTP Basic
//! (CleverTap's built-in option) and Radar-style signatures. Every comparison is constant-time.
//!
//! A request is checked in two steps so that a request without a valid credential costs no
//! body: [`Auth::check_headers`] decides every credential carried in headers (tokens, Basic, a
//! Radar signature over `X-Radar-Signing-Id`) and leaves only the older Radar form, which signs
//! an event `_id` inside the body, to [`Auth::check_body`]. A valid Radar signature is then
//! bound to its body by [`Auth::record_use`], so a captured signature cannot carry another body.

mod failure;
pub mod ledger;
mod radar;
mod scheme;

use std::sync::Arc;
use std::time::Duration;

use hookloop_domain::{ParseError, Source, Webhook};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::{error, info};

pub use failure::AuthFailure;
pub use ledger::{LedgerError, MemoryLedger, SigningIdLedger, SigningIdUse};
pub use radar::{SignedMessage, MAX_SIGNING_ID_BYTES};
pub use scheme::{BasicCredential, Scheme, Secret};

use scheme::{presented, Presented};

/// How long a Radar signed message refuses a body other than the first one, by default.
pub const DEFAULT_SIGNING_ID_WINDOW_HOURS: u64 = 30 * 24;

/// Who may post, and how, per route.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Every valid token (more than one while a token is being rotated). Also the Radar keys.
    pub tokens: Vec<Secret>,
    pub basic: Vec<BasicCredential>,
    /// Accepted schemes per route.
    pub schemes: Vec<(Source, Vec<Scheme>)>,
    /// `ALLOW_UNAUTHENTICATED=true` and no credential configured: anyone may post.
    pub open: bool,
    /// Where Radar signed messages are recorded with their body (single use).
    pub signing_ids: Arc<dyn SigningIdLedger>,
}

/// A request whose credential checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// A token, Basic, or an open endpoint.
    Credential,
    /// A Radar signature: valid for the body it came with only ([`Auth::record_use`]).
    Radar(SignedMessage),
}

/// What the headers alone decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderCheck {
    Verified(Verified),
    /// Only an older-form Radar signature, over an event `_id` in the body, is left to check.
    NeedsBody(PendingRadar),
}

/// An older-form Radar signature waiting for the body; `otherwise` is the refusal to give if it
/// does not match (the first other credential that failed, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRadar {
    signature: Vec<u8>,
    otherwise: Option<AuthFailure>,
}

/// Why [`Auth::record_use`] refused a valid signature.
#[derive(Debug, thiserror::Error)]
pub enum UseRefused {
    #[error("the signed message was already accepted with another body")]
    Replayed,
    #[error(transparent)]
    Unavailable(#[from] LedgerError),
}

enum Outcome {
    Valid(Verified),
    NeedsBody(Vec<u8>),
    Invalid(AuthFailure),
}

impl Auth {
    /// Tokens only, on every route (tests and simple setups); Radar signing ids remembered in
    /// this process.
    pub fn token(token: impl Into<String>) -> Self {
        Auth {
            tokens: vec![Secret::new(token)],
            basic: Vec::new(),
            schemes: Source::ALL
                .iter()
                .map(|s| (*s, Scheme::defaults_for(*s).to_vec()))
                .collect(),
            open: false,
            signing_ids: Arc::new(MemoryLedger::new(Duration::from_secs(
                DEFAULT_SIGNING_ID_WINDOW_HOURS * 3600,
            ))),
        }
    }

    /// The same credentials, recording Radar signed messages in `ledger`.
    pub fn with_signing_ids(mut self, ledger: Arc<dyn SigningIdLedger>) -> Self {
        self.signing_ids = ledger;
        self
    }

    fn configured(&self, m: Scheme) -> bool {
        match m {
            Scheme::Token | Scheme::Radar => !self.tokens.is_empty(),
            Scheme::Basic => !self.basic.is_empty(),
        }
    }

    /// Whether some route accepts Radar signatures.
    pub fn accepts_radar(&self) -> bool {
        Source::ALL
            .iter()
            .any(|s| self.accepted(*s).contains(&Scheme::Radar))
    }

    /// The schemes `source` accepts that have a secret configured.
    pub fn accepted(&self, source: Source) -> Vec<Scheme> {
        self.schemes
            .iter()
            .find(|(s, _)| *s == source)
            .map(|(_, ms)| ms.iter().copied().filter(|m| self.configured(*m)).collect())
            .unwrap_or_default()
    }

    fn outcome(&self, p: &Presented<'_>) -> Outcome {
        let valid = match p {
            Presented::Token(t) => self.tokens.iter().any(|s| s.matches(t)),
            Presented::Basic(Some((user, password))) => self.basic.iter().any(|c| {
                bool::from(c.user.as_bytes().ct_eq(user.as_bytes()))
                    & c.password.matches(password.as_bytes())
            }),
            Presented::Basic(None) | Presented::Unsupported => false,
            Presented::Radar {
                signature,
                signing_id,
            } => {
                let Ok(signature) = hex::decode(signature.trim_ascii()) else {
                    return Outcome::Invalid(AuthFailure::Wrong(Scheme::Radar));
                };
                let Some(id) = signing_id else {
                    return Outcome::NeedsBody(signature);
                };
                if id.trim_ascii().is_empty() {
                    return Outcome::Invalid(AuthFailure::EmptySigningId);
                }
                if id.len() <= MAX_SIGNING_ID_BYTES
                    && self.tokens.iter().any(|k| k.signed(id, &signature))
                {
                    return Outcome::Valid(Verified::Radar(SignedMessage::of(id)));
                }
                false
            }
        };
        match (valid, p.scheme()) {
            (true, _) => Outcome::Valid(Verified::Credential),
            (false, Some(s)) => Outcome::Invalid(AuthFailure::Wrong(s)),
            (false, None) => Outcome::Invalid(AuthFailure::UnsupportedScheme {
                accepted: Vec::new(),
            }),
        }
    }

    /// Checks the credentials in the headers of a request to `source`'s route. Reads no body:
    /// an older-form Radar signature comes back as [`HeaderCheck::NeedsBody`].
    pub fn check_headers(
        &self,
        source: Source,
        headers: &HeaderMap,
    ) -> Result<HeaderCheck, AuthFailure> {
        if self.open {
            return Ok(HeaderCheck::Verified(Verified::Credential));
        }
        let accepted = self.accepted(source);
        if accepted.is_empty() {
            return Err(AuthFailure::NotConfigured);
        }
        let mut failure = None;
        let mut pending = None;
        for p in &presented(headers) {
            match p.scheme() {
                Some(m) if accepted.contains(&m) => match self.outcome(p) {
                    Outcome::Valid(v) => return Ok(HeaderCheck::Verified(v)),
                    Outcome::NeedsBody(signature) => pending = Some(signature),
                    Outcome::Invalid(f) => {
                        failure.get_or_insert(f);
                    }
                },
                Some(m) => {
                    failure.get_or_insert(AuthFailure::NotAccepted {
                        presented: m,
                        accepted: accepted.clone(),
                    });
                }
                None => {
                    failure.get_or_insert(AuthFailure::UnsupportedScheme {
                        accepted: accepted.clone(),
                    });
                }
            }
        }
        match pending {
            Some(signature) => Ok(HeaderCheck::NeedsBody(PendingRadar {
                signature,
                otherwise: failure,
            })),
            None => Err(failure.unwrap_or(AuthFailure::Missing { accepted })),
        }
    }

    /// Checks an older-form Radar signature: valid only over the one `_id` that every event in
    /// `body` carries. One read of the body, one HMAC per key. The caller bounds `body`'s size.
    pub fn check_body(&self, pending: PendingRadar, body: &[u8]) -> Result<Verified, AuthFailure> {
        self.check_event_id(pending, radar::sole_event_id(body))
    }

    /// [`Auth::check_body`] for a body the caller has already parsed (`parsed` is what
    /// `parse_webhook` gave for `body`): the signed `_id` is read from the typed webhook, so a
    /// valid delivery is read once. Gives exactly what [`Auth::check_body`] gives: where the
    /// webhook cannot tell (a parse failure, an id that may have been a JSON integer), the body
    /// is probed as [`Auth::check_body`] probes it.
    pub fn check_parsed(
        &self,
        pending: PendingRadar,
        body: &[u8],
        parsed: &Result<Webhook, ParseError>,
    ) -> Result<Verified, AuthFailure> {
        let id = match parsed {
            Ok(webhook) => match radar::parsed_event_id(webhook) {
                radar::ParsedId::Known(id) => id.map(str::to_owned),
                radar::ParsedId::Unsure => radar::sole_event_id(body),
            },
            Err(_) => radar::sole_event_id(body),
        };
        self.check_event_id(pending, id)
    }

    /// Checks an older-form Radar signature over `id`, the one event `_id` of the body.
    fn check_event_id(
        &self,
        pending: PendingRadar,
        id: Option<String>,
    ) -> Result<Verified, AuthFailure> {
        let refused = || {
            pending
                .otherwise
                .clone()
                .unwrap_or(AuthFailure::Wrong(Scheme::Radar))
        };
        let id = id.ok_or_else(refused)?;
        if self
            .tokens
            .iter()
            .any(|k| k.signed(id.as_bytes(), &pending.signature))
        {
            Ok(Verified::Radar(SignedMessage::of(id.as_bytes())))
        } else {
            Err(refused())
        }
    }

    /// Binds a valid Radar signature to `body`: its first body, or the same body again (the
    /// sender's retry), passes; another body within the window is a replay. Other credentials
    /// pass untouched.
    pub async fn record_use(&self, verified: &Verified, body: &[u8]) -> Result<(), UseRefused> {
        let Verified::Radar(signed) = verified else {
            return Ok(());
        };
        let body_sha256: [u8; 32] = Sha256::digest(body).into();
        match self.signing_ids.record(signed.sha256(), &body_sha256).await {
            Ok(SigningIdUse::First) => Ok(()),
            Ok(SigningIdUse::SameBody) => {
                info!("Radar signature seen before with this body: a retry");
                Ok(())
            }
            Ok(SigningIdUse::OtherBody) => Err(UseRefused::Replayed),
            Err(e) => {
                error!(error = %e, "Radar signature not recorded; answering 503");
                Err(UseRefused::Unavailable(e))
            }
        }
    }

    /// Headers and body together, without recording the use (tests of the schemes).
    #[cfg(test)]
    pub(crate) fn check(
        &self,
        source: Source,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), AuthFailure> {
        match self.check_headers(source, headers)? {
            HeaderCheck::Verified(_) => Ok(()),
            HeaderCheck::NeedsBody(p) => self.check_body(p, body).map(drop),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod through_handler;
