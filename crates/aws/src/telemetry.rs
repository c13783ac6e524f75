//! Logging: JSON lines in Lambda (or with `LOG_FORMAT=json`), readable text elsewhere; always
//! on stderr, so a command's stdout stays machine-readable. `RUST_LOG` sets the filter.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let json = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok()
        || std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: a second call (tests, the local runner hosting both handlers) is a no-op.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .try_init()
    } else {
        builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

/// CloudWatch namespace of the request metrics.
pub const METRICS_NAMESPACE: &str = "hookloop";

/// Runs one invocation and then prints, as one CloudWatch embedded-metric-format line on stdout,
/// the requests it sent by service and operation (`Requests.<service>.<Operation>`, dimension
/// `Function`). A Lambda process runs one invocation at a time, so the difference of two
/// snapshots is exactly this invocation's. Printed only in Lambda or with `EMF_METRICS=true`.
pub async fn with_request_metrics<F: std::future::Future>(function: &str, f: F) -> F::Output {
    let before = crate::requests::snapshot();
    let out = f.await;
    if emf_enabled() {
        let counts = crate::requests::snapshot().since(&before);
        if !counts.0.is_empty() {
            let now_ms =
                (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
            println!("{}", counts.emf(METRICS_NAMESPACE, function, now_ms));
        }
    }
    out
}

fn emf_enabled() -> bool {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok()
        || std::env::var("EMF_METRICS").is_ok_and(|v| v == "true")
}
