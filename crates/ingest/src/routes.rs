//! What a request's method, path and headers allow before its body is read: the route, a
//! credential carried in headers, the content type, and the size limit.

use hookloop_domain::Source;
use http::{header, HeaderMap, Method};

use crate::app::Ingest;
use crate::auth::HeaderCheck;
use crate::rejection::Rejection;

/// What a request's method, path and headers allow before its body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// `GET /health`: needs no body and no ingest slot.
    Health,
    /// A webhook route whose header credential (if it has one) checked out: read the body.
    Webhook,
}

impl<Q> Ingest<Q> {
    /// The checks that need no body, in the documented order: route, then any credential
    /// carried in headers, then the content type. A request refused here costs no body read
    /// and no hashing. An older-form Radar signature (over an event `_id` in the body) is
    /// checked by [`handle`] once the body, within the size limit, has arrived.
    pub fn admit_headers(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<Gate, Rejection> {
        let source = match route(method, path)? {
            Route::Health => return Ok(Gate::Health),
            Route::Webhook(source) => source,
        };
        match self
            .auth
            .now()
            .check_headers(source, headers)
            .map_err(Rejection::Unauthorized)?
        {
            HeaderCheck::Verified(_) => is_json(headers)?,
            HeaderCheck::NeedsBody(_) => {}
        }
        Ok(Gate::Webhook)
    }
}

pub(crate) enum Route {
    Health,
    Webhook(Source),
}

/// The body-size check: 413 for a body over `limit`.
pub(crate) fn within_limit(body: &[u8], limit: usize) -> Result<(), Rejection> {
    if body.len() > limit {
        return Err(Rejection::PayloadTooLarge {
            size: body.len(),
            limit,
            what: "body",
        });
    }
    Ok(())
}

pub(crate) fn route(method: &Method, path: &str) -> Result<Route, Rejection> {
    if path == "/health" {
        return if method == Method::GET || method == Method::HEAD {
            Ok(Route::Health)
        } else {
            Err(Rejection::MethodNotAllowed { allow: "GET, HEAD" })
        };
    }
    match Source::from_route(path) {
        Some(source) if method == Method::POST => Ok(Route::Webhook(source)),
        Some(_) => Err(Rejection::MethodNotAllowed { allow: "POST" }),
        None => Err(Rejection::NotFound),
    }
}

pub(crate) fn is_json(headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(Rejection::UnsupportedMediaType { got: None });
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let media_type = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Rejection::UnsupportedMediaType {
            got: Some(text.chars().take(100).collect()),
        })
    }
}
