//! Admission: a valid webhook becomes a queued message, and a repeat is recognised, without a
//! window in which a webhook answered 200 can be lost.
//!
//! The order is **queue, then claim**. The webhook is sent to SQS first; only once SQS has
//! accepted it does the ingest take the deduplication claim for its key (one conditional
//! `PutItem`). So every claim in the table names a message that is known to be queued, and a
//! delivery answered `duplicate` always names a message that will be stored (or dead-lettered
//! with a reason). Whatever stops the ingest between the two calls (a crash, a timeout, an
//! out-of-memory stop, a claim whose answer never arrives) leaves a queued message without a
//! claim, and the processor, which checks every message's claim before storing it, claims it
//! then. A repeat is queued too (it cannot be known to be one before its claim is refused); the
//! processor skips it when it finds the key owned by another message. That costs a repeat one
//! SQS send, and costs nothing per webhook on the hot path: the claim was one request before
//! and is one request now.

use hookloop_aws::sqs::MAX_MESSAGE_BYTES;
use hookloop_domain::claim_check::{ClaimCheck, ObjectStore};
use hookloop_domain::dedup::admission::claim_queued;
use hookloop_domain::dedup::{DedupLedger, Verdict};
use hookloop_domain::Envelope;
use tracing::{error, info, warn};

use crate::queue::{MessageQueue, OutgoingMessage};
use crate::rejection::Rejection;

/// What became of an admitted webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admitted {
    /// Queued under this id, which the sender is told.
    Queued(String),
    /// A repeat of this message, which is queued: the sender is told its id. This copy was
    /// queued as well and the processor skips it.
    Duplicate(String),
}

/// Queues `envelope`, then claims `dedup_key` (when deduplication is on) for it.
pub(crate) async fn admit<Q: MessageQueue, O: ObjectStore, L: DedupLedger>(
    queue: &Q,
    claim_check: Option<&ClaimCheck<O>>,
    dedup: Option<&L>,
    envelope: Envelope,
    dedup_key: Option<String>,
) -> Result<Admitted, Rejection> {
    let id = envelope.id().to_string();
    let bytes = envelope.body().len();
    // The key travels with the message, so the processor can check (and take) the claim.
    let mut envelope = envelope.with_dedup_key(dedup_key);
    queue_envelope(queue, claim_check, &mut envelope).await?;
    let (Some(claims), Some(key)) = (dedup, envelope.dedup_key()) else {
        info!(message_id = %id, source = %envelope.source(), bytes, claim_check = envelope.body_ref().is_some(), "queued");
        return Ok(Admitted::Queued(id));
    };
    // The domain's admission state machine, the one the processor runs for its batches.
    match claim_queued(claims, key, &id).await {
        Verdict::Owner => {
            info!(message_id = %id, source = %envelope.source(), bytes, claim_check = envelope.body_ref().is_some(), "queued");
            Ok(Admitted::Queued(id))
        }
        Verdict::Repeat { original } => {
            info!(message_id = %id, %original, source = %envelope.source(), "duplicate delivery; the processor skips this copy");
            Ok(Admitted::Duplicate(original))
        }
        // Queued, so answered as such; the processor takes the claim (or finds its owner).
        Verdict::Undecided(e) => {
            warn!(message_id = %id, error = %e, "queued; deduplication unavailable, the processor decides");
            Ok(Admitted::Queued(id))
        }
    }
}

/// Offloads a large body to S3 when configured, then queues the message.
async fn queue_envelope<Q: MessageQueue, O: ObjectStore>(
    queue: &Q,
    claim_check: Option<&ClaimCheck<O>>,
    envelope: &mut Envelope,
) -> Result<(), Rejection> {
    if let Some(claim_check) = claim_check {
        if let Err(e) = claim_check.offload(envelope).await {
            error!(message_id = %envelope.id(), error = %e, "claim check failed; answering 503");
            return Err(Rejection::QueueUnavailable);
        }
    }
    let message = OutgoingMessage::new(envelope);
    if message.size() > MAX_MESSAGE_BYTES {
        return Err(Rejection::PayloadTooLarge {
            size: message.size(),
            limit: MAX_MESSAGE_BYTES,
            what: "the queued message (body escaped inside the envelope)",
        });
    }
    if let Err(e) = queue.enqueue(message).await {
        error!(message_id = %envelope.id(), source = %envelope.source(), error = %e, "not queued; answering 503");
        return Err(Rejection::QueueUnavailable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::MemoryQueue as Queue;
    use hookloop_aws::s3::RawArchive;
    use hookloop_domain::memory::{Ledger as Claims, Shared};

    type Ledger = Shared<Claims>;
    use hookloop_domain::{ServiceError, Source};
    use time::OffsetDateTime;

    fn envelope() -> Envelope {
        Envelope::received(Source::Location, "{}".to_owned(), OffsetDateTime::now_utc())
    }

    async fn admit_one(q: &Queue, l: &Ledger, key: &str) -> (Result<Admitted, Rejection>, String) {
        let e = envelope();
        let id = e.id().to_string();
        (
            admit::<_, RawArchive, _>(q, None, Some(l), e, Some(key.to_owned())).await,
            id,
        )
    }

    #[tokio::test]
    async fn a_webhook_is_claimed_only_after_it_is_queued() {
        let (q, l) = (Queue::default(), Ledger::default());
        let (admitted, id) = admit_one(&q, &l, "k").await;
        assert_eq!(admitted, Ok(Admitted::Queued(id.clone())));
        assert_eq!(l.lock().claims.get("k"), Some(&id));
        let sent = q.envelopes();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].dedup_key(), Some("k"), "the key travels with it");
        assert!(!sent[0].claimed(), "the claim comes after the send");
    }

    #[tokio::test]
    async fn a_failed_send_is_503_and_leaves_no_claim_behind() {
        let q = Queue::down();
        let l = Ledger::default();
        let (admitted, _) = admit_one(&q, &l, "k").await;
        assert_eq!(admitted, Err(Rejection::QueueUnavailable));
        assert!(l.lock().claims.is_empty());
    }

    #[tokio::test]
    async fn a_repeat_names_the_claims_holder_and_its_copy_is_queued_for_the_processor_to_skip() {
        let (q, l) = (Queue::default(), Ledger::default());
        let (_, first) = admit_one(&q, &l, "k").await;
        let (admitted, second) = admit_one(&q, &l, "k").await;
        assert_eq!(admitted, Ok(Admitted::Duplicate(first.clone())));
        let sent: Vec<String> = q.envelopes().iter().map(|e| e.id().to_string()).collect();
        assert_eq!(sent, [first.clone(), second]);
        assert_eq!(l.lock().claims.get("k"), Some(&first));
    }

    #[tokio::test]
    async fn an_unreachable_ledger_leaves_the_claim_to_the_processor() {
        let q = Queue::default();
        let l = Shared::new(Claims {
            fail: Some(ServiceError::local(
                "dynamodb", "PutItem", "Timeout", "late", true,
            )),
            ..Default::default()
        });
        let (admitted, id) = admit_one(&q, &l, "k").await;
        assert_eq!(admitted, Ok(Admitted::Queued(id)));
        assert_eq!(q.envelopes()[0].dedup_key(), Some("k"));
    }

    #[tokio::test]
    async fn without_deduplication_nothing_is_claimed() {
        let q = Queue::default();
        let e = envelope();
        let id = e.id().to_string();
        let admitted = admit::<_, RawArchive, Ledger>(&q, None, None, e, None).await;
        assert_eq!(admitted, Ok(Admitted::Queued(id)));
        assert_eq!(q.envelopes()[0].dedup_key(), None);
    }
}
