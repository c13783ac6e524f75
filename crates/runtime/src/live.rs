//! Configuration that changes without a redeploy: a value a process holds and re-reads at most
//! once per period (a secret every `SECRETS_TTL_SECONDS`, the load-back document every 60 s).
//!
//! [`Live::get`] answers the value in force. When the period has passed, the first caller to
//! notice runs the reload while every other caller keeps answering the value in force, so a
//! slow or failing reload never holds a request up for more than [`RELOAD_TIMEOUT`] (or the
//! timeout a value is given, [`Live::with_timeout`]: 10 s for the geofence document). A reload
//! that answers [`Reloaded::Keep`] (nothing changed, or what it read was refused) leaves the
//! value in force until the next period; one that could not read ([`Reloaded::Retry`], or one
//! that timed out) leaves it in force and is tried again after [`RETRY_AFTER`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Default period of a secret's re-read (`SECRETS_TTL_SECONDS`).
pub const DEFAULT_SECRETS_TTL: Duration = Duration::from_secs(300);
/// The load-back document is checked for a change at most this often.
pub const CONFIG_DOCUMENT_PERIOD: Duration = Duration::from_secs(60);

/// Longest a reload may hold up the request that runs it.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(1);
/// A reload that could not read is tried again this soon (not a whole period later).
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What a reload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded<T> {
    /// A new value, in force from now.
    Replace(T),
    /// Nothing changed, or what was read is refused: the value in force stays for a period.
    Keep,
    /// Nothing could be read: the value in force stays, and the reload is tried again soon.
    Retry,
}

/// A reload.
pub type Reload<T> =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Reloaded<T>> + Send + 'static>> + Send + Sync>;

pub struct Live<T> {
    current: Mutex<Arc<T>>,
    next_check: Mutex<Instant>,
    period: Duration,
    reload: Option<Reload<T>>,
    /// Longest a reload may take ([`RELOAD_TIMEOUT`] unless [`Live::with_timeout`] says).
    timeout: Duration,
}

impl<T> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("period", &self.period)
            .field("reloads", &self.reload.is_some())
            .finish()
    }
}

impl<T> Live<T> {
    /// A value that never changes (local runs: the environment is read once).
    pub fn fixed(value: T) -> Self {
        Live {
            current: Mutex::new(Arc::new(value)),
            next_check: Mutex::new(Instant::now()),
            period: Duration::MAX,
            reload: None,
            timeout: RELOAD_TIMEOUT,
        }
    }

    /// `value` now, re-read by `reload` at most once per `period`.
    pub fn reloading(value: T, period: Duration, reload: Reload<T>) -> Self {
        Live {
            current: Mutex::new(Arc::new(value)),
            next_check: Mutex::new(Instant::now() + period),
            period,
            reload: Some(reload),
            timeout: RELOAD_TIMEOUT,
        }
    }

    /// The same, a reload allowed `timeout` (a large document read from S3 and parsed) instead
    /// of [`RELOAD_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `initial` until the first [`Live::get`], which loads; then re-read at most once per
    /// `period` (a document read when the first request needs it, not at start).
    pub fn loading(initial: T, period: Duration, reload: Reload<T>) -> Self {
        let live = Live::reloading(initial, period, reload);
        *live
            .next_check
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        live
    }

    /// The value in force, reloaded first when the period has passed.
    pub async fn get(&self) -> Arc<T> {
        if let Some(reload) = &self.reload {
            if self.claim(Instant::now()) {
                let found = tokio::time::timeout(self.timeout, reload())
                    .await
                    .unwrap_or_else(|_| {
                        tracing::warn!(
                            timeout_ms = self.timeout.as_millis() as u64,
                            "a configuration reload timed out; the value in force stays, trying again soon"
                        );
                        Reloaded::Retry
                    });
                match found {
                    Reloaded::Replace(new) => {
                        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
                            Arc::new(new);
                    }
                    Reloaded::Keep => {}
                    Reloaded::Retry => self.retry_soon(Instant::now()),
                }
            }
        }
        self.now()
    }

    /// The value in force, without checking for a change.
    pub fn now(&self) -> Arc<T> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The next check in [`RETRY_AFTER`] rather than a whole period.
    fn retry_soon(&self, now: Instant) {
        let mut next = self
            .next_check
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *next = (*next).min(now + RETRY_AFTER.min(self.period));
    }

    /// True for the one caller that should reload now; moves the next check a period on.
    fn claim(&self, now: Instant) -> bool {
        let mut next = self
            .next_check
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if now < *next {
            return false;
        }
        *next = now.checked_add(self.period).unwrap_or(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting(answers: Vec<Reloaded<u32>>) -> (Reload<u32>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let answers = Arc::new(answers);
        let reload: Reload<u32> = Box::new(move || {
            let i = seen.fetch_add(1, Ordering::SeqCst);
            let answer = answers.get(i).cloned().unwrap_or(Reloaded::Keep);
            Box::pin(async move { answer })
        });
        (reload, calls)
    }

    #[tokio::test]
    async fn a_value_is_reloaded_at_most_once_per_period() {
        let (reload, calls) = counting(vec![Reloaded::Replace(2)]);
        let live = Live::reloading(1, Duration::from_secs(60), reload);
        assert_eq!(*live.get().await, 1, "within the period: the first value");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "no reload before the period"
        );
        let start = Instant::now();
        assert!(live.claim(start + Duration::from_secs(61)));
        assert!(
            !live.claim(start + Duration::from_secs(62)),
            "one caller reloads per period"
        );
        assert!(live.claim(start + Duration::from_secs(122)));
    }

    #[tokio::test]
    async fn a_reload_that_answers_keep_keeps_the_value_in_force() {
        let (reload, calls) = counting(vec![Reloaded::Keep, Reloaded::Replace(7)]);
        let live = Live::reloading(1, Duration::ZERO, reload);
        assert_eq!(*live.get().await, 1, "refused: the last good value stays");
        assert_eq!(*live.get().await, 7, "a good value replaces it");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(*live.now(), 7);
    }

    #[tokio::test]
    async fn a_loading_value_is_read_at_the_first_get() {
        let (reload, calls) = counting(vec![Reloaded::Replace(5)]);
        let live = Live::loading(0, Duration::from_secs(60), reload);
        assert_eq!(*live.now(), 0);
        assert_eq!(*live.get().await, 5);
        assert_eq!(*live.get().await, 5, "then once per period");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_reload_that_could_not_read_is_tried_again_soon_not_a_period_later() {
        let (reload, _) = counting(vec![Reloaded::Retry]);
        let live = Live::loading(0, Duration::from_secs(300), reload);
        let start = Instant::now();
        assert_eq!(*live.get().await, 0, "the value in force stays");
        assert!(!live.claim(start + Duration::from_secs(1)));
        assert!(
            live.claim(start + RETRY_AFTER + Duration::from_millis(50)),
            "tried again after RETRY_AFTER, not 300 s"
        );
    }

    #[tokio::test]
    async fn a_slow_document_is_given_the_time_its_live_value_allows() {
        let slow = || -> Reload<u32> {
            Box::new(|| {
                Box::pin(async {
                    tokio::time::sleep(RELOAD_TIMEOUT * 3 / 2).await;
                    Reloaded::Replace(9)
                })
            })
        };
        let live = Live::loading(1, Duration::from_secs(300), slow());
        assert_eq!(*live.get().await, 1, "cut off at RELOAD_TIMEOUT");
        let live =
            Live::loading(1, Duration::from_secs(300), slow()).with_timeout(RELOAD_TIMEOUT * 3);
        assert_eq!(*live.get().await, 9, "read within its own timeout");
    }

    #[tokio::test]
    async fn a_reload_that_hangs_is_abandoned_and_retried() {
        let reload: Reload<u32> = Box::new(|| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Reloaded::Replace(9)
            })
        });
        let live = Live::loading(1, Duration::from_secs(300), reload);
        let started = Instant::now();
        assert_eq!(*live.get().await, 1, "the value in force");
        assert!(
            started.elapsed() < RELOAD_TIMEOUT * 2,
            "answered within RELOAD_TIMEOUT"
        );
        assert!(
            live.claim(Instant::now() + RETRY_AFTER),
            "and tried again soon, like a reload that could not read"
        );
    }

    #[tokio::test]
    async fn a_fixed_value_never_reloads() {
        let live = Live::fixed("env");
        assert_eq!(*live.get().await, "env");
    }
}
