use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a webhook came from. The string forms are part of the contract: they appear in the
/// queue envelope, in SQS message attributes and in the raw archive's `source=` partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    #[serde(rename = "clevertap.webhook")]
    ClevertapWebhook,
    #[serde(rename = "clevertap.export_status")]
    ClevertapExportStatus,
    #[serde(rename = "location")]
    Location,
}

impl Source {
    pub const ALL: [Source; 3] = [
        Source::ClevertapWebhook,
        Source::ClevertapExportStatus,
        Source::Location,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::ClevertapWebhook => "clevertap.webhook",
            Source::ClevertapExportStatus => "clevertap.export_status",
            Source::Location => "location",
        }
    }

    /// The ingest route that receives this source.
    pub fn route(self) -> &'static str {
        match self {
            Source::ClevertapWebhook => "/webhooks/clevertap",
            Source::ClevertapExportStatus => "/webhooks/clevertap/export-status",
            Source::Location => "/webhooks/location",
        }
    }

    pub fn from_route(path: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.route() == path)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown source {0:?}")]
pub struct UnknownSource(String);

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|src| src.as_str() == s)
            .ok_or_else(|| UnknownSource(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip_and_routes_are_distinct() {
        for s in Source::ALL {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
            assert_eq!(Source::from_route(s.route()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!(Source::from_route("/webhooks").is_none());
        assert!("clevertap".parse::<Source>().is_err());
    }
}
