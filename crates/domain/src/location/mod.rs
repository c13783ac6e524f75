//! Location, trip, user and geofence events, in the three shapes location platforms send.
//!
//! 1. Structured: `{"location": {...}, "trip": {...}, "user": {...}}` with snake_case fields.
//! 2. Platform style: `{"id", "_id", "type", "MMUserId", "created_at", "live": "TRUE",
//!    "location": {"type": "Point", "coordinates": {"longitude": "-120.23", "latitude": "36.92"}},
//!    "trip": {"_id", "externalId", ..., "metadata": {"route_session_type"}}}`.
//! 3. Radar style: `{"event": {...}, "user": {...}}` or `{"events": [...], "user": {...}}` with
//!    GeoJSON `coordinates: [longitude, latitude]`.
//! 4. HyperTrack: a JSON array of device, trip, geofence and location events.
//! 5. Roam.ai: `{"events": [...]}` or one event, types namespaced `geospark:`/`roam:`.
//! 6. Foursquare Movement SDK: one arrival, departure or geofence event (`pilgrimVisitId`,
//!    `visitType`, `eventType`, `geofenceId`, `installId`).
//!
//! Whatever the shape, the result is the same [`LocationWebhook`]: location events, trip updates
//! and user updates, with coordinates in range and timestamps parsed.
//!
//! One module a shape (`structured`, `platform`, `radar`, `hypertrack`, `roam`, `foursquare`), each with its serde types and the
//! conversion to [`LocationWebhook`]; this module holds the shared result types, the choice of
//! shape and the pieces two shapes share.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ParseError;
use crate::limits::MAX_ID_BYTES;
use crate::primitives::{from_body, object_keys, Coordinate, Id, StoredNumber, Text, Timestamp};
use foursquare::foursquare;
use platform::platform;
use radar::radar;
use roam::{roam, Marks, Probe, RoamDelivery, RoamEvent};
use structured::structured;

mod bounded;
mod foursquare;
mod geojson;
mod hypertrack;
mod platform;
#[cfg(test)]
mod platforms_tests;
mod radar;
mod read;
#[cfg(test)]
mod read_tests;
mod roam;
mod structured;
#[cfg(test)]
mod tests;

/// Which of the accepted shapes a body had (kept on every row for diagnosis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationShape {
    Structured,
    Platform,
    Radar,
    HyperTrack,
    Roam,
    Foursquare,
}

impl LocationShape {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationShape::Structured => "structured",
            LocationShape::Platform => "platform",
            LocationShape::Radar => "radar",
            LocationShape::HyperTrack => "hypertrack",
            LocationShape::Roam => "roam",
            LocationShape::Foursquare => "foursquare",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeofenceRef {
    pub id: Option<String>,
    pub tag: Option<String>,
    pub external_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocationEvent {
    /// The sender's id for the event, when it sends one (Radar `_id`, platform `id`/`_id`,
    /// structured `user.event_id`).
    pub event_id: Option<String>,
    pub user_id: String,
    pub event_type: Option<String>,
    pub latitude: Coordinate,
    pub longitude: Coordinate,
    pub created_at: Timestamp,
    pub live: Option<bool>,
    pub accuracy: Option<f64>,
    pub geofence: Option<GeofenceRef>,
}

/// The geofence transitions that are streamed to Kinesis.
pub const GEOFENCE_EVENT_TYPES: [&str; 3] = [
    "user.entered_geofence",
    "user.exited_geofence",
    "user.dwelled_in_geofence",
];

impl LocationEvent {
    pub fn is_geofence_event(&self) -> bool {
        self.event_type
            .as_deref()
            .is_some_and(|t| GEOFENCE_EVENT_TYPES.contains(&t))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TripUpdate {
    pub trip_id: String,
    pub external_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub route_session_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserUpdate {
    pub user_id: String,
    pub event_id: Option<String>,
    pub device_id: Option<String>,
    pub created_at: Option<Timestamp>,
    pub live: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocationWebhook {
    pub shape: LocationShape,
    pub events: Vec<LocationEvent>,
    pub trips: Vec<TripUpdate>,
    pub users: Vec<UserUpdate>,
}

/// Parses a location body. Its top-level keys decide the shape; the body is deserialised
/// straight into that shape's types, so no generic JSON tree is built on the way. One read
/// ([`read`]) serves a body that is valid; a body it refuses is read again in two passes, for
/// the refusal's words and field path.
pub(crate) fn parse(body: &[u8]) -> Result<LocationWebhook, ParseError> {
    // An array is HyperTrack's; any other body is an object, whose keys decide.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return hypertrack::read(body);
    }
    read::read(body).unwrap_or_else(|| parse_in_two_passes(body))
}

/// The keys first ([`object_keys`], which checks the whole body), then the shape's typed read.
fn parse_in_two_passes(body: &[u8]) -> Result<LocationWebhook, ParseError> {
    let keys = object_keys(body)?;
    let has = |names: &[&str]| keys.iter().any(|k| names.contains(&k.as_ref()));
    if has(&["events"]) && !has(&["event"]) && from_body::<Probe>(body).is_ok_and(|p| p.is_roam()) {
        roam(from_body::<RoamDelivery>(body)?.events, false)
    } else if has(&["event", "events"]) {
        let present = if has(&["event"]) { "/event" } else { "/events" };
        radar(from_body(body)?, present)
    } else if has(&["visitType", "eventType"])
        && ["lat", "lng", "timestamp"].iter().all(|k| has(&[k]))
    {
        foursquare(from_body(body)?)
    } else if has(&["event_type", "event_source"])
        && from_body::<Marks>(body).is_ok_and(|m| m.is_roam())
    {
        roam(vec![from_body::<RoamEvent>(body)?], true)
    } else if has(&["MMUserId", "_id", "id", "type"]) {
        platform(from_body(body)?)
    } else if has(&["location", "trip", "user"]) {
        structured(from_body(body)?)
    } else {
        Err(ParseError::new(
            "",
            "unrecognised location payload: expected {location, trip, user}, a platform event \
             (MMUserId, type, location), a Radar delivery ({event | events, user}), a HyperTrack \
             array, a Roam.ai event (an event_type or event_source namespaced geospark: or \
             roam:) or a Foursquare event (visitType or eventType, with lat, lng, timestamp)",
        ))
    }
}

/// Adds `u` to a delivery's user updates, one per user: its newest event's (of equal times, the
/// later one), the one its `PROFILE` row keeps.
fn keep_newest_user(users: &mut Vec<UserUpdate>, u: UserUpdate) {
    if !users
        .iter()
        .any(|o| o.user_id == u.user_id && o.created_at > u.created_at)
    {
        users.retain(|o| o.user_id != u.user_id);
        users.push(u);
    }
}

/// The id of an event its sender gave none, made from the `parts` that identify it, so every
/// retry gets the same one: `<part>:<part>:…` when that is a valid id (no `:` inside a part but
/// the last, no control character, at most [`MAX_ID_BYTES`] long, not starting `sha256:`), else
/// `sha256:<hex>` over the parts, each prefixed with its length. One-to-one for a given number of
/// parts: the readable form splits back at its first colons, and never looks like a hash.
fn made_id(parts: &[&str]) -> String {
    let head = &parts[..parts.len().saturating_sub(1)];
    let plain = head.iter().all(|p| !p.contains(':'))
        && !parts.iter().any(|p| p.chars().any(char::is_control));
    let joined = parts.join(":");
    if plain && joined.len() <= MAX_ID_BYTES && !joined.starts_with(HASHED_ID) {
        return joined;
    }
    let mut hash = Sha256::new();
    for p in parts {
        hash.update((p.len() as u64).to_be_bytes());
        hash.update(p.as_bytes());
    }
    format!("{HASHED_ID}{}", hex::encode(hash.finalize()))
}

/// How a hashed [`made_id`] starts.
const HASHED_ID: &str = "sha256:";

fn id(i: Option<Id>) -> Option<String> {
    i.map(|i| i.0)
}

fn text(t: Option<Text>) -> Option<String> {
    t.map(|t| t.0)
}

fn number(n: Option<StoredNumber>) -> Option<f64> {
    n.map(|n| n.0)
}

// ---- shared by the platform and Radar shapes ----------------------------------------------

#[derive(Deserialize, Clone)]
struct PTripMetadata {
    route_session_type: Option<Text>,
}

#[derive(Deserialize)]
struct RGeofence {
    #[serde(rename = "_id")]
    id: Option<Id>,
    tag: Option<Text>,
    #[serde(rename = "externalId")]
    external_id: Option<Id>,
    description: Option<Text>,
}

impl RGeofence {
    fn into_ref(self) -> GeofenceRef {
        GeofenceRef {
            id: id(self.id),
            tag: text(self.tag),
            external_id: id(self.external_id),
            description: text(self.description),
        }
    }
}
