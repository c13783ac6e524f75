//! HyperTrack, Roam.ai and Foursquare bodies: each platform's structure around adversarial
//! leaves, with its event types mostly the ones that mean something (transitions, points, trips).

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::leaves::{coordinate, id, number, rfc3339, text, value, with_repeat};
use super::{maybe, obj, s, J};

/// A GeoJSON point, sometimes with an altitude (or more elements than GeoJSON allows).
fn geo_point() -> BoxedStrategy<J> {
    (
        coordinate(180.0),
        coordinate(90.0),
        prop_oneof![6 => Just(None), 2 => number().prop_map(Some), 1 => Just(Some(J::Null))],
        prop::bool::weighted(0.03),
    )
        .prop_map(|(lon, lat, alt, extra)| {
            let mut position = vec![lon, lat];
            position.extend(alt);
            if extra {
                position.push(J::Num("1".into()));
            }
            obj(vec![
                ("type", Some(s("Point"))),
                ("coordinates", Some(J::Arr(position))),
            ])
        })
        .boxed()
}

fn hypertrack_event() -> BoxedStrategy<J> {
    let kind_value = prop_oneof![
        4 => Just(("location", None)),
        2 => prop::sample::select(vec!["entry", "exit"]).prop_map(|v| ("geofence", Some(v))),
        2 => prop::sample::select(vec!["geofence_enter", "geofence_exit", "started", "completed"])
            .prop_map(|v| ("trip", Some(v))),
        1 => prop::sample::select(vec!["active", "inactive", "disconnected"])
            .prop_map(|v| ("device_status", Some(v))),
        1 => Just(("battery", Some("low"))),
        1 => Just(("geotag", None)),
    ];
    (
        (id(), rfc3339(), kind_value, option::weighted(0.05, text())),
        (
            option::weighted(0.9, geo_point()),
            maybe(id()),
            maybe(id()),
            option::weighted(0.2, value()),
        ),
    )
        .prop_map(
            |((device, at, (kind, v), odd_kind), (location, trip, fence, meta))| {
                let data = obj(vec![
                    ("value", v.map(s)),
                    ("trip_id", trip),
                    ("geofence_id", fence),
                    ("geofence_metadata", meta),
                ]);
                obj(vec![
                    ("device_id", Some(device)),
                    ("recorded_at", Some(at)),
                    ("type", Some(odd_kind.unwrap_or_else(|| s(kind)))),
                    ("data", Some(data)),
                    ("location", location),
                    ("version", Some(s("2.0.0"))),
                ])
            },
        )
        .boxed()
}

/// HyperTrack: an array of events (sometimes empty, sometimes one event repeated).
pub fn hypertrack() -> BoxedStrategy<J> {
    prop_oneof![
        12 => vec(hypertrack_event(), 1..5).prop_map(J::Arr),
        2 => hypertrack_event().prop_map(|e| J::Arr(vec![e.clone(), e])),
        1 => Just(J::Arr(vec![])),
    ]
    .boxed()
}

fn roam_event() -> BoxedStrategy<J> {
    let event_type = prop_oneof![
        4 => prop::sample::select(vec![
            "geospark:geofence:entry", "geospark:geofence:exit", "roam:geofence:dwell",
            "geospark:location:point", "geospark:trip:started", "roam:trip:ended",
        ])
        .prop_map(s),
        1 => text(),
    ];
    (
        (
            id(),
            rfc3339(),
            event_type,
            maybe(id()),
            prop_oneof![
                4 => Just(Some(s("geospark:geofence"))),
                1 => Just(None),
                1 => text().prop_map(Some),
            ],
        ),
        (
            option::weighted(0.9, geo_point()),
            prop::bool::ANY,
            maybe(id()),
            maybe(id()),
            maybe(number()),
        ),
    )
        .prop_map(
            |((user, at, ty, location_id, source), (place, under_location, fence, trip, acc))| {
                let (location, coordinates) = if under_location {
                    (place, None)
                } else {
                    (None, place)
                };
                obj(vec![
                    ("user_id", Some(user)),
                    ("location_id", location_id),
                    ("recorded_at", Some(at)),
                    ("event_source", source),
                    ("event_type", Some(ty)),
                    ("location", location),
                    ("coordinates", coordinates),
                    ("geofence_id", fence),
                    ("trip_id", trip),
                    ("horizontal_accuracy", acc),
                ])
            },
        )
        .boxed()
}

/// Roam.ai: `{"events": [...]}` or one event on its own.
pub fn roam() -> BoxedStrategy<J> {
    prop_oneof![
        8 => vec(roam_event(), 1..4).prop_map(|es| obj(vec![("events", Some(J::Arr(es)))])),
        4 => roam_event(),
        1 => Just(obj(vec![("events", Some(J::Arr(vec![])))])),
    ]
    .prop_flat_map(|j| with_repeat(Just(j).boxed()))
    .boxed()
}

/// Epoch milliseconds at and past the calendar's edges, or an RFC 3339 time.
fn epoch_ms() -> BoxedStrategy<J> {
    prop_oneof![
        6 => (0i64..4_102_444_800_000).prop_map(|ms| J::Num(ms.to_string())),
        2 => prop::sample::select(vec![
            "-62135596800000", "-62135596800001", "253402300799999", "253402300800000",
            "1.7e12", "1.5", "1e400", "-0", "99999999999999999999",
        ])
        .prop_map(|n| J::Num(n.into())),
        2 => rfc3339(),
    ]
    .boxed()
}

/// Foursquare: one visit or one geofence event.
pub fn foursquare() -> BoxedStrategy<J> {
    let kind = prop_oneof![
        3 => prop::sample::select(vec!["arrival", "departure", "historical"])
            .prop_map(|v| ("visitType", s(v))),
        3 => prop::sample::select(vec!["geofenceEnter", "geofenceExit", "geofenceDwell", "geofencePresence"])
            .prop_map(|v| ("eventType", s(v))),
        1 => text().prop_map(|t| ("eventType", t)),
    ];
    (
        (kind, maybe(id()), maybe(id()), maybe(id())),
        (coordinate(90.0), coordinate(180.0), epoch_ms()),
        (maybe(id()), maybe(id()), maybe(text())),
    )
        .prop_map(
            |((kind, visit, event, fence), (lat, lng, ts), (user, install, name))| {
                let user_info = user.map(|u| obj(vec![("userId", Some(u))]));
                obj(vec![
                    (kind.0, Some(kind.1)),
                    ("pilgrimVisitId", visit),
                    ("eventId", event),
                    ("geofenceId", fence),
                    ("geofenceName", name),
                    ("lat", Some(lat)),
                    ("lng", Some(lng)),
                    ("timestamp", Some(ts)),
                    ("userInfo", user_info),
                    ("installId", install),
                ])
            },
        )
        .prop_flat_map(|j| with_repeat(Just(j).boxed()))
        .boxed()
}
