//! The credentials a request can carry, the schemes they belong to, and the secrets they are
//! checked against. Every comparison is constant-time.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use hookloop_domain::Source;
use http::header::AUTHORIZATION;
use http::HeaderMap;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Header carrying a shared token.
pub const TOKEN_HEADER: &str = "x-webhook-token";
/// Foursquare's Movement SDK sends its console's secret in this header: a shared token too
/// (set one of `WEBHOOK_TOKEN`'s tokens to it).
pub const PILGRIM_SECRET_HEADER: &str = "pilgrim-secret";
/// Radar: hex HMAC-SHA1 of the signing id (or, in older deliveries, of the event `_id`).
pub const RADAR_SIGNATURE_HEADER: &str = "x-radar-signature";
pub const RADAR_SIGNING_ID_HEADER: &str = "x-radar-signing-id";

/// A secret value. Its `Debug` never shows it, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub(super) fn matches(&self, presented: &[u8]) -> bool {
        // ct_eq compares every byte of equal-length inputs; only the length can leak.
        self.0.as_bytes().ct_eq(presented).into()
    }

    /// Whether `signature` is the HMAC-SHA1 of `message` keyed with this secret.
    pub(super) fn signed(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(self.0.as_bytes()) else {
            return false;
        };
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A way a sender proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `X-Webhook-Token: <token>`, `Authorization: Bearer <token>` or Foursquare's
    /// `Pilgrim-Secret: <token>`.
    Token,
    /// `Authorization: Basic <base64 user:password>`.
    Basic,
    /// `X-Radar-Signature` over `X-Radar-Signing-Id` (or the event `_id`), keyed with a token.
    Radar,
}

impl Scheme {
    pub const ALL: [Scheme; 3] = [Scheme::Token, Scheme::Basic, Scheme::Radar];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Token => "token",
            Scheme::Basic => "basic",
            Scheme::Radar => "radar",
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Scheme::Token => "X-Webhook-Token or Authorization: Bearer",
            Scheme::Basic => "Authorization: Basic",
            Scheme::Radar => "X-Radar-Signature",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The schemes a route accepts unless configured otherwise: CleverTap offers custom headers
    /// and HTTP Basic; location platforms send tokens or Radar signatures.
    pub fn defaults_for(source: Source) -> &'static [Scheme] {
        match source {
            Source::ClevertapWebhook | Source::ClevertapExportStatus => {
                &[Scheme::Token, Scheme::Basic]
            }
            Source::Location => &[Scheme::Token, Scheme::Radar],
        }
    }
}

#[derive(Debug, Clone)]
pub struct BasicCredential {
    pub user: String,
    pub password: Secret,
}

/// One credential found in a request.
pub(super) enum Presented<'a> {
    Token(&'a [u8]),
    Basic(Option<(String, String)>),
    Radar {
        signature: &'a [u8],
        signing_id: Option<&'a [u8]>,
    },
    Unsupported,
}

impl Presented<'_> {
    pub(super) fn scheme(&self) -> Option<Scheme> {
        match self {
            Presented::Token(_) => Some(Scheme::Token),
            Presented::Basic(_) => Some(Scheme::Basic),
            Presented::Radar { .. } => Some(Scheme::Radar),
            Presented::Unsupported => None,
        }
    }
}

/// Every credential in `headers`, tokens first.
pub(super) fn presented(headers: &HeaderMap) -> Vec<Presented<'_>> {
    let mut out: Vec<Presented<'_>> = headers
        .get_all(TOKEN_HEADER)
        .iter()
        .chain(headers.get_all(PILGRIM_SECRET_HEADER))
        .map(|v| Presented::Token(v.as_bytes()))
        .collect();
    for v in headers.get_all(AUTHORIZATION) {
        let v = v.as_bytes();
        let (scheme, rest) = match v.iter().position(|b| *b == b' ') {
            Some(i) => (&v[..i], v[i + 1..].trim_ascii()),
            None => (v, &b""[..]),
        };
        if scheme.eq_ignore_ascii_case(b"bearer") {
            out.push(Presented::Token(rest));
        } else if scheme.eq_ignore_ascii_case(b"basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())));
            out.push(Presented::Basic(decoded));
        } else {
            out.push(Presented::Unsupported);
        }
    }
    if let Some(sig) = headers.get(RADAR_SIGNATURE_HEADER) {
        out.push(Presented::Radar {
            signature: sig.as_bytes(),
            signing_id: headers.get(RADAR_SIGNING_ID_HEADER).map(|v| v.as_bytes()),
        });
    }
    out
}
