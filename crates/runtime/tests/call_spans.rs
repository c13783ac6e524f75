//! The functions' own subscriber (`logging::init_traced`, as both Lambdas and `hookloop serve`
//! install it), export off: call spans are not made at all, message spans still are and give
//! their lines a trace id. A test binary of its own: the subscriber is the process's, and
//! whether a callsite is on is decided once per process.

use hookloop_runtime::logging;
use hookloop_runtime::telemetry::{self, spans};
use tracing::{field, info_span};

#[test]
fn without_an_exporter_no_call_span_is_made_and_messages_still_get_their_trace() {
    let telemetry = logging::init_traced("test");
    assert!(!telemetry.exporting());
    if std::env::var_os("RUST_LOG").is_none() && std::env::var_os("AWS_LAMBDA_LOG_LEVEL").is_none()
    {
        assert_eq!(
            tracing::level_filters::LevelFilter::current(),
            tracing::level_filters::LevelFilter::INFO,
            "debug lines stay off before any filter is asked (the call-span filter keeps the level)"
        );
    }
    // A hookloop crate's span, as the processor's message spans are (the telemetry layer takes
    // only those).
    let message =
        info_span!(target: "hookloop_processor::trace", "message", trace_id = field::Empty);
    assert!(!message.is_disabled(), "a message span is made");
    let cx = telemetry::join(&message, None);
    assert_eq!(
        telemetry::context_of(&message),
        cx,
        "the message's own context, not one made up for a span the layer never saw"
    );
    for _ in 0..2 {
        assert!(spans::aws_call(&message, "S3", "PutObject").is_disabled());
        assert!(spans::http_call(&message, "POST", "CleverTap", "CleverTap upload").is_disabled());
    }
}
