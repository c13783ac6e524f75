//! The Lambda adapter: API Gateway HTTP API (payload v2) in and out of the plain `http` types
//! [`handle_counted`] speaks, in the invocation's span, with its metrics printed at its end.

use bytes::Bytes;
use hookloop_domain::attributes::TRACEPARENT;
use hookloop_runtime::telemetry::{propagation, SpanContext};
use hookloop_runtime::{InvocationIds, Publisher};
use http::{HeaderMap, Method, Request};
use lambda_http::RequestExt;
use tracing::{Instrument, Span};

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
    let span = invocation_span(&ids, &req, invocation.cold_start());
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

/// The span a request is handled in: it continues the sender's W3C `traceparent` header when
/// one reads, else the invocation's own trace (Lambda's X-Ray context), else starts a trace.
/// Named by its route (`POST /webhooks/location`), or its method alone for a path that is no
/// route, so names stay few.
pub fn invocation_span<B>(ids: &InvocationIds, req: &http::Request<B>, cold_start: bool) -> Span {
    let name = span_name(req.method(), req.uri().path());
    ids.span_continuing(sender_trace(req.headers()), &name, cold_start)
}

/// The context a sender's `traceparent` header carries, if it reads.
pub fn sender_trace(headers: &HeaderMap) -> Option<SpanContext> {
    headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(propagation::parse_traceparent)
}

fn span_name(method: &Method, path: &str) -> String {
    match crate::routes::route(method, path) {
        Ok(_) => format!("{method} {path}"),
        Err(_) => method.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_senders_traceparent_is_continued_and_a_bad_one_ignored() {
        let mut headers = HeaderMap::new();
        assert!(sender_trace(&headers).is_none());
        headers.insert(
            TRACEPARENT,
            "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
                .parse()
                .unwrap(),
        );
        let cx = sender_trace(&headers).expect("a valid traceparent");
        assert_eq!(
            format!("{:032x}", cx.trace_id()),
            "5759e988bd862e3fe1be46a994272793"
        );
        headers.insert(TRACEPARENT, "00-nonsense".parse().unwrap());
        assert!(sender_trace(&headers).is_none(), "malformed: a new trace");
    }

    #[test]
    fn spans_are_named_by_route_only() {
        assert_eq!(
            span_name(&Method::POST, "/webhooks/location"),
            "POST /webhooks/location"
        );
        assert_eq!(span_name(&Method::POST, "/anything/123"), "POST");
    }
}
