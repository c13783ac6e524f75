use std::sync::Arc;
use std::time::Duration;

use hookloop_aws::sqs::MAX_MESSAGE_BYTES;
use hookloop_runtime::config::{process_env, ConfigError, Env};

use hookloop_domain::Source;

use crate::auth::{Auth, BasicCredential, MemoryLedger, Scheme, Secret};

use crate::auth::DEFAULT_SIGNING_ID_WINDOW_HOURS;

/// Room kept for the envelope around the body (id, source, time, JSON escaping of a typical
/// body) and the message attributes, below SQS's 1 MiB.
pub const ENVELOPE_HEADROOM: usize = 16 * 1024;
/// Largest body accepted by default: what still fits in one SQS message once wrapped.
pub const DEFAULT_MAX_BODY_BYTES: usize = MAX_MESSAGE_BYTES - ENVELOPE_HEADROOM;

/// Largest body the ingest takes when large bodies go to S3 (claim check): Lambda's 6 MB
/// synchronous payload limit.
pub const MAX_INGEST_BODY_BYTES: usize = 6 * 1024 * 1024;
/// Bodies above this go to S3 and the queue message carries a pointer. SQS bills every 64 KiB
/// of a message as one request, so past 256 KiB one S3 PUT and GET cost less than the chunks.
pub const DEFAULT_CLAIM_CHECK_BYTES: usize = 256 * 1024;
/// How long a repeated delivery counts as a duplicate.
pub const DEFAULT_DEDUP_WINDOW_HOURS: u64 = 24;

/// Longest window a Radar signed message is remembered: one year.
pub const MAX_SIGNING_ID_WINDOW_HOURS: u64 = 365 * 24;

/// Default deadline for handing a webhook to SQS. CleverTap gives up after 3 s; answering 503
/// before that lets it retry instead of timing out.
pub const DEFAULT_QUEUE_SEND_TIMEOUT: Duration = Duration::from_millis(2500);

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub queue_url: String,
    pub auth: Auth,
    pub max_body_bytes: usize,
    /// How long the send to SQS may take before the webhook is answered 503.
    pub queue_send_timeout: Duration,
    /// Claim check: the bucket for bodies above `claim_check_bytes` (`RAW_BUCKET`); without it
    /// every body must fit in one queue message.
    pub claim_bucket: Option<String>,
    pub claim_check_bytes: usize,
    /// Deduplication: the table holding claims (`TABLE_NAME`); without it, off.
    pub dedup_table: Option<String>,
    pub dedup_window: Duration,
    /// How long a Radar signed message refuses any body but its first
    /// (`RADAR_SIGNING_ID_WINDOW_HOURS`); recorded in the table when there is one.
    pub signing_id_window: Duration,
}

impl IngestConfig {
    /// Reads `QUEUE_URL`, `WEBHOOK_TOKEN`, `WEBHOOK_BASIC_AUTH`, `AUTH_CLEVERTAP`,
    /// `AUTH_CLEVERTAP_EXPORT_STATUS`, `AUTH_LOCATION`, `ALLOW_UNAUTHENTICATED`, `MAX_BODY_BYTES`,
    /// `QUEUE_SEND_TIMEOUT_MS`, `RAW_BUCKET`, `CLAIM_CHECK_BYTES`, `TABLE_NAME`,
    /// `DEDUP_WINDOW_HOURS` and `RADAR_SIGNING_ID_WINDOW_HOURS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&process_env())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let queue_url = env.required("QUEUE_URL")?;
        let signing_id_window = read_signing_id_window(env)?;
        let auth = read_auth(env, signing_id_window)?;
        let claim_bucket = env.optional("RAW_BUCKET");
        let inline_limit = DEFAULT_MAX_BODY_BYTES;
        let max_body_bytes = match claim_bucket {
            Some(_) => env.number(
                "MAX_BODY_BYTES",
                1..=MAX_INGEST_BODY_BYTES,
                MAX_INGEST_BODY_BYTES,
            )?,
            None => env.number("MAX_BODY_BYTES", 1..=inline_limit, inline_limit)?,
        };
        let claim_check_bytes = env.number(
            "CLAIM_CHECK_BYTES",
            1..=inline_limit,
            DEFAULT_CLAIM_CHECK_BYTES,
        )?;
        let dedup_hours = env.number("DEDUP_WINDOW_HOURS", 1..=720, DEFAULT_DEDUP_WINDOW_HOURS)?;
        let timeout_ms = env.number(
            "QUEUE_SEND_TIMEOUT_MS",
            100..=60_000,
            DEFAULT_QUEUE_SEND_TIMEOUT.as_millis() as u64,
        )?;
        Ok(IngestConfig {
            queue_url,
            auth,
            max_body_bytes,
            queue_send_timeout: Duration::from_millis(timeout_ms),
            claim_bucket,
            claim_check_bytes,
            dedup_table: env.optional("TABLE_NAME"),
            dedup_window: Duration::from_secs(dedup_hours * 3600),
            signing_id_window,
        })
    }
}

/// The keys the ingest's secret may hold: the credentials, never a setting.
pub const SECRET_KEYS: [&str; 2] = ["WEBHOOK_TOKEN", "WEBHOOK_BASIC_AUTH"];

/// The credentials alone: what a rotation of the function's secret changes. Read again from the
/// secret's document over the environment each time the secret is re-read.
pub fn read_credentials<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Auth, ConfigError> {
    read_auth(env, read_signing_id_window(env)?)
}

fn read_signing_id_window<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Duration, ConfigError> {
    let hours = env.number(
        "RADAR_SIGNING_ID_WINDOW_HOURS",
        1..=MAX_SIGNING_ID_WINDOW_HOURS,
        DEFAULT_SIGNING_ID_WINDOW_HOURS,
    )?;
    Ok(Duration::from_secs(hours * 3600))
}

/// The variable naming the methods a route accepts.
pub fn route_auth_var(source: Source) -> &'static str {
    match source {
        Source::ClevertapWebhook => "AUTH_CLEVERTAP",
        Source::ClevertapExportStatus => "AUTH_CLEVERTAP_EXPORT_STATUS",
        Source::Location => "AUTH_LOCATION",
    }
}

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn read_auth<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    signing_id_window: Duration,
) -> Result<Auth, ConfigError> {
    let tokens: Vec<Secret> = env
        .optional("WEBHOOK_TOKEN")
        .as_deref()
        .map(split_list)
        .into_iter()
        .flatten()
        .map(Secret::new)
        .collect();
    let basic = match env.optional("WEBHOOK_BASIC_AUTH") {
        None => Vec::new(),
        Some(v) => split_list(&v)
            .map(|pair| match pair.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    Ok(BasicCredential {
                        user: user.to_owned(),
                        password: Secret::new(password),
                    })
                }
                // Never echo the value: it holds a password.
                _ => Err(ConfigError::Invalid {
                    var: "WEBHOOK_BASIC_AUTH",
                    reason: "expected user:password pairs separated by commas".into(),
                }),
            })
            .collect::<Result<_, _>>()?,
    };
    let mut schemes = Vec::new();
    for source in Source::ALL {
        let var = route_auth_var(source);
        let list = match env.optional(var) {
            None => Scheme::defaults_for(source).to_vec(),
            Some(v) => split_list(&v)
                .map(|m| {
                    let scheme = Scheme::parse(m).ok_or_else(|| ConfigError::Invalid {
                        var,
                        reason: format!("unknown method {m:?}: use token, basic or radar"),
                    })?;
                    let configured = match scheme {
                        Scheme::Token | Scheme::Radar => !tokens.is_empty(),
                        Scheme::Basic => !basic.is_empty(),
                    };
                    if configured {
                        Ok(scheme)
                    } else {
                        let needs = if scheme == Scheme::Basic {
                            "WEBHOOK_BASIC_AUTH"
                        } else {
                            "WEBHOOK_TOKEN"
                        };
                        Err(ConfigError::Invalid {
                            var,
                            reason: format!("{m} needs {needs}, which is not set"),
                        })
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        schemes.push((source, list));
    }
    let nothing_configured = tokens.is_empty() && basic.is_empty();
    let open = nothing_configured && env.flag("ALLOW_UNAUTHENTICATED", false)?;
    Ok(Auth {
        tokens,
        basic,
        schemes,
        open,
        // Without a table, signing ids are remembered by this process only (see README).
        signing_ids: Arc::new(MemoryLedger::new(signing_id_window)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<IngestConfig, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        IngestConfig::read(&Env::new(|k| m.get(k).cloned()))
    }

    #[test]
    fn a_token_wins_and_nothing_configured_refuses() {
        let with_token = cfg(&[
            ("QUEUE_URL", "q"),
            ("WEBHOOK_TOKEN", "t"),
            ("ALLOW_UNAUTHENTICATED", "true"),
        ])
        .unwrap()
        .auth;
        assert!(
            !with_token.open,
            "a configured credential is always required"
        );
        let nothing = cfg(&[("QUEUE_URL", "q")]).unwrap().auth;
        assert!(!nothing.open && nothing.accepted(Source::Location).is_empty());
        assert!(
            cfg(&[("QUEUE_URL", "q"), ("ALLOW_UNAUTHENTICATED", "true")])
                .unwrap()
                .auth
                .open
        );
    }

    #[test]
    fn several_tokens_basic_pairs_and_per_route_methods() {
        let a = cfg(&[
            ("QUEUE_URL", "q"),
            ("WEBHOOK_TOKEN", "old, new"),
            ("WEBHOOK_BASIC_AUTH", "ct:p:w,other:x"),
            ("AUTH_LOCATION", "radar"),
        ])
        .unwrap()
        .auth;
        assert_eq!(a.tokens, vec![Secret::new("old"), Secret::new("new")]);
        assert_eq!(a.basic.len(), 2);
        assert_eq!(a.basic[0].user, "ct");
        assert_eq!(
            a.basic[0].password,
            Secret::new("p:w"),
            "a password may hold colons"
        );
        assert_eq!(a.accepted(Source::Location), vec![Scheme::Radar]);
        assert_eq!(
            a.accepted(Source::ClevertapWebhook),
            vec![Scheme::Token, Scheme::Basic]
        );
    }

    #[test]
    fn auth_settings_that_cannot_work_are_refused_at_start_without_echoing_secrets() {
        let e = cfg(&[
            ("QUEUE_URL", "q"),
            ("WEBHOOK_BASIC_AUTH", "no-colon-secret"),
        ])
        .unwrap_err();
        assert!(matches!(
            &e,
            ConfigError::Invalid {
                var: "WEBHOOK_BASIC_AUTH",
                ..
            }
        ));
        assert!(!e.to_string().contains("no-colon-secret"));
        let e = cfg(&[
            ("QUEUE_URL", "q"),
            ("WEBHOOK_TOKEN", "t"),
            ("AUTH_CLEVERTAP", "basic"),
        ])
        .unwrap_err();
        assert!(
            e.to_string().contains("basic needs WEBHOOK_BASIC_AUTH"),
            "{e}"
        );
        let e = cfg(&[
            ("QUEUE_URL", "q"),
            ("WEBHOOK_TOKEN", "t"),
            ("AUTH_LOCATION", "token,hmac"),
        ])
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::Invalid {
                var: "AUTH_LOCATION",
                ..
            }
        ));
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(cfg(&[]).unwrap_err(), ConfigError::Missing("QUEUE_URL"));
        assert!(matches!(
            cfg(&[("QUEUE_URL", "q"), ("ALLOW_UNAUTHENTICATED", "yes")]),
            Err(ConfigError::Invalid {
                var: "ALLOW_UNAUTHENTICATED",
                ..
            })
        ));
        assert!(matches!(
            cfg(&[("QUEUE_URL", "q"), ("MAX_BODY_BYTES", "2000000")]),
            Err(ConfigError::Invalid {
                var: "MAX_BODY_BYTES",
                ..
            })
        ));
        assert_eq!(
            cfg(&[("QUEUE_URL", "q"), ("MAX_BODY_BYTES", "1000")])
                .unwrap()
                .max_body_bytes,
            1000
        );
        assert_eq!(
            cfg(&[("QUEUE_URL", "q")]).unwrap().max_body_bytes,
            DEFAULT_MAX_BODY_BYTES
        );
    }

    #[test]
    fn the_claim_check_raises_the_body_limit_to_6_mib_and_dedup_follows_the_table() {
        let off = cfg(&[("QUEUE_URL", "q")]).unwrap();
        assert_eq!((off.claim_bucket, off.dedup_table), (None, None));
        let on = cfg(&[("QUEUE_URL", "q"), ("RAW_BUCKET", "b"), ("TABLE_NAME", "t")]).unwrap();
        assert_eq!(on.max_body_bytes, MAX_INGEST_BODY_BYTES);
        assert_eq!(on.claim_check_bytes, DEFAULT_CLAIM_CHECK_BYTES);
        assert_eq!(on.claim_bucket.as_deref(), Some("b"));
        assert_eq!(on.dedup_table.as_deref(), Some("t"));
        assert_eq!(on.dedup_window, Duration::from_secs(24 * 3600));
        let big = cfg(&[
            ("QUEUE_URL", "q"),
            ("RAW_BUCKET", "b"),
            ("MAX_BODY_BYTES", "2000000"),
        ])
        .unwrap();
        assert_eq!(big.max_body_bytes, 2_000_000);
        for (var, value) in [
            ("MAX_BODY_BYTES", "7000000"),
            ("CLAIM_CHECK_BYTES", "2000000"),
            ("DEDUP_WINDOW_HOURS", "0"),
        ] {
            let e = cfg(&[("QUEUE_URL", "q"), ("RAW_BUCKET", "b"), (var, value)]).unwrap_err();
            assert!(
                matches!(e, ConfigError::Invalid { var: v, .. } if v == var),
                "{var}: {e:?}"
            );
        }
    }

    #[test]
    fn radar_signing_ids_are_remembered_30_days_unless_configured() {
        let c = cfg(&[("QUEUE_URL", "q")]).unwrap();
        assert_eq!(c.signing_id_window, Duration::from_secs(30 * 24 * 3600));
        let c = cfg(&[("QUEUE_URL", "q"), ("RADAR_SIGNING_ID_WINDOW_HOURS", "48")]).unwrap();
        assert_eq!(c.signing_id_window, Duration::from_secs(48 * 3600));
        for bad in ["0", "9000", "soon"] {
            assert!(matches!(
                cfg(&[("QUEUE_URL", "q"), ("RADAR_SIGNING_ID_WINDOW_HOURS", bad)]),
                Err(ConfigError::Invalid {
                    var: "RADAR_SIGNING_ID_WINDOW_HOURS",
                    ..
                })
            ));
        }
    }
}
