//! Differential: the hand-written JSON string escaper against `serde_json`, on any UTF-8. The
//! escaper is reached through `Envelope::encode`, which writes the body, the claim-check key and
//! the deduplication key with it; the result must equal what `serde_json` writes for each field,
//! byte for byte (but for U+FFFE and U+FFFF, escaped because SQS refuses them raw), and decode
//! to the same envelope.
#![no_main]

use hookloop_domain::{Envelope, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut e = Envelope::received(
        Source::Location,
        text.to_owned(),
        time::OffsetDateTime::UNIX_EPOCH,
    )
    .with_dedup_key(Some(text.to_owned()));
    let body = e.check_body(text.to_owned());
    e.restore_body(body);
    let ours = e.encode();
    let json = |v: &str| serde_json::to_string(v).unwrap_or_default();
    // U+FFFE and U+FFFF are written escaped: SQS refuses them raw.
    let theirs = format!(
        r#"{{"v":1,"id":"{}","source":{},"received_at":{},"body":{},"body_ref":{},"dedup_key":{}}}"#,
        e.id(),
        json(e.source().as_str()),
        json(e.received_at()),
        json(text),
        json(text),
        json(text),
    )
    .replace('\u{FFFE}', "\\ufffe")
    .replace('\u{FFFF}', "\\uffff");
    assert_eq!(ours, theirs, "escaped differently from serde_json");
    assert_eq!(Envelope::decode(&ours).ok(), Some(e));
});
