//! The metric contract: every name and dimension the functions publish (namespace
//! [`super::METRICS_NAMESPACE`]). The template's alarms and dashboard and the docs refer to
//! these exact strings; `tests/infra` checks that every metric the template names is here.
//!
//! Every business metric is published with the dimension set `[Stack, Function]`; a metric that
//! is about one source, stage, status, code or kind is also published, in the same line, with
//! `[Stack, Function, <that dimension>]`. `Stack` is `STACK_NAME` (`local` when unset),
//! `Function` is [`INGEST`] or [`PROCESSOR`]; the compactor ([`COMPACTOR`]) publishes only its
//! request counts (`Requests.s3.*`).

/// Dimension: the stack (`STACK_NAME`), so two stacks in one account keep their series apart.
pub const STACK: &str = "Stack";
/// Dimension: the function, [`INGEST`], [`PROCESSOR`] or [`COMPACTOR`].
pub const FUNCTION: &str = "Function";
/// Dimension: the webhook's source (`clevertap.webhook`, `clevertap.export_status`, `location`).
pub const SOURCE: &str = "Source";
/// Dimension: the processor stage a message was dead-lettered at (`parse`, `store`, `stream`,
/// `clevertap`).
pub const STAGE: &str = "Stage";
/// Dimension: the HTTP status of a rejected webhook (`401`, `413`, ...).
pub const STATUS: &str = "Status";
/// Dimension: CleverTap's error code for a refused record.
pub const CODE: &str = "Code";
/// Dimension: the kind of a latest-state row (`trip`, `user`: its `kind` attribute).
pub const KIND: &str = "Kind";

/// `Stack` when `STACK_NAME` is unset (local runs).
pub const LOCAL_STACK: &str = "local";

/// `Function` of the ingest.
pub const INGEST: &str = "ingest";
/// `Function` of the processor.
pub const PROCESSOR: &str = "processor";
/// `Function` of the scheduled compaction (request counts only).
pub const COMPACTOR: &str = "compactor";

/// Ingest: webhooks queued (answered 200), by `Source`.
pub const ACCEPTED: &str = "Accepted";
/// Ingest: webhooks refused, by `Status`.
pub const REJECTED: &str = "Rejected";
/// Webhooks recognised as already seen and not processed again.
pub const DUPLICATES: &str = "Duplicates";
/// Processor: messages whose every store has them, by `Source`.
pub const STORED: &str = "Stored";
/// Processor: messages sent to the dead-letter queue, by `Stage`.
pub const DEAD_LETTERED: &str = "DeadLettered";
/// Processor: records CleverTap accepted.
pub const LOADED_BACK: &str = "LoadedBack";
/// Processor: records CleverTap refused, by `Code`.
pub const LOAD_BACK_REFUSED: &str = "LoadBackRefused";
/// Processor: milliseconds from arrival at the ingest to stored, one value per message.
pub const END_TO_END_LAG_MS: &str = "EndToEndLagMs";
/// Processor: SQS records in one invocation.
pub const BATCH_SIZE: &str = "BatchSize";
/// 1 on the first invocation of a process.
pub const COLD_START: &str = "ColdStart";
/// Processor: a load-back document that does not check out (counted at every check).
pub const LOADBACK_CONFIG_REJECTED: &str = "LoadbackConfigRejected";
/// Processor: latest-state rows not written because the table held a newer version (the
/// conditional write was refused; the message is stored all the same), by `Kind`.
pub const STALE_UPDATES: &str = "StaleUpdates";
/// Location points flagged as anomalous (processor), by `Kind` (`impossible_speed`,
/// `geofence_flapping`): one per flagged point of a stored message.
pub const ANOMALIES: &str = "Anomalies";
/// Processor (scheduled export check): exports newly found overdue or missed, by `Kind`
/// (`overdue`, `missed`): one per export and run, however often the check runs.
pub const EXPORT_ALERTS: &str = "ExportAlerts";
/// Prefix of the request counts: `Requests.<service>.<Operation>`.
pub const REQUESTS_PREFIX: &str = "Requests.";

/// Every business metric name, for checks of the template and docs.
pub const ALL: &[&str] = &[
    ACCEPTED,
    REJECTED,
    DUPLICATES,
    STORED,
    DEAD_LETTERED,
    LOADED_BACK,
    LOAD_BACK_REFUSED,
    END_TO_END_LAG_MS,
    BATCH_SIZE,
    COLD_START,
    LOADBACK_CONFIG_REJECTED,
    STALE_UPDATES,
    ANOMALIES,
    EXPORT_ALERTS,
];
