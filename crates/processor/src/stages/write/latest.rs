//! The latest-state rows of the whole batch (trip `META`, user `PROFILE`): the updates of one
//! row collapse to its newest version first, so a row costs one request per batch whatever the
//! number of messages updating it, and each goes as one conditional write
//! ([`RowStore::put_latest`]) that never replaces a newer version.
//!
//! Every message mentioning a row depends on its request: a failure fails them all (a
//! redelivery writes it again). A write the table refused because it held a newer version is
//! a success: the messages are stored, and the refusal is counted as `StaleUpdates` by kind.

use std::collections::HashSet;

use hookloop_aws::AwsError;
use hookloop_domain::latest::newest_by_key;
use hookloop_domain::{StateKind, Written};
use tracing::{debug, Span};

use super::isolate::Group;
use crate::bounded::bounded;
use crate::ports::RowStore;
use crate::state::Ready;
use crate::trace::{aws_call_spans, during};

/// What the latest-state writes of a batch did.
pub(super) struct Outcome {
    /// Each request's outcome and the messages depending on it.
    pub groups: Vec<Group>,
    /// The kind of each row the table kept a newer version of.
    pub stale: Vec<StateKind>,
    /// The rows whose update lost, by message (an index into the batch) and key: to a newer
    /// update in the same batch, or to a newer version the table held. Not loaded back, so
    /// CleverTap's profile never goes back in time either.
    pub superseded: HashSet<(usize, String, String)>,
}

pub(super) async fn put<R: RowStore>(
    store: &R,
    ready: &[Option<&Ready>],
    spans: &[Span],
) -> Outcome {
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
            let (pk, sk) = n.row.key();
            (
                n.owners,
                n.written_by,
                (pk.to_owned(), sk.to_owned()),
                kind,
                written,
            )
        })
        .collect();
    let mut out = Outcome {
        groups: Vec::new(),
        stale: Vec::new(),
        superseded: HashSet::new(),
    };
    for (owners, written_by, (pk, sk), kind, written) in bounded(writes).await {
        let stale = matches!(written, Ok(Written::Stale));
        if stale {
            out.stale.push(kind);
        }
        for &i in &owners {
            if stale || i != written_by {
                out.superseded.insert((i, pk.clone(), sk.clone()));
            }
        }
        match written {
            // Refused for good: only the message whose version was sent fails with it. The
            // others' older versions were never tried; they are tried again on redelivery,
            // when the refused one has gone to the DLQ.
            Err(e) if !e.retryable && owners.len() > 1 => {
                let others: Vec<usize> = owners.into_iter().filter(|&i| i != written_by).collect();
                let retry = AwsError {
                    code: RETRY_AFTER_NEWER_REFUSED.to_owned(),
                    message: format!(
                        "a newer update of {pk}/{sk} was refused for good ({})",
                        e.code
                    ),
                    retryable: true,
                    ..e.clone()
                };
                out.groups.push((vec![written_by], Err(e)));
                out.groups.push((others, Err(retry)));
            }
            written => out.groups.push((owners, written.map(|_| ()))),
        }
    }
    out
}

/// The code of a message's failure when its row's newer version, from another message of the
/// batch, was refused for good: retryable.
const RETRY_AFTER_NEWER_REFUSED: &str = "NewerVersionRefused";
