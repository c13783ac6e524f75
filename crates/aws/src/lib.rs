//! AWS adapters: one client factory ([`clients::AwsClients`]), one module per service, one
//! retry policy ([`retry`]) and one error type ([`AwsError`]) that says whether a failure is
//! worth retrying. Service limits are named constants in the module of their service.

pub mod clients;
pub mod config;
pub mod dedup;
pub mod dynamodb;
mod error;
pub mod kinesis;
pub mod provision;
pub mod requests;
pub mod retry;
pub mod s3;
pub mod signing_ids;
pub mod sqs;
pub mod telemetry;

pub use clients::AwsClients;
pub use error::{AwsError, Failure};
