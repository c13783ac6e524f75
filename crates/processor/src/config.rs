use std::time::Duration;

use hookloop_clevertap::{Accounts, Rules, DEFAULT_MAX_CONCURRENCY};
use hookloop_runtime::config::{process_env, ConfigError, Env};

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
    /// `None` when no CleverTap account is configured: load-back is off.
    pub loadback: Option<LoadbackConfig>,
    /// How long a deduplication claim the processor takes lasts (`DEDUP_WINDOW_HOURS`, the
    /// ingest's setting).
    pub dedup_window: Duration,
    /// `RAW_ARCHIVE`: `batch` (default) or `object`.
    pub raw_archive: ArchiveMode,
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
        let concurrency = env.number(
            "CLEVERTAP_MAX_CONCURRENCY",
            1..=hookloop_clevertap::account::CLEVERTAP_MAX_CONCURRENT_REQUESTS,
            DEFAULT_MAX_CONCURRENCY,
        )?;
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
        Ok(Some(LoadbackConfig {
            accounts,
            rules,
            request_timeout: Duration::from_millis(env.number(
                "CLEVERTAP_TIMEOUT_MS",
                100..=60_000,
                DEFAULT_CLEVERTAP_TIMEOUT_MS,
            )?),
            max_attempts: env.number(
                "CLEVERTAP_MAX_ATTEMPTS",
                1..=20,
                DEFAULT_CLEVERTAP_MAX_ATTEMPTS,
            )?,
            marker_ttl: Duration::from_secs(
                86_400
                    * env.number(
                        "LOADBACK_MARKER_TTL_DAYS",
                        1..=365,
                        DEFAULT_LOADBACK_MARKER_TTL_DAYS,
                    )?,
            ),
        }))
    }
}

impl ProcessorConfig {
    /// Reads `RAW_BUCKET`, `TABLE_NAME`, `GEOFENCE_STREAM`, `DLQ_URL`, `MAX_RECEIVE_COUNT`,
    /// `DEDUP_WINDOW_HOURS`, `RAW_ARCHIVE` and the load-back settings.
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
            loadback: LoadbackConfig::read(env)?,
            dedup_window: Duration::from_secs(
                3600 * env.number("DEDUP_WINDOW_HOURS", 1..=720, 24)?,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_archive_is_batched_unless_told_otherwise() {
        let base = [
            ("RAW_BUCKET", "b"),
            ("TABLE_NAME", "t"),
            ("GEOFENCE_STREAM", "s"),
            ("DLQ_URL", "d"),
        ];
        let read = |extra: Option<&'static str>| {
            let vars: Vec<(&str, &str)> = base
                .iter()
                .copied()
                .chain(extra.map(|v| ("RAW_ARCHIVE", v)))
                .collect();
            ProcessorConfig::read(&Env::new(move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }))
        };
        assert_eq!(read(None).unwrap().raw_archive, ArchiveMode::Batch);
        assert_eq!(
            read(Some("object")).unwrap().raw_archive,
            ArchiveMode::Object
        );
        let err = read(Some("daily")).unwrap_err().to_string();
        assert!(err.contains("RAW_ARCHIVE"), "{err}");
    }

    #[test]
    fn every_store_is_required_and_receive_count_defaults() {
        let all = [
            ("RAW_BUCKET", "b"),
            ("TABLE_NAME", "t"),
            ("GEOFENCE_STREAM", "s"),
            ("DLQ_URL", "d"),
        ];
        let get = |skip: &str, extra: Option<(&str, &str)>| {
            let m: Vec<(String, String)> = all
                .iter()
                .chain(extra.iter())
                .filter(|(k, _)| *k != skip)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ProcessorConfig::read(&Env::new(move |k| {
                m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            }))
        };
        assert_eq!(
            get("", None).unwrap().max_receive_count,
            DEFAULT_MAX_RECEIVE_COUNT
        );
        for (k, _) in all {
            assert_eq!(get(k, None).unwrap_err(), ConfigError::Missing(k));
        }
        assert_eq!(
            get("", Some(("MAX_RECEIVE_COUNT", "3")))
                .unwrap()
                .max_receive_count,
            3
        );
        assert!(get("", Some(("MAX_RECEIVE_COUNT", "0"))).is_err());
        assert_eq!(
            get("", None).unwrap().loadback,
            None,
            "no CleverTap configuration: load-back off"
        );
    }

    fn loadback(pairs: &[(&str, &str)]) -> Result<Option<LoadbackConfig>, ConfigError> {
        let m: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LoadbackConfig::read(&Env::new(move |k| {
            m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        }))
    }

    const RULES: &str = r#"{"rules": [{"name": "e", "source": "clevertap.webhook", "type": "event", "event_name": "E"}]}"#;

    #[test]
    fn load_back_needs_accounts_and_rules_and_names_what_is_wrong() {
        let on = loadback(&[
            ("CLEVERTAP_ACCOUNT_ID", "A"),
            ("CLEVERTAP_PASSCODE", "secret-pass"),
            ("CLEVERTAP_REGION", "in1"),
            ("LOADBACK_RULES", RULES),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(on.rules.len(), 1);
        assert_eq!(on.accounts.get("default").unwrap().max_concurrency, 3);
        assert_eq!(on.max_attempts, DEFAULT_CLEVERTAP_MAX_ATTEMPTS);

        let var = |r: Result<Option<LoadbackConfig>, ConfigError>| match r {
            Err(ConfigError::Invalid { var, .. }) | Err(ConfigError::Missing(var)) => var,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(
            var(loadback(&[("LOADBACK_RULES", RULES)])),
            "LOADBACK_RULES"
        );
        assert_eq!(
            var(loadback(&[
                ("CLEVERTAP_ACCOUNT_ID", "A"),
                ("CLEVERTAP_PASSCODE", "p"),
                ("CLEVERTAP_REGION", "in1")
            ])),
            "LOADBACK_RULES"
        );
        assert_eq!(
            var(loadback(&[
                ("CLEVERTAP_ACCOUNT_ID", "A"),
                ("CLEVERTAP_REGION", "in1"),
                ("LOADBACK_RULES", RULES)
            ])),
            "CLEVERTAP_PASSCODE"
        );
        assert_eq!(
            var(loadback(&[
                ("CLEVERTAP_ACCOUNT_ID", "A"),
                ("CLEVERTAP_PASSCODE", "p"),
                ("CLEVERTAP_REGION", "moon base"),
                ("LOADBACK_RULES", RULES)
            ])),
            "CLEVERTAP_REGION"
        );
        assert_eq!(
            var(loadback(&[
                ("CLEVERTAP_ACCOUNT_ID", "A"),
                ("CLEVERTAP_PASSCODE", "p"),
                ("CLEVERTAP_REGION", "in1"),
                ("LOADBACK_RULES", "{\"rules\": 1}")
            ])),
            "LOADBACK_RULES"
        );
        assert_eq!(
            var(loadback(&[
                ("CLEVERTAP_ACCOUNT_ID", "A"),
                ("CLEVERTAP_PASSCODE", "p"),
                ("CLEVERTAP_REGION", "in1"),
                ("LOADBACK_RULES", "/no/such/rules.json")
            ])),
            "LOADBACK_RULES"
        );
        assert_eq!(
            var(loadback(&[
                ("CLEVERTAP_ACCOUNT_ID", "A"),
                ("CLEVERTAP_PASSCODE", "p"),
                ("CLEVERTAP_REGION", "in1"),
                ("LOADBACK_RULES", RULES),
                ("CLEVERTAP_MAX_CONCURRENCY", "16")
            ])),
            "CLEVERTAP_MAX_CONCURRENCY"
        );
        let e = loadback(&[
            (
                "CLEVERTAP_ACCOUNTS",
                r#"{"main": {"account_id": "A", "passcode": "secret-pass"}}"#,
            ),
            ("LOADBACK_RULES", RULES),
        ])
        .unwrap_err();
        assert!(
            e.to_string().contains("CLEVERTAP_ACCOUNTS") && !e.to_string().contains("secret-pass"),
            "{e}"
        );
    }
}
