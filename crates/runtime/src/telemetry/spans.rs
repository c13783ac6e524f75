//! The spans of calls to other services, named and attributed by OpenTelemetry's semantic
//! conventions: an AWS call is `<Service>.<Operation>` (`S3.PutObject`), kind client (producer
//! for an SQS send), with `rpc.system=aws-api`, `rpc.service`, `rpc.method`; an SQS send adds
//! `messaging.system=aws_sqs`, the operation and the queue's name.

use tracing::{field, info_span, Metadata, Span};

use super::set_attribute;

/// The spans of calls ([`aws_call`], [`http_call`]): never entered, so no log line is ever in
/// one; they exist only to be exported. Without an exporter they are not made at all
/// ([`crate::logging::init_traced`] turns their callsites off): a batch of 1,000 messages makes
/// several thousand of them (one per message per call it shares), about 15 µs of CPU per
/// message built as OpenTelemetry spans no one receives (`BENCHMARKS.md`, section 4b).
const CALL_SPANS: [&str; 2] = ["aws_call", "http_call"];

/// Whether `meta` is a call span's callsite (one of this module's).
pub fn is_call(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.target() == module_path!() && CALL_SPANS.contains(&meta.name())
}

/// The span of one call of `service`'s `method` (`"S3"`, `"PutObject"`), child of `parent`;
/// disabled when nothing exports spans.
pub fn aws_call(parent: &Span, service: &'static str, method: &'static str) -> Span {
    let span =
        info_span!(parent: parent, "aws_call", otel.name = field::Empty, otel.kind = "client");
    if span.is_disabled() {
        return span;
    }
    span.record("otel.name", format!("{service}.{method}"));
    set_attribute(&span, "rpc.system", "aws-api");
    set_attribute(&span, "rpc.service", service);
    set_attribute(&span, "rpc.method", method);
    span
}

/// The span of a `SendMessage` to `queue` (its name), child of the current span: kind
/// producer, its context the one the message carries.
pub fn sqs_send(queue: &str) -> Span {
    let span = info_span!(
        "sqs_send",
        otel.name = "SQS.SendMessage",
        otel.kind = "producer"
    );
    set_attribute(&span, "rpc.system", "aws-api");
    set_attribute(&span, "rpc.service", "SQS");
    set_attribute(&span, "rpc.method", "SendMessage");
    set_attribute(&span, "messaging.system", "aws_sqs");
    set_attribute(&span, "messaging.operation.type", "send");
    set_attribute(&span, "messaging.operation.name", "send");
    set_attribute(&span, "messaging.destination.name", queue.to_owned());
    span
}

/// The span of one HTTP request (`POST`) to another service (`peer`, `"CleverTap"`), named
/// `name` (`"CleverTap upload"`), child of `parent`: kind client, `http.request.method`,
/// `peer.service`.
pub fn http_call(
    parent: &Span,
    method: &'static str,
    peer: &'static str,
    name: &'static str,
) -> Span {
    let span = info_span!(parent: parent, "http_call", otel.name = name, otel.kind = "client");
    if span.is_disabled() {
        return span;
    }
    set_attribute(&span, "http.request.method", method);
    set_attribute(&span, "peer.service", peer);
    span
}
