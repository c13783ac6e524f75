//! Load back: the stored messages' records to CleverTap, when it is configured. A message whose
//! records could not all be loaded fails here, though its data is stored.

use std::time::Instant;

use hookloop_runtime::Invocation;
use tracing::{info, warn, Span};

use crate::failure::{Failure, Stage};

use crate::loadback::{Loadback, Loaded};
use crate::ports::{RowStore, Uploader};
use crate::state::{State, Stored};

/// Load-back's configuration is not known yet (the stack's document could not be read): each
/// stored message fails, retryably, so it comes back once the document is read instead of being
/// acknowledged without its records. Its data is stored; redelivery stores it again idempotently.
pub(crate) fn unknown(mut states: Vec<State>, spans: &[Span]) -> Vec<State> {
    for (i, s) in states.iter_mut().enumerate() {
        if s.stored().is_some() {
            let _entered = spans[i].enter();
            warn!("load-back document not read yet; message handed back for redelivery");
            *s = State::Failed(Failure {
                stage: Stage::Clevertap,
                code: "loadback.config_unread".into(),
                message: "the load-back document could not be read yet".into(),
                retryable: true,
            });
        }
    }
    states
}

pub(crate) async fn load_back<U: Uploader, R: RowStore>(
    loadback: &Loadback<U, R>,
    mut states: Vec<State>,
    spans: &[Span],
    deadline: Option<Instant>,
    invocation: &mut Invocation,
) -> Vec<State> {
    let (indexes, stored): (Vec<usize>, Vec<&Stored>) = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.stored()?)))
        .unzip();
    if stored.is_empty() {
        return states;
    }
    // Boxed: the upload futures nest deep enough to overflow rustc's layout query depth in the
    // binaries' async main otherwise.
    let loaded = Box::pin(loadback.run(&stored, deadline, invocation)).await;
    for (i, l) in indexes.into_iter().zip(loaded) {
        let _entered = spans[i].enter();
        match l {
            Loaded::Done { sent, skipped } => info!(sent, skipped, "loaded back to CleverTap"),
            Loaded::Failed(f) => states[i] = State::Failed(f),
        }
    }
    states
}
