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
