//! The comparison the batching figures are measured against: the same processor on AWS, but
//! every row and every stream record in a request of its own. It lives here, with the tests and
//! the benchmark that use it, not in the processor: a port wrapper around the real adapters.

use std::collections::HashMap;

use hookloop_aws::dedup::Claims;
use hookloop_aws::dynamodb::{Swapped, Table};
use hookloop_aws::kinesis::{Record, Stream};
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsError;
use hookloop_clevertap::UploadClient;
use hookloop_domain::{LatestRow, Row, Written};
use hookloop_processor::ports::{EventStream, Item, ItemKey, Ports, RowStore};

/// A store that sends what it is given one item per request.
#[derive(Debug, Clone)]
pub struct OneItemPerRequest<S>(pub S);

impl<S: RowStore> RowStore for OneItemPerRequest<S> {
    async fn put_rows(&self, rows: Vec<Row>) -> Result<(), AwsError> {
        for row in rows {
            self.0.put_rows(vec![row]).await?;
        }
        Ok(())
    }
    async fn put_latest(&self, row: LatestRow) -> Result<Written, AwsError> {
        self.0.put_latest(row).await
    }
    async fn put_if_revision(&self, row: Row, expected: Option<i64>) -> Result<Swapped, AwsError> {
        self.0.put_if_revision(row, expected).await
    }
    async fn get_many(&self, keys: &[ItemKey]) -> Result<HashMap<ItemKey, Item>, AwsError> {
        self.0.get_many(keys).await
    }
    async fn query_partition(&self, pk: &str) -> Result<Vec<Item>, AwsError> {
        self.0.query_partition(pk).await
    }
}

impl<S: EventStream> EventStream for OneItemPerRequest<S> {
    async fn put_records(&self, records: Vec<Record>) -> Result<(), AwsError> {
        for record in records {
            self.0.put_records(vec![record]).await?;
        }
        Ok(())
    }
}

/// The AWS ports with rows and records one per request.
pub struct Naive;

impl Ports for Naive {
    type Objects = RawArchive;
    type Rows = OneItemPerRequest<Table>;
    type Events = OneItemPerRequest<Stream>;
    type Ledger = Claims;
    type DeadLetters = Queue;
    type Upload = UploadClient;
}
