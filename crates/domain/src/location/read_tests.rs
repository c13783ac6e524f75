//! The one-pass read against the two-pass path: the same webhook or the same refusal, on bodies
//! built from every shape's keys (mixed, repeated, null, of the wrong kind, nested too deep).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{parse, parse_in_two_passes, read};

/// Values for the keys of every shape: good ones of each shape, and bad ones.
fn value() -> impl Strategy<Value = String> {
    let point = json!({"type": "Point", "coordinates": [-73.9857, 40.7484]});
    let radar_event = json!({"_id": "e1", "createdAt": "2024-05-01T12:00:00Z",
        "type": "user.entered_geofence", "location": point, "live": "true", "extra": {"a": [1]}});
    let radar_event_int_id = json!({"_id": 7, "createdAt": "2024-05-01T12:00:00Z",
        "type": "user.exited_geofence", "location": {"coordinates": ["2.3", "48.8"]}});
    let deep = format!("{}1{}", "[".repeat(33), "]".repeat(33));
    let choices: Vec<String> = vec![
        radar_event.to_string(),
        json!([radar_event, radar_event_int_id]).to_string(),
        json!([]).to_string(),
        json!({"userId": "u-1", "deviceId": "d", "trip": {"externalId": "t"}}).to_string(),
        json!({"_id": "r-1"}).to_string(),
        json!({"user_id": "u-2", "event_id": "e", "live": true,
               "created_at": "2024-05-01T12:00:00Z"})
        .to_string(),
        json!({"coordinates": {"longitude": "-120.2", "latitude": "36.9"}}).to_string(),
        json!({"user_id": "u", "latitude": 1, "longitude": 2,
               "created_at": "2024-05-01T12:00:00Z", "accuracy": 5})
        .to_string(),
        json!({"_id": "t-1", "externalId": "x", "metadata": {"route_session_type": "p"}})
            .to_string(),
        json!({"trip_id": 17, "status": "started"}).to_string(),
        json!({"_id": "g", "tag": "store"}).to_string(),
        json!("2024-05-01T12:00:00.250Z").to_string(),
        json!("mm-7").to_string(),
        json!("TRUE").to_string(),
        json!("geospark:geofence:entry").to_string(),
        json!(12).to_string(),
        json!(1.5).to_string(),
        json!("").to_string(),
        "null".to_owned(),
        json!({}).to_string(),
        json!({"deep": Value::Null})
            .to_string()
            .replace("null", &deep),
        deep,
    ];
    prop::sample::select(choices)
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        &[
            "event",
            "events",
            "user",
            "location",
            "trip",
            "id",
            "_id",
            "MMUserId",
            "created_at",
            "type",
            "live",
            "geofence",
            "event_type",
            "event_source",
            "recorded_at",
            "visitType",
            "eventType",
            "installId",
            "other",
        ][..],
    )
}

/// A valid body of each shape, as (key, value) entries.
fn template() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let event = |id: &str| {
        json!({"_id": id, "createdAt": "2024-05-01T12:00:00Z", "type": "user.entered_geofence",
               "location": {"type": "Point", "coordinates": [-73.9, 40.7]},
               "geofence": {"_id": "g", "tag": "t"}, "meta": {"a": [1]}})
        .to_string()
    };
    let user = json!({"userId": "u-1", "deviceId": "d", "trip": {"_id": "t"}}).to_string();
    let shapes = vec![
        vec![("event", event("e1")), ("user", user.clone())],
        vec![
            ("user", user),
            ("events", format!("[{},{}]", event("e1"), event("e2"))),
        ],
        vec![
            ("id", json!("p1").to_string()),
            ("MMUserId", json!("mm").to_string()),
            ("created_at", json!("2024-05-01T12:00:00Z").to_string()),
            ("live", json!("FALSE").to_string()),
            (
                "location",
                json!({"type": "Point", "coordinates": {"longitude": "1", "latitude": 2}})
                    .to_string(),
            ),
            (
                "trip",
                json!({"_id": "t", "metadata": {"route_session_type": "x"}}).to_string(),
            ),
        ],
        vec![
            (
                "location",
                json!({"user_id": "u", "latitude": 1, "longitude": 2,
                       "created_at": "2024-05-01T12:00:00Z", "geofence_id": "g"})
                .to_string(),
            ),
            (
                "trip",
                json!({"trip_id": "t", "started_at": "2024-05-01T12:00:00Z"}).to_string(),
            ),
            ("user", json!({"user_id": "u", "live": true}).to_string()),
        ],
        // Radar-valid events, one of them marked as Roam's: Roam's body, whatever the changes.
        vec![(
            "events",
            json!([{"_id": "e", "createdAt": "2024-05-01T12:00:00Z", "type": "t",
                    "location": {"coordinates": [1, 2]}, "user": {"userId": "u"},
                    "user_id": "u", "recorded_at": "2024-05-01T12:00:00Z",
                    "event_type": "geospark:geofence:entry"}])
            .to_string(),
        )],
    ];
    prop::sample::select(shapes)
}

/// A template, then a few changes: a key added, a value replaced, a key repeated or removed.
fn body() -> impl Strategy<Value = String> {
    let change = (0..4u8, key(), value(), any::<prop::sample::Index>());
    (template(), prop::collection::vec(change, 0..3)).prop_map(|(mut entries, changes)| {
        for (kind, k, v, at) in changes {
            let i = at.index(entries.len().max(1));
            match kind {
                0 => entries.insert(i.min(entries.len()), (k, v)),
                1 if !entries.is_empty() => entries[i].1 = v,
                2 if !entries.is_empty() => entries.push(entries[i].clone()),
                3 if !entries.is_empty() => {
                    entries.remove(i);
                }
                _ => {}
            }
        }
        let fields: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4_000, failure_persistence: None, ..ProptestConfig::default()
    })]

    #[test]
    fn one_read_gives_what_two_passes_give(body in body()) {
        prop_assert_eq!(parse(body.as_bytes()), parse_in_two_passes(body.as_bytes()), "{}", body);
    }
}

#[test]
fn valid_bodies_of_every_shape_are_read_once() {
    for body in [
        json!({"event": {"_id": "a", "createdAt": "2024-05-01T12:00:00Z", "type": "t",
                         "location": {"coordinates": [1, 2]}, "meta": {"x": [[1]]}},
               "user": {"userId": "u", "metadata": {"pad": "x"}}}),
        json!({"user": {"userId": "u"}, "events": [{"_id": "a", "createdAt":
               "2024-05-01T12:00:00Z", "type": "t", "location": {"coordinates": [1, 2]}}]}),
        json!({"id": "e", "MMUserId": "m", "created_at": "2024-05-01T12:00:00Z",
               "location": {"type": "Point", "coordinates": {"longitude": 1, "latitude": 2}}}),
        json!({"trip": {"trip_id": 1}, "user": {"user_id": "u"}}),
    ] {
        let text = body.to_string();
        assert!(read::read(text.as_bytes()).is_some(), "{text}");
        assert_eq!(parse(text.as_bytes()), parse_in_two_passes(text.as_bytes()));
    }
}

#[test]
fn nesting_too_deep_in_an_ignored_field_is_not_read_once() {
    let deep = format!("{}1{}", "[".repeat(32), "]".repeat(32));
    let body = format!(
        r#"{{"event": {{"_id": "a", "createdAt": "2024-05-01T12:00:00Z", "type": "t",
            "location": {{"coordinates": [1, 2]}}, "extra": {deep}}}, "user": {{"userId": "u"}}}}"#
    );
    assert!(read::read(body.as_bytes()).is_none());
    let e = parse(body.as_bytes()).unwrap_err();
    assert!(e.message.contains("nested too deep"), "{e}");
    assert_eq!(
        e.path,
        "/event/extra/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0"
    );
}
