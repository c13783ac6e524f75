//! Why a message failed, and what a dead-lettered one carries: the original message body
//! untouched (so it can be redriven as is) and message attributes saying where and why.

use std::fmt;

/// The pipeline step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Envelope or payload could not be read: will never succeed.
    Parse,
    /// Server-side geofencing: a user's inside/outside state (DynamoDB), or the document.
    Geofence,
    /// Raw archive (S3) or rows (DynamoDB).
    Store,
    /// Geofence stream (Kinesis).
    Stream,
    /// Load-back to CleverTap: a record the rules could not build or CleverTap refused, or
    /// uploads that kept failing.
    Clevertap,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Geofence => "geofence",
            Stage::Store => "store",
            Stage::Stream => "stream",
            Stage::Clevertap => "clevertap",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message failed. `retryable` failures are redelivered by SQS until the last allowed
/// receive, then dead-lettered with this reason; the others go to the DLQ at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub stage: Stage,
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl Failure {
    pub fn permanent(stage: Stage, code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            stage,
            code: code.into(),
            message: message.into(),
            retryable: false,
        }
    }

    pub fn from_aws(stage: Stage, e: &hookloop_aws::AwsError) -> Self {
        Failure {
            stage,
            code: format!("{}.{}:{}", e.service, e.operation, e.code),
            message: e.to_string(),
            retryable: e.retryable,
        }
    }

    /// Of several failures of one message, the one that decides: a permanent failure wins (no
    /// point retrying what will fail again), else the first.
    pub fn decisive(failures: impl IntoIterator<Item = Failure>) -> Option<Failure> {
        let mut first = None;
        for f in failures {
            if !f.retryable {
                return Some(f);
            }
            first.get_or_insert(f);
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permanent_failure_decides_over_retryable_ones() {
        let r = Failure {
            stage: Stage::Store,
            code: "s3".into(),
            message: String::new(),
            retryable: true,
        };
        let p = Failure::permanent(Stage::Stream, "bad", "");
        assert_eq!(Failure::decisive([r.clone(), p.clone()]), Some(p));
        assert_eq!(Failure::decisive([r.clone()]), Some(r));
        assert_eq!(Failure::decisive([]), None);
    }
}
