//! Parse: each pending body read once into its typed webhook and normalised into rows and
//! geofence events. A body that does not parse never will.

use hookloop_domain::{parse_webhook, Envelope, Normalized};

use crate::failure::{Failure, Stage};
use crate::state::{Ready, State};

pub(crate) fn parse(states: Vec<State>) -> Vec<State> {
    states
        .into_iter()
        .map(|s| match s {
            State::Pending(e) => parse_one(e),
            other => other,
        })
        .collect()
}

fn parse_one(mut envelope: Envelope) -> State {
    match parse_webhook(envelope.source(), envelope.body().as_bytes()) {
        Ok(webhook) => {
            let normalized = Normalized::from_webhook(&webhook, &envelope);
            let raw = envelope.take_body().into_bytes();
            State::Ready(Ready {
                envelope,
                normalized,
                raw,
            })
        }
        Err(e) => State::Failed(Failure::permanent(
            Stage::Parse,
            "payload_invalid",
            e.to_string(),
        )),
    }
}
