//! A function's secret: one JSON object per function, kept in AWS Secrets Manager in a deployed
//! stack (`SECRET_ARN`) and re-read every `SECRETS_TTL_SECONDS`. Its keys are the names of the
//! variables a local run sets (`WEBHOOK_TOKEN`, `WEBHOOK_BASIC_AUTH`) and `CLEVERTAP_PASSCODES`
//! (account name to passcode). Its values never reach a log: `Debug` shows the keys only, and
//! no error quotes the text.

use std::fmt;

use serde_json::{Map, Value};

use std::time::Duration;

use crate::config::{ConfigError, Env};
use crate::live::DEFAULT_SECRETS_TTL;

/// The variable naming the function's secret.
pub const SECRET_ARN_VAR: &str = "SECRET_ARN";
/// The variable setting how often the secret is re-read (seconds).
pub const SECRETS_TTL_VAR: &str = "SECRETS_TTL_SECONDS";

/// Where a function's secret is and how often it is re-read; `None` from [`SecretSettings::read`]
/// when `SECRET_ARN` is unset (local runs: the environment holds the values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSettings {
    pub arn: String,
    pub ttl: Duration,
}

impl SecretSettings {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<Self>, ConfigError> {
        let Some(arn) = env.optional(SECRET_ARN_VAR) else {
            return Ok(None);
        };
        let ttl = env.number(SECRETS_TTL_VAR, 1..=86_400, DEFAULT_SECRETS_TTL.as_secs())?;
        Ok(Some(SecretSettings {
            arn,
            ttl: Duration::from_secs(ttl),
        }))
    }
}

#[derive(Clone, Default, PartialEq)]
pub struct SecretDocument(Map<String, Value>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The text is not a JSON object (the text itself is never quoted).
    #[error("the secret is not a JSON object ({0})")]
    NotAnObject(&'static str),
}

impl fmt::Debug for SecretDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretDocument {
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(SecretDocument(map)),
            Ok(_) => Err(SecretError::NotAnObject("another JSON value")),
            Err(_) => Err(SecretError::NotAnObject("not JSON")),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A string value (a variable's stand-in).
    pub fn string(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    /// This document over `env`, for the variables in `keys` only (the secrets; a secret cannot
    /// change a setting such as `ALLOW_UNAUTHENTICATED`): a key the document holds as a string
    /// wins over the variable of the same name.
    pub fn over<'a, F>(
        &'a self,
        env: &'a Env<F>,
        keys: &'a [&'a str],
    ) -> Env<impl Fn(&str) -> Option<String> + 'a>
    where
        F: Fn(&str) -> Option<String>,
    {
        Env::new(move |k: &str| {
            let from_secret = keys.contains(&k).then(|| self.string(k)).flatten();
            from_secret.or_else(|| env.optional(k))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_overrides_variables_and_never_shows_its_values() {
        let doc = SecretDocument::parse(
            r#"{"WEBHOOK_TOKEN": "s3cret-value", "N": 3, "ALLOW_UNAUTHENTICATED": "true"}"#,
        )
        .unwrap();
        let env = Env::new(|k: &str| match k {
            "WEBHOOK_TOKEN" => Some("from-env".into()),
            "QUEUE_URL" => Some("q".into()),
            _ => None,
        });
        let keys = ["WEBHOOK_TOKEN", "N"];
        let both = doc.over(&env, &keys);
        assert_eq!(
            both.optional("WEBHOOK_TOKEN").as_deref(),
            Some("s3cret-value")
        );
        assert_eq!(both.optional("QUEUE_URL").as_deref(), Some("q"));
        assert_eq!(
            both.optional("N"),
            None,
            "only strings stand in for variables"
        );
        assert_eq!(
            both.optional("ALLOW_UNAUTHENTICATED"),
            None,
            "a secret sets secrets only, never a setting"
        );
        assert!(!format!("{doc:?}").contains("s3cret-value"));
        for bad in ["[1]", "s3cret-value", "{\"a\": "] {
            let e = SecretDocument::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("s3cret"), "{e}");
        }
    }
}
