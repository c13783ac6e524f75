//! The one place that turns a refusal into an HTTP status and body.

use std::fmt::Write;
use std::time::Duration;

use hookloop_domain::ParseError;
use hookloop_runtime::metrics::names::{REJECTED, STATUS};
use hookloop_runtime::Invocation;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};
use tracing::warn;

use crate::auth::{AuthFailure, UseRefused};

/// Most characters of a request value (path, header) written to a log line.
pub const MAX_LOGGED_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    NotFound,
    MethodNotAllowed {
        allow: &'static str,
    },
    Unauthorized(AuthFailure),
    UnsupportedMediaType {
        got: Option<String>,
    },
    PayloadTooLarge {
        size: usize,
        limit: usize,
        what: &'static str,
    },
    /// A body over the limit whose size was not declared (it is not read to the end).
    BodyOverLimit {
        limit: usize,
    },
    /// The body ended before its `Content-Length`, or could not be read.
    IncompleteBody {
        reason: &'static str,
    },
    /// The body did not arrive in time (`hookloop serve`).
    BodyTimeout {
        after: Duration,
    },
    InvalidPayload(ParseError),
    QueueUnavailable,
}

impl From<UseRefused> for Rejection {
    fn from(e: UseRefused) -> Self {
        match e {
            UseRefused::Replayed => Rejection::Unauthorized(AuthFailure::Replayed),
            // Refused rather than let through unrecorded; the sender retries (Retry-After).
            UseRefused::Unavailable(_) => Rejection::QueueUnavailable,
        }
    }
}

/// `s` made safe for one log line: control characters (C0, DEL, C1 such as U+0085), Unicode
/// line and paragraph separators, bidirectional controls and backslashes escaped `\u{85}`-style,
/// and at most [`MAX_LOGGED_CHARS`] characters kept.
pub fn loggable(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_LOGGED_CHARS));
    for (i, c) in s.chars().enumerate() {
        if i == MAX_LOGGED_CHARS {
            out.push_str("...");
            break;
        }
        let escape = c.is_control()
            || matches!(c, '\\' | '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        if escape {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::PayloadTooLarge { .. } | Rejection::BodyOverLimit { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Rejection::IncompleteBody { .. } | Rejection::InvalidPayload(_) => {
                StatusCode::BAD_REQUEST
            }
            Rejection::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Rejection::QueueUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A stable, machine-readable code (the `error` field of the body).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::MethodNotAllowed { .. } => "method_not_allowed",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::UnsupportedMediaType { .. } => "unsupported_media_type",
            Rejection::PayloadTooLarge { .. } | Rejection::BodyOverLimit { .. } => {
                "payload_too_large"
            }
            Rejection::IncompleteBody { .. } => "incomplete_body",
            Rejection::BodyTimeout { .. } => "body_timeout",
            Rejection::InvalidPayload(_) => "invalid_payload",
            Rejection::QueueUnavailable => "queue_unavailable",
        }
    }

    fn body(&self) -> Value {
        let message = match self {
            Rejection::NotFound => "no such route".to_owned(),
            Rejection::MethodNotAllowed { allow } => format!("method not allowed; use {allow}"),
            Rejection::Unauthorized(f) => f.message(),
            Rejection::UnsupportedMediaType { got: Some(ct) } => {
                format!("Content-Type must be application/json, got {ct:?}")
            }
            Rejection::UnsupportedMediaType { got: None } => {
                "Content-Type must be application/json, got none".to_owned()
            }
            Rejection::PayloadTooLarge { size, limit, what } => {
                format!("{what} is {size} bytes, over the limit of {limit} bytes")
            }
            Rejection::BodyOverLimit { limit } => {
                format!("body is over the limit of {limit} bytes")
            }
            Rejection::IncompleteBody { reason } => format!("incomplete body: {reason}"),
            Rejection::BodyTimeout { after } => format!(
                "the body did not arrive within {} ms; send it whole and promptly",
                after.as_millis()
            ),
            Rejection::InvalidPayload(e) => e.message.clone(),
            Rejection::QueueUnavailable => {
                "the webhook could not be queued and was not accepted; retry later".to_owned()
            }
        };
        let mut body = json!({"error": self.code(), "message": message});
        if let Rejection::InvalidPayload(e) = self {
            body["field"] = json!(e.path);
        }
        body
    }

    /// Logs the refusal of a request to `path` (escaped: it comes from the request). A queue
    /// failure is logged where it happens, with its cause.
    pub fn log(&self, path: &str) {
        let path = loggable(path);
        let status = self.status().as_u16();
        match self {
            Rejection::QueueUnavailable => {}
            Rejection::InvalidPayload(e) => {
                warn!(status, %path, field = %e.path, reason = %e.message, "rejected")
            }
            Rejection::UnsupportedMediaType { got: Some(ct) } => {
                let content_type = loggable(ct);
                warn!(status, %path, error = self.code(), %content_type, "rejected")
            }
            _ => warn!(status, %path, error = self.code(), "rejected"),
        }
    }

    /// Counts this refusal into the invocation's metrics: `Rejected` by `Status`.
    pub fn count(&self, invocation: &mut Invocation) {
        invocation.count_by(REJECTED, STATUS, self.status().as_u16().to_string());
    }

    pub fn into_response(self) -> Response<String> {
        let mut resp = Response::new(self.body().to_string());
        *resp.status_mut() = self.status();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match &self {
            Rejection::MethodNotAllowed { allow } => {
                h.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Rejection::Unauthorized(_) => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Rejection::QueueUnavailable => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_request_values_cannot_start_a_new_line_or_run_on() {
        let forged = "/x\u{85}2024-05-01 WARN forged\u{2028}line\r\n\u{1b}[31m\\u{85}\u{202e}";
        let logged = loggable(forged);
        for raw in ['\u{85}', '\u{2028}', '\r', '\n', '\u{1b}', '\u{202e}'] {
            assert!(!logged.contains(raw), "{logged:?}");
        }
        assert_eq!(
            logged,
            "/x\\u{85}2024-05-01 WARN forged\\u{2028}line\\u{d}\\u{a}\\u{1b}[31m\\u{5c}u{85}\\u{202e}"
        );
        let long = loggable(&"a".repeat(10_000));
        assert_eq!(long.len(), MAX_LOGGED_CHARS + 3);
        assert_eq!(loggable("/webhooks/location"), "/webhooks/location");
    }

    #[test]
    fn body_refusals_have_the_one_error_shape() {
        for (r, status, code) in [
            (
                Rejection::BodyTimeout {
                    after: Duration::from_secs(10),
                },
                408,
                "body_timeout",
            ),
            (
                Rejection::IncompleteBody {
                    reason: "the connection closed before Content-Length bytes arrived",
                },
                400,
                "incomplete_body",
            ),
            (
                Rejection::BodyOverLimit { limit: 1000 },
                413,
                "payload_too_large",
            ),
        ] {
            let resp = r.into_response();
            assert_eq!(resp.status().as_u16(), status);
            assert_eq!(resp.headers()["content-type"], "application/json");
            let body: Value = serde_json::from_str(resp.body()).unwrap();
            assert_eq!(body["error"], code);
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
}
