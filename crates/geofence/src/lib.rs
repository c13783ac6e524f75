//! Server-side geofencing: location sources that send raw points get the geofence events a
//! platform would send.
//!
//! - [`parse_geofences`]: the GeoJSON document (`GEOFENCES`) into [`Geofence`]s, or every problem
//!   with its JSON pointer;
//! - [`GeofenceIndex`]: the geofences in an R*-tree, so a point is tested against 10,000
//!   geofences in microseconds (`make bench`);
//! - [`step`]: a user's inside/outside state and the transitions a newer point makes.
//!
//! Pure: no I/O, no AWS. Coordinates are degrees, GeoJSON's [longitude, latitude] order.

pub mod anomaly;
mod document;
mod index;
pub mod limits;
mod shape;
mod state;

pub use document::{parse_geofences, Geofence, Problem, Problems};
pub use index::GeofenceIndex;
pub use shape::{Envelope, Shape};
pub use state::{step, Inside, PointOrder, Transition, TransitionKind, UserState};

#[cfg(test)]
mod tests;
