//! 6. Foursquare Movement SDK (formerly Pilgrim): one JSON object per arrival, departure or
//!    geofence event, posted with the `Pilgrim-Secret` header. Its fields are the documented
//!    ones: a visit `{"pilgrimVisitId" | "visitId", "visitType": "arrival" | "departure" |
//!    "historical", "lat", "lng", "timestamp", "venues": [{"id", "name"}], ...}`; a geofence
//!    event `{"eventId", "eventType": "geofenceEnter" | "geofenceDwell" | "geofencePresence" |
//!    "geofenceExit", "geofenceId", "geofenceName", "lat", "lng", "timestamp", ...}`. `timestamp`
//!    is epoch milliseconds (or RFC 3339). The user is `userId` (set through the SDK's
//!    `userInfo`, at the top or inside `userInfo`), else the SDK's `installId`.
//!
//! - `geofenceEnter`/`geofenceExit`/`geofenceDwell` are transitions (`user.entered_geofence`,
//!   `user.exited_geofence`, `user.dwelled_in_geofence`, the fence `geofenceId`);
//! - visits are points `visit.arrival`, `visit.departure` or `visit.historical`, their id
//!   `<visit id>:<visitType>` (an arrival and its departure share the visit id);
//! - `geofencePresence` is a point `geofence.presence`.

use serde::Deserialize;

use super::{id, made_id, text, GeofenceRef, LocationEvent, LocationShape};
use super::{LocationWebhook, UserUpdate};
use crate::error::ParseError;
use crate::primitives::{Id, Latitude, Longitude, Text, UserId};
use crate::timestamp::EpochMillisOrRfc3339;

/// The documented visit types.
const VISIT_TYPES: [&str; 3] = ["arrival", "departure", "historical"];

/// Epoch milliseconds below this (1973-03-03) are refused: it is what a time in epoch seconds
/// looks like, which would otherwise land silently in January 1970.
const MIN_EPOCH_MILLIS: i64 = 100_000_000_000;

#[derive(Deserialize)]
pub(super) struct FPayload {
    #[serde(rename = "pilgrimVisitId")]
    pilgrim_visit_id: Option<Id>,
    #[serde(rename = "visitId")]
    visit_id: Option<Id>,
    #[serde(rename = "visitType")]
    visit_type: Option<Text>,
    #[serde(rename = "eventId")]
    event_id: Option<Id>,
    #[serde(rename = "eventType")]
    event_type: Option<Text>,
    #[serde(rename = "geofenceId")]
    geofence_id: Option<Id>,
    #[serde(rename = "geofenceName")]
    geofence_name: Option<Text>,
    lat: Latitude,
    lng: Longitude,
    timestamp: EpochMillisOrRfc3339,
    #[serde(rename = "userId")]
    user_id: Option<UserId>,
    #[serde(rename = "userInfo")]
    user_info: Option<FUserInfo>,
    #[serde(rename = "installId")]
    install_id: Option<UserId>,
}

#[derive(Deserialize)]
struct FUserInfo {
    #[serde(rename = "userId")]
    user_id: Option<UserId>,
}

pub(super) fn foursquare(p: FPayload) -> Result<LocationWebhook, ParseError> {
    let user_id = p
        .user_id
        .or_else(|| p.user_info.and_then(|u| u.user_id))
        .or(p.install_id)
        .ok_or_else(|| {
            ParseError::new(
                "/userId",
                "missing required field: a Foursquare event needs a userId (the SDK's userInfo) \
                 or an installId",
            )
        })?
        .0;
    let created_at = p.timestamp.0;
    if created_at.as_offset_date_time().unix_timestamp() * 1000 < MIN_EPOCH_MILLIS {
        return Err(ParseError::new(
            "/timestamp",
            "expected epoch milliseconds (or RFC 3339) after 1973-03-03; this looks like seconds",
        ));
    }
    let (event_type, event_id, transition) =
        match (text(p.visit_type), text(p.event_type)) {
            (Some(visit), _) => {
                let visit_id = id(p.pilgrim_visit_id.or(p.visit_id))
                    .ok_or_else(|| ParseError::missing("/pilgrimVisitId"))?;
                let visit = visit.to_ascii_lowercase();
                if !VISIT_TYPES.contains(&visit.as_str()) {
                    return Err(ParseError::new(
                        "/visitType",
                        "expected arrival, departure or historical",
                    ));
                }
                (
                    format!("visit.{visit}"),
                    made_id(&[&visit_id, &visit]),
                    false,
                )
            }
            (None, Some(kind)) => {
                let (event_type, transition) = match kind.as_str() {
                    "geofenceEnter" => ("user.entered_geofence".to_owned(), true),
                    "geofenceExit" => ("user.exited_geofence".to_owned(), true),
                    "geofenceDwell" => ("user.dwelled_in_geofence".to_owned(), true),
                    "geofencePresence" => ("geofence.presence".to_owned(), false),
                    _ => return Err(ParseError::new(
                        "/eventType",
                        "expected geofenceEnter, geofenceDwell, geofencePresence or geofenceExit",
                    )),
                };
                let fence = id(p.geofence_id.clone()).unwrap_or_default();
                let event_id = id(p.event_id).unwrap_or_else(|| {
                    made_id(&[&user_id, &kind, &fence, &created_at.canonical()])
                });
                (event_type, event_id, transition)
            }
            (None, None) => return Err(ParseError::new(
                "/visitType",
                "missing required field: a Foursquare event is a visit (visitType) or a geofence \
                 event (eventType)",
            )),
        };
    // One event, so one user update.
    let users = vec![UserUpdate {
        user_id: user_id.clone(),
        event_id: Some(event_id.clone()),
        device_id: None,
        created_at: Some(created_at),
        live: None,
    }];
    let geofence = (transition || p.geofence_id.is_some()).then(|| GeofenceRef {
        id: id(p.geofence_id),
        description: text(p.geofence_name),
        ..GeofenceRef::default()
    });
    Ok(LocationWebhook {
        shape: LocationShape::Foursquare,
        events: vec![LocationEvent {
            event_id: Some(event_id),
            user_id,
            event_type: Some(event_type),
            latitude: p.lat.0,
            longitude: p.lng.0,
            created_at,
            live: None,
            accuracy: None,
            geofence,
        }],
        trips: Vec::new(),
        users,
    })
}
