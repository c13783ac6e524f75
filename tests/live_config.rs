//! Configuration that changes without a redeploy, on the emulator: the ingest's credentials
//! from its secret in Secrets Manager (a rotation in force within `SECRETS_TTL_SECONDS`), and
//! the processor's load-back from the stack's document in S3 with the passcodes of its secret
//! (a new document in force within its check period, a bad one refused while the last good one
//! stays, no document: load-back off).

use std::time::Duration;

use hookloop_aws::secrets::Secret;
use hookloop_domain::{Envelope, Source};
use hookloop_ingest::{Ingest, IngestConfig, SECRET_KEYS};
use hookloop_runtime::Env;
use hookloop_tests::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

async fn create_secret(env: &TestEnv, name: &str, doc: &Value) -> String {
    let out = env
        .clients
        .secrets
        .create_secret()
        .name(name)
        .secret_string(doc.to_string())
        .send()
        .await
        .expect("create secret");
    out.arn().expect("arn").to_owned()
}

async fn put_secret(env: &TestEnv, arn: &str, doc: &Value) {
    env.clients
        .secrets
        .put_secret_value()
        .secret_id(arn)
        .secret_string(doc.to_string())
        .send()
        .await
        .expect("put secret value");
}

async fn post(ingest: &Ingest<hookloop_aws::sqs::Queue>, token: &str) -> u16 {
    let body = std::fs::read(event_file("webhooks/location/structured.json")).unwrap();
    let req = http::Request::post("/webhooks/location")
        .header("content-type", "application/json")
        .header("x-webhook-token", token)
        .body(bytes::Bytes::from(body))
        .unwrap();
    hookloop_ingest::handle(ingest, req).await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_rotated_in_the_secret_is_in_force_within_its_ttl_without_a_restart() {
    let env = TestEnv::start().await;
    let arn = create_secret(
        &env,
        "ingest-secret",
        &json!({"WEBHOOK_TOKEN": "old-token-1"}),
    )
    .await;
    let secret = Secret::new(env.clients.secrets.clone(), &arn);
    let doc = secret.read().await.expect("read the secret");
    // The environment of a deployed ingest: no token in it, the secret's document over it.
    let vars: Vec<(String, String)> = env
        .env()
        .into_iter()
        .filter(|(k, _)| k != "WEBHOOK_TOKEN")
        .collect();
    let lookup = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let config = IngestConfig::read(&doc.over(&Env::new(lookup), &SECRET_KEYS)).expect("config");
    let ingest = Ingest::from_config(config, &env.clients, Some((secret, Duration::from_secs(1))));

    assert_eq!(post(&ingest, "old-token-1").await, 200);
    assert_eq!(
        post(&ingest, "new-token-2").await,
        401,
        "not yet in the secret"
    );

    // Rotation, step 1: both tokens.
    put_secret(
        &env,
        &arn,
        &json!({"WEBHOOK_TOKEN": "old-token-1,new-token-2"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post(&ingest, "new-token-2").await,
        200,
        "the new token, within the TTL"
    );
    assert_eq!(
        post(&ingest, "old-token-1").await,
        200,
        "the old one still, while senders move"
    );

    // Step 2: the old one removed. A version that makes no valid credentials is refused first.
    put_secret(&env, &arn, &json!({"WEBHOOK_BASIC_AUTH": "no-colon"})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post(&ingest, "old-token-1").await,
        200,
        "a bad version leaves the last good one"
    );
    put_secret(&env, &arn, &json!({"WEBHOOK_TOKENS": "misspelt"})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post(&ingest, "old-token-1").await,
        200,
        "so does one with no credential at all"
    );
    put_secret(&env, &arn, &json!({"WEBHOOK_TOKEN": "new-token-2"})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post(&ingest, "old-token-1").await,
        401,
        "the old token is gone"
    );
    assert_eq!(post(&ingest, "new-token-2").await, 200);
}

fn campaign(tag: &str) -> Envelope {
    let body = json!({"targetId": 1700000001u64, "key_values": {"coupon": "SPRING25"},
                      "profiles": [{"objectId": tag}]});
    Envelope::received(
        Source::ClevertapWebhook,
        body.to_string(),
        OffsetDateTime::now_utc(),
    )
}

fn example_rules() -> Value {
    let text = std::fs::read_to_string(repo_root().join("infra/loadback-rules.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["rules"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_back_follows_the_document_in_the_bucket_and_a_bad_one_leaves_the_last_good() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let arn = create_secret(
        &env,
        "processor-secret",
        &json!({"CLEVERTAP_PASSCODES": {"main": STUB_PASSCODE}}),
    )
    .await;
    let key = "config/loadback.json";
    let archive = env.archive();
    let put_doc = |doc: Value| {
        let archive = archive.clone();
        async move {
            archive
                .put(key, doc.to_string().into_bytes())
                .await
                .unwrap()
        }
    };
    let uri = format!("s3://{}/{key}", env.resources.bucket);
    let p = env.processor(&[
        ("LOADBACK_CONFIG".into(), uri),
        ("SECRET_ARN".into(), arn),
        ("LOADBACK_CONFIG_CHECK_SECONDS".into(), "1".into()),
    ]);
    let run = |tag: &'static str| {
        let p = &p;
        async move {
            let r = hookloop_processor::handle(p, sqs_event(&[campaign(tag)], 1), None).await;
            assert!(r.batch_item_failures.is_empty(), "{tag}: {r:?}");
        }
    };
    let loaded = |tag: &str| {
        stub.accepted()
            .iter()
            .filter(|a| a.record["objectId"] == tag)
            .count()
    };

    // No document: stored, not loaded back.
    run("before-any").await;
    assert_eq!(loaded("before-any"), 0);

    let good = json!({
        "accounts": {"main": {"account_id": STUB_ACCOUNT_ID, "api_url": stub.base_url()}},
        "rules": example_rules(),
    });
    put_doc(good.clone()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    run("with-rules").await;
    assert_eq!(
        loaded("with-rules"),
        2,
        "the campaign event and the profile update"
    );

    // A document with a wrong rule is refused: the last good one stays in force.
    let mut bad = good.clone();
    bad["rules"][0]["type"] = json!("sms");
    put_doc(bad).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    run("after-bad").await;
    assert_eq!(
        loaded("after-bad"),
        2,
        "still loaded back by the last good document"
    );

    // A good new document: only the profile rule kept.
    let mut fewer = good.clone();
    fewer["rules"] = json!([good["rules"][1].clone()]);
    put_doc(fewer).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    run("one-rule").await;
    assert_eq!(loaded("one-rule"), 1, "the new rules are in force");
    // The document deleted: load-back off (a missing key is also what S3 answers 403 for).
    env.clients
        .s3
        .delete_object()
        .bucket(&env.resources.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    run("after-delete").await;
    assert_eq!(loaded("after-delete"), 0, "no document, no load-back");
    let rows = env.scan_rows().await;
    for tag in [
        "before-any",
        "with-rules",
        "after-bad",
        "one-rule",
        "after-delete",
    ] {
        assert!(
            rows.iter().any(|r| r["pk"] == json!(format!("CT#{tag}"))),
            "{tag} is stored whatever load-back does"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_read_again_only_when_it_changed() {
    use hookloop_aws::s3::Changed;
    let env = TestEnv::start().await;
    let archive = env.archive();
    let key = "config/loadback.json";
    assert_eq!(
        archive.get_if_changed(key, None).await.unwrap(),
        Changed::Gone
    );
    archive.put(key, b"{\"v\": 1}".to_vec()).await.unwrap();
    let Changed::New { body, etag } = archive.get_if_changed(key, None).await.unwrap() else {
        panic!("the first read reads the document");
    };
    assert_eq!(body, b"{\"v\": 1}");
    let etag = etag.expect("S3 gives an ETag");
    assert_eq!(
        archive.get_if_changed(key, Some(&etag)).await.unwrap(),
        Changed::Same,
        "unchanged: S3 answers 304 without the body"
    );
    archive.put(key, b"{\"v\": 2}".to_vec()).await.unwrap();
    match archive.get_if_changed(key, Some(&etag)).await.unwrap() {
        Changed::New { body, .. } => assert_eq!(body, b"{\"v\": 2}"),
        other => panic!("a new version is read: {other:?}"),
    }
}
