//! What makes two deliveries "the same webhook": the sender's event ids where every event has
//! one (Radar `_id`, the platform's `id`/`_id`, `event_id`), else the exact body.

use sha2::{Digest, Sha256};

use crate::source::Source;
use crate::Webhook;

/// Longest id list kept as text in a key; longer lists are hashed.
const MAX_KEY_TEXT: usize = 200;

/// The deduplication key of a parsed webhook: `<source>#evt:<ids>` when every event carries
/// the sender's id, else `<source>#sha256:<hex of the body>`. Equal keys mean a repeated
/// delivery.
pub fn dedup_key(source: Source, webhook: &Webhook, body: &[u8]) -> String {
    let ids: Option<Vec<&str>> = match webhook {
        Webhook::Location(l) if !l.events.is_empty() => {
            l.events.iter().map(|e| e.event_id.as_deref()).collect()
        }
        _ => None,
    };
    match ids {
        Some(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            let text = ids.join(",");
            if text.len() <= MAX_KEY_TEXT {
                format!("{}#evt:{text}", source.as_str())
            } else {
                format!(
                    "{}#evt-sha256:{}",
                    source.as_str(),
                    hex::encode(Sha256::digest(text.as_bytes()))
                )
            }
        }
        None => format!(
            "{}#sha256:{}",
            source.as_str(),
            hex::encode(Sha256::digest(body))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_webhook;

    fn key(source: Source, body: &str) -> String {
        let w = parse_webhook(source, body.as_bytes()).unwrap();
        dedup_key(source, &w, body.as_bytes())
    }

    const RADAR: &str = r#"{"event": {"_id": "e1", "type": "user.entered_geofence", "createdAt": "2024-05-01T12:10:00.000Z",
        "location": {"type": "Point", "coordinates": [-73.98, 40.74]}}, "user": {"userId": "u1"}}"#;

    #[test]
    fn sender_event_ids_decide_whatever_else_changed() {
        let k = key(Source::Location, RADAR);
        assert_eq!(k, "location#evt:e1");
        // A retry may differ in whitespace or carry an updated user: still the same event.
        let retried = RADAR.replace(
            "\"userId\": \"u1\"",
            "\"userId\": \"u1\", \"deviceId\": \"d\"",
        );
        assert_eq!(key(Source::Location, &retried), k);
        assert_ne!(key(Source::Location, &RADAR.replace("e1", "e2")), k);
    }

    #[test]
    fn without_ids_the_exact_body_decides() {
        let a = r#"{"targetId": 1, "profiles": [{"objectId": "o"}]}"#;
        let k = key(Source::ClevertapWebhook, a);
        assert!(k.starts_with("clevertap.webhook#sha256:"), "{k}");
        assert_eq!(key(Source::ClevertapWebhook, a), k);
        assert_ne!(key(Source::ClevertapWebhook, &a.replace('1', "2")), k);
    }

    #[test]
    fn long_id_lists_are_hashed() {
        let events: Vec<String> = (0..40)
            .map(|i| format!(r#"{{"_id": "event-id-{i:04}", "type": "user.updated", "createdAt": "2024-05-01T12:10:00.000Z",
                "location": {{"type": "Point", "coordinates": [1, 2]}}}}"#))
            .collect();
        let body = format!(
            r#"{{"events": [{}], "user": {{"userId": "u"}}}}"#,
            events.join(",")
        );
        assert!(key(Source::Location, &body).starts_with("location#evt-sha256:"));
    }
}
