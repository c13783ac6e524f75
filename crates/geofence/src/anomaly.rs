//! Location anomalies a user's points can show, as pure functions of the points and the limits:
//! a speed no traveller reaches ([`implied_speed_kmh`]) and a geofence crossed back and forth
//! too often ([`flapping`]). The caller decides what an anomalous point does (in hookloop: it
//! lands, flagged, and fires no transition).

use geo::{Distance, Haversine, Point};

/// Speeds are measured over at least this long, so two points of one second (platforms that
/// send whole seconds) or of one instant measure their distance over a second, not zero.
pub const MIN_SPEED_INTERVAL_MS: i64 = 1_000;

/// A user's position at an event time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub at_ms: i64,
    pub latitude: f64,
    pub longitude: f64,
}

/// What a point's anomaly is.
#[derive(Debug, Clone, PartialEq)]
pub enum Anomaly {
    /// Reaching the point from the user's last plausible one takes this speed (km/h).
    ImpossibleSpeed { speed_kmh: f64 },
    /// The point would cross this geofence more often than the limit allows in the window.
    Flapping { geofence_id: String },
}

impl Anomaly {
    /// The name rows, records and the `Anomalies` metric's `Kind` give it.
    pub fn kind(&self) -> &'static str {
        match self {
            Anomaly::ImpossibleSpeed { .. } => IMPOSSIBLE_SPEED,
            Anomaly::Flapping { .. } => GEOFENCE_FLAPPING,
        }
    }
}

pub const IMPOSSIBLE_SPEED: &str = "impossible_speed";
pub const GEOFENCE_FLAPPING: &str = "geofence_flapping";

/// The average speed (km/h) from `from` to `to`: the great-circle distance over the time between
/// them, at least [`MIN_SPEED_INTERVAL_MS`]. A point before `from` measures over the time back.
pub fn implied_speed_kmh(from: &Fix, to: &Fix) -> f64 {
    let metres = Haversine.distance(
        Point::new(from.longitude, from.latitude),
        Point::new(to.longitude, to.latitude),
    );
    let ms = to
        .at_ms
        .saturating_sub(from.at_ms)
        .saturating_abs()
        .max(MIN_SPEED_INTERVAL_MS);
    (metres / 1000.0) / (ms as f64 / 3_600_000.0)
}

/// Whether one more transition of a geofence at `at_ms` would make more than `limit` of them
/// within `window_ms` ending there, given the event times of its earlier ones (any order).
pub fn flapping(
    earlier_ms: impl IntoIterator<Item = i64>,
    at_ms: i64,
    limit: u32,
    window_ms: i64,
) -> bool {
    let within = earlier_ms
        .into_iter()
        .filter(|t| *t <= at_ms && at_ms.saturating_sub(*t) < window_ms)
        .count();
    within + 1 > limit as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(at_s: i64, latitude: f64, longitude: f64) -> Fix {
        Fix {
            at_ms: at_s * 1000,
            latitude,
            longitude,
        }
    }

    #[test]
    fn new_york_to_los_angeles_in_a_minute_is_about_234_000_kmh() {
        // 3,936 km great-circle (Haversine, mean Earth radius).
        let v = implied_speed_kmh(&fix(0, 40.7128, -74.0060), &fix(60, 34.0522, -118.2437));
        assert!((v - 3_936.0 * 60.0).abs() < 0.01 * 3_936.0 * 60.0, "{v}");
        // The same in five hours is an airliner.
        let v = implied_speed_kmh(
            &fix(0, 40.7128, -74.0060),
            &fix(5 * 3600, 34.0522, -118.2437),
        );
        assert!((700.0..900.0).contains(&v), "{v}");
    }

    #[test]
    fn a_walk_and_jitter_at_one_instant_are_slow() {
        let v = implied_speed_kmh(&fix(0, 40.7484, -73.9857), &fix(60, 40.7490, -73.9850));
        assert!(v < 10.0, "{v}");
        // 20 m of GPS jitter with the same timestamp: measured over a second, 72 km/h.
        let v = implied_speed_kmh(&fix(5, 40.7484, -73.9857), &fix(5, 40.74858, -73.9857));
        assert!(v < 100.0, "{v}");
        // Order does not matter.
        let a = fix(0, 1.0, 1.0);
        let b = fix(100, 1.1, 1.1);
        assert_eq!(implied_speed_kmh(&a, &b), implied_speed_kmh(&b, &a));
    }

    #[test]
    fn more_than_the_limit_within_the_window_is_flapping() {
        let minute = 60_000;
        let earlier = [0, minute, 2 * minute];
        assert!(
            !flapping(earlier, 3 * minute, 4, 10 * minute),
            "the fourth is allowed"
        );
        assert!(flapping(
            earlier.into_iter().chain([3 * minute]),
            4 * minute,
            4,
            10 * minute
        ));
        assert!(
            !flapping(
                earlier.into_iter().chain([3 * minute]),
                10 * minute,
                4,
                10 * minute
            ),
            "the first has left the window"
        );
        assert!(!flapping([], 0, 1, minute));
        assert!(flapping([0], 0, 1, minute));
    }
}
