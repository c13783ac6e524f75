//! Verdict: the fates of a batch's records, gathered per message into what load-back did for it.

use std::collections::HashMap;

use hookloop_clevertap::{is_retryable, UploadError};
use hookloop_runtime::metrics::names::{CODE, LOADED_BACK, LOAD_BACK_REFUSED};
use hookloop_runtime::Invocation;

use super::plan::Entry;
use super::upload::Fate;
use super::Loaded;
use crate::failure::{Failure, Stage};

/// Per message: fingerprints accepted now, refusals, the first failure, records sent.
#[derive(Default)]
pub(super) struct Tally {
    pub accepted: HashMap<usize, Vec<String>>,
    rejected: HashMap<usize, Vec<(i64, String)>>,
    failed: HashMap<usize, (UploadError, u32)>,
    sent: HashMap<usize, usize>,
}

impl Tally {
    pub fn of(requests: &[(&str, &[Entry<'_>])], fates: Vec<Vec<Fate>>) -> Tally {
        let mut t = Tally::default();
        for ((_, entries), fates) in requests.iter().zip(fates) {
            for (entry, fate) in entries.iter().zip(fates) {
                let i = entry.message;
                match fate {
                    Fate::Accepted => {
                        t.accepted
                            .entry(i)
                            .or_default()
                            .push(entry.fingerprint.clone());
                        *t.sent.entry(i).or_default() += 1;
                    }
                    Fate::Rejected { code, error } => t.rejected.entry(i).or_default().push((
                        code,
                        format!(
                            "rule {:?} ({} for account {}): CleverTap code {code}: {error}",
                            entry.planned.rule,
                            entry.planned.record.record_type(),
                            entry.planned.account,
                        ),
                    )),
                    Fate::Failed { error, attempts } => {
                        t.failed.entry(i).or_insert((error, attempts));
                    }
                }
            }
        }
        t
    }

    /// The batch's records CleverTap accepted (`LoadedBack`) and refused (`LoadBackRefused`, by
    /// CleverTap's code), one each.
    pub fn count(&self, invocation: &mut Invocation) {
        invocation.add(LOADED_BACK, self.sent.values().sum::<usize>() as u64);
        for (code, _) in self.rejected.values().flatten() {
            invocation.count_by(LOAD_BACK_REFUSED, CODE, code.to_string());
        }
    }

    /// Message `i`'s verdict: any refusal fails it for good; else any failure fails it, retryable
    /// as the failure is; else it is done.
    pub fn verdict(&self, i: usize, skipped: usize) -> Loaded {
        if let Some(refusals) = self.rejected.get(&i) {
            let first_code = refusals.first().map_or(0, |(c, _)| *c);
            let reasons: Vec<&str> = refusals.iter().map(|(_, r)| r.as_str()).collect();
            Loaded::Failed(Failure::permanent(
                Stage::Clevertap,
                format!("clevertap.upload:{first_code}"),
                format!(
                    "CleverTap refused {} record(s): {}",
                    reasons.len(),
                    reasons.join("; ")
                ),
            ))
        } else if let Some((e, attempts)) = self.failed.get(&i) {
            Loaded::Failed(Failure {
                stage: Stage::Clevertap,
                code: format!("clevertap.upload:{}", e.code()),
                message: format!("upload failed after {attempts} attempt(s): {e}"),
                retryable: is_retryable(e),
            })
        } else {
            Loaded::Done {
                sent: self.sent.get(&i).copied().unwrap_or(0),
                skipped,
            }
        }
    }
}
