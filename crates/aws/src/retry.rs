//! Re-sending the partial failures the SDK does not retry on its own (DynamoDB
//! `UnprocessedItems`, Kinesis failed records), waiting a [`Backoff`] between attempts.

use std::future::Future;

pub(crate) use hookloop_runtime::Backoff;

use crate::AwsError;

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
    use std::time::Duration;

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
}
