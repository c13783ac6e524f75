//! Export tracking: alerts merged into one summary per export whatever their order, and the
//! check raising each overdue or missed export once, with its CleverTap event when a rule
//! makes one, retried by the next check when CleverTap fails.

use hookloop_clevertap::UploadError;
use hookloop_domain::exports::{ExportLimits, ExportSummary, ExportZone};
use hookloop_domain::Source;
use hookloop_runtime::metrics::names::EXPORT_ALERTS;
use serde_json::{json, Value};
use time::macros::datetime;

use super::*;
use crate::exports::{check_exports, ExportSettings};
use crate::memory::Answer;

fn alert(status: &str, at: &str, frequency: &str) -> Envelope {
    let body = json!({"Export Request Id": 1690283492, "Partner": "Amazon S3", "Type": "Events",
        "Status": status, "Frequency": frequency, "Date and Time": at});
    envelope(Source::ClevertapExportStatus, &body.to_string())
}

fn summary(w: &World) -> Value {
    let rows = w.rows.lock();
    Value::Object(
        rows.items
            .get(&("EXPORT#1690283492".to_owned(), "SUMMARY".to_owned()))
            .cloned()
            .unwrap_or_default(),
    )
}

fn alerts(w: &World) -> Vec<(String, Value)> {
    let rows = w.rows.lock();
    rows.items
        .iter()
        .filter(|((pk, sk), _)| pk == "EXPORT#1690283492" && sk.starts_with("ALERT#"))
        .map(|((_, sk), item)| (sk.clone(), Value::Object(item.clone())))
        .collect()
}

#[tokio::test]
async fn alerts_in_any_order_make_one_summary_and_a_redelivery_writes_nothing() {
    let w = World::default();
    let p = w.processor();
    let completed = alert("Completed", "25/07/2023 4:50:52 PM", "One Time");
    let initiated = alert("Initiated", "25/07/2023 4:00:00 PM", "One Time");
    assert!(retried(&run_batch(&p, std::slice::from_ref(&completed)).await).is_empty());
    assert!(retried(&run_batch(&p, std::slice::from_ref(&initiated)).await).is_empty());
    let s = summary(&w);
    assert_eq!(s["status"], "completed");
    assert_eq!(s["initiated_at"], "2023-07-25T16:00:00.000Z");
    assert_eq!(s["completed_at"], "2023-07-25T16:50:52.000Z");
    assert_eq!(s["duration_s"], 3052);
    assert_eq!(
        s["last_status"], "Completed",
        "the newest alert's, not the last processed"
    );
    assert_eq!(s["revision"], 2);
    let directory = w
        .rows
        .lock()
        .items
        .get(&("EXPORTS".into(), "1690283492".into()))
        .cloned();
    assert!(directory.is_some(), "the export is in the directory");

    let swaps = w.rows.lock().swaps;
    assert!(retried(&run(&p, vec![message(&completed, 2)]).await).is_empty());
    assert_eq!(
        w.rows.lock().swaps,
        swaps,
        "a redelivered alert writes no summary"
    );
}

/// The 00:00 run of an export every 4 hours, initiated and completed, in one batch.
async fn store_a_four_hourly_run(p: &Processor<Memory>) {
    let batch = [
        alert("Initiated", "01/02/2024 00:00:00", "Every 4 Hours"),
        alert("Completed", "01/02/2024 00:40:00", "Every 4 Hours"),
    ];
    assert!(retried(&run_batch(p, &batch).await).is_empty());
}

#[tokio::test]
async fn two_alerts_of_one_export_in_one_batch_are_one_write() {
    let w = World::default();
    let p = w.processor();
    store_a_four_hourly_run(&p).await;
    assert_eq!(w.rows.lock().swaps, 1);
    assert_eq!(summary(&w)["next_expected_at"], "2024-02-01T04:00:00.000Z");
    assert_eq!(summary(&w)["interval_s"], 4 * 3600);
}

#[tokio::test]
async fn a_summary_changed_by_another_writer_is_read_again_not_overwritten() {
    let w = World::default();
    let p = w.processor();
    assert!(
        retried(&run_batch(&p, &[alert("Initiated", "01/02/2024 00:00:00", "Daily")]).await)
            .is_empty()
    );
    w.rows.lock().interfere = 1;
    assert!(
        retried(&run_batch(&p, &[alert("Completed", "01/02/2024 01:00:00", "Daily")]).await)
            .is_empty()
    );
    let s = summary(&w);
    assert_eq!(
        (s["status"].as_str(), s["revision"].as_i64()),
        (Some("completed"), Some(2))
    );
}

#[tokio::test]
async fn export_timezone_reads_the_wall_clock_in_the_accounts_zone() {
    let w = World::default();
    let p = w.processor().with_export_settings(ExportSettings {
        zone: ExportZone::parse("Asia/Kolkata").unwrap(),
        limits: ExportLimits::default(),
    });
    let e = alert("Initiated", "25/07/2023 4:50:52 PM", "One Time");
    assert!(retried(&run_batch(&p, &[e]).await).is_empty());
    assert_eq!(summary(&w)["initiated_at"], "2023-07-25T11:20:52.000Z");
    let status_rows: Vec<Value> = w
        .rows
        .lock()
        .items
        .iter()
        .filter(|((_, sk), _)| sk.starts_with("STATUS#"))
        .map(|(_, i)| Value::Object(i.clone()))
        .collect();
    assert_eq!(status_rows.len(), 1);
    assert_eq!(status_rows[0]["at"], "2023-07-25T11:20:52.000Z");
}

#[tokio::test]
async fn an_export_not_completed_in_six_hours_is_raised_once_with_its_alert_row_and_metric() {
    let w = World::default();
    let p = w.processor();
    assert!(retried(
        &run_batch(&p, &[alert("Initiated", "01/02/2024 08:00:00", "One Time")]).await
    )
    .is_empty());
    let mut inv = p.metrics().start();
    let early = check_exports(&p, datetime!(2024-02-01 13:59 UTC), None, &mut inv)
        .await
        .unwrap();
    assert_eq!((early.checked, early.raised.len()), (1, 0));
    let due = check_exports(&p, datetime!(2024-02-01 14:15 UTC), None, &mut inv)
        .await
        .unwrap();
    assert_eq!(due.raised.len(), 1);
    assert_eq!(due.raised[0].alert, "overdue");
    assert_eq!(inv.total(EXPORT_ALERTS), 1);
    let rows = alerts(&w);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "ALERT#2024-02-01T14:00:00.000Z");
    assert_eq!(rows[0].1["alert"], "overdue");
    assert_eq!(summary(&w)["status"], "overdue");

    let again = check_exports(&p, datetime!(2024-02-01 14:30 UTC), None, &mut inv)
        .await
        .unwrap();
    assert!(again.raised.is_empty(), "raised once");
    assert_eq!(inv.total(EXPORT_ALERTS), 1);

    // It completes after all.
    assert!(retried(
        &run_batch(&p, &[alert("Completed", "01/02/2024 15:00:00", "One Time")]).await
    )
    .is_empty());
    assert_eq!(summary(&w)["status"], "completed");
}

#[tokio::test]
async fn a_recurring_export_whose_next_run_does_not_come_is_missed() {
    let w = World::default();
    let p = w.processor();
    store_a_four_hourly_run(&p).await;
    let mut inv = p.metrics().start();
    let r = check_exports(&p, datetime!(2024-02-01 05:00 UTC), None, &mut inv)
        .await
        .unwrap();
    assert_eq!(r.raised.len(), 1);
    assert_eq!(
        (r.raised[0].alert.as_str(), r.raised[0].run_at.as_str()),
        ("missed", "2024-02-01T04:00:00.000Z")
    );
    assert_eq!(summary(&w)["status"], "missed");
    let item = w.rows.lock().items[&("EXPORT#1690283492".to_owned(), "SUMMARY".to_owned())].clone();
    let back = ExportSummary::from_item(&item).unwrap();
    assert_eq!(
        back.raised,
        vec!["missed@2024-02-01T04:00:00.000Z".to_owned()]
    );
}

fn with_alert_rule() -> String {
    let mut rules: Value = serde_json::from_str(EXAMPLE_RULES).unwrap();
    for rule in rules["rules"].as_array_mut().unwrap() {
        if rule["name"] == "export-alert" {
            rule["enabled"] = json!(true);
        }
    }
    rules.to_string()
}

#[tokio::test]
async fn the_alert_reaches_clevertap_through_a_rule_and_a_failed_upload_is_raised_next_check() {
    let w = World::default();
    let p = w.loading_back_by(&with_alert_rule(), 1);
    assert!(retried(
        &run_batch(&p, &[alert("Initiated", "01/02/2024 08:00:00", "One Time")]).await
    )
    .is_empty());
    w.upload
        .lock()
        .script
        .push_back(Answer::Fail(UploadError::Status {
            status: 503,
            code: None,
            error: "unavailable".into(),
        }));
    let mut inv = p.metrics().start();
    let first = check_exports(&p, datetime!(2024-02-01 14:15 UTC), None, &mut inv)
        .await
        .unwrap();
    assert!(first.raised.is_empty());
    assert_eq!(first.failed.len(), 1, "{first:?}");
    assert_eq!(
        summary(&w)["status"],
        "initiated",
        "not marked: the next check tries again"
    );
    let next = check_exports(&p, datetime!(2024-02-01 14:30 UTC), None, &mut inv)
        .await
        .unwrap();
    assert_eq!(next.raised.len(), 1, "{next:?}");
    let accepted = w.upload.lock().accepted.clone();
    assert_eq!(accepted.len(), 1);
    let record = &accepted[0].1;
    assert_eq!(record["evtName"], "Export Alert");
    assert_eq!(record["identity"], "Amazon S3");
    assert_eq!(record["evtData"]["Alert"], "overdue");
    assert_eq!(record["evtData"]["Export Request ID"], "1690283492");
    assert_eq!(inv.total(EXPORT_ALERTS), 1);
}

#[tokio::test]
async fn an_alert_whose_record_clevertap_refuses_for_good_is_raised_without_it() {
    let w = World::default();
    let p = w.loading_back_by(&with_alert_rule(), 1);
    assert!(retried(
        &run_batch(&p, &[alert("Initiated", "01/02/2024 08:00:00", "One Time")]).await
    )
    .is_empty());
    w.upload.lock().script.push_back(Answer::Refuse {
        position: 0,
        code: 523,
    });
    let mut inv = p.metrics().start();
    let r = check_exports(&p, datetime!(2024-02-01 14:15 UTC), None, &mut inv)
        .await
        .unwrap();
    assert_eq!((r.raised.len(), r.failed.len()), (1, 0), "{r:?}");
    assert_eq!(inv.total(EXPORT_ALERTS), 1);
}

#[tokio::test]
async fn a_check_out_of_time_raises_nothing_and_leaves_it_to_the_next() {
    let w = World::default();
    let p = w.processor();
    store_a_four_hourly_run(&p).await;
    let mut inv = p.metrics().start();
    let at = datetime!(2024-02-01 05:00 UTC);
    let late = check_exports(&p, at, Some(std::time::Instant::now()), &mut inv)
        .await
        .unwrap();
    assert!(late.raised.is_empty(), "{late:?}");
    assert_eq!(summary(&w)["status"], "completed");
    let next = check_exports(&p, at, None, &mut inv).await.unwrap();
    assert_eq!(next.raised.len(), 1, "{next:?}");
}
