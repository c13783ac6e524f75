//! Capped exponential backoff with full jitter: the waits between retries of the partial
//! failures the AWS SDK does not retry on its own (`hookloop_aws::retry`) and of the CleverTap
//! load-back's uploads.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// The upper bound of the wait before retry number `retry` (0-based): `min(cap, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: a uniformly random wait in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = rand::rng().random_range(0..=ceiling.as_nanos().min(u64::MAX as u128) as u64);
        Duration::from_nanos(nanos)
    }

    pub async fn sleep(&self, retry: u32) {
        tokio::time::sleep(self.delay(retry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 5,
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(
            b.ceiling(200),
            Duration::from_secs(1),
            "no overflow on absurd retry counts"
        );
    }

    #[test]
    fn delays_stay_within_the_ceiling_and_vary() {
        let b = Backoff::default();
        let delays: Vec<_> = (0..200).map(|_| b.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= b.ceiling(3)));
        assert!(
            delays.iter().any(|d| *d != delays[0]),
            "full jitter spreads retries out"
        );
    }
}
