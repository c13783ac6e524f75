//! The hand-written JSON string escaper writes what `serde_json` writes, byte for byte, for any
//! text, except U+FFFE and U+FFFF, which it escapes (SQS refuses them raw). It is reached
//! through its consumer, `Envelope::encode`, which escapes the body, the
//! claim-check key and the deduplication key with it (the same property is fuzzed by
//! `crates/fuzz/fuzz_targets/json_string.rs`).

use hookloop_domain::{Envelope, Source};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

const SEED: [u8; 32] = *b"hookloop json string escaper 001";
const DEFAULT_CASES: u32 = 5_000;

/// Text dense in what must be escaped, at every alignment of the escaper's eight-byte words.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-z]{0,9}",
        2 => prop::sample::select(vec!["\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}", "\u{1f}", "\u{7f}"])
            .prop_map(str::to_owned),
        2 => prop::sample::select(vec!["é", "日", "💥", "\u{2028}", "\u{FFFF}", "\u{80}", "\u{10FFFF}"]).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

#[test]
fn the_envelope_escapes_any_text_exactly_as_serde_json_does() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let result = runner.run(&text(), |s| {
        let mut e = Envelope::received(
            Source::Location,
            s.clone(),
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .with_dedup_key(Some(s.clone()));
        let body = e.check_body(s.clone());
        e.restore_body(body);
        let ours = e.encode();
        let json = |v: &str| serde_json::to_string(v).map_err(|x| TestCaseError::fail(x.to_string()));
        let theirs = format!(
            r#"{{"v":1,"id":"{}","source":{},"received_at":{},"body":{},"body_ref":{},"dedup_key":{}}}"#,
            e.id(),
            json(e.source().as_str())?,
            json(e.received_at())?,
            json(&s)?,
            json(&s)?,
            json(&s)?,
        )
        .replace('\u{FFFE}', "\\ufffe")
        .replace('\u{FFFF}', "\\uffff");
        if ours != theirs {
            return Err(TestCaseError::fail(format!(
                "escaped differently:\n  ours:       {ours:?}\n  serde_json: {theirs:?}"
            )));
        }
        match Envelope::decode(&ours) {
            Ok(back) if back == e => Ok(()),
            other => Err(TestCaseError::fail(format!(
                "does not decode to itself: {other:?}"
            ))),
        }
    });
    match result {
        Ok(()) => {
            println!("json_string: {cases} generated texts escaped as serde_json escapes them")
        }
        Err(e) => panic!("json_string: minimal failing input and reason: {e}"),
    }
}
