//! Differential: the hand-written JSON string escaper against `serde_json`, on any UTF-8. The
//! escaper is reached through `Envelope::encode`, which writes the body, the claim-check key and
//! the deduplication key with it; the result must equal `serde_json::to_string` byte for byte
//! (but for U+FFFE and U+FFFF, escaped because SQS refuses them raw) and decode to the same
//! envelope.
#![no_main]

use hookloop_domain::{Envelope, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut e = Envelope::new(
        Source::Location,
        text.to_owned(),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    e.body_ref = Some(text.to_owned());
    e.dedup_key = Some(text.to_owned());
    let ours = e.encode();
    // U+FFFE and U+FFFF are written escaped: SQS refuses them raw.
    let theirs = serde_json::to_string(&e)
        .unwrap_or_default()
        .replace('\u{FFFE}', "\\ufffe")
        .replace('\u{FFFF}', "\\uffff");
    assert_eq!(ours, theirs, "escaped differently from serde_json");
    assert_eq!(Envelope::decode(&ours).ok(), Some(e));
});
