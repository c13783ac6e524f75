//! Location, trip, user and geofence events, in the three shapes location platforms send.
//!
//! 1. Structured: `{"location": {...}, "trip": {...}, "user": {...}}` with snake_case fields.
//! 2. Platform style: `{"id", "_id", "type", "MMUserId", "created_at", "live": "TRUE",
//!    "location": {"type": "Point", "coordinates": {"longitude": "-120.23", "latitude": "36.92"}},
//!    "trip": {"_id", "externalId", ..., "metadata": {"route_session_type"}}}`.
//! 3. Radar style: `{"event": {...}, "user": {...}}` or `{"events": [...], "user": {...}}` with
//!    GeoJSON `coordinates: [longitude, latitude]`.
//!
//! Whatever the shape, the result is the same [`LocationWebhook`]: location events, trip updates
//! and user updates, with coordinates in range and timestamps parsed.

use serde::Deserialize;

use crate::error::{join, ParseError};
use crate::primitives::{
    from_body, object_keys, Coordinate, Flag, Id, Latitude, Longitude, StoredNumber, Text,
    Timestamp, UserId,
};

/// Which of the accepted shapes a body had (kept on every row for diagnosis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationShape {
    Structured,
    Platform,
    Radar,
}

impl LocationShape {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationShape::Structured => "structured",
            LocationShape::Platform => "platform",
            LocationShape::Radar => "radar",
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

/// Parses a location body. Its top-level keys decide the shape; the body is then deserialised
/// straight into that shape's types, so no generic JSON tree is built on the way.
pub(crate) fn parse(body: &[u8]) -> Result<LocationWebhook, ParseError> {
    let keys = object_keys(body)?;
    let has = |names: &[&str]| keys.iter().any(|k| names.contains(&k.as_ref()));
    if has(&["event", "events"]) {
        let present = if has(&["event"]) { "/event" } else { "/events" };
        radar(from_body(body)?, present)
    } else if has(&["MMUserId", "_id", "id", "type"]) {
        platform(from_body(body)?)
    } else if has(&["location", "trip", "user"]) {
        structured(from_body(body)?)
    } else {
        Err(ParseError::new(
            "",
            "unrecognised location payload: expected {location, trip, user}, a platform event \
             (MMUserId, type, location) or a Radar delivery ({event | events, user})",
        ))
    }
}

fn id(i: Option<Id>) -> Option<String> {
    i.map(|i| i.0)
}

fn text(t: Option<Text>) -> Option<String> {
    t.map(|t| t.0)
}

fn number(n: Option<StoredNumber>) -> Option<f64> {
    n.map(|n| n.0)
}

// ---- 1. structured ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct SPayload {
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

fn structured(p: SPayload) -> Result<LocationWebhook, ParseError> {
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

// ---- 2. platform style ---------------------------------------------------------------------

#[derive(Deserialize)]
struct PPayload {
    id: Option<Id>,
    #[serde(rename = "_id")]
    underscore_id: Option<Id>,
    #[serde(rename = "MMUserId")]
    user_id: UserId,
    created_at: Timestamp,
    #[serde(rename = "type")]
    event_type: Option<Text>,
    live: Option<Flag>,
    location: Option<PLocation>,
    trip: Option<PTrip>,
    geofence: Option<RGeofence>,
}

#[derive(Deserialize)]
struct PLocation {
    coordinates: PCoordinates,
}

#[derive(Deserialize)]
struct PCoordinates {
    longitude: Longitude,
    latitude: Latitude,
}

#[derive(Deserialize)]
struct PTrip {
    #[serde(rename = "_id")]
    id: Id,
    #[serde(rename = "externalId")]
    external_id: Option<Id>,
    #[serde(rename = "MMUserId")]
    user_id: Option<Id>,
    status: Option<Text>,
    #[serde(rename = "createdAt")]
    created_at: Option<Timestamp>,
    #[serde(rename = "updatedAt")]
    updated_at: Option<Timestamp>,
    #[serde(rename = "startedAt")]
    started_at: Option<Timestamp>,
    metadata: Option<PTripMetadata>,
}

#[derive(Deserialize, Clone)]
struct PTripMetadata {
    route_session_type: Option<Text>,
}

fn platform(p: PPayload) -> Result<LocationWebhook, ParseError> {
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

// ---- 3. Radar style ------------------------------------------------------------------------

#[derive(Deserialize)]
struct RPayload {
    event: Option<REvent>,
    events: Option<Vec<REvent>>,
    user: Option<RUser>,
}

#[derive(Deserialize)]
struct REvent {
    #[serde(rename = "_id")]
    id: Id,
    #[serde(rename = "createdAt")]
    created_at: Timestamp,
    #[serde(rename = "type")]
    event_type: Text,
    live: Option<Flag>,
    location: GeoPoint,
    #[serde(rename = "locationAccuracy")]
    accuracy: Option<StoredNumber>,
    user: Option<RUser>,
    geofence: Option<RGeofence>,
    trip: Option<RTrip>,
}

#[derive(Deserialize)]
struct GeoPoint {
    /// GeoJSON order: longitude first.
    coordinates: (Longitude, Latitude),
}

#[derive(Deserialize, Clone)]
struct RUser {
    #[serde(rename = "_id")]
    id: Option<UserId>,
    #[serde(rename = "userId")]
    user_id: Option<UserId>,
    #[serde(rename = "deviceId")]
    device_id: Option<Id>,
    live: Option<Flag>,
    trip: Option<RTrip>,
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

#[derive(Deserialize, Clone)]
struct RTrip {
    #[serde(rename = "_id")]
    id: Option<Id>,
    #[serde(rename = "externalId")]
    external_id: Option<Id>,
    status: Option<Text>,
    #[serde(rename = "createdAt")]
    created_at: Option<Timestamp>,
    #[serde(rename = "updatedAt")]
    updated_at: Option<Timestamp>,
    #[serde(rename = "startedAt")]
    started_at: Option<Timestamp>,
    metadata: Option<PTripMetadata>,
}

/// `present` is the pointer of the `event`/`events` key the body has (both may be null).
fn radar(p: RPayload, present: &str) -> Result<LocationWebhook, ParseError> {
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
        let (longitude, latitude) = e.location.coordinates;
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
        users.retain(|u| u.user_id != user_id);
        users.push(UserUpdate {
            user_id: user_id.clone(),
            event_id: Some(event_id.clone()),
            device_id: user.and_then(|u| u.device_id.clone()).map(|i| i.0),
            created_at: Some(e.created_at),
            live,
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_webhook, Source, Webhook};
    use serde_json::{json, Value};

    fn parse_json(v: Value) -> Result<LocationWebhook, ParseError> {
        match parse_webhook(Source::Location, v.to_string().as_bytes())? {
            Webhook::Location(l) => Ok(l),
            other => panic!("wrong variant {other:?}"),
        }
    }

    fn err(v: Value) -> ParseError {
        parse_json(v).unwrap_err()
    }

    fn structured_sample() -> Value {
        json!({
            "location": {"user_id": "u-1", "latitude": 36.92, "longitude": -120.23,
                         "created_at": "2024-05-01T12:00:00Z", "event_type": "location.updated"},
            "trip": {"trip_id": "t-1", "external_id": "ext-1", "user_id": "u-1",
                     "created_at": "2024-05-01T11:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
                     "started_at": "2024-05-01T11:05:00Z", "route_session_type": "delivery"},
            "user": {"user_id": "u-1", "event_id": "e-1", "created_at": "2024-05-01T12:00:00Z", "live": true}
        })
    }

    fn platform_sample() -> Value {
        json!({
            "id": "evt-9", "created_at": "2024-05-01T12:00:00.250Z", "live": "TRUE",
            "type": "user.updated_trip", "_id": "664f0000", "MMUserId": "mm-7",
            "location": {"type": "Point", "coordinates": {"longitude": "-120.23", "latitude": "36.92"}},
            "trip": {"_id": "trip-3", "externalId": "order-3", "createdAt": "2024-05-01T11:00:00Z",
                     "updatedAt": "2024-05-01T12:00:00Z", "MMUserId": "mm-7", "startedAt": "2024-05-01T11:01:00Z",
                     "metadata": {"route_session_type": "pickup"}}
        })
    }

    fn radar_sample() -> Value {
        json!({
            "event": {"_id": "5f0000000000000000000001", "createdAt": "2024-05-01T12:00:00.000Z",
                      "live": true, "type": "user.entered_geofence",
                      "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                      "locationAccuracy": 10, "confidence": 3,
                      "geofence": {"_id": "g-1", "tag": "store", "externalId": "store-42", "description": "Store 42"}},
            "user": {"_id": "r-1", "userId": "u-42", "deviceId": "d-1"}
        })
    }

    #[test]
    fn structured_shape() {
        let w = parse_json(structured_sample()).unwrap();
        assert_eq!(w.shape, LocationShape::Structured);
        let e = &w.events[0];
        assert_eq!(
            (e.user_id.as_str(), e.event_id.as_deref()),
            ("u-1", Some("e-1"))
        );
        assert_eq!((e.latitude.value(), e.longitude.value()), (36.92, -120.23));
        assert_eq!(e.created_at.canonical(), "2024-05-01T12:00:00.000Z");
        assert_eq!(w.trips[0].trip_id, "t-1");
        assert_eq!(w.trips[0].route_session_type.as_deref(), Some("delivery"));
        assert_eq!(w.users[0].live, Some(true));
        assert!(!e.is_geofence_event());
    }

    #[test]
    fn structured_parts_are_each_optional() {
        let w = parse_json(json!({"trip": {"trip_id": 17}})).unwrap();
        assert_eq!((w.events.len(), w.trips.len(), w.users.len()), (0, 1, 0));
        assert_eq!(w.trips[0].trip_id, "17");
    }

    #[test]
    fn platform_shape_with_string_coordinates_and_string_live() {
        let w = parse_json(platform_sample()).unwrap();
        assert_eq!(w.shape, LocationShape::Platform);
        let e = &w.events[0];
        assert_eq!(e.event_id.as_deref(), Some("evt-9"));
        assert_eq!(e.user_id, "mm-7");
        assert_eq!((e.latitude.value(), e.longitude.value()), (36.92, -120.23));
        assert_eq!(e.live, Some(true));
        assert_eq!(e.event_type.as_deref(), Some("user.updated_trip"));
        let t = &w.trips[0];
        assert_eq!(
            (t.trip_id.as_str(), t.external_id.as_deref()),
            ("trip-3", Some("order-3"))
        );
        assert_eq!(t.route_session_type.as_deref(), Some("pickup"));
        assert_eq!(w.users[0].user_id, "mm-7");
    }

    #[test]
    fn radar_single_event_is_a_geofence_entry() {
        let w = parse_json(radar_sample()).unwrap();
        assert_eq!(w.shape, LocationShape::Radar);
        let e = &w.events[0];
        assert_eq!(e.user_id, "u-42", "userId wins over Radar's _id");
        assert_eq!(
            (e.longitude.value(), e.latitude.value()),
            (-73.9857, 40.7484)
        );
        assert!(e.is_geofence_event());
        let g = e.geofence.as_ref().unwrap();
        assert_eq!(
            (g.id.as_deref(), g.tag.as_deref()),
            (Some("g-1"), Some("store"))
        );
        assert_eq!(w.users[0].device_id.as_deref(), Some("d-1"));
    }

    #[test]
    fn radar_events_array_and_trip_from_user() {
        let w = parse_json(json!({
            "events": [
                {"_id": "a", "createdAt": "2024-05-01T12:00:00Z", "type": "user.exited_geofence",
                 "location": {"type": "Point", "coordinates": [2.35, 48.85]}},
                {"_id": "b", "createdAt": "2024-05-01T12:01:00Z", "type": "user.dwelled_in_geofence",
                 "location": {"type": "Point", "coordinates": ["2.36", "48.86"]}}
            ],
            "user": {"_id": "radar-only", "trip": {"externalId": "trip-x", "status": "started"}}
        }))
        .unwrap();
        assert_eq!(w.events.len(), 2);
        assert!(w
            .events
            .iter()
            .all(|e| e.user_id == "radar-only" && e.is_geofence_event()));
        assert_eq!(w.users.len(), 1, "one user row per user, not per event");
        assert_eq!(w.users[0].event_id.as_deref(), Some("b"));
        assert_eq!(w.trips[0].trip_id, "trip-x");
    }

    #[test]
    fn coordinates_out_of_range_name_the_coordinate() {
        let mut s = structured_sample();
        s["location"]["latitude"] = json!(91);
        let e = err(s);
        assert_eq!(e.path, "/location/latitude");
        assert!(e.message.contains("within [-90, 90]"), "{}", e.message);

        let mut p = platform_sample();
        p["location"]["coordinates"]["longitude"] = json!("-180.5");
        assert_eq!(err(p).path, "/location/coordinates/longitude");

        let mut r = radar_sample();
        r["event"]["location"]["coordinates"] = json!([-73.9, 95.0]);
        assert_eq!(err(r).path, "/event/location/coordinates/1");
        let mut r = radar_sample();
        r["event"]["location"]["coordinates"] = json!([200.0, 45.0]);
        assert_eq!(err(r).path, "/event/location/coordinates/0");
    }

    #[test]
    fn bad_timestamps_name_the_timestamp() {
        let mut s = structured_sample();
        s["trip"]["started_at"] = json!("01/05/2024");
        let e = err(s);
        assert_eq!(e.path, "/trip/started_at");
        assert!(e.message.contains("RFC 3339"));

        let mut p = platform_sample();
        p["created_at"] = json!(1714564800);
        assert_eq!(err(p).path, "/created_at");

        let mut r = radar_sample();
        r["event"]["createdAt"] = json!("2024-13-01T00:00:00Z");
        assert_eq!(err(r).path, "/event/createdAt");
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let mut s = structured_sample();
        s["location"].as_object_mut().unwrap().remove("user_id");
        assert_eq!(err(s).path, "/location/user_id");
        let mut s = structured_sample();
        s["user"]["live"] = json!(3);
        assert_eq!(err(s).path, "/user/live");
        let mut s = structured_sample();
        s["location"]["longitude"] = json!({"x": 1});
        assert_eq!(err(s).path, "/location/longitude");

        let mut p = platform_sample();
        p.as_object_mut().unwrap().remove("MMUserId");
        assert_eq!(err(p).path, "/MMUserId");
        let mut p = platform_sample();
        p["live"] = json!("maybe");
        assert_eq!(err(p).path, "/live");
        let mut p = platform_sample();
        p["trip"].as_object_mut().unwrap().remove("_id");
        assert_eq!(err(p).path, "/trip/_id");

        let mut r = radar_sample();
        r["event"]["location"]["coordinates"] = json!([1.0]);
        assert_eq!(err(r).path, "/event/location/coordinates");
        let mut r = radar_sample();
        r.as_object_mut().unwrap().remove("user");
        assert_eq!(err(r).path, "/user");
        let mut r = radar_sample();
        r["user"] = json!({"deviceId": "d"});
        assert_eq!(err(r).path, "/user/userId");
        let r = json!({"events": [radar_sample()["event"].clone(), {"_id": "x", "type": "user.entered_place",
            "createdAt": "2024-05-01T12:00:00Z"}], "user": {"userId": "u"}});
        assert_eq!(err(r).path, "/events/1/location");
        assert_eq!(
            err(json!({"events": [], "user": {"userId": "u"}})).path,
            "/events"
        );
        assert_eq!(err(json!({"event": radar_sample()["event"].clone(), "events": [], "user": {"userId": "u"}})).path, "/events");
    }

    #[test]
    fn a_null_event_is_refused_at_its_field_not_a_panic() {
        let user = json!({"userId": "u"});
        assert_eq!(err(json!({"event": null, "user": user})).path, "/event");
        assert_eq!(err(json!({"events": null, "user": user})).path, "/events");
        let e = err(json!({"event": null, "events": null}));
        assert_eq!(e.path, "/event");
        assert!(e.message.contains("got null"), "{}", e.message);
    }

    #[test]
    fn a_repeated_key_is_refused_naming_it() {
        let event = radar_sample()["event"].to_string();
        let body = format!(r#"{{"event": {event}, "event": {event}, "user": {{"userId": "u"}}}}"#);
        let e = parse_webhook(Source::Location, body.as_bytes()).unwrap_err();
        assert!(e.message.contains("duplicate field `event`"), "{e}");
    }

    #[test]
    fn unrecognised_bodies_are_refused_at_the_root() {
        let e = err(json!({"hello": "world"}));
        assert_eq!(e.path, "");
        assert!(e.message.contains("unrecognised location payload"));
    }
}
