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
//! An event's id is its `location_id`, else `<user_id>:<event_type>:<recorded_at>`.

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

/// Only what tells a Roam `events` array from a Radar one: its events' types and sources.
#[derive(Deserialize)]
pub(super) struct Probe {
    events: Vec<ProbeEvent>,
}

#[derive(Deserialize)]
struct ProbeEvent {
    event_type: Option<String>,
    event_source: Option<String>,
}

impl Probe {
    pub(super) fn is_roam(&self) -> bool {
        self.events.iter().any(|e| {
            [&e.event_type, &e.event_source]
                .into_iter()
                .flatten()
                .any(|t| is_roam_type(t))
        })
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
        let event_id = id(e.location_id)
            .unwrap_or_else(|| made_id(&[&user_id, &given, &e.recorded_at.canonical()]));
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
