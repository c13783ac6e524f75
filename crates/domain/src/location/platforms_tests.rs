//! HyperTrack, Roam.ai and Foursquare: their fixtures read into the same events, trips and users
//! as the other shapes, their transitions named as the stream and rules know them, and their
//! refusals name the field.

use super::*;
use crate::{parse_webhook, Source, Webhook};
use serde_json::{json, Value};

const HYPERTRACK: &str =
    include_str!("../../../../events/webhooks/location/hypertrack-events.json");
const ROAM_GEOFENCES: &str =
    include_str!("../../../../events/webhooks/location/roam-geofence-events.json");
const ROAM_LOCATION: &str = include_str!("../../../../events/webhooks/location/roam-location.json");
const FOURSQUARE_GEOFENCE: &str =
    include_str!("../../../../events/webhooks/location/foursquare-geofence-enter.json");
const FOURSQUARE_VISIT: &str =
    include_str!("../../../../events/webhooks/location/foursquare-visit-arrival.json");

fn parse(body: &str) -> Result<LocationWebhook, ParseError> {
    match parse_webhook(Source::Location, body.as_bytes())? {
        Webhook::Location(l) => Ok(l),
        other => panic!("wrong variant {other:?}"),
    }
}

fn err(v: Value) -> ParseError {
    parse(&v.to_string()).unwrap_err()
}

/// (event type, user, latitude, longitude, time, fence id) of each event.
fn summary(w: &LocationWebhook) -> Vec<(String, String, f64, f64, String, Option<String>)> {
    w.events
        .iter()
        .map(|e| {
            (
                e.event_type.clone().unwrap_or_default(),
                e.user_id.clone(),
                e.latitude.value(),
                e.longitude.value(),
                e.created_at.canonical(),
                e.geofence.as_ref().and_then(|g| g.id.clone()),
            )
        })
        .collect()
}

const DEVICE: &str = "00112233-4455-6677-8899-AABBCCDDEEFF";

#[test]
fn a_hypertrack_array_reads_points_transitions_trips_and_the_device() {
    let w = parse(HYPERTRACK).unwrap();
    assert_eq!(w.shape, LocationShape::HyperTrack);
    let s = |t: &str, lat, lng, at: &str, fence: Option<&str>| {
        (
            t.to_owned(),
            DEVICE.to_owned(),
            lat,
            lng,
            at.to_owned(),
            fence.map(str::to_owned),
        )
    };
    assert_eq!(
        summary(&w),
        vec![
            s(
                "location.updated",
                37.7749,
                -122.4194,
                "2024-05-01T12:00:00.120Z",
                None
            ),
            s(
                "location.updated",
                37.788,
                -122.407,
                "2024-05-01T12:03:00.000Z",
                None
            ),
            s(
                "user.entered_geofence",
                37.788,
                -122.4075,
                "2024-05-01T12:04:00.000Z",
                Some("ht-geofence-union-square")
            ),
            s(
                "user.exited_geofence",
                37.7851,
                -122.4102,
                "2024-05-01T12:20:00.000Z",
                Some("ht-trip-destination")
            ),
        ],
        "the altitude is dropped; device status, battery and the trip's completion are no points"
    );
    assert!(w.events[2].is_geofence_event() && !w.events[0].is_geofence_event());
    assert_eq!(
        w.events[2].event_id.as_deref(),
        Some("00112233-4455-6677-8899-AABBCCDDEEFF:geofence:entry:2024-05-01T12:04:00.000Z"),
        "no id is sent: one is made from the device, type, value and time"
    );
    assert_eq!(w.trips.len(), 1);
    let t = &w.trips[0];
    assert_eq!(
        (
            t.trip_id.as_str(),
            t.status.as_deref(),
            t.user_id.as_deref()
        ),
        (
            "123E4567-E89B-12D3-A456-426655440000",
            Some("completed"),
            Some(DEVICE)
        )
    );
    assert_eq!(
        t.updated_at.unwrap().canonical(),
        "2024-05-01T12:30:00.000Z"
    );
    assert_eq!(w.users.len(), 1, "one update for the device: its status");
    let u = &w.users[0];
    assert_eq!(
        (
            u.live,
            u.device_id.as_deref(),
            u.created_at.unwrap().canonical()
        ),
        (
            Some(false),
            Some(DEVICE),
            "2024-05-01T12:31:00.000Z".to_owned()
        ),
        "the device status's: inactive (the battery and location events say nothing of it)"
    );
}

#[test]
fn hypertrack_refusals_name_the_event_and_field() {
    let location = json!({"type": "Point", "coordinates": [-122.4, 37.7]});
    let ok = json!({"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "location", "location": location});
    assert_eq!(
        err(json!([])).message,
        "expected at least one HyperTrack event, got an empty array"
    );
    let cases = [
        (
            json!([ok, {"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "location"}]),
            "/1/location",
        ),
        (
            json!([{"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "geofence", "data": {"value": "exit"}}]),
            "/0/location",
        ),
        (
            json!([{"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "trip", "data": {"value": "started"}}]),
            "/0/data/trip_id",
        ),
        (
            json!([{"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "location",
                 "location": {"coordinates": [-122.4, 97.0]}}]),
            "/0/location/coordinates/1",
        ),
        (
            json!([{"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "location",
                 "location": {"coordinates": [-122.4, 37.7, 1.0, 2.0]}}]),
            "/0/location/coordinates",
        ),
        (
            json!([{"recorded_at": "2024-05-01T12:00:00Z", "type": "location", "location": location}]),
            "/0/device_id",
        ),
        (
            json!([{"device_id": "d", "recorded_at": "yesterday", "type": "location", "location": location}]),
            "/0/recorded_at",
        ),
        (json!([1]), "/0"),
    ];
    for (body, path) in cases {
        assert_eq!(err(body.clone()).path, path, "{body}");
    }
    // A kind without a place is kept in the raw archive only; an unknown kind with one is a point.
    let w = parse(&json!([
        {"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "order", "data": {}},
        {"device_id": "d", "recorded_at": "2024-05-01T12:01:00Z", "type": "geotag", "location": location},
    ]).to_string())
    .unwrap();
    assert_eq!(
        summary(&w).iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["hypertrack.geotag"]
    );
    let deep = format!(
        r#"[{{"device_id": "d", "recorded_at": "2024-05-01T12:00:00Z", "type": "x", "data": {{"v": {}{}}}}}]"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    let e = parse(&deep).unwrap_err();
    assert!(e.message.starts_with("nested too deep"), "{e}");
    assert!(parse("[{\"device_id\":").is_err());
    assert_eq!(
        err(json!([["d", "2024-05-01T12:00:00Z", "location"]])).path,
        "/0",
        "an event is an object"
    );
}

#[test]
fn roam_events_read_as_transitions_and_points() {
    let w = parse(ROAM_GEOFENCES).unwrap();
    assert_eq!(w.shape, LocationShape::Roam);
    let user = "6054a5a5bc1a4b0b1c3c2f11";
    let fence = Some("6054a5f0bc1a4b0b1c3c2f15".to_owned());
    assert_eq!(
        summary(&w),
        vec![
            (
                "user.entered_geofence".into(),
                user.into(),
                12.9716,
                77.5946,
                "2024-05-01T12:40:00.000Z".into(),
                fence.clone()
            ),
            (
                "user.exited_geofence".into(),
                user.into(),
                12.975,
                77.601,
                "2024-05-01T12:55:00.000Z".into(),
                fence
            ),
        ]
    );
    assert_eq!(
        w.events[0].event_id.as_deref(),
        Some("6054a6f8bc1a4b0b1c3c2f20:geospark:geofence:entry"),
        "the location_id, and the type: a point of the same fix has the same location_id"
    );
    assert_eq!(w.events[0].accuracy, Some(11.5));
    assert_eq!(
        w.users[0].created_at.unwrap().canonical(),
        "2024-05-01T12:55:00.000Z"
    );

    let w = parse(ROAM_LOCATION).unwrap();
    assert_eq!(w.shape, LocationShape::Roam);
    assert_eq!(
        summary(&w),
        vec![(
            "location.updated".into(),
            user.into(),
            12.9731,
            77.5975,
            "2024-05-01T12:47:30.000Z".into(),
            None
        )],
        "one event on its own, its place under `coordinates`"
    );

    // Trip events update their trip; types are matched whatever their case and namespace.
    let w = parse(
        &json!({"events": [{"user_id": "u", "recorded_at": "2024-05-01T12:00:00Z",
        "event_type": "roam:trip:Started", "trip_id": "t-9",
        "location": {"type": "Point", "coordinates": [1.0, 2.0]}}]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        (w.trips[0].trip_id.as_str(), w.trips[0].status.as_deref()),
        ("t-9", Some("started"))
    );
    assert_eq!(w.events[0].event_type.as_deref(), Some("roam:trip:Started"));
}

#[test]
fn roam_and_radar_events_arrays_are_told_apart_and_refusals_name_the_field() {
    let radar = json!({"events": [{"_id": "e", "createdAt": "2024-05-01T12:00:00Z", "type": "user.entered_geofence",
        "location": {"type": "Point", "coordinates": [1, 2]}}], "user": {"userId": "u"}});
    assert_eq!(
        parse(&radar.to_string()).unwrap().shape,
        LocationShape::Radar
    );
    let roam_event = |extra: Value| {
        let mut e = json!({"user_id": "u", "recorded_at": "2024-05-01T12:00:00Z",
            "event_type": "geospark:geofence:entry", "location": {"type": "Point", "coordinates": [1, 2]}});
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e
    };
    let cases = [
        (
            json!({"events": [roam_event(json!({"location": null}))]}),
            "/events/0/location",
        ),
        (
            json!({"events": [roam_event(json!({"user_id": ""}))]}),
            "/events/0/user_id",
        ),
        (
            json!({"events": [roam_event(json!({"event_type": "geospark:trip:ended"}))]}),
            "/events/0/trip_id",
        ),
        (
            json!({"events": [roam_event(json!({"location": {"coordinates": [200, 2]}}))]}),
            "/events/0/location/coordinates/0",
        ),
        (json!({"events": []}), "/events"),
        (
            roam_event(json!({"event_source": "geospark:geofence", "recorded_at": 5})),
            "/recorded_at",
        ),
    ];
    for (body, path) in cases {
        assert_eq!(err(body.clone()).path, path, "{body}");
    }
}

#[test]
fn foursquare_geofence_events_and_visits_read_with_their_user() {
    let w = parse(FOURSQUARE_GEOFENCE).unwrap();
    assert_eq!(w.shape, LocationShape::Foursquare);
    let e = &w.events[0];
    assert_eq!(
        (
            e.event_type.as_deref(),
            e.user_id.as_str(),
            e.event_id.as_deref()
        ),
        (
            Some("user.entered_geofence"),
            "shopper-5150",
            Some("62f1b2c3d4e5f60718293a4b")
        )
    );
    assert_eq!(
        (e.latitude.value(), e.longitude.value()),
        (51.5137, -0.0982)
    );
    assert_eq!(
        e.created_at.canonical(),
        "2024-05-01T13:00:00.000Z",
        "epoch milliseconds"
    );
    let g = e.geofence.clone().unwrap();
    assert_eq!(
        (g.id.as_deref(), g.description.as_deref()),
        (Some("fsq-geofence-1001"), Some("Flagship store"))
    );
    assert!(e.is_geofence_event());

    let w = parse(FOURSQUARE_VISIT).unwrap();
    let e = &w.events[0];
    assert_eq!(
        (
            e.event_type.as_deref(),
            e.event_id.as_deref(),
            e.is_geofence_event()
        ),
        (
            Some("visit.arrival"),
            Some("5d1b2c3d4e5f607182930abc:arrival"),
            false
        ),
        "a visit is a point; its arrival and departure share the visit id"
    );
    assert_eq!(w.users[0].user_id, "shopper-5150");

    let visit = |extra: Value| {
        let mut v: Value = serde_json::from_str(FOURSQUARE_VISIT).unwrap();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let w = parse(&visit(json!({"userInfo": null})).to_string()).unwrap();
    assert_eq!(
        w.events[0].user_id, "fsq-install-7f3a",
        "no userId: the installId"
    );
    let cases = [
        (
            visit(json!({"userInfo": null, "installId": null})),
            "/userId",
        ),
        (visit(json!({"lat": 91})), "/lat"),
        (visit(json!({"timestamp": "soon"})), "/timestamp"),
        (visit(json!({"pilgrimVisitId": null})), "/pilgrimVisitId"),
        (
            visit(json!({"visitType": null, "eventType": "geofenceWander"})),
            "/eventType",
        ),
        (visit(json!({"visitType": null})), "/visitType"),
        (visit(json!({"visitType": "wander"})), "/visitType"),
        (visit(json!({"timestamp": 1_714_569_000})), "/timestamp"),
    ];
    for (body, path) in cases {
        assert_eq!(err(body.clone()).path, path, "{body}");
    }
}

#[test]
fn made_ids_are_readable_when_they_can_be_and_always_valid_ids() {
    let at = "2024-05-01T12:00:00.000Z";
    assert_eq!(
        made_id(&["d-1", "location", at]),
        format!("d-1:location:{at}")
    );
    let long = "x".repeat(1000);
    let hashed = [
        made_id(&["d-1", &long, at]),
        made_id(&["a:b", "c", at]),
        made_id(&["a", "b:c", at]),
        made_id(&["d\u{1}", "c", at]),
    ];
    for id in &hashed {
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
        assert!(crate::primitives::Id::refusal(id).is_none());
    }
    assert_ne!(
        hashed[1], hashed[2],
        "parts are told apart by their lengths"
    );
    let hex = "ab".repeat(32);
    assert_ne!(
        made_id(&["sha256", &hex]),
        format!("sha256:{hex}"),
        "a readable id never looks like a hashed one"
    );
    let fits = "y".repeat(MAX_ID_BYTES - 2);
    assert_eq!(
        made_id(&["a", &fits]).len(),
        MAX_ID_BYTES,
        "988 bytes: readable"
    );
    assert!(
        made_id(&["ab", &fits]).starts_with("sha256:"),
        "989: hashed"
    );
}

/// Keys other shapes ignored before these platforms came still leave those shapes as they were;
/// only Roam's namespaced types and Foursquare's full set of fields pick the new shapes, and the
/// one read and the two-pass read agree.
#[test]
fn the_new_platforms_take_no_body_of_another_shape() {
    let structured = json!({"location": {"user_id": "u", "latitude": 1, "longitude": 2,
        "created_at": "2024-05-01T12:00:00Z"}, "recorded_at": "x", "installId": "i",
        "geofenceId": "g", "visitId": "v", "event_source": "app", "event_type": "ping"});
    let platform = json!({"MMUserId": "m", "created_at": "2024-05-01T12:00:00Z", "type": "t",
        "location": {"coordinates": {"latitude": 1, "longitude": 2}}, "eventType": "e"});
    for (body, shape) in [
        (structured, LocationShape::Structured),
        (platform, LocationShape::Platform),
    ] {
        let body = body.to_string();
        assert_eq!(parse(&body).unwrap().shape, shape, "{body}");
        assert_eq!(
            parse_in_two_passes(body.as_bytes()).unwrap().shape,
            shape,
            "{body}"
        );
    }
    // A Radar-valid event that carries Roam's mark is Roam's in both reads (and refused there).
    let marked = json!({"events": [{"_id": "e", "createdAt": "2024-05-01T12:00:00Z", "type": "t",
        "location": {"coordinates": [1, 2]}, "event_type": "roam:x"}], "user": {"userId": "u"}});
    let body = marked.to_string();
    assert_eq!(parse(&body).unwrap_err().path, "/events/0/user_id");
    assert_eq!(
        parse_in_two_passes(body.as_bytes()).unwrap_err().path,
        "/events/0/user_id"
    );
}
