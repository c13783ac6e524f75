//! CPU per message end to end: the release processor binary, as Lambda runs it (JSON logs at
//! INFO, the template's defaults), takes one SQS event of the fixed mixed corpus through the
//! loopback runtime API against the emulator and the CleverTap stand-in, each message's
//! deduplication key already claimed as the ingest claims it. What is timed is the
//! on-CPU time of all the process's threads from its request for the event to its answer:
//! decoding, deduplication, parsing, normalising, building and signing requests, gzip, logging,
//! the runtime.

use std::path::Path;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use hookloop_aws::dedup::Claims;
use hookloop_domain::{dedup_key, parse_webhook, Envelope};
use hookloop_tests::{clevertap_env, example_rules, start_stub, TestEnv, TEST_TOKEN};

use crate::corpus::corpus;
use crate::runtime_api;

/// Messages in the one event each run hands the processor.
pub const MESSAGES: usize = 1_000;
/// Runs, each on a fresh emulator (a second run on the same one would find every key claimed).
const RUNS: usize = 3;

/// The mixed corpus as one SQS event, each body in a fresh envelope carrying its deduplication
/// key as the ingest queues it; with each (key, message id) for the ingest's claims.
fn event() -> (Vec<u8>, Vec<(String, String)>) {
    let mut event = SqsEvent::default();
    let mut claims = Vec::with_capacity(MESSAGES);
    for (i, w) in corpus(MESSAGES).into_iter().enumerate() {
        let key = parse_webhook(w.source, &w.body)
            .ok()
            .map(|webhook| dedup_key(w.source, &webhook, &w.body));
        let body = String::from_utf8_lossy(&w.body).into_owned();
        let envelope = Envelope::received(w.source, body, time::OffsetDateTime::now_utc())
            .with_dedup_key(key.clone());
        if let Some(key) = key {
            claims.push((key, envelope.id().to_string()));
        }
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("cpu-{i}"));
        m.body = Some(envelope.encode());
        m.attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        event.records.push(m);
    }
    (serde_json::to_vec(&event).unwrap_or_default(), claims)
}

/// One run on a fresh emulator: the processor's CPU time for the event, with Lambda's application
/// log level at `level`; sampled by `perf` into `profile` when given.
pub(crate) async fn run(
    processor: &Path,
    level: &str,
    profile: Option<&Path>,
) -> std::io::Result<Duration> {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let mut vars = env.env();
    vars.extend(clevertap_env(&stub, &example_rules()));
    vars.push(("WEBHOOK_TOKEN".into(), TEST_TOKEN.into()));
    // As the template deploys it: JSON logs, Lambda's default application log level.
    vars.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    vars.push(("AWS_LAMBDA_LOG_LEVEL".into(), level.into()));
    let (bytes, claims) = event();
    // The ingest claims each key once its message is queued: the processor finds them held.
    let ledger = Claims::new(
        env.clients.dynamodb.clone(),
        &env.resources.table,
        Duration::from_secs(3600),
    );
    for (key, id) in &claims {
        ledger.claim(key, id).await.map_err(std::io::Error::other)?;
    }
    let processor = processor.to_path_buf();
    let profile = profile.map(Path::to_path_buf);
    let run = tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(600);
        runtime_api::invoke_profiled(&processor, &vars, &bytes, timeout, profile.as_deref())
    })
    .await
    .map_err(std::io::Error::other)??;
    let answer = String::from_utf8_lossy(&run.answer);
    if answer.contains("itemIdentifier") {
        return Err(std::io::Error::other(format!(
            "some messages failed, so the figure would not be the work's: {answer}"
        )));
    }
    Ok(run.cpu)
}

/// The section of the report: CPU per message, median of [`RUNS`], at the deployed log level
/// (INFO) and with only warnings logged (what the logging costs).
pub async fn cpu_report(processor: &Path) -> String {
    let mut s = format!(
        "\n### Processor CPU per message, end to end (release build, one event of {MESSAGES} mixed \
         messages, {} bytes of bodies, JSON logs, {RUNS} runs on fresh emulators)\n\n\
         | application log level | CPU per message (median) | runs | per {MESSAGES} messages |\n\
         |---|---|---|---|\n",
        corpus(MESSAGES).iter().map(|w| w.body.len()).sum::<usize>()
    );
    for level in ["INFO", "WARN"] {
        let mut cpu = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            match run(processor, level, None).await {
                Ok(t) => cpu.push(t),
                Err(e) => {
                    s.push_str(&format!("| {level} | failed: {e} | | |\n"));
                    return s;
                }
            }
        }
        cpu.sort();
        let per_message = |d: Duration| d.as_secs_f64() * 1e6 / MESSAGES as f64;
        let median = cpu[cpu.len() / 2];
        s.push_str(&format!(
            "| {level}{} | **{:.1} µs** | {} | {:.0} ms |\n",
            if level == "INFO" {
                " (as deployed)"
            } else {
                ""
            },
            per_message(median),
            cpu.iter()
                .map(|d| format!("{:.1}", per_message(*d)))
                .collect::<Vec<_>>()
                .join(", "),
            median.as_secs_f64() * 1e3,
        ));
    }
    s
}
