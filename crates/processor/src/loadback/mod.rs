//! Load-back: the records the rules make of a batch's stored messages, uploaded to CleverTap in
//! as few requests as the Upload API allows, retried with capped, jittered backoff within the
//! invocation's remaining time, and remembered per message so a redelivery does not upload
//! accepted records again.

pub mod live;
mod markers;
mod plan;
mod upload;
mod verdict;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hookloop_clevertap::Rules;
use hookloop_runtime::{telemetry, Backoff, Invocation};
use tracing::{info, warn, Span};

use crate::failure::{Failure, Stage};
use crate::ports::{RowStore, Uploader};
use crate::state::Stored;
use crate::trace;

/// Load-back's parts: the rules, the Upload API, and the table its markers live in.
#[derive(Debug, Clone)]
pub struct Loadback<U, R> {
    rules: Rules,
    client: U,
    markers: R,
    backoff: Backoff,
    marker_ttl: Duration,
}

/// Whether load-back is in force.
#[derive(Debug, Clone)]
pub enum Configured<L> {
    /// The stack's document has not been read yet (a new instance whose first read failed):
    /// stored messages are handed back for redelivery, not acknowledged without load-back.
    Unknown,
    /// Not configured (no account, no document).
    Off,
    On(L),
}

impl<L> From<Option<L>> for Configured<L> {
    fn from(l: Option<L>) -> Self {
        l.map_or(Configured::Off, Configured::On)
    }
}

/// What load-back did for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// Every record is in CleverTap (`sent` now, `skipped` accepted on an earlier delivery).
    Done {
        sent: usize,
        skipped: usize,
    },
    Failed(Failure),
}

const NOTHING: Loaded = Loaded::Done {
    sent: 0,
    skipped: 0,
};

impl<U: Uploader, R: RowStore> Loadback<U, R> {
    /// `max_attempts` per request (the first included); markers kept for `marker_ttl`.
    pub fn new(
        rules: Rules,
        client: U,
        markers: R,
        max_attempts: u32,
        marker_ttl: Duration,
    ) -> Self {
        Loadback {
            rules,
            client,
            markers,
            backoff: Backoff {
                base: Duration::from_millis(200),
                cap: Duration::from_secs(5),
                max_attempts,
            },
            marker_ttl,
        }
    }

    /// Loads back the records of `messages`; one result per message, in order. The records
    /// CleverTap accepted and refused (by its code) are counted into `invocation`.
    pub async fn run(
        &self,
        messages: &[&Stored],
        deadline: Option<Instant>,
        invocation: &mut Invocation,
    ) -> Vec<Loaded> {
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
        let loaded = self.run_unique(&unique, deadline, invocation).await;
        slots.into_iter().map(|i| loaded[i].clone()).collect()
    }

    async fn run_unique(
        &self,
        messages: &[&Stored],
        deadline: Option<Instant>,
        invocation: &mut Invocation,
    ) -> Vec<Loaded> {
        let planned = plan::records(&self.rules, messages);
        let mut results: Vec<Option<Loaded>> = planned
            .iter()
            .map(|p| match p {
                Err(f) => Some(Loaded::Failed(f.clone())),
                Ok(records) if records.is_empty() => Some(NOTHING),
                Ok(_) => None,
            })
            .collect();
        let with_records: Vec<usize> = (0..messages.len())
            .filter(|i| results[*i].is_none())
            .collect();
        if with_records.is_empty() {
            return finish(results);
        }
        let spans: Vec<Span> = messages.iter().map(|m| m.span.clone()).collect();
        let traced = trace::aws_call_spans(&spans, &with_records, "DynamoDB", "BatchGetItem");
        let read = markers::accepted(&self.markers, messages, &with_records);
        let previously = match trace::during(traced, read).await {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "could not read load-back markers; messages left for redelivery");
                for i in with_records {
                    results[i] = Some(Loaded::Failed(Failure::from_aws(Stage::Clevertap, &e)));
                }
                return finish(results);
            }
        };
        let (groups, skipped) = plan::group(&planned, &with_records, &previously);
        // Every request of the batch at once; the client's per-account cap decides how many are
        // really in flight.
        let requests = plan::requests(&groups);
        let fates = join_all(requests.iter().map(|(account, entries)| {
            let owners: Vec<usize> = entries.iter().map(|e| e.message).collect();
            let traced = trace::call_spans(&spans, &owners, |parent| {
                telemetry::spans::http_call(parent, "POST", "CleverTap", "CleverTap upload")
            });
            let upload = upload::upload(&self.client, &self.backoff, account, entries, deadline);
            trace::during(traced, upload)
        }))
        .await;
        let tally = verdict::Tally::of(&requests, fates);
        tally.count(invocation);
        markers::remember(
            &self.markers,
            messages,
            &previously,
            &tally.accepted,
            self.marker_ttl,
        )
        .await;
        for &i in &with_records {
            results[i] = Some(tally.verdict(i, skipped.get(&i).copied().unwrap_or(0)));
        }
        info!(
            requests = requests.len(),
            records = planned.iter().flatten().map(Vec::len).sum::<usize>(),
            "load-back done"
        );
        finish(results)
    }
}

/// Results in message order; a message with no result made no records.
fn finish(results: Vec<Option<Loaded>>) -> Vec<Loaded> {
    results.into_iter().map(|r| r.unwrap_or(NOTHING)).collect()
}
