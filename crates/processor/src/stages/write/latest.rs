//! The latest-state rows of the whole batch (trip `META`, user `PROFILE`): the updates of one
//! row collapse to its newest version first, so a row costs one request per batch whatever the
//! number of messages updating it, and each goes as one conditional write
//! ([`RowStore::put_latest`]) that never replaces a newer version.
//!
//! Every message mentioning a row depends on its request: a failure fails them all (a
//! redelivery writes it again). A write the table refused because it held a newer version is
//! a success: the messages are stored, and the refusal is counted as `StaleUpdates` by kind.

use hookloop_domain::latest::newest_by_key;
use hookloop_domain::{StateKind, Written};
use tracing::debug;

use super::isolate::Group;
use crate::bounded::bounded;
use crate::ports::RowStore;
use crate::state::Ready;
use crate::trace::{aws_call_spans, during};
use tracing::Span;

/// The requests' outcomes, and the kind of each row the table kept a newer version of.
pub(super) async fn put<R: RowStore>(
    store: &R,
    ready: &[Option<&Ready>],
    spans: &[Span],
) -> (Vec<Group>, Vec<StateKind>) {
    let mentions = ready
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, (*r)?)))
        .flat_map(|(i, r)| r.normalized.latest.iter().map(move |row| (row, i)));
    let writes: Vec<_> = newest_by_key(mentions)
        .into_iter()
        .map(|n| async move {
            let kind = n.row.kind();
            let traced = aws_call_spans(spans, &n.owners, "DynamoDB", "PutItem");
            let written = during(traced, store.put_latest(n.row.clone())).await;
            if let Ok(Written::Stale) = written {
                let (pk, sk) = n.row.key();
                debug!(
                    pk,
                    sk,
                    kind = kind.as_str(),
                    "stale update: the table kept a newer version"
                );
            }
            (n.owners, kind, written)
        })
        .collect();
    let mut stale = Vec::new();
    let mut groups = Vec::new();
    for (owners, kind, written) in bounded(writes).await {
        if let Ok(Written::Stale) = written {
            stale.push(kind);
        }
        groups.push((owners, written.map(|_| ())));
    }
    (groups, stale)
}
