//! What the processor's spans cost per message, with the functions' own subscriber (JSON lines
//! at INFO, the OpenTelemetry layer, nothing exported): one message span joined to a trace, eight
//! call spans under it (a message shares about that many batch calls), one `stored` line.
//! `make bench` runs it (BENCHMARKS.md, section 4b); the lines go to stderr, the figures to
//! stdout:
//!
//! ```text
//! AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO \
//!   cargo run --release -p hookloop-runtime --example span_cost 2>/dev/null
//! ```

use std::time::Instant;

use hookloop_runtime::telemetry::{self, spans};
use tracing::{field, info, info_span};

const MESSAGES: u32 = 10_000;
const CALLS_PER_MESSAGE: usize = 8;

fn main() {
    let _telemetry = hookloop_runtime::logging::init_traced("span-cost");
    let invocation = info_span!("invocation", request_id = "r-1", trace_id = field::Empty);
    telemetry::join(&invocation, None);
    let _entered = invocation.enter();
    for round in 1..=3 {
        let start = Instant::now();
        for _ in 0..MESSAGES {
            let message = info_span!(
                "message",
                message_id = field::Empty,
                trace_id = field::Empty
            );
            telemetry::join(&message, None);
            telemetry::set_attribute(&message, "messaging.system", "aws_sqs");
            let calls: Vec<_> = (0..CALLS_PER_MESSAGE)
                .map(|_| spans::aws_call(&message, "DynamoDB", "PutItem"))
                .collect();
            drop(calls);
            let _m = message.enter();
            info!(rows = 2, "stored");
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(MESSAGES);
        println!("round {round}: {per:.1} µs per message (spans and one line)");
    }
}
