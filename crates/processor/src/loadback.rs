//! Load-back: the records the rules make of a batch's stored messages, uploaded to CleverTap in
//! as few requests as the Upload API allows, retried with capped, jittered backoff within the
//! invocation's remaining time, and remembered per message so a redelivery does not upload
//! accepted records again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::future::join_all;
use hookloop_aws::dynamodb::Table;
use hookloop_aws::retry::Backoff;
use hookloop_clevertap::client::CODE_MISC_SERVER_ERROR;
use hookloop_clevertap::{
    is_retryable, locate_unprocessed, Planned, RecordType, Rules, UploadClient, UploadError,
    MAX_RECORDS_PER_REQUEST,
};
use hookloop_domain::{Row, Source};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::config::LoadbackConfig;
use crate::dead_letter::{DeadLetter, Stage};

/// The marker item of a message whose records CleverTap accepted:
/// `pk = LOADBACK#<message id>`, `sk = CLEVERTAP`, `accepted` (record fingerprints),
/// `expires_at` (epoch seconds, the table's TTL attribute).
pub const MARKER_PK_PREFIX: &str = "LOADBACK#";
pub const MARKER_SK: &str = "CLEVERTAP";
pub const TTL_ATTRIBUTE: &str = hookloop_aws::provision::TABLE_TTL_ATTRIBUTE;
/// Time kept free at the end of an invocation: no retry starts that could not finish before it.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

pub fn marker_key(message_id: &str) -> (String, String) {
    (
        format!("{MARKER_PK_PREFIX}{message_id}"),
        MARKER_SK.to_owned(),
    )
}

#[derive(Debug, Clone)]
pub struct Loadback {
    rules: Rules,
    client: UploadClient,
    markers: Table,
    backoff: Backoff,
    marker_ttl: Duration,
}

/// A stored message, ready for load-back.
#[derive(Debug)]
pub struct Stored {
    pub message_id: String,
    pub source: Source,
    pub rows: Vec<Row>,
}

/// What load-back did for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// Every record is in CleverTap (`sent` now, `skipped` accepted on an earlier delivery).
    Done {
        sent: usize,
        skipped: usize,
    },
    Failed(DeadLetter),
}

/// One record's fate in one upload.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    Accepted,
    Rejected { code: i64, error: String },
    Failed { error: UploadError, attempts: u32 },
}

/// Results in message order; a message with no result made no records.
fn finish(results: Vec<Option<Loaded>>) -> Vec<Loaded> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or(Loaded::Done {
                sent: 0,
                skipped: 0,
            })
        })
        .collect()
}

struct Entry<'a> {
    message: usize,
    planned: &'a Planned,
    fingerprint: String,
}

impl Loadback {
    pub fn new(config: LoadbackConfig, markers: Table) -> Result<Self, UploadError> {
        let client = UploadClient::new(config.accounts, config.request_timeout)?;
        Ok(Loadback {
            rules: config.rules,
            client,
            markers,
            backoff: Backoff {
                base: Duration::from_millis(200),
                cap: Duration::from_secs(5),
                max_attempts: config.max_attempts,
            },
            marker_ttl: config.marker_ttl,
        })
    }

    /// Loads back the records of `messages`; one result per message, in order.
    pub async fn run(&self, messages: &[Stored], deadline: Option<Instant>) -> Vec<Loaded> {
        // SQS may deliver two copies of one message in one batch: load it once, answer both.
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut unique: Vec<&Stored> = Vec::new();
        let slots: Vec<usize> = messages
            .iter()
            .map(|m| {
                *first.entry(m.message_id.as_str()).or_insert_with(|| {
                    unique.push(m);
                    unique.len() - 1
                })
            })
            .collect();
        let loaded = self.run_unique(&unique, deadline).await;
        slots.into_iter().map(|i| loaded[i].clone()).collect()
    }

    async fn run_unique(&self, messages: &[&Stored], deadline: Option<Instant>) -> Vec<Loaded> {
        let mut results: Vec<Option<Loaded>> = vec![None; messages.len()];

        // 1. Plan: a message whose items cannot all become valid records sends nothing.
        let mut planned: Vec<Vec<Planned>> = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            let items: Vec<&Map<String, Value>> = m.rows.iter().map(|r| &r.attrs).collect();
            match self.rules.records(m.source, &items) {
                Ok(p) => {
                    if p.is_empty() {
                        results[i] = Some(Loaded::Done {
                            sent: 0,
                            skipped: 0,
                        });
                    }
                    planned.push(p);
                }
                Err(e) => {
                    let code = e.code.map_or("record_invalid".to_owned(), |c| {
                        format!("record_invalid:{c}")
                    });
                    results[i] = Some(Loaded::Failed(DeadLetter::permanent(
                        Stage::Clevertap,
                        code,
                        e.to_string(),
                    )));
                    planned.push(Vec::new());
                }
            }
        }

        // 2. What earlier deliveries already got accepted.
        let with_records: Vec<usize> = (0..messages.len())
            .filter(|i| results[*i].is_none())
            .collect();
        if with_records.is_empty() {
            return finish(results);
        }
        let keys: Vec<(String, String)> = with_records
            .iter()
            .map(|i| marker_key(&messages[*i].message_id))
            .collect();
        let markers = match self.markers.get_many(&keys).await {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "could not read load-back markers; messages left for redelivery");
                for i in with_records {
                    results[i] = Some(Loaded::Failed(DeadLetter::from_aws(Stage::Clevertap, &e)));
                }
                return finish(results);
            }
        };
        let mut previously: HashMap<usize, Vec<String>> = HashMap::new();
        for &i in &with_records {
            let accepted: Vec<String> = markers
                .get(&marker_key(&messages[i].message_id))
                .and_then(|m| m.get("accepted"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            previously.insert(i, accepted);
        }

        // 3. Group what is left by account and record type, in order.
        let mut groups: BTreeMap<(String, RecordType), Vec<Entry<'_>>> = BTreeMap::new();
        let mut skipped: HashMap<usize, usize> = HashMap::new();
        for &i in &with_records {
            let done: HashSet<&str> = previously[&i].iter().map(String::as_str).collect();
            for p in &planned[i] {
                let fingerprint = p.record.fingerprint(&p.account);
                if done.contains(fingerprint.as_str()) {
                    *skipped.entry(i).or_default() += 1;
                    continue;
                }
                groups
                    .entry((p.account.clone(), p.record.record_type()))
                    .or_default()
                    .push(Entry {
                        message: i,
                        planned: p,
                        fingerprint,
                    });
            }
        }

        // 4. Upload: every request of the batch at once; the client's per-account cap decides
        //    how many are really in flight.
        let chunks: Vec<(&str, &[Entry<'_>])> = groups
            .iter()
            .flat_map(|((account, _), entries)| {
                entries
                    .chunks(MAX_RECORDS_PER_REQUEST)
                    .map(move |c| (account.as_str(), c))
            })
            .collect();
        let requests = chunks.len();
        let fates: Vec<Vec<Fate>> = join_all(
            chunks
                .iter()
                .map(|(account, entries)| self.upload(account, entries, deadline)),
        )
        .await;

        // 5. Per message: accepted fingerprints, refusals, failures.
        let mut accepted: HashMap<usize, Vec<String>> = HashMap::new();
        let mut rejected: HashMap<usize, Vec<(i64, String)>> = HashMap::new();
        let mut failed: HashMap<usize, (UploadError, u32)> = HashMap::new();
        let mut sent: HashMap<usize, usize> = HashMap::new();
        for ((_, entries), fates) in chunks.iter().zip(fates) {
            for (entry, fate) in entries.iter().zip(fates) {
                let i = entry.message;
                match fate {
                    Fate::Accepted => {
                        accepted
                            .entry(i)
                            .or_default()
                            .push(entry.fingerprint.clone());
                        *sent.entry(i).or_default() += 1;
                    }
                    Fate::Rejected { code, error } => rejected.entry(i).or_default().push((
                        code,
                        format!(
                            "rule {:?} ({} for account {}): CleverTap code {code}: {error}",
                            entry.planned.rule,
                            entry.planned.record.record_type(),
                            entry.planned.account,
                        ),
                    )),
                    Fate::Failed { error, attempts } => {
                        failed.entry(i).or_insert((error, attempts));
                    }
                }
            }
        }

        // 6. Remember what was accepted, before anything is deleted from the queue.
        let expires_at =
            OffsetDateTime::now_utc().unix_timestamp() + self.marker_ttl.as_secs() as i64;
        let marker_rows: Vec<Row> = accepted
            .iter()
            .map(|(&i, new)| {
                let (pk, sk) = marker_key(&messages[i].message_id);
                let mut all = previously.get(&i).cloned().unwrap_or_default();
                all.extend(new.iter().cloned());
                let mut attrs = Map::new();
                attrs.insert("kind".into(), json!("loadback"));
                attrs.insert("message_id".into(), json!(messages[i].message_id));
                attrs.insert("accepted".into(), json!(all));
                attrs.insert(TTL_ATTRIBUTE.into(), json!(expires_at));
                Row { pk, sk, attrs }
            })
            .collect();
        let markers = marker_rows.len();
        if let Err(e) = self.markers.put_rows(marker_rows).await {
            // The records are in CleverTap; only a later redelivery of these messages could
            // upload them again.
            error!(error = %e, messages = markers, "could not write load-back markers");
        }

        for &i in &with_records {
            let outcome = if let Some(refusals) = rejected.get(&i) {
                let first_code = refusals.first().map_or(0, |(c, _)| *c);
                let reasons: Vec<&str> = refusals.iter().map(|(_, r)| r.as_str()).collect();
                Loaded::Failed(DeadLetter::permanent(
                    Stage::Clevertap,
                    format!("clevertap.upload:{first_code}"),
                    format!(
                        "CleverTap refused {} record(s): {}",
                        reasons.len(),
                        reasons.join("; ")
                    ),
                ))
            } else if let Some((e, attempts)) = failed.get(&i) {
                Loaded::Failed(DeadLetter {
                    stage: Stage::Clevertap,
                    code: format!("clevertap.upload:{}", e.code()),
                    message: format!("upload failed after {attempts} attempt(s): {e}"),
                    retryable: is_retryable(e),
                })
            } else {
                Loaded::Done {
                    sent: sent.get(&i).copied().unwrap_or(0),
                    skipped: skipped.get(&i).copied().unwrap_or(0),
                }
            };
            results[i] = Some(outcome);
        }
        info!(
            requests,
            records = planned.iter().map(Vec::len).sum::<usize>(),
            "load-back done"
        );
        finish(results)
    }

    /// One request's worth of records (one account, one type, at most 1000), retried on 429,
    /// 5xx, timeouts and network errors while attempts and time remain; records refused with
    /// code 555 are sent once more; other refusals are final.
    async fn upload(
        &self,
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
            let again = match self.client.send(account, &records).await {
                Ok(response) => {
                    let mut refused: HashMap<usize, (i64, String)> = HashMap::new();
                    let mut unattributed = Vec::new();
                    for u in &response.unprocessed {
                        let why = (u.code.unwrap_or(0), u.error.clone().unwrap_or_default());
                        match locate_unprocessed(&records, u) {
                            Some(pos) => {
                                refused.insert(pos, why);
                            }
                            None => unattributed.push(why),
                        }
                    }
                    if !unattributed.is_empty() {
                        // Which records these were cannot be known: fail the rest of the request
                        // so it is redelivered (at least once; never silently dropped).
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
                    if again.is_empty() {
                        break;
                    }
                    resent_555 = true;
                    again
                }
                Err(e) => {
                    let time_left = deadline.is_none_or(|d| {
                        Instant::now()
                            + self.backoff.ceiling(attempt - 1)
                            + self.client.timeout()
                            + DEADLINE_MARGIN
                            < d
                    });
                    if !(is_retryable(&e) && attempt < self.backoff.max_attempts && time_left) {
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
            self.backoff.sleep(attempt - 1).await;
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
}
