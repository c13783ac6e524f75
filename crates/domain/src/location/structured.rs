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
    pub(super) location: Option<SLocation>,
    pub(super) trip: Option<STrip>,
    pub(super) user: Option<SUser>,
}

#[derive(Deserialize)]
pub(super) struct SLocation {
    pub(super) user_id: UserId,
    pub(super) latitude: Latitude,
    pub(super) longitude: Longitude,
    pub(super) created_at: Timestamp,
    pub(super) event_type: Option<Text>,
    pub(super) geofence_id: Option<Id>,
    pub(super) geofence_tag: Option<Text>,
    pub(super) accuracy: Option<StoredNumber>,
}

#[derive(Deserialize)]
pub(super) struct STrip {
    pub(super) trip_id: Id,
    pub(super) external_id: Option<Id>,
    pub(super) user_id: Option<Id>,
    pub(super) status: Option<Text>,
    pub(super) created_at: Option<Timestamp>,
    pub(super) updated_at: Option<Timestamp>,
    pub(super) started_at: Option<Timestamp>,
    pub(super) route_session_type: Option<Text>,
}

#[derive(Deserialize)]
pub(super) struct SUser {
    pub(super) user_id: UserId,
    pub(super) event_id: Option<Id>,
    pub(super) created_at: Option<Timestamp>,
    pub(super) live: Option<Flag>,
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
