//! The admission state machine, one for both functions. A message is queued first and claims
//! its key after; its verdict comes from what the ledger says about the key:
//!
//! - nobody holds it: the message claims it (the ingest right after `SendMessage`; the
//!   processor, for the batch's first message carrying it, when the ingest did not get to);
//! - the message holds it: it is the key's [`Verdict::Owner`] and is stored;
//! - another message holds it: this one is a [`Verdict::Repeat`] of that one, which stores it;
//! - the ledger cannot be reached: [`Verdict::Undecided`]; the ingest answers as queued and
//!   leaves the decision to the processor, the processor retries the message later.
//!
//! A message that a version claiming before sending marked as its key's owner (`claimed`) does
//! not ask: it owns its key, and its copies are the repeats.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::ledger::{Claim, DedupLedger};
use crate::service_error::ServiceError;

/// What deduplication decided for one queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The message owns its key: it is stored.
    Owner,
    /// Another message owns the key: this one is a repeat of it.
    Repeat { original: String },
    /// The ledger could not say.
    Undecided(ServiceError),
}

impl Verdict {
    /// The verdict for `message_id` once the key's owner is known (or could not be).
    pub fn of(message_id: &str, owner: Result<&str, &ServiceError>) -> Verdict {
        match owner {
            Ok(owner) if owner == message_id => Verdict::Owner,
            Ok(owner) => Verdict::Repeat {
                original: owner.to_owned(),
            },
            Err(e) => Verdict::Undecided(e.clone()),
        }
    }
}

/// The ingest's step: `message_id` has just been queued; it claims `key`.
pub async fn claim_queued<L: DedupLedger>(ledger: &L, key: &str, message_id: &str) -> Verdict {
    match ledger.claim(key, message_id).await {
        Ok(Claim::Won) => Verdict::Owner,
        Ok(Claim::Duplicate { original }) => Verdict::Repeat { original },
        Err(e) => Verdict::Undecided(e),
    }
}

/// One received message with a deduplication key.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub key: &'a str,
    pub message_id: &'a str,
    /// Marked as the key's owner by a version that claimed before sending.
    pub marked: bool,
}

/// The processor's step: the verdicts of a batch's messages, in their order. The owners of
/// every unmarked message's key are read at once (one [`DedupLedger::owners`]); a key nobody
/// holds is claimed for the batch's first message carrying it, marked or not, with at most
/// `in_flight` claims at a time. Marked messages are owners without asking.
pub async fn admit_batch<L: DedupLedger>(
    ledger: &L,
    batch: &[Received<'_>],
    in_flight: usize,
) -> Vec<Verdict> {
    let mut keys: Vec<&str> = batch.iter().filter(|m| !m.marked).map(|m| m.key).collect();
    if keys.is_empty() {
        return vec![Verdict::Owner; batch.len()];
    }
    keys.sort_unstable();
    keys.dedup();
    let owners = owners(ledger, &keys, batch, in_flight).await;
    batch
        .iter()
        .map(|m| match (m.marked, owners.get(m.key)) {
            (true, _) | (false, None) => Verdict::Owner,
            (false, Some(owner)) => Verdict::of(m.message_id, owner.as_deref()),
        })
        .collect()
}

/// The owner of each of `keys` once every key nobody holds is claimed for its first message in
/// `batch`: one read for all keys, then one claim per key nobody holds.
async fn owners<L: DedupLedger>(
    ledger: &L,
    keys: &[&str],
    batch: &[Received<'_>],
    in_flight: usize,
) -> HashMap<String, Result<String, ServiceError>> {
    let wanted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    let held = match ledger.owners(&wanted).await {
        Ok(held) => held,
        Err(e) => return wanted.into_iter().map(|k| (k, Err(e.clone()))).collect(),
    };
    let mut first: HashMap<&str, &str> = HashMap::with_capacity(keys.len());
    for m in batch {
        first.entry(m.key).or_insert(m.message_id);
    }
    let mut out: HashMap<String, Result<String, ServiceError>> =
        held.into_iter().map(|(k, owner)| (k, Ok(owner))).collect();
    let claiming: Vec<_> = keys
        .iter()
        .filter(|k| !out.contains_key(**k))
        .filter_map(|&k| {
            let id = *first.get(k)?;
            Some(async move {
                let owner = ledger.claim(k, id).await.map(|c| c.owner(id));
                (k.to_owned(), owner)
            })
        })
        .collect();
    let claimed: Vec<_> = stream::iter(claiming)
        .buffer_unordered(in_flight.max(1))
        .collect()
        .await;
    out.extend(claimed);
    out
}
