//! The shapes of generated webhooks: each route's structure around adversarial leaves.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::leaves::{
    clevertap_time, coordinate, flag, id, key_values, number, rfc3339, text, unicode_text, value,
    with_repeat,
};
use super::{maybe, obj, s, J};

pub fn geofence() -> BoxedStrategy<J> {
    (maybe(id()), maybe(text()), maybe(id()), maybe(text()))
        .prop_map(|(i, t, x, d)| {
            obj(vec![
                ("_id", i),
                ("tag", t),
                ("externalId", x),
                ("description", d),
            ])
        })
        .boxed()
}

pub fn trip(id_key: &'static str, user_key: &'static str, camel: bool) -> BoxedStrategy<J> {
    let (c, u, st) = if camel {
        ("createdAt", "updatedAt", "startedAt")
    } else {
        ("created_at", "updated_at", "started_at")
    };
    (
        (maybe(id()), maybe(id()), maybe(id()), maybe(text())),
        (
            maybe(rfc3339()),
            maybe(rfc3339()),
            maybe(rfc3339()),
            maybe(text()),
        ),
    )
        .prop_map(move |((i, x, usr, status), (ca, ua, sa, rst))| {
            let meta = rst.map(|r| obj(vec![("route_session_type", Some(r))]));
            let ext = if camel { "externalId" } else { "external_id" };
            obj(vec![
                (id_key, i),
                (ext, x),
                (user_key, usr),
                ("status", status),
                (c, ca),
                (u, ua),
                (st, sa),
                ("metadata", meta),
            ])
        })
        .boxed()
}

pub fn event_type() -> BoxedStrategy<J> {
    prop_oneof![
        4 => prop::sample::select(vec!["user.entered_geofence", "user.exited_geofence", "user.dwelled_in_geofence"]).prop_map(s),
        2 => prop::sample::select(vec!["user.updated", "user.started_trip", "location.updated"]).prop_map(s),
        1 => text(),
    ]
    .boxed()
}

pub fn radar_user() -> BoxedStrategy<J> {
    (
        maybe(id()),
        maybe(id()),
        maybe(id()),
        maybe(flag()),
        option::weighted(0.3, trip("_id", "MMUserId", true)),
        option::weighted(0.2, value()),
    )
        .prop_map(|(i, u, d, l, t, m)| {
            obj(vec![
                ("_id", i),
                ("userId", u),
                ("deviceId", d),
                ("live", l),
                ("trip", t),
                ("metadata", m),
            ])
        })
        .boxed()
}

pub fn radar_event() -> BoxedStrategy<J> {
    (
        (id(), rfc3339(), event_type(), maybe(flag())),
        (coordinate(180.0), coordinate(90.0), maybe(number())),
        (
            option::weighted(0.2, radar_user()),
            maybe(geofence()),
            option::weighted(0.3, trip("_id", "MMUserId", true)),
        ),
    )
        .prop_map(|((i, t, ty, live), (lon, lat, acc), (u, g, tr))| {
            let location = obj(vec![
                ("type", Some(s("Point"))),
                ("coordinates", Some(J::Arr(vec![lon, lat]))),
            ]);
            obj(vec![
                ("_id", Some(i)),
                ("createdAt", Some(t)),
                ("type", Some(ty)),
                ("live", live),
                ("location", Some(location)),
                ("locationAccuracy", acc),
                ("user", u),
                ("geofence", g),
                ("trip", tr),
            ])
        })
        .boxed()
}

/// Radar: `{"event", "user"}` or `{"events": [...], "user"}`; events often share an id or repeat.
pub fn radar() -> BoxedStrategy<J> {
    let events = prop_oneof![
        12 => radar_event().prop_map(|e| ("event", e)),
        5 => vec(radar_event(), 1..4).prop_map(|es| ("events", J::Arr(es))),
        2 => radar_event().prop_map(|e| ("events", J::Arr(vec![e.clone(), e]))),
        1 => Just(("events", J::Arr(vec![]))),
        1 => Just(("event", J::Null)),
    ];
    with_repeat(
        (events, option::weighted(0.95, radar_user()))
            .prop_map(|((k, e), u)| obj(vec![(k, Some(e)), ("user", u)]))
            .boxed(),
    )
}

pub fn structured() -> BoxedStrategy<J> {
    let location = (
        (id(), coordinate(90.0), coordinate(180.0), rfc3339()),
        (
            maybe(event_type()),
            maybe(id()),
            maybe(text()),
            maybe(number()),
        ),
    )
        .prop_map(|((u, lat, lon, t), (ty, gi, gt, acc))| {
            obj(vec![
                ("user_id", Some(u)),
                ("latitude", Some(lat)),
                ("longitude", Some(lon)),
                ("created_at", Some(t)),
                ("event_type", ty),
                ("geofence_id", gi),
                ("geofence_tag", gt),
                ("accuracy", acc),
            ])
        });
    let user = (id(), maybe(id()), maybe(rfc3339()), maybe(flag())).prop_map(|(u, e, t, l)| {
        obj(vec![
            ("user_id", Some(u)),
            ("event_id", e),
            ("created_at", t),
            ("live", l),
        ])
    });
    with_repeat(
        (
            maybe(location),
            maybe(trip("trip_id", "user_id", false)),
            maybe(user),
        )
            .prop_map(|(l, t, u)| obj(vec![("location", l), ("trip", t), ("user", u)]))
            .boxed(),
    )
}

pub fn platform() -> BoxedStrategy<J> {
    let location = (coordinate(180.0), coordinate(90.0)).prop_map(|(lon, lat)| {
        obj(vec![
            ("type", Some(s("Point"))),
            (
                "coordinates",
                Some(obj(vec![("longitude", Some(lon)), ("latitude", Some(lat))])),
            ),
        ])
    });
    with_repeat(
        (
            (maybe(id()), maybe(id()), id(), rfc3339()),
            (
                maybe(event_type()),
                maybe(flag()),
                maybe(location),
                maybe(trip("_id", "MMUserId", true)),
                option::weighted(0.2, geofence()),
            ),
        )
            .prop_map(|((i, ui, u, t), (ty, l, loc, tr, g))| {
                obj(vec![
                    ("id", i),
                    ("_id", ui),
                    ("MMUserId", Some(u)),
                    ("created_at", Some(t)),
                    ("type", ty),
                    ("live", l),
                    ("location", loc),
                    ("trip", tr),
                    ("geofence", g),
                ])
            })
            .boxed(),
    )
}

/// One of the casings CleverTap's samples use for a structural key.
pub fn casing(name: &'static str) -> BoxedStrategy<String> {
    let mut upper = name.to_owned();
    upper[..1].make_ascii_uppercase();
    prop_oneof![4 => Just(name.to_owned()), 1 => Just(upper), 1 => Just(name.to_ascii_uppercase())]
        .boxed()
}

pub fn profile() -> BoxedStrategy<J> {
    (
        (
            maybe(id()),
            option::weighted(0.5, id()),
            casing("objectId"),
            casing("profileData"),
        ),
        (
            option::weighted(0.3, text()),
            option::weighted(0.3, text()),
            option::weighted(0.3, id()),
        ),
        (
            option::weighted(0.5, key_values()),
            option::weighted(0.4, key_values()),
            option::weighted(0.2, key_values()),
            option::weighted(0.1, value()),
        ),
    )
        .prop_map(|((o, i, ok, pk), (email, name, phone), (pd, kv, ep, ai))| {
            let mut members: Vec<(String, J)> = Vec::new();
            let mut put = |k: &str, v: Option<J>| {
                if let Some(v) = v {
                    members.push((k.to_owned(), v));
                }
            };
            put(&ok, o);
            put("identity", i);
            put("email", email);
            put("name", name);
            put("phone", phone);
            put(&pk, pd);
            put("key_values", kv);
            put("event_properties", ep);
            put("all_identities", ai);
            J::Obj(members)
        })
        .boxed()
}

/// CleverTap campaign and journey webhooks: `profiles` an array (broadcast) or one object.
pub fn campaign() -> BoxedStrategy<J> {
    let profiles = prop_oneof![
        6 => vec(profile(), 0..5).prop_map(J::Arr),
        3 => profile(),
        1 => profile().prop_map(|p| J::Arr(vec![p.clone(), p])),
        1 => value(),
    ];
    with_repeat(
        (
            id(),
            option::weighted(0.6, key_values()),
            profiles,
            option::weighted(0.1, any::<bool>()),
            casing("targetId"),
            casing("profiles"),
        )
            .prop_map(|(t, kv, p, test, tk, pk)| {
                let mut members = vec![(tk, t)];
                members.extend(kv.map(|kv| ("key_values".to_owned(), kv)));
                members.push((pk, p));
                members.extend(test.map(|b| ("is_test".to_owned(), J::Bool(b))));
                J::Obj(members)
            })
            .boxed(),
    )
}

pub fn export_status() -> BoxedStrategy<J> {
    with_repeat(
        (
            (id(), maybe(text()), maybe(text())),
            (prop_oneof![3 => prop::sample::select(vec!["Completed", "Initiated"]).prop_map(s), 1 => id()], maybe(text()), clevertap_time()),
            prop::bool::weighted(0.2),
        )
            .prop_map(|((x, partner, ty), (status, freq, at), lower)| {
                let k = |name: &str| if lower { name.to_ascii_lowercase() } else { name.to_owned() };
                let members = vec![(k("Export Request Id"), Some(x)), (k("Partner"), partner), (k("Type"), ty),
                                   (k("Status"), Some(status)), (k("Frequency"), freq), (k("Date and Time"), Some(at))];
                J::Obj(members.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
            })
            .boxed(),
    )
}

// ---- repeats -------------------------------------------------------------------------------

/// Sender event ids that are easy to confuse once joined: separators inside ids.
pub fn event_ids() -> BoxedStrategy<Vec<String>> {
    vec(
        prop_oneof!["[a-c]{1,3}", unicode_text(4)].prop_filter("an id", |i| {
            !i.trim().is_empty() && !i.chars().any(char::is_control)
        }),
        1..4,
    )
    .boxed()
}

/// A valid Radar delivery of one event per id (`{"events": [...], "user"}`).
pub fn radar_with_ids(ids: &[String]) -> String {
    let event = |id: &String| {
        obj(vec![
            ("_id", Some(J::Str(id.clone()))),
            ("createdAt", Some(s("2024-05-01T12:00:00Z"))),
            ("type", Some(s("user.entered_geofence"))),
            (
                "location",
                Some(obj(vec![(
                    "coordinates",
                    Some(J::Arr(vec![J::Num("1".into()), J::Num("2".into())])),
                )])),
            ),
        ])
    };
    obj(vec![
        ("events", Some(J::Arr(ids.iter().map(event).collect()))),
        ("user", Some(obj(vec![("userId", Some(s("u")))]))),
    ])
    .text()
}
