//! Names of the message attributes on queue and DLQ messages. The ingest sets the first two on
//! every message; the processor copies them to a dead-lettered one and adds why it failed;
//! `hookloop dlq` reads them all.

/// The webhook's source (`location`, `clevertap.webhook`, ...).
pub const SOURCE: &str = "source";
/// The hookloop message id the sender was told.
pub const MESSAGE_ID: &str = "message_id";
/// The stage that failed: `parse`, `geofence`, `store`, `stream`, `clevertap`.
pub const STAGE: &str = "stage";
/// The failure's code (`payload_invalid`, `dynamodb.BatchWriteItem:ValidationException`, ...).
pub const ERROR_CODE: &str = "error_code";
/// The failure in words.
pub const ERROR: &str = "error";
/// The receive on which the message was dead-lettered.
pub const ATTEMPTS: &str = "attempts";
/// When it was dead-lettered (RFC 3339).
pub const FAILED_AT: &str = "failed_at";

/// The attributes the ingest sets: a DLQ entry keeps them, a redrive restores them.
pub const SET_BY_INGEST: [&str; 2] = [SOURCE, MESSAGE_ID];

/// The webhook's trace context, W3C form (`00-<trace id>-<span id>-<flags>`): set by the ingest
/// on every message, read first by the processor (docs/observability.md).
pub const TRACEPARENT: &str = "traceparent";
/// The same context in X-Ray's form, as SQS's message *system* attribute (not a message
/// attribute): read by the processor when there is no `traceparent`.
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";
