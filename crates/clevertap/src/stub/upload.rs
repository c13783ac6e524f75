//! `POST /1/upload`: the account headers, the concurrency limit, the queued faults, the
//! request's shape, then each record through CleverTap's checks, answered as CleverTap does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::validate::validate;
use super::{lock, Accepted, Fault, Inner};
use crate::client::{HEADER_ACCOUNT_ID, HEADER_PASSCODE};
use crate::record::MAX_RECORDS_PER_REQUEST;

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

pub(super) async fn upload(
    State(s): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
