//! Ingest Lambda: wiring only. Behaviour lives in `hookloop_ingest::handle`.

use hookloop_aws::AwsClients;
use hookloop_ingest::{handle_lambda, Ingest, IngestConfig};
use hookloop_runtime::{logging, with_request_metrics, Registry};
use lambda_http::{run, service_fn, Error, Request};

// One thread: one request per invocation, and a fraction of a vCPU; worker threads would only
// add start-up work and context switches.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = IngestConfig::from_env()?;
    let requests = Registry::new();
    let sdk = hookloop_aws::clients::load_sdk_config().await;
    let clients = AwsClients::with_deadline(&sdk, config.queue_send_timeout, requests.clone());
    let ingest = Ingest::from_config(config, &clients);
    let (ingest, requests) = (&ingest, &requests);
    run(service_fn(move |req: Request| async move {
        let answer = handle_lambda(ingest, req);
        Ok::<_, std::convert::Infallible>(with_request_metrics(requests, "ingest", answer).await)
    }))
    .await
}
