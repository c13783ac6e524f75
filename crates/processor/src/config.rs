use std::time::Duration;

use hookloop_clevertap::{Accounts, Rules, DEFAULT_MAX_CONCURRENCY};
use hookloop_runtime::config::{process_env, ConfigError, Env};
use hookloop_runtime::live::CONFIG_DOCUMENT_PERIOD;
use hookloop_runtime::secret::SecretSettings;

use crate::exports::ExportSettings;
use crate::geofencing::{
    AnomalyLimits, GeofenceSource, DEFAULT_FLAP_LIMIT, DEFAULT_FLAP_WINDOW_MINUTES,
    DEFAULT_MAX_SPEED_KMH,
};
use hookloop_domain::exports::{
    ExportLimits, ExportZone, DEFAULT_COMPLETION_HOURS, DEFAULT_GRACE_MINUTES,
};

/// Receives before SQS's redrive policy moves a message to the DLQ; `hookloop init` sets the
/// same number on the queue. On the last receive the processor dead-letters a failing message
/// itself, so the DLQ entry carries its reason.
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorConfig {
    pub raw_bucket: String,
    pub table_name: String,
    pub geofence_stream: String,
    pub dlq_url: String,
    pub max_receive_count: u32,
    /// Load-back configured by the environment (local runs); `None` when no CleverTap account
    /// is configured there.
    pub loadback: Option<LoadbackConfig>,
    /// Load-back configured by the stack's document (`LOADBACK_CONFIG`), re-read at most every
    /// 60 s; the passcodes come from the function's secret (`SECRET_ARN`).
    pub loadback_document: Option<DocumentConfig>,
    /// How long a deduplication claim the processor takes lasts (`DEDUP_WINDOW_HOURS`, the
    /// ingest's setting).
    pub dedup_window: Duration,
    /// `RAW_ARCHIVE`: `batch` (default) or `object`.
    pub raw_archive: ArchiveMode,
    /// `GEOFENCES`: the geofence document, a file path or `s3://bucket/key`; unset: no
    /// server-side geofencing.
    pub geofences: Option<GeofenceSource>,
    /// How often the geofence document is checked for a change
    /// (`GEOFENCES_CHECK_SECONDS`, default 60).
    pub geofences_check_every: Duration,
    /// What makes a point anomalous: `MAX_SPEED_KMH` (default 1,000; 0: off), `FLAP_LIMIT`
    /// (default 6, at most 32; 0: off) and `FLAP_WINDOW_MINUTES` (default 10).
    pub anomaly_limits: AnomalyLimits,
    /// Export tracking: `EXPORT_TIMEZONE` (default UTC), `EXPORT_COMPLETION_HOURS` (default 6,
    /// 1 to 168) and `EXPORT_GRACE_MINUTES` (default 60, 0 to 1,440).
    pub exports: ExportSettings,
}

/// How the raw archive is written (layout: `hookloop_domain::RawKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveMode {
    /// One gzip NDJSON object per processor batch, source and hour: one S3 PUT per batch.
    #[default]
    Batch,
    /// One object per webhook, its body as is: one S3 PUT per webhook.
    Object,
}

/// Load-back to CleverTap.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadbackConfig {
    pub accounts: Accounts,
    pub rules: Rules,
    /// One Upload API request, connection included.
    pub request_timeout: Duration,
    /// Attempts per request (the first included) on 429, 5xx, timeouts and network errors.
    pub max_attempts: u32,
    /// How long a message's accepted records are remembered, so a redelivery or redrive does
    /// not upload them again. Longer than the DLQ's 14-day retention.
    pub marker_ttl: Duration,
}

/// Load-back by the stack's document: where it is, and how uploads are made.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentConfig {
    pub bucket: String,
    pub key: String,
    /// Where the passcodes are (`SECRET_ARN`) and how often they are re-read.
    pub secret: Option<SecretSettings>,
    /// How often the document is checked for a change (`LOADBACK_CONFIG_CHECK_SECONDS`).
    pub check_every: Duration,
    /// Requests in flight per account when the document does not say.
    pub default_concurrency: usize,
    pub request_timeout: Duration,
    pub max_attempts: u32,
    pub marker_ttl: Duration,
}

impl DocumentConfig {
    /// `LOADBACK_CONFIG` (`s3://bucket/key`), `LOADBACK_CONFIG_CHECK_SECONDS`, `SECRET_ARN`,
    /// `SECRETS_TTL_SECONDS` and the same
    /// upload settings as [`LoadbackConfig::read`]. Unset: `None`. Set together with the
    /// environment's accounts or rules: an error, since only one of them can be in force.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<Self>, ConfigError> {
        let Some(uri) = env.optional("LOADBACK_CONFIG") else {
            return Ok(None);
        };
        for var in [
            "CLEVERTAP_ACCOUNTS",
            "CLEVERTAP_ACCOUNT_ID",
            "LOADBACK_RULES",
        ] {
            if env.optional(var).is_some() {
                return Err(ConfigError::Invalid {
                    var: "LOADBACK_CONFIG",
                    reason: format!("is set, and so is {var}: set one of them"),
                });
            }
        }
        let (bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .ok_or_else(|| ConfigError::Invalid {
                var: "LOADBACK_CONFIG",
                reason: format!("{uri:?}: expected s3://bucket/key"),
            })?;
        let (request_timeout, max_attempts, marker_ttl) = read_upload_settings(env)?;
        let secret = SecretSettings::read(env)?;
        if secret.is_none() {
            // Every account needs its passcode, which only the secret holds.
            return Err(ConfigError::Invalid {
                var: "LOADBACK_CONFIG",
                reason: "is set but SECRET_ARN is not: the passcodes are in the function's secret"
                    .into(),
            });
        }
        Ok(Some(DocumentConfig {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            secret,
            check_every: Duration::from_secs(env.number(
                "LOADBACK_CONFIG_CHECK_SECONDS",
                1..=3600,
                CONFIG_DOCUMENT_PERIOD.as_secs(),
            )?),
            default_concurrency: read_concurrency(env)?,
            request_timeout,
            max_attempts,
            marker_ttl,
        }))
    }
}

fn read_concurrency<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<usize, ConfigError> {
    env.number(
        "CLEVERTAP_MAX_CONCURRENCY",
        1..=hookloop_clevertap::account::CLEVERTAP_MAX_CONCURRENT_REQUESTS,
        DEFAULT_MAX_CONCURRENCY,
    )
}

/// `CLEVERTAP_TIMEOUT_MS`, `CLEVERTAP_MAX_ATTEMPTS`, `LOADBACK_MARKER_TTL_DAYS`.
fn read_upload_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<(Duration, u32, Duration), ConfigError> {
    Ok((
        Duration::from_millis(env.number(
            "CLEVERTAP_TIMEOUT_MS",
            100..=60_000,
            DEFAULT_CLEVERTAP_TIMEOUT_MS,
        )?),
        env.number(
            "CLEVERTAP_MAX_ATTEMPTS",
            1..=20,
            DEFAULT_CLEVERTAP_MAX_ATTEMPTS,
        )?,
        Duration::from_secs(
            86_400
                * env.number(
                    "LOADBACK_MARKER_TTL_DAYS",
                    1..=365,
                    DEFAULT_LOADBACK_MARKER_TTL_DAYS,
                )?,
        ),
    ))
}

pub const DEFAULT_CLEVERTAP_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_CLEVERTAP_MAX_ATTEMPTS: u32 = 5;
pub const DEFAULT_LOADBACK_MARKER_TTL_DAYS: u64 = 15;

impl LoadbackConfig {
    /// `CLEVERTAP_ACCOUNTS` (JSON, several accounts by name) or `CLEVERTAP_ACCOUNT_ID`,
    /// `CLEVERTAP_PASSCODE` and `CLEVERTAP_REGION` / `CLEVERTAP_API_URL` (one account named
    /// `default`); `LOADBACK_RULES` (JSON or a file path); `CLEVERTAP_MAX_CONCURRENCY`,
    /// `CLEVERTAP_TIMEOUT_MS`, `CLEVERTAP_MAX_ATTEMPTS`, `LOADBACK_MARKER_TTL_DAYS`.
    /// No account and no rules: `None`. One without the other, or anything invalid: an error
    /// that names the variable, so the function refuses to start.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<Self>, ConfigError> {
        let several = env.optional("CLEVERTAP_ACCOUNTS");
        let single = env.optional("CLEVERTAP_ACCOUNT_ID");
        let rules = env.optional("LOADBACK_RULES");
        if several.is_none() && single.is_none() {
            return match rules {
                None => Ok(None),
                Some(_) => Err(ConfigError::Invalid {
                    var: "LOADBACK_RULES",
                    reason: "is set but no CleverTap account is: set CLEVERTAP_ACCOUNTS or CLEVERTAP_ACCOUNT_ID".into(),
                }),
            };
        }
        let concurrency = read_concurrency(env)?;
        let accounts = match (several, single) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    var: "CLEVERTAP_ACCOUNTS",
                    reason: "set either CLEVERTAP_ACCOUNTS or CLEVERTAP_ACCOUNT_ID, not both"
                        .into(),
                })
            }
            (Some(json), None) => {
                Accounts::from_json(&json, concurrency).map_err(|e| ConfigError::Invalid {
                    var: "CLEVERTAP_ACCOUNTS",
                    reason: e.to_string(),
                })?
            }
            (None, Some(id)) => Accounts::single(
                id,
                env.required("CLEVERTAP_PASSCODE")?,
                env.optional("CLEVERTAP_REGION").as_deref(),
                env.optional("CLEVERTAP_API_URL").as_deref(),
                concurrency,
            )
            .map_err(|e| ConfigError::Invalid {
                var: if e.field == "region" {
                    "CLEVERTAP_REGION"
                } else {
                    "CLEVERTAP_ACCOUNT_ID"
                },
                reason: e.to_string(),
            })?,
            (None, None) => return Ok(None),
        };
        let rules_spec = rules.ok_or(ConfigError::Missing("LOADBACK_RULES"))?;
        let rules = Rules::load(&rules_spec, &accounts).map_err(|e| ConfigError::Invalid {
            var: "LOADBACK_RULES",
            reason: e.to_string(),
        })?;
        let (request_timeout, max_attempts, marker_ttl) = read_upload_settings(env)?;
        Ok(Some(LoadbackConfig {
            accounts,
            rules,
            request_timeout,
            max_attempts,
            marker_ttl,
        }))
    }
}

impl ProcessorConfig {
    /// Reads `RAW_BUCKET`, `TABLE_NAME`, `GEOFENCE_STREAM`, `DLQ_URL`, `MAX_RECEIVE_COUNT`,
    /// `DEDUP_WINDOW_HOURS`, `RAW_ARCHIVE`, `GEOFENCES`, `GEOFENCES_CHECK_SECONDS`,
    /// `MAX_SPEED_KMH`, `FLAP_LIMIT`, `FLAP_WINDOW_MINUTES` and the load-back settings (the environment's, or
    /// `LOADBACK_CONFIG`'s document with the passcodes of `SECRET_ARN`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&process_env())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(ProcessorConfig {
            raw_bucket: env.required("RAW_BUCKET")?,
            table_name: env.required("TABLE_NAME")?,
            geofence_stream: env.required("GEOFENCE_STREAM")?,
            dlq_url: env.required("DLQ_URL")?,
            max_receive_count: env.number(
                "MAX_RECEIVE_COUNT",
                1..=1000,
                DEFAULT_MAX_RECEIVE_COUNT,
            )?,
            loadback_document: DocumentConfig::read(env)?,
            loadback: LoadbackConfig::read(env)?,
            dedup_window: Duration::from_secs(
                3600 * env.number("DEDUP_WINDOW_HOURS", 1..=720, 24)?,
            ),
            geofences: read_geofences(env)?,
            geofences_check_every: Duration::from_secs(env.number(
                "GEOFENCES_CHECK_SECONDS",
                1..=3600,
                CONFIG_DOCUMENT_PERIOD.as_secs(),
            )?),
            anomaly_limits: read_anomaly_limits(env)?,
            exports: read_export_settings(env)?,
            raw_archive: match env.optional("RAW_ARCHIVE").as_deref() {
                None | Some("batch") => ArchiveMode::Batch,
                Some("object") => ArchiveMode::Object,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        var: "RAW_ARCHIVE",
                        reason: format!("{other:?}: use batch or object"),
                    })
                }
            },
        })
    }
}

/// `MAX_SPEED_KMH`, `FLAP_LIMIT` and `FLAP_WINDOW_MINUTES`; 0 turns a check off.
fn read_anomaly_limits<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<AnomalyLimits, ConfigError> {
    let speed: f64 = env.number("MAX_SPEED_KMH", 0.0..=1_000_000.0, DEFAULT_MAX_SPEED_KMH)?;
    // Flapping counts the transitions the state remembers (state_row::MAX_FIRED, shared with
    // other geofences' transitions and anomalies): a limit of at most half of them.
    let limit: u32 = env.number("FLAP_LIMIT", 0..=32, DEFAULT_FLAP_LIMIT)?;
    let minutes: u32 = env.number("FLAP_WINDOW_MINUTES", 1..=1440, DEFAULT_FLAP_WINDOW_MINUTES)?;
    Ok(AnomalyLimits {
        max_speed_kmh: (speed > 0.0).then_some(speed),
        flap_limit: (limit > 0).then_some(limit),
        flap_window_ms: i64::from(minutes) * 60_000,
    })
}

fn read_export_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<ExportSettings, ConfigError> {
    let hours: u32 = env.number("EXPORT_COMPLETION_HOURS", 1..=168, DEFAULT_COMPLETION_HOURS)?;
    let minutes: u32 = env.number("EXPORT_GRACE_MINUTES", 0..=1440, DEFAULT_GRACE_MINUTES)?;
    let zone = match env.optional("EXPORT_TIMEZONE") {
        None => ExportZone::default(),
        Some(name) => ExportZone::parse(&name).map_err(|reason| ConfigError::Invalid {
            var: "EXPORT_TIMEZONE",
            reason,
        })?,
    };
    Ok(ExportSettings {
        zone,
        limits: ExportLimits {
            completion: time::Duration::hours(i64::from(hours)),
            grace: time::Duration::minutes(i64::from(minutes)),
        },
    })
}

/// `GEOFENCES`: `s3://bucket/key`, or any other text as a file path.
fn read_geofences<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<GeofenceSource>, ConfigError> {
    let Some(value) = env.optional("GEOFENCES") else {
        return Ok(None);
    };
    match value.strip_prefix("s3://") {
        Some(rest) => rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .map(|(bucket, key)| {
                Some(GeofenceSource::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                })
            })
            .ok_or_else(|| ConfigError::Invalid {
                var: "GEOFENCES",
                reason: format!("{value:?}: expected s3://bucket/key or a file path"),
            }),
        None => Ok(Some(GeofenceSource::File(value.into()))),
    }
}

#[cfg(test)]
mod tests;
