//! What the processor needs from the world, as small traits it owns. The AWS adapters
//! ([`crate::adapters`]) implement them for the functions; the in-memory adapters
//! (`crate::memory`, tests only) implement them for the unit tests of the processor's decisions.
//! Every store call fails with an [`AwsError`]: plain data saying which call failed, why, and
//! whether trying again can help.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use hookloop_aws::dynamodb::Swapped;
use hookloop_aws::kinesis::Record;
use hookloop_aws::AwsError;
use hookloop_clevertap::{UploadError, UploadResponse};
use hookloop_domain::{LatestRow, Row, Written};
use serde_json::{Map, Value};

/// A table item's key: partition and sort key.
pub type ItemKey = (String, String);
/// A table item read back, as JSON.
pub type Item = Map<String, Value>;

/// Objects by key (the raw archive, claim-checked bodies) and the deduplication ledger: ports
/// the ingest uses too, so the domain owns them.
pub use hookloop_domain::claim_check::ObjectStore;
pub use hookloop_domain::dedup::DedupLedger;

/// Rows and markers (DynamoDB).
pub trait RowStore: Send + Sync {
    /// Writes `rows` in one request's worth or more; all of them or an error.
    fn put_rows(&self, rows: Vec<Row>) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Writes one latest-state row unless the store holds a newer version of it
    /// ([`hookloop_domain::Version::replaces`]): [`Written::Stale`] then, not an error.
    fn put_latest(&self, row: LatestRow) -> impl Future<Output = Result<Written, AwsError>> + Send;
    /// Writes `row` only if the item's `revision` attribute is still `expected` (`None`: no such
    /// item), so a read-modify-write of one item cannot lose another's update:
    /// [`Swapped::Conflict`] when the item changed since it was read, not an error.
    fn put_if_revision(
        &self,
        row: Row,
        expected: Option<i64>,
    ) -> impl Future<Output = Result<Swapped, AwsError>> + Send;
    /// Every item of partition `pk`, in sort key order (small partitions: the export directory).
    fn query_partition(&self, pk: &str)
        -> impl Future<Output = Result<Vec<Item>, AwsError>> + Send;
    /// Reads items by key; what is found, by key.
    fn get_many(
        &self,
        keys: &[ItemKey],
    ) -> impl Future<Output = Result<HashMap<ItemKey, Item>, AwsError>> + Send;
}

/// Geofence events (Kinesis).
pub trait EventStream: Send + Sync {
    /// Puts `records`, all of them or an error.
    fn put_records(
        &self,
        records: Vec<Record>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// The dead-letter queue: a failed message's body with attributes saying why.
pub trait DeadLetterQueue: Send + Sync {
    fn send(
        &self,
        body: String,
        attributes: &[(&str, String)],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// CleverTap's Upload API: one request, once; retries are the caller's.
pub trait Uploader: Send + Sync {
    fn send(
        &self,
        account: &str,
        records: &[&Value],
    ) -> impl Future<Output = Result<UploadResponse, UploadError>> + Send;
    /// The time one request may take.
    fn timeout(&self) -> Duration;
}

/// One implementation of every port: [`crate::Aws`] in the functions.
pub trait Ports: Send + Sync + 'static {
    type Objects: ObjectStore;
    type Rows: RowStore;
    type Events: EventStream;
    type Ledger: DedupLedger;
    type DeadLetters: DeadLetterQueue;
    type Upload: Uploader;
}
