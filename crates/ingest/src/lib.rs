//! The ingest function: authenticate, validate, queue, answer.
//!
//! [`handle`] is the whole behaviour, over plain `http` types, so the Lambda (`main.rs`, through
//! [`handle_lambda`]) and the local runner (`hookloop serve`) run the same code.

mod admission;
mod auth;
mod config;
mod handler;
mod queue;
mod rejection;

pub use admission::ClaimCheck;
pub use auth::{ledger, Auth, AuthFailure, BasicCredential, Scheme, Secret};
pub use config::{
    route_auth_var, IngestConfig, DEFAULT_CLAIM_CHECK_BYTES, DEFAULT_DEDUP_WINDOW_HOURS,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_QUEUE_SEND_TIMEOUT, MAX_INGEST_BODY_BYTES,
};
pub use handler::{handle, handle_lambda, Gate, Ingest};
pub use hookloop_aws::config::ConfigError;
pub use queue::{MessageQueue, OutgoingMessage, QueueError};
pub use rejection::{loggable, Rejection};
