//! 4. HyperTrack: the body is a JSON array of events, each `{"device_id", "recorded_at", "type",
//!    "data": {...}, "location": {"type": "Point", "coordinates": [lng, lat, alt?]}}`.
//!
//! - `location` events are raw points (`location.updated`);
//! - `geofence` events with `data.value` `entry`/`exit`, and `trip` events with `geofence_enter`/
//!   `geofence_exit`, are geofence transitions (`user.entered_geofence`/`user.exited_geofence`,
//!   the fence `data.geofence_id`), placed at `location`, else at `data.arrival.location` or
//!   `data.exit.location`;
//! - other `trip` events update the trip `data.trip_id` (status `data.value`);
//! - `device_status` (`data.value` `active` or not) updates the device's user (whether it is
//!   live); `battery` events stay in the raw archive;
//! - any other type with a location is kept as a point `hypertrack.<type>`; without one, in the
//!   raw archive only.
//!
//! The device is the user (`device_id`). HyperTrack sends no event id, so an event's id is made
//! from what identifies it (`<device_id>:<type>[:<value>]:<recorded_at>`), the same on every
//! retry.

use serde::Deserialize;

use super::bounded::Bounded;
use super::geojson::{GeoPoint, Position};
use super::read::MapOnly;
use super::{id, keep_newest_user, made_id, text, GeofenceRef, LocationEvent, LocationShape};
use super::{LocationWebhook, TripUpdate, UserUpdate};
use crate::error::{join, ParseError};
use crate::primitives::{Id, Text, Timestamp, UserId};

#[derive(Deserialize)]
pub(super) struct HEvent {
    device_id: UserId,
    recorded_at: Timestamp,
    #[serde(rename = "type")]
    kind: Id,
    location: Option<GeoPoint>,
    data: Option<HData>,
}

#[derive(Deserialize, Default)]
struct HData {
    value: Option<Text>,
    trip_id: Option<Id>,
    geofence_id: Option<Id>,
    arrival: Option<HPlace>,
    exit: Option<HPlace>,
}

#[derive(Deserialize)]
struct HPlace {
    location: Option<GeoPoint>,
}

/// Reads a body that starts with `[`: one pass, bounded in depth; a body it refuses is read
/// again with its path tracked, to name the field at fault.
pub(super) fn read(body: &[u8]) -> Result<LocationWebhook, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let once = Vec::<MapOnly<HEvent>>::deserialize(Bounded {
        de: &mut de,
        level: 1,
    })
    .and_then(|events| de.end().map(|()| events));
    let events = match once {
        Ok(events) => events,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let events: Vec<MapOnly<HEvent>> = serde_path_to_error::deserialize(Bounded {
                de: &mut de,
                level: 1,
            })
            .map_err(|e| ParseError::from_serde("", e))?;
            de.end()
                .map_err(|e| ParseError::new("", format!("invalid JSON: {e}")))?;
            events
        }
    };
    hypertrack(events.into_iter().map(|MapOnly(e)| e).collect())
}

fn hypertrack(raw: Vec<HEvent>) -> Result<LocationWebhook, ParseError> {
    if raw.is_empty() {
        return Err(ParseError::new(
            "",
            "expected at least one HyperTrack event, got an empty array",
        ));
    }
    let mut events = Vec::new();
    let mut trips = Vec::new();
    let mut users: Vec<UserUpdate> = Vec::new();
    for (i, e) in raw.into_iter().enumerate() {
        let path = join("", i);
        let user_id = e.device_id.0;
        let kind = e.kind.0;
        let data = e.data.unwrap_or_default();
        let value = text(data.value);
        let at = e.recorded_at.canonical();
        let event_id = match &value {
            Some(v) => made_id(&[&user_id, &kind, v, &at]),
            None => made_id(&[&user_id, &kind, &at]),
        };
        let transition = match (kind.as_str(), value.as_deref()) {
            ("geofence", Some("entry")) | ("trip", Some("geofence_enter")) => {
                Some("user.entered_geofence")
            }
            ("geofence", Some("exit")) | ("trip", Some("geofence_exit")) => {
                Some("user.exited_geofence")
            }
            _ => None,
        };
        let live = match (kind.as_str(), value.as_deref()) {
            ("device_status", Some(v)) => Some(v == "active"),
            _ => None,
        };
        // Only a device status says whether the device is live: the user's `PROFILE` is
        // written whole, so other events would blank what it said.
        if live.is_some() {
            keep_newest_user(
                &mut users,
                UserUpdate {
                    user_id: user_id.clone(),
                    event_id: Some(event_id.clone()),
                    device_id: Some(user_id.clone()),
                    created_at: Some(e.recorded_at),
                    live,
                },
            );
        }
        if kind == "trip" && transition.is_none() {
            let trip_id = data
                .trip_id
                .ok_or_else(|| ParseError::missing(join(&join(&path, "data"), "trip_id")))?;
            trips.push(TripUpdate {
                trip_id: trip_id.0,
                external_id: None,
                user_id: Some(user_id.clone()),
                status: value.clone(),
                created_at: None,
                updated_at: Some(e.recorded_at),
                started_at: None,
                route_session_type: None,
            });
            continue;
        }
        let event_type = match (transition, kind.as_str()) {
            (Some(t), _) => t.to_owned(),
            (None, "location") => "location.updated".to_owned(),
            (None, "device_status" | "battery") => continue,
            (None, other) => format!("hypertrack.{other}"),
        };
        let place = e
            .location
            .or_else(|| data.arrival.and_then(|p| p.location))
            .or_else(|| data.exit.and_then(|p| p.location));
        let Some(GeoPoint {
            coordinates:
                Position {
                    longitude,
                    latitude,
                },
        }) = place
        else {
            if transition.is_some() || kind == "location" {
                return Err(ParseError::missing(join(&path, "location")));
            }
            // Another kind without a place: the raw archive keeps it.
            continue;
        };
        events.push(LocationEvent {
            event_id: Some(event_id),
            user_id: user_id.clone(),
            event_type: Some(event_type),
            latitude: latitude.0,
            longitude: longitude.0,
            created_at: e.recorded_at,
            live,
            accuracy: None,
            geofence: transition.map(|_| GeofenceRef {
                id: id(data.geofence_id),
                ..GeofenceRef::default()
            }),
        });
    }
    Ok(LocationWebhook {
        shape: LocationShape::HyperTrack,
        events,
        trips,
        users,
    })
}
