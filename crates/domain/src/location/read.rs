//! One read of a location body. The shape is decided by which top-level keys the body has, and
//! the keys can come in any order, so the body is read into one type holding every shape's
//! top-level fields ([`Top`]; where two shapes share a key, one type holding both shapes'
//! fields), then the shape is picked as [`super::parse`] always picked it, and the fields are
//! moved into that shape's payload.
//!
//! The read is stricter than any one shape's read (it checks every shape's fields, and refuses
//! what a shape might ignore: a repeated key, a bad value under another shape's key); what it
//! refuses is read again by the two-pass path, which names the field at fault. What it accepts
//! gives the payload the shape's own read gives, and the body is checked for nesting depth on
//! the way ([`Bounded`]).

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

use super::bounded::Bounded;
use super::platform::{platform, PCoordinates, PLocation, PPayload, PTrip};
use super::radar::{radar, REvent, RPayload, RTrip, RUser};
use super::roam::Namespaced;
use super::structured::{structured, SLocation, SPayload, STrip, SUser};
use super::{LocationWebhook, PTripMetadata, RGeofence};
use crate::error::ParseError;
use crate::primitives::{Flag, Id, Latitude, Longitude, StoredNumber, Text, Timestamp, UserId};

/// Reads `body` once into the webhook (or the refusal its shape gives); `None` when the
/// two-pass path must read it.
pub(super) fn read(body: &[u8]) -> Option<Result<LocationWebhook, ParseError>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let MapOnly(top) = MapOnly::<Top>::deserialize(Bounded {
        de: &mut de,
        level: 1,
    })
    .ok()?;
    de.end().ok()?;
    top.payload()
}

/// `T` read from a JSON object only (serde's derived structs also take an array of fields in
/// order, which would put the fields of a merged type in the wrong places).
pub(super) struct MapOnly<T>(pub(super) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = MapOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<MapOnly<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(m)).map(MapOnly)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A top-level field: whether its key was there (null or not), and its value.
struct Seen<T> {
    present: bool,
    value: Option<T>,
}

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen {
            present: false,
            value: None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Seen<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Seen {
            present: true,
            value: Option::deserialize(d)?,
        })
    }
}

/// Every shape's top-level fields.
#[derive(Deserialize)]
struct Top {
    #[serde(default)]
    event: Seen<REvent>,
    #[serde(default)]
    events: Seen<Vec<REvent>>,
    #[serde(default)]
    user: Seen<MapOnly<User>>,
    #[serde(default)]
    location: Seen<MapOnly<Location>>,
    #[serde(default)]
    trip: Seen<MapOnly<Trip>>,
    #[serde(default)]
    id: Seen<Id>,
    #[serde(default, rename = "_id")]
    underscore_id: Seen<Id>,
    #[serde(default, rename = "MMUserId")]
    mm_user_id: Seen<UserId>,
    #[serde(default)]
    created_at: Seen<Timestamp>,
    #[serde(default, rename = "type")]
    event_type: Seen<Text>,
    #[serde(default)]
    live: Seen<Flag>,
    #[serde(default)]
    geofence: Seen<RGeofence>,
    /// Marks of the Roam.ai and Foursquare shapes, whose bodies the two-pass path reads: a
    /// namespaced `event_type`/`event_source` (Roam.ai), `visitType`/`eventType` (Foursquare).
    #[serde(default, rename = "event_type")]
    roam_type: Seen<Namespaced>,
    #[serde(default, rename = "event_source")]
    roam_source: Seen<Namespaced>,
    #[serde(default, rename = "visitType")]
    visit_type: Seen<IgnoredAny>,
    #[serde(default, rename = "eventType")]
    foursquare_type: Seen<IgnoredAny>,
}

/// `user`: a Radar user's fields and a structured user's.
#[derive(Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: Option<UserId>,
    #[serde(rename = "userId")]
    radar_user_id: Option<UserId>,
    #[serde(rename = "deviceId")]
    device_id: Option<Id>,
    live: Option<Flag>,
    trip: Option<RTrip>,
    user_id: Option<UserId>,
    event_id: Option<Id>,
    created_at: Option<Timestamp>,
}

/// `location`: a platform location's fields and a structured one's.
#[derive(Deserialize)]
struct Location {
    coordinates: Option<PCoordinates>,
    user_id: Option<UserId>,
    latitude: Option<Latitude>,
    longitude: Option<Longitude>,
    created_at: Option<Timestamp>,
    event_type: Option<Text>,
    geofence_id: Option<Id>,
    geofence_tag: Option<Text>,
    accuracy: Option<StoredNumber>,
}

/// `trip`: a platform trip's fields and a structured one's.
#[derive(Deserialize)]
struct Trip {
    #[serde(rename = "_id")]
    id: Option<Id>,
    #[serde(rename = "externalId")]
    platform_external_id: Option<Id>,
    #[serde(rename = "MMUserId")]
    mm_user_id: Option<Id>,
    status: Option<Text>,
    #[serde(rename = "createdAt")]
    platform_created_at: Option<Timestamp>,
    #[serde(rename = "updatedAt")]
    platform_updated_at: Option<Timestamp>,
    #[serde(rename = "startedAt")]
    platform_started_at: Option<Timestamp>,
    metadata: Option<PTripMetadata>,
    trip_id: Option<Id>,
    external_id: Option<Id>,
    user_id: Option<Id>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    started_at: Option<Timestamp>,
    route_session_type: Option<Text>,
}

/// `Some` only where every required field of the shape is there (else the two-pass path reads
/// the body, and names the missing field).
fn required<T>(v: Option<T>) -> Result<T, ()> {
    v.ok_or(())
}

impl Top {
    /// The webhook of the shape the keys decide, with [`super::parse`]'s precedence.
    fn payload(self) -> Option<Result<LocationWebhook, ParseError>> {
        let namespaced = |k: &Seen<Namespaced>| k.value.is_some_and(|n| n.0);
        let roam_events = !self.event.present
            && self
                .events
                .value
                .as_ref()
                .is_some_and(|es| es.iter().any(REvent::is_roam));
        if namespaced(&self.roam_type)
            || namespaced(&self.roam_source)
            || roam_events
            || self.visit_type.present
            || self.foursquare_type.present
        {
            return None;
        }
        if self.event.present || self.events.present {
            let present = if self.event.present {
                "/event"
            } else {
                "/events"
            };
            let user = self.user.value.map(|MapOnly(u)| u.radar());
            let payload = RPayload {
                event: self.event.value,
                events: self.events.value,
                user,
            };
            Some(radar(payload, present))
        } else if self.mm_user_id.present
            || self.underscore_id.present
            || self.id.present
            || self.event_type.present
        {
            self.platform().ok().map(platform)
        } else if self.location.present || self.trip.present || self.user.present {
            self.structured().ok().map(structured)
        } else {
            None
        }
    }

    fn platform(self) -> Result<PPayload, ()> {
        let location = match self.location.value {
            Some(MapOnly(l)) => Some(PLocation {
                coordinates: required(l.coordinates)?,
            }),
            None => None,
        };
        let trip = match self.trip.value {
            Some(MapOnly(t)) => Some(PTrip {
                id: required(t.id)?,
                external_id: t.platform_external_id,
                user_id: t.mm_user_id,
                status: t.status,
                created_at: t.platform_created_at,
                updated_at: t.platform_updated_at,
                started_at: t.platform_started_at,
                metadata: t.metadata,
            }),
            None => None,
        };
        Ok(PPayload {
            id: self.id.value,
            underscore_id: self.underscore_id.value,
            user_id: required(self.mm_user_id.value)?,
            created_at: required(self.created_at.value)?,
            event_type: self.event_type.value,
            live: self.live.value,
            location,
            trip,
            geofence: self.geofence.value,
        })
    }

    fn structured(self) -> Result<SPayload, ()> {
        let location = match self.location.value {
            Some(MapOnly(l)) => Some(SLocation {
                user_id: required(l.user_id)?,
                latitude: required(l.latitude)?,
                longitude: required(l.longitude)?,
                created_at: required(l.created_at)?,
                event_type: l.event_type,
                geofence_id: l.geofence_id,
                geofence_tag: l.geofence_tag,
                accuracy: l.accuracy,
            }),
            None => None,
        };
        let trip = match self.trip.value {
            Some(MapOnly(t)) => Some(STrip {
                trip_id: required(t.trip_id)?,
                external_id: t.external_id,
                user_id: t.user_id,
                status: t.status,
                created_at: t.created_at,
                updated_at: t.updated_at,
                started_at: t.started_at,
                route_session_type: t.route_session_type,
            }),
            None => None,
        };
        let user = match self.user.value {
            Some(MapOnly(u)) => Some(SUser {
                user_id: required(u.user_id)?,
                event_id: u.event_id,
                created_at: u.created_at,
                live: u.live,
            }),
            None => None,
        };
        Ok(SPayload {
            location,
            trip,
            user,
        })
    }
}

impl User {
    fn radar(self) -> RUser {
        RUser {
            id: self.id,
            user_id: self.radar_user_id,
            device_id: self.device_id,
            live: self.live,
            trip: self.trip,
        }
    }
}
