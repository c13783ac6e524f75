//! Compactor Lambda: wiring only. Behaviour lives in `hookloop_compactor::handle` and
//! `hookloop_curated`.
// The run's futures (listing, reading, encoding, writing) nest deeply, as the processor's do:
// rustc's default layout query depth overflows on the async main.
#![recursion_limit = "256"]

use hookloop_aws::{s3::RawArchive, AwsClients};
use hookloop_compactor::handle;
use hookloop_curated::{settings_from_env, Compactor};
use hookloop_runtime::metrics::names::COMPACTOR;
use hookloop_runtime::{logging, process_env, with_request_metrics, Registry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

// One thread: the run is a chain of S3 requests and one Parquet encode at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let env = process_env();
    let bucket = env.required("RAW_BUCKET")?;
    let settings = settings_from_env(&env)?;
    let requests = Registry::new();
    let clients = AwsClients::from_env(requests.clone()).await;
    let compactor = Compactor::new(RawArchive::new(clients.s3.clone(), bucket), settings);
    let (compactor, requests) = (&compactor, &requests);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let run = handle(compactor, &event.payload, time::OffsetDateTime::now_utc());
        with_request_metrics(requests, COMPACTOR, run)
            .await
            .map_err(Error::from)
    }))
    .await
}
