//! Processor Lambda: wiring only. Behaviour lives in `hookloop_processor::handle`.
// The processor's futures (store, load-back, uploads) nest deeply; a clean build once overflowed
// rustc's default layout query depth on the async main.
#![recursion_limit = "256"]

use hookloop_aws::AwsClients;
use hookloop_processor::event::{Answer, Invoked, ProcessorEvent};
use hookloop_processor::{check_exports_as, deadline_from, handle_as, Processor, ProcessorConfig};
use hookloop_runtime::{logging, telemetry, with_request_metrics, InvocationIds, Registry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

// One thread: a Lambda function gets a fraction of a vCPU, so worker threads only add context
// switches (make bench: 133 -> 109 us of CPU per message end to end); the batch's requests
// still run concurrently on it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Spans exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let telemetry = logging::init_traced(telemetry::PROCESSOR_SERVICE);
    let config = ProcessorConfig::from_env()?;
    // The AWS clients and the CleverTap client count into it; each invocation prints its share.
    let requests = Registry::new();
    let clients = AwsClients::from_env(requests.clone()).await;
    let processor = Processor::new(&clients, config)?;
    let (processor, requests, telemetry) = (&processor, &requests, &telemetry);
    run(service_fn(
        move |event: LambdaEvent<ProcessorEvent>| async move {
            let deadline = deadline_from(event.context.deadline());
            let ids = InvocationIds::lambda(
                &event.context.request_id,
                event.context.xray_trace_id.as_deref(),
            );
            let metrics = processor.metrics();
            let answer = match event.payload.invoked()? {
                Invoked::Batch(batch) => {
                    let batch = handle_as(processor, batch, Some(deadline), &ids);
                    Ok(Answer::Batch(
                        with_request_metrics(requests, metrics, batch).await,
                    ))
                }
                Invoked::ExportsCheck { at } => {
                    let at = at.unwrap_or_else(time::OffsetDateTime::now_utc);
                    let check = check_exports_as(processor, at, Some(deadline), &ids);
                    // A check that could not read the exports is an error: EventBridge's
                    // asynchronous invocation is retried, and the function's Errors alarm sees it.
                    with_request_metrics(requests, metrics, check)
                        .await
                        .map(|report| Answer::Check(report.to_json()))
                }
            };
            // Lambda freezes the environment once the answer is sent: the spans go out first.
            telemetry.flush();
            Ok::<_, Error>(answer?)
        },
    ))
    .await
}
