//! The store phase of a batch: every message's raw body to S3, its rows to DynamoDB and its
//! geofence events to Kinesis, with the writes of the whole batch packed into as few requests as
//! the service limits allow (25 items per `BatchWriteItem`, 500 records or 5 MiB per
//! `PutRecords`), and one `BatchGetItem` per 100 deduplication keys instead of a read per
//! message.
//!
//! A request that fails fails only the messages with an item in it; the others are stored. A
//! request refused for good (a validation error) is sent again item by item, so one bad item
//! cannot send the messages that shared its request to the DLQ.

use std::collections::{BTreeMap, HashMap};

use futures::future::Either;

use aws_lambda_events::event::sqs::SqsMessage;
use futures::stream::{self, StreamExt};
use hookloop_aws::dedup::Claim;
use hookloop_aws::dynamodb::MAX_BATCH_WRITE_ITEMS;
use hookloop_aws::kinesis::{chunk_by_limits, Record, MAX_PUT_RECORDS};
use hookloop_aws::AwsError;
use hookloop_domain::{
    encode_batch, parse_webhook, raw_batch_key, raw_object_key, raw_partition, Envelope, MessageId,
    Normalized, Row,
};
use tracing::{field, info, Span};

use crate::config::ArchiveMode;
use crate::dead_letter::{DeadLetter, Stage};
use crate::handler::Processor;
use crate::loadback::Stored;

/// Requests of one store phase in flight at once.
pub const MAX_CONCURRENT_REQUESTS: usize = 16;

/// How many items the store phase puts in one request. [`Batching::FULL`] is the service
/// limits and what the functions run; [`Batching::NAIVE`] (one item per request) exists so the
/// benchmark can measure what batching saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub rows_per_request: usize,
    pub records_per_request: usize,
}

impl Batching {
    pub const FULL: Batching = Batching {
        rows_per_request: MAX_BATCH_WRITE_ITEMS,
        records_per_request: MAX_PUT_RECORDS,
    };
    pub const NAIVE: Batching = Batching {
        rows_per_request: 1,
        records_per_request: 1,
    };
}

impl Default for Batching {
    fn default() -> Self {
        Batching::FULL
    }
}

/// What became of one message in the store phase: `Ok(None)` is a repeat another message owns.
pub type StoreResult = Result<Option<Stored>, DeadLetter>;

/// A message that parsed, on its way to the stores.
struct Ready {
    envelope: Envelope,
    normalized: Normalized,
    raw: Vec<u8>,
}

/// Stores a batch. `spans[i]` is message `i`'s span; results come back in message order.
pub async fn store_batch(
    p: &Processor,
    messages: &[SqsMessage],
    spans: &[Span],
) -> Vec<StoreResult> {
    let n = messages.len();
    let mut done: Vec<Option<StoreResult>> = (0..n).map(|_| None).collect();

    // Decode the envelopes.
    let mut envelopes: Vec<Option<Envelope>> = Vec::with_capacity(n);
    for (i, msg) in messages.iter().enumerate() {
        match Envelope::decode(msg.body.as_deref().unwrap_or("")) {
            Ok(e) => {
                spans[i].record("message_id", field::display(e.id));
                spans[i].record("source", e.source.as_str());
                envelopes.push(Some(e));
            }
            Err(e) => {
                done[i] = Some(Err(DeadLetter::permanent(
                    Stage::Parse,
                    e.code(),
                    e.to_string(),
                )));
                envelopes.push(None);
            }
        }
    }

    skip_repeats(p, &mut envelopes, &mut done, spans).await;
    load_claimed_bodies(p, &mut envelopes, &mut done).await;

    // Parse and normalise.
    let mut ready: Vec<Option<Ready>> = Vec::with_capacity(n);
    for (i, e) in envelopes.into_iter().enumerate() {
        let Some(mut envelope) = e else {
            ready.push(None);
            continue;
        };
        match parse_webhook(envelope.source, envelope.body.as_bytes()) {
            Ok(webhook) => {
                let normalized = Normalized::from_webhook(&webhook, &envelope);
                let raw = std::mem::take(&mut envelope.body).into_bytes();
                ready.push(Some(Ready {
                    envelope,
                    normalized,
                    raw,
                }));
            }
            Err(e) => {
                done[i] = Some(Err(DeadLetter::permanent(
                    Stage::Parse,
                    "payload_invalid",
                    e.to_string(),
                )));
                ready.push(None);
            }
        }
    }

    // Write everything, each store in as few requests as its limits allow.
    let mut failures: Vec<Vec<DeadLetter>> = vec![Vec::new(); n];
    let (archived, rows, streamed) = tokio::join!(
        archive(p, &ready),
        put_rows(p, &ready),
        put_events(p, &ready)
    );
    for (owners, result) in archived.into_iter().chain(rows) {
        if let Err(e) = result {
            for i in owners {
                failures[i].push(DeadLetter::from_aws(Stage::Store, &e));
            }
        }
    }
    for (owners, result) in streamed {
        if let Err(e) = result {
            for i in owners {
                failures[i].push(DeadLetter::from_aws(Stage::Stream, &e));
            }
        }
    }

    let mut out = Vec::with_capacity(n);
    for (i, (result, r)) in done.into_iter().zip(ready).enumerate() {
        if let Some(result) = result {
            out.push(result);
            continue;
        }
        let Some(r) = r else {
            // Every message without a result is still `ready`. Were one not, it would be left
            // for redelivery: never counted as stored without having been.
            out.push(Err(DeadLetter {
                stage: Stage::Store,
                code: "internal".into(),
                message: "the store phase lost track of this message".into(),
                retryable: true,
            }));
            continue;
        };
        match DeadLetter::decisive(std::mem::take(&mut failures[i])) {
            Some(f) => out.push(Err(f)),
            None => {
                let _entered = spans[i].enter();
                info!(
                    rows = r.normalized.rows.len(),
                    geofence_events = r.normalized.geofence_events.len(),
                    "stored"
                );
                out.push(Ok(Some(Stored {
                    message_id: r.envelope.id.to_string(),
                    source: r.envelope.source,
                    rows: r.normalized.rows,
                })));
            }
        }
    }
    out
}

/// A repeat of a message another one already owns is done: that one stores it. The ingest
/// claims a key only after the message is queued, so the owners of the batch's keys are read at
/// once (one `BatchGetItem` per 100 keys), and a key with no live claim (the ingest has not
/// claimed it yet, stopped before it could, or could not reach the table) is claimed here by its
/// first message, so a later repeat is recognised. Messages queued by versions that claimed
/// before sending say so (`claimed`) and own their key.
async fn skip_repeats(
    p: &Processor,
    envelopes: &mut [Option<Envelope>],
    done: &mut [Option<StoreResult>],
    spans: &[Span],
) {
    let mut keys: Vec<String> = envelopes
        .iter()
        .flatten()
        .filter(|e| !e.claimed)
        .filter_map(|e| e.dedup_key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return;
    }
    let with_key = |envelopes: &[Option<Envelope>], key: &str| -> Vec<usize> {
        envelopes
            .iter()
            .enumerate()
            .filter(|(_, e)| e.as_ref().and_then(|e| e.dedup_key.as_deref()) == Some(key))
            .map(|(i, _)| i)
            .collect()
    };
    let mut owners = match p.claims.owners(&keys).await {
        Ok(o) => o,
        Err(e) => {
            for key in &keys {
                for i in with_key(envelopes, key) {
                    done[i] = Some(Err(DeadLetter::from_aws(Stage::Store, &e)));
                    envelopes[i] = None;
                }
            }
            return;
        }
    };
    let unclaimed: Vec<(String, String)> = keys
        .iter()
        .filter(|k| !owners.contains_key(*k))
        .filter_map(|k| {
            let first = with_key(envelopes, k).into_iter().next()?;
            let id = envelopes[first].as_ref()?.id.to_string();
            Some((k.clone(), id))
        })
        .collect();
    let claiming: Vec<_> = unclaimed
        .into_iter()
        .map(|(key, id)| async move {
            let claim = p.claims.claim(&key, &id).await.map(|c| match c {
                Claim::Won => Claim::Duplicate { original: id },
                other => other,
            });
            (key, claim)
        })
        .collect();
    let claimed: Vec<(String, Result<Claim, AwsError>)> = all(claiming).await;
    for (key, claim) in claimed {
        match claim {
            Ok(Claim::Duplicate { original }) => {
                owners.insert(key, original);
            }
            Ok(Claim::Won) => {}
            Err(e) => {
                for i in with_key(envelopes, &key) {
                    done[i] = Some(Err(DeadLetter::from_aws(Stage::Store, &e)));
                    envelopes[i] = None;
                }
            }
        }
    }
    for i in 0..envelopes.len() {
        let Some(e) = &envelopes[i] else { continue };
        if e.claimed {
            continue;
        }
        let Some(key) = &e.dedup_key else { continue };
        let Some(owner) = owners.get(key) else {
            continue;
        };
        if *owner != e.id.to_string() {
            let _entered = spans[i].enter();
            info!(original = %owner, "duplicate of an earlier message; skipped");
            done[i] = Some(Ok(None));
            envelopes[i] = None;
        }
    }
}

/// Claim check: bodies the ingest put in S3 are read back before parsing.
async fn load_claimed_bodies(
    p: &Processor,
    envelopes: &mut [Option<Envelope>],
    done: &mut [Option<StoreResult>],
) {
    let wanted: Vec<(usize, String)> = envelopes
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e.as_ref()?.body_ref.clone()?)))
        .collect();
    if wanted.is_empty() {
        return;
    }
    type Fetched = (usize, String, Result<Option<Vec<u8>>, AwsError>);
    let fetching: Vec<_> = wanted
        .into_iter()
        .map(|(i, key)| async move {
            let got = p.archive.get(&key).await;
            (i, key, got)
        })
        .collect();
    let bodies: Vec<Fetched> = all(fetching).await;
    for (i, key, got) in bodies {
        let result = match got {
            Err(e) => Err(DeadLetter::from_aws(Stage::Store, &e)),
            Ok(None) => Err(DeadLetter::permanent(
                Stage::Parse,
                "claim_missing",
                format!(
                    "the body's claim check s3://{}/{key} does not exist",
                    p.archive.bucket()
                ),
            )),
            Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| {
                DeadLetter::permanent(
                    Stage::Parse,
                    "payload_invalid",
                    "the claimed body is not UTF-8",
                )
            }),
        };
        match (result, envelopes[i].as_mut()) {
            (Ok(body), Some(e)) => e.body = body,
            (Err(f), _) => {
                done[i] = Some(Err(f));
                envelopes[i] = None;
            }
            (Ok(_), None) => {}
        }
    }
}

/// The outcome of one request and the messages with an item in it.
type Group = (Vec<usize>, Result<(), AwsError>);

/// The raw archive: one object per batch, source and hour ([`ArchiveMode::Batch`]), or one
/// per message at its deterministic key ([`ArchiveMode::Object`]).
async fn archive(p: &Processor, ready: &[Option<Ready>]) -> Vec<Group> {
    let mut puts = Vec::new();
    match p.archive_mode {
        ArchiveMode::Object => {
            for (i, r) in ready.iter().enumerate() {
                let Some(r) = r else { continue };
                let key = raw_object_key(r.envelope.source, r.envelope.id);
                let body = r.raw.clone();
                puts.push(Either::Left(async move {
                    (vec![i], p.archive.put(&key, body).await)
                }));
            }
        }
        ArchiveMode::Batch => {
            // By partition (source and hour), then id; a message twice in the batch once.
            let mut groups: BTreeMap<String, Vec<(MessageId, usize)>> = BTreeMap::new();
            for (i, r) in ready.iter().enumerate() {
                let Some(r) = r else { continue };
                groups
                    .entry(raw_partition(r.envelope.source, r.envelope.id))
                    .or_default()
                    .push((r.envelope.id, i));
            }
            for (_, mut members) in groups {
                members.sort();
                let owners: Vec<usize> = members.iter().map(|(_, i)| *i).collect();
                members.dedup_by_key(|(id, _)| *id);
                let ids: Vec<MessageId> = members.iter().map(|(id, _)| *id).collect();
                let key = ready[members[0].1]
                    .as_ref()
                    .and_then(|r| raw_batch_key(r.envelope.source, &ids));
                let Some(key) = key else { continue };
                let body = encode_batch(
                    members
                        .iter()
                        .filter_map(|(id, i)| ready[*i].as_ref().map(|r| (*id, r.raw.as_slice()))),
                );
                puts.push(Either::Right(async move {
                    let put = p.archive.put_typed(&key, body, "application/gzip").await;
                    (owners, put)
                }));
            }
        }
    }
    all(puts).await
}

/// The rows of the whole batch, `rows_per_request` per `BatchWriteItem`. Two messages writing
/// the same item (the same user's latest location) write it once, the later message's version;
/// both depend on that request. A request may not name one item twice.
async fn put_rows(p: &Processor, ready: &[Option<Ready>]) -> Vec<Group> {
    let mut rows: Vec<(&Row, Vec<usize>)> = Vec::new();
    let mut at: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, r) in ready.iter().enumerate() {
        let Some(r) = r else { continue };
        for row in &r.normalized.rows {
            match at.get(&(row.pk.as_str(), row.sk.as_str())) {
                Some(&j) => {
                    rows[j].0 = row;
                    if !rows[j].1.contains(&i) {
                        rows[j].1.push(i);
                    }
                }
                None => {
                    at.insert((row.pk.as_str(), row.sk.as_str()), rows.len());
                    rows.push((row, vec![i]));
                }
            }
        }
    }
    let per_request = p.batching.rows_per_request.clamp(1, MAX_BATCH_WRITE_ITEMS);
    let writes: Vec<_> = rows
        .chunks(per_request)
        .map(|chunk| send_isolating(chunk, |batch| p.table.put_rows(batch)))
        .collect();
    all(writes).await.into_iter().flatten().collect()
}

/// The geofence events of the whole batch, in `PutRecords` requests within the record and
/// byte limits.
async fn put_events(p: &Processor, ready: &[Option<Ready>]) -> Vec<Group> {
    // Each event encoded once: its bytes size the requests and are what is sent.
    let (records, owners): (Vec<Record>, Vec<usize>) = ready
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.as_ref()?)))
        .flat_map(|(i, r)| {
            r.normalized
                .geofence_events
                .iter()
                .map(move |e| (Record::from_event(e), i))
        })
        .unzip();
    if records.is_empty() {
        return Vec::new();
    }
    let events: Vec<(&Record, Vec<usize>)> = records
        .iter()
        .zip(owners)
        .map(|(r, i)| (r, vec![i]))
        .collect();
    let sizes: Vec<usize> = records.iter().map(Record::size).collect();
    let per_request = p.batching.records_per_request.clamp(1, MAX_PUT_RECORDS);
    let ranges: Vec<std::ops::Range<usize>> = chunk_by_limits(&sizes)
        .into_iter()
        .flat_map(|r| {
            r.clone()
                .step_by(per_request)
                .map(move |s| s..(s + per_request).min(r.end))
        })
        .collect();
    let puts: Vec<_> = ranges
        .into_iter()
        .map(|range| {
            send_isolating(&events[range], |batch: Vec<Record>| async move {
                p.stream.put_records(batch).await
            })
        })
        .collect();
    all(puts).await.into_iter().flatten().collect()
}

/// Sends `items` (each with the messages that own it) in one request. A request refused for
/// good (an item too large, say) is sent again item by item, so that only the messages owning a
/// bad item fail with it; any other outcome is the outcome of every owner.
async fn send_isolating<T, F, Fut>(items: &[(&T, Vec<usize>)], send: F) -> Vec<Group>
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    let batch: Vec<T> = items.iter().map(|(item, _)| (*item).clone()).collect();
    match send(batch).await {
        Err(e) if !e.retryable && items.len() > 1 => {
            let mut groups = Vec::with_capacity(items.len());
            for (item, owners) in items {
                groups.push((owners.clone(), send(vec![(*item).clone()]).await));
            }
            groups
        }
        result => vec![(owners_of(items.iter().map(|(_, o)| o)), result)],
    }
}

/// Runs `futures` with at most [`MAX_CONCURRENT_REQUESTS`] at once. The futures are built
/// before they are streamed: a stream mapping borrowing closures is not `Send` enough for the
/// local runner's `tokio::spawn`.
async fn all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    stream::iter(futures)
        .buffer_unordered(MAX_CONCURRENT_REQUESTS)
        .collect()
        .await
}

fn owners_of<'a>(lists: impl Iterator<Item = &'a Vec<usize>>) -> Vec<usize> {
    let mut owners: Vec<usize> = lists.flatten().copied().collect();
    owners.sort_unstable();
    owners.dedup();
    owners
}
