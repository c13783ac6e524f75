//! A user's inside/outside state and the transitions a new point makes: entered, exited, and
//! dwelled once `dwell_s` has passed inside.
//!
//! Points are ordered by event time, then by a tiebreak (the message id, a ULID), so the same
//! points give the same transitions in whatever order they are processed: a point not newer than
//! the state changes nothing. The caller stores the new state with a conditional write on that
//! same order, so two batches never both fire one transition.

use crate::document::Geofence;
use crate::index::GeofenceIndex;

/// The order of points: event time (epoch milliseconds), then the tiebreak.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PointOrder {
    pub at_ms: i64,
    pub tiebreak: String,
}

/// One geofence the user is inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    pub geofence_id: String,
    /// When the user entered (the event time of the entering point).
    pub since_ms: i64,
    /// Whether the dwell transition has fired for this stay.
    pub dwelled: bool,
}

/// A user's state after their newest point: the geofences they are inside, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub last: PointOrder,
    pub inside: Vec<Inside>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    Entered,
    Exited,
    Dwelled,
}

impl TransitionKind {
    /// The record `type`, as location platforms name it.
    pub fn record_type(self) -> &'static str {
        match self {
            TransitionKind::Entered => "user.entered_geofence",
            TransitionKind::Exited => "user.exited_geofence",
            TransitionKind::Dwelled => "user.dwelled_in_geofence",
        }
    }
}

/// A transition the point made, with the geofence as the current document has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition<'a> {
    pub kind: TransitionKind,
    pub geofence: &'a Geofence,
}

/// What a point does: the new state and its transitions, exits first, then entries, then dwells,
/// each in document order. `None` when the point is not newer than the state (late or
/// redelivered): nothing changes.
pub fn step<'a>(
    index: &'a GeofenceIndex,
    previous: Option<&UserState>,
    point: PointOrder,
    latitude: f64,
    longitude: f64,
) -> Option<(UserState, Vec<Transition<'a>>)> {
    if previous.is_some_and(|p| point <= p.last) {
        return None;
    }
    let now = index.containing(latitude, longitude);
    let was: &[Inside] = previous.map_or(&[], |p| &p.inside);
    let mut transitions = Vec::new();
    // Exits: inside before, not now. A geofence gone from the document is dropped silently: no
    // exit can name what the document no longer describes.
    for stay in was {
        if let Some(fence) = index.get(&stay.geofence_id) {
            if !now.iter().any(|f| f.id == stay.geofence_id) {
                transitions.push(Transition {
                    kind: TransitionKind::Exited,
                    geofence: fence,
                });
            }
        }
    }
    let mut inside = Vec::with_capacity(now.len());
    let mut dwells = Vec::new();
    for fence in now {
        let stay = match was.iter().find(|s| s.geofence_id == fence.id) {
            Some(stay) => stay.clone(),
            None => {
                transitions.push(Transition {
                    kind: TransitionKind::Entered,
                    geofence: fence,
                });
                Inside {
                    geofence_id: fence.id.clone(),
                    since_ms: point.at_ms,
                    dwelled: false,
                }
            }
        };
        let dwelled = match fence.dwell_s {
            Some(s)
                if !stay.dwelled
                    && point.at_ms.saturating_sub(stay.since_ms) >= i64::from(s) * 1000 =>
            {
                dwells.push(Transition {
                    kind: TransitionKind::Dwelled,
                    geofence: fence,
                });
                true
            }
            _ => stay.dwelled,
        };
        inside.push(Inside { dwelled, ..stay });
    }
    transitions.extend(dwells);
    Some((
        UserState {
            last: point,
            inside,
        },
        transitions,
    ))
}
