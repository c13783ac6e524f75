//! 2. Platform style: `{"id", "_id", "type", "MMUserId", "created_at", "live": "TRUE",
//!    "location": {"type": "Point", "coordinates": {"longitude": "-120.23", "latitude": "36.92"}},
//!    "trip": {"_id", "externalId", ..., "metadata": {"route_session_type"}}}`.

use serde::Deserialize;

use super::{
    id, text, LocationEvent, LocationShape, LocationWebhook, PTripMetadata, RGeofence, TripUpdate,
    UserUpdate,
};
use crate::error::ParseError;
use crate::primitives::{Flag, Id, Latitude, Longitude, Text, Timestamp, UserId};

#[derive(Deserialize)]
pub(super) struct PPayload {
    pub(super) id: Option<Id>,
    #[serde(rename = "_id")]
    pub(super) underscore_id: Option<Id>,
    #[serde(rename = "MMUserId")]
    pub(super) user_id: UserId,
    pub(super) created_at: Timestamp,
    #[serde(rename = "type")]
    pub(super) event_type: Option<Text>,
    pub(super) live: Option<Flag>,
    pub(super) location: Option<PLocation>,
    pub(super) trip: Option<PTrip>,
    pub(super) geofence: Option<RGeofence>,
}

#[derive(Deserialize)]
pub(super) struct PLocation {
    pub(super) coordinates: PCoordinates,
}

#[derive(Deserialize)]
pub(super) struct PCoordinates {
    pub(super) longitude: Longitude,
    pub(super) latitude: Latitude,
}

#[derive(Deserialize)]
pub(super) struct PTrip {
    #[serde(rename = "_id")]
    pub(super) id: Id,
    #[serde(rename = "externalId")]
    pub(super) external_id: Option<Id>,
    #[serde(rename = "MMUserId")]
    pub(super) user_id: Option<Id>,
    pub(super) status: Option<Text>,
    #[serde(rename = "createdAt")]
    pub(super) created_at: Option<Timestamp>,
    #[serde(rename = "updatedAt")]
    pub(super) updated_at: Option<Timestamp>,
    #[serde(rename = "startedAt")]
    pub(super) started_at: Option<Timestamp>,
    pub(super) metadata: Option<PTripMetadata>,
}

pub(super) fn platform(p: PPayload) -> Result<LocationWebhook, ParseError> {
    let event_id = id(p.id.or(p.underscore_id));
    let live = p.live.map(|f| f.0);
    let user_id = p.user_id.0;
    let events = p
        .location
        .map(|l| LocationEvent {
            event_id: event_id.clone(),
            user_id: user_id.clone(),
            event_type: text(p.event_type.clone()),
            latitude: l.coordinates.latitude.0,
            longitude: l.coordinates.longitude.0,
            created_at: p.created_at,
            live,
            accuracy: None,
            geofence: p.geofence.map(RGeofence::into_ref),
        })
        .into_iter()
        .collect();
    let trips = p
        .trip
        .map(|t| TripUpdate {
            trip_id: t.id.0,
            external_id: id(t.external_id),
            user_id: id(t.user_id).or_else(|| Some(user_id.clone())),
            status: text(t.status),
            created_at: t.created_at,
            updated_at: t.updated_at,
            started_at: t.started_at,
            route_session_type: t.metadata.and_then(|m| text(m.route_session_type)),
        })
        .into_iter()
        .collect();
    let users = vec![UserUpdate {
        user_id,
        event_id,
        device_id: None,
        created_at: Some(p.created_at),
        live,
    }];
    Ok(LocationWebhook {
        shape: LocationShape::Platform,
        events,
        trips,
        users,
    })
}
