use super::*;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderValue;
use sha1::Sha1;

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
        schemes: Source::ALL
            .iter()
            .map(|s| (*s, Scheme::defaults_for(*s).to_vec()))
            .collect(),
        open: false,
        signing_ids: Arc::new(MemoryLedger::new(Duration::from_secs(60))),
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
        Err(AuthFailure::Wrong(Scheme::Token))
    );
}

#[test]
fn foursquares_pilgrim_secret_is_a_token() {
    let a = full();
    assert_eq!(
        a.check(LOC, &headers(&[("Pilgrim-Secret", "new-token")]), b""),
        Ok(())
    );
    assert_eq!(
        a.check(LOC, &headers(&[("pilgrim-secret", "not-a-token")]), b""),
        Err(AuthFailure::Wrong(Scheme::Token))
    );
    let radar_only = Auth {
        schemes: vec![(LOC, vec![Scheme::Radar])],
        ..full()
    };
    assert!(
        radar_only
            .check(LOC, &headers(&[("Pilgrim-Secret", "new-token")]), b"")
            .is_err(),
        "a route that takes no tokens takes no Pilgrim-Secret"
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
        Err(AuthFailure::Wrong(Scheme::Basic))
    );
    assert_eq!(
        a.check(
            CT,
            &headers(&[("authorization", &basic("other", "pa:ss"))]),
            b""
        ),
        Err(AuthFailure::Wrong(Scheme::Basic))
    );
    assert_eq!(
        a.check(CT, &headers(&[("authorization", "Basic !!!")]), b""),
        Err(AuthFailure::Wrong(Scheme::Basic))
    );
    assert!(
        matches!(
            a.check(
                LOC,
                &headers(&[("authorization", &basic("clevertap", "pa:ss"))]),
                b""
            ),
            Err(AuthFailure::NotAccepted {
                presented: Scheme::Basic,
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
        Err(AuthFailure::Wrong(Scheme::Radar))
    );
    let legacy = hmac_hex("old-token", "5f1c");
    let body = br#"{"event":{"_id":"5f1c","type":"user.entered_geofence"},"user":{}}"#;
    assert_eq!(
        a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), body),
        Ok(())
    );
    let same = br#"{"events":[{"_id":"5f1c"},{"_id":"5f1c"}]}"#;
    assert_eq!(
        a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), same),
        Ok(())
    );
    assert_eq!(
        a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), b"{}"),
        Err(AuthFailure::Wrong(Scheme::Radar))
    );
    assert_eq!(
        a.check(LOC, &headers(&[("x-radar-signature", "zz-not-hex")]), body),
        Err(AuthFailure::Wrong(Scheme::Radar))
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
            presented: Scheme::Radar,
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
            accepted: vec![Scheme::Token, Scheme::Basic]
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
        vec![Scheme::Token],
        "no Basic credential configured"
    );
    a.schemes = vec![(CT, vec![Scheme::Basic])];
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
        schemes: vec![],
        open: true,
        signing_ids: Arc::new(MemoryLedger::new(Duration::from_secs(60))),
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
        AuthFailure::Wrong(Scheme::Token),
        AuthFailure::Wrong(Scheme::Basic),
        AuthFailure::Wrong(Scheme::Radar),
        AuthFailure::Missing {
            accepted: Scheme::ALL.to_vec(),
        },
    ] {
        assert!(!f.message().contains("token\"") && !f.message().contains("pa:ss"));
    }
}

#[test]
fn one_signed_event_id_does_not_vouch_for_other_events_beside_it() {
    let a = full();
    let legacy = hmac_hex("old-token", "5f1c");
    for forged in [
        &br#"{"events":[{"_id":"forged"},{"_id":"5f1c"}]}"#[..],
        br#"{"event":{"_id":"5f1c"},"events":[{"_id":"forged"}]}"#,
        br#"{"events":[{"_id":"5f1c"},{"type":"user.exited_geofence"}]}"#,
    ] {
        assert_eq!(
            a.check(LOC, &headers(&[("x-radar-signature", &legacy)]), forged),
            Err(AuthFailure::Wrong(Scheme::Radar)),
            "{}",
            String::from_utf8_lossy(forged)
        );
    }
}

#[test]
fn an_empty_signing_id_is_refused() {
    let a = full();
    for empty in ["", " "] {
        let sig = hmac_hex("new-token", empty);
        let failure = a
            .check(
                LOC,
                &headers(&[("x-radar-signature", &sig), ("x-radar-signing-id", empty)]),
                b"{}",
            )
            .unwrap_err();
        assert_eq!(failure, AuthFailure::EmptySigningId);
        assert!(failure.message().contains("X-Radar-Signing-Id is empty"));
    }
}

#[test]
fn headers_alone_decide_every_credential_but_the_older_radar_form() {
    let a = full();
    let sig = hmac_hex("new-token", "signing-1");
    assert_eq!(
        a.check_headers(LOC, &headers(&[("x-webhook-token", "old-token")])),
        Ok(HeaderCheck::Verified(Verified::Credential))
    );
    assert_eq!(
        a.check_headers(
            LOC,
            &headers(&[
                ("x-radar-signature", &sig),
                ("x-radar-signing-id", "signing-1")
            ])
        ),
        Ok(HeaderCheck::Verified(Verified::Radar(SignedMessage::of(
            b"signing-1"
        ))))
    );
    assert!(matches!(
        a.check_headers(LOC, &headers(&[("x-radar-signature", &sig)])),
        Ok(HeaderCheck::NeedsBody(_))
    ));
    assert_eq!(
        a.check_headers(LOC, &headers(&[("x-radar-signature", "not hex")])),
        Err(AuthFailure::Wrong(Scheme::Radar)),
        "a signature that is not hex is refused without the body"
    );
    let too_long = "i".repeat(MAX_SIGNING_ID_BYTES + 1);
    let sig = hmac_hex("new-token", &too_long);
    assert_eq!(
        a.check_headers(
            LOC,
            &headers(&[
                ("x-radar-signature", &sig),
                ("x-radar-signing-id", &too_long)
            ])
        ),
        Err(AuthFailure::Wrong(Scheme::Radar))
    );
}

#[tokio::test]
async fn a_radar_signature_authenticates_its_first_body_and_that_body_again_but_no_other() {
    let a = full();
    let sig = hmac_hex("new-token", "signing-9");
    let h = headers(&[
        ("x-radar-signature", &sig),
        ("x-radar-signing-id", "signing-9"),
    ]);
    let Ok(HeaderCheck::Verified(verified)) = a.check_headers(LOC, &h) else {
        panic!("a valid signature");
    };
    assert!(a.record_use(&verified, b"{\"first\":1}").await.is_ok());
    assert!(
        a.record_use(&verified, b"{\"first\":1}").await.is_ok(),
        "the sender's retry of the same body"
    );
    assert!(matches!(
        a.record_use(&verified, b"{\"forged\":1}").await,
        Err(UseRefused::Replayed)
    ));
    // The older form signs an event _id: the same message, so the same single use.
    let legacy = hmac_hex("old-token", "signing-9");
    let Ok(HeaderCheck::NeedsBody(p)) =
        a.check_headers(LOC, &headers(&[("x-radar-signature", &legacy)]))
    else {
        panic!("an older-form signature");
    };
    let v = a
        .check_body(p, br#"{"event":{"_id":"signing-9"}}"#)
        .unwrap();
    assert!(matches!(
        a.record_use(&v, br#"{"event":{"_id":"signing-9"}}"#).await,
        Err(UseRefused::Replayed)
    ));
    assert!(a.record_use(&Verified::Credential, b"x").await.is_ok());
}

#[test]
fn a_huge_older_form_body_is_read_once_and_costs_one_hmac() {
    let a = full();
    let legacy = hmac_hex("old-token", "e0");
    let mut body = String::from(r#"{"events":["#);
    for i in 0..450_000 {
        body.push_str(&format!(r#"{{"_id":"e{i}"}},"#));
    }
    body.push_str(r#"{"_id":"e0"}]}"#);
    let started = std::time::Instant::now();
    assert_eq!(
        a.check(
            LOC,
            &headers(&[("x-radar-signature", &legacy)]),
            body.as_bytes()
        ),
        Err(AuthFailure::Wrong(Scheme::Radar))
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}
