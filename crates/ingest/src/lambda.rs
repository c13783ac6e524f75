//! The Lambda adapter: API Gateway HTTP API (payload v2) in and out of the plain `http` types
//! [`handle`] speaks.

use bytes::Bytes;
use http::Request;

use crate::app::Ingest;
use crate::handler::handle;
use crate::queue::MessageQueue;

/// The Lambda entry: API Gateway HTTP API (payload v2) request in, response out.
pub async fn handle_lambda<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    req: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    let (parts, body) = req.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(s) => Bytes::from(s),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    handle(ingest, Request::from_parts(parts, bytes))
        .await
        .map(lambda_http::Body::from)
}
