//! The location shapes: fields, precedence, refusals and their paths.

use super::*;
use crate::{parse_webhook, Source, Webhook};
use serde_json::{json, Value};

fn parse_json(v: Value) -> Result<LocationWebhook, ParseError> {
    match parse_webhook(Source::Location, v.to_string().as_bytes())? {
        Webhook::Location(l) => Ok(l),
        other => panic!("wrong variant {other:?}"),
    }
}

fn err(v: Value) -> ParseError {
    parse_json(v).unwrap_err()
}

fn structured_sample() -> Value {
    json!({
        "location": {"user_id": "u-1", "latitude": 36.92, "longitude": -120.23,
                     "created_at": "2024-05-01T12:00:00Z", "event_type": "location.updated"},
        "trip": {"trip_id": "t-1", "external_id": "ext-1", "user_id": "u-1",
                 "created_at": "2024-05-01T11:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
                 "started_at": "2024-05-01T11:05:00Z", "route_session_type": "delivery"},
        "user": {"user_id": "u-1", "event_id": "e-1", "created_at": "2024-05-01T12:00:00Z", "live": true}
    })
}

fn platform_sample() -> Value {
    json!({
        "id": "evt-9", "created_at": "2024-05-01T12:00:00.250Z", "live": "TRUE",
        "type": "user.updated_trip", "_id": "664f0000", "MMUserId": "mm-7",
        "location": {"type": "Point", "coordinates": {"longitude": "-120.23", "latitude": "36.92"}},
        "trip": {"_id": "trip-3", "externalId": "order-3", "createdAt": "2024-05-01T11:00:00Z",
                 "updatedAt": "2024-05-01T12:00:00Z", "MMUserId": "mm-7", "startedAt": "2024-05-01T11:01:00Z",
                 "metadata": {"route_session_type": "pickup"}}
    })
}

fn radar_sample() -> Value {
    json!({
        "event": {"_id": "5f0000000000000000000001", "createdAt": "2024-05-01T12:00:00.000Z",
                  "live": true, "type": "user.entered_geofence",
                  "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                  "locationAccuracy": 10, "confidence": 3,
                  "geofence": {"_id": "g-1", "tag": "store", "externalId": "store-42", "description": "Store 42"}},
        "user": {"_id": "r-1", "userId": "u-42", "deviceId": "d-1"}
    })
}

#[test]
fn structured_shape() {
    let w = parse_json(structured_sample()).unwrap();
    assert_eq!(w.shape, LocationShape::Structured);
    let e = &w.events[0];
    assert_eq!(
        (e.user_id.as_str(), e.event_id.as_deref()),
        ("u-1", Some("e-1"))
    );
    assert_eq!((e.latitude.value(), e.longitude.value()), (36.92, -120.23));
    assert_eq!(e.created_at.canonical(), "2024-05-01T12:00:00.000Z");
    assert_eq!(w.trips[0].trip_id, "t-1");
    assert_eq!(w.trips[0].route_session_type.as_deref(), Some("delivery"));
    assert_eq!(w.users[0].live, Some(true));
    assert!(!e.is_geofence_event());
}

#[test]
fn structured_parts_are_each_optional() {
    let w = parse_json(json!({"trip": {"trip_id": 17}})).unwrap();
    assert_eq!((w.events.len(), w.trips.len(), w.users.len()), (0, 1, 0));
    assert_eq!(w.trips[0].trip_id, "17");
}

#[test]
fn platform_shape_with_string_coordinates_and_string_live() {
    let w = parse_json(platform_sample()).unwrap();
    assert_eq!(w.shape, LocationShape::Platform);
    let e = &w.events[0];
    assert_eq!(e.event_id.as_deref(), Some("evt-9"));
    assert_eq!(e.user_id, "mm-7");
    assert_eq!((e.latitude.value(), e.longitude.value()), (36.92, -120.23));
    assert_eq!(e.live, Some(true));
    assert_eq!(e.event_type.as_deref(), Some("user.updated_trip"));
    let t = &w.trips[0];
    assert_eq!(
        (t.trip_id.as_str(), t.external_id.as_deref()),
        ("trip-3", Some("order-3"))
    );
    assert_eq!(t.route_session_type.as_deref(), Some("pickup"));
    assert_eq!(w.users[0].user_id, "mm-7");
}

#[test]
fn radar_single_event_is_a_geofence_entry() {
    let w = parse_json(radar_sample()).unwrap();
    assert_eq!(w.shape, LocationShape::Radar);
    let e = &w.events[0];
    assert_eq!(e.user_id, "u-42", "userId wins over Radar's _id");
    assert_eq!(
        (e.longitude.value(), e.latitude.value()),
        (-73.9857, 40.7484)
    );
    assert!(e.is_geofence_event());
    let g = e.geofence.as_ref().unwrap();
    assert_eq!(
        (g.id.as_deref(), g.tag.as_deref()),
        (Some("g-1"), Some("store"))
    );
    assert_eq!(w.users[0].device_id.as_deref(), Some("d-1"));
}

#[test]
fn radar_events_array_and_trip_from_user() {
    let w = parse_json(json!({
        "events": [
            {"_id": "a", "createdAt": "2024-05-01T12:00:00Z", "type": "user.exited_geofence",
             "location": {"type": "Point", "coordinates": [2.35, 48.85]}},
            {"_id": "b", "createdAt": "2024-05-01T12:01:00Z", "type": "user.dwelled_in_geofence",
             "location": {"type": "Point", "coordinates": ["2.36", "48.86"]}}
        ],
        "user": {"_id": "radar-only", "trip": {"externalId": "trip-x", "status": "started"}}
    }))
    .unwrap();
    assert_eq!(w.events.len(), 2);
    assert!(w
        .events
        .iter()
        .all(|e| e.user_id == "radar-only" && e.is_geofence_event()));
    assert_eq!(w.users.len(), 1, "one user row per user, not per event");
    assert_eq!(w.users[0].event_id.as_deref(), Some("b"));
    assert_eq!(w.trips[0].trip_id, "trip-x");
}

#[test]
fn coordinates_out_of_range_name_the_coordinate() {
    let mut s = structured_sample();
    s["location"]["latitude"] = json!(91);
    let e = err(s);
    assert_eq!(e.path, "/location/latitude");
    assert!(e.message.contains("within [-90, 90]"), "{}", e.message);

    let mut p = platform_sample();
    p["location"]["coordinates"]["longitude"] = json!("-180.5");
    assert_eq!(err(p).path, "/location/coordinates/longitude");

    let mut r = radar_sample();
    r["event"]["location"]["coordinates"] = json!([-73.9, 95.0]);
    assert_eq!(err(r).path, "/event/location/coordinates/1");
    let mut r = radar_sample();
    r["event"]["location"]["coordinates"] = json!([200.0, 45.0]);
    assert_eq!(err(r).path, "/event/location/coordinates/0");
}

#[test]
fn bad_timestamps_name_the_timestamp() {
    let mut s = structured_sample();
    s["trip"]["started_at"] = json!("01/05/2024");
    let e = err(s);
    assert_eq!(e.path, "/trip/started_at");
    assert!(e.message.contains("RFC 3339"));

    let mut p = platform_sample();
    p["created_at"] = json!(1714564800);
    assert_eq!(err(p).path, "/created_at");

    let mut r = radar_sample();
    r["event"]["createdAt"] = json!("2024-13-01T00:00:00Z");
    assert_eq!(err(r).path, "/event/createdAt");
}

#[test]
fn wrong_types_and_missing_fields_name_the_field() {
    let mut s = structured_sample();
    s["location"].as_object_mut().unwrap().remove("user_id");
    assert_eq!(err(s).path, "/location/user_id");
    let mut s = structured_sample();
    s["user"]["live"] = json!(3);
    assert_eq!(err(s).path, "/user/live");
    let mut s = structured_sample();
    s["location"]["longitude"] = json!({"x": 1});
    assert_eq!(err(s).path, "/location/longitude");

    let mut p = platform_sample();
    p.as_object_mut().unwrap().remove("MMUserId");
    assert_eq!(err(p).path, "/MMUserId");
    let mut p = platform_sample();
    p["live"] = json!("maybe");
    assert_eq!(err(p).path, "/live");
    let mut p = platform_sample();
    p["trip"].as_object_mut().unwrap().remove("_id");
    assert_eq!(err(p).path, "/trip/_id");

    let mut r = radar_sample();
    r["event"]["location"]["coordinates"] = json!([1.0]);
    assert_eq!(err(r).path, "/event/location/coordinates");
    let mut r = radar_sample();
    r.as_object_mut().unwrap().remove("user");
    assert_eq!(err(r).path, "/user");
    let mut r = radar_sample();
    r["user"] = json!({"deviceId": "d"});
    assert_eq!(err(r).path, "/user/userId");
    let r = json!({"events": [radar_sample()["event"].clone(), {"_id": "x", "type": "user.entered_place",
        "createdAt": "2024-05-01T12:00:00Z"}], "user": {"userId": "u"}});
    assert_eq!(err(r).path, "/events/1/location");
    assert_eq!(
        err(json!({"events": [], "user": {"userId": "u"}})).path,
        "/events"
    );
    assert_eq!(
        err(
            json!({"event": radar_sample()["event"].clone(), "events": [], "user": {"userId": "u"}})
        )
        .path,
        "/events"
    );
}

#[test]
fn a_null_event_is_refused_at_its_field_not_a_panic() {
    let user = json!({"userId": "u"});
    assert_eq!(err(json!({"event": null, "user": user})).path, "/event");
    assert_eq!(err(json!({"events": null, "user": user})).path, "/events");
    let e = err(json!({"event": null, "events": null}));
    assert_eq!(e.path, "/event");
    assert!(e.message.contains("got null"), "{}", e.message);
}

#[test]
fn a_repeated_key_is_refused_naming_it() {
    let event = radar_sample()["event"].to_string();
    let body = format!(r#"{{"event": {event}, "event": {event}, "user": {{"userId": "u"}}}}"#);
    let e = parse_webhook(Source::Location, body.as_bytes()).unwrap_err();
    assert!(e.message.contains("duplicate field `event`"), "{e}");
}

#[test]
fn unrecognised_bodies_are_refused_at_the_root() {
    let e = err(json!({"hello": "world"}));
    assert_eq!(e.path, "");
    assert!(e.message.contains("unrecognised location payload"));
}
