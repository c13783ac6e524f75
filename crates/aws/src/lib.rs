//! AWS adapters, and nothing else: one client factory ([`clients::AwsClients`]) whose clients
//! count their requests ([`requests`]) in the registry they are given, one module per service,
//! the re-sending of batch calls' partial failures ([`retry`]) and one error type ([`AwsError`])
//! that says whether a failure is worth retrying. Service limits are named constants in the
//! module of their service. Configuration, logging, request metrics and the backoff are the
//! process runtime's (`hookloop-runtime`); creating the resources is the CLI's
//! (`hookloop_cli::provision`).

pub mod clients;
pub mod dedup;
pub mod dynamodb;
mod error;
pub mod kinesis;
#[cfg(feature = "stack")]
pub mod lambda;
pub mod requests;
pub mod retry;
pub mod s3;
pub mod secrets;
pub mod signing_ids;
pub mod sqs;
#[cfg(feature = "stack")]
pub mod stack;
pub mod trust;

pub use clients::AwsClients;
pub use error::{AwsError, Failure, FromSdk};
