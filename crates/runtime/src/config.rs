//! Reading configuration from the environment, with errors that name the variable. Both
//! functions and the local runner read their settings through [`Env`].

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// A view of environment variables; an empty value counts as unset.
pub struct Env<F>(F);

/// The process environment.
pub fn process_env() -> Env<fn(&str) -> Option<String>> {
    Env(|k| std::env::var(k).ok())
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// An environment backed by any lookup (tests use a map).
    pub fn new(lookup: F) -> Self {
        Env(lookup)
    }

    pub fn optional(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.is_empty())
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var))
    }

    /// `true` or `false` exactly; anything else is an error rather than a silent default.
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(var).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                var,
                reason: format!("expected true or false, got {other:?}"),
            }),
        }
    }

    /// A number within `range`, or `default` when unset.
    pub fn number<T>(
        &self,
        var: &'static str,
        range: RangeInclusive<T>,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display,
    {
        let Some(v) = self.optional(var) else {
            return Ok(default);
        };
        match v.parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                var,
                reason: format!(
                    "expected a number from {} to {}, got {v:?}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn values_are_checked_and_errors_name_the_variable() {
        let e = env(&[
            ("A", "7"),
            ("B", "x"),
            ("C", ""),
            ("F", "yes"),
            ("T", "true"),
        ]);
        assert_eq!(e.number("A", 1..=10, 3), Ok(7));
        assert_eq!(e.number("Z", 1..=10, 3), Ok(3));
        assert!(matches!(
            e.number::<u32>("A", 1..=5, 3),
            Err(ConfigError::Invalid { var: "A", .. })
        ));
        assert!(matches!(
            e.number::<u32>("B", 1..=5, 3),
            Err(ConfigError::Invalid { var: "B", .. })
        ));
        assert_eq!(
            e.required("C"),
            Err(ConfigError::Missing("C")),
            "empty counts as unset"
        );
        assert_eq!(e.flag("T", false), Ok(true));
        assert_eq!(e.flag("C", false), Ok(false));
        assert!(e.flag("F", false).is_err());
    }
}
