//! Decode: each SQS message's body into its envelope; one that does not decode never will.

use aws_lambda_events::event::sqs::SqsMessage;
use hookloop_domain::Envelope;
use tracing::{field, Span};

use crate::failure::{Failure, Stage};
use crate::state::State;

/// One state per message, in order; names each message's span with its id and source.
pub(crate) fn decode(messages: &[SqsMessage], spans: &[Span]) -> Vec<State> {
    messages
        .iter()
        .zip(spans)
        .map(
            |(msg, span)| match Envelope::decode(msg.body.as_deref().unwrap_or("")) {
                Ok(e) => {
                    span.record("message_id", field::display(e.id()));
                    span.record("source", e.source().as_str());
                    State::Pending(e)
                }
                Err(e) => State::Failed(Failure::permanent(Stage::Parse, e.code(), e.to_string())),
            },
        )
        .collect()
}
