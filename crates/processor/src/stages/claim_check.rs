//! Claim check: bodies the ingest put in the object store (too large for a queue message) are
//! read back before parsing, all of the batch's at once.

use hookloop_aws::AwsError;

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
        .map(|(i, key)| async move {
            let got = objects.get(&key).await;
            (i, key, got)
        })
        .collect();
    for (i, key, got) in bounded(fetching).await {
        match claimed_body(objects, &key, got) {
            Ok(body) => {
                if let State::Pending(e) = &mut states[i] {
                    e.restore_body(body);
                }
            }
            Err(f) => states[i] = State::Failed(f),
        }
    }
    states
}

/// A fetched body, or why the message cannot have it: a missing object or a body that is not
/// UTF-8 will never be there; a failed read may pass later.
fn claimed_body<O: ObjectStore>(
    objects: &O,
    key: &str,
    got: Result<Option<Vec<u8>>, AwsError>,
) -> Result<String, Failure> {
    match got {
        Err(e) => Err(Failure::from_aws(Stage::Store, &e)),
        Ok(None) => Err(Failure::permanent(
            Stage::Parse,
            "claim_missing",
            format!(
                "the body's claim check {} does not exist",
                objects.locate(key)
            ),
        )),
        Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| {
            Failure::permanent(
                Stage::Parse,
                "payload_invalid",
                "the claimed body is not UTF-8",
            )
        }),
    }
}
