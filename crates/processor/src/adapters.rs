//! The AWS adapters behind the processor's ports: each port method is one call of the adapter
//! in `hookloop_aws` (or `hookloop_clevertap`) that already does the service's batching, retries
//! and error mapping.

use std::collections::HashMap;
use std::time::Duration;

use hookloop_aws::dedup::Claims;
use hookloop_aws::dynamodb::{Swapped, Table};
use hookloop_aws::kinesis::{Record, Stream};
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsError;
use hookloop_clevertap::{UploadClient, UploadError, UploadResponse};
use hookloop_domain::{LatestRow, Row, Written};
use serde_json::Value;

use crate::ports::*;

/// The functions' ports: S3, DynamoDB, Kinesis, SQS and CleverTap.
#[derive(Debug, Clone, Copy)]
pub struct Aws;

impl Ports for Aws {
    type Objects = RawArchive;
    type Rows = Table;
    type Events = Stream;
    type Ledger = Claims;
    type DeadLetters = Queue;
    type Upload = UploadClient;
}

impl RowStore for Table {
    async fn put_rows(&self, rows: Vec<Row>) -> Result<(), AwsError> {
        Table::put_rows(self, rows).await
    }
    async fn put_latest(&self, row: LatestRow) -> Result<Written, AwsError> {
        Table::put_latest(self, row).await
    }
    async fn put_if_revision(&self, row: Row, expected: Option<i64>) -> Result<Swapped, AwsError> {
        Table::put_if_revision(self, row, expected).await
    }
    async fn get_many(&self, keys: &[ItemKey]) -> Result<HashMap<ItemKey, Item>, AwsError> {
        Table::get_many(self, keys).await
    }
    async fn query_partition(&self, pk: &str) -> Result<Vec<Item>, AwsError> {
        Table::query_partition(self, pk).await
    }
}

impl EventStream for Stream {
    async fn put_records(&self, records: Vec<Record>) -> Result<(), AwsError> {
        Stream::put_records(self, records).await
    }
}

impl DeadLetterQueue for Queue {
    async fn send(&self, body: String, attributes: &[(&str, String)]) -> Result<(), AwsError> {
        Queue::send(self, body, attributes).await.map(|_| ())
    }
}

impl Uploader for UploadClient {
    async fn send(&self, account: &str, records: &[&Value]) -> Result<UploadResponse, UploadError> {
        UploadClient::send(self, account, records).await
    }
    fn timeout(&self) -> Duration {
        UploadClient::timeout(self)
    }
}
