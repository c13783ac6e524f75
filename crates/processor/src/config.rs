use hookloop_aws::config::{process_env, ConfigError, Env};

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

impl ProcessorConfig {
    /// Reads `RAW_BUCKET`, `TABLE_NAME`, `GEOFENCE_STREAM`, `DLQ_URL` and `MAX_RECEIVE_COUNT`.
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
    }
}
