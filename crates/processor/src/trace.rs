//! The processor's part of each webhook's trace: one span per message, whose parent is the
//! context the message carries (its `traceparent` message attribute first, SQS's
//! `AWSTraceHeader` system attribute second; neither, or neither readable: a new trace), and
//! the calls that serve many messages at once as one child span per message they serve.
//!
//! Per message rather than one span with OpenTelemetry links: a `BatchWriteItem` for ten
//! webhooks then shows in each of the ten traces, which is what "one trace per webhook" asks
//! and what X-Ray (the usual destination, through the ADOT collector) draws; it shows links
//! poorly. Each such span says how many messages shared the call
//! (`messaging.batch.message_count`), so ten spans of one request are not read as ten requests.

use aws_lambda_events::event::sqs::SqsMessage;
use hookloop_domain::attributes as attr;
use hookloop_runtime::telemetry::{self, propagation, spans, SpanContext};
use tracing::{field, info_span, Span};

/// The context `msg` carries: `traceparent` first, `AWSTraceHeader` second.
pub(crate) fn message_context(msg: &SqsMessage) -> Option<SpanContext> {
    let traceparent = msg
        .message_attributes
        .get(attr::TRACEPARENT)
        .and_then(|a| a.string_value.as_deref())
        .and_then(propagation::parse_traceparent);
    traceparent.or_else(|| {
        msg.attributes
            .get(attr::AWS_TRACE_HEADER)
            .and_then(|h| propagation::parse_xray_header(h))
    })
}

/// The span a message is processed in: a child of the current (invocation) span for `tracing`,
/// so its lines carry the invocation's `request_id` and `cold_start`, and in the message's own
/// trace for OpenTelemetry, whose id its lines carry as `trace_id`.
pub(crate) fn message_span(msg: &SqsMessage) -> Span {
    let span = info_span!(
        "message",
        sqs_message_id = msg.message_id.as_deref().unwrap_or(""),
        message_id = field::Empty,
        source = field::Empty,
        trace_id = field::Empty,
        otel.name = field::Empty,
        otel.kind = "consumer",
    );
    let queue = msg
        .event_source_arn
        .as_deref()
        .and_then(|arn| arn.rsplit(':').next())
        .unwrap_or("queue");
    span.record("otel.name", format!("{queue} process"));
    telemetry::set_attribute(&span, "messaging.system", "aws_sqs");
    telemetry::set_attribute(&span, "messaging.operation.type", "process");
    telemetry::set_attribute(&span, "messaging.operation.name", "process");
    telemetry::set_attribute(&span, "messaging.destination.name", queue.to_owned());
    if let Some(id) = &msg.message_id {
        telemetry::set_attribute(&span, "messaging.message.id", id.clone());
    }
    telemetry::join(&span, message_context(msg));
    span
}

/// The spans of one call serving the messages `owners` (indexes into `spans`), one under each
/// message's span; they end when dropped, so hold them across the call.
pub(crate) fn call_spans(
    spans: &[Span],
    owners: &[usize],
    make: impl Fn(&Span) -> Span,
) -> Vec<Span> {
    let mut owners = owners.to_vec();
    owners.sort_unstable();
    owners.dedup();
    owners
        .iter()
        .filter_map(|i| spans.get(*i))
        .map(|parent| {
            let span = make(parent);
            telemetry::set_attribute(&span, "messaging.batch.message_count", owners.len() as i64);
            span
        })
        .collect()
}

/// [`call_spans`] of an AWS call (`"S3"`, `"PutObject"`).
pub(crate) fn aws_call_spans(
    spans: &[Span],
    owners: &[usize],
    service: &'static str,
    method: &'static str,
) -> Vec<Span> {
    call_spans(spans, owners, |parent| {
        spans::aws_call(parent, service, method)
    })
}

/// Runs `call` while `spans` are open: they end with it.
pub(crate) async fn during<T>(spans: Vec<Span>, call: impl std::future::Future<Output = T>) -> T {
    let out = call.await;
    drop(spans);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessageAttribute;

    const W3C: &str = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01";
    const XRAY: &str = "Root=1-6759e988-bd862e3fe1be46a994272793;Parent=63995c3f42cd8ad8;Sampled=1";

    fn message(traceparent: Option<&str>, xray: Option<&str>) -> SqsMessage {
        let mut m = SqsMessage::default();
        if let Some(t) = traceparent {
            let mut a = SqsMessageAttribute::default();
            a.string_value = Some(t.to_owned());
            a.data_type = Some("String".to_owned());
            m.message_attributes.insert(attr::TRACEPARENT.to_owned(), a);
        }
        if let Some(x) = xray {
            m.attributes
                .insert(attr::AWS_TRACE_HEADER.to_owned(), x.to_owned());
        }
        m
    }

    fn trace(cx: Option<SpanContext>) -> Option<String> {
        cx.map(|c| format!("{:032x}", c.trace_id()))
    }

    #[test]
    fn traceparent_first_then_aws_trace_header_then_nothing() {
        assert_eq!(
            trace(message_context(&message(Some(W3C), Some(XRAY)))).as_deref(),
            Some("5759e988bd862e3fe1be46a994272793")
        );
        assert_eq!(
            trace(message_context(&message(None, Some(XRAY)))).as_deref(),
            Some("6759e988bd862e3fe1be46a994272793")
        );
        assert_eq!(
            trace(message_context(&message(Some("00-broken"), Some(XRAY)))).as_deref(),
            Some("6759e988bd862e3fe1be46a994272793"),
            "a malformed traceparent falls back to the X-Ray header"
        );
        assert!(message_context(&message(Some("garbage"), Some("Root=nope"))).is_none());
        assert!(message_context(&message(None, None)).is_none());
    }

    #[test]
    fn an_injected_context_is_extracted_as_sent() {
        let sent = propagation::parse_traceparent(W3C).unwrap();
        let m = message(
            Some(&propagation::traceparent(&sent)),
            Some(&propagation::xray_header(&sent)),
        );
        let got = message_context(&m).unwrap();
        assert_eq!(
            (got.trace_id(), got.span_id()),
            (sent.trace_id(), sent.span_id())
        );
        let only_xray = message(None, Some(&propagation::xray_header(&sent)));
        let got = message_context(&only_xray).unwrap();
        assert_eq!(
            (got.trace_id(), got.span_id()),
            (sent.trace_id(), sent.span_id())
        );
    }

    #[test]
    fn a_message_without_a_context_still_gets_a_trace_id_never_a_panic() {
        for m in [message(None, None), message(Some("\u{0}"), Some(";;;="))] {
            let span = message_span(&m);
            let cx = telemetry::context_of(&span);
            assert!(cx.is_valid());
        }
    }
}
