//! The sample events in `events/apigw`, `events/sqs` and `events/schedule` and what the functions
//! must do with each: one home for the expectations every test that invokes the Lambda binaries
//! asserts (`cargo lambda watch` in lambda_binaries.rs, `sam local invoke` in sam_local.rs).

use std::collections::BTreeSet;

use hookloop_curated::{curated_key, Hour, Table};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::{event_file, TestEnv};

/// What each API Gateway event must get back: status, and a field the body must hold.
pub fn expected_ingest_responses() -> Vec<(&'static str, u16, (&'static str, Value))> {
    vec![
        ("clevertap-campaign.json", 200, ("status", json!("queued"))),
        (
            "clevertap-test-call.json",
            200,
            ("status", json!("ignored")),
        ),
        (
            "clevertap-export-status.json",
            200,
            ("status", json!("queued")),
        ),
        (
            "location-radar-geofence.json",
            200,
            ("status", json!("queued")),
        ),
        (
            "location-platform-base64.json",
            200,
            ("status", json!("queued")),
        ),
        (
            "location-hypertrack-events.json",
            200,
            ("status", json!("queued")),
        ),
        // Foursquare's `Pilgrim-Secret` header carries the token.
        (
            "location-foursquare-geofence.json",
            200,
            ("status", json!("queued")),
        ),
        ("health.json", 200, ("status", json!("ok"))),
        (
            "location-missing-token.json",
            401,
            ("error", json!("unauthorized")),
        ),
        (
            "location-invalid-latitude.json",
            400,
            ("field", json!("/location/latitude")),
        ),
        (
            "location-wrong-content-type.json",
            415,
            ("error", json!("unsupported_media_type")),
        ),
        ("unknown-route.json", 404, ("error", json!("not_found"))),
    ]
}

/// The HyperTrack, Roam.ai and Foursquare fixtures (under `events/webhooks/`), which
/// `tests/platforms.rs` sends end to end.
pub const PLATFORM_FIXTURES: [&str; 5] = [
    "location/hypertrack-events.json",
    "location/roam-geofence-events.json",
    "location/roam-location.json",
    "location/foursquare-geofence-enter.json",
    "location/foursquare-visit-arrival.json",
];

/// The token the sample events carry.
pub const SAMPLE_TOKEN: &str = "dev-token";

/// The file names in `events/<dir>`.
pub fn files_in(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(event_file(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every sample event has its expectation here, and the SQS sample is the one batch.
pub fn assert_every_sample_event_is_expected() {
    let listed: BTreeSet<String> = expected_ingest_responses()
        .iter()
        .map(|(f, _, _)| f.to_string())
        .collect();
    assert_eq!(
        files_in("apigw"),
        listed,
        "every API Gateway sample event has an expected response here"
    );
    assert_eq!(
        files_in("sqs"),
        BTreeSet::from(["processor-batch.json".to_owned()])
    );
    assert_eq!(
        files_in("schedule"),
        BTreeSet::from([SCHEDULE_EVENT.to_owned(), EXPORTS_CHECK_EVENT.to_owned()])
    );
}

/// The compactor's sample: EventBridge's scheduled event of the hourly run at 13:10 on the day
/// of the sample SQS batch, so it compacts that batch's arrival hour.
pub const SCHEDULE_EVENT: &str = "compactor-hourly.json";

/// The processor's scheduled export check (every 15 minutes), at 13:15 on the day of the
/// sample SQS batch, whose export alert is a completed one time export: nothing is due.
pub const EXPORTS_CHECK_EVENT: &str = "processor-exports-check.json";

/// The arrival hour of the sample SQS batch's webhooks (their message ids' time).
pub const SAMPLE_BATCH_HOUR: &str = "2024-05-01T12";

/// The sample scheduled event with its `time` set to `at`, written under `dir`.
pub fn schedule_event_at(at: OffsetDateTime, dir: &std::path::Path) -> std::path::PathBuf {
    let path = event_file(&format!("schedule/{SCHEDULE_EVENT}"));
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the schedule event"))
            .expect("the schedule event is JSON");
    let time = at
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    event["time"] = Value::from(time);
    let out = dir.join(SCHEDULE_EVENT);
    std::fs::write(&out, event.to_string()).expect("write the schedule event");
    out
}

/// What the compactor must answer to the sample scheduled event once the sample batch is stored,
/// and leave in the bucket: the batch's hour compacted into its curated Parquet files.
pub async fn assert_sample_batch_compacted(env: &TestEnv, answer: &Value) {
    let compacted = answer["compacted"].as_array().cloned().unwrap_or_default();
    assert_eq!(compacted.len(), 1, "one hour compacted: {answer}");
    let done = &compacted[0];
    assert_eq!(done["hour"], SAMPLE_BATCH_HOUR, "{answer}");
    assert_eq!(done["webhooks"], 2, "the two stored envelopes: {answer}");
    let hour: Hour = SAMPLE_BATCH_HOUR.parse().expect("an hour");
    for table in [Table::LocationEvents, Table::ExportStatus] {
        assert!(
            done["rows"][table.name()].as_u64() >= Some(1),
            "{}: {answer}",
            table.name()
        );
        let key = curated_key(table, hour);
        let file = env
            .archive()
            .get(&key)
            .await
            .expect("read the curated file");
        assert!(
            file.is_some_and(|b| b.starts_with(b"PAR1")),
            "{key}: no Parquet file"
        );
    }
}

/// Asserts the ingest's answer (`statusCode`, JSON `body`) to the sample `file` is the documented
/// one; true when the webhook was queued.
pub fn assert_ingest_answer(file: &str, resp: &Value) -> bool {
    let (_, status, (field, value)) = expected_ingest_responses()
        .into_iter()
        .find(|(f, _, _)| *f == file)
        .unwrap_or_else(|| panic!("{file} has no expected response"));
    assert_eq!(resp["statusCode"], status, "{file}: {resp}");
    let body: Value = serde_json::from_str(resp["body"].as_str().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{file}: the body is not JSON ({e}): {resp}"));
    assert_eq!(body[field], value, "{file}: {body}");
    body["status"] == "queued"
}

/// What the processor must leave after `events/sqs/processor-batch.json`: its two envelopes
/// archived, their rows stored, the geofence entry on the stream, and the poison record on the
/// DLQ with its stage.
pub async fn assert_sample_batch_stored(env: &TestEnv) {
    let archive = env.archive();
    for (source, id) in [
        ("clevertap.export_status", "01HWT0D7G0EXP0RTSTATVS0001"),
        ("location", "01HWT0D7G0RADARGE0FENCE002"),
    ] {
        let (key, _) = archive
            .find(source.parse().unwrap(), id.parse().unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not archived"));
        assert!(
            key.starts_with(&format!("raw/source={source}/dt=2024-05-01/hour=12/"))
                && key.ends_with(".ndjson.gz"),
            "{key}"
        );
    }
    let export = env
        .table()
        .get(
            "EXPORT#1690283492",
            "STATUS#2023-07-25T16:50:52.000Z#Completed",
        )
        .await
        .unwrap();
    assert!(export.is_some(), "export status row");
    let location = env
        .table()
        .get(
            "USER#cust-1001",
            "LOC#2024-05-01T12:10:00.000Z#66329c1e5f8a2b0019e4a001",
        )
        .await
        .unwrap();
    assert_eq!(
        hookloop_aws::dynamodb::item_to_json(&location.expect("location row"))["message_id"],
        "01HWT0D7G0RADARGE0FENCE002"
    );
    let records = env.stream_records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1["event_id"], "66329c1e5f8a2b0019e4a001");
    let dead = env.dlq_messages(1).await;
    assert_eq!(dead[0].0, "this is not a hookloop envelope");
    assert_eq!(dead[0].1["stage"], "parse");
}

/// What load-back must send for the sample batch by the example rules: the geofence entry,
/// once; the export alert raises nothing.
pub fn assert_sample_batch_loaded_back(stub: &hookloop_clevertap::stub::Stub) {
    let loaded: Vec<Value> = stub.accepted().into_iter().map(|a| a.record).collect();
    assert_eq!(loaded.len(), 1, "{loaded:?}");
    assert_eq!(loaded[0]["evtName"], "Geofence Entered");
    assert_eq!(loaded[0]["identity"], "cust-1001");
}
