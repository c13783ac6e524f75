//! What every webhook target checks, whatever its route.

use hookloop_domain::{
    dedup_key, is_clevertap_test_call, parse_webhook, Envelope, Normalized, Source,
};

/// Any bytes on `source`'s route: a typed webhook or a ParseError, never a panic; whatever
/// parses normalises, and its deduplication key is computed.
pub fn webhook(source: Source, data: &[u8]) {
    let _ = is_clevertap_test_call(data);
    if let Ok(webhook) = parse_webhook(source, data) {
        let body = String::from_utf8_lossy(data).into_owned();
        let envelope = Envelope::received(source, body, time::OffsetDateTime::UNIX_EPOCH);
        let _ = Normalized::from_webhook(&webhook, &envelope);
        let _ = dedup_key(source, &webhook, data);
    }
}
