//! Regression tests for hostile webhooks (issue 12): what is refused is refused with a 400 that
//! names the field and never echoes the value; what is accepted can be stored.

use serde_json::{json, Value};
use time::macros::datetime;

use crate::{parse_webhook, Envelope, Normalized, ParseError, Source, Webhook};

fn parse(source: Source, body: &Value) -> Result<Webhook, ParseError> {
    parse_webhook(source, body.to_string().as_bytes())
}

fn refused(source: Source, body: &Value) -> ParseError {
    match parse(source, body) {
        Ok(w) => panic!("accepted: {w:?}"),
        Err(e) => e,
    }
}

fn rows(source: Source, body: &Value) -> Normalized {
    let w = parse(source, body).unwrap_or_else(|e| panic!("refused: {e}"));
    let env = Envelope::received(
        source,
        body.to_string(),
        datetime!(2024-05-01 07:08:09.010 UTC),
    );
    Normalized::from_webhook(&w, &env)
}

fn structured() -> Value {
    json!({"location": {"user_id": "u", "latitude": 1, "longitude": 2,
                        "created_at": "2024-05-01T12:00:00Z", "accuracy": 5},
           "trip": {"trip_id": "t", "updated_at": "2024-05-01T12:00:00Z"},
           "user": {"user_id": "u", "event_id": "e", "live": true}})
}

fn platform() -> Value {
    json!({"id": "p1", "MMUserId": "m", "created_at": "2024-05-01T12:00:00Z", "live": "true",
           "type": "user.updated_trip",
           "location": {"coordinates": {"longitude": "1.5", "latitude": "2.5"}},
           "trip": {"_id": "t9", "updatedAt": "2024-05-01T12:00:00Z"}})
}

fn radar() -> Value {
    json!({"event": {"_id": "e1", "type": "user.entered_geofence",
                     "createdAt": "2024-05-01T12:00:00Z", "locationAccuracy": 10,
                     "location": {"type": "Point", "coordinates": [-73.98, 40.74]},
                     "geofence": {"_id": "g1", "tag": "store", "description": "Store"},
                     "trip": {"_id": "t1", "updatedAt": "2024-05-01T12:00:00Z"}},
           "user": {"userId": "u1"}})
}

fn campaign() -> Value {
    json!({"targetId": 7, "key_values": {"coupon": "X"},
           "profiles": [{"objectId": "o1", "email": "a@example.com"}, {"identity": "i2"}]})
}

fn export() -> Value {
    json!({"Export Request Id": 1, "Status": "Completed", "Partner": "GCS",
           "Date and Time": "25/07/2023 4:50:52 PM"})
}

/// `v` with the field at `pointer` set to `new` (added if absent).
fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(key.to_owned(), new);
        }
        Some(Value::Array(a)) => match key.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
            Some(slot) => *slot = new,
            None => panic!("no {pointer}"),
        },
        _ => panic!("no {pointer}"),
    }
    v
}

// ---- F2: times whose UTC value leaves years 1..=9999 ---------------------------------------

#[test]
fn times_outside_years_1_to_9999_in_utc_are_a_400_naming_the_field() {
    let late = json!("9999-12-31T23:59:59-01:00");
    let early = json!("0000-01-01T00:00:00+01:00");
    for (source, body, pointer) in [
        (Source::Location, structured(), "/location/created_at"),
        (Source::Location, structured(), "/trip/updated_at"),
        (Source::Location, platform(), "/created_at"),
        (Source::Location, platform(), "/trip/updatedAt"),
        (Source::Location, radar(), "/event/createdAt"),
        (Source::Location, radar(), "/event/trip/updatedAt"),
    ] {
        for t in [&late, &early] {
            let e = refused(source, &with(body.clone(), pointer, t.clone()));
            assert_eq!(e.path, pointer, "{t}");
            assert!(e.message.contains("out of range"), "{e}");
        }
    }
    let e = refused(
        Source::ClevertapExportStatus,
        &with(export(), "/Date and Time", json!("01/01/0000 00:00:00")),
    );
    assert_eq!(e.path, "/Date and Time");
    // The edges themselves are times like any other.
    for (t, canonical) in [
        ("0001-01-01T00:30:00+00:30", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59.000Z"),
    ] {
        let n = rows(
            Source::Location,
            &with(structured(), "/location/created_at", json!(t)),
        );
        assert_eq!(n.rows[0].sk, format!("LOC#{canonical}#e"));
    }
}

// ---- F5: what DynamoDB and Kinesis can never store: in `hostile_tests/storage.rs` ---------

mod storage;

// ---- F6: one objectId twice in a broadcast -------------------------------------------------

#[test]
fn a_profile_named_twice_in_a_broadcast_loses_neither_occurrence() {
    let body = json!({"targetId": 9, "key_values": {"k": "v"}, "profiles": [
        {"objectId": "o1", "email": "first@example.com", "key_values": {"n": 3},
         "profileData": {"plan": "gold"}},
        {"identity": "i2"},
        {"objectId": "o1", "name": "Second"}]});
    let n = rows(Source::ClevertapWebhook, &body);
    assert_eq!(n.rows.len(), 2, "one row per profile");
    let o1 = n.rows.iter().find(|r| r.pk == "CT#o1").map(|r| &r.attrs);
    let o1 = o1.unwrap_or_else(|| panic!("no CT#o1 row: {:?}", n.rows));
    // The row is the last occurrence, as before ...
    assert_eq!(o1["name"], json!("Second"));
    assert_eq!(o1["key_values"], json!({"k": "v"}));
    // ... and the earlier one is kept whole, not silently dropped.
    assert_eq!(
        o1["earlier_occurrences"],
        json!([{"object_id": "o1", "email": "first@example.com", "key_values": {"n": 3},
                "profile_data": {"plan": "gold"}}])
    );
    let i2 = n.rows.iter().find(|r| r.pk == "CT#i2").map(|r| &r.attrs);
    assert!(i2.is_some_and(|a| !a.contains_key("earlier_occurrences")));
}

// ---- F8b: refusals never echo the value ----------------------------------------------------

#[test]
fn refusals_name_the_field_and_never_echo_the_value() {
    const SECRET: &str = "s3cr3t-Tok3n-9f8e7d";
    const NUMERIC: u64 = 86753094242;
    let s = || json!(SECRET);
    let cases = [
        (Source::Location, structured(), "/location/latitude", s()),
        (Source::Location, structured(), "/location/created_at", s()),
        (Source::Location, structured(), "/location/accuracy", s()),
        (Source::Location, structured(), "/user/live", s()),
        (
            Source::Location,
            structured(),
            "/location/event_type",
            json!(NUMERIC),
        ),
        (Source::Location, platform(), "/live", s()),
        (Source::Location, platform(), "/created_at", s()),
        (
            Source::Location,
            platform(),
            "/location/coordinates/longitude",
            s(),
        ),
        (Source::Location, platform(), "/type", json!(NUMERIC)),
        (Source::Location, radar(), "/event/createdAt", s()),
        (Source::Location, radar(), "/event/locationAccuracy", s()),
        (
            Source::Location,
            radar(),
            "/event/location/coordinates/1",
            s(),
        ),
        (
            Source::Location,
            radar(),
            "/event/_id",
            json!(f64::from(NUMERIC as u32) + 0.5),
        ),
        (
            Source::ClevertapWebhook,
            campaign(),
            "/profiles/0/email",
            json!(NUMERIC),
        ),
        (
            Source::ClevertapWebhook,
            campaign(),
            "/profiles/1/identity",
            json!(true),
        ),
        (Source::ClevertapWebhook, campaign(), "/key_values", s()),
        (
            Source::ClevertapExportStatus,
            export(),
            "/Date and Time",
            s(),
        ),
        (
            Source::ClevertapExportStatus,
            export(),
            "/Partner",
            json!(NUMERIC),
        ),
    ];
    for (source, body, pointer, value) in cases {
        let echoed = value.to_string().trim_matches('"').to_owned();
        let e = refused(source, &with(body, pointer, value));
        assert_eq!(e.path, pointer, "{e}");
        for shown in [e.message.clone(), e.to_string()] {
            assert!(
                !shown.contains(&echoed),
                "{pointer} echoes its value: {shown}"
            );
            assert!(
                !shown.contains(SECRET),
                "{pointer} echoes a secret: {shown}"
            );
        }
    }
    // `is_test` as a string is read as a normal (non-test) delivery and refused at the field.
    let body = json!({"targetId": 1, "is_test": SECRET, "profiles": []});
    let e = refused(Source::ClevertapWebhook, &body);
    assert_eq!(e.path, "/is_test");
    assert!(!e.to_string().contains(SECRET), "{e}");
}

// ---- F9: nesting deeper than DynamoDB stores -----------------------------------------------

fn nested(levels: usize) -> Value {
    let text = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
}

/// A body holding `levels` nested arrays at `field` (a top-level key, or one key below), as text
/// (serde_json's `Value` cannot hold 10,000 levels).
fn deep_body(base: &Value, outer: &str, field: &str, levels: usize) -> String {
    let deep = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let mut v = base.clone();
    v[outer][field] = json!("__DEEP__");
    v.to_string().replace("\"__DEEP__\"", &deep)
}

#[test]
fn nesting_deeper_than_32_levels_anywhere_is_a_400_naming_where_it_crossed() {
    let crossed = |pointer: &str| format!("{pointer}{}", "/0".repeat(30));
    for levels in [33, 40, 10_000] {
        for (source, base, outer, field) in [
            (Source::Location, structured(), "location", "extra"),
            (Source::Location, radar(), "event", "metadata"),
            (Source::Location, platform(), "location", "unknown"),
            (Source::ClevertapWebhook, campaign(), "key_values", "list"),
            (Source::ClevertapExportStatus, export(), "Extra", "inner"),
        ] {
            let mut base = base;
            if base.get(outer).is_none() {
                base[outer] = json!({});
            }
            let body = deep_body(&base, outer, field, levels);
            let e = match parse_webhook(source, body.as_bytes()) {
                Ok(_) => panic!("{levels} levels at /{outer}/{field} accepted"),
                Err(e) => e,
            };
            assert_eq!(e.path, crossed(&format!("/{outer}/{field}")), "{e}");
            assert!(e.message.contains("nested too deep"), "{e}");
        }
    }
    // 32 levels (the body's own object included) are fine, and stored as sent.
    let body = deep_body(&campaign(), "key_values", "list", 30);
    let n = rows(
        Source::ClevertapWebhook,
        &serde_json::from_str(&body).unwrap_or(Value::Null),
    );
    assert_eq!(n.rows[0].attrs["key_values"]["list"], nested(30));
    assert!(parse_webhook(
        Source::Location,
        deep_body(&structured(), "location", "extra", 30).as_bytes()
    )
    .is_ok());
    // A CleverTap test call is acknowledged whatever it holds: it is stored nowhere.
    let test_call = deep_body(&json!({"is_test": true, "x": {}}), "x", "y", 60);
    assert!(crate::is_clevertap_test_call(test_call.as_bytes()));
}

/// Found by the generated corpus: a refusal inside the event's own `user` named a place that is
/// not in the body (`/event/trip/_id` for a trip at `/event/user/trip`).
#[test]
fn refusals_inside_an_events_own_user_point_at_that_user() {
    let event = |user: Value| {
        json!({"event": {"_id": "a", "createdAt": "2024-05-01T12:00:00Z", "type": "user.entered_geofence",
                         "location": {"type": "Point", "coordinates": [0.0, 0.0]}, "user": user}})
    };
    let e = refused(Source::Location, &event(json!({"userId": "a", "trip": {}})));
    assert_eq!(e.path, "/event/user/trip/_id");
    let e = refused(Source::Location, &event(json!({"deviceId": "d"})));
    assert_eq!(e.path, "/event/user/userId");
    let mut delivery = event(json!({"userId": "a"}));
    delivery["event"]["trip"] = json!({});
    let e = refused(Source::Location, &delivery);
    assert_eq!(e.path, "/event/trip/_id");
}
