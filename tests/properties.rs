//! The generated hostile corpus through the whole pipeline on the emulator: a few hundred
//! webhooks of every shape (`support/generators.rs`) posted to `hookloop serve`, some of them
//! again, all in shuffled order and concurrently. Then: no 5xx; every 4xx has an error code and
//! a 400 names the field; every id answered 200 `queued` is archived in S3 with all of its rows
//! and stream records, or is in the DLQ with a reason, never in between; a `duplicate` answer
//! names an id that was queued. (The in-memory run of thousands of cases per shape is
//! `crates/ingest/tests/properties.rs`.)

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use hookloop_domain::{parse_webhook, Envelope, MessageId, Normalized, Source};
use hookloop_tests::generators::{any_case, Case};
use hookloop_tests::*;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value};

const SEED: [u8; 32] = *b"hookloop hostile corpus, e2e 001";
/// Generated webhooks; every `REPEAT_EVERY`-th is delivered a second time.
const CASES: usize = 600;
const REPEAT_EVERY: usize = 8;

fn generate() -> Vec<Case> {
    let config = Config {
        rng_algorithm: RngAlgorithm::ChaCha,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = any_case();
    (0..CASES)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

/// Every case once, every `REPEAT_EVERY`-th twice, in a fixed shuffled order.
fn deliveries(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).chain((0..n).step_by(REPEAT_EVERY)).collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..order.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
}

/// Row keys (pk, sk) and stream record event ids.
type Expected = (Vec<(String, String)>, Vec<String>);

/// The rows and stream records the processor would make of `case` under message id `id`.
fn expected(case: &Case, id: &str) -> Option<Expected> {
    let id: MessageId = id.parse().ok()?;
    let source = Source::from_route(case.shape.route())?;
    let webhook = parse_webhook(source, case.body.as_bytes()).ok()?;
    let envelope = Envelope::replayed(id, source, case.body.clone());
    let n = Normalized::from_webhook(&webhook, &envelope);
    Some((
        n.all_rows().map(|r| (r.pk.clone(), r.sk.clone())).collect(),
        n.geofence_events
            .iter()
            .map(|e| e.event_id.clone())
            .collect(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generated_webhooks_are_stored_or_dead_lettered_with_a_reason_never_lost() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    let cases = generate();
    let order = deliveries(cases.len());

    let answers: Vec<(usize, u16, Value)> = stream::iter(order.iter().copied())
        .map(|i| {
            let (serve, http, case) = (&serve, &http, &cases[i]);
            async move {
                let (status, answer) = serve
                    .post(http, case.shape.route(), case.body.clone().into_bytes())
                    .await;
                (i, status, answer)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    let mut broken: Vec<String> = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut queued: HashMap<String, usize> = HashMap::new();
    let mut duplicates: Vec<(usize, String)> = Vec::new();
    for (i, status, answer) in &answers {
        let kind = answer["status"]
            .as_str()
            .or(answer["error"].as_str())
            .unwrap_or("?");
        *tally.entry(format!("{status} {kind}")).or_default() += 1;
        let case = &cases[*i];
        match (*status, answer["status"].as_str(), answer["id"].as_str()) {
            (200, Some("queued"), Some(id)) => {
                queued.insert(id.to_owned(), *i);
            }
            (200, Some("duplicate"), Some(id)) => duplicates.push((*i, id.to_owned())),
            (200, Some("ignored"), _) if case.shape.route() == "/webhooks/clevertap" => {}
            (400, _, _) if answer["error"].is_string() && answer["field"].is_string() => {}
            (401..=499, _, _) if answer["error"].is_string() => {}
            _ => broken.push(format!("answered {status} {answer}: {case:?}")),
        }
    }
    for (i, id) in &duplicates {
        if !queued.contains_key(id) {
            broken.push(format!(
                "\"duplicate\" of {id}, which was never queued: {:?}",
                cases[*i]
            ));
        }
    }

    // Every queued id ends archived or dead-lettered; the DLQ is drained as it fills.
    let mut dead: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut archived: HashSet<String>;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        for (body, attrs) in env.dlq_messages_now().await {
            let id = Envelope::decode(&body)
                .map(|e| e.id().to_string())
                .unwrap_or(body);
            dead.insert(id, attrs);
        }
        archived = env.archived_ids().await;
        let settled = queued
            .keys()
            .all(|id| archived.contains(id) || dead.contains_key(id));
        if settled || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Let the in-flight writes of the last batch land before reading the table and stream.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (body, attrs) in env.dlq_messages_now().await {
        let id = Envelope::decode(&body)
            .map(|e| e.id().to_string())
            .unwrap_or(body);
        dead.insert(id, attrs);
    }
    let rows: HashSet<(String, String)> = env
        .scan_rows()
        .await
        .iter()
        .filter_map(|r| {
            Some((
                r.get("pk")?.as_str()?.to_owned(),
                r.get("sk")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let records: HashSet<(String, String)> = env
        .stream_records()
        .await
        .into_iter()
        .map(|(_, r)| {
            (
                r["event_id"].as_str().unwrap_or_default().to_owned(),
                r["message_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();

    let (mut stored, mut reasons) = (0usize, BTreeMap::<String, usize>::new());
    for (id, &i) in &queued {
        let case = &cases[i];
        if let Some(attrs) = dead.get(id) {
            let reason = |k: &str| {
                attrs
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            if reason("error_code").is_empty() || reason("error").is_empty() {
                broken.push(format!(
                    "{id} dead-lettered without a reason {attrs:?}: {case:?}"
                ));
            }
            *reasons
                .entry(format!("{} {}", reason("stage"), reason("error_code")))
                .or_default() += 1;
            continue;
        }
        if !archived.contains(id) {
            broken.push(format!(
                "{id} answered 200 but neither archived nor dead-lettered: {case:?}"
            ));
            continue;
        }
        let Some((want_rows, want_records)) = expected(case, id) else {
            broken.push(format!(
                "{id} archived, but the processor's parser refuses it: {case:?}"
            ));
            continue;
        };
        let missing_rows: Vec<_> = want_rows.iter().filter(|k| !rows.contains(*k)).collect();
        let missing_records: Vec<_> = want_records
            .iter()
            .filter(|e| !records.contains(&((*e).clone(), id.clone())))
            .collect();
        if missing_rows.is_empty() && missing_records.is_empty() {
            stored += 1;
        } else {
            broken.push(format!(
                "{id} archived but in between: rows missing {missing_rows:.3?}, stream records missing {missing_records:.3?}: {case:?}"
            ));
        }
    }

    println!(
        "properties (emulator): {} generated webhooks, {} deliveries; answers {tally:?}",
        cases.len(),
        answers.len()
    );
    let dead_lettered = queued.keys().filter(|id| dead.contains_key(*id)).count();
    println!(
        "  queued {} = stored everywhere {stored} + dead-lettered with a reason {dead_lettered} (by reason {reasons:?}); other {}",
        queued.len(),
        queued.len() - stored - dead_lettered,
    );
    let logs = serve.logs();
    let tail: Vec<&str> = logs.lines().rev().take(10).collect();
    assert!(
        broken.is_empty(),
        "{} broken promises:\n{}\nlast lines of the serve log:\n{}",
        broken.len(),
        broken
            .iter()
            .take(15)
            .map(|b| format!("  - {b}"))
            .collect::<Vec<_>>()
            .join("\n"),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}
