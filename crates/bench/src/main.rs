//! `hookloop-bench` (`make bench`): requests per 1,000 webhooks, per service, for a fixed mixed
//! corpus at processor batch sizes 10, 100 and 1,000, batched and one item per request, next to
//! the floor the service limits allow; and the cost per million webhooks those requests model.
//!
//! Everything runs for real on the emulator: the ingest handler in this process puts each
//! webhook on SQS (claiming its deduplication key), batches are received from SQS as the Lambda
//! event source would, the processor handler stores them and loads back to the CleverTap
//! stand-in, and processed messages are deleted. Requests are counted by the SDK interceptor
//! every client carries and by the CleverTap client. Writes `bench/requests.json`,
//! `bench/requests.md` and `bench/requests.svg` under the directory given (default `.`).

mod corpus;
mod floor;
mod plot;
mod prices;
mod runtime_api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use hookloop_aws::dedup::Claims;
use hookloop_aws::provision::QueueSettings;
use hookloop_aws::requests::{snapshot, RequestCounts};
use hookloop_domain::Envelope;
use hookloop_ingest::{Auth, Ingest};
use hookloop_processor::{handle, ArchiveMode, Batching};
use hookloop_tests::{clevertap_env, example_rules, start_stub, TestEnv, TEST_TOKEN};
use prices::Capacity;

/// Webhooks per run.
const WEBHOOKS: usize = 1_000;
const BATCH_SIZES: [usize; 3] = [10, 100, 1_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Batched,
    Naive,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Batched => "batched",
            Mode::Naive => "one item per request",
        }
    }
}

pub struct Run {
    mode: Mode,
    batch: usize,
    requests: RequestCounts,
    floor: floor::Floor,
    seconds: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("bench");
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        std::process::exit(1);
    }
    // `hookloop-bench <dir> startup` measures only cold start and peak memory, prints them and
    // writes nothing: for re-measuring on a quiet machine.
    if std::env::args().nth(2).as_deref() == Some("startup") {
        println!("{}", startup_report().await);
        return;
    }
    // Cold start first, on a quiet machine: the request runs leave emulators shutting down.
    eprintln!("== cold start and peak memory of the release binaries");
    let startup = startup_report().await;
    let corpus = corpus::corpus(WEBHOOKS);
    let mut runs = Vec::new();
    for mode in [Mode::Batched, Mode::Naive] {
        for batch in BATCH_SIZES {
            eprintln!(
                "== {WEBHOOKS} webhooks, batch size {batch}, {}",
                mode.name()
            );
            let run = run(&corpus, batch, mode).await;
            eprintln!("   {} ({:.1} s)", run.requests, run.seconds);
            runs.push(run);
        }
    }
    let mut report = report(&runs);
    report.push_str(&startup);
    eprintln!("== end to end through hookloop serve");
    report.push_str(&end_to_end_report().await);
    println!("{report}");
    let written = [
        ("requests.md", report),
        ("requests.json", json(&runs)),
        ("requests.svg", plot::svg(&runs_for_plot(&runs))),
    ];
    for (name, text) in written {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        eprintln!("wrote {}", path.display());
    }
}

async fn run(corpus: &[corpus::Webhook], batch: usize, mode: Mode) -> Run {
    // Messages stay hidden while a batch of up to 1,000 is gathered and processed.
    let env = TestEnv::start_with(QueueSettings {
        visibility_timeout_seconds: 900,
        max_receive_count: 5,
    })
    .await;
    let stub = start_stub(Duration::ZERO).await;
    let mut processor = env.processor(&clevertap_env(&stub, &example_rules()));
    (processor.batching, processor.archive_mode) = match mode {
        Mode::Batched => (Batching::FULL, ArchiveMode::Batch),
        Mode::Naive => (Batching::NAIVE, ArchiveMode::Object),
    };
    let ingest = Ingest {
        queue: env.queue(),
        auth: Auth::token(TEST_TOKEN),
        max_body_bytes: 1 << 20,
        claim_check: None,
        dedup: Some(Claims::new(
            env.clients.dynamodb.clone(),
            env.resources.table.clone(),
            Duration::from_secs(24 * 3600),
        )),
    };
    let queue = env.queue();
    let started = Instant::now();
    let before = snapshot();

    for w in corpus {
        let req = http::Request::post(w.source.route())
            .header("content-type", "application/json")
            .header("x-webhook-token", TEST_TOKEN)
            .body(bytes::Bytes::from(w.body.clone()))
            .expect("request");
        let answer = hookloop_ingest::handle(&ingest, req).await;
        assert_eq!(answer.status(), 200, "{}", answer.body());
    }

    // Batches as the event source forms them: up to 10 messages per receive.
    let mut batches: Vec<Vec<Envelope>> = Vec::new();
    loop {
        let mut messages = Vec::new();
        while messages.len() < batch {
            let want = (batch - messages.len()).min(10) as i32;
            let got = queue.receive(want, 0).await.expect("receive");
            if got.is_empty() {
                break;
            }
            messages.extend(got);
        }
        if messages.is_empty() {
            break;
        }
        let mut event = SqsEvent::default();
        let mut handles = Vec::new();
        let mut envelopes = Vec::new();
        for m in &messages {
            let mut e = SqsMessage::default();
            e.message_id = m.message_id().map(str::to_owned);
            e.body = m.body().map(str::to_owned);
            e.attributes
                .insert("ApproximateReceiveCount".into(), "1".into());
            event.records.push(e);
            handles.push((
                m.message_id().unwrap_or_default().to_owned(),
                m.receipt_handle().unwrap_or_default().to_owned(),
            ));
            envelopes.push(Envelope::decode(m.body().unwrap_or_default()).expect("envelope"));
        }
        let response = handle(&processor, event, None).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "a message failed: {:?}",
            response.batch_item_failures
        );
        queue.delete(&handles).await.expect("delete");
        batches.push(envelopes);
    }
    let requests = snapshot().since(&before);
    let seconds = started.elapsed().as_secs_f64();
    let received: usize = batches.iter().map(Vec::len).sum();
    assert_eq!(received, corpus.len(), "every webhook processed once");
    Run {
        mode,
        batch,
        floor: floor::floor(&batches),
        requests,
        seconds,
    }
}

/// Per 1,000 webhooks.
fn per_1000(n: u64) -> f64 {
    n as f64 * 1000.0 / WEBHOOKS as f64
}

fn report(runs: &[Run]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "### Requests per 1,000 webhooks ({WEBHOOKS} webhooks per run, mixed corpus)\n\n"
    ));
    let mut services: Vec<String> = runs
        .iter()
        .flat_map(|r| r.requests.0.keys().cloned())
        .chain(runs.iter().flat_map(|r| r.floor.requests.keys().cloned()))
        .collect();
    services.sort();
    services.dedup();
    s.push_str("| request | ");
    for r in runs.iter().filter(|r| r.mode == Mode::Batched) {
        s.push_str(&format!("B={} floor | B={} batched | ", r.batch, r.batch));
    }
    for r in runs.iter().filter(|r| r.mode == Mode::Naive) {
        s.push_str(&format!("B={} one per item | ", r.batch));
    }
    s.push('\n');
    s.push_str(&"|---".repeat(1 + 3 * BATCH_SIZES.len()));
    s.push_str("|\n");
    // One row per request kind, then the total (`None`).
    let rows: Vec<Option<&String>> = services.iter().map(Some).chain([None]).collect();
    let measured = |r: &Run, key: Option<&String>| match key {
        Some(k) => r.requests.get(k),
        None => r.requests.total(),
    };
    let floor = |r: &Run, key: Option<&String>| match key {
        Some(k) => r.floor.requests.get(k).copied().unwrap_or(0),
        None => r.floor.requests.values().sum(),
    };
    for key in rows {
        let name = key.cloned().unwrap_or_else(|| "**total**".into());
        s.push_str(&format!("| {name} | "));
        for r in runs.iter().filter(|r| r.mode == Mode::Batched) {
            s.push_str(&format!(
                "{:.0} | {:.0} | ",
                per_1000(floor(r, key)),
                per_1000(measured(r, key))
            ));
        }
        for r in runs.iter().filter(|r| r.mode == Mode::Naive) {
            s.push_str(&format!("{:.0} | ", per_1000(measured(r, key))));
        }
        s.push('\n');
    }
    s.push_str("\nBatched against the floor (total requests):\n\n");
    for r in runs.iter().filter(|r| r.mode == Mode::Batched) {
        let floor: u64 = r.floor.requests.values().sum();
        s.push_str(&format!(
            "- B={}: {} requests, floor {}, {:+.1} %\n",
            r.batch,
            r.requests.total(),
            floor,
            (r.requests.total() as f64 / floor as f64 - 1.0) * 100.0
        ));
    }

    s.push_str("\n### Modelled cost per million webhooks (USD)\n\n| line | ");
    // Every run with an on-demand table (the default), and the batched runs again with a
    // provisioned one (the stack's `TableCapacity=provisioned`, steady load).
    let columns: Vec<(&Run, Capacity)> = runs
        .iter()
        .map(|r| (r, Capacity::OnDemand))
        .chain(
            runs.iter()
                .filter(|r| r.mode == Mode::Batched)
                .map(|r| (r, Capacity::Provisioned)),
        )
        .collect();
    for (r, capacity) in &columns {
        s.push_str(&format!(
            "B={} {}, {} | ",
            r.batch,
            r.mode.name(),
            capacity.name()
        ));
    }
    s.push('\n');
    s.push_str(&"|---".repeat(1 + columns.len()));
    s.push_str("|\n");
    let costs: Vec<Vec<prices::Line>> = columns.iter().map(|(r, c)| cost(r, *c)).collect();
    for (i, line) in costs[0].iter().enumerate() {
        s.push_str(&format!("| {} | ", line.what));
        for c in &costs {
            s.push_str(&format!("{:.3} | ", c[i].per_million));
        }
        s.push('\n');
    }
    s.push_str("| **total** | ");
    for c in &costs {
        s.push_str(&format!("**{:.2}** | ", total(c)));
    }
    s.push('\n');
    s
}

fn total(lines: &[prices::Line]) -> f64 {
    lines.iter().map(|l| l.per_million).sum()
}

fn cost(r: &Run, capacity: Capacity) -> Vec<prices::Line> {
    let per_webhook: BTreeMap<String, f64> = r
        .requests
        .0
        .iter()
        .map(|(k, n)| (k.clone(), *n as f64 / WEBHOOKS as f64))
        .collect();
    let u = &r.floor.units;
    let units = prices::Units {
        dynamodb_writes: u.dynamodb_writes as f64 / WEBHOOKS as f64,
        dynamodb_reads: u.dynamodb_reads as f64 / WEBHOOKS as f64,
        kinesis_records: u.kinesis_records as f64 / WEBHOOKS as f64,
    };
    prices::cost_per_million(&per_webhook, units, r.batch, capacity)
}

fn json(runs: &[Run]) -> String {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "mode": r.mode.name(),
                "batch_size": r.batch,
                "webhooks": WEBHOOKS,
                "requests": r.requests.0,
                "floor": r.floor.requests,
                "cost_per_million_usd": total(&cost(r, Capacity::OnDemand)),
                "cost_per_million_usd_provisioned_table": total(&cost(r, Capacity::Provisioned)),
                "seconds": r.seconds,
            })
        })
        .collect();
    serde_json::to_string_pretty(&runs).unwrap_or_default()
}

fn runs_for_plot(runs: &[Run]) -> Vec<plot::Series> {
    let series = |name: &str, pick: &dyn Fn(&Run) -> Option<f64>| plot::Series {
        name: name.to_owned(),
        points: runs
            .iter()
            .filter_map(|r| pick(r).map(|y| (r.batch as f64, y)))
            .collect(),
    };
    vec![
        series("one item per request", &|r| {
            (r.mode == Mode::Naive).then(|| per_1000(r.requests.total()))
        }),
        series("batched (measured)", &|r| {
            (r.mode == Mode::Batched).then(|| per_1000(r.requests.total()))
        }),
        series("floor", &|r| {
            (r.mode == Mode::Batched).then(|| per_1000(r.floor.requests.values().sum()))
        }),
    ]
}

/// Cold start of both release binaries and the processor's peak memory on a batch of 1,000
/// messages of 2 KB, through the loopback runtime API.
async fn startup_report() -> String {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let (ingest, processor) = (dir.join("hookloop-ingest"), dir.join("hookloop-processor"));
    if !ingest.exists() || !processor.exists() {
        return format!(
            "\n(cold start skipped: build the release binaries into {} first; make bench does)\n",
            dir.display()
        );
    }
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let mut vars = env.env();
    vars.extend(clevertap_env(&stub, &example_rules()));
    vars.push(("WEBHOOK_TOKEN".into(), TEST_TOKEN.into()));
    let mut s = String::from("\n### Cold start (spawn to first request for an event, release build, 20 runs)\n\n| binary | min | median | p90 |\n|---|---|---|---|\n");
    for (name, bin) in [
        ("hookloop-ingest", &ingest),
        ("hookloop-processor", &processor),
    ] {
        let bin = bin.clone();
        let vars = vars.clone();
        let runs = tokio::task::spawn_blocking(move || runtime_api::cold_starts(&bin, &vars, 20))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
        match runs {
            Ok(mut t) => {
                t.sort();
                let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
                s.push_str(&format!(
                    "| {name} | {} | {} | {} |\n",
                    ms(t[0]),
                    ms(t[t.len() / 2]),
                    ms(t[t.len() * 9 / 10])
                ));
            }
            Err(e) => s.push_str(&format!("| {name} | failed: {e} | | |\n")),
        }
    }

    // 1,000 distinct location webhooks of about 2 KB in one SQS event.
    let mut event = SqsEvent::default();
    for i in 0..1_000 {
        let mut body = serde_json::json!({
            "event": {"_id": format!("mem-{i:06}"), "type": "user.entered_geofence",
                      "createdAt": "2024-05-01T12:10:00.000Z",
                      "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                      "geofence": {"_id": "g1", "tag": "store", "externalId": "store-42"}},
            "user": {"userId": format!("user-{i:06}"), "metadata": {"pad": ""}}
        })
        .to_string();
        let pad = 2048usize.saturating_sub(body.len());
        body = body.replace(r#""pad":"""#, &format!(r#""pad":"{}""#, "x".repeat(pad)));
        let envelope = Envelope::new(
            hookloop_domain::Source::Location,
            body,
            time::OffsetDateTime::now_utc(),
        );
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("m-{i}"));
        m.body = Some(envelope.encode());
        m.attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        event.records.push(m);
    }
    let bytes = serde_json::to_vec(&event).unwrap_or_default();
    let answer = tokio::task::spawn_blocking(move || {
        runtime_api::invoke_once(&processor, &vars, &bytes, Duration::from_secs(600))
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|r| r);
    s.push_str(
        "\n### Processor peak memory (one batch of 1,000 messages of 2 KB, release build)\n\n",
    );
    match answer {
        Ok((body, peak)) => s.push_str(&format!(
            "Peak resident set (VmHWM): **{:.1} MiB**; answer `{}`\n",
            peak as f64 / (1024.0 * 1024.0),
            String::from_utf8_lossy(&body)
        )),
        Err(e) => s.push_str(&format!("failed: {e}\n")),
    }
    s
}

/// Webhooks sent through `hookloop serve` in the end-to-end run, and how many at once.
const E2E_WEBHOOKS: usize = 2_000;
const E2E_CONCURRENCY: usize = 16;

/// The load generator: the corpus posted to `hookloop serve` (release build) on the emulator,
/// `E2E_CONCURRENCY` at a time, with a progress bar; ingest rate and latency, then the time until
/// every webhook is archived and the queue is empty.
async fn end_to_end_report() -> String {
    use futures::stream::{self, StreamExt};

    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let hookloop = dir.join("hookloop");
    if !hookloop.exists() {
        return format!(
            "\n(end to end skipped: build the release hookloop into {} first; make bench does)\n",
            dir.display()
        );
    }
    // `TestEnv::serve` runs the binary HOOKLOOP_BIN names; nothing else reads the environment
    // concurrently at this point.
    std::env::set_var("HOOKLOOP_BIN", &hookloop);
    let env = TestEnv::start_with(QueueSettings {
        visibility_timeout_seconds: 60,
        max_receive_count: 5,
    })
    .await;
    let serve = env.serve(&[]).await;
    let corpus = corpus::corpus(E2E_WEBHOOKS);
    let http = reqwest::Client::new();
    let bar = indicatif::ProgressBar::new(E2E_WEBHOOKS as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "posting [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let started = Instant::now();
    let posts: Vec<_> = corpus
        .iter()
        .map(|w| {
            let (serve, http, bar) = (&serve, &http, &bar);
            async move {
                let t = Instant::now();
                let (status, _) = serve.post(http, w.source.route(), w.body.clone()).await;
                bar.inc(1);
                (status, t.elapsed())
            }
        })
        .collect();
    let answers: Vec<(u16, Duration)> = stream::iter(posts)
        .buffer_unordered(E2E_CONCURRENCY)
        .collect()
        .await;
    let ingest_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let accepted = answers.iter().filter(|(s, _)| *s == 200).count();
    let mut latencies: Vec<Duration> = answers.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];

    let mut drained = None;
    for _ in 0..1_200 {
        let depth = env.queue().depth().await.unwrap_or((1, 1));
        if depth == (0, 0) && env.archived_ids().await.len() >= accepted {
            drained = Some(started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    format!(
        "\n### End to end through `hookloop serve` on moto ({E2E_WEBHOOKS} webhooks, {E2E_CONCURRENCY} at a time)\n\n\
         | accepted (200) | ingest rate | ingest p50 | ingest p99 | all archived and queue empty after |\n\
         |---|---|---|---|---|\n\
         | {accepted} of {E2E_WEBHOOKS} | {:.0} webhooks/s | {} | {} | {} |\n",
        E2E_WEBHOOKS as f64 / ingest_seconds,
        ms(pct(50)),
        ms(pct(99)),
        drained.map_or("not within 10 minutes".to_owned(), |s| format!("{s:.1} s")),
    )
}
