//! `hookloop serve`: the ingest handler over HTTP and the processor handler behind an SQS
//! poller, the same functions the Lambdas run.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use hookloop_aws::clients::load_sdk_config;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsClients;
use hookloop_ingest::{Gate, Ingest, IngestConfig, Rejection};
use hookloop_processor::{check_exports_as, Processor, ProcessorConfig};
use hookloop_runtime::config::Env;
use hookloop_runtime::metrics::names::INGEST;
use hookloop_runtime::metrics::Registry;
use hookloop_runtime::{Invocation, InvocationIds, Publisher};
use tokio::sync::{watch, Semaphore};
use tracing::{info, Instrument};

use crate::poller::{self, PollerSettings};
use crate::CliError;

/// API Gateway HTTP APIs refuse bodies over 10 MB before the function sees them. A request
/// refused before its body is read has that much of it read and dropped in the background, so
/// a sender that writes its whole body before reading the answer gets the answer.
const GATEWAY_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// How long a request's body may take to arrive, by default. API Gateway gives a whole
/// request 30 s; a sender's body of a few MB arrives in well under a second.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 10_000;

#[derive(clap::Args)]
pub struct Args {
    /// Address to serve the ingest routes on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Most messages per processor invocation (Lambda's BatchSize).
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// How long to gather a batch once its first message arrived (Lambda's batching window).
    #[arg(long, default_value_t = 100)]
    batch_window_ms: u64,
    /// Concurrent pollers, each running one processor invocation at a time (Lambda's
    /// MaximumConcurrency).
    #[arg(long, default_value_t = 2)]
    pollers: usize,
    /// Requests handled at once by the ingest (Lambda's concurrency); more wait for a slot.
    /// Keeps a burst from opening more connections than the emulator can accept.
    #[arg(long, default_value_t = 64)]
    ingest_concurrency: usize,
    /// Time a request's body may take to arrive before it is answered 408. Bodies are read
    /// before an ingest slot is taken, so slow senders cannot hold slots.
    #[arg(long, default_value_t = DEFAULT_BODY_TIMEOUT_MS)]
    body_timeout_ms: u64,
    /// Time each processor invocation may take (Lambda's function timeout); keep it below the
    /// queue's visibility timeout (30 s from `hookloop init`).
    #[arg(long, default_value_t = 25)]
    processor_timeout_secs: u64,
    /// Also run the CleverTap stand-in on this address and load back to it: unless CleverTap is
    /// configured in the environment, the processor uses one account `default` at the stand-in
    /// and `LOADBACK_RULES` defaults to infra/loadback-rules.json.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:3999")]
    clevertap_stub: Option<SocketAddr>,
    /// Run the export check (docs/exports.md) at start and every this many minutes, as the
    /// stack's schedule does every 15; 0: never (run `hookloop exports check` by hand).
    #[arg(long, default_value_t = 15, value_name = "MINUTES")]
    exports_check_minutes: u64,
}

/// The stand-in's account, for `serve --clevertap-stub`.
pub const STUB_ACCOUNT_ID: &str = "HOOKLOOP-LOCAL";
pub const STUB_PASSCODE: &str = "local-passcode";
pub const EXAMPLE_RULES: &str = "infra/loadback-rules.json";

/// Starts the stand-in and returns the environment that points load-back at it.
async fn start_stub(addr: SocketAddr) -> Result<Vec<(&'static str, String)>, CliError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| CliError::Listen { addr, source })?;
    let stub = hookloop_clevertap::stub::Stub::start(
        listener,
        hookloop_clevertap::stub::StubConfig {
            accounts: [(STUB_ACCOUNT_ID.to_owned(), STUB_PASSCODE.to_owned())].into(),
            max_concurrency: hookloop_clevertap::account::CLEVERTAP_MAX_CONCURRENT_REQUESTS,
            latency: Duration::ZERO,
        },
    )
    .await
    .map_err(|source| CliError::Listen { addr, source })?;
    info!(url = %stub.base_url(), "CleverTap stand-in: POST /1/upload; GET /_stub/accepted, /_stub/stats");
    Ok(vec![
        ("CLEVERTAP_ACCOUNT_ID", STUB_ACCOUNT_ID.to_owned()),
        ("CLEVERTAP_PASSCODE", STUB_PASSCODE.to_owned()),
        ("CLEVERTAP_API_URL", stub.base_url()),
        ("LOADBACK_RULES", EXAMPLE_RULES.to_owned()),
    ])
}

/// The processor's configuration: the environment, with the stand-in's account filling in
/// when load-back is not configured there.
fn processor_config(stub_env: Vec<(&'static str, String)>) -> Result<ProcessorConfig, CliError> {
    let configured = ["CLEVERTAP_ACCOUNTS", "CLEVERTAP_ACCOUNT_ID"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));
    let lookup = move |k: &str| {
        let from_env = std::env::var(k).ok().filter(|v| !v.is_empty());
        if configured {
            return from_env;
        }
        match stub_env.iter().find(|(name, _)| *name == k) {
            Some((_, v)) if k == "LOADBACK_RULES" => from_env.or_else(|| Some(v.clone())),
            Some((_, v)) => Some(v.clone()),
            None => from_env,
        }
    };
    Ok(ProcessorConfig::read(&Env::new(lookup))?)
}

#[derive(Clone)]
struct IngestState {
    ingest: Arc<Ingest<Queue>>,
    /// The ingest's metrics, printed per request with `EMF_METRICS=true` as the Lambda prints
    /// them per invocation.
    metrics: Arc<Publisher>,
    slots: Arc<Semaphore>,
    body_timeout: Duration,
}

/// One request as one ingest invocation: logged with a request id made up for it and the
/// webhook's trace id (continuing a sender's `traceparent`, as the Lambda does), and its metrics
/// (refusals before the handler included) printed at its end.
async fn ingest_route(State(state): State<IngestState>, req: Request) -> Response {
    let mut invocation = state.metrics.start();
    let span =
        hookloop_ingest::invocation_span(&InvocationIds::local(), &req, invocation.cold_start());
    let answer = ingest_request(&state, req, &mut invocation)
        .instrument(span)
        .await;
    state.metrics.publish(&invocation);
    answer
}

/// Route and header credentials before any body is read, the body read within the size limit
/// and the body timeout, and only then an ingest slot and the handler (which checks everything
/// again, as the Lambda does). `/health` takes no slot.
async fn ingest_request(
    state: &IngestState,
    req: Request,
    invocation: &mut Invocation,
) -> Response {
    let ingest = &state.ingest;
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let refuse = |r: Rejection, stream, invocation: &mut Invocation| {
        tokio::spawn(drain(stream, state.body_timeout));
        r.log(parts.uri.path());
        r.count(invocation);
        r.into_response().map(Body::from)
    };
    match ingest.admit_headers(&parts.method, parts.uri.path(), &parts.headers) {
        Err(r) => return refuse(r, stream, invocation),
        Ok(Gate::Health) => {
            let req = http::Request::from_parts(parts, Bytes::new());
            return hookloop_ingest::handle(ingest, req).await.map(Body::from);
        }
        Ok(Gate::Webhook) => {}
    }
    let limit = ingest.max_body_bytes;
    if let Some(declared) = content_length(&parts.headers).filter(|n| *n > limit) {
        return refuse(
            Rejection::PayloadTooLarge {
                size: declared,
                limit,
                what: "body (its Content-Length)",
            },
            stream,
            invocation,
        );
    }
    let read = tokio::time::timeout(state.body_timeout, read_body(&mut stream, limit)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(r)) => return refuse(r, stream, invocation),
        Err(_) => {
            let r = Rejection::BodyTimeout {
                after: state.body_timeout,
            };
            r.log(parts.uri.path());
            r.count(invocation);
            return r.into_response().map(Body::from);
        }
    };
    let Ok(_slot) = state.slots.acquire().await else {
        return refuse(Rejection::QueueUnavailable, stream, invocation);
    };
    let req = http::Request::from_parts(parts, bytes);
    hookloop_ingest::handle_counted(ingest, req, invocation)
        .await
        .map(Body::from)
}

fn content_length(headers: &http::HeaderMap) -> Option<usize> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The whole body, refused as soon as it passes `limit`; a body that ends early (the
/// connection closed before its Content-Length) or cannot be read is a 400.
async fn read_body(stream: &mut BodyStream, limit: usize) -> Result<Bytes, Rejection> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Rejection::IncompleteBody {
            reason: "the body ended before its Content-Length, or could not be read",
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(Rejection::BodyOverLimit { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

type BodyStream = axum::body::BodyDataStream;

/// Reads and drops what is left of a refused request's body, up to API Gateway's request limit
/// and for at most `timeout`: bounded work, nothing kept, and the sender reads its answer.
async fn drain(mut stream: BodyStream, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, async {
        let mut read = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > GATEWAY_MAX_REQUEST_BYTES {
                return;
            }
        }
    })
    .await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The scheduled export check at start and then every `every`, each within `timeout` as an
/// invocation, until `stopped`.
async fn check_exports_every(
    processor: Arc<Processor>,
    every: Duration,
    timeout: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        let deadline = std::time::Instant::now() + timeout;
        let now = time::OffsetDateTime::now_utc();
        match check_exports_as(&processor, now, Some(deadline), &InvocationIds::local()).await {
            Ok(r) => info!(
                checked = r.checked,
                raised = r.raised.len(),
                failed = r.failed.len(),
                "export check"
            ),
            Err(e) => tracing::warn!(error = %e, "export check could not read the exports"),
        }
    }
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    if args.batch_size == 0 || args.pollers == 0 || args.body_timeout_ms == 0 {
        return Err(CliError::Usage(
            "--batch-size, --pollers and --body-timeout-ms must be at least 1".into(),
        ));
    }
    let ingest_config = IngestConfig::from_env()?;
    let stub_env = match args.clevertap_stub {
        Some(addr) => start_stub(addr).await?,
        None => Vec::new(),
    };
    let processor_config = processor_config(stub_env)?;
    match &processor_config.loadback {
        Some(l) => {
            info!(rules = l.rules.len(), accounts = ?l.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), "load-back to CleverTap on")
        }
        None => info!("load-back to CleverTap off (no CleverTap account configured)"),
    }
    let sdk = load_sdk_config().await;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    // One registry per function, as in Lambda, so neither's request counts mix with the other's.
    let clients = AwsClients::from_sdk_config(&sdk, Registry::new());

    let queue_url = ingest_config.queue_url.clone();
    let ingest_clients =
        AwsClients::with_deadline(&sdk, ingest_config.queue_send_timeout, Registry::new());
    let ingest = Arc::new(Ingest::from_config(ingest_config, &ingest_clients, None));
    let processor = Arc::new(
        Processor::new(&clients, processor_config)
            .map_err(|e| CliError::Usage(format!("CleverTap client: {e}")))?,
    );

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| CliError::Listen {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| CliError::Listen {
        addr: args.listen,
        source,
    })?;

    let (stop, stopped) = watch::channel(false);
    let settings = PollerSettings {
        batch_size: args.batch_size,
        batch_window: Duration::from_millis(args.batch_window_ms),
        invocation_timeout: Duration::from_secs(args.processor_timeout_secs),
    };
    let pollers: Vec<_> = (0..args.pollers)
        .map(|_| {
            tokio::spawn(poller::run(
                Queue::new(clients.sqs.clone(), queue_url.clone()),
                processor.clone(),
                settings,
                region.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    let exports = (args.exports_check_minutes > 0).then(|| {
        tokio::spawn(check_exports_every(
            processor.clone(),
            Duration::from_secs(60 * args.exports_check_minutes),
            Duration::from_secs(args.processor_timeout_secs),
            stopped.clone(),
        ))
    });

    info!(%addr, pollers = args.pollers, batch_size = args.batch_size, "serving: POST /webhooks/clevertap, /webhooks/clevertap/export-status, /webhooks/location; GET /health");
    let state = IngestState {
        ingest,
        metrics: Arc::new(Publisher::from_env(INGEST)),
        slots: Arc::new(Semaphore::new(args.ingest_concurrency)),
        body_timeout: Duration::from_millis(args.body_timeout_ms),
    };
    let app = Router::new().fallback(ingest_route).with_state(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;

    info!("stopping: finishing batches in flight");
    let _ = stop.send(true);
    for p in pollers {
        let _ = p.await;
    }
    if let Some(e) = exports {
        let _ = e.await;
    }
    served.map_err(|source| CliError::Listen { addr, source })?;
    Ok(ExitCode::SUCCESS)
}
