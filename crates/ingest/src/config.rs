use std::time::Duration;

use hookloop_aws::config::{process_env, ConfigError, Env};
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

impl IngestConfig {
    /// Reads `QUEUE_URL`, `WEBHOOK_TOKEN`, `ALLOW_UNAUTHENTICATED`, `MAX_BODY_BYTES` and
    /// `QUEUE_SEND_TIMEOUT_MS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&process_env())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let queue_url = env.required("QUEUE_URL")?;
        let allow_unauthenticated = env.flag("ALLOW_UNAUTHENTICATED", false)?;
        let auth = match env.optional("WEBHOOK_TOKEN") {
            Some(token) => Auth::Token(Secret::new(token)),
            None if allow_unauthenticated => Auth::Open,
            None => Auth::Unconfigured,
        };
        let max_body_bytes = env.number(
            "MAX_BODY_BYTES",
            1..=MAX_MESSAGE_BYTES,
            DEFAULT_MAX_BODY_BYTES,
        )?;
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
        IngestConfig::read(&Env::new(|k| m.get(k).cloned()))
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
