use std::future::Future;

use hookloop_aws::sqs::{message_size, Queue};
use hookloop_aws::AwsError;
use hookloop_domain::attributes as attr;
use hookloop_domain::Envelope;
use hookloop_runtime::telemetry::{self, propagation, spans, SpanContext};
use tracing::Instrument;

/// What the trace context adds to a message at most: a `traceparent` message attribute (55
/// characters) and the `AWSTraceHeader` system attribute (74), with names and types. Counted in
/// [`OutgoingMessage::size`] so a message within the limit stays within it once traced.
pub const TRACE_CONTEXT_BYTES: usize =
    attr::TRACEPARENT.len() + 6 + 55 + attr::AWS_TRACE_HEADER.len() + 6 + 74;

/// An envelope encoded once, with its attributes, ready for the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    pub attributes: [(&'static str, String); 2],
}

impl OutgoingMessage {
    pub fn new(envelope: &Envelope) -> Self {
        OutgoingMessage {
            body: envelope.encode(),
            attributes: [
                (attr::SOURCE, envelope.source().as_str().to_owned()),
                (attr::MESSAGE_ID, envelope.id().to_string()),
            ],
        }
    }

    /// The size SQS will count against its limit, the trace context included.
    pub fn size(&self) -> usize {
        message_size(&self.body, &self.attributes) + TRACE_CONTEXT_BYTES
    }
}

/// The message as sent: its attributes and the `traceparent` of `cx` (the send's span), and the
/// same context in X-Ray's form for the `AWSTraceHeader` system attribute.
pub fn traced(
    message: OutgoingMessage,
    cx: &SpanContext,
) -> (String, [(&'static str, String); 3], String) {
    let [source, id] = message.attributes;
    let attributes = [
        source,
        id,
        (attr::TRACEPARENT, propagation::traceparent(cx)),
    ];
    (message.body, attributes, propagation::xray_header(cx))
}

/// Where accepted webhooks go: SQS in production and in the local runner; an in-memory fake in
/// unit tests of the handler's logic.
pub trait MessageQueue: Send + Sync {
    /// Resolves once the queue has durably accepted the message.
    fn enqueue(
        &self,
        message: OutgoingMessage,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("queue refused the message: {0}")]
pub struct QueueError(#[from] pub AwsError);

/// The send is a span of the webhook's trace (kind producer); the message carries that span's
/// context, so the processor's span for it is its child.
impl MessageQueue for Queue {
    async fn enqueue(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        let span = spans::sqs_send(self.name());
        let (body, attributes, xray) = traced(message, &telemetry::context_of(&span));
        let sent = self
            .send_traced(body, &attributes, Some(&xray))
            .instrument(span.clone())
            .await?;
        telemetry::set_attribute(&span, "messaging.message.id", sent);
        Ok(())
    }
}

/// The in-memory queue the ingest's unit tests share: records what was sent, or, while `down`,
/// refuses every send as SQS would when unavailable.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemoryQueue {
    pub sent: std::sync::Mutex<Vec<OutgoingMessage>>,
    pub down: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl MemoryQueue {
    pub fn down() -> Self {
        let q = MemoryQueue::default();
        q.set_down(true);
        q
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// The envelopes sent so far.
    pub fn envelopes(&self) -> Vec<Envelope> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.iter()
            .filter_map(|m| Envelope::decode(&m.body).ok())
            .collect()
    }
}

#[cfg(test)]
impl MessageQueue for MemoryQueue {
    async fn enqueue(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(QueueError(AwsError::local(
                "sqs",
                "SendMessage",
                "ServiceUnavailable",
                "down",
                true,
            )));
        }
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
        Ok(())
    }
}
