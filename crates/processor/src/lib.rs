//! The processor function: an SQS batch in, every message stored (raw archive, rows, geofence
//! stream) or dead-lettered with its reason, and an `SqsBatchResponse` naming only the messages
//! worth another delivery.
//!
//! [`handle`] is the whole behaviour; the Lambda (`main.rs`) and the local runner's SQS poller
//! (`hookloop serve`) both call it.

mod config;
mod dead_letter;
mod handler;
mod loadback;
mod store;

pub use config::{ArchiveMode, LoadbackConfig, ProcessorConfig, DEFAULT_MAX_RECEIVE_COUNT};
pub use dead_letter::{
    DeadLetter, Stage, ATTR_ATTEMPTS, ATTR_ERROR, ATTR_ERROR_CODE, ATTR_FAILED_AT, ATTR_STAGE,
};
pub use handler::{deadline_from, handle, Outcome, Processor};
pub use hookloop_aws::config::ConfigError;
pub use loadback::{marker_key, Loadback, Loaded, MARKER_PK_PREFIX, MARKER_SK, TTL_ATTRIBUTE};
pub use store::{Batching, StoreResult, MAX_CONCURRENT_REQUESTS};
