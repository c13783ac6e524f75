//! The compactor function's handler: one scheduled run of the compaction
//! ([`Compactor::compact_due`]) as of the schedule's time, answered with what it did.
//!
//! An EventBridge scheduled event names the time it was due for (`time`); compacting as of that
//! time, not the clock, makes a delayed or retried invocation do the same work as a punctual
//! one. Any other payload (`cargo lambda invoke` with `{}`) runs as of now. A run that fails is
//! an error for Lambda, which retries the asynchronous invocation: compacting again replaces
//! files, never duplicates them, so a retry is safe.

use hookloop_curated::{Bucket, Compactor, CuratedError, RunReport};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Runs the compaction due at the event's time (or `now`) and reports it.
pub async fn handle<B: Bucket>(
    compactor: &Compactor<B>,
    event: &Value,
    now: OffsetDateTime,
) -> Result<Value, CuratedError> {
    let at = scheduled_time(event).unwrap_or(now);
    let report = compactor.compact_due(at).await?;
    tracing::info!(
        at = %at,
        checked = report.checked,
        compacted = report.compacted.len(),
        deferred = report.deferred,
        "compaction run"
    );
    Ok(summary(&report))
}

/// The `time` of an EventBridge scheduled event, when the payload is one.
fn scheduled_time(event: &Value) -> Option<OffsetDateTime> {
    let time = event.get("time")?.as_str()?;
    OffsetDateTime::parse(time, &Rfc3339).ok()
}

fn summary(report: &RunReport) -> Value {
    json!({
        "checked": report.checked,
        "deferred": report.deferred,
        "compacted": report
            .compacted
            .iter()
            .map(|h| json!({
                "hour": h.hour.to_string(),
                "objects": h.objects,
                "webhooks": h.webhooks,
                "duplicates": h.duplicates,
                "unreadable": h.unreadable,
                "rows": h.rows,
            }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_event_runs_as_of_its_time_and_anything_else_as_of_now() {
        let event = json!({"version": "0", "detail-type": "Scheduled Event",
                           "source": "aws.events", "time": "2026-11-22T06:00:00Z", "detail": {}});
        assert_eq!(
            scheduled_time(&event).map(|t| t.unix_timestamp()),
            Some(1_795_327_200)
        );
        assert_eq!(scheduled_time(&json!({})), None);
        assert_eq!(scheduled_time(&json!({"time": "yesterday"})), None);
        assert_eq!(scheduled_time(&json!([1])), None);
    }
}
