//! Cold start and peak memory of the release binaries, through the loopback runtime API.

use std::path::PathBuf;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use hookloop_domain::Envelope;
use hookloop_tests::{clevertap_env, example_rules, start_stub, TestEnv, TEST_TOKEN};

use crate::runtime_api;

/// Cold start of both release binaries and the processor's peak memory on a batch of 1,000
/// messages of 2 KB, through the loopback runtime API.
pub async fn startup_report() -> String {
    let (ingest, processor) = (
        release_bin("hookloop-ingest"),
        release_bin("hookloop-processor"),
    );
    let dir = processor.parent().map(PathBuf::from).unwrap_or_default();
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
        let envelope = Envelope::received(
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
        Ok(run) => s.push_str(&format!(
            "Peak resident set (VmHWM): **{:.1} MiB**; answer `{}`\n",
            run.peak as f64 / (1024.0 * 1024.0),
            String::from_utf8_lossy(&run.answer)
        )),
        Err(e) => s.push_str(&format!("failed: {e}\n")),
    }
    s.push_str(&crate::cpu_and_profile().await);
    s
}

/// A release binary built beside this one (`make bench` builds them).
pub fn release_bin(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}
