//! Export tracking: CleverTap's export status alerts made into a tracker of each export
//! request. The key layout, under the export's partition `EXPORT#<export request id>`:
//!
//! - `STATUS#<at>#<status>`: each alert as sent (normalisation's row, [`crate::Normalized`]);
//! - `SUMMARY`: the alerts merged ([`ExportSummary`]), written by compare-and-swap;
//! - `ALERT#<time>`: an overdue or missed export the scheduled check raised ([`alert_row`]),
//!   `<time>` being when it became overdue or missed;
//!
//! and one directory item per export, `EXPORTS` / `<export request id>` ([`directory_row`]),
//! so the check and `hookloop exports list` find every export with one `Query`.

mod frequency;
mod summary;
mod zone;

#[cfg(test)]
mod tests;

use serde_json::{json, Map};
use time::Duration;

pub use frequency::{Frequency, MAX_INTERVAL};
pub use summary::{Due, ExportState, ExportSummary, MAX_RAISED};
pub use zone::ExportZone;

use crate::normalize::put_opt;
use crate::{Row, Source, Timestamp};

/// The summary's sort key.
pub const SUMMARY_SK: &str = "SUMMARY";
/// The directory's partition key.
pub const DIRECTORY_PK: &str = "EXPORTS";
/// `kind` of a summary item.
pub const SUMMARY_KIND: &str = "export_summary";
/// `kind` of an alert item: what load-back rules match (`"when": {"/kind": "export_alert"}`).
pub const ALERT_KIND: &str = "export_alert";
/// `kind` of a directory item.
pub const DIRECTORY_KIND: &str = "export_index";

/// `EXPORT_COMPLETION_HOURS`: how long an initiated export may run before it is overdue.
pub const DEFAULT_COMPLETION_HOURS: u32 = 6;
/// `EXPORT_GRACE_MINUTES`: how late a recurring export's next run may start before it is missed.
pub const DEFAULT_GRACE_MINUTES: u32 = 60;

/// When an export is overdue or missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimits {
    pub completion: Duration,
    pub grace: Duration,
}

impl Default for ExportLimits {
    fn default() -> Self {
        ExportLimits {
            completion: Duration::hours(i64::from(DEFAULT_COMPLETION_HOURS)),
            grace: Duration::minutes(i64::from(DEFAULT_GRACE_MINUTES)),
        }
    }
}

/// `EXPORT#<export request id>`: the partition of everything about one export.
pub fn export_pk(export_request_id: &str) -> String {
    format!("EXPORT#{export_request_id}")
}

/// The summary's key.
pub fn summary_key(export_request_id: &str) -> (String, String) {
    (export_pk(export_request_id), SUMMARY_SK.to_owned())
}

/// The export's directory item (`EXPORTS`, `<export request id>`).
pub fn directory_row(export_request_id: &str) -> Row {
    let mut a = Map::new();
    a.insert("kind".into(), json!(DIRECTORY_KIND));
    a.insert("export_request_id".into(), json!(export_request_id));
    Row {
        pk: DIRECTORY_PK.to_owned(),
        sk: export_request_id.to_owned(),
        attrs: a,
    }
}

/// The message id an alert is loaded back under: one per export and run, so a check that runs
/// again after a failure does not send CleverTap what it accepted already.
pub fn alert_message_id(summary: &ExportSummary, due: &Due) -> String {
    format!("export-alert#{}#{}", summary.export_request_id, due.mark())
}

/// The `ALERT#<time>` item of `due`, raised by the check at `checked_at`. Load-back rules see
/// it as a row of source `clevertap.export_status` and kind [`ALERT_KIND`].
pub fn alert_row(summary: &ExportSummary, due: &Due, checked_at: Timestamp) -> Row {
    let mut a = Map::new();
    a.insert("kind".into(), json!(ALERT_KIND));
    a.insert(
        "source".into(),
        json!(Source::ClevertapExportStatus.as_str()),
    );
    a.insert("message_id".into(), json!(alert_message_id(summary, due)));
    a.insert("export_request_id".into(), json!(summary.export_request_id));
    a.insert("alert".into(), json!(due.state.as_str()));
    a.insert("due_at".into(), json!(due.due_at.canonical()));
    a.insert("run_at".into(), json!(due.run_at.canonical()));
    a.insert("checked_at".into(), json!(checked_at.canonical()));
    put_opt(&mut a, "partner", summary.partner.clone());
    put_opt(&mut a, "type", summary.export_type.clone());
    put_opt(&mut a, "frequency", summary.frequency.clone());
    let time = |t: Option<Timestamp>| t.map(|t| t.canonical());
    put_opt(&mut a, "initiated_at", time(summary.initiated_at));
    put_opt(&mut a, "completed_at", time(summary.completed_at));
    Row {
        pk: export_pk(&summary.export_request_id),
        sk: format!("ALERT#{}", due.due_at.canonical()),
        attrs: a,
    }
}
