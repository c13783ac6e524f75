//! Sender authentication: a shared secret, compared in constant time.

use std::fmt;

use http::header::AUTHORIZATION;
use http::HeaderMap;
use subtle::ConstantTimeEq;

/// Header carrying the shared token.
pub const TOKEN_HEADER: &str = "x-webhook-token";

/// A secret value. Its `Debug` and `Display` never show it, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    fn matches(&self, presented: &[u8]) -> bool {
        // ct_eq compares every byte of equal-length inputs; only the length can leak.
        self.0.as_bytes().ct_eq(presented).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub enum Auth {
    /// Requests must present this token.
    Token(Secret),
    /// `ALLOW_UNAUTHENTICATED=true`: anyone may post (local runs, behind another gate).
    Open,
    /// No credential configured and not explicitly opened: every request is refused.
    Unconfigured,
}

/// Why a request was refused. Says which credential was missing or wrong, never what was
/// expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    NotConfigured,
    Missing,
    Wrong,
    UnsupportedScheme,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::NotConfigured => {
                "this endpoint has no credential configured (WEBHOOK_TOKEN) and refuses all requests"
            }
            AuthFailure::Missing => {
                "missing credential: send the token as X-Webhook-Token or Authorization: Bearer"
            }
            AuthFailure::Wrong => "wrong credential: the token presented is not valid",
            AuthFailure::UnsupportedScheme => {
                "unsupported Authorization scheme: use Authorization: Bearer <token> or X-Webhook-Token"
            }
        }
    }
}

impl Auth {
    pub fn check(&self, headers: &HeaderMap) -> Result<(), AuthFailure> {
        let secret = match self {
            Auth::Open => return Ok(()),
            Auth::Unconfigured => return Err(AuthFailure::NotConfigured),
            Auth::Token(s) => s,
        };
        let mut presented = false;
        let mut unsupported = false;
        for v in headers.get_all(TOKEN_HEADER) {
            presented = true;
            if secret.matches(v.as_bytes()) {
                return Ok(());
            }
        }
        for v in headers.get_all(AUTHORIZATION) {
            let v = v.as_bytes();
            match v.iter().position(|b| *b == b' ') {
                Some(i) if v[..i].eq_ignore_ascii_case(b"bearer") => {
                    presented = true;
                    let token = v[i + 1..].trim_ascii();
                    if secret.matches(token) {
                        return Ok(());
                    }
                }
                _ => unsupported = true,
            }
        }
        Err(if presented {
            AuthFailure::Wrong
        } else if unsupported {
            AuthFailure::UnsupportedScheme
        } else {
            AuthFailure::Missing
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn token_in_either_header_is_accepted() {
        let auth = Auth::Token(Secret::new("s3cret"));
        assert_eq!(
            auth.check(&headers(&[("X-Webhook-Token", "s3cret")])),
            Ok(())
        );
        assert_eq!(
            auth.check(&headers(&[("authorization", "Bearer s3cret")])),
            Ok(())
        );
        assert_eq!(
            auth.check(&headers(&[("authorization", "bearer  s3cret ")])),
            Ok(())
        );
    }

    #[test]
    fn missing_wrong_and_unsupported_are_told_apart() {
        let auth = Auth::Token(Secret::new("s3cret"));
        assert_eq!(auth.check(&headers(&[])), Err(AuthFailure::Missing));
        assert_eq!(
            auth.check(&headers(&[("x-webhook-token", "s3cre")])),
            Err(AuthFailure::Wrong)
        );
        assert_eq!(
            auth.check(&headers(&[("x-webhook-token", "s3cret!")])),
            Err(AuthFailure::Wrong)
        );
        assert_eq!(
            auth.check(&headers(&[("authorization", "Bearer nope")])),
            Err(AuthFailure::Wrong)
        );
        assert_eq!(
            auth.check(&headers(&[("authorization", "Basic dTpw")])),
            Err(AuthFailure::UnsupportedScheme)
        );
        assert_eq!(
            auth.check(&headers(&[("authorization", "s3cret")])),
            Err(AuthFailure::UnsupportedScheme)
        );
    }

    #[test]
    fn unconfigured_refuses_and_open_admits() {
        assert_eq!(
            Auth::Unconfigured.check(&headers(&[("x-webhook-token", "x")])),
            Err(AuthFailure::NotConfigured)
        );
        assert_eq!(Auth::Open.check(&headers(&[])), Ok(()));
    }

    #[test]
    fn messages_never_contain_the_secret_and_debug_is_redacted() {
        let auth = Auth::Token(Secret::new("s3cret"));
        assert!(!format!("{auth:?}").contains("s3cret"));
        for f in [
            AuthFailure::Missing,
            AuthFailure::Wrong,
            AuthFailure::NotConfigured,
            AuthFailure::UnsupportedScheme,
        ] {
            assert!(!f.message().contains("s3cret"));
        }
    }
}
