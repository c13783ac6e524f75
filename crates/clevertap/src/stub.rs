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

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use crate::client::{HEADER_ACCOUNT_ID, HEADER_PASSCODE, UPLOAD_PATH};
use crate::record::{MAX_RECORDS_PER_REQUEST, RESERVED_EVENT_NAMES};

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

fn fail(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({"status": "fail", "error": error, "code": status.as_u16()})),
    )
        .into_response()
}

struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn upload(State(s): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let response = upload_inner(&s, &headers, &body).await;
    lock(&s.stats)
        .by_status
        .entry(response.status().as_u16())
        .and_modify(|n| *n += 1)
        .or_insert(1);
    response
}

async fn upload_inner(s: &Inner, headers: &HeaderMap, body: &[u8]) -> Response {
    lock(&s.stats).requests += 1;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let account = header(HEADER_ACCOUNT_ID).unwrap_or_default();
    let counter = lock(&s.in_flight)
        .entry(account.clone())
        .or_default()
        .clone();
    let now = counter.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(counter);
    {
        let mut st = lock(&s.stats);
        st.max_in_flight = st.max_in_flight.max(now);
    }
    if !s.config.latency.is_zero() {
        tokio::time::sleep(s.config.latency).await;
    }

    let fault = lock(&s.faults).pop_front();
    let mut reject = None;
    match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return fail(status, "injected fault");
        }
        Some(Fault::SlowMs(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::HangMs(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return fail(StatusCode::GATEWAY_TIMEOUT, "injected hang");
        }
        Some(Fault::Drop) => {
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected drop",
                ))
            });
            return Response::new(Body::from_stream(broken));
        }
        Some(Fault::RejectRecord { index, code }) => reject = Some((index, code)),
        None => {}
    }

    match s.config.accounts.get(&account) {
        None => return fail(StatusCode::UNAUTHORIZED, "Account ID is not valid"),
        Some(pass) if header(HEADER_PASSCODE).as_deref() != Some(pass.as_str()) => {
            return fail(StatusCode::UNAUTHORIZED, "Invalid Passcode")
        }
        Some(_) => {}
    }
    if now > s.config.max_concurrency {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many concurrent requests",
        );
    }
    let is_json = header("content-type").is_some_and(|c| c.starts_with("application/json"));
    if !is_json {
        return fail(
            StatusCode::BAD_REQUEST,
            "Content-Type must be application/json",
        );
    }
    let records = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut m)) => match m.remove("d") {
            Some(Value::Array(d)) => d,
            _ => return fail(StatusCode::BAD_REQUEST, "Payload must hold a list d"),
        },
        _ => return fail(StatusCode::BAD_REQUEST, "Payload is not valid JSON"),
    };
    {
        let mut st = lock(&s.stats);
        st.max_records_per_request = st.max_records_per_request.max(records.len());
        let types: std::collections::HashSet<Option<&str>> = records
            .iter()
            .map(|r| r.get("type").and_then(Value::as_str))
            .collect();
        if types.len() > 1 {
            st.mixed_type_requests += 1;
        }
    }
    if records.len() > MAX_RECORDS_PER_REQUEST {
        return fail(
            StatusCode::BAD_REQUEST,
            "Too many records in the payload. Max 1000 allowed",
        );
    }

    let mut unprocessed = Vec::new();
    let mut taken = Vec::new();
    for (i, record) in records.into_iter().enumerate() {
        let verdict = match reject {
            Some((at, code)) if at == i => Err((code, "Injected rejection".to_owned())),
            _ => validate(&record),
        };
        match verdict {
            Ok(()) => taken.push(Accepted {
                account_id: account.clone(),
                record,
            }),
            Err((code, why)) => unprocessed.push(json!({
                "status": "fail",
                "code": code,
                "error": format!("{why}. Skipped record number : {}", i + 1),
                "record": record.to_string(),
            })),
        }
    }
    let processed = taken.len();
    {
        let mut st = lock(&s.stats);
        st.accepted_records += processed;
        st.rejected_records += unprocessed.len();
    }
    lock(&s.accepted).extend(taken);
    let status = if processed == 0 && !unprocessed.is_empty() {
        "fail"
    } else {
        "success"
    };
    Json(json!({"status": status, "processed": processed, "unprocessed": unprocessed}))
        .into_response()
}

/// CleverTap's per-record checks, written from its documentation.
fn validate(r: &Value) -> Result<(), (i64, String)> {
    let Some(obj) = r.as_object() else {
        return Err((524, "Record is not an object".into()));
    };
    let identity = ["identity", "objectId", "FBID", "GPID"]
        .iter()
        .find_map(|k| {
            obj.get(*k).and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
        });
    match identity {
        Some(id) if !id.is_empty() && id.chars().count() < 120 => {}
        _ => return Err((523, "Identity not set or longer than 120 characters".into())),
    }
    match obj.get("ts") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|t| t > 0 && t < 100_000_000_000) => {}
        _ => return Err((525, "Invalid timestamp".into())),
    }
    let bad_name = |k: &str, extra: &[char]| {
        k.is_empty()
            || k.chars().count() > 120
            || k.chars()
                .any(|c| ".:$'\"%&|!<>;".contains(c) || extra.contains(&c))
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("event") => {
            let name = obj
                .get("evtName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name.is_empty() {
                return Err((509, "Event name is missing".into()));
            }
            if bad_name(name, &[]) {
                return Err((512, "Invalid event name".into()));
            }
            if RESERVED_EVENT_NAMES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                return Err((513, format!("{name} is a restricted system event")));
            }
            let empty = Map::new();
            let data = match obj.get("evtData") {
                None => &empty,
                Some(Value::Object(d)) => d,
                Some(_) => return Err((512, "evtData is not an object".into())),
            };
            if data.len() > 100 {
                return Err((522, "Too many properties".into()));
            }
            for (k, v) in data {
                if bad_name(k, &[])
                    || (v.is_object() || v.is_array()) && !(name == "Charged" && k == "Items")
                {
                    return Err((512, format!("Invalid property {k}")));
                }
            }
            Ok(())
        }
        Some("profile") => {
            let Some(Value::Object(data)) = obj.get("profileData") else {
                return Err((512, "profileData is not an object".into()));
            };
            for (k, v) in data {
                if bad_name(k, &['#']) {
                    return Err((512, format!("Invalid property {k}")));
                }
                let s = v.as_str().unwrap_or_default();
                match k.as_str() {
                    "Phone"
                        if !(s.starts_with('+')
                            && s.len() > 6
                            && s[1..].chars().all(|c| c.is_ascii_digit())) =>
                    {
                        return Err((
                            516,
                            "Phone number must be in E.164 format with the country code".into(),
                        ))
                    }
                    "Email" if !s.contains('@') => return Err((515, "Invalid email".into())),
                    "Gender" if !matches!(s, "M" | "F" | "O" | "U") => {
                        return Err((514, "Invalid gender".into()))
                    }
                    "Age" if !v.as_i64().is_some_and(|a| (0..=150).contains(&a)) => {
                        return Err((520, "Invalid age".into()))
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Err((524, "Record is neither an event nor a profile".into())),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_validated_like_clevertap() {
        let ev = |v: Value| validate(&v).map_err(|(c, _)| c);
        assert_eq!(
            ev(json!({"type": "event", "evtName": "A", "evtData": {}, "identity": "u", "ts": 1})),
            Ok(())
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "A", "ts": 1})),
            Err(523)
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "", "identity": "u", "ts": 1})),
            Err(509)
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "Stayed", "identity": "u", "ts": 1})),
            Err(513)
        );
        assert_eq!(
            ev(
                json!({"type": "event", "evtName": "A", "evtData": {"x": {}}, "identity": "u", "ts": 1})
            ),
            Err(512)
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "A", "identity": "u", "ts": "now"})),
            Err(525)
        );
        assert_eq!(
            ev(json!({"type": "thing", "identity": "u", "ts": 1})),
            Err(524)
        );
        assert_eq!(
            ev(
                json!({"type": "profile", "profileData": {"Phone": "98450"}, "identity": "u", "ts": 1})
            ),
            Err(516)
        );
        assert_eq!(
            ev(
                json!({"type": "profile", "profileData": {"Phone": "+919845012345"}, "identity": "u", "ts": 1})
            ),
            Ok(())
        );
    }
}
