//! Capped exponential backoff with full jitter, for the partial failures the SDK does not retry
//! on its own (DynamoDB `UnprocessedItems`, Kinesis failed records).

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::AwsError;

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

/// Sends `pending`, then re-sends whatever `send` hands back as not done (a batch call's partial
/// failures), waiting [`Backoff::delay`] between attempts, for at most `max_attempts` attempts.
/// A call that fails outright ends it with that error. Items still not done after the last
/// attempt come back in `Err(Unfinished)` so the caller can say what they were.
pub async fn resend_partial_failures<T, F, Fut>(
    backoff: &Backoff,
    mut pending: Vec<T>,
    mut send: F,
) -> Result<(), Unfinished<T>>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, AwsError>>,
{
    let mut attempt = 0;
    while !pending.is_empty() {
        if attempt > 0 {
            backoff.sleep(attempt - 1).await;
        }
        attempt += 1;
        pending = send(pending).await.map_err(Unfinished::Failed)?;
        if !pending.is_empty() && attempt >= backoff.max_attempts {
            return Err(Unfinished::Remaining {
                items: pending,
                attempts: attempt,
            });
        }
    }
    Ok(())
}

/// Why [`resend_partial_failures`] gave up.
#[derive(Debug)]
pub enum Unfinished<T> {
    /// A call failed as a whole.
    Failed(AwsError),
    /// These items were still refused after `attempts` attempts.
    Remaining { items: Vec<T>, attempts: u32 },
}

impl<T> Unfinished<T> {
    /// The error a caller reports: the failed call's own, or a retryable `code` saying how many
    /// `what` were still refused (`detail` appended when not empty).
    pub fn into_error(
        self,
        service: &'static str,
        operation: &'static str,
        code: &'static str,
        what: &str,
        detail: &str,
    ) -> AwsError {
        match self {
            Unfinished::Failed(e) => e,
            Unfinished::Remaining { items, attempts } => {
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                };
                AwsError::local(
                    service,
                    operation,
                    code,
                    format!(
                        "{} {what} still refused after {attempts} attempts{detail}",
                        items.len()
                    ),
                    true,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn quick(max_attempts: u32) -> Backoff {
        Backoff {
            base: Duration::from_micros(1),
            cap: Duration::from_micros(10),
            max_attempts,
        }
    }

    #[tokio::test]
    async fn partial_failures_are_resent_until_done() {
        let calls = RefCell::new(Vec::new());
        let result = resend_partial_failures(&quick(5), vec![1, 2, 3, 4], |batch: Vec<i32>| {
            calls.borrow_mut().push(batch.clone());
            // The first call refuses its last item; the second accepts it.
            let refused = if batch.len() > 1 {
                batch[batch.len() - 1..].to_vec()
            } else {
                Vec::new()
            };
            async move { Ok(refused) }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(
            *calls.borrow(),
            vec![vec![1, 2, 3, 4], vec![4]],
            "only the refused item is sent again"
        );
    }

    #[tokio::test]
    async fn items_still_refused_after_the_last_attempt_are_handed_back() {
        let calls = RefCell::new(0);
        let result = resend_partial_failures(&quick(3), vec!["a", "b"], |batch: Vec<&str>| {
            *calls.borrow_mut() += 1;
            async move { Ok(batch) }
        })
        .await;
        match result {
            Err(Unfinished::Remaining { items, attempts }) => {
                assert_eq!((items, attempts), (vec!["a", "b"], 3))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(*calls.borrow(), 3);
    }

    #[tokio::test]
    async fn a_failed_call_ends_the_resending() {
        let result = resend_partial_failures(&quick(3), vec![1], |_| async {
            Err::<Vec<i32>, _>(AwsError::local("x", "Op", "Boom", "", true))
        })
        .await;
        assert!(matches!(result, Err(Unfinished::Failed(e)) if e.code == "Boom"));
    }

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
