//! 1. Structured: `{"location": {...}, "trip": {...}, "user": {...}}` with snake_case fields.

use serde::Deserialize;

use super::{
    id, number, text, GeofenceRef, LocationEvent, LocationShape, LocationWebhook, TripUpdate,
    UserUpdate,
};
use crate::error::ParseError;
use crate::primitives::{Flag, Id, Latitude, Longitude, StoredNumber, Text, Timestamp, UserId};

#[derive(Deserialize)]
pub(super) struct SPayload {
    location: Option<SLocation>,
    trip: Option<STrip>,
    user: Option<SUser>,
}

#[derive(Deserialize)]
struct SLocation {
    user_id: UserId,
    latitude: Latitude,
    longitude: Longitude,
    created_at: Timestamp,
    event_type: Option<Text>,
    geofence_id: Option<Id>,
    geofence_tag: Option<Text>,
    accuracy: Option<StoredNumber>,
}

#[derive(Deserialize)]
struct STrip {
    trip_id: Id,
    external_id: Option<Id>,
    user_id: Option<Id>,
    status: Option<Text>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    started_at: Option<Timestamp>,
    route_session_type: Option<Text>,
}

#[derive(Deserialize)]
struct SUser {
    user_id: UserId,
    event_id: Option<Id>,
    created_at: Option<Timestamp>,
    live: Option<Flag>,
}

pub(super) fn structured(p: SPayload) -> Result<LocationWebhook, ParseError> {
    let event_id = p
        .user
        .as_ref()
        .and_then(|u| u.event_id.clone())
        .map(|i| i.0);
    let events = p
        .location
        .map(|l| {
            let geofence =
                (l.geofence_id.is_some() || l.geofence_tag.is_some()).then(|| GeofenceRef {
                    id: id(l.geofence_id),
                    tag: text(l.geofence_tag),
                    ..GeofenceRef::default()
                });
            LocationEvent {
                event_id: event_id.clone(),
                user_id: l.user_id.0,
                event_type: text(l.event_type),
                latitude: l.latitude.0,
                longitude: l.longitude.0,
                created_at: l.created_at,
                live: p.user.as_ref().and_then(|u| u.live).map(|f| f.0),
                accuracy: number(l.accuracy),
                geofence,
            }
        })
        .into_iter()
        .collect();
    let trips = p
        .trip
        .map(|t| TripUpdate {
            trip_id: t.trip_id.0,
            external_id: id(t.external_id),
            user_id: id(t.user_id),
            status: text(t.status),
            created_at: t.created_at,
            updated_at: t.updated_at,
            started_at: t.started_at,
            route_session_type: text(t.route_session_type),
        })
        .into_iter()
        .collect();
    let users = p
        .user
        .map(|u| UserUpdate {
            user_id: u.user_id.0,
            event_id: id(u.event_id),
            device_id: None,
            created_at: u.created_at,
            live: u.live.map(|f| f.0),
        })
        .into_iter()
        .collect();
    Ok(LocationWebhook {
        shape: LocationShape::Structured,
        events,
        trips,
        users,
    })
}
