//! 5. Roam.ai: `{"events": [...]}`, or one event object on its own, each event
//!    `{"user_id", "recorded_at", "event_type": "geospark:geofence:entry", "event_source",
//!    "location" | "coordinates": {"type": "Point", "coordinates": [lng, lat]}, "geofence_id",
//!    "location_id", "trip_id", "horizontal_accuracy"}`.
//!
//! Roam's event types are namespaced (`geospark:` in its delivered events, `roam:` in newer
//! documents), which is how a Roam `events` array is told from a Radar one:
//! - `…geofence:entry`/`…geofence:exit`/`…geofence:dwell` are transitions
//!   (`user.entered_geofence`, `user.exited_geofence`, `user.dwelled_in_geofence`);
//! - `…location…` events are raw points (`location.updated`);
//! - `…trip:<status>` events update the trip `trip_id` (status `<status>`) and, with a place,
//!   are points of their own type;
//! - any other type with a place is a point of its own type.
//!
//! An event's id is `<location_id>:<event_type>` (a fix's id may be shared by the point and the
//! transition it fired), else `<user_id>:<recorded_at>:<event_type>`, hashed where
//! [`super::made_id`] must.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::geojson::{GeoPoint, Position};
use super::{id, keep_newest_user, made_id, number, GeofenceRef, LocationEvent, LocationShape};
use super::{LocationWebhook, TripUpdate, UserUpdate};
use crate::error::{join, ParseError};
use crate::primitives::{Id, StoredNumber, Text, Timestamp, UserId};

/// The prefixes of Roam's event types and sources.
const NAMESPACES: [&str; 2] = ["geospark:", "roam:"];

/// Whether `event_type` (or `event_source`) is one of Roam's.
pub(super) fn is_roam_type(t: &str) -> bool {
    NAMESPACES.iter().any(|ns| {
        t.get(..ns.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(ns))
    })
}

#[derive(Deserialize)]
pub(super) struct RoamEvent {
    user_id: UserId,
    recorded_at: Timestamp,
    event_type: Text,
    location: Option<GeoPoint>,
    coordinates: Option<GeoPoint>,
    location_id: Option<Id>,
    geofence_id: Option<Id>,
    trip_id: Option<Id>,
    horizontal_accuracy: Option<StoredNumber>,
}

#[derive(Deserialize)]
pub(super) struct RoamDelivery {
    pub(super) events: Vec<RoamEvent>,
}

/// Whether a value is a string in one of Roam's namespaces; any other value (absent, null, a
/// number, an object) is not, and is read through without being kept.
#[derive(Default, Clone, Copy)]
pub(super) struct Namespaced(pub(super) bool);

impl<'de> Deserialize<'de> for Namespaced {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Namespaced;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Namespaced, E> {
                Ok(Namespaced(is_roam_type(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Namespaced, E> {
                Ok(Namespaced(false))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Namespaced, E> {
                Ok(Namespaced(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Namespaced, E> {
                Ok(Namespaced(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Namespaced, E> {
                Ok(Namespaced(false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Namespaced, E> {
                Ok(Namespaced(false))
            }
            fn visit_none<E: de::Error>(self) -> Result<Namespaced, E> {
                Ok(Namespaced(false))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Namespaced, D2::Error> {
                Namespaced::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Namespaced, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Namespaced(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Namespaced, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Namespaced(false))
            }
        }
        d.deserialize_any(V)
    }
}

/// Roam's marks on an event: an `event_type` or `event_source` in its namespaces.
#[derive(Deserialize, Default)]
pub(super) struct Marks {
    #[serde(default)]
    event_type: Namespaced,
    #[serde(default)]
    event_source: Namespaced,
}

impl Marks {
    pub(super) fn is_roam(&self) -> bool {
        self.event_type.0 || self.event_source.0
    }
}

/// Only what tells a Roam `events` array from a Radar one: whether an event carries Roam's
/// marks. The one-pass read ([`super::read`]) asks the same of the events it reads.
#[derive(Deserialize)]
pub(super) struct Probe {
    events: Vec<Marks>,
}

impl Probe {
    pub(super) fn is_roam(&self) -> bool {
        self.events.iter().any(Marks::is_roam)
    }
}

/// `base` is where the events are: `/events`, or `` for a single event object.
pub(super) fn roam(raw: Vec<RoamEvent>, single: bool) -> Result<LocationWebhook, ParseError> {
    if raw.is_empty() {
        return Err(ParseError::new("/events", "must hold at least one event"));
    }
    let mut events = Vec::new();
    let mut trips = Vec::new();
    let mut users: Vec<UserUpdate> = Vec::new();
    for (i, e) in raw.into_iter().enumerate() {
        let path = if single {
            String::new()
        } else {
            join("/events", i)
        };
        let user_id = e.user_id.0;
        let given = e.event_type.0;
        let lower = given.to_ascii_lowercase();
        // A location fix's id may be shared by the point and the transition it fired: the type
        // tells them apart.
        let event_id = match id(e.location_id) {
            Some(fix) => made_id(&[&fix, &given]),
            None => made_id(&[&user_id, &e.recorded_at.canonical(), &given]),
        };
        let transition = if lower.ends_with("geofence:entry") {
            Some("user.entered_geofence")
        } else if lower.ends_with("geofence:exit") {
            Some("user.exited_geofence")
        } else if lower.ends_with("geofence:dwell") {
            Some("user.dwelled_in_geofence")
        } else {
            None
        };
        keep_newest_user(
            &mut users,
            UserUpdate {
                user_id: user_id.clone(),
                event_id: Some(event_id.clone()),
                device_id: None,
                created_at: Some(e.recorded_at),
                live: None,
            },
        );
        if let Some((_, status)) = lower.split_once(":trip:") {
            let trip_id = e
                .trip_id
                .ok_or_else(|| ParseError::missing(join(&path, "trip_id")))?;
            trips.push(TripUpdate {
                trip_id: trip_id.0,
                external_id: None,
                user_id: Some(user_id.clone()),
                status: Some(status.to_owned()),
                created_at: None,
                updated_at: Some(e.recorded_at),
                started_at: None,
                route_session_type: None,
            });
        }
        let event_type = match transition {
            Some(t) => t.to_owned(),
            None if lower.contains(":location") => "location.updated".to_owned(),
            None => given,
        };
        let Some(GeoPoint {
            coordinates:
                Position {
                    longitude,
                    latitude,
                },
        }) = e.location.or(e.coordinates)
        else {
            if transition.is_some() || event_type == "location.updated" {
                return Err(ParseError::missing(join(&path, "location")));
            }
            continue;
        };
        events.push(LocationEvent {
            event_id: Some(event_id),
            user_id,
            event_type: Some(event_type),
            latitude: latitude.0,
            longitude: longitude.0,
            created_at: e.recorded_at,
            live: None,
            accuracy: number(e.horizontal_accuracy),
            geofence: transition.map(|_| GeofenceRef {
                id: id(e.geofence_id),
                ..GeofenceRef::default()
            }),
        });
    }
    Ok(LocationWebhook {
        shape: LocationShape::Roam,
        events,
        trips,
        users,
    })
}
