use std::time::Duration;

use hookloop_aws::sqs::MAX_MESSAGE_BYTES;

use crate::auth::{Auth, Secret};

/// Room kept for the envelope around the body (id, source, time, JSON escaping of a typical
/// body) and the message attributes, below SQS's 1 MiB.
pub const ENVELOPE_HEADROOM: usize = 16 * 1024;
/// Largest body accepted by default: what still fits in one SQS message once wrapped.
pub const DEFAULT_MAX_BODY_BYTES: usize = MAX_MESSAGE_BYTES - ENVELOPE_HEADROOM;

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
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

impl IngestConfig {
    /// Reads `QUEUE_URL`, `WEBHOOK_TOKEN`, `ALLOW_UNAUTHENTICATED`, `MAX_BODY_BYTES` and
    /// `QUEUE_SEND_TIMEOUT_MS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let queue_url = get("QUEUE_URL")
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError::Missing("QUEUE_URL"))?;
        let allow_unauthenticated = match get("ALLOW_UNAUTHENTICATED").as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "ALLOW_UNAUTHENTICATED",
                    reason: format!("expected true or false, got {other:?}"),
                })
            }
        };
        let auth = match get("WEBHOOK_TOKEN").filter(|t| !t.is_empty()) {
            Some(token) => Auth::Token(Secret::new(token)),
            None if allow_unauthenticated => Auth::Open,
            None => Auth::Unconfigured,
        };
        let max_body_bytes = match get("MAX_BODY_BYTES").filter(|v| !v.is_empty()) {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_MESSAGE_BYTES).contains(&n) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "MAX_BODY_BYTES",
                        reason: format!(
                            "expected a byte count from 1 to {MAX_MESSAGE_BYTES}, got {v:?}"
                        ),
                    })
                }
            },
        };
        let queue_send_timeout = match get("QUEUE_SEND_TIMEOUT_MS").filter(|v| !v.is_empty()) {
            None => DEFAULT_QUEUE_SEND_TIMEOUT,
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if (100..=60_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "QUEUE_SEND_TIMEOUT_MS",
                        reason: format!("expected milliseconds from 100 to 60000, got {v:?}"),
                    })
                }
            },
        };
        Ok(IngestConfig {
            queue_url,
            auth,
            max_body_bytes,
            queue_send_timeout,
        })
    }
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
        IngestConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn a_token_wins_and_nothing_configured_refuses() {
        assert!(matches!(
            cfg(&[("QUEUE_URL", "q"), ("WEBHOOK_TOKEN", "t")])
                .unwrap()
                .auth,
            Auth::Token(_)
        ));
        assert!(matches!(
            cfg(&[
                ("QUEUE_URL", "q"),
                ("WEBHOOK_TOKEN", "t"),
                ("ALLOW_UNAUTHENTICATED", "true")
            ])
            .unwrap()
            .auth,
            Auth::Token(_)
        ));
        assert!(matches!(
            cfg(&[("QUEUE_URL", "q")]).unwrap().auth,
            Auth::Unconfigured
        ));
        assert!(matches!(
            cfg(&[("QUEUE_URL", "q"), ("ALLOW_UNAUTHENTICATED", "true")])
                .unwrap()
                .auth,
            Auth::Open
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
}
