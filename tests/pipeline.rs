//! The pipeline's promises, end to end: moto started here, the real `hookloop serve` (the same
//! ingest and processor handlers the Lambdas run), read back from S3, DynamoDB and Kinesis.

use std::collections::HashSet;
use std::time::Duration;

use hookloop_domain::{Envelope, Source};
use hookloop_tests::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// `raw/source=<source>/dt=YYYY-MM-DD/hour=HH/<id>.json`, from the arrival time in the ULID.
fn documented_raw_partition(source: &str, id: &str) -> String {
    let ulid = ulid::Ulid::from_string(id).expect("ids are ULIDs");
    let t = OffsetDateTime::from(ulid.datetime());
    format!(
        "raw/source={source}/dt={:04}-{:02}-{:02}/hour={:02}/",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

/// Asserts the item at (pk, sk) holds every attribute of `expected`, with the same JSON type.
async fn assert_item(env: &TestEnv, pk: &str, sk: &str, expected: Value) {
    let item = eventually(
        &format!("item {pk} | {sk}"),
        Duration::from_secs(30),
        || async { env.table().get(pk, sk).await.expect("GetItem") },
    )
    .await;
    let item = hookloop_aws::dynamodb::item_to_json(&item);
    for (k, v) in expected
        .as_object()
        .expect("expected attributes are an object")
    {
        assert_eq!(item.get(k), Some(v), "{pk} | {sk}: attribute {k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_webhook_lands_in_every_store_it_belongs_in() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();

    let samples = [
        (
            "clevertap/campaign-broadcast.json",
            "/webhooks/clevertap",
            "clevertap.webhook",
        ),
        (
            "clevertap/journey-single-profile.json",
            "/webhooks/clevertap",
            "clevertap.webhook",
        ),
        (
            "clevertap-export-status/export-completed.json",
            "/webhooks/clevertap/export-status",
            "clevertap.export_status",
        ),
        ("location/structured.json", "/webhooks/location", "location"),
        (
            "location/platform-trip.json",
            "/webhooks/location",
            "location",
        ),
        (
            "location/radar-geofence-entered.json",
            "/webhooks/location",
            "location",
        ),
        (
            "location/radar-events-batch.json",
            "/webhooks/location",
            "location",
        ),
    ];
    let mut fixtures: Vec<String> = samples.iter().map(|(f, _, _)| f.to_string()).collect();
    fixtures.push("clevertap/test-call.json".into());
    // The other location platforms' fixtures go end to end in tests/platforms.rs.
    fixtures.extend(samples::PLATFORM_FIXTURES.map(String::from));
    let on_disk: HashSet<String> = std::fs::read_dir(event_file("webhooks"))
        .unwrap()
        .flat_map(|d| {
            let d = d.unwrap();
            let dir = d.file_name().to_string_lossy().into_owned();
            std::fs::read_dir(d.path())
                .unwrap()
                .map(move |f| format!("{dir}/{}", f.unwrap().file_name().to_string_lossy()))
        })
        .collect();
    assert_eq!(
        on_disk,
        fixtures.into_iter().collect::<HashSet<_>>(),
        "every webhook fixture is exercised here"
    );

    let mut ids = std::collections::HashMap::new();
    for (file, route, source) in samples {
        let body = std::fs::read(event_file(&format!("webhooks/{file}"))).unwrap();
        let (status, answer) = serve.post(&http, route, body.clone()).await;
        assert_eq!(status, 200, "{file}: {answer}");
        assert_eq!(answer["status"], "queued");
        let id = answer["id"].as_str().expect("id").to_owned();
        ids.insert(file, (id, source, body));
    }
    // The dashboard's test call is acknowledged and stored nowhere.
    let test_call = std::fs::read(event_file("webhooks/clevertap/test-call.json")).unwrap();
    let (status, answer) = serve.post(&http, "/webhooks/clevertap", test_call).await;
    assert_eq!(
        (status, answer),
        (200, json!({"status": "ignored", "reason": "is_test"}))
    );

    // S3: the raw body, byte for byte, in a batch object under the documented Hive-style
    // partition: `<first id>-<last id>-<8 hex>.ndjson.gz`, gzip of one JSON line per webhook.
    let archived = env
        .wait_for_archived(samples.len(), Duration::from_secs(120))
        .await;
    assert_eq!(
        archived.len(),
        samples.len(),
        "every queued webhook archived, not the test call"
    );
    let keys = env.archive().list("raw/").await.unwrap();
    for (file, (id, source, body)) in &ids {
        let partition = documented_raw_partition(source, id);
        // Objects whose name says they may hold this id (batches processed side by side can
        // have overlapping id ranges), then the one line that is this webhook.
        let mut holders = Vec::new();
        for key in keys.iter().filter(|k| {
            let Some(name) = k.strip_prefix(&partition) else {
                return false;
            };
            let Some(range) = name.strip_suffix(".ndjson.gz") else {
                return false;
            };
            let parts: Vec<&str> = range.split('-').collect();
            parts.len() == 3
                && parts[0] <= id.as_str()
                && id.as_str() <= parts[1]
                && parts[2].len() == 8
                && parts[2].chars().all(|c| c.is_ascii_hexdigit())
        }) {
            let gz = env.archive().get(key).await.unwrap().unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
                .unwrap();
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|l| l["id"] == id.as_str())
                .collect();
            if !lines.is_empty() {
                holders.push((key, lines));
            }
        }
        // Once, unless SQS delivered the message twice (at least once: README's Guarantees),
        // and then every copy is the same bytes.
        assert!(!holders.is_empty(), "{file}: in no object of {keys:?}");
        for line in holders.iter().flat_map(|(_, lines)| lines) {
            assert_eq!(
                line["body"].as_str().unwrap().as_bytes(),
                &body[..],
                "{file}: archived bytes differ from the body sent"
            );
            assert_eq!(
                line["received_at"].as_str().unwrap(),
                hookloop_domain::MessageId::received_at(&id.parse().unwrap()).canonical()
            );
        }
        let found = env
            .archive()
            .find(source.parse().unwrap(), id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(
            found.map(|(_, b)| b),
            Some(body.clone()),
            "{file}: found by id"
        );
    }

    // DynamoDB: the documented keys, numbers as numbers.
    let id = |f: &str| ids[f].0.clone();
    let broadcast = id("clevertap/campaign-broadcast.json");
    assert_item(&env, "CT#__g8a3e7f0c1d2b4e5f6a7b8c9d0e1f2a3", &format!("CAMPAIGN#1700000001#{broadcast}"), json!({
        "kind": "campaign_profile", "source": "clevertap.webhook", "message_id": broadcast,
        "target_id": "1700000001", "object_id": "__g8a3e7f0c1d2b4e5f6a7b8c9d0e1f2a3", "identity": "cust-1001",
        "email": "ana@example.com", "name": "Ana Lima", "phone": "+5511999990001",
        "key_values": {"coupon_code": "SPRING25", "discount_pct": 25, "campaign_name": "Spring sale"},
        "profile_data": {"plan": "gold", "city": "Sao Paulo", "lifetime_value": 1840.5},
    })).await;
    assert_item(&env, "CT#__g1b2c3d4e5f60718293a4b5c6d7e8f90", &format!("CAMPAIGN#1700000001#{broadcast}"), json!({
        "identity": "cust-1002", "email": "raj@example.com", "profile_data": {"plan": "silver", "city": "Pune"},
    })).await;
    let journey = id("clevertap/journey-single-profile.json");
    assert_item(
        &env,
        "CT#__g0f9e8d7c6b5a4938271605f4e3d2c1b",
        &format!("CAMPAIGN#1700000002#{journey}"),
        json!({
            "identity": "cust-2001", "email": "mei@example.com", "name": "Mei Chen",
            "key_values": {"journey": "Onboarding", "step": 3},
            "profile_data": {"plan": "trial", "signup_ts": 1714560000000u64},
            "event_properties": {"screen": "pricing", "ab_bucket": "B"},
        }),
    )
    .await;
    assert_item(&env, "EXPORT#1690283492", "STATUS#2023-07-25T16:50:52.000Z#Completed", json!({
        "kind": "export_status", "export_request_id": "1690283492", "status": "Completed", "partner": "Amazon S3",
        "type": "Events", "frequency": "One Time", "at": "2023-07-25T16:50:52.000Z", "at_raw": "25/07/2023 4:50:52 PM",
        "message_id": id("clevertap-export-status/export-completed.json"),
    })).await;
    assert_item(&env, "USER#rider-77", "LOC#2024-05-01T12:00:00.000Z#evt-structured-0001", json!({
        "kind": "location", "shape": "structured", "user_id": "rider-77", "event_id": "evt-structured-0001",
        "event_type": "location.updated", "latitude": 40.7484, "longitude": -73.9857,
        "created_at": "2024-05-01T12:00:00.000Z", "live": true, "message_id": id("location/structured.json"),
    })).await;
    assert_item(&env, "TRIP#trip-5501", "META", json!({
        "kind": "trip", "trip_id": "trip-5501", "external_id": "order-88231", "user_id": "rider-77",
        "created_at": "2024-05-01T11:40:00.000Z", "updated_at": "2024-05-01T12:00:00.000Z",
        "started_at": "2024-05-01T11:45:00.000Z", "route_session_type": "delivery",
    })).await;
    assert_item(
        &env,
        "USER#rider-77",
        "PROFILE",
        json!({"kind": "user", "event_id": "evt-structured-0001", "live": true}),
    )
    .await;
    assert_item(&env, "USER#mm-user-9001", "LOC#2024-05-01T12:05:30.250Z#evt-platform-0042", json!({
        "shape": "platform", "latitude": 36.92, "longitude": -120.23, "live": true, "event_type": "user.updated_trip",
    })).await;
    assert_item(
        &env,
        "TRIP#trip-mm-311",
        "META",
        json!({
            "external_id": "booking-311", "user_id": "mm-user-9001", "route_session_type": "pickup",
            "started_at": "2024-05-01T11:02:00.000Z", "updated_at": "2024-05-01T12:05:30.000Z",
        }),
    )
    .await;
    assert_item(
        &env,
        "USER#mm-user-9001",
        "PROFILE",
        json!({"event_id": "evt-platform-0042", "live": true}),
    )
    .await;
    assert_item(&env, "USER#cust-1001", "LOC#2024-05-01T12:10:00.000Z#66329c1e5f8a2b0019e4a001", json!({
        "shape": "radar", "event_type": "user.entered_geofence", "latitude": 40.7484, "longitude": -73.9857,
        "accuracy": 12, "geofence_id": "5f1c0000000000000000g042", "geofence_tag": "store",
        "geofence_external_id": "store-42", "geofence_description": "Store 42 - Midtown",
    })).await;
    for (sk, ty) in [
        (
            "LOC#2024-05-01T12:20:00.000Z#66329c1e5f8a2b0019e4a101",
            "user.dwelled_in_geofence",
        ),
        (
            "LOC#2024-05-01T12:31:00.000Z#66329c1e5f8a2b0019e4a102",
            "user.exited_geofence",
        ),
        (
            "LOC#2024-05-01T12:31:05.000Z#66329c1e5f8a2b0019e4a103",
            "user.started_trip",
        ),
    ] {
        assert_item(
            &env,
            "USER#cust-1001",
            sk,
            json!({"event_type": ty, "message_id": id("location/radar-events-batch.json")}),
        )
        .await;
    }
    assert_item(
        &env,
        "TRIP#5f1c0000000000000000t777",
        "META",
        json!({"external_id": "order-777", "status": "started", "user_id": "cust-1001"}),
    )
    .await;
    assert_item(
        &env,
        "USER#cust-1001",
        "PROFILE",
        json!({"device_id": "C305F2DB-56DC-404F-B6C1-BC52F0B680D8"}),
    )
    .await;
    // The export's tracker: its summary and its directory item (docs/exports.md).
    assert_item(
        &env,
        "EXPORT#1690283492",
        "SUMMARY",
        json!({"kind": "export_summary", "status": "completed", "last_status": "Completed",
               "completed_at": "2023-07-25T16:50:52.000Z", "revision": 1}),
    )
    .await;
    assert_item(
        &env,
        "EXPORTS",
        "1690283492",
        json!({"kind": "export_index", "export_request_id": "1690283492"}),
    )
    .await;
    assert_eq!(
        env.scan_rows().await.len(),
        18,
        "no rows beyond the documented ones"
    );

    // Kinesis: one record per geofence transition, partitioned by user.
    let records = eventually("3 geofence records", Duration::from_secs(30), || async {
        let r = env.stream_records().await;
        (r.len() >= 3).then_some(r)
    })
    .await;
    assert_eq!(
        records.len(),
        3,
        "entered, dwelled, exited; not the trip start"
    );
    let entered = records
        .iter()
        .find(|(_, r)| r["type"] == "user.entered_geofence")
        .expect("entered record");
    assert_eq!(entered.0, "cust-1001");
    assert_eq!(
        entered.1,
        json!({
            "event_id": "66329c1e5f8a2b0019e4a001", "type": "user.entered_geofence", "user_id": "cust-1001",
            "geofence_id": "5f1c0000000000000000g042", "geofence_tag": "store", "geofence_external_id": "store-42",
            "latitude": 40.7484, "longitude": -73.9857, "time": "2024-05-01T12:10:00.000Z",
            "message_id": id("location/radar-geofence-entered.json"),
        })
    );
    let types: HashSet<&str> = records
        .iter()
        .map(|(_, r)| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        HashSet::from([
            "user.entered_geofence",
            "user.dwelled_in_geofence",
            "user.exited_geofence"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_clear_4xx_and_nothing_is_queued() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    let radar = std::fs::read(event_file("webhooks/location/radar-geofence-entered.json")).unwrap();
    let url = |p: &str| format!("{}{p}", serve.url);
    let json_post = |p: &str| http.post(url(p)).header("content-type", "application/json");

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        ("no credential", json_post("/webhooks/location").body(radar.clone()), 401, None),
        ("wrong token", json_post("/webhooks/location").header("x-webhook-token", "nope").body(radar.clone()), 401, None),
        ("wrong bearer", json_post("/webhooks/location").header("authorization", "Bearer nope").body(radar.clone()), 401, None),
        ("unknown route", json_post("/webhooks/sms").header("x-webhook-token", TEST_TOKEN).body(radar.clone()), 404, None),
        ("wrong method", http.get(url("/webhooks/location")).header("x-webhook-token", TEST_TOKEN), 405, None),
        ("not JSON", http.post(url("/webhooks/location")).header("x-webhook-token", TEST_TOKEN).header("content-type", "text/plain").body(radar.clone()), 415, None),
        ("too large", json_post("/webhooks/location").header("x-webhook-token", TEST_TOKEN).body(vec![b' '; 6 * 1024 * 1024 + 1]), 413, None),
        ("invalid JSON", json_post("/webhooks/location").header("x-webhook-token", TEST_TOKEN).body("{\"event\":"), 400, Some("")),
        ("missing objectId", json_post("/webhooks/clevertap").header("x-webhook-token", TEST_TOKEN).body(r#"{"targetId":1,"profiles":[{"email":"a@b.c"}]}"#), 400, Some("/profiles/0/objectId")),
        ("latitude out of range", json_post("/webhooks/location").header("x-webhook-token", TEST_TOKEN).body(r#"{"location":{"user_id":"u","latitude":91,"longitude":0,"created_at":"2024-05-01T00:00:00Z"}}"#), 400, Some("/location/latitude")),
        ("bad timestamp", json_post("/webhooks/clevertap/export-status").header("x-webhook-token", TEST_TOKEN).body(r#"{"Export Request Id":1,"Status":"Completed","Date and Time":"yesterday"}"#), 400, Some("/Date and Time")),
    ];
    for (what, req, status, field) in cases {
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let body: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: body is JSON ({e})"));
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
        if let Some(f) = field {
            assert_eq!(body["field"], f, "{what}: {body}");
        }
        assert!(
            !body.to_string().contains(TEST_TOKEN),
            "{what}: the token is never echoed"
        );
    }

    // A valid webhook after all that: once it has landed, it is the only thing that did.
    let (status, _) = serve.post(&http, "/webhooks/location", radar).await;
    assert_eq!(status, 200);
    env.wait_for_archived(1, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        env.archived_ids().await.len(),
        1,
        "no rejected request was queued"
    );
    assert_eq!(env.dlq().depth().await.unwrap(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_raw_archive_object_each_webhook_is_its_own_object_at_its_documented_key() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[("RAW_ARCHIVE", "object")]).await;
    let body = std::fs::read(event_file("webhooks/location/structured.json")).unwrap();
    let (status, answer) = serve
        .post(&reqwest::Client::new(), "/webhooks/location", body.clone())
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    let key = format!("{}{id}.json", documented_raw_partition("location", &id));
    let stored = eventually("the raw object", Duration::from_secs(60), || async {
        env.archive().get(&key).await.unwrap()
    })
    .await;
    assert_eq!(stored, body, "the body, byte for byte");
    assert_eq!(env.archive().list("raw/").await.unwrap(), vec![key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_answers_503_when_the_queue_refuses_never_200() {
    let env = TestEnv::start().await;
    let missing = format!("{}/123456789012/no-such-queue", env.moto.endpoint);
    let serve = env.serve(&[("QUEUE_URL", &missing)]).await;
    let body = std::fs::read(event_file("webhooks/location/structured.json")).unwrap();
    let (status, answer) = serve
        .post(&reqwest::Client::new(), "/webhooks/location", body)
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "queue_unavailable");
}

fn envelope(source: Source, body: &str) -> Envelope {
    Envelope::received(source, body.to_owned(), OffsetDateTime::now_utc())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_go_to_the_dlq_with_their_reason_without_blocking_their_batch() {
    let env = TestEnv::start().await;
    let queue = env.queue();
    let good = envelope(
        Source::Location,
        &String::from_utf8(std::fs::read(event_file("webhooks/location/structured.json")).unwrap())
            .unwrap(),
    );
    let bad_payload = envelope(
        Source::Location,
        r#"{"location":{"user_id":"u","latitude":100,"longitude":0,"created_at":"2024-05-01T00:00:00Z"}}"#,
    );
    let future_version = r#"{"v":2,"id":"01HX0000000000000000000000","source":"location","received_at":"2024-05-01T00:00:00Z","body":"{}"}"#;
    for body in [
        "not an envelope",
        future_version,
        &bad_payload.encode(),
        &good.encode(),
    ] {
        queue
            .send(body.to_owned(), &[("source", "location".to_owned())])
            .await
            .unwrap();
    }
    let _serve = env.serve(&[]).await;

    let mut dead = env.dlq_messages(3).await;
    dead.sort_by(|a, b| a.1["error_code"].as_str().cmp(&b.1["error_code"].as_str()));
    let codes: Vec<&str> = dead
        .iter()
        .map(|(_, a)| a["error_code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "envelope_malformed",
            "envelope_unsupported_version",
            "payload_invalid"
        ]
    );
    for (body, attrs) in &dead {
        assert_eq!(attrs["stage"], "parse");
        assert_eq!(
            attrs["attempts"], "1",
            "never retried: it can never succeed"
        );
        assert_eq!(attrs["source"], "location");
        let failed_at = attrs["failed_at"].as_str().unwrap();
        assert!(
            OffsetDateTime::parse(failed_at, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{failed_at}"
        );
        assert!(!attrs["error"].as_str().unwrap().is_empty());
        assert!(
            [
                "not an envelope",
                future_version,
                bad_payload.encode().as_str()
            ]
            .contains(&body.as_str()),
            "the original body is kept for redrive"
        );
    }
    assert!(
        dead[2].1["error"]
            .as_str()
            .unwrap()
            .contains("/location/latitude"),
        "{:?}",
        dead[2].1
    );

    // The good message of the same batch is stored, and the queue is empty.
    assert_item(
        &env,
        "USER#rider-77",
        "PROFILE",
        json!({"message_id": good.id().to_string()}),
    )
    .await;
    eventually("queue drained", Duration::from_secs(30), || async {
        (queue.depth().await.unwrap() == (0, 0)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_refuses_for_good_dead_letters_with_stage_and_code() {
    let env = TestEnv::start().await;
    let _serve = env.serve(&[("TABLE_NAME", "no-such-table")]).await;
    let body = std::fs::read(event_file("webhooks/location/structured.json")).unwrap();
    let msg = envelope(Source::Location, std::str::from_utf8(&body).unwrap());
    env.queue()
        .send(
            msg.encode(),
            &[
                ("source", "location".into()),
                ("message_id", msg.id().to_string()),
            ],
        )
        .await
        .unwrap();
    let dead = env.dlq_messages(1).await;
    let (dlq_body, attrs) = &dead[0];
    assert_eq!(dlq_body, &msg.encode());
    assert_eq!(attrs["stage"], "store");
    assert_eq!(
        attrs["error_code"],
        "dynamodb.BatchWriteItem:ResourceNotFoundException"
    );
    assert_eq!(attrs["message_id"], msg.id().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_message_rewrites_the_same_items() {
    let env = TestEnv::start().await;
    let body = std::fs::read(event_file("webhooks/location/radar-events-batch.json")).unwrap();
    let msg = envelope(Source::Location, std::str::from_utf8(&body).unwrap());
    for _ in 0..2 {
        env.queue().send(msg.encode(), &[]).await.unwrap();
    }
    let _serve = env.serve(&[]).await;
    eventually(
        "both deliveries processed",
        Duration::from_secs(30),
        || async {
            // Two deliveries of 2 geofence events: 4 records, more if the loaded machine
            // redelivers one past the visibility timeout (at least once).
            (env.stream_records().await.len() >= 4 && env.queue().depth().await.unwrap() == (0, 0))
                .then_some(())
        },
    )
    .await;
    assert_eq!(env.archived_ids().await.len(), 1, "one webhook archived");
    assert_eq!(
        env.scan_rows().await.len(),
        5,
        "3 locations, 1 trip, 1 user: no duplicates"
    );
    let records = env.stream_records().await;
    let event_ids: HashSet<&str> = records
        .iter()
        .map(|(_, r)| r["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        event_ids.len(),
        2,
        "Kinesis may repeat a record; each carries its event_id for consumers to deduplicate"
    );
}

fn hmac_sha1_hex(key: &str, message: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_authenticate_by_token_basic_or_radar_signature_and_no_secret_is_logged() {
    use base64::Engine;
    let env = TestEnv::start().await;
    let (old_token, new_token, basic_password) =
        ("rotated-out-3f9a", "rotated-in-8c2e", "b4sic-pa55");
    let serve = env
        .serve(&[
            ("WEBHOOK_TOKEN", &format!("{old_token},{new_token}")),
            ("WEBHOOK_BASIC_AUTH", &format!("clevertap:{basic_password}")),
            (
                "RUST_LOG",
                "debug,aws_smithy_runtime=info,aws_sdk_sqs=info,hyper=info",
            ),
        ])
        .await;
    let http = reqwest::Client::new();
    let campaign = std::fs::read(event_file("webhooks/clevertap/campaign-broadcast.json")).unwrap();
    let radar = std::fs::read(event_file("webhooks/location/radar-geofence-entered.json")).unwrap();
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    let post = |route: &str, body: &[u8], headers: &[(&str, String)]| {
        let mut req = http
            .post(format!("{}{route}", serve.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req
    };

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        ("old token, during rotation", post("/webhooks/clevertap", &campaign, &[("x-webhook-token", old_token.into())]), 200, ""),
        ("new token as Bearer", post("/webhooks/location", &radar, &[("authorization", format!("Bearer {new_token}"))]), 200, ""),
        ("CleverTap's HTTP Basic", post("/webhooks/clevertap", &campaign, &[("authorization", basic("clevertap", basic_password))]), 200, ""),
        ("wrong Basic password", post("/webhooks/clevertap", &campaign, &[("authorization", basic("clevertap", "guess"))]), 401, "Basic user or password is not valid"),
        ("Basic on the location route", post("/webhooks/location", &radar, &[("authorization", basic("clevertap", basic_password))]), 401, "not accepted on this route"),
        (
            "Radar signature over the signing id",
            post("/webhooks/location", &radar, &[("x-radar-signing-id", "sig-77".into()), ("x-radar-signature", hmac_sha1_hex(new_token, "sig-77"))]),
            200,
            "",
        ),
        (
            "older Radar signature over the event _id",
            post("/webhooks/location", &radar, &[("x-radar-signature", hmac_sha1_hex(old_token, "66329c1e5f8a2b0019e4a001"))]),
            200,
            "",
        ),
        (
            "Radar signature with another key",
            post("/webhooks/location", &radar, &[("x-radar-signing-id", "sig-77".into()), ("x-radar-signature", hmac_sha1_hex("not-the-token", "sig-77"))]),
            401,
            "X-Radar-Signature does not match",
        ),
        ("nothing", post("/webhooks/clevertap/export-status", b"{}", &[]), 401, "missing credential: send X-Webhook-Token or Authorization: Bearer, or Authorization: Basic"),
    ];
    let mut accepted = 0;
    for (what, req, status, message) in cases {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{what}: {body}"
        );
        // Repeats of one body are answered "duplicate" and archived once.
        accepted += usize::from(body["status"] == "queued");
    }
    env.wait_for_archived(accepted, Duration::from_secs(60))
        .await;

    let logs = serve.logs();
    assert!(
        logs.contains("queued"),
        "the logs were captured at debug level"
    );
    for secret in [old_token, new_token, basic_password, TEST_TOKEN] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_lettered_webhooks_are_listed_with_their_reason_and_redriven_once_the_cause_is_fixed()
{
    let env = TestEnv::start().await;
    let http = reqwest::Client::new();
    let samples = [
        ("location/structured.json", "/webhooks/location"),
        ("location/platform-trip.json", "/webhooks/location"),
        (
            "clevertap-export-status/export-completed.json",
            "/webhooks/clevertap/export-status",
        ),
    ];
    // A processor pointed at a table that does not exist dead-letters everything.
    let mut ids = Vec::new();
    {
        let broken = env.serve(&[("TABLE_NAME", "no-such-table")]).await;
        for (file, route) in samples {
            let (status, answer) = broken
                .post(
                    &http,
                    route,
                    std::fs::read(event_file(&format!("webhooks/{file}"))).unwrap(),
                )
                .await;
            assert_eq!(status, 200);
            ids.push(answer["id"].as_str().unwrap().to_owned());
        }
        eventually("3 dead-lettered", Duration::from_secs(30), || async {
            (env.dlq().depth().await.unwrap() == (3, 0)).then_some(())
        })
        .await;
    }

    let (ok, out, err) = env.hookloop(&["dlq", "list", "--json"]).await;
    assert!(ok, "{err}");
    let listed: Vec<Value> =
        serde_json::from_str(&out).expect("dlq list --json prints a JSON array");
    assert_eq!(listed.len(), 3);
    let mut listed_ids: Vec<&str> = listed
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    listed_ids.sort();
    let mut sent_ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    sent_ids.sort();
    assert_eq!(listed_ids, sent_ids);
    for e in &listed {
        assert_eq!(e["stage"], "store");
        // The first call to the missing table is the batch's deduplication check.
        assert_eq!(
            e["error_code"],
            "dynamodb.BatchGetItem:ResourceNotFoundException"
        );
        assert!(
            Envelope::decode(e["body"].as_str().unwrap()).is_ok(),
            "the original envelope"
        );
    }
    let (ok, table, _) = env.hookloop(&["dlq", "list"]).await;
    assert!(
        ok && table.starts_with("MESSAGE ID") && ids.iter().all(|id| table.contains(id.as_str())),
        "{table}"
    );
    assert_eq!(
        env.dlq().depth().await.unwrap(),
        (3, 0),
        "listing leaves the messages in the DLQ"
    );

    let (ok, out, _) = env
        .hookloop(&[
            "dlq",
            "redrive",
            "--filter",
            "source=clevertap.export_status",
            "--dry-run",
        ])
        .await;
    assert!(ok && out.contains("would move 1 message(s)"), "{out}");
    assert_eq!(
        env.dlq().depth().await.unwrap(),
        (3, 0),
        "a dry run moves nothing"
    );
    let (ok, out, _) = env
        .hookloop(&[
            "dlq",
            "redrive",
            "--filter",
            "source=clevertap.export_status",
        ])
        .await;
    assert!(
        ok && out.contains("moved 1 message(s) to the queue; 2 left"),
        "{out}"
    );
    let (ok, out, err) = env.hookloop(&["dlq", "redrive"]).await;
    assert!(ok && out.contains("moved 2 message(s)"), "{out}{err}");
    assert_eq!(env.dlq().depth().await.unwrap(), (0, 0));
    let (ok, _, err) = env.hookloop(&["dlq", "redrive", "--filter", "stage"]).await;
    assert!(!ok && err.contains("expected NAME=VALUE"), "{err}");

    // With the cause fixed, the redriven webhooks land.
    let _fixed = env.serve(&[]).await;
    assert_item(
        &env,
        "EXPORT#1690283492",
        "STATUS#2023-07-25T16:50:52.000Z#Completed",
        json!({"message_id": ids[2]}),
    )
    .await;
    assert_item(
        &env,
        "TRIP#trip-5501",
        "META",
        json!({"message_id": ids[0]}),
    )
    .await;
    assert_item(
        &env,
        "TRIP#trip-mm-311",
        "META",
        json!({"message_id": ids[1]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_webhooks_replay_into_the_same_items() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    for file in [
        "location/structured.json",
        "location/radar-geofence-entered.json",
        "clevertap-export-status/export-completed.json",
    ] {
        let route = if file.starts_with("location") {
            "/webhooks/location"
        } else {
            "/webhooks/clevertap/export-status"
        };
        assert_eq!(
            serve
                .post(
                    &http,
                    route,
                    std::fs::read(event_file(&format!("webhooks/{file}"))).unwrap()
                )
                .await
                .0,
            200
        );
    }
    env.wait_for_archived(3, Duration::from_secs(60)).await;
    let rows = eventually("all rows", Duration::from_secs(30), || async {
        let rows = env.scan_rows().await;
        // 4 webhook rows, and the export's summary and directory item.
        (rows.len() == 8).then_some(rows)
    })
    .await;

    // Kinesis is at least once: a message redelivered while the machine is loaded streams its
    // record again. What was streamed is counted once the queue is drained.
    let streamed = eventually(
        "the geofence event streamed",
        Duration::from_secs(30),
        || async {
            let n = env.stream_records().await.len();
            (n >= 1 && env.queue().depth().await.unwrap() == (0, 0)).then_some(n)
        },
    )
    .await;

    let (ok, out, _) = env
        .hookloop(&["replay", "--from", "raw/source=location/", "--dry-run"])
        .await;
    assert!(
        ok && out.contains("would replay 2 archived webhook(s)"),
        "{out}"
    );
    let (ok, out, err) = env
        .hookloop(&["replay", "--from", "raw/source=location/"])
        .await;
    assert!(
        ok && out.contains("replayed 2 archived webhook(s)"),
        "{out}{err}"
    );
    let records = eventually(
        "the replayed geofence event streamed again",
        Duration::from_secs(30),
        || async {
            let records = env.stream_records().await;
            (records.len() > streamed && env.queue().depth().await.unwrap() == (0, 0))
                .then_some(records)
        },
    )
    .await;
    let event_ids: HashSet<&str> = records
        .iter()
        .map(|(_, r)| r["event_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        event_ids.len(),
        1,
        "the replay streams the same event, with its event_id: {records:?}"
    );
    assert_eq!(
        env.archived_ids().await.len(),
        3,
        "the same webhooks archived"
    );
    let mut again = env.scan_rows().await;
    let mut before = rows;
    let key = |r: &serde_json::Map<String, Value>| format!("{}|{}", r["pk"], r["sk"]);
    again.sort_by_key(key);
    before.sort_by_key(key);
    assert_eq!(
        again, before,
        "replay rewrites the same items with the same values"
    );
    let (ok, _, err) = env
        .hookloop(&["replay", "--from", "source=location/"])
        .await;
    assert!(!ok && err.contains("raw keys start with raw/"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_is_idempotent_and_prints_the_environment_the_functions_read() {
    let env = TestEnv::start().await;
    let prefix = format!(
        "init{}",
        &ulid::Ulid::new().to_string().to_ascii_lowercase()[..10]
    );
    let (ok, first, err) = env.hookloop(&["init", "--prefix", &prefix]).await;
    assert!(ok, "{err}");
    let (ok, second, err) = env.hookloop(&["init", "--prefix", &prefix]).await;
    assert!(ok, "a second init succeeds: {err}");
    assert_eq!(first, second, "and prints the same environment");
    let names: Vec<&str> = first
        .lines()
        .map(|l| {
            l.strip_prefix("export ")
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k)
                .unwrap_or(l)
        })
        .collect();
    assert_eq!(
        names,
        [
            "QUEUE_URL",
            "DLQ_URL",
            "RAW_BUCKET",
            "TABLE_NAME",
            "GEOFENCE_STREAM"
        ]
    );
    assert!(first.contains(&format!("export RAW_BUCKET={prefix}-raw")));

    let queue_url = first
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("export QUEUE_URL=");
    let attrs = env
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    use aws_sdk_sqs::types::QueueAttributeName as A;
    assert_eq!(attrs[&A::MaximumMessageSize], "1048576");
    let redrive: Value = serde_json::from_str(&attrs[&A::RedrivePolicy]).unwrap();
    assert!(redrive["deadLetterTargetArn"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{prefix}-dlq")));
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );
}
