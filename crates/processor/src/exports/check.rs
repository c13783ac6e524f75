//! The scheduled export check: every export found (one `Query` of the directory, one
//! `BatchGetItem` per 100 summaries), and each that is newly overdue or missed raised once:
//!
//! 1. its `ALERT#<time>` item written (the time it became due, so a check that runs again
//!    rewrites the same item);
//! 2. the alert loaded back to CleverTap when a load-back rule makes a record of it (under a
//!    message id of its own per export and run, so a check that runs again sends nothing
//!    CleverTap accepted already);
//! 3. the summary marked raised by compare-and-swap, then counted (`ExportAlerts` by `Kind`).
//!
//! A step that fails leaves the alert unmarked: the next check does it again. So an export is
//! counted (and alarmed on) once per run however often the check runs, and an alert whose
//! CleverTap event could not be sent is retried, not dropped.

use std::time::Instant;

use hookloop_aws::AwsError;
use hookloop_domain::exports::{alert_message_id, alert_row, Due, ExportSummary};
use hookloop_domain::{Source, Timestamp};
use hookloop_runtime::metrics::names::{EXPORT_ALERTS, KIND};
use hookloop_runtime::{Invocation, InvocationIds};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::{info, warn, Instrument, Span};

use super::{tracked_exports, update_summary};
use crate::app::Processor;
use crate::loadback::{Configured, Loaded};
use crate::ports::{Ports, RowStore};
use crate::state::Stored;

/// Time kept for the answer: a check stops raising when its invocation has this little left.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// What one check did.
/// What one check did: the function's answer, which `hookloop exports check --stack` reads back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The time checked against (the schedule's, or now).
    pub at: String,
    /// Exports in the directory.
    pub checked: usize,
    /// Alerts raised by this check.
    pub raised: Vec<Raised>,
    /// Exports whose alert could not be raised this time (the next check tries again).
    pub failed: Vec<NotRaised>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    pub export_request_id: String,
    /// `overdue` or `missed`.
    pub alert: String,
    pub due_at: String,
    pub run_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotRaised {
    pub export_request_id: String,
    pub reason: String,
}

/// The check as the invocation `ids`, its metrics printed at its end (the Lambda's scheduled
/// invocation; `hookloop exports check`). `at`: the schedule's time, or now.
pub async fn check_exports_as<P: Ports>(
    p: &Processor<P>,
    at: OffsetDateTime,
    deadline: Option<Instant>,
    ids: &InvocationIds,
) -> Result<CheckReport, AwsError> {
    let mut invocation = p.metrics.start();
    let span = ids.span(invocation.cold_start());
    let report = check_exports(p, at, deadline, &mut invocation)
        .instrument(span)
        .await;
    p.metrics.publish(&invocation);
    report
}

/// Every export checked at `at`; what is newly overdue or missed raised. An error only when
/// the exports could not be read at all.
pub async fn check_exports<P: Ports>(
    p: &Processor<P>,
    at: OffsetDateTime,
    deadline: Option<Instant>,
    invocation: &mut Invocation,
) -> Result<CheckReport, AwsError> {
    let now = Timestamp::from_offset_date_time(at);
    let limits = &p.exports.limits;
    let exports = tracked_exports(&p.rows).await?;
    let mut report = CheckReport {
        at: now.canonical(),
        checked: exports.len(),
        ..CheckReport::default()
    };
    let loadback = p.loadback.get().await;
    let left = exports.len();
    for (n, (id, item)) in exports.into_iter().enumerate() {
        let id = &id;
        if deadline.is_some_and(|d| Instant::now() + DEADLINE_MARGIN >= d) {
            warn!(
                left = left - n,
                "export check out of time; the next check goes on"
            );
            break;
        }
        let Some(summary) = item.as_ref().and_then(ExportSummary::from_item) else {
            continue;
        };
        let due = summary.newly_due(now, limits);
        if due.is_empty() {
            continue;
        }
        let mut not_raised = |reason: String| {
            warn!(export_request_id = %id, %reason, "export alert not raised; the next check tries again");
            report.failed.push(NotRaised {
                export_request_id: id.clone(),
                reason,
            });
        };
        let rows: Vec<_> = due.iter().map(|d| alert_row(&summary, d, now)).collect();
        if let Err(e) = p.rows.put_rows(rows.clone()).await {
            not_raised(e.to_string());
            continue;
        }
        let loaded: Vec<Due> = match &*loadback {
            Configured::Off => due,
            Configured::Unknown => {
                not_raised("the load-back document could not be read yet".into());
                continue;
            }
            Configured::On(lb) => {
                let stored: Vec<Stored> = due
                    .iter()
                    .zip(rows)
                    .map(|(d, row)| Stored {
                        message_id: alert_message_id(&summary, d),
                        source: Source::ClevertapExportStatus,
                        rows: vec![row],
                        span: Span::current(),
                    })
                    .collect();
                let refs: Vec<&Stored> = stored.iter().collect();
                let results = Box::pin(lb.run(&refs, deadline, invocation)).await;
                let mut ok = Vec::new();
                for (d, result) in due.into_iter().zip(results) {
                    match result {
                        Loaded::Done { .. } => ok.push(d),
                        // Refused for good (a rule's record CleverTap will never take): trying
                        // every 15 minutes would never raise it. Raised without its record.
                        Loaded::Failed(f) if !f.retryable => {
                            warn!(export_request_id = %id, code = %f.code, reason = %f.message,
                                "export alert's CleverTap record refused for good; raised without it");
                            ok.push(d);
                        }
                        Loaded::Failed(f) => not_raised(format!("load-back: {}", f.message)),
                    }
                }
                ok
            }
        };
        if loaded.is_empty() {
            continue;
        }
        // What this check marks: only those no other check marked meanwhile are counted.
        let mut marked: Vec<Due> = Vec::new();
        let raise = |s: &mut ExportSummary| {
            let still = s.newly_due(now, limits);
            marked = loaded
                .iter()
                .filter(|d| still.contains(d))
                .cloned()
                .collect();
            for d in &marked {
                s.raise(d);
            }
            !marked.is_empty()
        };
        match update_summary(&p.rows, id, item, limits, raise).await {
            Ok(Some(_)) => {
                for d in &marked {
                    info!(export_request_id = %id, alert = d.state.as_str(), due_at = %d.due_at, "export alert raised");
                    invocation.count_by(EXPORT_ALERTS, KIND, d.state.as_str());
                    report.raised.push(Raised {
                        export_request_id: id.clone(),
                        alert: d.state.as_str().to_owned(),
                        due_at: d.due_at.canonical(),
                        run_at: d.run_at.canonical(),
                    });
                }
            }
            // Another check raised them meanwhile.
            Ok(None) => {}
            Err(e) => not_raised(e.to_string()),
        }
    }
    info!(
        checked = report.checked,
        raised = report.raised.len(),
        failed = report.failed.len(),
        "export check"
    );
    Ok(report)
}

impl CheckReport {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
