//! Settle: each message done, left for redelivery, or dead-lettered with its reason, and the
//! batch answer naming only the messages worth another delivery.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsMessage};
use hookloop_domain::attributes as attr;
use hookloop_runtime::metrics::names::{DEAD_LETTERED, STAGE};
use hookloop_runtime::Invocation;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::{error, info, warn, Instrument, Span};

use crate::bounded::bounded;
use crate::failure::*;
use crate::ports::DeadLetterQueue;
use crate::state::State;

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// In every store it belongs in (or a repeat of one that is): delete it from the queue.
    Stored,
    /// In the DLQ with its reason: delete it from the queue.
    DeadLettered,
    /// Failed in a way that may pass later: leave it for redelivery.
    Retry,
}

pub(crate) async fn settle<D: DeadLetterQueue>(
    dlq: &D,
    max_receive_count: u32,
    messages: &[SqsMessage],
    states: Vec<State>,
    spans: Vec<Span>,
    invocation: &mut Invocation,
) -> SqsBatchResponse {
    let received = messages.len();
    let settling: Vec<_> = messages
        .iter()
        .zip(states)
        .zip(spans)
        .map(|((msg, state), span)| {
            async move {
                let (outcome, stage) = match failure_of(state) {
                    None => (Outcome::Stored, None),
                    Some(f) => (
                        settle_failure(dlq, max_receive_count, msg, &f).await,
                        Some(f.stage),
                    ),
                };
                (msg.message_id.clone(), outcome, stage)
            }
            .instrument(span)
        })
        .collect();
    let outcomes = bounded(settling).await;

    let mut response = SqsBatchResponse::default();
    let (mut stored, mut dead) = (0, 0);
    for (id, outcome, stage) in outcomes {
        match outcome {
            Outcome::Stored => stored += 1,
            Outcome::DeadLettered => {
                dead += 1;
                if let Some(stage) = stage {
                    invocation.count_by(DEAD_LETTERED, STAGE, stage.as_str());
                }
            }
            Outcome::Retry => match id {
                Some(id) if !id.is_empty() => response.add_failure(id),
                // Without an id SQS cannot be told which one failed; an empty identifier fails
                // the whole batch, which is the safe side: nothing is deleted unprocessed.
                _ => response.add_failure(String::new()),
            },
        }
    }
    info!(
        received,
        stored,
        dead_lettered = dead,
        retry = response.batch_item_failures.len(),
        "batch done"
    );
    response
}

/// A message's failure, if it has one. A message some stage left unfinished is a failure worth
/// another delivery: never counted as stored without having been.
fn failure_of(state: State) -> Option<Failure> {
    match state {
        State::Stored(_) | State::Repeat => None,
        State::Failed(f) => Some(f),
        State::Pending(_) | State::Ready(_) => Some(Failure {
            stage: Stage::Store,
            code: "internal".into(),
            message: "the store phase lost track of this message".into(),
            retryable: true,
        }),
    }
}

async fn settle_failure<D: DeadLetterQueue>(
    dlq: &D,
    max_receive_count: u32,
    msg: &SqsMessage,
    failure: &Failure,
) -> Outcome {
    let attempts = receive_count(msg);
    if decide(failure, attempts, max_receive_count) == Outcome::Retry {
        warn!(stage = %failure.stage, code = %failure.code, error = %failure.message, attempts, "failed; left for redelivery");
        return Outcome::Retry;
    }
    match dlq
        .send(dead_letter_body(msg), &attributes(msg, failure, attempts))
        .await
    {
        Ok(()) => {
            error!(stage = %failure.stage, code = %failure.code, error = %failure.message, attempts, "dead-lettered");
            Outcome::DeadLettered
        }
        Err(e) => {
            error!(stage = %failure.stage, code = %failure.code, dlq_error = %e, attempts, "could not dead-letter; left for redelivery");
            Outcome::Retry
        }
    }
}

/// What to do with a failed message on its `attempts`-th receive: leave a retryable failure for
/// redelivery while receives remain; dead-letter anything else, so its reason is recorded
/// instead of SQS's redrive moving it without one.
pub fn decide(failure: &Failure, attempts: u32, max_receive_count: u32) -> Outcome {
    if failure.retryable && attempts < max_receive_count {
        Outcome::Retry
    } else {
        Outcome::DeadLettered
    }
}

fn receive_count(msg: &SqsMessage) -> u32 {
    msg.attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The original body untouched, so the entry can be redriven as is.
fn dead_letter_body(msg: &SqsMessage) -> String {
    msg.body
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "(empty message body)".to_owned())
}

fn attributes(msg: &SqsMessage, f: &Failure, attempts: u32) -> Vec<(&'static str, String)> {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut attributes: Vec<(&'static str, String)> = vec![
        (attr::STAGE, f.stage.as_str().to_owned()),
        (attr::ERROR_CODE, f.code.clone()),
        (attr::ERROR, f.message.clone()),
        (attr::ATTEMPTS, attempts.to_string()),
        (attr::FAILED_AT, now),
    ];
    for name in attr::SET_BY_INGEST {
        if let Some(v) = msg
            .message_attributes
            .get(name)
            .and_then(|a| a.string_value.clone())
        {
            attributes.push((name, v));
        }
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(retryable: bool) -> Failure {
        Failure {
            stage: Stage::Store,
            code: "x".into(),
            message: String::new(),
            retryable,
        }
    }

    #[test]
    fn retryable_failures_are_retried_until_the_last_receive_then_dead_lettered() {
        assert_eq!(decide(&failure(true), 1, 5), Outcome::Retry);
        assert_eq!(decide(&failure(true), 4, 5), Outcome::Retry);
        assert_eq!(decide(&failure(true), 5, 5), Outcome::DeadLettered);
        assert_eq!(decide(&failure(true), 9, 5), Outcome::DeadLettered);
    }

    #[test]
    fn permanent_failures_are_dead_lettered_on_the_first_receive() {
        assert_eq!(decide(&failure(false), 1, 5), Outcome::DeadLettered);
    }

    #[test]
    fn the_receive_count_comes_from_sqs_and_defaults_to_one() {
        let mut m = SqsMessage::default();
        assert_eq!(receive_count(&m), 1);
        m.attributes
            .insert("ApproximateReceiveCount".into(), "4".into());
        assert_eq!(receive_count(&m), 4);
    }
}
