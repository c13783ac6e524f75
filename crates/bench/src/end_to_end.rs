//! The end-to-end run: the corpus posted to the release `hookloop serve` on the emulator.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hookloop_cli::provision::QueueSettings;
use hookloop_tests::TestEnv;

use crate::corpus;

/// Webhooks sent through `hookloop serve` in the end-to-end run, and how many at once.
const E2E_WEBHOOKS: usize = 2_000;
const E2E_CONCURRENCY: usize = 16;

/// The load generator: the corpus posted to `hookloop serve` (release build) on the emulator,
/// `E2E_CONCURRENCY` at a time, with a progress bar; ingest rate and latency, then the time until
/// every webhook is archived and the queue is empty.
pub async fn end_to_end_report() -> String {
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
    // The others by status, so a shortfall says what the sender was told.
    let mut others: std::collections::BTreeMap<u16, usize> = std::collections::BTreeMap::new();
    for (status, _) in answers.iter().filter(|(s, _)| *s != 200) {
        *others.entry(*status).or_default() += 1;
    }
    let others: Vec<String> = others.iter().map(|(s, n)| format!("{n} x {s}")).collect();
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
         | accepted (200) | other answers | ingest rate | ingest p50 | ingest p99 | all archived and queue empty after |\n\
         |---|---|---|---|---|---|\n\
         | {accepted} of {E2E_WEBHOOKS} | {} | {:.0} webhooks/s | {} | {} | {} |\n",
        if others.is_empty() { "none".to_owned() } else { others.join(", ") },
        E2E_WEBHOOKS as f64 / ingest_seconds,
        ms(pct(50)),
        ms(pct(99)),
        drained.map_or("not within 10 minutes".to_owned(), |s| format!("{s:.1} s")),
    )
}
