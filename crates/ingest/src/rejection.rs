//! The one place that turns a refusal into an HTTP status and body.

use hookloop_domain::ParseError;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use crate::auth::AuthFailure;

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
    InvalidPayload(ParseError),
    QueueUnavailable,
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::InvalidPayload(_) => StatusCode::BAD_REQUEST,
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
            Rejection::PayloadTooLarge { .. } => "payload_too_large",
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
