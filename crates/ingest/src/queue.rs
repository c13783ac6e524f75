use std::future::Future;

use hookloop_aws::sqs::{message_size, Queue};
use hookloop_aws::AwsError;
use hookloop_domain::attributes as attr;
use hookloop_domain::Envelope;

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

    /// The size SQS will count against its limit.
    pub fn size(&self) -> usize {
        message_size(&self.body, &self.attributes)
    }
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

impl MessageQueue for Queue {
    async fn enqueue(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        self.send(message.body, &message.attributes).await?;
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
