//! Ingest Lambda: wiring only. Behaviour lives in `hookloop_ingest::handle`.

use hookloop_aws::telemetry::with_request_metrics;
use hookloop_aws::AwsClients;
use hookloop_ingest::{handle_lambda, Ingest, IngestConfig};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookloop_aws::telemetry::init();
    let config = IngestConfig::from_env()?;
    let sdk = hookloop_aws::clients::load_sdk_config().await;
    let clients = AwsClients::with_deadline(&sdk, config.queue_send_timeout);
    let ingest = Ingest::from_config(config, &clients);
    let ingest = &ingest;
    run(service_fn(move |req: Request| async move {
        let answer = handle_lambda(ingest, req);
        Ok::<_, std::convert::Infallible>(with_request_metrics("ingest", answer).await)
    }))
    .await
}
