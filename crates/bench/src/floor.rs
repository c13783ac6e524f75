//! The floor: the fewest requests the service limits allow for the batches a run formed, by
//! `service:Operation`, computed from the messages themselves (their rows, geofence events and
//! CleverTap records, by the same domain code and rules the processor uses), and the units
//! DynamoDB and Kinesis bill by item.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use hookloop_aws::dynamodb::{MAX_BATCH_GET_KEYS, MAX_BATCH_WRITE_ITEMS};
use hookloop_aws::kinesis::MAX_PUT_RECORDS;
use hookloop_aws::sqs::MAX_BATCH_ENTRIES;
use hookloop_clevertap::{Accounts, Rules, MAX_RECORDS_PER_REQUEST};
use hookloop_domain::{parse_webhook, Envelope, Normalized};
use hookloop_tests::example_rules;

#[derive(Debug, Clone, Default)]
pub struct Units {
    pub dynamodb_writes: u64,
    pub dynamodb_reads: u64,
    pub kinesis_records: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Floor {
    pub requests: BTreeMap<String, u64>,
    pub units: Units,
}

fn div_ceil(n: usize, d: usize) -> u64 {
    n.div_ceil(d) as u64
}

pub fn floor(batches: &[Vec<Envelope>]) -> Floor {
    let accounts = Accounts::single(
        "ACC".into(),
        "passcode".into(),
        None,
        Some("http://127.0.0.1:1"),
        3,
    )
    .expect("account");
    let rules = Rules::load(&example_rules(), &accounts).expect("example rules");
    let mut f = Floor::default();
    let mut add = |k: &str, n: u64| *f.requests.entry(k.to_owned()).or_insert(0) += n;
    let mut units = Units::default();
    for batch in batches {
        let n = batch.len();
        // Ingest: one SendMessage and one claim per webhook (each is answered on its own).
        add("sqs:SendMessage", n as u64);
        add("dynamodb:PutItem", n as u64);
        // The event source: 10 messages per receive and per delete.
        add("sqs:ReceiveMessage", div_ceil(n, MAX_BATCH_ENTRIES));
        add("sqs:DeleteMessageBatch", div_ceil(n, MAX_BATCH_ENTRIES));

        let mut keys = HashSet::new();
        let mut rows = HashSet::new();
        let mut events = 0;
        let mut sources = BTreeSet::new();
        let mut with_records = 0;
        let mut records: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
        for e in batch {
            let webhook = parse_webhook(e.source(), e.body().as_bytes()).expect("corpus parses");
            let normalized = Normalized::from_webhook(&webhook, e);
            // The processor reads the claim of every key the ingest did not hold when it queued
            // the message: all of them, since the ingest claims after the send.
            if !e.claimed() {
                keys.extend(e.dedup_key().map(str::to_owned));
            }
            rows.extend(normalized.rows.iter().map(|r| (r.pk.clone(), r.sk.clone())));
            events += normalized.geofence_events.len();
            sources.insert(e.source().as_str());
            let items: Vec<_> = normalized.rows.iter().map(|r| &r.attrs).collect();
            let planned = rules.records(e.source(), &items).expect("records");
            if !planned.is_empty() {
                with_records += 1;
            }
            for p in planned {
                *records
                    .entry((p.account, p.record.record_type().as_str()))
                    .or_insert(0) += 1;
            }
        }
        // Deduplication check of the batch's keys and load-back markers: one read per 100 keys
        // each.
        add(
            "dynamodb:BatchGetItem",
            div_ceil(keys.len(), MAX_BATCH_GET_KEYS) + div_ceil(with_records, MAX_BATCH_GET_KEYS),
        );
        add(
            "dynamodb:BatchWriteItem",
            div_ceil(rows.len(), MAX_BATCH_WRITE_ITEMS)
                + div_ceil(with_records, MAX_BATCH_WRITE_ITEMS),
        );
        add("kinesis:PutRecords", div_ceil(events, MAX_PUT_RECORDS));
        // The raw archive: one object per batch and source.
        add("s3:PutObject", sources.len() as u64);
        add(
            "clevertap:upload",
            records
                .values()
                .map(|r| div_ceil(*r, MAX_RECORDS_PER_REQUEST))
                .sum(),
        );
        units.dynamodb_writes += (n + rows.len() + with_records) as u64;
        units.dynamodb_reads += (keys.len() + with_records) as u64;
        units.kinesis_records += events as u64;
    }
    f.units = units;
    f
}
