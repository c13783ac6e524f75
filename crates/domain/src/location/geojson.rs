//! A GeoJSON point, as Radar, HyperTrack and Roam.ai send it: `{"type": "Point", "coordinates":
//! [longitude, latitude]}`, longitude first, with an optional third element (the altitude, which
//! GeoJSON allows and HyperTrack sends) that is read and dropped.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::primitives::{Latitude, Longitude};

#[derive(Deserialize)]
pub(super) struct GeoPoint {
    pub(super) coordinates: Position,
}

/// `[longitude, latitude]` or `[longitude, latitude, altitude]`.
pub(super) struct Position {
    pub(super) longitude: Longitude,
    pub(super) latitude: Latitude,
}

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Position;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a GeoJSON position [longitude, latitude] or [longitude, latitude, altitude]",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Position, A::Error> {
                let longitude: Longitude = s
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let latitude: Latitude = s
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                // The altitude, any number or null; nothing after it.
                if s.next_element::<Option<f64>>()?.is_some()
                    && s.next_element::<de::IgnoredAny>()?.is_some()
                {
                    return Err(de::Error::invalid_length(4, &self));
                }
                Ok(Position {
                    longitude,
                    latitude,
                })
            }
        }
        d.deserialize_seq(V)
    }
}
