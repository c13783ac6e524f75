//! Deduplication: a repeat of a webhook another message owns is done, that one stores it.
//!
//! The batch goes through the domain's admission state machine
//! ([`hookloop_domain::dedup::admission`]), the one the ingest runs for each webhook it queues:
//! the owners of the batch's keys are read at once, a key nobody holds is claimed for its first
//! message here, and messages queued by versions that claimed before sending own their key.

use hookloop_domain::dedup::admission::{admit_batch, Received};
use hookloop_domain::dedup::Verdict;
use tracing::{info, Span};

use crate::bounded::MAX_CONCURRENT_REQUESTS;
use crate::failure::{Failure, Stage};
use crate::ports::DedupLedger;
use crate::state::State;

pub(crate) async fn skip_repeats<L: DedupLedger>(
    ledger: &L,
    mut states: Vec<State>,
    spans: &[Span],
) -> Vec<State> {
    // The batch's keyed messages: where each stands in it, its key, id and mark.
    let keyed: Vec<(usize, &str, String, bool)> = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let e = s.pending()?;
            Some((i, e.dedup_key()?, e.id().to_string(), e.claimed()))
        })
        .collect();
    if keyed.is_empty() {
        return states;
    }
    let batch: Vec<Received<'_>> = keyed
        .iter()
        .map(|(_, key, id, marked)| Received {
            key,
            message_id: id,
            marked: *marked,
        })
        .collect();
    let verdicts = admit_batch(ledger, &batch, MAX_CONCURRENT_REQUESTS).await;
    let at: Vec<usize> = keyed.iter().map(|(i, ..)| *i).collect();
    for (i, verdict) in at.into_iter().zip(verdicts) {
        match verdict {
            Verdict::Owner => {}
            Verdict::Repeat { original } => {
                let _entered = spans[i].enter();
                info!(%original, "duplicate of an earlier message; skipped");
                states[i] = State::Repeat;
            }
            Verdict::Undecided(e) => states[i] = State::Failed(Failure::from_aws(Stage::Store, &e)),
        }
    }
    states
}
