//! The three Lambda binaries, built and run by `cargo lambda watch` (the Lambda runtime API
//! emulator) and invoked with every file in `events/apigw`, `events/sqs` and `events/schedule`,
//! with moto as the AWS endpoint: the same events `sam local invoke -e` takes.

use std::collections::BTreeMap;
use std::time::Duration;

use hookloop_tests::samples::*;
use hookloop_tests::watch::Watch;
use hookloop_tests::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_binaries_answer_every_sample_event_as_documented() {
    assert_every_sample_event_is_expected();

    let env = TestEnv::start().await;
    let dir = std::env::temp_dir().join(format!("hookloop-watch-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    // The processor loads back to the CleverTap stand-in by the example rules.
    let stub = start_stub(Duration::ZERO).await;
    let mut vars: BTreeMap<String, String> = env.env().into_iter().collect();
    vars.extend(clevertap_env(&stub, &example_rules()));
    vars.insert("WEBHOOK_TOKEN".into(), SAMPLE_TOKEN.into()); // the token the sample events carry
    vars.insert("RUST_LOG".into(), "info".into());
    let watch = Watch::start(&vars, &dir, "lambda").await;

    // Ingest: every API Gateway event gets its documented answer.
    let mut queued = 0;
    for (file, _, _) in expected_ingest_responses() {
        let resp = watch
            .invoke("hookloop-ingest", &event_file(&format!("apigw/{file}")))
            .await;
        if assert_ingest_answer(file, &resp) {
            queued += 1;
        }
    }
    let (visible, _) = env.queue().depth().await.unwrap();
    assert_eq!(
        visible, queued,
        "exactly the accepted webhooks are on the queue"
    );

    // Processor: the SQS sample stores its two envelopes and dead-letters the poison record,
    // reporting no failure (nothing in it is worth redelivering).
    let resp = watch
        .invoke(
            "hookloop-processor",
            &event_file("sqs/processor-batch.json"),
        )
        .await;
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_sample_batch_stored(&env).await;
    // The geofence entry was loaded back; the export alert raises nothing.
    assert_sample_batch_loaded_back(&stub);

    // The processor's scheduled export check finds the batch's export, completed: nothing due.
    let check = watch
        .invoke(
            "hookloop-processor",
            &event_file(&format!("schedule/{EXPORTS_CHECK_EVENT}")),
        )
        .await;
    assert_eq!(check["at"], "2024-05-01T13:15:00.000Z", "{check}");
    assert_eq!(check["checked"], 1, "{check}");
    assert_eq!(check["raised"], json!([]), "{check}");
    assert_eq!(check["failed"], json!([]), "{check}");

    // Compactor: the scheduled event compacts the batch's hour into curated/; run again, it
    // finds nothing changed and compacts nothing.
    let schedule = event_file(&format!("schedule/{SCHEDULE_EVENT}"));
    let resp = watch.invoke("hookloop-compactor", &schedule).await;
    assert_sample_batch_compacted(&env, &resp).await;
    let again = watch.invoke("hookloop-compactor", &schedule).await;
    assert_eq!(again["compacted"], json!([]), "{again}");

    // The functions logged JSON lines with the message id, and never the token.
    let log = watch.log();
    assert!(
        log.contains(r#""message_id":"01HWT0D7G0RADARGE0FENCE002""#),
        "processor logs are JSON lines carrying the message id"
    );
    assert!(
        !log.contains("dev-token") && !log.contains(TEST_TOKEN) && !log.contains(STUB_PASSCODE),
        "a secret reached the logs"
    );

    // Each invocation printed its requests as CloudWatch embedded metrics.
    let emf: Vec<Value> = log
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|d| d.get("_aws").is_some())
        .collect();
    let processor: Vec<&Value> = emf
        .iter()
        .filter(|d| d["Function"] == "processor")
        .collect();
    assert!(!processor.is_empty(), "no metrics line from the processor");
    let total = |name: &str| -> u64 { processor.iter().filter_map(|d| d[name].as_u64()).sum() };
    assert!(total("Requests.s3.PutObject") >= 1);
    assert!(total("Requests.dynamodb.BatchWriteItem") >= 1);
    assert_eq!(total("Requests.clevertap.upload"), 1, "{processor:?}");
    for d in &processor {
        let declared = d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert!(declared
            .iter()
            .all(|m| d[m["Name"].as_str().unwrap()].is_u64()
                || d[m["Name"].as_str().unwrap()].is_array()));
    }
    assert!(
        emf.iter()
            .any(|d| d["Function"] == "ingest" && d["Requests.sqs.SendMessage"] == 1),
        "no metrics line from the ingest"
    );
    assert!(
        emf.iter()
            .any(|d| d["Function"] == "compactor" && d["Requests.s3.ListObjectsV2"].is_u64()),
        "no metrics line from the compactor"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
