//! A failed call to a service the pipeline depends on (a store, a queue, a stream), as plain
//! data: which call, the service's error code and message, and whether trying again later can
//! help. The ports the functions own ([`crate::dedup::DedupLedger`],
//! [`crate::claim_check::ObjectStore`], the processor's stores) fail with it; the AWS adapters
//! build it from the SDK's errors (`hookloop_aws::FromSdk`), the in-memory ones directly.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub service: &'static str,
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl ServiceError {
    /// A failure the pipeline detected itself (partial failures that outlived their retries,
    /// a request that could not be built), or one an in-memory adapter stands in for.
    pub fn local(
        service: &'static str,
        operation: &'static str,
        code: &str,
        message: impl Into<String>,
        retryable: bool,
    ) -> Self {
        ServiceError {
            service,
            operation,
            code: code.to_owned(),
            message: message.into(),
            retryable,
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed: {}",
            self.service, self.operation, self.code
        )?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_call_and_the_code() {
        let e = ServiceError::local("sqs", "SendMessage", "Throttling", "slow down", true);
        assert_eq!(
            e.to_string(),
            "sqs SendMessage failed: Throttling: slow down"
        );
        let bare = ServiceError::local("s3", "GetObject", "NoSuchKey", "", false);
        assert_eq!(bare.to_string(), "s3 GetObject failed: NoSuchKey");
    }
}
