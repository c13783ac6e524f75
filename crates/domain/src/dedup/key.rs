//! What makes two deliveries "the same webhook": the sender's event ids where every event has
//! one (Radar `_id`, the platform's `id`/`_id`, `event_id`, Foursquare's), else the exact body
//! (and always for HyperTrack and Roam.ai, which send no event ids).

use sha2::{Digest, Sha256};

use crate::source::Source;
use crate::{LocationShape, Webhook};

/// Longest id list kept as text in a key; longer lists are hashed.
const MAX_KEY_TEXT: usize = 200;

/// The deduplication key of a parsed webhook: `<source>#evt:<ids>` when every event carries
/// the sender's id, else `<source>#sha256:<hex of the body>`. Equal keys mean a repeated
/// delivery, and only then (see [`events_key`]).
pub fn dedup_key(source: Source, webhook: &Webhook, body: &[u8]) -> String {
    let ids: Option<Vec<&str>> = match webhook {
        // HyperTrack and Roam.ai send no event ids, and carry trips and device states beside
        // their points: only the body itself (their retries repeat it byte for byte) says
        // two deliveries are the same webhook.
        Webhook::Location(l)
            if !l.events.is_empty()
                && !matches!(l.shape, LocationShape::HyperTrack | LocationShape::Roam) =>
        {
            l.events.iter().map(|e| e.event_id.as_deref()).collect()
        }
        _ => None,
    };
    match ids {
        Some(ids) => events_key(source, ids),
        None => format!(
            "{}#sha256:{}",
            source.as_str(),
            hex::encode(Sha256::digest(body))
        ),
    }
}

/// An id that can be written as it is: it cannot contain the `,` that separates ids.
fn plain(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The key of a set of event ids, one-to-one: equal sets (in any order, with repeats) give equal
/// keys, different sets different keys, whatever the ids hold.
///
/// - `<source>#evt:<id>,<id>…` (sorted) when every id is plain (`A-Z a-z 0-9 - _ .`, so no
///   separator inside an id) and the list is short: readable, and the separator is unambiguous;
/// - else `<source>#evt-sha256:<hex>` over the sorted ids, each prefixed with its length in
///   bytes (8 bytes, big-endian), so no two lists encode alike. The two forms differ right after
///   `evt`, so they never meet; the body form is `<source>#sha256:`.
pub(crate) fn events_key(source: Source, mut ids: Vec<&str>) -> String {
    ids.sort_unstable();
    ids.dedup();
    let text_len = ids.iter().map(|i| i.len() + 1).sum::<usize>();
    if text_len <= MAX_KEY_TEXT + 1 && ids.iter().all(|i| plain(i)) {
        return format!("{}#evt:{}", source.as_str(), ids.join(","));
    }
    let mut h = Sha256::new();
    for id in &ids {
        h.update((id.len() as u64).to_be_bytes());
        h.update(id.as_bytes());
    }
    format!(
        "{}#evt-sha256:{}",
        source.as_str(),
        hex::encode(h.finalize())
    )
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

    fn radar_events(ids: &[&str]) -> String {
        let events: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    r#"{{"_id": {}, "type": "user.updated", "createdAt": "2024-05-01T12:10:00.000Z",
                    "location": {{"type": "Point", "coordinates": [1, 2]}}}}"#,
                    serde_json::Value::from(*id)
                )
            })
            .collect();
        format!(
            r#"{{"events": [{}], "user": {{"userId": "u"}}}}"#,
            events.join(",")
        )
    }

    #[test]
    fn one_event_whose_id_holds_a_comma_is_not_two_events() {
        let joined = key(Source::Location, &radar_events(&["X-A,X-B"]));
        let two = key(Source::Location, &radar_events(&["X-A", "X-B"]));
        assert_ne!(joined, two);
        assert_eq!(two, "location#evt:X-A,X-B", "plain ids stay readable");
        assert_eq!(
            key(Source::Location, &radar_events(&["X-B", "X-A", "X-B"])),
            two
        );
        // Ids that spell out another form's prefix are still their own key.
        let tricky = key(Source::Location, &radar_events(&["evt-sha256:00"]));
        assert!(tricky.starts_with("location#evt-sha256:"), "{tricky}");
    }

    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn id_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-c,:#-]{1,4}",
            1 => "[a-z0-9,]{1,80}",
            1 => "\\PC{1,6}",
        ]
    }

    proptest! {
        #[test]
        fn distinct_id_sets_give_distinct_keys(
            a in proptest::collection::btree_set(id_strategy(), 1..5),
            b in proptest::collection::btree_set(id_strategy(), 1..5),
        ) {
            let ka = events_key(Source::Location, a.iter().map(String::as_str).collect());
            let kb = events_key(Source::Location, b.iter().map(String::as_str).collect());
            prop_assert_eq!(a == b, ka == kb, "{:?} {:?} -> {} {}", a, b, ka, kb);
        }

        #[test]
        fn ids_joined_by_the_separator_are_not_the_ids(
            ids in proptest::collection::btree_set("[a-zA-Z0-9_.-]{1,12}", 2..5),
        ) {
            let parts: Vec<&str> = ids.iter().map(String::as_str).collect();
            let joined = parts.join(",");
            prop_assert_ne!(
                events_key(Source::Location, parts),
                events_key(Source::Location, vec![joined.as_str()])
            );
        }

        #[test]
        fn equal_sets_in_any_order_with_repeats_give_equal_keys(
            ids in proptest::collection::vec(id_strategy(), 1..6),
            seed in any::<u64>(),
        ) {
            let mut shuffled: Vec<&str> = ids.iter().map(String::as_str).collect();
            shuffled.extend(ids.iter().take(2).map(String::as_str));
            let n = shuffled.len();
            for i in 0..n {
                shuffled.swap(i, (seed as usize).wrapping_add(i * 7) % n);
            }
            let set: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
            prop_assert_eq!(
                events_key(Source::Location, shuffled),
                events_key(Source::Location, set.into_iter().collect())
            );
        }
    }
}
