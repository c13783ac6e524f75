//! 3. Radar style: `{"event": {...}, "user": {...}}` or `{"events": [...], "user": {...}}` with
//!    GeoJSON `coordinates: [longitude, latitude]`.

use serde::Deserialize;

use super::geojson::{GeoPoint, Position};
use super::roam::Namespaced;
use super::{
    id, keep_newest_user, number, text, LocationEvent, LocationShape, LocationWebhook,
    PTripMetadata, RGeofence, TripUpdate, UserUpdate,
};
use crate::error::{join, ParseError};
use crate::primitives::{Flag, Id, StoredNumber, Text, Timestamp, UserId};

#[derive(Deserialize)]
pub(super) struct RPayload {
    pub(super) event: Option<REvent>,
    pub(super) events: Option<Vec<REvent>>,
    pub(super) user: Option<RUser>,
}

#[derive(Deserialize)]
pub(super) struct REvent {
    #[serde(rename = "_id")]
    pub(super) id: Id,
    #[serde(rename = "createdAt")]
    pub(super) created_at: Timestamp,
    #[serde(rename = "type")]
    pub(super) event_type: Text,
    pub(super) live: Option<Flag>,
    pub(super) location: GeoPoint,
    #[serde(rename = "locationAccuracy")]
    pub(super) accuracy: Option<StoredNumber>,
    pub(super) user: Option<RUser>,
    pub(super) geofence: Option<RGeofence>,
    pub(super) trip: Option<RTrip>,
    /// Roam's marks (`event_type`/`event_source` in its namespaces), which make an `events`
    /// array Roam's rather than Radar's.
    #[serde(default, rename = "event_type")]
    pub(super) roam_type: Namespaced,
    #[serde(default, rename = "event_source")]
    pub(super) roam_source: Namespaced,
}

impl REvent {
    pub(super) fn is_roam(&self) -> bool {
        self.roam_type.0 || self.roam_source.0
    }
}

#[derive(Deserialize, Clone)]
pub(super) struct RUser {
    #[serde(rename = "_id")]
    pub(super) id: Option<UserId>,
    #[serde(rename = "userId")]
    pub(super) user_id: Option<UserId>,
    #[serde(rename = "deviceId")]
    pub(super) device_id: Option<Id>,
    pub(super) live: Option<Flag>,
    pub(super) trip: Option<RTrip>,
}

impl RUser {
    /// The customer's own `userId` where set, else Radar's `_id`.
    fn key(&self) -> Option<String> {
        self.user_id
            .clone()
            .or_else(|| self.id.clone())
            .map(|i| i.0)
    }
}

#[derive(Deserialize, Clone)]
pub(super) struct RTrip {
    #[serde(rename = "_id")]
    pub(super) id: Option<Id>,
    #[serde(rename = "externalId")]
    pub(super) external_id: Option<Id>,
    pub(super) status: Option<Text>,
    #[serde(rename = "createdAt")]
    pub(super) created_at: Option<Timestamp>,
    #[serde(rename = "updatedAt")]
    pub(super) updated_at: Option<Timestamp>,
    #[serde(rename = "startedAt")]
    pub(super) started_at: Option<Timestamp>,
    pub(super) metadata: Option<PTripMetadata>,
}

/// `present` is the pointer of the `event`/`events` key the body has (both may be null).
pub(super) fn radar(p: RPayload, present: &str) -> Result<LocationWebhook, ParseError> {
    let (base, raw_events) = match (p.event, p.events) {
        (Some(_), Some(_)) => {
            return Err(ParseError::new(
                "/events",
                "send either `event` or `events`, not both",
            ))
        }
        (Some(e), None) => ("/event".to_owned(), vec![e]),
        (None, Some(es)) if es.is_empty() => {
            return Err(ParseError::new("/events", "must hold at least one event"))
        }
        (None, Some(es)) => ("/events".to_owned(), es),
        (None, None) => return Err(ParseError::new(
            present,
            "expected an event object (`event`) or a non-empty array of them (`events`), got null",
        )),
    };
    let single = base == "/event";

    let mut events = Vec::with_capacity(raw_events.len());
    let mut trips = Vec::new();
    let mut users: Vec<UserUpdate> = Vec::new();
    for (i, e) in raw_events.into_iter().enumerate() {
        let event_path = if single { base.clone() } else { join(&base, i) };
        // The event's own user, else the delivery's: errors name the one that was read.
        let (user, user_path) = match (&e.user, &p.user) {
            (Some(u), _) => (Some(u), join(&event_path, "user")),
            (None, Some(u)) => (Some(u), join("", "user")),
            (None, None) => (None, join("", "user")),
        };
        let user_id = user.and_then(RUser::key).ok_or_else(|| {
            ParseError::new(
                if user.is_some() {
                    join(&user_path, "userId")
                } else {
                    user_path.clone()
                },
                "missing required field: the user needs a userId or an _id",
            )
        })?;
        let event_id = e.id.0;
        let Position {
            longitude,
            latitude,
        } = e.location.coordinates;
        let trip = match (&e.trip, user.and_then(|u| u.trip.as_ref())) {
            (Some(t), _) => Some((t.clone(), join(&event_path, "trip"))),
            (None, Some(t)) => Some((t.clone(), join(&user_path, "trip"))),
            (None, None) => None,
        };
        if let Some((t, trip_path)) = trip {
            let trip_id =
                t.id.clone()
                    .or_else(|| t.external_id.clone())
                    .ok_or_else(|| {
                        ParseError::new(
                            join(&trip_path, "_id"),
                            "missing required field: a trip needs an _id or an externalId",
                        )
                    })?;
            trips.push(TripUpdate {
                trip_id: trip_id.0,
                external_id: id(t.external_id),
                user_id: Some(user_id.clone()),
                status: text(t.status),
                created_at: t.created_at,
                updated_at: t.updated_at,
                started_at: t.started_at,
                route_session_type: t.metadata.and_then(|m| text(m.route_session_type)),
            });
        }
        let live = e.live.or(user.and_then(|u| u.live)).map(|f| f.0);
        keep_newest_user(
            &mut users,
            UserUpdate {
                user_id: user_id.clone(),
                event_id: Some(event_id.clone()),
                device_id: user.and_then(|u| u.device_id.clone()).map(|i| i.0),
                created_at: Some(e.created_at),
                live,
            },
        );
        events.push(LocationEvent {
            event_id: Some(event_id),
            user_id,
            event_type: Some(e.event_type.0),
            latitude: latitude.0,
            longitude: longitude.0,
            created_at: e.created_at,
            live,
            accuracy: number(e.accuracy),
            geofence: e.geofence.map(RGeofence::into_ref),
        });
    }
    Ok(LocationWebhook {
        shape: LocationShape::Radar,
        events,
        trips,
        users,
    })
}
