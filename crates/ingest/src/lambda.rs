//! The Lambda adapter: API Gateway HTTP API (payload v2) in and out of the plain `http` types
//! [`handle_counted`] speaks, in the invocation's span, with its metrics printed at its end.

use bytes::Bytes;
use hookloop_runtime::{InvocationIds, Publisher};
use http::Request;
use lambda_http::RequestExt;
use tracing::Instrument;

use crate::app::Ingest;
use crate::handler::handle_counted;
use crate::queue::MessageQueue;

/// The Lambda entry: API Gateway HTTP API (payload v2) request in, response out. Every line it
/// logs carries the invocation's request id, trace id and cold-start flag; `metrics` prints
/// what became of the request.
pub async fn handle_lambda<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    metrics: &Publisher,
    req: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    let ids = match req.lambda_context_ref() {
        Some(ctx) => InvocationIds::lambda(&ctx.request_id, ctx.xray_trace_id.as_deref()),
        None => InvocationIds::local(),
    };
    let mut invocation = metrics.start();
    let span = ids.span(invocation.cold_start());
    let (parts, body) = req.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(s) => Bytes::from(s),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    let answer = handle_counted(ingest, Request::from_parts(parts, bytes), &mut invocation)
        .instrument(span)
        .await;
    metrics.publish(&invocation);
    answer.map(lambda_http::Body::from)
}
