//! Logging: always on stderr, so a command's stdout stays machine-readable (and the request
//! metrics line, printed on stdout, stays one line of its own).
//!
//! The format and the filter follow Lambda's advanced logging controls when the function has
//! them, and the process environment otherwise ([`decide`]):
//!
//! - Format: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`, as the function's `LoggingConfig` sets
//!   it) when set; otherwise JSON lines in Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) or with
//!   `LOG_FORMAT=json`, readable text elsewhere.
//! - Filter: `AWS_LAMBDA_LOG_LEVEL` (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`, the
//!   last one taken as `error`), when set, is the level: it is what an operator changes in the
//!   console, and Lambda drops JSON lines below it anyway. `RUST_LOG` still adds its per-target
//!   directives on top of it (`hookloop_processor=debug`), but a bare level in `RUST_LOG` does
//!   not override Lambda's. Without `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG` is the whole filter, and
//!   `info` when it is unset too (or invalid).
//!
//! Every line of an invocation carries its `request_id`, `trace_id` and `cold_start` (the span
//! of [`InvocationIds::span`]) and, in the processor, the message's `message_id`: JSON
//! lines flatten the fields of every span the line is in ([`flat_json`]).

pub mod context;
pub mod flat_json;

use std::io::IsTerminal;

use tracing::Metadata;
use tracing_subscriber::filter::{filter_fn, FilterFn, LevelFilter};
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use context::InvocationIds;

use crate::config::{process_env, Env};
use crate::telemetry::{spans, Telemetry};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (CloudWatch Logs Insights reads its fields).
    Json,
    /// Readable text, in colour on a terminal.
    Text,
}

/// The level when nothing sets one.
const DEFAULT_LEVEL: &str = "info";

/// The format and the filter directives (`EnvFilter` syntax) the environment asks for; see the
/// module documentation for the rules.
pub fn decide<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> (Format, String) {
    (format(env), filter(env))
}

fn format<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Format {
    match env.optional("AWS_LAMBDA_LOG_FORMAT").as_deref() {
        Some(f) if f.eq_ignore_ascii_case("json") => return Format::Json,
        Some(f) if f.eq_ignore_ascii_case("text") => return Format::Text,
        _ => {}
    }
    let json = env.optional("AWS_LAMBDA_FUNCTION_NAME").is_some()
        || env
            .optional("LOG_FORMAT")
            .is_some_and(|v| v.eq_ignore_ascii_case("json"));
    if json {
        Format::Json
    } else {
        Format::Text
    }
}

fn filter<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> String {
    let lambda_level = env
        .optional("AWS_LAMBDA_LOG_LEVEL")
        .and_then(|l| lambda_level(&l));
    let rust_log = env.optional("RUST_LOG");
    match (lambda_level, rust_log) {
        (Some(level), Some(rust_log)) => std::iter::once(level)
            .chain(
                rust_log
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty() && !is_bare_level(d)),
            )
            .collect::<Vec<_>>()
            .join(","),
        (Some(level), None) => level.to_owned(),
        (None, Some(rust_log)) => rust_log,
        (None, None) => DEFAULT_LEVEL.to_owned(),
    }
}

/// The `tracing` level of a Lambda log level; `None` for a value Lambda does not define.
fn lambda_level(level: &str) -> Option<&'static str> {
    Some(match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => return None,
    })
}

/// A directive that sets the level of every target (`debug`, `off`, `3`) rather than one.
fn is_bare_level(directive: &str) -> bool {
    matches!(
        directive.to_ascii_lowercase().as_str(),
        "trace" | "debug" | "info" | "warn" | "error" | "off" | "0" | "1" | "2" | "3" | "4" | "5"
    )
}

/// The Lambda runtime's own invocation span (`requestId`, `xrayTraceId`) is turned off: the
/// functions' invocation span carries the same ids under the names every line uses.
const RUNTIME_SPAN_OFF: &str = "lambda_runtime::layers::trace=off";

/// Installs the process's subscriber from its environment, without OpenTelemetry. A second
/// call (tests, the local runner hosting both handlers) is a no-op.
pub fn init() {
    install(None);
}

/// [`init`], with the hookloop crates' spans made OpenTelemetry spans of the returned
/// provider ([`Telemetry::from_env`]: exported when `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
/// service `OTEL_SERVICE_NAME` or `default_service`). Flush it at the end of every invocation.
pub fn init_traced(default_service: &str) -> Telemetry {
    let telemetry = Telemetry::from_env(&process_env(), default_service);
    install(Some(&telemetry));
    telemetry
}

/// What the log lines' layer sees: everything but call spans ([`spans::is_call`]), in which no
/// line is ever written (with an exporter they are still made, for the telemetry layer).
pub(crate) fn lines_filter() -> FilterFn<impl Fn(&Metadata<'_>) -> bool> {
    filter_fn(|m| !spans::is_call(m))
}

fn install(telemetry: Option<&Telemetry>) {
    let (format, directives) = decide(&process_env());
    let filter = EnvFilter::try_new(format!("{directives},{RUNTIME_SPAN_OFF}"))
        .unwrap_or_else(|_| EnvFilter::new(format!("{DEFAULT_LEVEL},{RUNTIME_SPAN_OFF}")));
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        Format::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(flat_json::FlatJson)
            .with_writer(std::io::stderr)
            .boxed(),
        Format::Text => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let lines = lines.with_filter(lines_filter());
    // Call spans exist only to be exported: without an exporter their callsites are off for
    // every layer, so `info_span!` hands back a disabled span at once. (Per-layer filters alone
    // do not do it: with the global `EnvFilter` above them the registry still makes the span.)
    // It keeps the filter's level as the process's most verbose, so lines below it are still
    // turned off before any filter is asked.
    let exporting = telemetry.is_some_and(Telemetry::exporting);
    let hint = Layer::<Registry>::max_level_hint(&filter).unwrap_or(LevelFilter::TRACE);
    let calls = filter_fn(move |m| exporting || !spans::is_call(m)).with_max_level_hint(hint);
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(telemetry.map(Telemetry::layer))
        .with(filter)
        .with(calls)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide_with(pairs: &[(&str, &str)]) -> (Format, String) {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        decide(&Env::new(move |k: &str| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        }))
    }

    #[test]
    fn without_lambda_controls_nothing_changes() {
        assert_eq!(decide_with(&[]), (Format::Text, "info".into()));
        assert_eq!(
            decide_with(&[("LOG_FORMAT", "JSON"), ("RUST_LOG", "warn,hookloop=debug")]),
            (Format::Json, "warn,hookloop=debug".into())
        );
        assert_eq!(
            decide_with(&[("AWS_LAMBDA_FUNCTION_NAME", "ingest"), ("RUST_LOG", "")]),
            (Format::Json, "info".into()),
            "JSON in Lambda; an empty RUST_LOG counts as unset"
        );
    }

    #[test]
    fn the_lambda_log_format_decides_when_set() {
        let (format, _) = decide_with(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "processor"),
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
        ]);
        assert_eq!(format, Format::Text, "Text even in Lambda");
        assert_eq!(
            decide_with(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).0,
            Format::Json
        );
        assert_eq!(
            decide_with(&[("AWS_LAMBDA_LOG_FORMAT", "xml"), ("LOG_FORMAT", "json")]).0,
            Format::Json,
            "an unknown value is ignored"
        );
    }

    #[test]
    fn the_lambda_log_level_sets_the_level_and_rust_log_keeps_its_targets() {
        assert_eq!(decide_with(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]).1, "debug");
        assert_eq!(decide_with(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).1, "error");
        assert_eq!(
            decide_with(&[
                ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
                (
                    "RUST_LOG",
                    "info, hookloop_processor=debug,,aws_smithy_runtime=off"
                )
            ])
            .1,
            "warn,hookloop_processor=debug,aws_smithy_runtime=off",
            "RUST_LOG's bare level gives way; its per-target directives stay"
        );
        assert_eq!(
            decide_with(&[("AWS_LAMBDA_LOG_LEVEL", "loud"), ("RUST_LOG", "debug")]).1,
            "debug",
            "an unknown Lambda level is ignored"
        );
    }

    #[test]
    fn every_decided_filter_parses() {
        let envs: [&[(&str, &str)]; 3] = [
            &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "error"),
                ("RUST_LOG", "hookloop_ingest=info"),
            ],
            &[],
        ];
        for env in envs {
            let (_, directives) = decide_with(env);
            assert!(EnvFilter::try_new(&directives).is_ok(), "{directives}");
        }
    }
}
