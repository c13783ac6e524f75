//! An SQS poller that behaves like Lambda's event source mapping: it gathers a batch (up to
//! `batch_size` messages or until the batching window closes), calls the processor handler,
//! deletes only the messages the handler did not report as failures, and leaves those to
//! reappear after the visibility timeout, so the redrive policy moves them to the DLQ in the end.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use hookloop_aws::sqs::{Queue, MAX_BATCH_ENTRIES};
use hookloop_processor::Processor;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, warn};

#[derive(Debug, Clone, Copy)]
pub struct PollerSettings {
    pub batch_size: usize,
    pub batch_window: Duration,
    /// The deadline handed to each invocation (Lambda's function timeout).
    pub invocation_timeout: Duration,
}

fn to_lambda_message(m: hookloop_aws::sqs::Message, region: &str) -> SqsMessage {
    let mut out = SqsMessage::default();
    out.message_id = m.message_id;
    out.receipt_handle = m.receipt_handle;
    out.body = m.body;
    out.md5_of_body = m.md5_of_body;
    out.attributes = m
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), v))
        .collect();
    out.message_attributes = m
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let mut a = SqsMessageAttribute::default();
            a.string_value = v.string_value;
            a.data_type = Some(v.data_type);
            (k, a)
        })
        .collect();
    out.event_source = Some("aws:sqs".to_owned());
    out.aws_region = Some(region.to_owned());
    out
}

/// Polls until `stop` turns true; a batch already received is finished first.
pub async fn run(
    queue: Queue,
    processor: std::sync::Arc<Processor>,
    settings: PollerSettings,
    region: String,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let first = tokio::select! {
            r = queue.receive(settings.batch_size.min(MAX_BATCH_ENTRIES) as i32, 1) => r,
            _ = stop.changed() => break,
        };
        let mut batch = match first {
            Ok(b) if b.is_empty() => continue,
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "receive failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let window_closes = Instant::now() + settings.batch_window;
        while batch.len() < settings.batch_size && Instant::now() < window_closes {
            let want = (settings.batch_size - batch.len()).min(MAX_BATCH_ENTRIES) as i32;
            match queue.receive(want, 0).await {
                Ok(more) if more.is_empty() => tokio::time::sleep(Duration::from_millis(20)).await,
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let deadline = std::time::Instant::now() + settings.invocation_timeout;
        process_batch(&queue, &processor, batch, &region, deadline).await;
    }
}

async fn process_batch(
    queue: &Queue,
    processor: &Processor,
    batch: Vec<hookloop_aws::sqs::Message>,
    region: &str,
    deadline: std::time::Instant,
) {
    let mut event = SqsEvent::default();
    event.records = batch
        .into_iter()
        .map(|m| to_lambda_message(m, region))
        .collect();
    let handles: HashMap<String, String> = event
        .records
        .iter()
        .filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?)))
        .collect();
    let response = hookloop_processor::handle(processor, event, Some(deadline)).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    if failed
        .iter()
        .any(|id| id.is_empty() || !handles.contains_key(*id))
    {
        // Lambda's rule: an unknown or empty identifier fails the whole batch.
        warn!(batch = handles.len(), "whole batch failed; nothing deleted");
        return;
    }
    let done: Vec<(String, String)> = handles
        .into_iter()
        .filter(|(id, _)| !failed.contains(&id.as_str()))
        .collect();
    debug!(
        deleted = done.len(),
        left = failed.len(),
        "batch acknowledged"
    );
    match queue.delete(&done).await {
        Ok(not_deleted) if not_deleted.is_empty() => {}
        Ok(not_deleted) => warn!(
            count = not_deleted.len(),
            "some messages were not deleted and will be redelivered"
        ),
        Err(e) => {
            warn!(error = %e, "delete failed; the batch will be redelivered (processing is idempotent)")
        }
    }
}
