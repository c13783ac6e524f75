//! Claim check: bodies the ingest put in the object store (too large for a queue message) are
//! read back before parsing, all of the batch's at once, with the domain's
//! [`hookloop_domain::claim_check::fetch`], the other half of the ingest's offload.

use hookloop_domain::claim_check::{fetch, Unclaimable};

use crate::bounded::bounded;
use crate::failure::{Failure, Stage};
use crate::ports::ObjectStore;
use crate::state::State;

pub(crate) async fn fetch_bodies<O: ObjectStore>(
    objects: &O,
    mut states: Vec<State>,
) -> Vec<State> {
    let wanted: Vec<(usize, String)> = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.pending()?.body_ref()?.to_owned())))
        .collect();
    if wanted.is_empty() {
        return states;
    }
    let fetching: Vec<_> = wanted
        .into_iter()
        .map(|(i, key)| async move { (i, fetch(objects, &key).await) })
        .collect();
    for (i, got) in bounded(fetching).await {
        match got {
            Ok(body) => {
                if let State::Pending(e) = &mut states[i] {
                    e.restore_body(body);
                }
            }
            Err(why) => states[i] = State::Failed(failure(why)),
        }
    }
    states
}

/// A missing object or a body that is not UTF-8 will never be there; a failed read may pass
/// later.
fn failure(why: Unclaimable) -> Failure {
    match why {
        Unclaimable::Unreachable(e) => Failure::from_aws(Stage::Store, &e),
        Unclaimable::Missing(_) => {
            Failure::permanent(Stage::Parse, "claim_missing", why.to_string())
        }
        Unclaimable::NotUtf8 => {
            Failure::permanent(Stage::Parse, "payload_invalid", why.to_string())
        }
    }
}
