//! Where one message of a batch stands. The processor moves a batch through stages (decode,
//! deduplicate, claim check, parse, write, load back, settle), each taking the states of the
//! whole batch and moving messages forward or to [`State::Failed`]; no stage moves one back.

use hookloop_domain::{Envelope, ExportStatusAlert, Normalized, Row, Source};
use tracing::Span;

use crate::failure::Failure;

pub(crate) enum State {
    /// Failed in some stage; settling decides between redelivery and the DLQ.
    Failed(Failure),
    /// A repeat of a webhook another message owns: done, that one stores it.
    Repeat,
    /// Decoded; its body may still be behind a claim check.
    Pending(Envelope),
    /// Parsed and normalised, on its way to the stores.
    Ready(Ready),
    /// In every store it belongs in.
    Stored(Stored),
}

/// A message that parsed: what the stores get.
pub(crate) struct Ready {
    pub envelope: Envelope,
    pub normalized: Normalized,
    /// The body as received, for the raw archive.
    pub raw: Vec<u8>,
    /// An export status alert's, for its export's summary.
    pub export: Option<Box<ExportStatusAlert>>,
}

/// A stored message, ready for load-back.
#[derive(Debug)]
pub struct Stored {
    pub message_id: String,
    pub source: Source,
    pub rows: Vec<Row>,
    /// The message's span: load-back's calls for it are its children.
    pub(crate) span: Span,
}

impl State {
    pub fn pending(&self) -> Option<&Envelope> {
        match self {
            State::Pending(e) => Some(e),
            _ => None,
        }
    }

    pub fn ready(&self) -> Option<&Ready> {
        match self {
            State::Ready(r) => Some(r),
            _ => None,
        }
    }

    pub fn stored(&self) -> Option<&Stored> {
        match self {
            State::Stored(s) => Some(s),
            _ => None,
        }
    }
}

/// `states` with the ready messages at `owners` failed with `failure` (a stage's call for them
/// failed); the others as they were.
pub(crate) fn fail_ready(states: Vec<State>, owners: &[usize], failure: &Failure) -> Vec<State> {
    states
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            State::Ready(_) if owners.contains(&i) => State::Failed(failure.clone()),
            other => other,
        })
        .collect()
}
