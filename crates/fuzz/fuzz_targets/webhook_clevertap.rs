//! Any bytes on the route: a typed webhook or a ParseError, never a panic; whatever parses
//! normalises, and its dedup key is computed.
#![no_main]

use hookloop_domain::{
    dedup_key, is_clevertap_test_call, parse_webhook, Envelope, Normalized, Source,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Source::ClevertapWebhook;
    let _ = is_clevertap_test_call(data);
    if let Ok(webhook) = parse_webhook(source, data) {
        let body = String::from_utf8_lossy(data).into_owned();
        let envelope = Envelope::new(source, body, time::OffsetDateTime::UNIX_EPOCH);
        let _ = Normalized::from_webhook(&webhook, &envelope);
        let _ = dedup_key(source, &webhook, data);
    }
});
