//! A CleverTap stand-in: speaks the documented `POST /1/upload` contract so tests and
//! `hookloop serve --clevertap-stub` can load back without the real service.
//!
//! It checks the account headers (401 with CleverTap's body), allows 1000 records and one record
//! type per request (400), answers 429 above its concurrency limit, validates each record on its
//! own (independently of the client's pre-checks, and including the profile checks the client
//! does not make: phone, email, gender, age) and answers the recorded shapes: full success,
//! partial failure with per-record codes, all failed. It records what it accepted and measures
//! the requests in flight. Faults (a status, a slow answer, a hang, a dropped connection) are
//! applied to the next requests in the order a test queues them.
//!
//! Control routes: `GET /_stub/accepted`, `GET /_stub/stats`, `POST /_stub/faults` (a JSON list
//! of faults), `POST /_stub/reset`.
//!
//! By job: this module holds the state (faults queued, records accepted, statistics), the server
//! and its control routes; `upload` answers `POST /1/upload`; `validate` is CleverTap's
//! per-record checks.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::client::UPLOAD_PATH;
use upload::upload;

mod upload;
mod validate;

/// One injected fault, applied to one upload request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer this HTTP status (429, 500, 503, ...) with CleverTap's failure body; nothing is
    /// accepted.
    Status(u16),
    /// Wait this many milliseconds, then handle the request normally.
    SlowMs(u64),
    /// Wait this many milliseconds, then answer 504 without accepting anything: longer than the
    /// client's timeout, this is a request that timed out and was never processed.
    HangMs(u64),
    /// Send the status line, then drop the connection without a body; nothing is accepted.
    Drop,
    /// Reject the record at this 0-based position with this code (e.g. 555), accept the rest.
    RejectRecord { index: usize, code: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub account_id: String,
    pub record: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Upload requests received, answered or not.
    pub requests: usize,
    /// Answers by HTTP status.
    pub by_status: HashMap<u16, usize>,
    /// The most upload requests in flight at once, for any one account.
    pub max_in_flight: usize,
    /// The most records in one request.
    pub max_records_per_request: usize,
    /// Requests holding more than one record type.
    pub mixed_type_requests: usize,
    pub accepted_records: usize,
    pub rejected_records: usize,
}

#[derive(Debug)]
pub struct StubConfig {
    /// Account id -> passcode.
    pub accounts: HashMap<String, String>,
    /// Concurrent requests per account before 429 (CleverTap: 15).
    pub max_concurrency: usize,
    /// Added to every upload request, so concurrency can be observed.
    pub latency: Duration,
}

#[derive(Debug)]
struct Inner {
    config: StubConfig,
    in_flight: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    faults: Mutex<VecDeque<Fault>>,
    accepted: Mutex<Vec<Accepted>>,
    stats: Mutex<Stats>,
}

/// A running stand-in.
#[derive(Debug, Clone)]
pub struct Stub {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Stub {
    /// Serves on `listener` until the runtime stops.
    pub async fn start(listener: TcpListener, config: StubConfig) -> std::io::Result<Stub> {
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            config,
            in_flight: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            accepted: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
        });
        let app = Router::new()
            .route(UPLOAD_PATH, post(upload))
            .route("/_stub/accepted", get(accepted_route))
            .route("/_stub/stats", get(stats_route))
            .route("/_stub/faults", post(faults_route))
            .route("/_stub/reset", post(reset_route))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Stub { addr, inner })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        lock(&self.inner.accepted).clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.inner.stats).clone()
    }

    /// Queues faults for the next upload requests, one each, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.inner.faults).extend(faults);
    }

    /// Faults queued and not yet applied.
    pub fn pending_faults(&self) -> usize {
        lock(&self.inner.faults).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accepted_route(State(s): State<Arc<Inner>>) -> Json<Vec<Accepted>> {
    Json(lock(&s.accepted).clone())
}

async fn stats_route(State(s): State<Arc<Inner>>) -> Json<Stats> {
    Json(lock(&s.stats).clone())
}

async fn faults_route(State(s): State<Arc<Inner>>, Json(faults): Json<Vec<Fault>>) -> StatusCode {
    lock(&s.faults).extend(faults);
    StatusCode::NO_CONTENT
}

async fn reset_route(State(s): State<Arc<Inner>>) -> StatusCode {
    lock(&s.faults).clear();
    lock(&s.accepted).clear();
    *lock(&s.stats) = Stats::default();
    StatusCode::NO_CONTENT
}
