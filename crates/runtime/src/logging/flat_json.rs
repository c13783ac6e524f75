//! JSON log lines with the fields of every span the event is in, flattened into the line.
//!
//! `tracing-subscriber`'s JSON format prints either the current span's fields (under `span`) or
//! a list of spans; neither puts the invocation's `request_id` beside the message's
//! `message_id` at the top of the line, where CloudWatch Logs Insights filters on them
//! (`filter request_id = "..."`). This format does: the spans' fields from the outermost to the
//! innermost, then the event's own, a later one replacing an earlier one of the same name.

use std::fmt;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format (use with `JsonFields` as the span field format, so spans' fields are
/// stored as JSON objects).
pub struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        line.insert("timestamp".into(), now.into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&fields.fields) {
                    line.extend(fields.into_iter().filter(|(k, _)| !is_span_setting(k)));
                }
            }
        }
        event.record(&mut Fields(&mut line));
        let line = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

/// `otel.name`, `otel.kind`, ...: how a span is exported (tracing-opentelemetry's fields), not
/// something a log line says.
fn is_span_setting(field: &str) -> bool {
    field.starts_with("otel.")
}

/// An event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing::{info, info_span};
    use tracing_subscriber::fmt::format::JsonFields;

    use super::*;
    use crate::logging::InvocationIds;

    /// What a test subscriber wrote (shared with `telemetry`'s tests).
    #[derive(Clone, Default)]
    pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        /// The lines written, each one JSON object.
        pub(crate) fn lines(&self) -> Vec<Value> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
                .collect()
        }
    }

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(f: impl FnOnce()) -> Vec<Value> {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        out.lines()
    }

    #[test]
    fn a_message_line_carries_the_invocations_ids_beside_the_message_id() {
        let lines = lines(|| {
            let ids = InvocationIds::lambda(
                "req-1",
                Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
            );
            let invocation = ids.span(true);
            let _i = invocation.enter();
            info!("batch received");
            let message = info_span!("message", message_id = tracing::field::Empty);
            message.record("message_id", "01HWT0D7G0RADARGE0FENCE002");
            let _m = message.enter();
            info!(rows = 2, "stored");
        });
        assert_eq!(lines.len(), 2);
        for line in &lines {
            assert_eq!(line["request_id"], "req-1");
            assert_eq!(line["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
            assert_eq!(line["cold_start"], true);
            assert_eq!(line["level"], "INFO");
            assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        }
        assert_eq!(lines[0]["message"], "batch received");
        assert!(lines[0].get("message_id").is_none());
        assert_eq!(lines[1]["message"], "stored");
        assert_eq!(lines[1]["message_id"], "01HWT0D7G0RADARGE0FENCE002");
        assert_eq!(lines[1]["rows"], 2);
    }

    #[test]
    fn an_inner_field_replaces_an_outer_one_and_a_new_trace_is_logged() {
        let lines = lines(|| {
            let ids = InvocationIds::lambda("req-2", None);
            let invocation = ids.span(false);
            let _i = invocation.enter();
            info!(request_id = "event's own", "x");
        });
        assert_eq!(lines[0]["request_id"], "event's own");
        let trace_id = lines[0]["trace_id"].as_str().unwrap_or_default();
        assert!(
            crate::telemetry::ids::from_xray(trace_id).is_some(),
            "a new trace, X-Ray form: {trace_id}"
        );
        assert!(
            lines[0].get("otel.kind").is_none(),
            "span settings are no log fields"
        );
        assert_eq!(lines[0]["cold_start"], false);
    }
}
