//! Server-side geofencing in the processor: the document in force ([`document`]), each user's
//! inside/outside state in the table ([`state_row`]), and [`advance`], which moves a user's
//! state over the batch's points and flags location anomalies on the way. The stage that reads
//! and writes the states is [`crate::stages::geofence`].

pub mod document;
pub mod state_row;

use hookloop_domain::{Point, LOCATION_ANOMALY};
use hookloop_geofence::anomaly::{
    flapping, implied_speed_kmh, Fix, GEOFENCE_FLAPPING, IMPOSSIBLE_SPEED,
};
use hookloop_geofence::{step, Geofence, GeofenceIndex, PointOrder, TransitionKind, UserState};

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

/// What makes a point anomalous (`MAX_SPEED_KMH`, `FLAP_LIMIT`, `FLAP_WINDOW_MINUTES`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyLimits {
    /// A point implying more than this speed from the user's last plausible one; `None`: off.
    pub max_speed_kmh: Option<f64>,
    /// More than this many transitions of one geofence within `flap_window_ms`; `None`: off.
    pub flap_limit: Option<u32>,
    pub flap_window_ms: i64,
}

pub const DEFAULT_MAX_SPEED_KMH: f64 = 1_000.0;
pub const DEFAULT_FLAP_LIMIT: u32 = 6;
pub const DEFAULT_FLAP_WINDOW_MINUTES: u32 = 10;

impl Default for AnomalyLimits {
    fn default() -> Self {
        AnomalyLimits {
            max_speed_kmh: Some(DEFAULT_MAX_SPEED_KMH),
            flap_limit: Some(DEFAULT_FLAP_LIMIT),
            flap_window_ms: i64::from(DEFAULT_FLAP_WINDOW_MINUTES) * 60_000,
        }
    }
}

/// A user's state moved over a batch's points.
#[derive(Debug, PartialEq)]
pub struct Advanced {
    pub state: UserState,
    pub plausible: Option<Fix>,
    pub last_fix: Option<Fix>,
    /// Every transition and anomaly remembered: the stored ones, then the new ones.
    pub fired: Vec<Fired>,
}

/// A user's state moved over `points` (any order; the user's, of this batch), or `None` when no
/// point is newer than the state (late or redelivered points change nothing).
///
/// An anomalous point (too fast from the last plausible position, or crossing a geofence more
/// often than the limit) is remembered as seen and flagged, and changes nothing else: it fires
/// no transition, and speeds are still measured from the last plausible position. Two things
/// keep that from going on: a point plausible from the newest point before it (itself
/// flagged) is plausible, so two points that agree outvote a reference that was the glitch; and
/// a geofence is flagged flapping once per window, its later crossings in the window suppressed
/// without a record each.
pub fn advance(
    index: &GeofenceIndex,
    limits: &AnomalyLimits,
    stored: &Stored,
    points: &[&Point],
) -> Option<Advanced> {
    let mut points = points.to_vec();
    points.sort_by(|a, b| (a.at_ms, &a.tiebreak).cmp(&(b.at_ms, &b.tiebreak)));
    let mut state = stored.state.clone();
    let mut plausible = stored.plausible;
    let mut last_fix = stored.last_fix;
    let mut fired = stored.fired.clone();
    let mut moved = false;
    for p in points {
        let order = PointOrder {
            at_ms: p.at_ms,
            tiebreak: p.tiebreak.clone(),
        };
        if state.as_ref().is_some_and(|s| order <= s.last) {
            continue;
        }
        moved = true;
        let fix = Fix {
            at_ms: p.at_ms,
            latitude: p.latitude,
            longitude: p.longitude,
        };
        let seen_only = |state: Option<UserState>| UserState {
            last: order.clone(),
            inside: state.map(|s| s.inside).unwrap_or_default(),
        };
        let previous = last_fix.replace(fix);
        if let (Some(max), Some(from)) = (limits.max_speed_kmh, plausible.as_ref()) {
            let speed = implied_speed_kmh(from, &fix);
            let agrees_with_previous = previous
                .filter(|prev| prev != from)
                .is_some_and(|prev| implied_speed_kmh(&prev, &fix) <= max);
            if speed > max && !agrees_with_previous {
                fired.push(anomaly(p, IMPOSSIBLE_SPEED, None, Some(speed)));
                state = Some(seen_only(state));
                continue;
            }
        }
        let Some((next, transitions)) = step(
            index,
            state.as_ref(),
            order.clone(),
            p.latitude,
            p.longitude,
        ) else {
            continue;
        };
        if let Some(limit) = limits.flap_limit {
            let flapped = transitions
                .iter()
                .filter(|t| t.kind != TransitionKind::Dwelled)
                .find(|t| {
                    let earlier = fired
                        .iter()
                        .filter(|f| {
                            f.anomaly.is_none()
                                && f.geofence_id == t.geofence.id
                                && f.record_type != TransitionKind::Dwelled.record_type()
                        })
                        .map(|f| f.at_ms);
                    flapping(earlier, p.at_ms, limit, limits.flap_window_ms)
                });
            if let Some(t) = flapped {
                let flagged_in_window = fired.iter().any(|f| {
                    f.anomaly.as_deref() == Some(GEOFENCE_FLAPPING)
                        && f.geofence_id == t.geofence.id
                        && p.at_ms.saturating_sub(f.at_ms) < limits.flap_window_ms
                });
                if !flagged_in_window {
                    fired.push(anomaly(p, GEOFENCE_FLAPPING, Some(t.geofence), None));
                }
                state = Some(seen_only(state));
                plausible = Some(fix);
                continue;
            }
        }
        fired.extend(transitions.into_iter().map(|t| Fired {
            point: p.tiebreak.clone(),
            at_ms: p.at_ms,
            record_type: t.kind.record_type().to_owned(),
            geofence_id: t.geofence.id.clone(),
            geofence_tag: t.geofence.tag.clone(),
            geofence_external_id: t.geofence.external_id.clone(),
            geofence_description: t.geofence.description.clone(),
            anomaly: None,
            speed_kmh: None,
        }));
        state = Some(next);
        plausible = Some(fix);
    }
    match (moved, state) {
        (true, Some(state)) => Some(Advanced {
            state,
            plausible,
            last_fix,
            fired,
        }),
        _ => None,
    }
}

fn anomaly(p: &Point, kind: &str, fence: Option<&Geofence>, speed_kmh: Option<f64>) -> Fired {
    Fired {
        point: p.tiebreak.clone(),
        at_ms: p.at_ms,
        record_type: LOCATION_ANOMALY.to_owned(),
        geofence_id: fence.map(|g| g.id.clone()).unwrap_or_default(),
        geofence_tag: fence.and_then(|g| g.tag.clone()),
        geofence_external_id: fence.and_then(|g| g.external_id.clone()),
        geofence_description: fence.and_then(|g| g.description.clone()),
        anomaly: Some(kind.to_owned()),
        speed_kmh,
    }
}
