//! Raw location points, and the geofence transitions hookloop computes from them (server-side
//! geofencing): a transition becomes a location event row and a geofence stream record exactly
//! like those of a platform's geofence event, plus `"origin": "hookloop"`, so the same rows,
//! stream consumers and load-back rules serve both.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::envelope::Envelope;
use crate::latest::Version;
use crate::normalize::{base_attrs_with_id, put_opt, GeofenceEvent, Row};

/// What a computed transition says it came from, on its row and its stream record.
pub const ORIGIN_HOOKLOOP: &str = "hookloop";
/// The row `event_type` and record `type` of a location anomaly.
pub const LOCATION_ANOMALY: &str = "user.location_anomaly";
/// The attribute that flags a point's own row with its anomaly.
pub const ANOMALY_ATTRIBUTE: &str = "anomaly";

/// A location point that is not itself a geofence event: what server-side geofencing tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub user_id: String,
    /// The event id of the point's row (the sender's, else the message id).
    pub event_id: String,
    pub latitude: f64,
    pub longitude: f64,
    /// The event time as rows hold it (RFC 3339, UTC).
    pub created_at: String,
    /// Where the point stands in event time: its event time (a future one clamped as
    /// [`Version::new`] clamps it), then the message id, then its position in the message, so
    /// two points of one message never tie.
    pub at_ms: i64,
    pub tiebreak: String,
}

/// The geofence a transition names, as the document in force describes it.
#[derive(Debug, Clone, Copy)]
pub struct FenceRef<'a> {
    pub id: &'a str,
    pub tag: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl Point {
    /// The point of event `position` of the message in `env`.
    pub(crate) fn new(
        env: &Envelope,
        position: usize,
        user_id: &str,
        event_id: &str,
        (latitude, longitude): (f64, f64),
        created_at: crate::Timestamp,
    ) -> Self {
        let version = Version::new(Some(created_at), env.id());
        Point {
            user_id: user_id.to_owned(),
            event_id: event_id.to_owned(),
            latitude,
            longitude,
            created_at: created_at.canonical(),
            at_ms: version.event_time_ms(),
            tiebreak: format!("{}/{position:05}", env.id()),
        }
    }

    /// The message the point came in: the part of its tiebreak before the `/`.
    pub fn message_id(&self) -> &str {
        self.tiebreak
            .split_once('/')
            .map_or(self.tiebreak.as_str(), |(m, _)| m)
    }

    /// The row and stream record of transition `record_type` (`user.entered_geofence`, ...) of
    /// `fence` at this point. The event id is a digest of the point, the type and the geofence,
    /// so a redelivery recomputes the same id (consumers deduplicate on it) and the row's key is
    /// short whatever the geofence's id.
    pub fn transition(
        &self,
        env: &Envelope,
        record_type: &str,
        fence: FenceRef<'_>,
    ) -> (Row, GeofenceEvent) {
        let event_id = transition_id(&self.tiebreak, record_type, fence.id);
        let message_id = env.id().to_string();
        let mut a = base_attrs_with_id("location", env, message_id.clone());
        a.insert("event_type".into(), json!(record_type));
        self.computed(a, event_id, message_id, Some(fence), None)
    }

    /// The row and stream record of anomaly `kind` (`impossible_speed`, `geofence_flapping`) at
    /// this point: `user.location_anomaly`, with the geofence it concerns (flapping) or the speed
    /// it implies (km/h), identified like a transition so a redelivery recomputes it.
    pub fn anomaly(
        &self,
        env: &Envelope,
        kind: &str,
        fence: Option<FenceRef<'_>>,
        speed_kmh: Option<f64>,
    ) -> (Row, GeofenceEvent) {
        let event_id = transition_id(&self.tiebreak, LOCATION_ANOMALY, kind);
        let message_id = env.id().to_string();
        let mut a = base_attrs_with_id("location", env, message_id.clone());
        a.insert(ANOMALY_ATTRIBUTE.into(), json!(kind));
        if let Some(v) = speed_kmh.filter(|v| v.is_finite()) {
            a.insert("speed_kmh".into(), json!((v * 10.0).round() / 10.0));
        }
        self.computed(a, event_id, message_id, fence, Some(kind))
    }

    /// The key of the point's own row (`USER#<user>` | `LOC#<time>#<event id>`), which an
    /// anomaly flags.
    pub fn row_key(&self) -> (String, String) {
        (
            format!("USER#{}", self.user_id),
            format!("LOC#{}#{}", self.created_at, self.event_id),
        )
    }

    /// A row and record hookloop computed at this point: `a` plus what every one carries.
    fn computed(
        &self,
        mut a: serde_json::Map<String, Value>,
        event_id: String,
        message_id: String,
        fence: Option<FenceRef<'_>>,
        anomaly: Option<&str>,
    ) -> (Row, GeofenceEvent) {
        let record_type = match anomaly {
            Some(_) => LOCATION_ANOMALY.to_owned(),
            None => a
                .get("event_type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        };
        a.insert("shape".into(), json!("computed"));
        a.insert("origin".into(), json!(ORIGIN_HOOKLOOP));
        a.insert("user_id".into(), Value::String(self.user_id.clone()));
        a.insert("event_id".into(), Value::String(event_id.clone()));
        a.insert("event_type".into(), json!(record_type));
        a.insert("latitude".into(), json!(self.latitude));
        a.insert("longitude".into(), json!(self.longitude));
        if let Some(fence) = fence {
            a.insert("geofence_id".into(), json!(fence.id));
            put_opt(&mut a, "geofence_tag", fence.tag);
            put_opt(&mut a, "geofence_external_id", fence.external_id);
            put_opt(&mut a, "geofence_description", fence.description);
        }
        a.insert(
            "point_event_id".into(),
            Value::String(self.event_id.clone()),
        );
        a.insert("created_at".into(), Value::String(self.created_at.clone()));
        let row = Row {
            pk: format!("USER#{}", self.user_id),
            sk: format!("LOC#{}#{event_id}", self.created_at),
            attrs: a,
        };
        let record = GeofenceEvent {
            event_id,
            event_type: record_type,
            user_id: self.user_id.clone(),
            geofence_id: fence.map(|f| f.id.to_owned()),
            geofence_tag: fence.and_then(|f| f.tag).map(str::to_owned),
            geofence_external_id: fence.and_then(|f| f.external_id).map(str::to_owned),
            latitude: self.latitude,
            longitude: self.longitude,
            time: self.created_at.clone(),
            message_id,
            origin: Some(ORIGIN_HOOKLOOP),
            anomaly: anomaly.map(str::to_owned),
        };
        (row, record)
    }
}

/// `hl_` and 32 hex digits of SHA-256 over the point, the type and the geofence.
fn transition_id(tiebreak: &str, record_type: &str, geofence_id: &str) -> String {
    let mut d = Sha256::new();
    for part in [tiebreak, record_type, geofence_id] {
        d.update((part.len() as u64).to_be_bytes());
        d.update(part.as_bytes());
    }
    format!("hl_{}", hex::encode(&d.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_webhook, Normalized, Source};

    fn normalized(body: &str) -> (Envelope, Normalized) {
        let env = Envelope::received(
            Source::Location,
            body.to_owned(),
            time::macros::datetime!(2024-05-01 12:00:00 UTC),
        );
        let w = parse_webhook(Source::Location, body.as_bytes()).unwrap();
        let n = Normalized::from_webhook(&w, &env);
        (env, n)
    }

    #[test]
    fn raw_points_are_tested_and_geofence_events_are_not() {
        let (env, n) = normalized(
            r#"{"events":[
              {"_id":"a","type":"user.entered_geofence","createdAt":"2024-05-01T11:00:00Z",
               "location":{"type":"Point","coordinates":[-73.98,40.75]},"geofence":{"_id":"g"}},
              {"_id":"b","type":"user.updated","createdAt":"2024-05-01T11:01:00Z",
               "location":{"type":"Point","coordinates":[-73.99,40.76]}}],
             "user":{"userId":"u1"}}"#,
        );
        assert_eq!(n.points.len(), 1);
        let p = &n.points[0];
        assert_eq!(
            (
                p.user_id.as_str(),
                p.event_id.as_str(),
                p.latitude,
                p.longitude
            ),
            ("u1", "b", 40.76, -73.99)
        );
        assert_eq!(p.message_id(), env.id().to_string());
        assert_eq!(p.tiebreak, format!("{}/00001", env.id()));
        assert_eq!(p.at_ms, 1_714_561_260_000);
    }

    #[test]
    fn a_transition_is_a_platform_geofence_event_from_hookloop() {
        let (env, n) = normalized(
            r#"{"location":{"user_id":"u1","latitude":40.75,"longitude":-73.98,
                            "created_at":"2024-05-01T11:00:00Z","event_type":"location_update"},
                "user":{"user_id":"u1","event_id":"p1"}}"#,
        );
        let fence = FenceRef {
            id: "store-1",
            tag: Some("store"),
            external_id: None,
            description: Some("Store 1"),
        };
        let (row, record) = n.points[0].transition(&env, "user.entered_geofence", fence);
        let again = n.points[0].transition(&env, "user.entered_geofence", fence);
        assert_eq!(again.0, row, "a redelivery computes the same row");
        let other = n.points[0].transition(&env, "user.exited_geofence", fence);
        assert_ne!(other.1.event_id, record.event_id);
        assert_eq!(row.pk, "USER#u1");
        assert_eq!(
            row.sk,
            format!("LOC#2024-05-01T11:00:00.000Z#{}", record.event_id)
        );
        assert_eq!(row.attrs["event_type"], "user.entered_geofence");
        assert_eq!(row.attrs["geofence_description"], "Store 1");
        assert_eq!(row.attrs["origin"], "hookloop");
        assert_eq!(row.attrs["kind"], "location");
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json,
            json!({"event_id": record.event_id, "type": "user.entered_geofence", "user_id": "u1",
                   "geofence_id": "store-1", "geofence_tag": "store", "geofence_external_id": null,
                   "latitude": 40.75, "longitude": -73.98, "time": "2024-05-01T11:00:00.000Z",
                   "message_id": env.id().to_string(), "origin": "hookloop"})
        );
    }

    #[test]
    fn an_anomaly_is_a_location_record_from_hookloop_beside_the_points_own_row() {
        let (env, n) = normalized(
            r#"{"location":{"user_id":"u1","latitude":34.05,"longitude":-118.24,
                            "created_at":"2024-05-01T11:01:00Z","event_type":"location_update"},
                "user":{"user_id":"u1","event_id":"p2"}}"#,
        );
        let point = &n.points[0];
        assert!(
            n.rows
                .iter()
                .any(|r| (r.pk.clone(), r.sk.clone()) == point.row_key()),
            "row_key names the point's own row"
        );
        let (row, record) = point.anomaly(&env, "impossible_speed", None, Some(234_123.456));
        assert_eq!(
            point
                .anomaly(&env, "impossible_speed", None, Some(234_123.456))
                .0,
            row
        );
        assert_eq!(row.attrs["event_type"], LOCATION_ANOMALY);
        assert_eq!(row.attrs[ANOMALY_ATTRIBUTE], "impossible_speed");
        assert_eq!(row.attrs["speed_kmh"], json!(234_123.5));
        assert_eq!(row.attrs["point_event_id"], "p2");
        assert_ne!(row.sk, point.row_key().1);
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["type"], LOCATION_ANOMALY);
        assert_eq!(json["anomaly"], "impossible_speed");
        assert_eq!(json["origin"], "hookloop");
        assert_eq!(json["geofence_id"], Value::Null);
        let fence = FenceRef {
            id: "store-1",
            tag: None,
            external_id: None,
            description: None,
        };
        let (flap, _) = point.anomaly(&env, "geofence_flapping", Some(fence), None);
        assert_eq!(flap.attrs["geofence_id"], "store-1");
        assert_ne!(flap.sk, row.sk, "one id per anomaly kind");
    }
}
