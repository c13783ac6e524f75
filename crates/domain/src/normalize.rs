//! From a parsed webhook to what the stores hold: table rows, geofence stream records, and the
//! raw archive key. All keys are deterministic functions of the message, so a redelivered
//! message rewrites the same items instead of adding new ones.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::campaign_rows::campaign_rows;
use crate::envelope::{Envelope, MessageId};
use crate::export_status::ExportStatusAlert;
use crate::latest::{collapse, LatestRow, StateKind, Version};
use crate::location::LocationWebhook;
use crate::points::Point;
use crate::source::Source;
use crate::Webhook;

/// One DynamoDB item: string keys `pk` and `sk`, and attributes as JSON values (numbers stay
/// numbers, objects become maps).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub pk: String,
    pub sk: String,
    pub attrs: Map<String, Value>,
}

/// One record for the geofence stream. Consumers deduplicate on `event_id` (Kinesis may repeat
/// a record when a message is redelivered).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeofenceEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub user_id: String,
    pub geofence_id: Option<String>,
    pub geofence_tag: Option<String>,
    pub geofence_external_id: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub time: String,
    pub message_id: String,
    /// `"hookloop"` on a transition hookloop computed from raw points
    /// ([`crate::points::ORIGIN_HOOKLOOP`]); absent on a platform's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
    /// On a `user.location_anomaly` record: what the anomaly is (`impossible_speed`,
    /// `geofence_flapping`); absent on every other record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
}

impl GeofenceEvent {
    /// The Kinesis partition key: the user, so one user's transitions stay in order on a shard.
    pub fn partition_key(&self) -> &str {
        &self.user_id
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Everything one message turns into.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    /// Rows of one event each (a location, a campaign profile, an export status): written as
    /// they are, a redelivery rewriting the same item.
    pub rows: Vec<Row>,
    /// Rows holding the latest state of something (a trip's `META`, a user's `PROFILE`):
    /// written only forward in event time ([`crate::latest`]).
    pub latest: Vec<LatestRow>,
    pub geofence_events: Vec<GeofenceEvent>,
    /// The location points that are not geofence events: what server-side geofencing tests.
    pub points: Vec<Point>,
}

/// `raw/source=<source>/dt=YYYY-MM-DD/hour=HH/<id>.json`: Hive-style partitions for Athena/Glue,
/// from the arrival time encoded in the message id.
pub fn raw_object_key(source: Source, id: MessageId) -> String {
    format!(
        "{}{id}{}",
        crate::archive::raw_partition(source, id),
        crate::archive::OBJECT_SUFFIX
    )
}

impl Normalized {
    /// Every row of the message, one-event rows first, then the latest-state rows as this
    /// message has them (what load-back rules read, and what the message stores where it is
    /// the newest).
    pub fn all_rows(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .chain(self.latest.iter().map(LatestRow::row))
    }

    /// [`Normalized::all_rows`], by value.
    pub fn into_all_rows(self) -> impl Iterator<Item = Row> {
        self.rows
            .into_iter()
            .chain(self.latest.into_iter().map(LatestRow::into_row))
    }

    pub fn from_webhook(webhook: &Webhook, env: &Envelope) -> Self {
        let mut out = Normalized::default();
        match webhook {
            // One row per profile key: nothing to deduplicate.
            Webhook::Campaign(c) => campaign_rows(c, env, &mut out.rows),
            Webhook::ExportStatus(a) => out.rows.push(export_row(a, env)),
            Webhook::Location(l) => {
                location(l, env, &mut out);
                dedupe_rows(&mut out.rows);
                collapse(&mut out.latest);
            }
        }
        out
    }
}

/// Rows with the same key in one message (the same event twice) collapse to the last one: a
/// batch write may not name one key twice.
fn dedupe_rows(rows: &mut Vec<Row>) {
    // Which rows a later row with the same key replaces, found without copying any key.
    let superseded: Vec<bool> = {
        let mut seen = std::collections::HashSet::with_capacity(rows.len());
        let mut superseded = vec![false; rows.len()];
        for (i, row) in rows.iter().enumerate().rev() {
            superseded[i] = !seen.insert((row.pk.as_str(), row.sk.as_str()));
        }
        superseded
    };
    if superseded.contains(&true) {
        let mut flags = superseded.into_iter();
        rows.retain(|_| !flags.next().unwrap_or(false));
    }
}

fn base_attrs(kind: &str, env: &Envelope) -> Map<String, Value> {
    base_attrs_with_id(kind, env, env.id().to_string())
}

pub(crate) fn base_attrs_with_id(
    kind: &str,
    env: &Envelope,
    message_id: String,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.to_owned()));
    m.insert("message_id".into(), Value::String(message_id));
    m.insert(
        "source".into(),
        Value::String(env.source().as_str().to_owned()),
    );
    m.insert(
        "received_at".into(),
        Value::String(env.received_at().to_owned()),
    );
    m
}

pub(crate) fn put_opt<T: Into<Value>>(m: &mut Map<String, Value>, k: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), v.into());
    }
}

fn export_row(x: &ExportStatusAlert, env: &Envelope) -> Row {
    let mut a = base_attrs("export_status", env);
    a.insert("export_request_id".into(), json!(x.export_request_id));
    a.insert("status".into(), json!(x.status));
    a.insert("at".into(), json!(x.at.canonical()));
    a.insert("at_raw".into(), json!(x.at_raw));
    put_opt(&mut a, "partner", x.partner.clone());
    put_opt(&mut a, "type", x.export_type.clone());
    put_opt(&mut a, "frequency", x.frequency.clone());
    Row {
        pk: crate::exports::export_pk(&x.export_request_id),
        sk: format!("STATUS#{}#{}", x.at.canonical(), x.status),
        attrs: a,
    }
}

fn location(l: &LocationWebhook, env: &Envelope, out: &mut Normalized) {
    let message_id = env.id().to_string();
    for (position, e) in l.events.iter().enumerate() {
        // The id a location event is known by: the sender's where it gave one, else the
        // message id (still deterministic across redeliveries).
        let id = e.event_id.clone().unwrap_or_else(|| message_id.clone());
        let created_at = e.created_at.canonical();
        let mut a = base_attrs_with_id("location", env, message_id.clone());
        a.insert("shape".into(), json!(l.shape.as_str()));
        a.insert("user_id".into(), Value::String(e.user_id.clone()));
        a.insert("event_id".into(), Value::String(id.clone()));
        put_opt(&mut a, "event_type", e.event_type.clone());
        a.insert("latitude".into(), json!(e.latitude.value()));
        a.insert("longitude".into(), json!(e.longitude.value()));
        put_opt(&mut a, "live", e.live);
        put_opt(&mut a, "accuracy", e.accuracy);
        if let Some(g) = &e.geofence {
            put_opt(&mut a, "geofence_id", g.id.clone());
            put_opt(&mut a, "geofence_tag", g.tag.clone());
            put_opt(&mut a, "geofence_external_id", g.external_id.clone());
            put_opt(&mut a, "geofence_description", g.description.clone());
        }
        let sk = format!("LOC#{created_at}#{id}");
        if e.is_geofence_event() {
            let g = e.geofence.clone().unwrap_or_default();
            out.geofence_events.push(GeofenceEvent {
                event_id: id,
                event_type: e.event_type.clone().unwrap_or_default(),
                user_id: e.user_id.clone(),
                geofence_id: g.id,
                geofence_tag: g.tag,
                geofence_external_id: g.external_id,
                latitude: e.latitude.value(),
                longitude: e.longitude.value(),
                time: created_at.clone(),
                message_id: message_id.clone(),
                origin: None,
                anomaly: None,
            });
        } else {
            out.points.push(Point::new(
                env,
                position,
                &e.user_id,
                &id,
                (e.latitude.value(), e.longitude.value()),
                e.created_at,
            ));
        }
        a.insert("created_at".into(), Value::String(created_at));
        out.rows.push(Row {
            pk: format!("USER#{}", e.user_id),
            sk,
            attrs: a,
        });
    }
    for t in &l.trips {
        let mut a = base_attrs_with_id(StateKind::Trip.as_str(), env, message_id.clone());
        a.insert("trip_id".into(), json!(t.trip_id));
        put_opt(&mut a, "external_id", t.external_id.clone());
        put_opt(&mut a, "user_id", t.user_id.clone());
        put_opt(&mut a, "status", t.status.clone());
        put_opt(&mut a, "created_at", t.created_at.map(|t| t.canonical()));
        put_opt(&mut a, "updated_at", t.updated_at.map(|t| t.canonical()));
        put_opt(&mut a, "started_at", t.started_at.map(|t| t.canonical()));
        put_opt(&mut a, "route_session_type", t.route_session_type.clone());
        // A trip's state moves with its `updatedAt`.
        out.latest.push(LatestRow::new(
            StateKind::Trip,
            format!("TRIP#{}", t.trip_id),
            "META".into(),
            a,
            Version::new(t.updated_at, env.id()),
        ));
    }
    for u in &l.users {
        let mut a = base_attrs_with_id(StateKind::User.as_str(), env, message_id.clone());
        a.insert("user_id".into(), json!(u.user_id));
        put_opt(&mut a, "event_id", u.event_id.clone());
        put_opt(&mut a, "device_id", u.device_id.clone());
        put_opt(&mut a, "created_at", u.created_at.map(|t| t.canonical()));
        put_opt(&mut a, "live", u.live);
        // A user's state moves with the time of the event that carried it.
        out.latest.push(LatestRow::new(
            StateKind::User,
            format!("USER#{}", u.user_id),
            "PROFILE".into(),
            a,
            Version::new(u.created_at, env.id()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_webhook;
    use time::macros::datetime;

    fn normalize(source: Source, body: &str) -> (Envelope, Normalized) {
        let env = Envelope::received(
            source,
            body.to_owned(),
            datetime!(2024-05-01 07:08:09.010 UTC),
        );
        let w = parse_webhook(source, body.as_bytes()).unwrap();
        let n = Normalized::from_webhook(&w, &env);
        (env, n)
    }

    fn keys(n: &Normalized) -> Vec<(String, String)> {
        n.all_rows().map(|r| (r.pk.clone(), r.sk.clone())).collect()
    }

    #[test]
    fn raw_key_is_hive_partitioned_by_arrival_hour() {
        let id = MessageId::new(datetime!(2024-05-01 07:08:09.010 UTC));
        assert_eq!(
            raw_object_key(Source::ClevertapExportStatus, id),
            format!("raw/source=clevertap.export_status/dt=2024-05-01/hour=07/{id}.json")
        );
    }

    #[test]
    fn campaign_profiles_become_ct_rows_keyed_by_object_id_or_identity() {
        let (env, n) = normalize(
            Source::ClevertapWebhook,
            r#"{"targetId":99,"key_values":{"k":"v","n":2},"profiles":[{"objectId":"o1","key_values":{"n":3}},{"identity":"i2"},{"objectId":"o1"}]}"#,
        );
        assert_eq!(
            keys(&n),
            vec![
                ("CT#i2".to_owned(), format!("CAMPAIGN#99#{}", env.id())),
                ("CT#o1".to_owned(), format!("CAMPAIGN#99#{}", env.id())),
            ],
            "duplicate profiles collapse to one row, the last one"
        );
        assert_eq!(n.rows[1].attrs["key_values"], json!({"k": "v", "n": 2}));
        assert!(n.geofence_events.is_empty());
    }

    #[test]
    fn per_profile_key_values_override_campaign_ones() {
        let (_, n) = normalize(
            Source::ClevertapWebhook,
            r#"{"targetId":1,"key_values":{"k":"v","n":2},"profiles":{"objectId":"o","key_values":{"n":3}}}"#,
        );
        assert_eq!(n.rows[0].attrs["key_values"], json!({"k": "v", "n": 3}));
    }

    #[test]
    fn export_status_row() {
        let (_, n) = normalize(
            Source::ClevertapExportStatus,
            r#"{"Export Request Id":1690283492,"Status":"Completed","Date and Time":"25/07/2023 4:50:52 PM","Type":"Events"}"#,
        );
        assert_eq!(
            keys(&n),
            vec![(
                "EXPORT#1690283492".to_owned(),
                "STATUS#2023-07-25T16:50:52.000Z#Completed".to_owned()
            )]
        );
        assert_eq!(n.rows[0].attrs["type"], json!("Events"));
    }

    #[test]
    fn radar_geofence_event_becomes_rows_and_a_stream_record() {
        let (env, n) = normalize(
            Source::Location,
            r#"{"event":{"_id":"e1","createdAt":"2024-05-01T12:00:00Z","type":"user.entered_geofence",
                "location":{"type":"Point","coordinates":[-73.98,40.74]},
                "geofence":{"_id":"g1","tag":"store"}},"user":{"userId":"u1"}}"#,
        );
        assert_eq!(
            keys(&n),
            vec![
                (
                    "USER#u1".to_owned(),
                    "LOC#2024-05-01T12:00:00.000Z#e1".to_owned()
                ),
                ("USER#u1".to_owned(), "PROFILE".to_owned()),
            ]
        );
        assert_eq!(n.rows[0].attrs["latitude"], json!(40.74));
        let g = &n.geofence_events[0];
        assert_eq!(
            serde_json::to_value(g).unwrap(),
            json!({"event_id": "e1", "type": "user.entered_geofence", "user_id": "u1",
                   "geofence_id": "g1", "geofence_tag": "store", "geofence_external_id": null,
                   "latitude": 40.74, "longitude": -73.98, "time": "2024-05-01T12:00:00.000Z",
                   "message_id": env.id().to_string()})
        );
        assert_eq!(g.partition_key(), "u1");
    }

    #[test]
    fn events_without_a_sender_id_use_the_message_id() {
        let (env, n) = normalize(
            Source::Location,
            r#"{"location":{"user_id":"u","latitude":1,"longitude":2,"created_at":"2024-05-01T00:00:00Z"}}"#,
        );
        assert_eq!(
            n.rows[0].sk,
            format!("LOC#2024-05-01T00:00:00.000Z#{}", env.id())
        );
    }

    #[test]
    fn trips_and_non_geofence_events() {
        let (_, n) = normalize(
            Source::Location,
            r#"{"id":"p1","created_at":"2024-05-01T12:00:00Z","type":"user.updated_trip","MMUserId":"m",
                "location":{"coordinates":{"longitude":"1.5","latitude":"2.5"}},
                "trip":{"_id":"t9","metadata":{"route_session_type":"x"}}}"#,
        );
        assert_eq!(
            keys(&n),
            vec![
                (
                    "USER#m".to_owned(),
                    "LOC#2024-05-01T12:00:00.000Z#p1".to_owned()
                ),
                ("TRIP#t9".to_owned(), "META".to_owned()),
                ("USER#m".to_owned(), "PROFILE".to_owned()),
            ]
        );
        assert_eq!(
            n.rows[0].attrs["longitude"],
            json!(1.5),
            "numbers are numbers, not strings"
        );
        assert_eq!(n.latest[0].row().attrs["route_session_type"], json!("x"));
        assert!(n.geofence_events.is_empty());
    }

    #[test]
    fn trip_and_user_rows_are_versioned_by_their_event_time_else_by_arrival() {
        let (env, n) = normalize(
            Source::Location,
            r#"{"location":{"user_id":"u","latitude":1,"longitude":2,"created_at":"2024-05-01T00:00:00Z"},
                "trip":{"trip_id":"t","updated_at":"2024-05-01T00:00:02.5Z"},
                "user":{"user_id":"u","created_at":"2024-05-01T00:00:01Z"}}"#,
        );
        let versions: Vec<(StateKind, i64, String)> = n
            .latest
            .iter()
            .map(|r| {
                let v = r.version();
                (r.kind(), v.event_time_ms(), v.tiebreak().to_owned())
            })
            .collect();
        let id = env.id().to_string();
        assert_eq!(
            versions,
            vec![
                (StateKind::Trip, 1_714_521_602_500, id.clone()),
                (StateKind::User, 1_714_521_601_000, id.clone()),
            ]
        );
        assert_eq!(
            n.latest[0].row().attrs["event_time_ms"],
            json!(1_714_521_602_500i64)
        );
        assert_eq!(n.rows.len(), 1, "the location row is a one-event row");

        // No updatedAt, no user time: the arrival time of the message (2024-05-01T07:08:09.010Z).
        let (_, n) = normalize(
            Source::Location,
            r#"{"trip":{"trip_id":"t"},"user":{"user_id":"u"}}"#,
        );
        for r in &n.latest {
            assert_eq!(
                r.version().event_time_ms(),
                1_714_547_289_010,
                "{:?}",
                r.kind()
            );
        }
    }

    #[test]
    fn of_two_events_of_one_user_in_a_delivery_the_profile_is_the_newer_ones() {
        let (_, n) = normalize(
            Source::Location,
            r#"{"events":[
                {"_id":"new","createdAt":"2024-05-01T12:00:00Z","type":"user.updated",
                 "location":{"coordinates":[1,2]},"user":{"userId":"u","deviceId":"d-new"}},
                {"_id":"old","createdAt":"2024-05-01T11:00:00Z","type":"user.updated",
                 "location":{"coordinates":[1,2]},"user":{"userId":"u","deviceId":"d-old"}}]}"#,
        );
        assert_eq!(n.latest.len(), 1);
        assert_eq!(n.latest[0].row().attrs["device_id"], json!("d-new"));
    }
}
