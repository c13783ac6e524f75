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
        let mut latest = HashSet::new();
        let mut events = 0;
        let mut sources = BTreeSet::new();
        let mut with_records = 0;
        // Export tracking: the batch's exports (every alert in the corpus is a new export, so
        // each gets a directory item and its summary's first write).
        let mut exports = BTreeSet::new();
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
            // Latest-state rows: one conditional PutItem per row and batch, however many
            // messages of the batch update it.
            latest.extend(normalized.latest.iter().map(|r| {
                let (pk, sk) = r.key();
                (pk.to_owned(), sk.to_owned())
            }));
            events += normalized.geofence_events.len();
            if let hookloop_domain::Webhook::ExportStatus(a) = &webhook {
                exports.insert(a.export_request_id.clone());
            }
            sources.insert(e.source().as_str());
            let items: Vec<_> = normalized.all_rows().map(|r| &r.attrs).collect();
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
        // And the export summaries: one read per 100 exports.
        add(
            "dynamodb:BatchGetItem",
            div_ceil(keys.len(), MAX_BATCH_GET_KEYS)
                + div_ceil(with_records, MAX_BATCH_GET_KEYS)
                + div_ceil(exports.len(), MAX_BATCH_GET_KEYS),
        );
        // And the new exports' directory items, in one request of their own (before the
        // summaries are written, which is before the rows are).
        add(
            "dynamodb:BatchWriteItem",
            div_ceil(rows.len(), MAX_BATCH_WRITE_ITEMS)
                + div_ceil(with_records, MAX_BATCH_WRITE_ITEMS)
                + div_ceil(exports.len(), MAX_BATCH_WRITE_ITEMS),
        );
        // Latest-state rows and export summaries: one conditional write each.
        add("dynamodb:PutItem", (latest.len() + exports.len()) as u64);
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
        // A conditional write the table refuses consumes its write units all the same.
        units.dynamodb_writes +=
            (n + rows.len() + latest.len() + with_records + 2 * exports.len()) as u64;
        units.dynamodb_reads += (keys.len() + with_records + exports.len()) as u64;
        units.kinesis_records += events as u64;
    }
    f.units = units;
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookloop_domain::Source;
    use time::OffsetDateTime;

    fn trip_update(minute: u32) -> Envelope {
        let body = format!(
            r#"{{"trip":{{"trip_id":"t1","updated_at":"2024-05-01T12:{minute:02}:00Z"}}}}"#
        );
        Envelope::received(Source::Location, body, OffsetDateTime::now_utc())
    }

    #[test]
    fn latest_state_rows_cost_one_put_item_per_row_and_batch() {
        // Three updates of one trip in one batch: three ingest claims and one conditional
        // write of the trip's row; no BatchWriteItem carries it.
        let one = floor(&[vec![trip_update(1), trip_update(3), trip_update(2)]]);
        assert_eq!(one.requests["dynamodb:PutItem"], 3 + 1);
        let batch_writes = one.requests.get("dynamodb:BatchWriteItem").copied();
        assert!(batch_writes.unwrap_or(0) <= 1, "load-back markers at most");
        // The same updates in two batches: the row is written once in each.
        let two = floor(&[vec![trip_update(1), trip_update(3)], vec![trip_update(2)]]);
        assert_eq!(two.requests["dynamodb:PutItem"], 3 + 2);
        assert_eq!(
            two.units.dynamodb_writes - one.units.dynamodb_writes,
            1,
            "a refused conditional write still consumes its write unit"
        );
    }
}
