//! One request's worth of records (one account, one type, at most 1,000), retried on 429, 5xx,
//! timeouts and network errors while attempts and time remain; records refused with code 555
//! are sent once more; other refusals are final.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hookloop_clevertap::client::CODE_MISC_SERVER_ERROR;
use hookloop_clevertap::{is_retryable, locate_unprocessed, UploadError, UploadResponse};
use hookloop_runtime::Backoff;
use serde_json::Value;
use tracing::{error, warn};

use super::plan::Entry;
use crate::ports::Uploader;

/// Time kept free at the end of an invocation: no retry starts that could not finish before it.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// One record's fate in one upload.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fate {
    Accepted,
    Rejected { code: i64, error: String },
    Failed { error: UploadError, attempts: u32 },
}

pub(super) async fn upload<U: Uploader>(
    client: &U,
    backoff: &Backoff,
    account: &str,
    entries: &[Entry<'_>],
    deadline: Option<Instant>,
) -> Vec<Fate> {
    let mut fates: Vec<Option<Fate>> = vec![None; entries.len()];
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    let mut resent_555 = false;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let records: Vec<&Value> = pending
            .iter()
            .map(|&i| entries[i].planned.record.as_json())
            .collect();
        let again = match client.send(account, &records).await {
            Ok(response) => {
                let again = answered(
                    account, &response, &records, &pending, &mut fates, attempt, resent_555,
                );
                if again.is_empty() {
                    break;
                }
                resent_555 = true;
                again
            }
            Err(e) => {
                let time_left = deadline.is_none_or(|d| {
                    Instant::now()
                        + backoff.ceiling(attempt - 1)
                        + client.timeout()
                        + DEADLINE_MARGIN
                        < d
                });
                if !(is_retryable(&e) && attempt < backoff.max_attempts && time_left) {
                    warn!(account, error = %e, attempts = attempt, records = pending.len(), "upload given up");
                    for &i in &pending {
                        fates[i] = Some(Fate::Failed {
                            error: e.clone(),
                            attempts: attempt,
                        });
                    }
                    break;
                }
                warn!(account, error = %e, attempt, "upload failed; retrying");
                pending.clone()
            }
        };
        pending = again;
        backoff.sleep(attempt - 1).await;
    }
    fates
        .into_iter()
        .map(|f| {
            f.unwrap_or(Fate::Failed {
                error: UploadError::Transport("not sent".into()),
                attempts: attempt,
            })
        })
        .collect()
}

/// The fates a 200 answer gives the `pending` records sent as `records`; returns those to send
/// again (refused with 555, once).
fn answered(
    account: &str,
    response: &UploadResponse,
    records: &[&Value],
    pending: &[usize],
    fates: &mut [Option<Fate>],
    attempt: u32,
    resent_555: bool,
) -> Vec<usize> {
    let mut refused: HashMap<usize, (i64, String)> = HashMap::new();
    let mut unattributed = Vec::new();
    for u in &response.unprocessed {
        let why = (u.code.unwrap_or(0), u.error.clone().unwrap_or_default());
        match locate_unprocessed(records, u) {
            Some(pos) => {
                refused.insert(pos, why);
            }
            None => unattributed.push(why),
        }
    }
    if !unattributed.is_empty() {
        // Which records these were cannot be known: fail the rest of the request so it is
        // redelivered (at least once; never silently dropped).
        error!(
            account,
            ?unattributed,
            "CleverTap refused records it did not identify"
        );
    }
    let mut again = Vec::new();
    for (pos, &i) in pending.iter().enumerate() {
        fates[i] = Some(match refused.remove(&pos) {
            Some((code, _)) if code == CODE_MISC_SERVER_ERROR && !resent_555 => {
                again.push(i);
                continue;
            }
            Some((code, error)) => Fate::Rejected { code, error },
            None if !unattributed.is_empty() => Fate::Failed {
                error: UploadError::BadResponse(format!(
                    "{} unidentified refusal(s)",
                    unattributed.len()
                )),
                attempts: attempt,
            },
            None => Fate::Accepted,
        });
    }
    again
}
