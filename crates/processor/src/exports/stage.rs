//! The export stage: each export status alert of the batch merged into its export's summary
//! (`EXPORT#<id>`, `SUMMARY`) before the batch's rows are written. One `BatchGetItem` for the
//! batch's summaries, one `BatchWriteItem` for the directory items of the exports new to the
//! table (if any), then per export with a change one `PutItem` (a compare-and-swap). A redelivered alert changes nothing and writes nothing.
//! A batch without export alerts costs nothing here.

use std::collections::BTreeMap;

use hookloop_domain::exports::{directory_row, summary_key};
use hookloop_domain::ExportStatusAlert;
use tracing::{warn, Span};

use crate::app::Processor;
use crate::bounded::bounded;
use crate::exports::update_summary;
use crate::failure::{Failure, Stage};
use crate::ports::{Ports, RowStore};
use crate::state::{fail_ready as fail, State};
use crate::trace::{aws_call_spans, during};

pub(crate) async fn track<P: Ports>(
    p: &Processor<P>,
    mut states: Vec<State>,
    spans: &[Span],
) -> Vec<State> {
    // The batch's alerts by export, each with its message's position and id.
    let mut by_export: BTreeMap<&str, Vec<(usize, &ExportStatusAlert, String)>> = BTreeMap::new();
    for (i, s) in states.iter().enumerate() {
        if let Some(r) = s.ready() {
            if let Some(a) = &r.export {
                by_export
                    .entry(a.export_request_id.as_str())
                    .or_default()
                    .push((i, a, r.envelope.id().to_string()));
            }
        }
    }
    if by_export.is_empty() {
        return states;
    }
    let owners: Vec<usize> = by_export.values().flatten().map(|(i, ..)| *i).collect();
    let keys: Vec<_> = by_export.keys().map(|id| summary_key(id)).collect();
    let traced = aws_call_spans(spans, &owners, "DynamoDB", "BatchGetItem");
    let mut read = match during(traced, p.rows.get_many(&keys)).await {
        Ok(found) => found,
        Err(e) => return fail(states, &owners, &Failure::from_aws(Stage::Store, &e)),
    };
    // The directory items of the exports without a summary yet, in one request, before their
    // summaries: a summary is never without its directory item.
    let new: Vec<_> = by_export
        .keys()
        .filter(|id| !read.contains_key(&summary_key(id)))
        .map(|id| directory_row(id))
        .collect();
    if !new.is_empty() {
        let traced = aws_call_spans(spans, &owners, "DynamoDB", "BatchWriteItem");
        if let Err(e) = during(traced, p.rows.put_rows(new)).await {
            return fail(states, &owners, &Failure::from_aws(Stage::Store, &e));
        }
    }
    let limits = &p.exports.limits;
    let updates: Vec<_> = by_export
        .iter()
        .map(|(id, alerts)| {
            let stored = read.remove(&summary_key(id));
            let mine: Vec<usize> = alerts.iter().map(|(i, ..)| *i).collect();
            let traced = aws_call_spans(spans, &mine, "DynamoDB", "PutItem");
            async move {
                let merge = |s: &mut hookloop_domain::exports::ExportSummary| {
                    let mut changed = false;
                    for (_, alert, message_id) in alerts {
                        changed |= s.apply(alert, message_id);
                    }
                    changed
                };
                let result =
                    during(traced, update_summary(&p.rows, id, stored, limits, merge)).await;
                (id, mine, result)
            }
        })
        .collect();
    let mut failures = Vec::new();
    for (id, mine, result) in bounded(updates).await {
        match result {
            Ok(Some(summary)) if summary.frequency_unknown() => warn!(
                export_request_id = id,
                frequency = summary.frequency.as_deref().unwrap_or_default(),
                "export Frequency not known: tracked as a one time export"
            ),
            Ok(_) => {}
            Err(e) => failures.push((mine, Failure::from_aws(Stage::Store, &e))),
        }
    }
    for (owners, failure) in failures {
        states = fail(states, &owners, &failure);
    }
    states
}
