//! What every log line of an invocation carries: the span each invocation runs in, with the
//! Lambda request id, the trace id and whether it is the process's cold start. The JSON format
//! ([`super::flat_json`]) puts these fields on each line of the invocation, beside the fields of
//! the spans inside it (the processor's per-message span adds `message_id`).

use opentelemetry::trace::SpanContext;
use rand::Rng;
use tracing::{field, info_span, Span};

use crate::telemetry::{self, propagation};

/// Who an invocation is: its request id (Lambda's, or one made up by the local runner) and the
/// trace context it was called in (Lambda's X-Ray header, when there is one).
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationIds {
    pub request_id: String,
    pub parent: Option<SpanContext>,
}

impl InvocationIds {
    /// A Lambda invocation's ids, from its context: the request id and the X-Ray trace header
    /// (a header that does not read is no parent: the invocation starts a trace).
    pub fn lambda(request_id: &str, xray_header: Option<&str>) -> Self {
        InvocationIds {
            request_id: request_id.to_owned(),
            parent: xray_header.and_then(propagation::parse_xray_header),
        }
    }

    /// Ids made up for an invocation outside Lambda (`hookloop serve`, tests): a request id in
    /// Lambda's form; the trace is a new one.
    pub fn local() -> Self {
        InvocationIds {
            request_id: local_request_id(),
            parent: None,
        }
    }

    /// The span the invocation runs in, in the trace of its parent (a new trace without one):
    /// `request_id`, `trace_id` (X-Ray form) and `cold_start` on every line logged inside it.
    pub fn span(&self, cold_start: bool) -> Span {
        self.span_continuing(None, "invocation", cold_start)
    }

    /// [`InvocationIds::span`], continuing `incoming` (a context the caller sent, a W3C
    /// `traceparent`) rather than the invocation's own parent when there is one, and named
    /// `name` in the trace. The name is set before the span joins its trace: joining starts the
    /// OpenTelemetry span, whose name is fixed from then on.
    pub fn span_continuing(
        &self,
        incoming: Option<SpanContext>,
        name: &str,
        cold_start: bool,
    ) -> Span {
        let span = info_span!(
            "invocation",
            request_id = self.request_id.as_str(),
            trace_id = field::Empty,
            cold_start,
            otel.name = field::Empty,
            otel.kind = "server",
        );
        span.record("otel.name", name);
        telemetry::set_attribute(&span, "faas.invocation_id", self.request_id.clone());
        telemetry::set_attribute(&span, "faas.coldstart", cold_start);
        telemetry::join(&span, incoming.or_else(|| self.parent.clone()));
        span
    }
}

/// A request id: a UUID, as Lambda's.
fn local_request_id() -> String {
    let r: u128 = rand::rng().random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (r >> 96) as u32,
        (r >> 80) as u16,
        (r >> 68) as u16 & 0x0fff,
        ((r >> 52) as u16 & 0x3fff) | 0x8000,
        r as u64 & 0xffff_ffff_ffff,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::ids;

    #[test]
    fn a_lambda_invocation_continues_its_xray_trace() {
        let ids = InvocationIds::lambda(
            "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            Some("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"),
        );
        assert_eq!(ids.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        let parent = ids.parent.expect("the X-Ray header reads");
        assert_eq!(
            ids::to_xray(parent.trace_id()),
            "1-5bef4de7-ad49b0e87f6ef6c87fc2e700"
        );
        assert_eq!(InvocationIds::lambda("r", None).parent, None);
        assert_eq!(
            InvocationIds::lambda("r", Some("Root=1-nonsense")).parent,
            None,
            "a header that does not read starts a new trace"
        );
    }

    #[test]
    fn local_request_ids_look_like_lambdas_and_differ_each_time() {
        let request_id = local_request_id();
        let groups: Vec<usize> = request_id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{request_id}");
        assert_ne!(local_request_id(), local_request_id());
        assert_eq!(InvocationIds::local().parent, None);
    }
}
