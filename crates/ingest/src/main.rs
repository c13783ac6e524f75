//! Ingest Lambda: wiring only. Behaviour lives in `hookloop_ingest::handle`.

use hookloop_aws::sqs::Queue;
use hookloop_ingest::{handle_lambda, Ingest, IngestConfig};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookloop_aws::telemetry::init();
    let config = IngestConfig::from_env()?;
    let sdk = hookloop_aws::clients::load_sdk_config().await;
    let queue = Queue::new(
        hookloop_aws::clients::sqs_with_deadline(&sdk, config.queue_send_timeout),
        config.queue_url,
    );
    let ingest = Ingest {
        queue,
        auth: config.auth,
        max_body_bytes: config.max_body_bytes,
    };
    let ingest = &ingest;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(handle_lambda(ingest, req).await)
    }))
    .await
}
