//! Deduplication: a repeat of a webhook another message owns is done, that one stores it.
//!
//! The ingest claims a key only after its message is queued, so the owners of the batch's keys
//! are read at once (one `BatchGetItem` per 100 keys), and a key with no live claim (the ingest
//! has not claimed it yet, stopped before it could, or could not reach the table) is claimed
//! here by its first message in the batch, so a later repeat is recognised. Messages queued by
//! versions that claimed before sending say so (`claimed`) and own their key.

use std::collections::HashMap;

use hookloop_aws::AwsError;
use tracing::{info, Span};

use crate::bounded::bounded;
use crate::failure::{Failure, Stage};
use crate::ports::DedupLedger;
use crate::state::State;

pub(crate) async fn skip_repeats<L: DedupLedger>(
    ledger: &L,
    mut states: Vec<State>,
    spans: &[Span],
) -> Vec<State> {
    // (message, key, id) of every pending message that must check its key.
    let keyed: Vec<(usize, String, String)> = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let e = s.pending().filter(|e| !e.claimed())?;
            Some((i, e.dedup_key()?.to_owned(), e.id().to_string()))
        })
        .collect();
    if keyed.is_empty() {
        return states;
    }
    // A key nobody holds is claimed for the batch's first message carrying it, marked or not
    // (a marked message owns its key: its copies are the repeats).
    let mut first: HashMap<String, String> = HashMap::new();
    for e in states.iter().filter_map(State::pending) {
        if let Some(key) = e.dedup_key() {
            first
                .entry(key.to_owned())
                .or_insert_with(|| e.id().to_string());
        }
    }
    let owners = owners(ledger, &keyed, &first).await;
    for (i, key, id) in keyed {
        match owners.get(&key) {
            Some(Ok(owner)) if *owner != id => {
                let _entered = spans[i].enter();
                info!(original = %owner, "duplicate of an earlier message; skipped");
                states[i] = State::Repeat;
            }
            Some(Ok(_)) | None => {}
            Some(Err(e)) => states[i] = State::Failed(Failure::from_aws(Stage::Store, e)),
        }
    }
    states
}

/// The owner of each key once every unclaimed key is claimed for its `first` message: one read
/// for all keys, then one claim per key nobody holds.
async fn owners<L: DedupLedger>(
    ledger: &L,
    keyed: &[(usize, String, String)],
    first: &HashMap<String, String>,
) -> HashMap<String, Result<String, AwsError>> {
    let mut keys: Vec<String> = keyed.iter().map(|(_, k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    let held = match ledger.owners(&keys).await {
        Ok(held) => held,
        Err(e) => return keys.into_iter().map(|k| (k, Err(e.clone()))).collect(),
    };
    let mut out: HashMap<String, Result<String, AwsError>> =
        held.into_iter().map(|(k, owner)| (k, Ok(owner))).collect();
    let claiming: Vec<_> = keys
        .iter()
        .filter(|k| !out.contains_key(*k))
        .filter_map(|k| {
            let id = first.get(k)?.as_str();
            Some(async move {
                let owner = ledger.claim(k, id).await.map(|c| c.owner(id));
                (k.clone(), owner)
            })
        })
        .collect();
    out.extend(bounded(claiming).await);
    out
}
