//! What an operator sees, end to end: `hookloop serve` (the same handlers the Lambdas run) on
//! moto with `EMF_METRICS=true`, a `STACK_NAME` and JSON logs. An accepted webhook, its
//! repeat, a refused one and a message that can never be read each show in the business
//! metrics with their dimensions, and every log line of an invocation carries its request id,
//! trace id and cold-start flag, and in the processor the message id.

use std::time::Duration;

use hookloop_tests::*;
use serde_json::Value;

const STACK: &str = "obs-test-stack";

/// The embedded-metric documents a log holds.
fn emf_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| l.contains("\"_aws\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|d| d.get("_aws").is_some())
        .collect()
}

/// The JSON log lines (not metrics) a log holds.
fn log_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.contains("\"_aws\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

/// The sum of `metric` over `function`'s documents, restricted to `dimension` = `value`.
fn total(docs: &[Value], function: &str, metric: &str, by: Option<(&str, &str)>) -> u64 {
    docs.iter()
        .filter(|d| d["Function"] == function)
        .filter(|d| by.is_none_or(|(k, v)| d[k] == v))
        .filter_map(|d| d[metric].as_u64())
        .sum()
}

/// The dimension sets `metric` is declared with on the documents that carry it.
fn declared_dimensions(docs: &[Value], metric: &str) -> Vec<Value> {
    docs.iter()
        .filter(|d| d.get(metric).is_some())
        .map(|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_metrics_and_log_context_show_in_serve_output() {
    let env = TestEnv::start().await;
    // Queued before serve starts, so an early batch has it: a body that is no envelope at all.
    env.queue()
        .send(
            "not an envelope".to_owned(),
            &[("source", "location".to_owned())],
        )
        .await
        .expect("queue the unreadable message");
    let serve = env
        .serve(&[
            ("EMF_METRICS", "true"),
            ("STACK_NAME", STACK),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
        ])
        .await;
    let http = reqwest::Client::new();
    let body = std::fs::read(event_file("webhooks/location/structured.json")).unwrap();

    let (status, first) = serve.post(&http, "/webhooks/location", body.clone()).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("queued")));
    let id = first["id"].as_str().expect("an id").to_owned();
    let (status, repeat) = serve.post(&http, "/webhooks/location", body.clone()).await;
    assert_eq!(
        (status, repeat["status"].as_str()),
        (200, Some("duplicate"))
    );
    let refused = http
        .post(format!("{}/webhooks/location", serve.url))
        .header("content-type", "application/json")
        .header("x-webhook-token", "not-the-token")
        .body(body)
        .send()
        .await
        .expect("POST reaches hookloop serve");
    assert_eq!(refused.status().as_u16(), 401);

    env.wait_for_archived(1, Duration::from_secs(30)).await;
    let dead = env.dlq_messages(1).await;
    assert_eq!(dead[0].1["stage"], "parse", "{dead:?}");

    // The batches' lines are printed when each invocation ends: wait for the one that stored.
    let docs = eventually(
        "the metrics of every invocation",
        Duration::from_secs(30),
        || {
            let docs = emf_lines(&serve.logs());
            let done = total(&docs, "processor", "Stored", None) >= 1
                && total(&docs, "processor", "DeadLettered", None) >= 1
                && total(&docs, "processor", "Duplicates", None) >= 1;
            async move { done.then_some(docs) }
        },
    )
    .await;

    // Every line is in the stack's series, with both dimension sets where it is "by" something.
    assert!(docs.iter().all(|d| d["Stack"] == STACK), "{docs:#?}");
    for d in &docs {
        let declared = d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("declared metrics");
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(d[name].is_u64() || d[name].is_array(), "{name} in {d}");
        }
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "hookloop");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            serde_json::json!(["Stack", "Function"])
        );
    }

    // The ingest: one accepted by source, one duplicate, one 401.
    let ingest = |m, by| total(&docs, "ingest", m, by);
    assert_eq!(ingest("Accepted", Some(("Source", "location"))), 1);
    assert_eq!(ingest("Duplicates", None), 1);
    assert_eq!(ingest("Rejected", Some(("Status", "401"))), 1);
    assert_eq!(
        declared_dimensions(&docs, "Accepted"),
        [serde_json::json!([
            ["Stack", "Function"],
            ["Stack", "Function", "Source"]
        ])]
    );

    // The processor: the webhook stored once with its lag, its queued repeat skipped, the
    // unreadable message dead-lettered at parse; every message counted in a batch.
    let processor = |m, by| total(&docs, "processor", m, by);
    assert_eq!(processor("Stored", Some(("Source", "location"))), 1);
    assert_eq!(processor("Duplicates", None), 1);
    assert_eq!(processor("DeadLettered", Some(("Stage", "parse"))), 1);
    assert!(processor("BatchSize", None) >= 3, "{docs:#?}");
    let lags: Vec<u64> = docs
        .iter()
        .filter(|d| d["Function"] == "processor")
        .flat_map(|d| match &d["EndToEndLagMs"] {
            Value::Array(vs) => vs.iter().filter_map(Value::as_u64).collect::<Vec<_>>(),
            v => v.as_u64().into_iter().collect(),
        })
        .collect();
    assert_eq!(lags.len(), 1, "one lag per stored message: {lags:?}");
    assert!(
        lags[0] < 30_000,
        "arrival to stored within the test: {lags:?}"
    );

    // One cold start per function in this process, however many invocations and pollers.
    assert_eq!(ingest("ColdStart", None), 1);
    assert_eq!(processor("ColdStart", None), 1);

    // Logs: each ingest request is an invocation with ids of its own.
    let lines = log_lines(&serve.logs());
    let queued: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "queued" && l["message_id"] == id.as_str())
        .collect();
    assert_eq!(queued.len(), 1, "the queued line: {lines:#?}");
    let rejected: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "rejected")
        .collect();
    assert!(!rejected.is_empty(), "the 401 is logged");
    for l in queued.iter().chain(&rejected) {
        assert!(
            l["request_id"].as_str().is_some_and(|r| r.len() == 36),
            "{l}"
        );
        assert!(
            l["trace_id"].as_str().is_some_and(|t| t.starts_with("1-")),
            "{l}"
        );
        assert!(l["cold_start"].is_boolean(), "{l}");
    }
    assert_ne!(queued[0]["request_id"], rejected[0]["request_id"]);

    // The processor: a message's lines carry the invocation's ids and the message's id.
    let stored: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "stored" && l["message_id"] == id.as_str())
        .collect();
    assert_eq!(stored.len(), 1, "the stored line: {lines:#?}");
    assert!(stored[0]["request_id"].is_string(), "{}", stored[0]);
    assert!(stored[0]["trace_id"].is_string(), "{}", stored[0]);
    assert!(stored[0]["cold_start"].is_boolean(), "{}", stored[0]);
    let batch_done = lines
        .iter()
        .find(|l| l["message"] == "batch done" && l["request_id"] == stored[0]["request_id"]);
    assert!(
        batch_done.is_some_and(|l| l.get("message_id").is_none()),
        "the batch's own line carries the invocation's ids, not a message's"
    );
    assert!(
        !serve.logs().contains(TEST_TOKEN),
        "a secret reached the logs"
    );
}
