//! `hookloop rules check | preview | push`: a load-back document's problems by JSON pointer, the
//! records a webhook would make, and the upload to the stack's `LoadbackConfigUri`.

use serde_json::{json, Value};

use super::{create_stack, hookloop_with, template};
use hookloop_tests::TestEnv;

/// A load-back document: one account, the example rules, `edit` applied.
fn document(edit: impl FnOnce(&mut Value)) -> String {
    let rules: Value = serde_json::from_str(
        &std::fs::read_to_string(hookloop_tests::repo_root().join("infra/loadback-rules.json"))
            .expect("infra/loadback-rules.json"),
    )
    .expect("JSON");
    let mut doc = json!({
        "description": "operate.rs",
        "accounts": {"default": {"account_id": "W9R-TEST-1", "region": "in1"}},
        "rules": rules["rules"],
    });
    edit(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_checked_with_pointers_previewed_and_pushed_to_the_stack() {
    let dir = std::env::temp_dir().join(format!("hookloop-rules-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    let bad = dir.join("bad.json");
    std::fs::write(&good, document(|_| {})).unwrap();
    std::fs::write(
        &bad,
        document(|d| {
            d["accounts"]["default"]["region"] = json!("moon base");
            d["accounts"]["eu"] = json!({"account_id": "W9R-TEST-2", "region": "eu"});
            d["rules"][0]["type"] = json!("sms");
        }),
    )
    .unwrap();
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());

    let (ok, out, _) = hookloop_with(&["rules", "check", good], &[]).await;
    assert!(ok && out.contains("ok: 1 account(s)"), "{out}");
    let (ok, out, err) = hookloop_with(&["rules", "check", bad], &[]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("{bad}: /accounts/default/region: "))
            && out.contains(&format!("{bad}: /rules/0/type: ")),
        "every problem with its pointer:\n{out}"
    );
    assert!(err.contains("2 problem(s)"), "{err}");

    // A geofence entry makes the example rules' Geofence Entered event; nothing is sent.
    let event = hookloop_tests::event_file("webhooks/location/radar-geofence-entered.json");
    let (ok, out, err) = hookloop_with(
        &["rules", "preview", good, "--event", event.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    let records: Vec<Value> = serde_json::from_str(&out).expect("preview prints JSON");
    assert!(
        records.iter().any(|r| r["rule"] == "geofence-entered"
            && r["type"] == "event"
            && r["account"] == "default"
            && r["record"]["evtName"] == "Geofence Entered"),
        "{out}"
    );
    let campaign = hookloop_tests::event_file("webhooks/clevertap/campaign-broadcast.json");
    let (ok, out, err) = hookloop_with(
        &[
            "rules",
            "preview",
            good,
            "--event",
            campaign.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    let records: Vec<Value> = serde_json::from_str(&out).unwrap();
    let rules: std::collections::HashSet<&str> =
        records.iter().filter_map(|r| r["rule"].as_str()).collect();
    assert!(
        rules.contains("campaign-event") && rules.contains("campaign-profile"),
        "{out}"
    );

    let env = TestEnv::start().await;
    let name = format!(
        "rules-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    create_stack(&env, &name, template(&env.resources)).await;
    let endpoint = env.moto.endpoint.as_str();
    let aws = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let (ok, out, err) = hookloop_with(&["rules", "push", bad, "--stack", &name], &aws).await;
    assert!(!ok && err.contains("not uploaded"), "{out}{err}");
    assert_eq!(
        env.archive().get("config/loadback.json").await.unwrap(),
        None,
        "a document with problems is not uploaded"
    );
    let (ok, out, err) = hookloop_with(&["rules", "push", good, "--stack", &name], &aws).await;
    assert!(ok, "{err}");
    let uri = format!("s3://{}/config/loadback.json", env.resources.bucket);
    assert!(out.contains(&uri), "{out}");
    assert_eq!(
        env.archive().get("config/loadback.json").await.unwrap(),
        Some(std::fs::read(good).unwrap()),
        "uploaded byte for byte"
    );
    let (ok, out, err) = hookloop_with(&["status", "--stack", &name, "--json"], &aws).await;
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert!(
        status["configuration"]["loadback_config_modified"].is_string(),
        "status shows when the document was written: {status:#}"
    );
}
