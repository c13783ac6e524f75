/// Receives before SQS's redrive policy moves a message to the DLQ; `hookloop init` sets the
/// same number on the queue. On the last receive the processor dead-letters a failing message
/// itself, so the DLQ entry carries its reason.
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorConfig {
    pub raw_bucket: String,
    pub table_name: String,
    pub geofence_stream: String,
    pub dlq_url: String,
    pub max_receive_count: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

impl ProcessorConfig {
    /// Reads `RAW_BUCKET`, `TABLE_NAME`, `GEOFENCE_STREAM`, `DLQ_URL` and `MAX_RECEIVE_COUNT`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let req = |k: &'static str| {
            get(k)
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(k))
        };
        let max_receive_count = match get("MAX_RECEIVE_COUNT").filter(|v| !v.is_empty()) {
            None => DEFAULT_MAX_RECEIVE_COUNT,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| ConfigError::Invalid {
                    var: "MAX_RECEIVE_COUNT",
                    reason: format!("expected 1 to 1000, got {v:?}"),
                })?,
        };
        Ok(ProcessorConfig {
            raw_bucket: req("RAW_BUCKET")?,
            table_name: req("TABLE_NAME")?,
            geofence_stream: req("GEOFENCE_STREAM")?,
            dlq_url: req("DLQ_URL")?,
            max_receive_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ProcessorConfig::from_lookup(move |k| {
                m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
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
    }
}
