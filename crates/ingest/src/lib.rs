//! The ingest function: authenticate, validate, queue, answer.
//!
//! [`handle`] is the whole behaviour, over plain `http` types, so the Lambda (`main.rs`, through
//! [`handle_lambda`]) and the local runner (`hookloop serve`) run the same code.

mod admission;
mod app;
mod auth;
mod config;
mod handler;
mod lambda;
mod queue;
mod rejection;
mod routes;

pub use app::Ingest;
pub use auth::{ledger, Auth, AuthFailure, BasicCredential, Scheme, Secret};
pub use config::{
    route_auth_var, IngestConfig, DEFAULT_CLAIM_CHECK_BYTES, DEFAULT_DEDUP_WINDOW_HOURS,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_QUEUE_SEND_TIMEOUT, MAX_INGEST_BODY_BYTES, SECRET_KEYS,
};
pub use handler::{handle, handle_counted};
pub use hookloop_domain::claim_check::ClaimCheck;
pub use hookloop_runtime::config::ConfigError;
pub use lambda::{handle_lambda, invocation_span, sender_trace};
pub use queue::{traced, MessageQueue, OutgoingMessage, QueueError, TRACE_CONTEXT_BYTES};
pub use rejection::{loggable, Rejection};
pub use routes::Gate;
