//! In-memory adapters for the processor's ports, for the unit tests of its decisions: each
//! keeps what it was given, counts its requests, and can be told to fail.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use hookloop_aws::dynamodb::{Swapped, REVISION_ATTRIBUTE};
use hookloop_aws::kinesis::Record;
use hookloop_aws::AwsError;
use hookloop_clevertap::client::Unprocessed;
use hookloop_clevertap::{UploadError, UploadResponse};
use hookloop_domain::{LatestRow, Row, Version, Written};
use serde_json::{Map, Value};

use crate::ports::*;

/// The in-memory ports.
pub struct Memory;

impl Ports for Memory {
    type Objects = Shared<Objects>;
    type Rows = Shared<Rows>;
    type Events = Shared<Events>;
    type Ledger = Shared<Ledger>;
    type DeadLetters = Shared<DeadLetters>;
    type Upload = Shared<Upload>;
}

pub use hookloop_domain::memory::{throttled, Ledger, Objects, Shared};

/// A validation error: refused for good.
pub fn invalid(service: &'static str, operation: &'static str) -> AwsError {
    AwsError::local(
        service,
        operation,
        "ValidationException",
        "item refused",
        false,
    )
}

#[derive(Debug, Default)]
pub struct Rows {
    pub items: BTreeMap<ItemKey, Item>,
    /// Write requests, and the rows in each.
    pub writes: Vec<usize>,
    /// Conditional writes of latest-state rows (one request each), with their outcome.
    pub latest_writes: Vec<(ItemKey, Written)>,
    pub reads: usize,
    /// Compare-and-swap writes (one request each), whatever their outcome.
    pub swaps: usize,
    /// The next this many compare-and-swap writes find the item changed by another writer.
    pub interfere: usize,
    pub fail_writes: Option<AwsError>,
    /// Fails every conditional write (latest-state rows, compare-and-swap).
    pub fail_latest: Option<AwsError>,
    pub fail_reads: Option<AwsError>,
    /// A request holding a row whose JSON contains this is refused for good.
    pub refuse_containing: Option<String>,
}

impl Rows {
    fn refuses(&self, row: &Row) -> bool {
        self.refuse_containing.as_ref().is_some_and(|bad| {
            Value::Object(row.attrs.clone())
                .to_string()
                .contains(bad.as_str())
        })
    }

    fn store(&mut self, r: Row) {
        let mut item: Map<String, Value> = r.attrs;
        item.insert("pk".into(), Value::String(r.pk.clone()));
        item.insert("sk".into(), Value::String(r.sk.clone()));
        self.items.insert((r.pk, r.sk), item);
    }
}

impl RowStore for Shared<Rows> {
    async fn put_rows(&self, rows: Vec<Row>) -> Result<(), AwsError> {
        let mut s = self.lock();
        s.writes.push(rows.len());
        if let Some(e) = &s.fail_writes {
            return Err(e.clone());
        }
        if rows.iter().any(|r| s.refuses(r)) {
            return Err(invalid("dynamodb", "BatchWriteItem"));
        }
        for r in rows {
            s.store(r);
        }
        Ok(())
    }
    /// The rule DynamoDB applies as a condition, applied by comparing.
    async fn put_latest(&self, row: LatestRow) -> Result<Written, AwsError> {
        let mut s = self.lock();
        let key = (row.row().pk.clone(), row.row().sk.clone());
        if let Some(e) = &s.fail_latest {
            return Err(e.clone());
        }
        if s.refuses(row.row()) {
            return Err(invalid("dynamodb", "PutItem"));
        }
        let stored = s.items.get(&key).and_then(Version::stored);
        let written = if row.version().replaces(stored.as_ref()) {
            s.store(row.into_row());
            Written::Replaced
        } else {
            Written::Stale
        };
        s.latest_writes.push((key, written));
        Ok(written)
    }
    /// The condition DynamoDB applies, applied by comparing.
    async fn put_if_revision(&self, row: Row, expected: Option<i64>) -> Result<Swapped, AwsError> {
        let mut s = self.lock();
        let key = (row.pk.clone(), row.sk.clone());
        s.swaps += 1;
        if let Some(e) = &s.fail_latest {
            return Err(e.clone());
        }
        if s.interfere > 0 {
            // Another writer got there first.
            s.interfere -= 1;
            return Ok(Swapped::Conflict);
        }
        let stored = s
            .items
            .get(&key)
            .and_then(|i| i.get(REVISION_ATTRIBUTE))
            .and_then(Value::as_i64);
        if stored != expected {
            return Ok(Swapped::Conflict);
        }
        s.store(row);
        Ok(Swapped::Done)
    }
    async fn get_many(&self, keys: &[ItemKey]) -> Result<HashMap<ItemKey, Item>, AwsError> {
        let mut s = self.lock();
        s.reads += 1;
        if let Some(e) = &s.fail_reads {
            return Err(e.clone());
        }
        Ok(keys
            .iter()
            .filter_map(|k| Some((k.clone(), s.items.get(k)?.clone())))
            .collect())
    }
    async fn query_partition(&self, pk: &str) -> Result<Vec<Item>, AwsError> {
        let mut s = self.lock();
        s.reads += 1;
        if let Some(e) = &s.fail_reads {
            return Err(e.clone());
        }
        Ok(s.items
            .iter()
            .filter(|((p, _), _)| p == pk)
            .map(|(_, item)| item.clone())
            .collect())
    }
}

#[derive(Debug, Default)]
pub struct Events {
    pub records: Vec<Record>,
    pub requests: usize,
    pub fail: Option<AwsError>,
}

impl EventStream for Shared<Events> {
    async fn put_records(&self, records: Vec<Record>) -> Result<(), AwsError> {
        let mut s = self.lock();
        s.requests += 1;
        if let Some(e) = &s.fail {
            return Err(e.clone());
        }
        s.records.extend(records);
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct DeadLetters {
    /// Body and attributes of each entry.
    pub sent: Vec<(String, HashMap<String, String>)>,
    pub fail: Option<AwsError>,
}

impl DeadLetterQueue for Shared<DeadLetters> {
    async fn send(&self, body: String, attributes: &[(&str, String)]) -> Result<(), AwsError> {
        let mut s = self.lock();
        if let Some(e) = &s.fail {
            return Err(e.clone());
        }
        let attributes = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        s.sent.push((body, attributes));
        Ok(())
    }
}

/// What the stand-in Upload API answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Takes every record.
    Accept,
    /// Fails the request.
    Fail(UploadError),
    /// Takes all but the record at this position (0-based), refused with this code.
    Refuse { position: usize, code: i64 },
}

#[derive(Debug, Default)]
pub struct Upload {
    /// Records accepted, with their account.
    pub accepted: Vec<(String, Value)>,
    /// Requests, with the number of records in each.
    pub requests: Vec<usize>,
    /// Answers for the next requests; `Accept` once they run out.
    pub script: VecDeque<Answer>,
}

impl Uploader for Shared<Upload> {
    async fn send(&self, account: &str, records: &[&Value]) -> Result<UploadResponse, UploadError> {
        let mut s = self.lock();
        s.requests.push(records.len());
        let answer = s.script.pop_front().unwrap_or(Answer::Accept);
        let refused = match answer {
            Answer::Fail(e) => return Err(e),
            Answer::Accept => None,
            Answer::Refuse { position, code } => Some((position, code)),
        };
        let mut unprocessed = Vec::new();
        for (i, r) in records.iter().enumerate() {
            match refused {
                Some((position, code)) if position == i => unprocessed.push(Unprocessed {
                    status: Some("fail".into()),
                    code: Some(code),
                    error: Some(format!("refused. Skipped record number : {}", i + 1)),
                    record: Some(Value::String(r.to_string())),
                }),
                _ => s.accepted.push((account.to_owned(), (*r).clone())),
            }
        }
        Ok(UploadResponse {
            status: Some("success".into()),
            processed: Some((records.len() - unprocessed.len()) as u64),
            unprocessed,
        })
    }
    fn timeout(&self) -> Duration {
        Duration::from_millis(10)
    }
}
