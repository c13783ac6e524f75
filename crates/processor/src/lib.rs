//! The processor function: an SQS batch in, every message stored (raw archive, rows, geofence
//! stream) or dead-lettered with its reason, and an `SqsBatchResponse` naming only the messages
//! worth another delivery.
//!
//! [`handle`] is the whole behaviour; the Lambda (`main.rs`) and the local runner's SQS poller
//! (`hookloop serve`) both call it. It moves the batch through the stages of [`stages`]
//! (decode, dedup, claim check, parse, geofence, write, load back, settle) over one state per message
//! ([`state::State`]); the stages reach the world only through the traits of [`ports`], which
//! [`adapters`] implements for AWS and CleverTap and `memory` for the unit tests. [`app`] is
//! where a [`Processor`] is put together.

pub mod adapters;
pub mod app;
mod bounded;
mod config;
pub mod event;
pub mod exports;
mod failure;
pub mod geofencing;
mod handler;
mod loadback;
mod metrics;
pub mod ports;
mod stages;
mod state;
mod trace;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

pub use adapters::Aws;
pub use app::{Parts, Processor};
pub use bounded::MAX_CONCURRENT_REQUESTS;
pub use config::{ArchiveMode, LoadbackConfig, ProcessorConfig, DEFAULT_MAX_RECEIVE_COUNT};
pub use exports::{check_exports_as, CheckReport, ExportSettings};
pub use failure::{Failure, Stage};
pub use handler::{deadline_from, handle, handle_as};
pub use hookloop_runtime::config::ConfigError;
pub use loadback::{Loadback, Loaded};
pub use stages::settle::{decide, Outcome};
pub use state::Stored;
