//! Ingest Lambda: wiring only. Behaviour lives in `hookloop_ingest::handle`.

use hookloop_ingest::{handle_lambda, Ingest};
use hookloop_runtime::metrics::names::INGEST;
use hookloop_runtime::{logging, with_request_metrics, Publisher, Registry};
use lambda_http::{run, service_fn, Error, Request};

// One thread: one request per invocation, and a fraction of a vCPU; worker threads would only
// add start-up work and context switches.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let requests = Registry::new();
    // What every metrics line carries (`Stack` from `STACK_NAME`), read once.
    let metrics = Publisher::from_env(INGEST);
    let sdk = hookloop_aws::clients::load_sdk_config().await;
    let ingest = Ingest::from_env(&sdk, requests.clone()).await?;
    let (ingest, requests, metrics) = (&ingest, &requests, &metrics);
    run(service_fn(move |req: Request| async move {
        let answer = handle_lambda(ingest, metrics, req);
        Ok::<_, std::convert::Infallible>(with_request_metrics(requests, metrics, answer).await)
    }))
    .await
}
