//! F5: what DynamoDB and Kinesis can never store is refused naming the field, or (free-form
//! numbers) kept exactly in a form they can store.

use serde_json::{json, Value};

use super::{campaign, export, platform, radar, refused, rows, structured, with};
use crate::limits::{dynamodb_number_fits, MAX_ID_BYTES, MAX_TEXT_BYTES};
use crate::{parse_webhook, Source};

#[test]
fn ids_too_long_for_a_table_or_stream_key_are_a_400_naming_the_id() {
    let long = "k".repeat(MAX_ID_BYTES + 1);
    for (source, body, pointer) in [
        (Source::Location, radar(), "/event/_id"),
        (Source::Location, radar(), "/event/trip/_id"),
        (Source::Location, structured(), "/user/event_id"),
        (Source::Location, structured(), "/trip/trip_id"),
        (Source::Location, platform(), "/id"),
        (Source::ClevertapWebhook, campaign(), "/profiles/0/objectId"),
        (Source::ClevertapWebhook, campaign(), "/profiles/1/identity"),
        (Source::ClevertapWebhook, campaign(), "/targetId"),
        (
            Source::ClevertapExportStatus,
            export(),
            "/Export Request Id",
        ),
        (Source::ClevertapExportStatus, export(), "/Status"),
    ] {
        let e = refused(source, &with(body, pointer, json!(long)));
        assert_eq!(e.path, pointer);
    }
    // The user id is the stream's partition key: 256 characters at most.
    let user = "é".repeat(257);
    for (body, pointer) in [
        (radar(), "/user/userId"),
        (structured(), "/location/user_id"),
        (platform(), "/MMUserId"),
    ] {
        let e = refused(Source::Location, &with(body, pointer, json!(user)));
        assert_eq!(e.path, pointer);
        assert!(e.message.contains("256 characters"), "{e}");
    }
}

#[test]
fn numbers_outside_dynamodb_range_in_typed_fields_are_a_400_naming_the_field() {
    for (body, pointer, n) in [
        (radar(), "/event/locationAccuracy", json!(1e308)),
        (structured(), "/location/accuracy", json!(1e300)),
        (structured(), "/location/accuracy", json!(1e-200)),
        (structured(), "/location/latitude", json!(1e-200)),
        (radar(), "/event/location/coordinates/0", json!("-1e-131")),
    ] {
        let e = refused(Source::Location, &with(body, pointer, n));
        assert_eq!(e.path, pointer);
    }
    // Beyond what the reader holds (`1e400`): still named, for every source.
    for (source, body, pointer) in [
        (
            Source::Location,
            radar().to_string(),
            "/event/locationAccuracy",
        ),
        (
            Source::Location,
            structured().to_string(),
            "/location/accuracy",
        ),
        (
            Source::ClevertapWebhook,
            campaign().to_string(),
            "/key_values/coupon",
        ),
    ] {
        let leaf = pointer.rsplit('/').next().unwrap_or("");
        let body = body.replacen(
            &format!("\"{leaf}\":"),
            &format!("\"{leaf}\":1e400,\"_\":"),
            1,
        );
        let e = parse_webhook(source, body.as_bytes())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.path, pointer, "{e}");
    }
    let n = rows(
        Source::Location,
        &with(radar(), "/event/locationAccuracy", json!(0)),
    );
    assert_eq!(n.rows[0].attrs["accuracy"], json!(0.0));
}

fn numbers_fit(v: &Value) -> bool {
    match v {
        Value::Number(n) => dynamodb_number_fits(&n.to_string()),
        Value::Array(a) => a.iter().all(numbers_fit),
        Value::Object(m) => m.values().all(numbers_fit),
        _ => true,
    }
}

#[test]
fn free_form_numbers_dynamodb_cannot_store_are_kept_as_their_exact_text() {
    let body = json!({"targetId": 7, "key_values": {"huge": 1e300, "ok": 1.5},
        "profiles": [{"objectId": "odd", "key_values": {"tiny": 1e-200},
                      "profileData": {"nested": [{"x": -1e126}], "n": 12}},
                     {"objectId": "fine", "profileData": {"n": 3}}]});
    let n = rows(Source::ClevertapWebhook, &body);
    assert_eq!(n.rows.len(), 2, "one odd profile costs no one a row");
    let odd = &n.rows[0].attrs;
    assert_eq!(
        odd["key_values"],
        json!({"huge": "1e+300", "ok": 1.5, "tiny": "1e-200"})
    );
    assert_eq!(
        odd["profile_data"],
        json!({"nested": [{"x": "-1e+126"}], "n": 12})
    );
    assert_eq!(n.rows[1].attrs["profile_data"], json!({"n": 3}));
    for row in &n.rows {
        assert!(row.attrs.values().all(numbers_fit), "{row:?}");
    }
}

#[test]
fn map_keys_dynamodb_cannot_take_are_a_400_naming_the_key() {
    let long = "k".repeat(65_536);
    for (body, pointer) in [
        (
            json!({"targetId": 1, "key_values": {"": 1}, "profiles": []}),
            "/key_values/",
        ),
        (
            json!({"targetId": 1, "profiles": [{"identity": "i", "profileData": {"a": [{"": 1}]}}]}),
            "/profiles/0/profileData/a/0/",
        ),
        (
            json!({"targetId": 1, "profiles": [{"identity": "i", "key_values": {long.clone(): 1}}]}),
            &format!("/profiles/0/key_values/{long}"),
        ),
    ] {
        assert_eq!(refused(Source::ClevertapWebhook, &body).path, pointer);
    }
}

#[test]
fn rows_over_dynamodb_item_limit_are_a_400_naming_the_field() {
    let big = "x".repeat(450 * 1024);
    let body = with(campaign(), "/profiles/1/profileData", json!({"blob": big}));
    assert_eq!(refused(Source::ClevertapWebhook, &body).path, "/profiles/1");
    let single = json!({"targetId": 1, "profiles": {"identity": "i", "profileData": {"b": big}}});
    assert_eq!(refused(Source::ClevertapWebhook, &single).path, "/profiles");
    // Text fields are bounded, so no location or export row can grow past the limit.
    let text = "d".repeat(MAX_TEXT_BYTES + 1);
    for (source, body, pointer) in [
        (Source::Location, radar(), "/event/geofence/description"),
        (Source::Location, radar(), "/event/type"),
        (Source::Location, structured(), "/location/event_type"),
        (Source::ClevertapWebhook, campaign(), "/profiles/0/email"),
        (Source::ClevertapExportStatus, export(), "/Partner"),
    ] {
        assert_eq!(
            refused(source, &with(body, pointer, json!(text))).path,
            pointer
        );
    }
}
