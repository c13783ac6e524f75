//! Ingest Lambda: wiring only. Behaviour lives in `hookloop_ingest::handle`.

use hookloop_ingest::{handle_lambda, Ingest};
use hookloop_runtime::metrics::names::INGEST;
use hookloop_runtime::{logging, telemetry, with_request_metrics, Publisher, Registry};
use lambda_http::{run, service_fn, Error, Request};

// One thread: one request per invocation, and a fraction of a vCPU; worker threads would only
// add start-up work and context switches.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Spans exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let telemetry = logging::init_traced(telemetry::INGEST_SERVICE);
    let requests = Registry::new();
    // What every metrics line carries (`Stack` from `STACK_NAME`), read once.
    let metrics = Publisher::from_env(INGEST);
    let sdk = hookloop_aws::clients::load_sdk_config().await;
    let ingest = Ingest::from_env(&sdk, requests.clone()).await?;
    let (ingest, requests, metrics, telemetry) = (&ingest, &requests, &metrics, &telemetry);
    run(service_fn(move |req: Request| async move {
        let answer = handle_lambda(ingest, metrics, req);
        let answer = with_request_metrics(requests, metrics, answer).await;
        // Lambda freezes the environment once the answer is sent: the spans go out first.
        telemetry.flush();
        Ok::<_, std::convert::Infallible>(answer)
    }))
    .await
}
