//! A fault-injecting proxy in front of the AWS endpoint (moto): what it forwards reaches the
//! emulator unchanged; at the rates a test sets it answers 500 or 503 in the service's own error
//! format, throttles (`ThrottlingException`, S3 `SlowDown`), answers slowly, drops the
//! connection, or turns a batch call into a partial failure (DynamoDB `UnprocessedItems`,
//! Kinesis failed records) by forwarding only part of it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Rates are per request, in [0, 1], tried in this order.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultRates {
    pub server_error: f64,
    pub throttle: f64,
    pub drop: f64,
    pub slow: f64,
    /// Of `BatchWriteItem` and `PutRecords` calls with two items or more.
    pub partial: f64,
    /// Forward the request, then drop the connection instead of answering: the call took
    /// effect but the caller cannot know.
    pub lost_answer: f64,
}

/// A fault for every request of one operation until it is cleared, for a test that needs one
/// path taken for certain rather than at a rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Answer this HTTP status in the service's error format, forwarding nothing.
    Fail(u16),
    /// Forward the request (it takes effect), then hold the answer this long.
    LateAnswer(Duration),
    /// Refuse for good (400 `ValidationException`) a request whose body contains this text, as
    /// DynamoDB refuses an item it cannot store; forward the others.
    RefuseContaining(String),
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    rates: Mutex<FaultRates>,
    rules: Mutex<BTreeMap<String, Rule>>,
    rng: Mutex<StdRng>,
    injected: Mutex<BTreeMap<String, usize>>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    inner: Arc<Inner>,
}

impl FaultProxy {
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr: SocketAddr = listener.local_addr().expect("proxy address");
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            rates: Mutex::new(FaultRates::default()),
            rules: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            injected: Mutex::new(BTreeMap::new()),
        });
        let app = Router::new().fallback(forward).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy {
            url: format!("http://{addr}"),
            inner,
        }
    }

    pub fn set_rates(&self, rates: FaultRates) {
        *self.inner.rates.lock().unwrap_or_else(|p| p.into_inner()) = rates;
    }

    /// Applies `rule` to every request of `operation` (`dynamodb:PutItem`, `sqs:SendMessage`,
    /// `s3:PUT`) from now on; `None` clears it.
    pub fn set_rule(&self, operation: &str, rule: Option<Rule>) {
        let mut rules = self.inner.rules.lock().unwrap_or_else(|p| p.into_inner());
        match rule {
            Some(r) => rules.insert(operation.to_owned(), r),
            None => rules.remove(operation),
        };
    }

    /// Faults injected so far, by `<operation> <kind>`.
    pub fn injected(&self) -> BTreeMap<String, usize> {
        self.inner
            .injected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    ServerError(u16),
    Throttle,
    Drop,
    Slow,
    Partial,
    LostAnswer,
}

/// `DynamoDB_20120810.BatchWriteItem` -> `dynamodb:BatchWriteItem`; S3 by method.
fn operation(req: &Request) -> (String, bool) {
    match req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(target) => {
            let (service, op) = target.split_once('.').unwrap_or(("?", target));
            let service = match service {
                s if s.starts_with("DynamoDB") => "dynamodb",
                s if s.starts_with("Kinesis") => "kinesis",
                s if s.starts_with("AmazonSQS") => "sqs",
                _ => "?",
            };
            (format!("{service}:{op}"), true)
        }
        None => (format!("s3:{}", req.method()), false),
    }
}

fn error_response(status: u16, code: &str, json_protocol: bool) -> Response {
    let (body, content_type) = if json_protocol {
        (
            json!({"__type": code, "message": "injected by the fault proxy"}).to_string(),
            "application/x-amz-json-1.0",
        )
    } else {
        (
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the fault proxy</Message><RequestId>proxy</RequestId></Error>"),
            "application/xml",
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", code)
        .body(Body::from(body))
        .unwrap_or_default()
}

async fn forward(State(s): State<Arc<Inner>>, req: Request) -> Response {
    let (op, json_protocol) = operation(&req);
    let rule = s
        .rules
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&op)
        .cloned();
    let rates = *s.rates.lock().unwrap_or_else(|p| p.into_inner());
    let fault = {
        let mut rng = s.rng.lock().unwrap_or_else(|p| p.into_inner());
        let r: f64 = rng.random();
        let mut edge = 0.0;
        let mut pick = None;
        for (rate, f) in [
            (
                rates.server_error,
                Fault::ServerError(if rng.random_bool(0.5) { 500 } else { 503 }),
            ),
            (rates.throttle, Fault::Throttle),
            (rates.drop, Fault::Drop),
            (rates.slow, Fault::Slow),
            (rates.partial, Fault::Partial),
            (rates.lost_answer, Fault::LostAnswer),
        ] {
            edge += rate;
            if pick.is_none() && r < edge {
                pick = Some(f);
            }
        }
        pick
    };
    let count = |kind: &str| {
        *s.injected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("{op} {kind}"))
            .or_insert(0) += 1;
    };

    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return error_response(400, "BadRequest", json_protocol);
    };
    if let Some(Rule::RefuseContaining(text)) = &rule {
        if body.windows(text.len()).any(|w| w == text.as_bytes()) {
            count("refused");
            return error_response(400, "ValidationException", json_protocol);
        }
    }
    let fault = match rule {
        Some(Rule::Fail(status)) => Some(Fault::ServerError(status)),
        Some(Rule::LateAnswer(_) | Rule::RefuseContaining(_)) => None,
        None => fault,
    };
    match fault {
        Some(Fault::ServerError(status)) => {
            count(&format!("http_{status}"));
            let code = match (json_protocol, status) {
                (true, 500) => "InternalFailure",
                (true, _) => "ServiceUnavailable",
                (false, 500) => "InternalError",
                (false, _) => "ServiceUnavailable",
            };
            return error_response(status, code, json_protocol);
        }
        Some(Fault::Throttle) => {
            count("throttled");
            return if json_protocol {
                error_response(400, "ThrottlingException", true)
            } else {
                error_response(503, "SlowDown", false)
            };
        }
        Some(Fault::Drop) => {
            count("dropped");
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected drop",
                ))
            });
            return Response::new(Body::from_stream(broken));
        }
        Some(Fault::Slow) => {
            count("slow");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        _ => {}
    }

    let partial = fault == Some(Fault::Partial);
    let (body, plan) = match (partial, op.as_str()) {
        (true, "dynamodb:BatchWriteItem") => split_batch_write(&body),
        (true, "kinesis:PutRecords") => split_put_records(&body),
        _ => (body.to_vec(), Plan::None),
    };
    if !matches!(plan, Plan::None) {
        count("partial");
    }

    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut upstream = s
        .http
        .request(parts.method.clone(), format!("{}{path}", s.upstream));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.body(body).send().await {
        Ok(a) => a,
        Err(_) => return error_response(502, "ProxyUpstreamError", json_protocol),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if let Some(Rule::LateAnswer(delay)) = &rule {
        count("late_answer");
        tokio::time::sleep(*delay).await;
    }
    if fault == Some(Fault::LostAnswer) {
        count("lost_answer");
        let broken = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected lost answer",
            ))
        });
        return Response::new(Body::from_stream(broken));
    }
    let bytes = if status.is_success() {
        plan.apply(&bytes)
    } else {
        bytes.to_vec()
    };
    let mut out = Response::builder().status(status);
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            out = out.header(name, value);
        }
    }
    out.body(Body::from(bytes)).unwrap_or_default()
}

/// How to turn the upstream answer of a trimmed request into a partial failure.
enum Plan {
    None,
    /// DynamoDB: these write requests, by table, come back as `UnprocessedItems`.
    Unprocessed(Value),
    /// Kinesis: the answer's records go back in these positions; the others failed.
    Failed {
        total: usize,
        kept: Vec<usize>,
    },
}

impl Plan {
    fn apply(&self, answer: &[u8]) -> Vec<u8> {
        let Ok(mut v) = serde_json::from_slice::<Value>(answer) else {
            return answer.to_vec();
        };
        match self {
            Plan::None => return answer.to_vec(),
            Plan::Unprocessed(items) => v["UnprocessedItems"] = items.clone(),
            Plan::Failed { total, kept } => {
                let got = v["Records"].as_array().cloned().unwrap_or_default();
                let mut records = vec![
                    json!({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "injected by the fault proxy"});
                    *total
                ];
                for (slot, record) in kept.iter().zip(got) {
                    records[*slot] = record;
                }
                v["FailedRecordCount"] = json!(total - kept.len());
                v["Records"] = json!(records);
            }
        }
        serde_json::to_vec(&v).unwrap_or_else(|_| answer.to_vec())
    }
}

/// Forwards the first half of each table's write requests; the rest become `UnprocessedItems`.
fn split_batch_write(body: &[u8]) -> (Vec<u8>, Plan) {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
        return (body.to_vec(), Plan::None);
    };
    let mut unprocessed = serde_json::Map::new();
    if let Some(tables) = v["RequestItems"].as_object_mut() {
        for (table, requests) in tables.iter_mut() {
            if let Some(list) = requests.as_array_mut() {
                if list.len() >= 2 {
                    let rest = list.split_off(list.len().div_ceil(2));
                    unprocessed.insert(table.clone(), json!(rest));
                }
            }
        }
    }
    if unprocessed.is_empty() {
        return (body.to_vec(), Plan::None);
    }
    (
        serde_json::to_vec(&v).unwrap_or_default(),
        Plan::Unprocessed(Value::Object(unprocessed)),
    )
}

/// Forwards every other record; the others come back failed.
fn split_put_records(body: &[u8]) -> (Vec<u8>, Plan) {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
        return (body.to_vec(), Plan::None);
    };
    let records = v["Records"].as_array().cloned().unwrap_or_default();
    if records.len() < 2 {
        return (body.to_vec(), Plan::None);
    }
    let kept: Vec<usize> = (0..records.len()).step_by(2).collect();
    v["Records"] = json!(kept.iter().map(|i| records[*i].clone()).collect::<Vec<_>>());
    (
        serde_json::to_vec(&v).unwrap_or_default(),
        Plan::Failed {
            total: records.len(),
            kept,
        },
    )
}
