//! The tracker's promises: any order of an export's alerts gives one summary; an initiated
//! export is overdue after the completion limit, a recurring one missed after its interval and
//! the grace; each is raised once per run.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{parse_webhook, ExportStatusAlert, Webhook};

/// An alert; an empty `frequency` is one that sends none.
fn alert(status: &str, at: &str, frequency: &str) -> ExportStatusAlert {
    let mut body = json!({"Export Request Id": 1690283492, "Partner": "Amazon S3", "Type": "Events",
        "Status": status, "Frequency": frequency, "Date and Time": at});
    if frequency.is_empty() {
        body.as_object_mut().unwrap().remove("Frequency");
    }
    match parse_webhook(Source::ClevertapExportStatus, body.to_string().as_bytes()) {
        Ok(Webhook::ExportStatus(a)) => a,
        other => panic!("{other:?}"),
    }
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// The listing's `status` of `s` at `now`, as `hookloop exports list` reads it from the item.
fn status_at(s: &ExportSummary, now: &str) -> String {
    let item = s.to_row(&ExportLimits::default()).attrs;
    ExportSummary::listing(&item, at(now)).unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn summary_of(alerts: &[(&ExportStatusAlert, &str)]) -> ExportSummary {
    let mut s = ExportSummary::new("1690283492");
    for (a, id) in alerts {
        s.apply(a, id);
    }
    s
}

#[test]
fn a_one_time_export_initiated_then_completed_has_its_duration_and_no_next_run() {
    let i = alert("Initiated", "25/07/2023 4:00:00 PM", "One Time");
    let c = alert("Completed", "25/07/2023 4:50:52 PM", "One Time");
    let s = summary_of(&[(&i, "01A"), (&c, "01B")]);
    assert_eq!(
        s,
        summary_of(&[(&c, "01B"), (&i, "01A")]),
        "order does not matter"
    );
    assert_eq!(s.duration_s(), Some(3052));
    assert_eq!(s.last_status.as_deref(), Some("Completed"));
    assert_eq!(s.next_expected_at(), None);
    let limits = ExportLimits::default();
    assert_eq!(status_at(&s, "2030-01-01T00:00:00Z"), "completed");
    assert!(s.due(at("2030-01-01T00:00:00Z"), &limits).is_empty());
    let row = s.to_row(&limits);
    assert_eq!(
        (row.pk.as_str(), row.sk.as_str()),
        ("EXPORT#1690283492", "SUMMARY")
    );
    assert_eq!(row.attrs["status"], "completed");
    assert_eq!(row.attrs["initiated_at"], "2023-07-25T16:00:00.000Z");
    assert_eq!(row.attrs["completed_at"], "2023-07-25T16:50:52.000Z");
    assert_eq!(ExportSummary::from_item(&row.attrs), Some(s));
}

#[test]
fn an_export_initiated_six_hours_ago_is_overdue_once() {
    let limits = ExportLimits::default();
    let mut s = summary_of(&[(
        &alert("Initiated", "01/02/2024 08:00:00", "One Time"),
        "01A",
    )]);
    assert!(s.due(at("2024-02-01T13:59:59Z"), &limits).is_empty());
    let due = s.newly_due(at("2024-02-01T14:15:00Z"), &limits);
    assert_eq!(
        due,
        vec![Due {
            state: ExportState::Overdue,
            due_at: at("2024-02-01T14:00:00Z"),
            run_at: at("2024-02-01T08:00:00Z"),
        }]
    );
    assert_eq!(
        s.raised_state(&limits),
        ExportState::Initiated,
        "not raised yet"
    );
    s.raise(&due[0]);
    assert!(s.newly_due(at("2024-02-01T14:30:00Z"), &limits).is_empty());
    assert_eq!(s.raised_state(&limits), ExportState::Overdue);
    let row = alert_row(&s, &due[0], at("2024-02-01T14:15:00Z"));
    assert_eq!(row.sk, "ALERT#2024-02-01T14:00:00.000Z");
    assert_eq!(row.attrs["kind"], ALERT_KIND);
    assert_eq!(row.attrs["alert"], "overdue");
    assert_eq!(row.attrs["source"], "clevertap.export_status");
    // It completes late: no longer overdue.
    s.apply(
        &alert("Completed", "01/02/2024 15:00:00", "One Time"),
        "01B",
    );
    assert_eq!(status_at(&s, "2024-02-01T15:30:00Z"), "completed");
    assert_eq!(s.duration_s(), Some(7 * 3600));
}

#[test]
fn a_recurring_export_without_its_next_run_is_missed_and_a_new_run_clears_it() {
    let limits = ExportLimits::default();
    let mut s = summary_of(&[
        (
            &alert("Initiated", "01/02/2024 00:00:00", "Every 4 Hours"),
            "01A",
        ),
        (
            &alert("Completed", "01/02/2024 00:40:00", "Every 4 Hours"),
            "01B",
        ),
    ]);
    assert_eq!(s.next_expected_at(), Some(at("2024-02-01T04:00:00Z")));
    assert!(s.due(at("2024-02-01T04:59:00Z"), &limits).is_empty());
    let due = s.newly_due(at("2024-02-01T05:00:00Z"), &limits);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].state, ExportState::Missed);
    assert_eq!(due[0].run_at, at("2024-02-01T04:00:00Z"));
    s.raise(&due[0]);
    assert_eq!(s.raised_state(&limits), ExportState::Missed);
    // The run comes, late: the next is expected an interval after it.
    s.apply(
        &alert("Initiated", "01/02/2024 05:10:00", "Every 4 Hours"),
        "01C",
    );
    assert_eq!(s.next_expected_at(), Some(at("2024-02-01T09:10:00Z")));
    assert_eq!(s.raised_state(&limits), ExportState::Initiated);
    assert!(s.newly_due(at("2024-02-01T06:00:00Z"), &limits).is_empty());
    assert_eq!(s.duration_s(), None, "the new run has not completed");
}

#[test]
fn a_completion_without_its_initiation_counts_as_the_run() {
    let s = summary_of(&[
        (&alert("Initiated", "01/02/2024 00:00:00", "Hourly"), "01A"),
        (&alert("Completed", "01/02/2024 03:05:00", "Hourly"), "01D"),
    ]);
    assert_eq!(s.next_expected_at(), Some(at("2024-02-01T04:05:00Z")));
}

#[test]
fn a_newer_alert_without_a_frequency_keeps_the_older_ones() {
    let with = alert("Initiated", "01/02/2024 00:00:00", "Every 4 Hours");
    let without = alert("Completed", "01/02/2024 00:40:00", "");
    let s = summary_of(&[(&with, "01A"), (&without, "01B")]);
    assert_eq!(s, summary_of(&[(&without, "01B"), (&with, "01A")]));
    assert_eq!(s.frequency.as_deref(), Some("Every 4 Hours"));
    assert_eq!(s.next_expected_at(), Some(at("2024-02-01T04:00:00Z")));
}

#[test]
fn an_unknown_frequency_is_one_time_and_said_so() {
    let s = summary_of(&[(
        &alert("Initiated", "01/02/2024 00:00:00", "Fortnightly"),
        "01A",
    )]);
    assert!(s.frequency_unknown());
    assert_eq!(s.frequency(), Frequency::OneTime);
    assert_eq!(s.next_expected_at(), None);
}

#[test]
fn overdue_and_missed_at_one_instant_raise_one_alert() {
    let limits = ExportLimits::default();
    // Every 5 hours, initiated and never completed: overdue at +6 h, missed at +5 h + 60 min.
    let s = summary_of(&[(
        &alert("Initiated", "01/02/2024 00:00:00", "Every 5 hours"),
        "01A",
    )]);
    let due = s.newly_due(at("2024-02-01T06:00:00Z"), &limits);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].state, ExportState::Missed);
}

#[test]
fn the_listing_has_every_field() {
    let s = summary_of(&[(&alert("Initiated", "01/02/2024 00:00:00", "Daily"), "01A")]);
    let item = s.to_row(&ExportLimits::default()).attrs;
    assert_eq!(item["overdue_at"], "2024-02-01T06:00:00.000Z");
    assert_eq!(item["missed_at"], "2024-02-02T01:00:00.000Z");
    let line = ExportSummary::listing(&item, at("2024-02-01T01:00:00Z")).unwrap();
    assert_eq!(
        line,
        json!({"export_request_id": "1690283492", "partner": "Amazon S3", "type": "Events",
            "frequency": "Daily", "status": "initiated",
            "initiated_at": "2024-02-01T00:00:00.000Z", "completed_at": null,
            "duration_s": null, "next_expected_at": "2024-02-02T00:00:00.000Z"})
    );
    assert_eq!(status_at(&s, "2024-02-01T06:00:00Z"), "overdue");
    assert_eq!(status_at(&s, "2024-02-02T01:00:00Z"), "missed");
}

#[test]
fn the_directory_item_names_the_export() {
    let row = directory_row("77");
    assert_eq!((row.pk.as_str(), row.sk.as_str()), ("EXPORTS", "77"));
    assert_eq!(summary_key("77"), ("EXPORT#77".into(), "SUMMARY".into()));
}

fn any_alert() -> impl Strategy<Value = ExportStatusAlert> {
    (
        prop::sample::select(vec!["Initiated", "Completed", "Failed"]),
        0u32..48,
        prop::sample::select(vec!["Every 4 Hours", "One Time", "Daily", ""]),
    )
        .prop_map(|(status, hour, frequency)| {
            let when = format!("0{}/02/2024 {:02}:00:00", 1 + hour / 24, hour % 24);
            alert(status, &when, frequency)
        })
}

proptest! {
    #[test]
    fn any_order_and_any_redelivery_give_one_summary(
        alerts in prop::collection::vec(any_alert(), 1..8),
        order in any::<prop::sample::Index>(),
    ) {
        // One message per alert: a message id is the alert's.
        let alerts: Vec<(ExportStatusAlert, String)> = alerts
            .into_iter()
            .enumerate()
            .map(|(n, a)| (a, format!("01M{n:02}")))
            .collect();
        let forward = summary_of(&alerts.iter().map(|(a, i)| (a, i.as_str())).collect::<Vec<_>>());
        let mut shuffled: Vec<_> = alerts.iter().collect();
        shuffled.rotate_left(order.index(alerts.len()));
        shuffled.reverse();
        let mut other = summary_of(&shuffled.iter().map(|(a, i)| (a, i.as_str())).collect::<Vec<_>>());
        prop_assert_eq!(&forward, &other);
        for (a, i) in &alerts {
            prop_assert!(!other.apply(a, i), "a redelivery changes nothing");
        }
        prop_assert_eq!(
            ExportSummary::from_item(&forward.to_row(&ExportLimits::default()).attrs),
            Some(forward)
        );
    }
}
