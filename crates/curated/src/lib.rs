//! The curated Parquet layer: `curated/<table>/dt=YYYY-MM-DD/HH.parquet`, typed tables of what
//! the processor stores, one file per table and raw arrival hour, kept up to date by a
//! scheduled compaction that takes late data into account (docs/analytics.md).
//!
//! The core is pure: raw webhooks of an hour ([`rows_of_hour`], through the processor's own
//! parsing and normalising code) to Arrow record batches ([`record_batch`]) to Parquet bytes
//! ([`parquet_bytes`]); [`Compactor`] drives it over a [`Bucket`] port, which the raw archive's
//! S3 adapter implements. `hookloop compact` and a scheduled Lambda both call
//! [`Compactor::compact_due`] (or `compact_hour`, `compact_all`).

mod batch;
mod compact;
mod hour;
mod manifest;
mod rows;
mod s3;
pub mod tables;
#[cfg(test)]
mod tests;

pub use batch::{parquet_bytes, record_batch};
pub use compact::{Bucket, Compactor, HourReport, RunReport, Settings};
pub use hour::{Hour, InvalidHour};
pub use manifest::{
    curated_key, fingerprint, manifest_key, DayManifest, HourEntry, Object, CURATED_PREFIX,
    FORMAT_VERSION, MANIFESTS_PREFIX,
};
pub use rows::{rows_of_hour, HourRows, RawWebhook};
pub use tables::Table;

use hookloop_domain::exports::ExportZone;
use hookloop_domain::ServiceError;
use hookloop_runtime::config::{ConfigError, Env};

/// Why a compaction failed; each names what to look at.
#[derive(Debug, thiserror::Error)]
pub enum CuratedError {
    #[error(transparent)]
    Store(#[from] ServiceError),
    #[error("{key}: not a raw archive object ({reason})")]
    NotRaw { key: String, reason: String },
    #[error("{key}: unreadable manifest ({source})")]
    Manifest {
        key: String,
        source: serde_json::Error,
    },
    #[error("table {table}: row of message {message_id} has no {column}")]
    MissingColumn {
        table: &'static str,
        column: &'static str,
        message_id: String,
    },
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// [`Settings`] from the environment: `COMPACT_LOOKBACK_HOURS` (1..=8784, default 360) and
/// `COMPACT_MAX_HOURS` (1..=8784, default 48).
pub fn settings_from_env<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Settings, ConfigError> {
    let d = Settings::default();
    Ok(Settings {
        lookback_hours: env.number("COMPACT_LOOKBACK_HOURS", 1..=8784, d.lookback_hours)?,
        max_hours: env.number("COMPACT_MAX_HOURS", 1..=8784, d.max_hours)?,
        export_zone: match env.optional("EXPORT_TIMEZONE") {
            None => ExportZone::default(),
            Some(name) => ExportZone::parse(&name).map_err(|reason| ConfigError::Invalid {
                var: "EXPORT_TIMEZONE",
                reason,
            })?,
        },
        ..d
    })
}
