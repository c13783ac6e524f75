use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::stream::{self, StreamExt};
use hookloop_aws::dedup::Claims;
use hookloop_aws::dynamodb::Table;
use hookloop_aws::kinesis::Stream;
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsClients;
use hookloop_clevertap::UploadError;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::{error, field, info, info_span, warn, Instrument, Span};

use crate::config::{ArchiveMode, ProcessorConfig};
use crate::dead_letter::*;
use crate::loadback::{Loadback, Loaded, Stored};
use crate::store::{store_batch, Batching};

/// Messages of one batch processed at the same time.
pub const MAX_CONCURRENT_MESSAGES: usize = 16;

/// The processor's dependencies, built once per process.
#[derive(Debug, Clone)]
pub struct Processor {
    pub archive: RawArchive,
    pub table: Table,
    pub stream: Stream,
    pub dlq: Queue,
    pub max_receive_count: u32,
    /// `None` when load-back to CleverTap is not configured.
    pub loadback: Option<Loadback>,
    /// Deduplication claims (the ingest's), checked again for messages that carry a key.
    pub claims: Claims,
    /// Items per request in the store phase (the service limits; the benchmark compares).
    pub batching: Batching,
    /// Raw archive: batch objects or one object per webhook.
    pub archive_mode: ArchiveMode,
}

impl Processor {
    pub fn new(clients: &AwsClients, config: ProcessorConfig) -> Result<Self, UploadError> {
        let claims = Claims::new(
            clients.dynamodb.clone(),
            config.table_name.clone(),
            config.dedup_window,
        );
        let table = Table::new(clients.dynamodb.clone(), config.table_name);
        let loadback = match config.loadback {
            Some(c) => Some(Loadback::new(c, table.clone())?),
            None => None,
        };
        Ok(Processor {
            archive: RawArchive::new(clients.s3.clone(), config.raw_bucket),
            table,
            stream: Stream::new(clients.kinesis.clone(), config.geofence_stream),
            dlq: Queue::new(clients.sqs.clone(), config.dlq_url),
            max_receive_count: config.max_receive_count,
            loadback,
            claims,
            batching: Batching::FULL,
            archive_mode: config.raw_archive,
        })
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// In every store it belongs in: delete it from the queue.
    Stored,
    /// In the DLQ with its reason: delete it from the queue.
    DeadLettered,
    /// Failed in a way that may pass later: leave it for redelivery.
    Retry,
}

/// Processes a batch: stores every message (raw archive, rows, geofence stream), loads the
/// stored ones back to CleverTap when configured, then dead-letters what can never succeed.
/// Only messages worth another delivery are reported as failures; one bad message never fails
/// the batch. `deadline` (the invocation's) bounds load-back retries.
pub async fn handle(p: &Processor, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
    let messages = event.records;
    let received = messages.len();
    let spans: Vec<Span> = messages.iter().map(message_span).collect();

    let stored = store_batch(p, &messages, &spans).await;

    let mut failures: Vec<Option<DeadLetter>> =
        stored.iter().map(|r| r.as_ref().err().cloned()).collect();
    if let Some(loadback) = &p.loadback {
        let (indexes, ready): (Vec<usize>, Vec<Stored>) = stored
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| r.ok().flatten().map(|s| (i, s)))
            .unzip();
        // Boxed: the upload futures nest deep enough to overflow rustc's layout query depth in
        // the binaries' async main otherwise.
        let loaded = Box::pin(loadback.run(&ready, deadline)).await;
        for (i, l) in indexes.into_iter().zip(loaded) {
            let _entered = spans[i].enter();
            match l {
                Loaded::Done { sent, skipped } => info!(sent, skipped, "loaded back to CleverTap"),
                Loaded::Failed(f) => failures[i] = Some(f),
            }
        }
    }

    let settling: Vec<_> = messages
        .iter()
        .zip(failures)
        .zip(spans)
        .map(|((msg, failure), span)| settle(p, msg, failure).instrument(span))
        .collect();
    let outcomes: Vec<(Option<String>, Outcome)> = stream::iter(settling)
        .buffer_unordered(MAX_CONCURRENT_MESSAGES)
        .collect()
        .await;

    let mut response = SqsBatchResponse::default();
    let (mut stored, mut dead) = (0, 0);
    for (id, outcome) in outcomes {
        match outcome {
            Outcome::Stored => stored += 1,
            Outcome::DeadLettered => dead += 1,
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

/// The `Instant` of a Lambda invocation's deadline (`Context::deadline()`).
pub fn deadline_from(deadline: std::time::SystemTime) -> Instant {
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left
}

fn message_span(msg: &SqsMessage) -> Span {
    info_span!(
        "message",
        sqs_message_id = msg.message_id.as_deref().unwrap_or(""),
        message_id = field::Empty,
        source = field::Empty,
    )
}

/// Decides between done, redelivery and the DLQ for a message.
async fn settle(
    p: &Processor,
    msg: &SqsMessage,
    failure: Option<DeadLetter>,
) -> (Option<String>, Outcome) {
    let outcome = match failure {
        None => Outcome::Stored,
        Some(f) => settle_failure(p, msg, &f).await,
    };
    (msg.message_id.clone(), outcome)
}

async fn settle_failure(p: &Processor, msg: &SqsMessage, failure: &DeadLetter) -> Outcome {
    let attempts = receive_count(msg);
    if decide(failure, attempts, p.max_receive_count) == Outcome::Retry {
        warn!(stage = %failure.stage, code = %failure.code, error = %failure.message, attempts, "failed; left for redelivery");
        return Outcome::Retry;
    }
    match dead_letter(p, msg, failure, attempts).await {
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
pub fn decide(failure: &DeadLetter, attempts: u32, max_receive_count: u32) -> Outcome {
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

async fn dead_letter(
    p: &Processor,
    msg: &SqsMessage,
    f: &DeadLetter,
    attempts: u32,
) -> Result<(), hookloop_aws::AwsError> {
    let body = msg
        .body
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "(empty message body)".to_owned());
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut attributes: Vec<(&str, String)> = vec![
        (ATTR_STAGE, f.stage.as_str().to_owned()),
        (ATTR_ERROR_CODE, f.code.clone()),
        (ATTR_ERROR, f.message.clone()),
        (ATTR_ATTEMPTS, attempts.to_string()),
        (ATTR_FAILED_AT, now),
    ];
    for name in ["source", "message_id"] {
        if let Some(v) = msg
            .message_attributes
            .get(name)
            .and_then(|a| a.string_value.clone())
        {
            attributes.push((name, v));
        }
    }
    p.dlq.send(body, &attributes).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(retryable: bool) -> DeadLetter {
        DeadLetter {
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
