//! Export tracking end to end on the emulator: CleverTap export status alerts for a completed,
//! an overdue and a missed export, delivered out of order; the summaries in the table; the
//! scheduled check raising the overdue and the missed one once each (their `ALERT#<time>`
//! rows, and "Export Alert" loaded back to CleverTap by the example rule, enabled); and
//! `hookloop exports list --json` and `hookloop exports check` on the same table.

use std::time::Duration;

use hookloop_aws::dynamodb::item_to_json;
use hookloop_domain::{Envelope, Source};
use hookloop_processor::{check_exports_as, handle};
use hookloop_runtime::InvocationIds;
use hookloop_tests::*;
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

fn alert(id: u64, status: &str, at: &str, frequency: &str) -> Envelope {
    let body = json!({"Export Request Id": id, "Partner": "Amazon S3", "Type": "Events",
        "Status": status, "Frequency": frequency, "Date and Time": at});
    Envelope::received(
        Source::ClevertapExportStatus,
        body.to_string(),
        OffsetDateTime::now_utc(),
    )
}

/// The example rules with `export-alert` enabled, in a file of their own.
fn rules_with_export_alert() -> String {
    let text = std::fs::read_to_string(example_rules()).expect("example rules");
    let mut rules: Value = serde_json::from_str(&text).expect("rules JSON");
    for rule in rules["rules"].as_array_mut().expect("rules") {
        if rule["name"] == "export-alert" {
            rule["enabled"] = json!(true);
        }
    }
    let path = std::env::temp_dir().join(format!("hookloop-rules-{}.json", ulid::Ulid::new()));
    std::fs::write(&path, rules.to_string()).expect("write rules");
    path.display().to_string()
}

async fn summary(env: &TestEnv, id: u64) -> Value {
    let item = env
        .table()
        .get(&format!("EXPORT#{id}"), "SUMMARY")
        .await
        .expect("GetItem")
        .unwrap_or_else(|| panic!("export {id}'s summary"));
    item_to_json(&item).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn completed_overdue_and_missed_exports_are_tracked_and_each_alert_raised_once() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let vars = clevertap_env(&stub, &rules_with_export_alert());
    let p = env.processor(&vars);

    // 101: one time, completed (its completion delivered first). 102: one time, initiated at
    // 08:00 and never completed. 103: every 4 hours, the 00:00 run completed, no run since.
    let batches = [
        vec![
            alert(101, "Completed", "01/02/2024 9:00:00 AM", "One Time"),
            alert(103, "Completed", "01/02/2024 00:40:00", "Every 4 Hours"),
        ],
        vec![
            alert(101, "Initiated", "01/02/2024 8:00:00 AM", "One Time"),
            alert(102, "Initiated", "01/02/2024 08:00:00", "One Time"),
            alert(103, "Initiated", "01/02/2024 00:00:00", "Every 4 Hours"),
        ],
    ];
    for batch in &batches {
        let r = handle(&p, sqs_event(batch, 1), None).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
    }
    let done = summary(&env, 101).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["duration_s"], 3600);
    assert_eq!(done["last_status"], "Completed");
    assert_eq!(
        summary(&env, 103).await["next_expected_at"],
        "2024-02-01T04:00:00.000Z"
    );

    // The schedule's check at 14:30: 102 overdue since 14:00, 103 missed since 05:00.
    let ids = InvocationIds::local();
    let at = datetime!(2024-02-01 14:30 UTC);
    let report = check_exports_as(&p, at, None, &ids).await.expect("check");
    assert_eq!(report.checked, 3);
    let mut raised: Vec<(String, &str, String)> = report
        .raised
        .iter()
        .map(|r| {
            (
                r.export_request_id.clone(),
                r.alert.as_str(),
                r.due_at.clone(),
            )
        })
        .collect();
    raised.sort();
    assert_eq!(
        raised,
        vec![
            ("102".into(), "overdue", "2024-02-01T14:00:00.000Z".into()),
            ("103".into(), "missed", "2024-02-01T05:00:00.000Z".into()),
        ],
        "{report:?}"
    );
    let again = check_exports_as(&p, at + time::Duration::minutes(15), None, &ids)
        .await
        .expect("check");
    assert!(again.raised.is_empty(), "raised once: {again:?}");

    let table = env.table();
    for (id, sk, kind) in [
        (102, "ALERT#2024-02-01T14:00:00.000Z", "overdue"),
        (103, "ALERT#2024-02-01T05:00:00.000Z", "missed"),
    ] {
        let row = table
            .get(&format!("EXPORT#{id}"), sk)
            .await
            .expect("GetItem")
            .unwrap_or_else(|| panic!("EXPORT#{id} | {sk}"));
        assert_eq!(item_to_json(&row)["alert"], kind);
        assert_eq!(summary(&env, id).await["status"], kind);
    }
    let mut sent: Vec<(String, String)> = stub
        .accepted()
        .into_iter()
        .map(|a| a.record)
        .filter(|r| r["evtName"] == "Export Alert")
        .map(|r| {
            (
                r["evtData"]["Export Request ID"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned(),
                r["evtData"]["Alert"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        vec![
            ("102".into(), "overdue".into()),
            ("103".into(), "missed".into())
        ]
    );

    // The CLI on the same table.
    let (ok, out, err) = env.hookloop(&["exports", "list", "--json"]).await;
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let status: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["export_request_id"].as_str().unwrap_or("?"),
                l["status"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![("101", "completed"), ("102", "overdue"), ("103", "missed")]
    );
    for key in [
        "partner",
        "type",
        "frequency",
        "initiated_at",
        "completed_at",
        "duration_s",
        "next_expected_at",
    ] {
        assert!(lines[0].get(key).is_some(), "{key} in {}", lines[0]);
    }
    let (ok, out, err) = env.hookloop(&["exports", "check"]).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("checked 3 export(s)") && out.contains("0 raised"),
        "{out}"
    );
    let (ok, out, _) = env.hookloop(&["exports", "--help"]).await;
    assert!(ok && out.contains("check") && out.contains("list"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hookloop_serve_runs_the_export_check_as_the_schedule_does() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let batch = [alert(201, "Initiated", "01/02/2024 08:00:00", "One Time")];
    let r = handle(&p, sqs_event(&batch, 1), None).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    // Initiated in 2024 and never completed: overdue, raised by serve's first check.
    let _serve = env.serve(&[]).await;
    let table = env.table();
    eventually("serve's export check", Duration::from_secs(30), || {
        let table = &table;
        async move {
            table
                .get("EXPORT#201", "ALERT#2024-02-01T14:00:00.000Z")
                .await
                .ok()
                .flatten()
        }
    })
    .await;
    assert_eq!(summary(&env, 201).await["status"], "overdue");
}
