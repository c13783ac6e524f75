//! The pure core and the compaction's rules, on an in-memory bucket.

use std::collections::BTreeMap;
use std::sync::Mutex;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use hookloop_domain::claim_check::ObjectStore;
use hookloop_domain::{encode_batch, raw_batch_key, MessageId, ServiceError, Source};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::*;

/// A bucket in memory; ETags are digests of the bytes, as S3's are for single-part uploads.
#[derive(Default)]
struct Memory {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    requests: Mutex<BTreeMap<&'static str, usize>>,
}

impl Memory {
    fn count(&self, op: &'static str) {
        *self.requests.lock().unwrap().entry(op).or_default() += 1;
    }
    fn insert(&self, key: String, body: Vec<u8>) {
        self.objects.lock().unwrap().insert(key, body);
    }
    fn curated(&self) -> BTreeMap<String, Vec<u8>> {
        let all = self.objects.lock().unwrap();
        all.iter()
            .filter(|(k, _)| k.starts_with("curated/") && k.ends_with(".parquet"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    fn take_requests(&self) -> BTreeMap<&'static str, usize> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl ObjectStore for &Memory {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        self.count("get");
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, body: Vec<u8>, _: &'static str) -> Result<(), ServiceError> {
        self.count("put");
        self.insert(key.to_owned(), body);
        Ok(())
    }
    fn locate(&self, key: &str) -> String {
        format!("memory:{key}")
    }
}

impl Bucket for &Memory {
    async fn list(&self, prefix: &str) -> Result<Vec<Object>, ServiceError> {
        self.count("list");
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| Object {
                key: k.clone(),
                etag: hex::encode(&Sha256::digest(v)[..]),
            })
            .collect())
    }
}

fn read_parquet(bytes: &[u8]) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .unwrap()
        .build()
        .unwrap();
    let mut batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 1, "one hour's table fits one batch here");
    batches.remove(0)
}

fn geofence_entry(event: &str, user: &str, geofence: &str) -> String {
    format!(
        r#"{{"event":{{"_id":"{event}","createdAt":"2026-11-22T05:10:00Z","type":"user.entered_geofence",
            "location":{{"type":"Point","coordinates":[-73.98,40.74]}},"geofence":{{"_id":"{geofence}","tag":"store"}}}},
            "user":{{"userId":"{user}"}}}}"#
    )
}

/// Writes one batch object of `source` with `(id, body)`, as the processor does.
fn archive(bucket: &Memory, source: Source, webhooks: &[(MessageId, String)]) -> String {
    let ids: Vec<MessageId> = webhooks.iter().map(|(id, _)| *id).collect();
    let key = raw_batch_key(source, &ids).unwrap();
    bucket.insert(
        key.clone(),
        encode_batch(webhooks.iter().map(|(id, b)| (*id, b.as_bytes()))),
    );
    key
}

/// A new message id stamped `ms` after `t` (its random part differs at every call).
fn at(t: OffsetDateTime, ms: i64) -> MessageId {
    MessageId::new(t + Duration::milliseconds(ms))
}

#[test]
fn every_table_is_typed_as_documented() {
    let time = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let le = Table::LocationEvents.schema();
    assert_eq!(
        le.field_with_name("latitude").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(le.field_with_name("created_at").unwrap().data_type(), &time);
    assert!(!le.field_with_name("user_id").unwrap().is_nullable());
    assert!(le.field_with_name("geofence_id").unwrap().is_nullable());
    assert_eq!(
        le.field_with_name("live").unwrap().data_type(),
        &DataType::Boolean
    );
    let cp = Table::ClevertapProfiles.schema();
    assert_eq!(
        cp.field_with_name("occurrences").unwrap().data_type(),
        &DataType::Int64
    );
    assert_eq!(
        Table::ExportStatus
            .schema()
            .field_with_name("at")
            .unwrap()
            .data_type(),
        &time
    );
}

#[test]
fn an_hour_of_every_source_becomes_typed_rows_one_per_message_even_when_redelivered() {
    let t = datetime!(2026-11-22 05:00:00 UTC);
    let location = [
        (at(t, 1), geofence_entry("e1", "u1", "g1")),
        (at(t, 2), geofence_entry("e2", "u2", "g1")),
        (
            at(t, 3),
            include_str!("../../../events/webhooks/location/structured.json").to_owned(),
        ),
    ];
    let campaign = [(
        at(t, 4),
        include_str!("../../../events/webhooks/clevertap/campaign-broadcast.json").to_owned(),
    )];
    let export = [(
        at(t, 5),
        include_str!("../../../events/webhooks/clevertap-export-status/export-completed.json")
            .to_owned(),
    )];
    let mut webhooks = Vec::new();
    for (source, list) in [
        (Source::Location, &location[..]),
        (Source::ClevertapWebhook, &campaign[..]),
        (Source::ClevertapExportStatus, &export[..]),
    ] {
        for (id, body) in list {
            webhooks.push(RawWebhook {
                source,
                id: *id,
                body: body.clone(),
            });
        }
    }
    // The first location message again, as a redelivery archived in a second batch object.
    webhooks.push(webhooks[0].clone());
    let rows = rows_of_hour(webhooks, &Default::default());
    assert_eq!((rows.webhooks, rows.duplicates), (5, 1));
    let count = |t: Table| rows.tables.get(&t).map_or(0, Vec::len);
    assert_eq!(
        count(Table::LocationEvents),
        3,
        "two geofence entries and one location"
    );
    assert_eq!(count(Table::Trips), 1);
    assert_eq!(count(Table::Users), 3, "u1, u2 and rider-77");
    assert!(count(Table::ClevertapProfiles) >= 2);
    assert_eq!(count(Table::ExportStatus), 1);

    let batch = record_batch(Table::LocationEvents, &rows.tables[&Table::LocationEvents]).unwrap();
    let back = read_parquet(&parquet_bytes(&batch).unwrap());
    assert_eq!(back.num_rows(), 3);
    assert_eq!(
        back.schema(),
        Table::LocationEvents.schema(),
        "Parquet keeps the types"
    );
    let lat = back
        .column_by_name("latitude")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap();
    assert_eq!(lat.value(0), 40.74);
    let created = back
        .column_by_name("created_at")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(
        created.value(0),
        (datetime!(2026-11-22 05:10:00 UTC).unix_timestamp() * 1000)
    );
    let geofence = back.column_by_name("geofence_id").unwrap();
    assert_eq!(
        geofence.null_count(),
        1,
        "the plain location update has no geofence"
    );
}

#[test]
fn a_test_call_and_a_body_the_parsers_refuse_make_no_rows() {
    let t = datetime!(2026-11-22 05:00:00 UTC);
    let refused = at(t, 2);
    let rows = rows_of_hour(
        vec![
            RawWebhook {
                source: Source::ClevertapWebhook,
                id: at(t, 1),
                body: include_str!("../../../events/webhooks/clevertap/test-call.json").into(),
            },
            RawWebhook {
                source: Source::Location,
                id: refused,
                body: "{}".into(),
            },
        ],
        &Default::default(),
    );
    assert!(rows.tables.is_empty());
    assert_eq!(rows.unreadable, vec![refused]);
}

#[tokio::test]
async fn compacting_an_hour_again_leaves_the_same_files_and_late_data_is_picked_up() {
    let bucket = Memory::default();
    let now = OffsetDateTime::now_utc();
    let hour = Hour::containing(now).previous().previous();
    let t = hour.start();
    let e1 = (at(t, 1), geofence_entry("e1", "u1", "g1"));
    archive(&bucket, Source::Location, std::slice::from_ref(&e1));
    let compactor = Compactor::new(
        &bucket,
        Settings {
            lookback_hours: 24,
            ..Settings::default()
        },
    );

    bucket.take_requests();
    let first = compactor.compact_due(now).await.unwrap();
    assert_eq!(first.compacted.len(), 1);
    // No manifest yet: the listing of the manifests says so, and none is read (a GET of a key
    // the function may not list would be refused by S3, not answered 404).
    assert_eq!(bucket.take_requests()["get"], 1, "only the raw object");
    let files = bucket.curated();
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        vec![
            curated_key(Table::LocationEvents, hour),
            curated_key(Table::Users, hour)
        ]
    );

    // Nothing changed: the schedule compacts nothing, and --hour rewrites the same bytes.
    assert!(compactor
        .compact_due(now)
        .await
        .unwrap()
        .compacted
        .is_empty());
    compactor.compact_hour(hour).await.unwrap();
    assert_eq!(bucket.curated(), files);

    // A redelivery (same message, second object) and a late message land in that hour.
    archive(
        &bucket,
        Source::Location,
        &[e1, (at(t, 9), geofence_entry("e9", "u9", "g1"))],
    );
    bucket.take_requests();
    let late = compactor.compact_due(now).await.unwrap();
    assert_eq!(late.compacted.len(), 1, "the changed hour, and only it");
    assert_eq!(
        late.compacted[0].rows["location_events"], 2,
        "e1 once, e9 once"
    );
    assert_eq!(late.compacted[0].duplicates, 1);
    let requests = bucket.take_requests();
    // A lookback of 24 h spans two days: one listing of the manifests, 3 listings a day (one
    // per source), the manifest of the day with raw objects, the hour's 2 raw objects; then its
    // 2 files and the manifest written.
    assert_eq!(requests["list"], 1 + 2 * 3, "{requests:?}");
    assert_eq!(requests["get"], 1 + 2, "{requests:?}");
    assert_eq!(requests["put"], 2 + 1, "{requests:?}");
}

#[tokio::test]
async fn the_current_hour_waits_and_a_backlog_is_done_newest_first() {
    let bucket = Memory::default();
    let now = datetime!(2026-11-22 05:30:00 UTC);
    for h in 0..=5 {
        let t = datetime!(2026-11-22 00:00:00 UTC) + Duration::hours(h);
        archive(
            &bucket,
            Source::Location,
            &[(at(t, 1), geofence_entry("e", "u", "g"))],
        );
    }
    let c = Compactor::new(
        &bucket,
        Settings {
            lookback_hours: 24,
            max_hours: 2,
            concurrency: 4,
            ..Settings::default()
        },
    );
    let run = c.compact_due(now).await.unwrap();
    let hours: Vec<String> = run.compacted.iter().map(|r| r.hour.to_string()).collect();
    assert_eq!(hours, ["2026-11-22T03", "2026-11-22T04"]);
    assert_eq!(run.deferred, 3);
    let next = c.compact_due(now).await.unwrap();
    assert_eq!(next.compacted.len(), 2);
    assert_eq!(next.deferred, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever the messages and however often each was redelivered into however many batch
    /// objects, each message's rows appear exactly once.
    #[test]
    fn each_message_appears_once_whatever_the_redeliveries(
        users in proptest::collection::vec(("[a-z0-9]{1,12}", -90.0f64..90.0, -180.0f64..180.0, 1usize..4), 1..20),
    ) {
        let t = datetime!(2026-11-22 05:00:00 UTC);
        let mut webhooks = Vec::new();
        for (i, (user, lat, lon, copies)) in users.iter().enumerate() {
            let id = at(t, i as i64);
            let body = format!(
                r#"{{"location":{{"user_id":"{user}","latitude":{lat},"longitude":{lon},"created_at":"2026-11-22T05:00:00Z"}}}}"#
            );
            for _ in 0..*copies {
                webhooks.push(RawWebhook { source: Source::Location, id, body: body.clone() });
            }
        }
        webhooks.reverse();
        let rows = rows_of_hour(webhooks, &Default::default());
        prop_assert_eq!(rows.webhooks, users.len());
        let events = &rows.tables[&Table::LocationEvents];
        prop_assert_eq!(events.len(), users.len());
        let batch = record_batch(Table::LocationEvents, events).unwrap();
        let back = read_parquet(&parquet_bytes(&batch).unwrap());
        prop_assert_eq!(back.num_rows(), users.len());
    }
}

#[test]
fn export_alert_times_are_read_in_export_timezone_as_the_processor_reads_them() {
    let t = datetime!(2026-11-22 05:00:00 UTC);
    let alert = RawWebhook {
        source: Source::ClevertapExportStatus,
        id: at(t, 1),
        body: include_str!(
            "../../../events/webhooks/clevertap-export-status/export-completed.json"
        )
        .into(),
    };
    let zone = hookloop_domain::exports::ExportZone::parse("Asia/Kolkata").unwrap();
    let rows = rows_of_hour(vec![alert], &zone);
    let export = &rows.tables[&Table::ExportStatus];
    assert_eq!(export.len(), 1);
    assert_eq!(export[0].attrs["at"], "2023-07-25T11:20:52.000Z");
    assert_eq!(export[0].attrs["at_raw"], "25/07/2023 4:50:52 PM");
}
