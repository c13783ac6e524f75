//! One OpenTelemetry trace per webhook (docs/observability.md).
//!
//! `tracing` spans of the hookloop crates are OpenTelemetry spans (through
//! `tracing-opentelemetry`; events stay log lines, not span events). The process has one tracer
//! provider: with an exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP/protobuf),
//! without one otherwise, when ids are still made, propagated and logged and nothing is sent.
//!
//! A span joins a trace with [`join`]: its parent is a context read from outside (a
//! `traceparent`, an X-Ray header: [`propagation`]) or, without one, the span starts a trace.
//! [`join`] records the trace's id as the span's `trace_id` field, so every log line inside the
//! span carries it ([`crate::logging::flat_json`] writes an inner span's field over an outer one).

pub mod ids;
pub mod propagation;
pub mod spans;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{IdGenerator, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::{Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{filter_fn, Filtered};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::Env;
pub use ids::XrayIds;
pub use opentelemetry::trace::SpanContext;

/// The standard variable that turns export on: the collector's base URL (`/v1/traces` is added).
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The standard variable naming the service; each function has its default.
pub const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
/// Default service names.
pub const INGEST_SERVICE: &str = "hookloop-ingest";
pub const PROCESSOR_SERVICE: &str = "hookloop-processor";
/// `hookloop serve` hosts both functions in one process, so one service.
pub const SERVE_SERVICE: &str = "hookloop-serve";

/// Only the hookloop crates' spans become OpenTelemetry spans: the SDK's and the runtime's own
/// spans would be many per request and say nothing the per-call spans do not.
const TRACED_TARGET_PREFIX: &str = "hookloop";

/// The process's tracer provider. [`Telemetry::flush`] at the end of every Lambda invocation:
/// the environment freezes once the answer is sent, with spans still in the batch.
#[derive(Debug, Clone)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// The provider the environment asks for: exporting over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// is set (an exporter that cannot be built is reported and leaves export off), service name
    /// `OTEL_SERVICE_NAME` or `default_service`. Sampling is the SDK's, parent-based unless
    /// `OTEL_TRACES_SAMPLER` says otherwise.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>, default_service: &str) -> Self {
        let service = env
            .optional(SERVICE_NAME_VAR)
            .unwrap_or_else(|| default_service.to_owned());
        let builder = SdkTracerProvider::builder()
            .with_id_generator(XrayIds)
            .with_resource(Resource::builder().with_service_name(service).build());
        let exporter = env.optional(OTLP_ENDPOINT_VAR).and_then(|_| {
            use opentelemetry_otlp::{Protocol, WithExportConfig};
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .build()
                .map_err(|e| eprintln!("OpenTelemetry export off: {e}"))
                .ok()
        });
        match exporter {
            Some(exporter) => Telemetry {
                provider: builder.with_batch_exporter(exporter).build(),
                exporting: true,
            },
            None => Telemetry {
                provider: builder.build(),
                exporting: false,
            },
        }
    }

    /// Whether spans leave the process.
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Sends the spans ended so far and waits for the answer; nothing when not exporting.
    pub fn flush(&self) {
        if self.exporting {
            if let Err(e) = self.provider.force_flush() {
                tracing::warn!(error = %e, "spans could not be exported");
            }
        }
    }

    /// The `tracing` layer that makes the hookloop crates' spans OpenTelemetry spans. (Without
    /// an exporter, [`crate::logging::init_traced`] turns call spans off for every layer.)
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let layer: Filtered<_, _, S> = tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("hookloop"))
            .with_filter(filter_fn(|m| {
                m.is_span() && m.target().starts_with(TRACED_TARGET_PREFIX)
            }));
        layer
    }
}

/// Makes `span` part of `parent`'s trace (a new trace when `None`, whatever span it is in), records the trace id, in
/// X-Ray's form, as the span's `trace_id` field, and returns the span's own context: the parent
/// to hand on (a `traceparent`, an `AWSTraceHeader`). Without the OpenTelemetry layer (unit
/// tests), a context is made up so ids are still logged and propagated.
pub fn join(span: &Span, parent: Option<SpanContext>) -> SpanContext {
    let parent_cx = match &parent {
        Some(parent) => Context::new().with_remote_span_context(parent.clone()),
        None => Context::new(),
    };
    let _ = span.set_parent(parent_cx);
    let mut cx = span.context().span().span_context().clone();
    if !cx.is_valid() {
        let trace_id = parent
            .as_ref()
            .map(SpanContext::trace_id)
            .unwrap_or_else(|| XrayIds.new_trace_id());
        let flags = parent
            .as_ref()
            .map(SpanContext::trace_flags)
            .unwrap_or(opentelemetry::trace::TraceFlags::SAMPLED);
        cx = SpanContext::new(
            trace_id,
            XrayIds.new_span_id(),
            flags,
            false,
            Default::default(),
        );
    }
    span.record("trace_id", ids::to_xray(cx.trace_id()).as_str());
    cx
}

/// The context of `span` (started if it was not): the parent to hand on for what it calls.
/// Without the OpenTelemetry layer (unit tests), one made up in a new trace.
pub fn context_of(span: &Span) -> SpanContext {
    let cx = span.context().span().span_context().clone();
    if cx.is_valid() {
        return cx;
    }
    SpanContext::new(
        XrayIds.new_trace_id(),
        XrayIds.new_span_id(),
        opentelemetry::trace::TraceFlags::SAMPLED,
        false,
        Default::default(),
    )
}

/// Sets an OpenTelemetry attribute on `span` without making it a `tracing` field (so it is on
/// the exported span, not on every log line).
pub fn set_attribute(span: &Span, key: &'static str, value: impl Into<opentelemetry::Value>) {
    span.set_attribute(key, value);
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tracing::{field, info, info_span};
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::logging::flat_json::tests::Captured;
    use crate::logging::flat_json::FlatJson;

    /// The JSON lines `f` logs with the functions' subscriber: flattened lines and the
    /// OpenTelemetry layer, exporting (to a closed port: call spans are made only for an
    /// exporter; without one, `tests/call_spans.rs`).
    fn traced_lines(f: impl FnOnce()) -> Vec<Value> {
        let out = Captured::default();
        let writer = out.clone();
        let telemetry = Telemetry::from_env(
            &Env::new(|k| (k == OTLP_ENDPOINT_VAR).then(|| "http://127.0.0.1:9".into())),
            "test",
        );
        assert!(telemetry.exporting(), "on with OTEL_EXPORTER_OTLP_ENDPOINT");
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .fmt_fields(JsonFields::new())
                    .event_format(FlatJson)
                    .with_filter(crate::logging::lines_filter()),
            )
            .with(telemetry.layer());
        tracing::subscriber::with_default(subscriber, f);
        out.lines()
    }

    #[test]
    fn a_span_joins_its_parents_trace_and_its_lines_say_so_over_the_outer_ones() {
        let parent = propagation::parse_traceparent(
            "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
        )
        .unwrap();
        let mut seen = Vec::new();
        let lines = traced_lines(|| {
            let outer = info_span!("invocation", request_id = "r-1", trace_id = field::Empty);
            let outer_cx = join(&outer, None);
            let _o = outer.enter();
            info!("batch");
            let message = info_span!("message", trace_id = field::Empty);
            let cx = join(&message, Some(parent.clone()));
            seen.push((outer_cx, cx.clone()));
            let _m = message.enter();
            info!("stored");
            let call = spans::aws_call(&message, "S3", "PutObject");
            seen.push((cx, context_of(&call)));
        });
        let [(outer, message), (message_again, call)] = &seen[..] else {
            panic!("{seen:?}")
        };
        assert_eq!(message.trace_id(), parent.trace_id(), "the parent's trace");
        assert_ne!(message.span_id(), parent.span_id(), "a span of its own");
        assert_ne!(
            outer.trace_id(),
            message.trace_id(),
            "no parent: a new trace"
        );
        assert_eq!(message_again, message);
        assert_eq!(
            call.trace_id(),
            message.trace_id(),
            "a call is in its message's trace"
        );
        assert_eq!(lines[0]["trace_id"], ids::to_xray(outer.trace_id()));
        assert_eq!(lines[1]["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(
            lines[1]["request_id"], "r-1",
            "the outer span's fields stay"
        );
    }
}
