//! The port through which a Radar signature is made single-use: each signed message is recorded
//! with the SHA-256 of the body it came with. The same message with the same body again is the
//! sender retrying a delivery that failed (it passes on to deduplication, which answers
//! `duplicate` if the first one was queued); the same message with another body is a replay.
//!
//! Adapters: the table ([`hookloop_aws::signing_ids::SigningIds`], production and
//! `hookloop serve`) and [`MemoryLedger`] (unit tests, and a process without `TABLE_NAME`,
//! where it protects only that one process).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hookloop_aws::signing_ids::SigningIds;
use hookloop_aws::AwsError;

pub use hookloop_aws::signing_ids::SigningIdUse;

/// Most signed messages a [`MemoryLedger`] holds; past it the oldest are forgotten first.
pub const MEMORY_LEDGER_CAPACITY: usize = 100_000;

pub type Sha256Digest = [u8; 32];

pub type LedgerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SigningIdUse, LedgerError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
#[error("the signing-id ledger is unavailable: {0}")]
pub struct LedgerError(#[from] pub AwsError);

/// Where signed messages are recorded with the body they authenticated.
pub trait SigningIdLedger: Send + Sync + fmt::Debug {
    /// Records `message` with `body` (both SHA-256) unless a live record names another body.
    fn record<'a>(&'a self, message: &'a Sha256Digest, body: &'a Sha256Digest) -> LedgerFuture<'a>;
}

impl SigningIdLedger for SigningIds {
    fn record<'a>(&'a self, message: &'a Sha256Digest, body: &'a Sha256Digest) -> LedgerFuture<'a> {
        Box::pin(async move {
            Ok(SigningIds::record(self, &hex::encode(message), &hex::encode(body)).await?)
        })
    }
}

/// Signed messages in this process's memory, each for `window`.
pub struct MemoryLedger {
    window: Duration,
    capacity: usize,
    seen: Mutex<HashMap<Sha256Digest, (Sha256Digest, Instant)>>,
}

impl MemoryLedger {
    pub fn new(window: Duration) -> Self {
        Self::with_capacity(window, MEMORY_LEDGER_CAPACITY)
    }

    pub fn with_capacity(window: Duration, capacity: usize) -> Self {
        MemoryLedger {
            window,
            capacity: capacity.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn record_now(&self, message: &Sha256Digest, body: &Sha256Digest) -> SigningIdUse {
        let now = Instant::now();
        // A poisoned lock only means another request panicked mid-update; the map is still a map.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(message) {
            Some((b, expires)) if *expires >= now && b != body => return SigningIdUse::OtherBody,
            Some((_, expires)) if *expires >= now => return SigningIdUse::SameBody,
            _ => {}
        }
        if seen.len() >= self.capacity && !seen.contains_key(message) {
            seen.retain(|_, (_, expires)| *expires >= now);
            if seen.len() >= self.capacity {
                if let Some(oldest) = seen.iter().min_by_key(|(_, (_, e))| *e).map(|(k, _)| *k) {
                    seen.remove(&oldest);
                }
            }
        }
        seen.insert(*message, (*body, now + self.window));
        SigningIdUse::First
    }
}

impl fmt::Debug for MemoryLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.seen.lock().map(|s| s.len()).unwrap_or_default();
        f.debug_struct("MemoryLedger")
            .field("window", &self.window)
            .field("held", &held)
            .finish()
    }
}

impl SigningIdLedger for MemoryLedger {
    fn record<'a>(&'a self, message: &'a Sha256Digest, body: &'a Sha256Digest) -> LedgerFuture<'a> {
        let used = self.record_now(message, body);
        Box::pin(async move { Ok(used) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signed_message_authenticates_one_body_within_the_window() {
        let ledger = MemoryLedger::new(Duration::from_secs(60));
        let (id, a, b) = ([1; 32], [2; 32], [3; 32]);
        assert_eq!(ledger.record(&id, &a).await.unwrap(), SigningIdUse::First);
        assert_eq!(
            ledger.record(&id, &a).await.unwrap(),
            SigningIdUse::SameBody
        );
        assert_eq!(
            ledger.record(&id, &b).await.unwrap(),
            SigningIdUse::OtherBody
        );
        assert_eq!(
            ledger.record(&[9; 32], &b).await.unwrap(),
            SigningIdUse::First
        );

        let brief = MemoryLedger::new(Duration::ZERO);
        assert_eq!(brief.record(&id, &a).await.unwrap(), SigningIdUse::First);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(
            brief.record(&id, &b).await.unwrap(),
            SigningIdUse::First,
            "past the window"
        );
    }

    #[tokio::test]
    async fn a_full_memory_ledger_forgets_the_oldest_first() {
        let ledger = MemoryLedger::with_capacity(Duration::from_secs(60), 2);
        for i in 0..3u8 {
            ledger.record(&[i; 32], &[0; 32]).await.unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            ledger.record(&[2; 32], &[1; 32]).await.unwrap(),
            SigningIdUse::OtherBody
        );
        assert_eq!(
            ledger.record(&[0; 32], &[1; 32]).await.unwrap(),
            SigningIdUse::First
        );
    }
}
