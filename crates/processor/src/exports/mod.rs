//! Export tracking in the processor: each export status alert merged into its export's summary
//! ([`stage`], a stage of every batch), and the scheduled check that finds overdue and missed
//! exports ([`check`]: EventBridge every 15 minutes, and `hookloop exports check`). The
//! summary's rules and key layout are the domain's ([`hookloop_domain::exports`]).
//!
//! A summary is one item written by compare-and-swap on its `revision`
//! ([`RowStore::put_if_revision`]): an alert's merge and a check's raise never overwrite each
//! other. Before an export's first summary, the stage puts its directory item (`EXPORTS`,
//! `<id>`), which is how the check finds every export with one `Query`.

pub mod check;
pub(crate) mod stage;

use hookloop_aws::dynamodb::{Swapped, REVISION_ATTRIBUTE};
use hookloop_aws::AwsError;
use hookloop_domain::exports::{
    summary_key, ExportLimits, ExportSummary, ExportZone, DIRECTORY_PK,
};
use serde_json::{json, Value};
use tracing::debug;

use crate::ports::{Item, RowStore};

pub use check::{check_exports, check_exports_as, CheckReport, NotRaised, Raised};

/// `EXPORT_TIMEZONE`, `EXPORT_COMPLETION_HOURS` and `EXPORT_GRACE_MINUTES`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportSettings {
    /// The zone CleverTap's `Date and Time` is read in (UTC unless named).
    pub zone: ExportZone,
    pub limits: ExportLimits,
}

/// Every tracked export, in directory order (by export request id), with its summary item
/// (`None`: a directory item whose summary is not written yet): one `Query` of the directory
/// and one `BatchGetItem` per 100 summaries. What the check and `hookloop exports list` read.
pub async fn tracked_exports<R: RowStore>(
    rows: &R,
) -> Result<Vec<(String, Option<Item>)>, AwsError> {
    let ids: Vec<String> = rows
        .query_partition(DIRECTORY_PK)
        .await?
        .iter()
        .filter_map(|item| item.get("export_request_id")?.as_str().map(str::to_owned))
        .collect();
    let keys: Vec<_> = ids.iter().map(|id| summary_key(id)).collect();
    let mut summaries = rows.get_many(&keys).await?;
    Ok(ids
        .into_iter()
        .zip(keys)
        .map(|(id, key)| (id, summaries.remove(&key)))
        .collect())
}

/// Compare-and-swap attempts on one summary before giving up (each conflict means another
/// alert or check changed it meanwhile).
pub const MAX_SUMMARY_SWAPS: usize = 4;

/// Applies `change` to export `id`'s summary (as `stored`, read already, or none yet) and
/// writes it back by compare-and-swap, reading it again after a conflict. `change` says
/// whether it changed anything; nothing is written when it did not. The summary written, or
/// `None` when there was nothing to write.
pub(crate) async fn update_summary<R: RowStore>(
    rows: &R,
    id: &str,
    mut stored: Option<Item>,
    limits: &ExportLimits,
    mut change: impl FnMut(&mut ExportSummary) -> bool,
) -> Result<Option<ExportSummary>, AwsError> {
    for _ in 0..MAX_SUMMARY_SWAPS {
        let revision = stored
            .as_ref()
            .and_then(|item| item.get(REVISION_ATTRIBUTE))
            .and_then(Value::as_i64);
        let mut summary = stored
            .as_ref()
            .and_then(ExportSummary::from_item)
            .unwrap_or_else(|| ExportSummary::new(id));
        if !change(&mut summary) {
            return Ok(None);
        }
        let mut row = summary.to_row(limits);
        row.attrs
            .insert(REVISION_ATTRIBUTE.into(), json!(revision.unwrap_or(0) + 1));
        match rows.put_if_revision(row, revision).await? {
            Swapped::Done => return Ok(Some(summary)),
            Swapped::Conflict => {
                debug!(
                    export_request_id = id,
                    "export summary changed since it was read"
                );
                let key = summary_key(id);
                stored = rows
                    .get_many(std::slice::from_ref(&key))
                    .await?
                    .remove(&key);
            }
        }
    }
    Err(AwsError::local(
        "dynamodb",
        "PutItem",
        "ExportSummaryContended",
        format!("the export summary changed under {MAX_SUMMARY_SWAPS} attempts in a row"),
        true,
    ))
}
