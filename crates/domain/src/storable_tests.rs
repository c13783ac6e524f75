//! Every row and record built from the largest webhook the parsers accept fits the stores.

use serde_json::{json, Value};
use time::macros::datetime;

use super::*;
use crate::limits::{
    DYNAMODB_MAX_PARTITION_KEY_BYTES, DYNAMODB_MAX_SORT_KEY_BYTES, KINESIS_MAX_PARTITION_KEY_CHARS,
    KINESIS_MAX_RECORD_BYTES, MAX_ID_BYTES, MAX_TEXT_BYTES, MAX_USER_ID_CHARS,
};
use crate::{parse_webhook, Normalized};

/// `n` bytes of text that escape to as much JSON as possible (a control character per byte).
fn text(n: usize) -> String {
    "\u{1}".repeat(n)
}

/// An id of exactly `n` bytes (no control characters: ids refuse them).
fn id(n: usize) -> String {
    "\"".repeat(n)
}

fn user() -> String {
    // 256 characters, as many bytes as an id may hold (4k + (256 - k) = 988).
    let wide = (MAX_ID_BYTES - MAX_USER_ID_CHARS) / 3;
    let mut u = "\u{10FFFF}".repeat(wide);
    u.push_str(&"\"".repeat(MAX_USER_ID_CHARS - wide));
    assert_eq!(
        (u.chars().count(), u.len()),
        (MAX_USER_ID_CHARS, MAX_ID_BYTES)
    );
    u
}

fn assert_fits(source: Source, body: Value) {
    let body = body.to_string();
    let w = parse_webhook(source, body.as_bytes()).unwrap_or_else(|e| panic!("refused: {e}"));
    let env = Envelope::received(source, body, datetime!(2024-05-01 07:08:09.010 UTC));
    let n = Normalized::from_webhook(&w, &env);
    assert!(n.all_rows().next().is_some());
    for row in n.all_rows() {
        assert!(
            row.pk.len() <= DYNAMODB_MAX_PARTITION_KEY_BYTES,
            "{}",
            row.pk.len()
        );
        assert!(
            row.sk.len() <= DYNAMODB_MAX_SORT_KEY_BYTES,
            "{}",
            row.sk.len()
        );
        assert!(
            item_size(row) <= DYNAMODB_MAX_ITEM_BYTES,
            "{}",
            item_size(row)
        );
    }
    for g in &n.geofence_events {
        let key = g.partition_key();
        assert!(key.chars().count() <= KINESIS_MAX_PARTITION_KEY_CHARS);
        assert!(g.to_json_bytes().len() + key.len() <= KINESIS_MAX_RECORD_BYTES);
    }
}

#[test]
fn the_largest_accepted_location_webhooks_fit_every_store() {
    let (i, t, u) = (id(MAX_ID_BYTES), text(MAX_TEXT_BYTES), user());
    assert_fits(
        Source::Location,
        json!({"events": [{"_id": i, "type": t, "createdAt": "2024-05-01T12:00:00Z",
            "locationAccuracy": 1.2345678901234567e-130, "live": true,
            "location": {"type": "Point", "coordinates": [-1.2345678901234567e-130, 89.99999999999999]},
            "geofence": {"_id": i, "tag": t, "externalId": i, "description": t},
            "trip": {"_id": i, "externalId": i, "status": t, "metadata": {"route_session_type": t}}}],
            "user": {"userId": u, "_id": u, "deviceId": i}}),
    );
    assert_fits(
        Source::Location,
        json!({"location": {"user_id": u, "latitude": 1, "longitude": 2, "accuracy": 9.9e125,
            "created_at": "2024-05-01T12:00:00Z", "event_type": t, "geofence_id": i, "geofence_tag": t},
            "trip": {"trip_id": i, "external_id": i, "user_id": i, "status": t, "route_session_type": t},
            "user": {"user_id": u, "event_id": i}}),
    );
    assert_fits(
        Source::Location,
        json!({"id": i, "MMUserId": u, "created_at": "2024-05-01T12:00:00Z", "type": t,
            "location": {"coordinates": {"longitude": 1, "latitude": 2}},
            "geofence": {"_id": i, "tag": t, "externalId": i, "description": t},
            "trip": {"_id": i, "externalId": i, "MMUserId": i, "status": t,
                     "metadata": {"route_session_type": t}}}),
    );
}

#[test]
fn the_largest_accepted_export_alert_and_campaign_keys_fit() {
    let (i, t) = (id(MAX_ID_BYTES), text(MAX_TEXT_BYTES));
    assert_fits(
        Source::ClevertapExportStatus,
        json!({"Export Request Id": i, "Status": i, "Partner": t, "Type": t, "Frequency": t,
               "Date and Time": format!("25/07/2023 4:50:52 PM{}", " ".repeat(MAX_TEXT_BYTES - 21))}),
    );
    assert_fits(
        Source::ClevertapWebhook,
        json!({"targetId": i, "profiles": [{"objectId": i, "identity": i, "email": t, "name": t}]}),
    );
}

#[test]
fn campaign_rows_just_under_the_limit_pass_and_just_over_are_refused() {
    let profile = |n: usize| json!({"objectId": "o", "profileData": {"b": "x".repeat(n)}});
    let size = |n: usize| {
        let body = json!({"targetId": 1, "profiles": [profile(n)]}).to_string();
        match parse_webhook(Source::ClevertapWebhook, body.as_bytes()) {
            Ok(_) => None,
            Err(e) => Some(e.path),
        }
    };
    let base = {
        let body = json!({"targetId": 1, "profiles": [profile(0)]}).to_string();
        let w = parse_webhook(Source::ClevertapWebhook, body.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let env = Envelope::received(
            Source::ClevertapWebhook,
            String::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        item_size(&Normalized::from_webhook(&w, &env).rows[0])
    };
    let room = DYNAMODB_MAX_ITEM_BYTES - base;
    assert_eq!(size(room), None);
    assert_eq!(size(room + 1).as_deref(), Some("/profiles/0"));
}

#[test]
fn item_sizes_follow_dynamodb_rules() {
    let row = Row {
        pk: "USER#u".into(),
        sk: "PROFILE".into(),
        attrs: json!({"s": "abc", "n": 12345, "b": true, "m": {"k": [1, null]}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    // pk 2+6, sk 2+7, s 1+3, n 1+(3+2), b 1+1, m 1+(3 + 1+1+(3 + 1+(1+2) + 1+1))
    assert_eq!(item_size(&row), 8 + 9 + 4 + 6 + 2 + 1 + 3 + 2 + 3 + 4 + 2);
}
