use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use hookloop_domain::ServiceError;

/// A failed AWS call, reduced to what the pipeline decides on: the domain's plain
/// [`ServiceError`], built from the SDK's error by [`FromSdk::from_sdk`].
pub type AwsError = ServiceError;

/// How a call failed, independent of the SDK's types, for [`is_retryable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The request could not be built (a bug or bad input): never retryable.
    Construction,
    /// No answer in time.
    Timeout,
    /// Connection refused, reset, DNS: the request may not have arrived.
    Dispatch,
    /// The service answered with an error.
    Response { status: u16, code: Option<&'a str> },
}

/// Error codes that mean "later may work", whatever the HTTP status.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "KMSThrottlingException",
    "TransactionInProgressException",
];

/// The one retry predicate: throttling, server errors, timeouts and connection failures are
/// worth another try; anything the caller got wrong (4xx validation, missing resources, access
/// denied) is not.
pub fn is_retryable(f: Failure<'_>) -> bool {
    match f {
        Failure::Construction => false,
        Failure::Timeout | Failure::Dispatch => true,
        Failure::Response { status, code } => {
            matches!(status, 429 | 500 | 502 | 503 | 504)
                || code.is_some_and(|c| RETRYABLE_CODES.contains(&c))
        }
    }
}

/// [`ServiceError`] from an SDK call's error: the one place that reads the SDK's failure kinds
/// and decides, with [`is_retryable`], whether the call is worth another try.
pub trait FromSdk {
    fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
}

impl FromSdk for ServiceError {
    fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
        let (failure, code) = match &err {
            SdkError::ConstructionFailure(_) => (Failure::Construction, "ConstructionFailure"),
            SdkError::TimeoutError(_) => (Failure::Timeout, "Timeout"),
            SdkError::DispatchFailure(_) => (Failure::Dispatch, "DispatchFailure"),
            _ => {
                let code = err.code();
                (
                    Failure::Response { status, code },
                    code.unwrap_or("Unknown"),
                )
            }
        };
        let retryable = is_retryable(failure);
        let message = match err.message() {
            Some(m) => m.to_owned(),
            None => DisplayErrorContext(&err).to_string(),
        };
        ServiceError {
            service,
            operation,
            code: code.to_owned(),
            message: truncate(message, 500),
            retryable,
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_server_errors_and_network_failures_are_retryable() {
        assert!(is_retryable(Failure::Timeout));
        assert!(is_retryable(Failure::Dispatch));
        for status in [429, 500, 502, 503, 504] {
            assert!(
                is_retryable(Failure::Response { status, code: None }),
                "{status}"
            );
        }
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "SlowDown",
            "RequestLimitExceeded",
        ] {
            assert!(
                is_retryable(Failure::Response {
                    status: 400,
                    code: Some(code)
                }),
                "{code}"
            );
        }
    }

    #[test]
    fn caller_errors_are_not_retryable() {
        assert!(!is_retryable(Failure::Construction));
        for (status, code) in [
            (400, "ValidationException"),
            (400, "ResourceNotFoundException"),
            (403, "AccessDenied"),
            (404, "NoSuchBucket"),
            (400, "AWS.SimpleQueueService.NonExistentQueue"),
            (400, "InvalidParameterValue"),
        ] {
            assert!(
                !is_retryable(Failure::Response {
                    status,
                    code: Some(code)
                }),
                "{code}"
            );
        }
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let s = truncate("é".repeat(400), 501);
        assert!(s.len() <= 504 && s.ends_with('…'));
    }
}
