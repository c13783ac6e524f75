//! What `tests/curated.rs` sends (raw batch objects written with the archive code) and what
//! each named query (infra/queries/*.sql) must answer from it, worked out from what was sent.

use std::collections::{BTreeMap, BTreeSet};

use hookloop_curated::Hour;
use hookloop_domain::{encode_batch, raw_batch_key, MessageId, Source};
use hookloop_tests::TestEnv;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// What the test sends, and what each named query must answer from it.
pub struct Sent {
    pub webhooks: Vec<(Source, MessageId, String)>,
    pub entries: Vec<(String, String, String)>, // (day, geofence, user)
    pub trips: BTreeMap<String, (i64, i64)>,    // trip -> (start, last update), epoch seconds
    pub reach: BTreeMap<String, BTreeSet<String>>,
    pub exports: BTreeMap<String, (String, String)>, // id -> (at, status) of the latest alert
    pub events: usize,
}

impl Sent {
    pub fn new() -> Sent {
        Sent {
            webhooks: Vec::new(),
            entries: Vec::new(),
            trips: BTreeMap::new(),
            reach: BTreeMap::new(),
            exports: BTreeMap::new(),
            events: 0,
        }
    }

    pub fn next_id(&self, hour: Hour) -> MessageId {
        MessageId::new(hour.start() + time::Duration::milliseconds(self.webhooks.len() as i64 + 1))
    }

    pub fn geofence(&mut self, hour: Hour, n: usize, entered: bool) {
        let (day, geofence, user) = (
            format!("2026-11-2{}", n % 2),
            format!("g{}", n % 3),
            format!("u{}", n % 4),
        );
        let kind = if entered {
            "user.entered_geofence"
        } else {
            "user.exited_geofence"
        };
        let body = json!({"event": {"_id": format!("e{n}-{entered}"), "createdAt": format!("{day}T10:{:02}:00Z", n % 60),
            "type": kind, "location": {"type": "Point", "coordinates": [-73.98, 40.74]},
            "geofence": {"_id": geofence, "tag": "store"}}, "user": {"userId": user}});
        if entered {
            self.entries.push((day, geofence, user));
        }
        self.events += 1;
        let id = self.next_id(hour);
        self.webhooks.push((Source::Location, id, body.to_string()));
    }

    pub fn trip(&mut self, hour: Hour, trip: &str, started: i64, updated: i64) {
        let t = |s: i64| {
            OffsetDateTime::from_unix_timestamp(s)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let body = json!({"location": {"user_id": "driver", "latitude": 1.5, "longitude": 2.5, "created_at": t(updated)},
            "trip": {"trip_id": trip, "user_id": "driver", "started_at": t(started), "updated_at": t(updated)}});
        let e = self
            .trips
            .entry(trip.to_owned())
            .or_insert((started, updated));
        *e = (e.0.min(started), e.1.max(updated));
        self.events += 1;
        let id = self.next_id(hour);
        self.webhooks.push((Source::Location, id, body.to_string()));
    }

    pub fn campaign(&mut self, hour: Hour, target: u64, profiles: &[&str]) {
        let ps: Vec<Value> = profiles.iter().map(|p| json!({"objectId": p})).collect();
        let body = json!({"targetId": target, "profiles": ps});
        self.reach
            .entry(target.to_string())
            .or_default()
            .extend(profiles.iter().map(|p| p.to_string()));
        let id = self.next_id(hour);
        self.webhooks
            .push((Source::ClevertapWebhook, id, body.to_string()));
    }

    pub fn export(&mut self, hour: Hour, export: u64, status: &str, minute: u32) {
        let body = json!({"Export Request Id": export, "Status": status, "Date and Time": format!("20/11/2026 10:{minute:02}:00")});
        let at = format!("2026-11-20T10:{minute:02}:00.000Z");
        let e = self
            .exports
            .entry(export.to_string())
            .or_insert((at.clone(), status.to_owned()));
        if at >= e.0 {
            *e = (at, status.to_owned());
        }
        let id = self.next_id(hour);
        self.webhooks
            .push((Source::ClevertapExportStatus, id, body.to_string()));
    }

    /// Writes `webhooks[from..]` as batch objects (one per source), as the processor does.
    pub async fn archive(&self, env: &TestEnv, from: usize) {
        for source in Source::ALL {
            let batch: Vec<&(Source, MessageId, String)> = self.webhooks[from..]
                .iter()
                .filter(|w| w.0 == source)
                .collect();
            if batch.is_empty() {
                continue;
            }
            let ids: Vec<MessageId> = batch.iter().map(|w| w.1).collect();
            let key = raw_batch_key(source, &ids).unwrap();
            let bytes = encode_batch(batch.iter().map(|w| (w.1, w.2.as_bytes())));
            env.archive()
                .put_typed(&key, bytes, "application/gzip")
                .await
                .unwrap();
        }
    }

    pub fn expected_entries(&self) -> BTreeMap<(String, String), (u64, BTreeSet<String>)> {
        let mut m: BTreeMap<(String, String), (u64, BTreeSet<String>)> = BTreeMap::new();
        for (day, g, u) in &self.entries {
            let e = m.entry((day.clone(), g.clone())).or_default();
            e.0 += 1;
            e.1.insert(u.clone());
        }
        m
    }
}

pub fn assert_named_queries_answer(read: &Value, sent: &Sent) {
    let q = &read["queries"];
    let entries: BTreeMap<(String, String), (u64, u64)> = q["geofence_entries_per_day"]
        .as_array()
        .expect("geofence_entries_per_day ran")
        .iter()
        .map(|r| {
            (
                (
                    r["day"].as_str().unwrap().to_owned(),
                    r["geofence_id"].as_str().unwrap().to_owned(),
                ),
                (r["entries"].as_u64().unwrap(), r["users"].as_u64().unwrap()),
            )
        })
        .collect();
    let expected: BTreeMap<(String, String), (u64, u64)> = sent
        .expected_entries()
        .into_iter()
        .map(|(k, (n, users))| (k, (n, users.len() as u64)))
        .collect();
    assert_eq!(entries, expected, "geofence entries per day and geofence");

    let durations: BTreeMap<String, i64> = q["trip_durations"]
        .as_array()
        .expect("trip_durations ran")
        .iter()
        .map(|r| {
            (
                r["trip_id"].as_str().unwrap().to_owned(),
                r["duration_seconds"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, i64> = sent
        .trips
        .iter()
        .map(|(t, (s, u))| (t.clone(), u - s))
        .collect();
    assert_eq!(durations, expected, "trip durations");

    let reach: BTreeMap<String, u64> = q["campaign_reach"]
        .as_array()
        .expect("campaign_reach ran")
        .iter()
        .map(|r| {
            (
                r["target_id"].as_str().unwrap().to_owned(),
                r["profiles"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = sent
        .reach
        .iter()
        .map(|(t, p)| (t.clone(), p.len() as u64))
        .collect();
    assert_eq!(reach, expected, "campaign reach");

    let by_status: BTreeMap<String, u64> = q["exports_by_status"]
        .as_array()
        .expect("exports_by_status ran")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["exports"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (_, status) in sent.exports.values() {
        *expected.entry(status.clone()).or_default() += 1;
    }
    assert_eq!(by_status, expected, "exports by status");
}
