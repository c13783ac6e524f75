//! Sender authentication, per route: shared tokens (several at once, for rotation), HTTP Basic
//! (CleverTap's built-in option) and Radar-style signatures. Every comparison is constant-time.

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

    fn matches(&self, presented: &[u8]) -> bool {
        // ct_eq compares every byte of equal-length inputs; only the length can leak.
        self.0.as_bytes().ct_eq(presented).into()
    }

    /// Whether `signature_hex` is the HMAC-SHA1 of `message` keyed with this secret.
    fn signed(&self, message: &[u8], signature_hex: &[u8]) -> bool {
        let Ok(signature) = hex::decode(signature_hex.trim_ascii()) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(self.0.as_bytes()) else {
            return false;
        };
        mac.update(message);
        mac.verify_slice(&signature).is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A way a sender proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `X-Webhook-Token: <token>` or `Authorization: Bearer <token>`.
    Token,
    /// `Authorization: Basic <base64 user:password>`.
    Basic,
    /// `X-Radar-Signature` over `X-Radar-Signing-Id` (or the event `_id`), keyed with a token.
    Radar,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Token, Method::Basic, Method::Radar];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Token => "token",
            Method::Basic => "basic",
            Method::Radar => "radar",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Method::Token => "X-Webhook-Token or Authorization: Bearer",
            Method::Basic => "Authorization: Basic",
            Method::Radar => "X-Radar-Signature",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The methods a route accepts unless configured otherwise: CleverTap offers custom headers
    /// and HTTP Basic; location platforms send tokens or Radar signatures.
    pub fn defaults_for(source: Source) -> &'static [Method] {
        match source {
            Source::ClevertapWebhook | Source::ClevertapExportStatus => {
                &[Method::Token, Method::Basic]
            }
            Source::Location => &[Method::Token, Method::Radar],
        }
    }
}

#[derive(Debug, Clone)]
pub struct BasicCredential {
    pub user: String,
    pub password: Secret,
}

/// Who may post, and how, per route.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Every valid token (more than one while a token is being rotated). Also the Radar keys.
    pub tokens: Vec<Secret>,
    pub basic: Vec<BasicCredential>,
    /// Accepted methods per route.
    pub methods: Vec<(Source, Vec<Method>)>,
    /// `ALLOW_UNAUTHENTICATED=true` and no credential configured: anyone may post.
    pub open: bool,
}

/// Why a request was refused. Says which credential was missing or wrong, never what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    NotConfigured,
    Missing {
        accepted: Vec<Method>,
    },
    Wrong(Method),
    NotAccepted {
        presented: Method,
        accepted: Vec<Method>,
    },
    UnsupportedScheme {
        accepted: Vec<Method>,
    },
}

fn list(methods: &[Method]) -> String {
    methods
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
            AuthFailure::Wrong(Method::Token) => {
                "wrong credential: the token presented is not valid".to_owned()
            }
            AuthFailure::Wrong(Method::Basic) => {
                "wrong credential: the Basic user or password is not valid".to_owned()
            }
            AuthFailure::Wrong(Method::Radar) => {
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
        }
    }
}

/// One credential found in a request.
enum Presented<'a> {
    Token(&'a [u8]),
    Basic(Option<(String, String)>),
    Radar {
        signature: &'a [u8],
        signing_id: Option<&'a [u8]>,
    },
    Unsupported,
}

impl Presented<'_> {
    fn method(&self) -> Option<Method> {
        match self {
            Presented::Token(_) => Some(Method::Token),
            Presented::Basic(_) => Some(Method::Basic),
            Presented::Radar { .. } => Some(Method::Radar),
            Presented::Unsupported => None,
        }
    }
}

fn presented(headers: &HeaderMap) -> Vec<Presented<'_>> {
    let mut out: Vec<Presented<'_>> = headers
        .get_all(TOKEN_HEADER)
        .iter()
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

/// The event `_id`s of a Radar delivery, which older deliveries signed.
fn radar_event_ids(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    std::iter::once(&v["event"])
        .chain(v["events"].as_array().into_iter().flatten())
        .filter_map(|e| e["_id"].as_str().map(str::to_owned))
        .collect()
}

impl Auth {
    /// Tokens only, on every route (tests and simple setups).
    pub fn token(token: impl Into<String>) -> Self {
        Auth {
            tokens: vec![Secret::new(token)],
            basic: Vec::new(),
            methods: Source::ALL
                .iter()
                .map(|s| (*s, Method::defaults_for(*s).to_vec()))
                .collect(),
            open: false,
        }
    }

    fn configured(&self, m: Method) -> bool {
        match m {
            Method::Token | Method::Radar => !self.tokens.is_empty(),
            Method::Basic => !self.basic.is_empty(),
        }
    }

    /// The methods `source` accepts that have a secret configured.
    pub fn accepted(&self, source: Source) -> Vec<Method> {
        self.methods
            .iter()
            .find(|(s, _)| *s == source)
            .map(|(_, ms)| ms.iter().copied().filter(|m| self.configured(*m)).collect())
            .unwrap_or_default()
    }

    fn valid(&self, p: &Presented<'_>, body: &[u8]) -> bool {
        match p {
            Presented::Token(t) => self.tokens.iter().any(|s| s.matches(t)),
            Presented::Basic(Some((user, password))) => self.basic.iter().any(|c| {
                bool::from(c.user.as_bytes().ct_eq(user.as_bytes()))
                    & c.password.matches(password.as_bytes())
            }),
            Presented::Basic(None) | Presented::Unsupported => false,
            Presented::Radar {
                signature,
                signing_id: Some(id),
            } => self.tokens.iter().any(|k| k.signed(id, signature)),
            Presented::Radar {
                signature,
                signing_id: None,
            } => {
                let ids = radar_event_ids(body);
                self.tokens
                    .iter()
                    .any(|k| ids.iter().any(|id| k.signed(id.as_bytes(), signature)))
            }
        }
    }

    /// Checks a request to `source`'s route. `body` is read only for Radar signatures of the
    /// older form, which sign the event `_id`.
    pub fn check(
        &self,
        source: Source,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), AuthFailure> {
        if self.open {
            return Ok(());
        }
        let accepted = self.accepted(source);
        if accepted.is_empty() {
            return Err(AuthFailure::NotConfigured);
        }
        let creds = presented(headers);
        let mut failure = None;
        for p in &creds {
            match p.method() {
                Some(m) if accepted.contains(&m) => {
                    if self.valid(p, body) {
                        return Ok(());
                    }
                    failure.get_or_insert(AuthFailure::Wrong(m));
                }
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
        Err(failure.unwrap_or(AuthFailure::Missing { accepted }))
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

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    fn hmac_hex(key: &str, msg: &str) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(msg.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn full() -> Auth {
        Auth {
            tokens: vec![Secret::new("old-token"), Secret::new("new-token")],
            basic: vec![BasicCredential {
                user: "clevertap".into(),
                password: Secret::new("pa:ss"),
            }],
            methods: Source::ALL
                .iter()
                .map(|s| (*s, Method::defaults_for(*s).to_vec()))
                .collect(),
            open: false,
        }
    }

    const CT: Source = Source::ClevertapWebhook;
    const LOC: Source = Source::Location;

    #[test]
    fn hmac_sha1_matches_the_published_test_vector() {
        assert_eq!(
            hmac_hex("key", "The quick brown fox jumps over the lazy dog"),
            "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
    }

    #[test]
    fn every_configured_token_is_accepted_in_either_header_so_tokens_can_rotate() {
        let a = full();
        for t in ["old-token", "new-token"] {
            assert_eq!(
                a.check(CT, &headers(&[("X-Webhook-Token", t)]), b""),
                Ok(())
            );
            assert_eq!(
                a.check(
                    LOC,
                    &headers(&[("authorization", &format!("bearer  {t} "))]),
                    b""
                ),
                Ok(())
            );
        }
        assert_eq!(
            a.check(CT, &headers(&[("x-webhook-token", "new-toke")]), b""),
            Err(AuthFailure::Wrong(Method::Token))
        );
    }

    #[test]
    fn http_basic_is_accepted_on_clevertap_routes() {
        let a = full();
        assert_eq!(
            a.check(
                CT,
                &headers(&[("authorization", &basic("clevertap", "pa:ss"))]),
                b""
            ),
            Ok(())
        );
        assert_eq!(
            a.check(
                Source::ClevertapExportStatus,
                &headers(&[("authorization", &basic("clevertap", "pa:ss"))]),
                b""
            ),
            Ok(())
        );
        assert_eq!(
            a.check(
                CT,
                &headers(&[("authorization", &basic("clevertap", "nope"))]),
                b""
            ),
            Err(AuthFailure::Wrong(Method::Basic))
        );
        assert_eq!(
            a.check(
                CT,
                &headers(&[("authorization", &basic("other", "pa:ss"))]),
                b""
            ),
            Err(AuthFailure::Wrong(Method::Basic))
        );
        assert_eq!(
            a.check(CT, &headers(&[("authorization", "Basic !!!")]), b""),
            Err(AuthFailure::Wrong(Method::Basic))
        );
        assert!(
            matches!(
                a.check(
                    LOC,
                    &headers(&[("authorization", &basic("clevertap", "pa:ss"))]),
                    b""
                ),
                Err(AuthFailure::NotAccepted {
                    presented: Method::Basic,
                    ..
                })
            ),
            "Basic is not a location-route method by default"
        );
    }

    #[test]
    fn radar_signatures_over_the_signing_id_or_the_event_id() {
        let a = full();
        let sig = hmac_hex("new-token", "signing-123");
        assert_eq!(
            a.check(
                LOC,
                &headers(&[
                    ("x-radar-signature", &sig),
                    ("x-radar-signing-id", "signing-123")
                ]),
                b""
            ),
            Ok(())
        );
        assert_eq!(
            a.check(
                LOC,
                &headers(&[
                    ("x-radar-signature", &sig.to_uppercase()),
                    ("x-radar-signing-id", "signing-123")
                ]),
                b""
            ),
            Ok(()),
            "hex case does not matter"
        );
        assert_eq!(
            a.check(
                LOC,
                &headers(&[
                    ("x-radar-signature", &sig),
                    ("x-radar-signing-id", "signing-124")
                ]),
                b""
            ),
            Err(AuthFailure::Wrong(Method::Radar))
        );
        let legacy = hmac_hex("old-token", "5f1c");
        let body = br#"{"event":{"_id":"5f1c","type":"user.entered_geofence"},"user":{}}"#;
        assert_eq!(
            a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), body),
            Ok(())
        );
        let many = br#"{"events":[{"_id":"a"},{"_id":"5f1c"}]}"#;
        assert_eq!(
            a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), many),
            Ok(())
        );
        assert_eq!(
            a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), b"{}"),
            Err(AuthFailure::Wrong(Method::Radar))
        );
        assert_eq!(
            a.check(LOC, &headers(&[("x-radar-signature", "zz-not-hex")]), body),
            Err(AuthFailure::Wrong(Method::Radar))
        );
        assert!(matches!(
            a.check(
                CT,
                &headers(&[
                    ("x-radar-signature", &sig),
                    ("x-radar-signing-id", "signing-123")
                ]),
                b""
            ),
            Err(AuthFailure::NotAccepted {
                presented: Method::Radar,
                ..
            })
        ));
    }

    #[test]
    fn missing_and_unsupported_say_what_the_route_accepts() {
        let a = full();
        let missing = a.check(CT, &headers(&[]), b"").unwrap_err();
        assert_eq!(
            missing,
            AuthFailure::Missing {
                accepted: vec![Method::Token, Method::Basic]
            }
        );
        assert_eq!(missing.message(), "missing credential: send X-Webhook-Token or Authorization: Bearer, or Authorization: Basic");
        let unsupported = a
            .check(LOC, &headers(&[("authorization", "Digest x")]), b"")
            .unwrap_err();
        assert!(unsupported
            .message()
            .starts_with("unsupported Authorization scheme"));
    }

    #[test]
    fn a_route_accepts_only_its_methods_with_configured_secrets() {
        let mut a = Auth::token("t");
        assert_eq!(
            a.accepted(CT),
            vec![Method::Token],
            "no Basic credential configured"
        );
        a.methods = vec![(CT, vec![Method::Basic])];
        assert_eq!(
            a.check(CT, &headers(&[("x-webhook-token", "t")]), b""),
            Err(AuthFailure::NotConfigured)
        );
        assert_eq!(
            a.check(LOC, &headers(&[("x-webhook-token", "t")]), b""),
            Err(AuthFailure::NotConfigured)
        );
        let open = Auth {
            tokens: vec![],
            basic: vec![],
            methods: vec![],
            open: true,
        };
        assert_eq!(open.check(LOC, &headers(&[]), b""), Ok(()));
    }

    #[test]
    fn messages_never_contain_secrets_and_debug_is_redacted() {
        let a = full();
        let dbg = format!("{a:?}");
        assert!(
            !dbg.contains("new-token") && !dbg.contains("pa:ss"),
            "{dbg}"
        );
        for f in [
            AuthFailure::Wrong(Method::Token),
            AuthFailure::Wrong(Method::Basic),
            AuthFailure::Wrong(Method::Radar),
            AuthFailure::Missing {
                accepted: Method::ALL.to_vec(),
            },
        ] {
            assert!(!f.message().contains("token\"") && !f.message().contains("pa:ss"));
        }
    }
}
