//! Ingest Lambda: wiring only. Behaviour lives in `hookloop_ingest::handle`.

use hookloop_ingest::{handle_lambda, Ingest};
use hookloop_runtime::{logging, with_request_metrics, Registry};
use lambda_http::{run, service_fn, Error, Request};

// One thread: one request per invocation, and a fraction of a vCPU; worker threads would only
// add start-up work and context switches.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let requests = Registry::new();
    let sdk = hookloop_aws::clients::load_sdk_config().await;
    let ingest = Ingest::from_env(&sdk, requests.clone()).await?;
    let (ingest, requests) = (&ingest, &requests);
    run(service_fn(move |req: Request| async move {
        let answer = handle_lambda(ingest, req);
        Ok::<_, std::convert::Infallible>(with_request_metrics(requests, "ingest", answer).await)
    }))
    .await
}
