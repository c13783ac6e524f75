//! Load-back to CleverTap, end to end: the emulator for AWS, the project's CleverTap stand-in
//! for CleverTap, and the processor handler the Lambda runs (through `hookloop serve` or called
//! directly, as the Lambda runtime would).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hookloop_clevertap::stub::{Fault, Stub};
use hookloop_cli::provision::QueueSettings;
use hookloop_domain::{Envelope, Source};
use hookloop_processor::{handle, Processor};
use hookloop_tests::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

fn envelope(source: Source, body: &str) -> Envelope {
    Envelope::received(source, body.to_owned(), OffsetDateTime::now_utc())
}

/// A campaign webhook with `n` profiles `<tag>-0` ... `<tag>-<n-1>`.
fn campaign(tag: &str, n: usize) -> String {
    let profiles: Vec<Value> = (0..n)
        .map(|i| json!({"objectId": format!("{tag}-{i}")}))
        .collect();
    json!({"targetId": 1700000001u64, "key_values": {"coupon": "SPRING25"}, "profiles": profiles})
        .to_string()
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(25))
}

/// (type, objectId or identity) -> how many times the stand-in accepted it.
fn accepted_counts(stub: &Stub) -> HashMap<(String, String), usize> {
    let mut m = HashMap::new();
    for a in stub.accepted() {
        let r = &a.record;
        let who = r
            .get("objectId")
            .or_else(|| r.get("identity"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let t = r["type"].as_str().unwrap_or_default();
        *m.entry((t.to_owned(), who.to_owned())).or_insert(0) += 1;
    }
    m
}

async fn load_processor(
    env: &TestEnv,
    stub: &Stub,
    rules: &str,
    extra: &[(&str, &str)],
) -> Processor {
    let mut vars = clevertap_env(stub, rules);
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env.processor(&vars)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_loads_webhooks_back_into_clevertap_by_the_example_rules() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let vars = clevertap_env(&stub, &example_rules());
    let mut extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.push(("RUST_LOG", "debug"));
    let serve = env.serve(&extra).await;
    let http = reqwest::Client::new();
    for (route, file) in [
        (
            "/webhooks/clevertap",
            "webhooks/clevertap/campaign-broadcast.json",
        ),
        (
            "/webhooks/clevertap",
            "webhooks/clevertap/journey-single-profile.json",
        ),
        ("/webhooks/clevertap", "webhooks/clevertap/test-call.json"),
        (
            "/webhooks/location",
            "webhooks/location/radar-geofence-entered.json",
        ),
        (
            "/webhooks/clevertap/export-status",
            "webhooks/clevertap-export-status/export-completed.json",
        ),
    ] {
        let (status, _) = serve
            .post(&http, route, std::fs::read(event_file(file)).unwrap())
            .await;
        assert_eq!(status, 200, "{file}");
    }
    // 2 profiles x (event + profile) + 1 x (event + profile) + 1 geofence entry; the test call
    // and the export alert raise nothing.
    eventually("7 records at the stand-in", Duration::from_secs(60), || {
        let n = stub.accepted().len();
        async move { (n >= 7).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = accepted_counts(&stub);
    assert_eq!(stub.accepted().len(), 7, "{counts:?}");
    for who in [
        "__g8a3e7f0c1d2b4e5f6a7b8c9d0e1f2a3",
        "__g1b2c3d4e5f60718293a4b5c6d7e8f90",
        "__g0f9e8d7c6b5a4938271605f4e3d2c1b",
    ] {
        assert_eq!(counts.get(&("event".into(), who.into())), Some(&1), "{who}");
        assert_eq!(
            counts.get(&("profile".into(), who.into())),
            Some(&1),
            "{who}"
        );
    }
    let geofence: Vec<_> = stub
        .accepted()
        .into_iter()
        .filter(|a| a.record["evtName"] == "Geofence Entered")
        .collect();
    assert_eq!(geofence.len(), 1);
    assert_eq!(geofence[0].record["identity"], "cust-1001");
    assert!(stub
        .accepted()
        .iter()
        .all(|a| a.account_id == STUB_ACCOUNT_ID));
    let stats = stub.stats();
    assert_eq!(stats.mixed_type_requests, 0);

    // Each message with records has a marker naming what CleverTap accepted.
    let markers: Vec<_> = env
        .scan_all()
        .await
        .into_iter()
        .filter(|i| i["kind"] == "loadback")
        .collect();
    let mut sizes: Vec<usize> = markers
        .iter()
        .map(|m| m["accepted"].as_array().map_or(0, Vec::len))
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![1, 2, 4]);
    assert!(markers.iter().all(|m| m["expires_at"].as_i64().unwrap_or(0)
        > OffsetDateTime::now_utc().unix_timestamp() + 14 * 86_400));

    let logs = serve.logs();
    assert!(logs.contains("loaded back to CleverTap"), "{logs}");
    assert!(
        !logs.contains(STUB_PASSCODE),
        "the passcode reached the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_message_is_not_uploaded_again() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let p = load_processor(&env, &stub, &example_rules(), &[]).await;
    let event = sqs_event(
        &[envelope(
            Source::ClevertapWebhook,
            &campaign("redelivered", 3),
        )],
        1,
    );

    let first = handle(&p, event.clone(), deadline()).await;
    assert!(first.batch_item_failures.is_empty());
    assert_eq!(stub.accepted().len(), 6);
    let requests = stub.stats().requests;
    assert_eq!(requests, 2, "one event request and one profile request");

    let again = sqs_event(&[envelope_of(&event)], 2);
    let second = handle(&p, again, deadline()).await;
    assert!(second.batch_item_failures.is_empty());
    assert_eq!(stub.accepted().len(), 6, "nothing uploaded twice");
    assert_eq!(stub.stats().requests, requests, "not even a request");
}

fn envelope_of(event: &aws_lambda_events::event::sqs::SqsEvent) -> Envelope {
    Envelope::decode(event.records[0].body.as_deref().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_records_go_in_full_requests_and_never_above_the_concurrency_cap() {
    let env = TestEnv::start().await;
    // Every request takes 100 ms, so requests overlap and the stand-in can see how many.
    let stub = start_stub(Duration::from_millis(100)).await;
    let p = load_processor(&env, &stub, &example_rules(), &[]).await;
    let a = sqs_event(
        &[
            envelope(Source::ClevertapWebhook, &campaign("a", 1200)),
            envelope(Source::ClevertapWebhook, &campaign("b", 1200)),
        ],
        1,
    );
    let c = sqs_event(
        &[envelope(Source::ClevertapWebhook, &campaign("c", 1200))],
        1,
    );
    // Two invocations at once on one instance, as two pollers would run them.
    let (ra, rc) = tokio::join!(handle(&p, a, deadline()), handle(&p, c, deadline()));
    assert!(ra.batch_item_failures.is_empty() && rc.batch_item_failures.is_empty());

    let stats = stub.stats();
    assert_eq!(stats.accepted_records, 7200);
    assert_eq!(stub.accepted().len(), 7200);
    assert_eq!(stats.max_records_per_request, 1000);
    // 2,400 records of each type in the first batch: 3 requests each; 1,200 in the second: 2.
    assert_eq!(
        stats.requests, 10,
        "as few requests as the 1000-record limit allows"
    );
    assert_eq!(stats.mixed_type_requests, 0);
    assert!(
        stats.max_in_flight <= 3,
        "cap 3 exceeded: {}",
        stats.max_in_flight
    );
    assert!(
        stats.max_in_flight >= 2,
        "requests never overlapped: {}",
        stats.max_in_flight
    );
    assert!(accepted_counts(&stub).values().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_injected_faults_every_record_is_accepted_exactly_once() {
    let env = TestEnv::start_with(QueueSettings {
        visibility_timeout_seconds: 10,
        max_receive_count: 5,
    })
    .await;
    let stub = start_stub(Duration::ZERO).await;
    stub.push_faults([
        Fault::Status(429),
        Fault::Status(500),
        Fault::Status(503),
        Fault::HangMs(900),
        Fault::Drop,
        Fault::SlowMs(150),
        Fault::Status(503),
        Fault::Status(429),
        Fault::Drop,
        Fault::HangMs(900),
        Fault::Status(500),
        Fault::RejectRecord {
            index: 0,
            code: 555,
        },
        Fault::Status(502),
        Fault::Status(429),
    ]);
    let vars = clevertap_env(&stub, &example_rules());
    let mut extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.extend([
        ("CLEVERTAP_TIMEOUT_MS", "400"),
        ("CLEVERTAP_MAX_ATTEMPTS", "4"),
        ("MAX_RECEIVE_COUNT", "5"),
    ]);
    let serve = env
        .serve_with(
            &[
                "--processor-timeout-secs",
                "8",
                "--pollers",
                "3",
                "--batch-size",
                "5",
            ],
            &extra,
        )
        .await;
    let http = reqwest::Client::new();
    let n = 40;
    for i in 0..n {
        let (status, _) = serve
            .post(
                &http,
                "/webhooks/clevertap",
                campaign(&format!("f{i}"), 2).into_bytes(),
            )
            .await;
        assert_eq!(status, 200);
    }
    let expected = n * 2 * 2;
    eventually(
        "every record at the stand-in",
        Duration::from_secs(120),
        || {
            let have = stub.accepted().len();
            async move { (have >= expected).then_some(()) }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let counts = accepted_counts(&stub);
    let stats = stub.stats();
    println!(
        "fault run: {} requests, answers by status {:?}, {} records accepted",
        stats.requests, stats.by_status, stats.accepted_records
    );
    assert_eq!(stub.pending_faults(), 0, "every fault was served");
    assert_eq!(counts.len(), expected);
    assert!(
        counts.values().all(|c| *c == 1),
        "a record was accepted twice: {counts:?}"
    );
    assert_eq!(stats.accepted_records, expected);
    for status in [429, 500, 502, 503] {
        assert!(
            stats.by_status.contains_key(&status),
            "{status} was never answered: {:?}",
            stats.by_status
        );
    }
    let dlq = env.dlq().depth().await.unwrap();
    assert_eq!(dlq, (0, 0), "nothing dead-lettered");
    assert!(!serve.logs().contains(STUB_PASSCODE));
}

const PHONE_RULES: &str = r#"{"rules": [
    {"name": "campaign-event", "source": "clevertap.webhook", "type": "event", "event_name": "Webhook Campaign Received", "key_values": true},
    {"name": "profile-phone", "source": "clevertap.webhook", "type": "profile", "properties": {"Phone": {"from": "/phone"}}}
]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_clevertap_refuses_are_dead_lettered_with_code_and_reason_and_never_resent() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let p = load_processor(&env, &stub, PHONE_RULES, &[]).await;
    let bad_phone = envelope(
        Source::ClevertapWebhook,
        r#"{"targetId": 1, "profiles": [{"objectId": "p-bad", "phone": "98450"}]}"#,
    );
    let good_phone = envelope(
        Source::ClevertapWebhook,
        r#"{"targetId": 1, "profiles": [{"objectId": "p-good", "phone": "+919845012345"}]}"#,
    );
    let response = handle(
        &p,
        sqs_event(&[bad_phone.clone(), good_phone], 1),
        deadline(),
    )
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a refusal is not retried"
    );

    let counts = accepted_counts(&stub);
    assert_eq!(
        counts.get(&("event".into(), "p-bad".into())),
        Some(&1),
        "the event of the same message went in"
    );
    assert_eq!(counts.get(&("profile".into(), "p-bad".into())), None);
    assert_eq!(counts.get(&("profile".into(), "p-good".into())), Some(&1));

    let dead = env.dlq_messages(1).await;
    let (body, attrs) = &dead[0];
    assert_eq!(
        Envelope::decode(body).unwrap().id(),
        bad_phone.id(),
        "the original envelope"
    );
    assert_eq!(attrs["stage"], "clevertap");
    assert_eq!(attrs["error_code"], "clevertap.upload:516");
    let error = attrs["error"].as_str().unwrap();
    assert!(
        error.contains("profile-phone") && error.contains("E.164"),
        "{error}"
    );
    assert_eq!(attrs["attempts"], "1");
    assert!(!error.contains(STUB_PASSCODE));

    // Redriven as is: the event CleverTap took is not sent again; the profile is refused again.
    let requests = stub.stats().requests;
    handle(&p, sqs_event(&[bad_phone], 1), deadline()).await;
    assert_eq!(
        accepted_counts(&stub).get(&("event".into(), "p-bad".into())),
        Some(&1)
    );
    assert_eq!(
        stub.stats().requests,
        requests + 1,
        "only the refused profile was sent"
    );
    env.dlq_messages(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_clevertap_would_refuse_is_dead_lettered_without_a_request() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let p = load_processor(&env, &stub, &example_rules(), &[]).await;
    // Nested key-values cannot be event properties (CleverTap code 512).
    let nested = envelope(
        Source::ClevertapWebhook,
        r#"{"targetId": 1, "key_values": {"offer": {"pct": 10}}, "profiles": [{"objectId": "n-1"}]}"#,
    );
    let response = handle(&p, sqs_event(&[nested], 1), deadline()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stub.stats().requests, 0);
    let dead = env.dlq_messages(1).await;
    assert_eq!(dead[0].1["stage"], "clevertap");
    assert_eq!(dead[0].1["error_code"], "record_invalid:512");
    let error = dead[0].1["error"].as_str().unwrap();
    assert!(
        error.contains("campaign-event") && error.contains("offer"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_555_is_sent_once_more_and_then_dead_lettered() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let rules = r#"{"rules": [{"name": "e", "source": "clevertap.webhook", "type": "event", "event_name": "E"}]}"#;
    let p = load_processor(&env, &stub, rules, &[]).await;

    stub.push_faults([Fault::RejectRecord {
        index: 0,
        code: 555,
    }]);
    handle(
        &p,
        sqs_event(
            &[envelope(Source::ClevertapWebhook, &campaign("once", 1))],
            1,
        ),
        deadline(),
    )
    .await;
    assert_eq!(stub.accepted().len(), 1, "accepted on the second try");
    assert_eq!(stub.stats().requests, 2);

    stub.push_faults([
        Fault::RejectRecord {
            index: 0,
            code: 555,
        },
        Fault::RejectRecord {
            index: 0,
            code: 555,
        },
    ]);
    let r = handle(
        &p,
        sqs_event(
            &[envelope(Source::ClevertapWebhook, &campaign("twice", 1))],
            1,
        ),
        deadline(),
    )
    .await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(stub.stats().requests, 4, "555 is retried once, not more");
    let dead = env.dlq_messages(1).await;
    assert_eq!(dead[0].1["error_code"], "clevertap.upload:555");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_credentials_fail_fast_with_a_clear_reason() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let p = load_processor(
        &env,
        &stub,
        &example_rules(),
        &[("CLEVERTAP_PASSCODE", "wrong-passcode-123")],
    )
    .await;
    let batch: Vec<Envelope> = (0..3)
        .map(|i| envelope(Source::ClevertapWebhook, &campaign(&format!("w{i}"), 2)))
        .collect();
    let r = handle(&p, sqs_event(&batch, 1), deadline()).await;
    assert!(r.batch_item_failures.is_empty(), "not retried");
    let stats = stub.stats();
    assert!(
        stats.requests <= 2,
        "one try per request at most: {}",
        stats.requests
    );
    assert_eq!(
        stats.by_status.get(&401).copied().unwrap_or(0),
        stats.requests
    );

    let dead = env.dlq_messages(3).await;
    for (_, attrs) in &dead {
        assert_eq!(attrs["stage"], "clevertap");
        assert_eq!(attrs["error_code"], "clevertap.upload:http_401");
        let error = attrs["error"].as_str().unwrap();
        assert!(
            error.contains("401") && !error.contains("wrong-passcode-123"),
            "{error}"
        );
    }
    // The next batch does not even call: the account is held after a refusal.
    handle(
        &p,
        sqs_event(&[envelope(Source::ClevertapWebhook, &campaign("w9", 1))], 1),
        deadline(),
    )
    .await;
    assert_eq!(stub.stats().requests, stats.requests);
    env.dlq_messages(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ingest_answers_within_clevertaps_3s_timeout_while_clevertap_is_down() {
    let env = TestEnv::start().await;
    let down = format!("http://127.0.0.1:{}", free_port());
    let serve = env
        .serve(&[
            ("CLEVERTAP_ACCOUNT_ID", STUB_ACCOUNT_ID),
            ("CLEVERTAP_PASSCODE", STUB_PASSCODE),
            ("CLEVERTAP_API_URL", &down),
            ("LOADBACK_RULES", &example_rules()),
            ("CLEVERTAP_TIMEOUT_MS", "1000"),
        ])
        .await;
    let http = reqwest::Client::new();
    for i in 0..20 {
        let started = Instant::now();
        let (status, _) = serve
            .post(
                &http,
                "/webhooks/clevertap",
                campaign(&format!("d{i}"), 2).into_bytes(),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(3), "answered after {took:?}");
    }
    // The processor is trying and failing meanwhile: the messages stay queued, not lost.
    eventually(
        "upload failures in the log",
        Duration::from_secs(30),
        || {
            let logs = serve.logs();
            async move { logs.contains("connect").then_some(()) }
        },
    )
    .await;
    let stored = env
        .scan_all()
        .await
        .into_iter()
        .filter(|i| i["kind"] == "campaign_profile")
        .count();
    assert!(stored > 0, "the stores do not wait for CleverTap");
    let markers = env
        .scan_all()
        .await
        .into_iter()
        .filter(|i| i["kind"] == "loadback")
        .count();
    assert_eq!(markers, 0, "nothing was accepted, so nothing is marked");
}
