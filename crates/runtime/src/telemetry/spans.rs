//! The spans of calls to other services, named and attributed by OpenTelemetry's semantic
//! conventions: an AWS call is `<Service>.<Operation>` (`S3.PutObject`), kind client (producer
//! for an SQS send), with `rpc.system=aws-api`, `rpc.service`, `rpc.method`; an SQS send adds
//! `messaging.system=aws_sqs`, the operation and the queue's name.

use tracing::{field, info_span, Span};

use super::set_attribute;

/// The span of one call of `service`'s `method` (`"S3"`, `"PutObject"`), child of `parent`.
pub fn aws_call(parent: &Span, service: &'static str, method: &'static str) -> Span {
    let span =
        info_span!(parent: parent, "aws_call", otel.name = field::Empty, otel.kind = "client");
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
    set_attribute(&span, "http.request.method", method);
    set_attribute(&span, "peer.service", peer);
    span
}
