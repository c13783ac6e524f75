//! Kinesis: geofence events, one JSON record each, partitioned by user.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use hookloop_domain::GeofenceEvent;

use crate::error::FromSdk;
use crate::retry::{resend_partial_failures, Backoff};
use crate::AwsError;

/// Records per `PutRecords` request.
pub const MAX_PUT_RECORDS: usize = 500;
/// Bytes (data plus partition keys) per `PutRecords` request.
pub const MAX_PUT_RECORDS_BYTES: usize = 5 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Stream {
    client: aws_sdk_kinesis::Client,
    name: String,
    backoff: Backoff,
}

/// Splits entries into requests that respect both the record and the byte limit.
pub fn chunk_by_limits(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        if i > start && (i - start == MAX_PUT_RECORDS || bytes + size > MAX_PUT_RECORDS_BYTES) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// A record ready for `PutRecords`: a geofence event's JSON and its partition key, encoded
/// once, so the caller can size its requests from the same bytes that are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub data: Vec<u8>,
    pub partition_key: String,
}

impl Record {
    pub fn from_event(event: &GeofenceEvent) -> Self {
        Record {
            data: event.to_json_bytes(),
            partition_key: event.partition_key().to_owned(),
        }
    }

    /// What the record counts against the request's byte limit (data plus partition key).
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

impl Stream {
    pub fn new(client: aws_sdk_kinesis::Client, name: impl Into<String>) -> Self {
        Stream {
            client,
            name: name.into(),
            backoff: Backoff::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Puts records with `PutRecords`, as many per request as the limits allow, re-sending the
    /// entries that failed (a 200 answer can still carry per-record failures). Entries still
    /// failing after the last attempt are a retryable failure.
    pub async fn put_records(&self, records: Vec<Record>) -> Result<(), AwsError> {
        let sizes: Vec<usize> = records.iter().map(Record::size).collect();
        let mut records = records.into_iter();
        for range in chunk_by_limits(&sizes) {
            let pending: Vec<PutRecordsRequestEntry> = records
                .by_ref()
                .take(range.len())
                .map(|r| {
                    PutRecordsRequestEntry::builder()
                        .data(Blob::new(r.data))
                        .partition_key(r.partition_key)
                        .build()
                        .map_err(|e| {
                            AwsError::local(
                                "kinesis",
                                "PutRecords",
                                "BuildEntry",
                                e.to_string(),
                                false,
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            let last_error = std::sync::Mutex::new(String::new());
            let sent = resend_partial_failures(&self.backoff, pending, |batch| {
                let last_error = &last_error;
                async move {
                    let out = self
                        .client
                        .put_records()
                        .stream_name(&self.name)
                        .set_records(Some(batch.clone()))
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("kinesis", "PutRecords", e))?;
                    if out.failed_record_count().unwrap_or(0) == 0 {
                        return Ok(Vec::new());
                    }
                    // Results come back in request order; failed ones carry an error code.
                    Ok(batch
                        .into_iter()
                        .zip(out.records())
                        .filter_map(|(entry, result)| {
                            let code = result.error_code()?;
                            if let Ok(mut last) = last_error.lock() {
                                *last = format!(
                                    "{code}: {}",
                                    result.error_message().unwrap_or_default()
                                );
                            }
                            Some(entry)
                        })
                        .collect())
                }
            })
            .await;
            let last = last_error.lock().map(|l| l.clone()).unwrap_or_default();
            sent.map_err(|u| {
                u.into_error("kinesis", "PutRecords", "FailedRecords", "records", &last)
            })?;
        }
        Ok(())
    }
}

/// A record read back from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
}

impl Stream {
    /// Reads every record currently in the stream, from the oldest (for tracing and tests;
    /// consumers use the Kinesis Client Library or Lambda).
    pub async fn read_all(&self) -> Result<Vec<StoredRecord>, AwsError> {
        use aws_sdk_kinesis::types::ShardIteratorType;
        let shards = self
            .client
            .list_shards()
            .stream_name(&self.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("kinesis", "ListShards", e))?;
        let mut out = Vec::new();
        for shard in shards.shards() {
            let mut iterator = self
                .client
                .get_shard_iterator()
                .stream_name(&self.name)
                .shard_id(shard.shard_id())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("kinesis", "GetShardIterator", e))?
                .shard_iterator;
            while let Some(it) = iterator {
                let page = self
                    .client
                    .get_records()
                    .shard_iterator(it)
                    .limit(10_000)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("kinesis", "GetRecords", e))?;
                let records = page.records();
                out.extend(records.iter().map(|r| StoredRecord {
                    shard_id: shard.shard_id().to_owned(),
                    sequence_number: r.sequence_number().to_owned(),
                    partition_key: r.partition_key().unwrap_or_default().to_owned(),
                    data: r.data().as_ref().to_vec(),
                }));
                // An open shard always has a next iterator; an empty page means caught up.
                iterator = if records.is_empty() {
                    None
                } else {
                    page.next_shard_iterator
                };
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_record_count_and_bytes() {
        assert!(chunk_by_limits(&[]).is_empty());
        assert_eq!(
            chunk_by_limits(&[10; 1001]),
            vec![0..500, 500..1000, 1000..1001]
        );
        let mib = 1024 * 1024;
        assert_eq!(chunk_by_limits(&[mib; 6]), vec![0..5, 5..6]);
        assert_eq!(chunk_by_limits(&[3 * mib, 3 * mib, 10]), vec![0..1, 1..3]);
    }
}
