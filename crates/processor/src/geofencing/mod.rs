//! Server-side geofencing in the processor: the document in force ([`document`]), each user's
//! inside/outside state in the table ([`state_row`]), and [`advance`], which moves a user's
//! state over the batch's points. The stage that reads and writes the states is
//! [`crate::stages::geofence`].

pub mod document;
pub mod state_row;

use hookloop_domain::Point;
use hookloop_geofence::{step, GeofenceIndex, PointOrder, UserState};

pub use document::GeofenceSource;
use state_row::{Fired, Stored};

/// The geofences in force.
pub enum Fences {
    /// No `GEOFENCES`, no document at it, or no good document read yet: nothing is computed.
    Off,
    /// The document could not be read yet (a failed read): points wait for it (redelivery).
    Unknown,
    On(GeofenceIndex),
}

/// A user's state moved over `points` (any order; the user's, of this batch): the new state and
/// every transition remembered (the stored ones, then the new ones), or `None` when no point is
/// newer than the state (late or redelivered points change nothing).
pub fn advance(
    index: &GeofenceIndex,
    stored: &Stored,
    points: &[&Point],
) -> Option<(UserState, Vec<Fired>)> {
    let mut points = points.to_vec();
    points.sort_by(|a, b| (a.at_ms, &a.tiebreak).cmp(&(b.at_ms, &b.tiebreak)));
    let mut state = stored.state.clone();
    let mut fired = stored.fired.clone();
    let mut moved = false;
    for p in points {
        let order = PointOrder {
            at_ms: p.at_ms,
            tiebreak: p.tiebreak.clone(),
        };
        let Some((next, transitions)) = step(index, state.as_ref(), order, p.latitude, p.longitude)
        else {
            continue;
        };
        moved = true;
        fired.extend(transitions.into_iter().map(|t| Fired {
            point: p.tiebreak.clone(),
            record_type: t.kind.record_type().to_owned(),
            geofence_id: t.geofence.id.clone(),
            geofence_tag: t.geofence.tag.clone(),
            geofence_external_id: t.geofence.external_id.clone(),
            geofence_description: t.geofence.description.clone(),
        }));
        state = Some(next);
    }
    match (moved, state) {
        (true, Some(state)) => Some((state, fired)),
        _ => None,
    }
}
