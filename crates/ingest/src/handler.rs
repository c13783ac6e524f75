use bytes::Bytes;
use hookloop_aws::dedup::{Claim, Claims};
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::MAX_MESSAGE_BYTES;
use hookloop_aws::AwsError;
use hookloop_domain::{
    claim_object_key, dedup_key, is_clevertap_test_call, parse_webhook, Envelope, Source,
};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::auth::Auth;
use crate::queue::{MessageQueue, OutgoingMessage};
use crate::rejection::Rejection;

/// The ingest function's dependencies, built once per process.
#[derive(Debug)]
pub struct Ingest<Q> {
    pub queue: Q,
    pub auth: Auth,
    pub max_body_bytes: usize,
    /// Bodies too large for a queue message go to S3 first; `None`: they are refused.
    pub claim_check: Option<ClaimCheck>,
    /// Repeated deliveries are answered with the original message id; `None`: off.
    pub dedup: Option<Claims>,
}

impl Ingest<hookloop_aws::sqs::Queue> {
    /// The production wiring: SQS, and S3 / DynamoDB when the configuration names them, all
    /// through `clients` (built with the ingest's deadline).
    pub fn from_config(config: crate::IngestConfig, clients: &hookloop_aws::AwsClients) -> Self {
        Ingest {
            queue: hookloop_aws::sqs::Queue::new(clients.sqs.clone(), config.queue_url),
            auth: config.auth,
            max_body_bytes: config.max_body_bytes,
            claim_check: config.claim_bucket.map(|bucket| ClaimCheck {
                archive: RawArchive::new(clients.s3.clone(), bucket),
                threshold: config.claim_check_bytes,
            }),
            dedup: config
                .dedup_table
                .map(|table| Claims::new(clients.dynamodb.clone(), table, config.dedup_window)),
        }
    }
}

/// Claim check: a body above `threshold` bytes is written to S3 and the queue message carries
/// its key (`body_ref`) instead.
#[derive(Debug, Clone)]
pub struct ClaimCheck {
    pub archive: RawArchive,
    pub threshold: usize,
}

impl ClaimCheck {
    /// Moves a large body out of `envelope` into S3; small ones stay. On an error the envelope's
    /// body is gone: the caller answers 503 and drops it.
    pub async fn offload(&self, envelope: &mut Envelope) -> Result<(), AwsError> {
        if envelope.body.len() <= self.threshold {
            return Ok(());
        }
        // On failure the envelope is abandoned (503), so the body moves out without a copy.
        let key = claim_object_key(envelope.id);
        let body = std::mem::take(&mut envelope.body).into_bytes();
        self.archive.put(&key, body).await?;
        envelope.body_ref = Some(key);
        Ok(())
    }
}

enum Route {
    Health,
    Webhook(Source),
}

fn route(method: &Method, path: &str) -> Result<Route, Rejection> {
    if path == "/health" {
        return if method == Method::GET || method == Method::HEAD {
            Ok(Route::Health)
        } else {
            Err(Rejection::MethodNotAllowed { allow: "GET, HEAD" })
        };
    }
    match Source::from_route(path) {
        Some(source) if method == Method::POST => Ok(Route::Webhook(source)),
        Some(_) => Err(Rejection::MethodNotAllowed { allow: "POST" }),
        None => Err(Rejection::NotFound),
    }
}

fn is_json(headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(Rejection::UnsupportedMediaType { got: None });
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let media_type = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Rejection::UnsupportedMediaType {
            got: Some(text.chars().take(100).collect()),
        })
    }
}

fn json_ok(body: Value) -> Response<String> {
    let mut resp = Response::new(body.to_string());
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Handles one request: 200 `{"id", "status": "queued"}` only after the queue accepted the
/// message; a 4xx naming the problem (and the field) for bad requests; 503 when the queue is
/// unavailable, so the sender retries.
pub async fn handle<Q: MessageQueue>(ingest: &Ingest<Q>, req: Request<Bytes>) -> Response<String> {
    let path = req.uri().path().to_owned();
    match accept(ingest, req).await {
        Ok(resp) => resp,
        Err(rejection) => {
            match &rejection {
                Rejection::QueueUnavailable => {}
                Rejection::InvalidPayload(e) => {
                    warn!(status = rejection.status().as_u16(), %path, field = %e.path, reason = %e.message, "rejected")
                }
                _ => {
                    warn!(status = rejection.status().as_u16(), %path, error = rejection.code(), "rejected")
                }
            }
            rejection.into_response()
        }
    }
}

async fn accept<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    req: Request<Bytes>,
) -> Result<Response<String>, Rejection> {
    let source = match route(req.method(), req.uri().path())? {
        Route::Health => return Ok(json_ok(json!({"status": "ok"}))),
        Route::Webhook(source) => source,
    };
    ingest
        .auth
        .check(source, req.headers(), req.body())
        .map_err(Rejection::Unauthorized)?;
    is_json(req.headers())?;
    let body = req.into_body();
    if body.len() > ingest.max_body_bytes {
        return Err(Rejection::PayloadTooLarge {
            size: body.len(),
            limit: ingest.max_body_bytes,
            what: "body",
        });
    }

    let webhook = match parse_webhook(source, &body) {
        Ok(w) => w,
        // CleverTap saves a webhook only if its test call gets a 200, whatever sample it sends.
        Err(_) if source == Source::ClevertapWebhook && is_clevertap_test_call(&body) => {
            return Ok(test_call_ack(source));
        }
        Err(e) => return Err(Rejection::InvalidPayload(e)),
    };
    if webhook.is_test() {
        return Ok(test_call_ack(source));
    }

    // Valid JSON is valid UTF-8, so this conversion only moves the bytes.
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        Rejection::InvalidPayload(hookloop_domain::ParseError::new("", "body is not UTF-8"))
    })?;
    let mut envelope = Envelope::new(source, text, OffsetDateTime::now_utc());

    // A repeat of a webhook already queued gets the original id and is not queued again. If
    // the claim cannot be checked the webhook is queued anyway, carrying its key: the processor
    // checks again (a possible duplicate beats a lost webhook).
    let mut claimed = None;
    let mut requeue = false;
    if let Some(dedup) = &ingest.dedup {
        let key = dedup_key(source, &webhook, &body);
        match dedup.claim(&key, &envelope.id.to_string()).await {
            Ok(Claim::Duplicate { original }) => {
                info!(message_id = %original, %source, "duplicate delivery; not queued again");
                return Ok(json_ok(json!({"id": original, "status": "duplicate"})));
            }
            Ok(Claim::Won) => claimed = Some(key.clone()),
            // The original's send failed or only looked failed: this retry queues it again
            // under the original's id (the processor stores a message id once).
            Ok(Claim::Unsent { original }) => match original.parse() {
                Ok(original) => {
                    envelope = envelope.with_id(original);
                    claimed = Some(key.clone());
                    requeue = true;
                }
                Err(_) => {
                    warn!(%source, "unreadable message id in a deduplication claim; queueing")
                }
            },
            Err(e) => {
                warn!(message_id = %envelope.id, error = %e, "deduplication unavailable; queueing")
            }
        }
        envelope.dedup_key = Some(key);
    }
    envelope.claimed = claimed.is_some();
    let id = envelope.id.to_string();

    let queued = queue_envelope(ingest, &mut envelope).await;
    if let (Some(dedup), Some(key)) = (&ingest.dedup, &claimed) {
        let marked = match (&queued, requeue) {
            // Maybe not queued (a timeout may hide a send that took effect): the sender's retry
            // queues it again under this id, so it is neither lost nor given a second id.
            (Err(_), false) => dedup.mark_unsent(key, &id).await,
            (Ok(()), true) => dedup.mark_sent(key, &id).await,
            _ => Ok(()),
        };
        if let Err(e) = marked {
            error!(message_id = %id, error = %e, "could not update the deduplication claim");
        }
    }
    queued?;
    info!(message_id = %id, %source, bytes = body.len(), claim_check = envelope.body_ref.is_some(), "queued");
    Ok(json_ok(json!({"id": id, "status": "queued"})))
}

/// Offloads a large body to S3 when configured, then queues the message.
async fn queue_envelope<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    envelope: &mut Envelope,
) -> Result<(), Rejection> {
    if let Some(claim_check) = &ingest.claim_check {
        if let Err(e) = claim_check.offload(envelope).await {
            error!(message_id = %envelope.id, error = %e, "claim check failed; answering 503");
            return Err(Rejection::QueueUnavailable);
        }
    }
    let message = OutgoingMessage::new(envelope);
    if message.size() > MAX_MESSAGE_BYTES {
        return Err(Rejection::PayloadTooLarge {
            size: message.size(),
            limit: MAX_MESSAGE_BYTES,
            what: "the queued message (body escaped inside the envelope)",
        });
    }
    if let Err(e) = ingest.queue.enqueue(message).await {
        error!(message_id = %envelope.id, source = %envelope.source, error = %e, "not queued; answering 503");
        return Err(Rejection::QueueUnavailable);
    }
    Ok(())
}

fn test_call_ack(source: Source) -> Response<String> {
    info!(%source, "test call acknowledged, not queued");
    json_ok(json!({"status": "ignored", "reason": "is_test"}))
}

/// The Lambda entry: API Gateway HTTP API (payload v2) request in, response out.
pub async fn handle_lambda<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    req: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    let (parts, body) = req.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(s) => Bytes::from(s),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    handle(ingest, Request::from_parts(parts, bytes))
        .await
        .map(lambda_http::Body::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::QueueError;
    use hookloop_aws::AwsError;
    use std::sync::Mutex;

    /// In-memory queue: records what was sent, or fails every send.
    #[derive(Default)]
    struct FakeQueue {
        sent: Mutex<Vec<OutgoingMessage>>,
        fail: bool,
    }

    impl MessageQueue for FakeQueue {
        async fn enqueue(&self, message: OutgoingMessage) -> Result<(), QueueError> {
            if self.fail {
                return Err(QueueError(AwsError::local(
                    "sqs",
                    "SendMessage",
                    "ServiceUnavailable",
                    "down",
                    true,
                )));
            }
            self.sent.lock().unwrap().push(message);
            Ok(())
        }
    }

    fn ingest(fail: bool) -> Ingest<FakeQueue> {
        Ingest {
            queue: FakeQueue {
                fail,
                ..Default::default()
            },
            auth: Auth::token("zq-s3cr3t"),
            claim_check: None,
            dedup: None,
            max_body_bytes: 10_000,
        }
    }

    fn post(path: &str, body: &str) -> http::request::Builder {
        let _ = body;
        Request::post(path)
            .header("content-type", "application/json")
            .header("x-webhook-token", "zq-s3cr3t")
    }

    async fn call(i: &Ingest<FakeQueue>, req: Request<Bytes>) -> (u16, Value) {
        let resp = handle(i, req).await;
        let status = resp.status().as_u16();
        (status, serde_json::from_str(resp.body()).unwrap())
    }

    const RADAR: &str = r#"{"event":{"_id":"e","createdAt":"2024-05-01T12:00:00Z","type":"user.entered_geofence","location":{"type":"Point","coordinates":[1,2]}},"user":{"userId":"u"}}"#;

    #[tokio::test]
    async fn a_valid_webhook_is_queued_in_an_envelope_then_answered_with_its_id() {
        let i = ingest(false);
        let (status, body) = call(
            &i,
            post("/webhooks/location", RADAR)
                .body(Bytes::from(RADAR))
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "queued");
        let sent = i.queue.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let env = Envelope::decode(&sent[0].body).unwrap();
        assert_eq!(env.id.to_string(), body["id"].as_str().unwrap());
        assert_eq!(env.source, Source::Location);
        assert_eq!(env.body, RADAR);
        assert_eq!(sent[0].attributes[0], ("source", "location".to_owned()));
        assert_eq!(sent[0].attributes[1], ("message_id", env.id.to_string()));
    }

    #[tokio::test]
    async fn routes_methods_and_health() {
        let i = ingest(false);
        let (s, _) = call(&i, Request::get("/health").body(Bytes::new()).unwrap()).await;
        assert_eq!(s, 200);
        let resp = handle(
            &i,
            Request::get("/webhooks/location")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "POST");
        let (s, b) = call(
            &i,
            post("/webhooks/nope", "{}")
                .body(Bytes::from("{}"))
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
        let (s, _) = call(&i, Request::post("/health").body(Bytes::new()).unwrap()).await;
        assert_eq!(s, 405);
    }

    #[tokio::test]
    async fn credentials_are_checked_before_anything_else() {
        let i = ingest(false);
        let req = Request::post("/webhooks/location")
            .header("content-type", "text/plain")
            .body(Bytes::from("x"))
            .unwrap();
        let resp = handle(&i, req).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert!(resp.body().contains("missing credential"));
        let req = Request::post("/webhooks/location")
            .header("authorization", "Bearer bad")
            .body(Bytes::from(RADAR))
            .unwrap();
        let (s, b) = call(&i, req).await;
        assert_eq!(s, 401);
        assert!(b["message"].as_str().unwrap().contains("wrong credential"));
        assert!(
            !b.to_string().contains("zq-s3cr3t"),
            "the expected token is never echoed"
        );
        assert!(i.queue.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn content_type_size_and_schema_errors_are_4xx_and_queue_nothing() {
        let i = ingest(false);
        let req = Request::post("/webhooks/location")
            .header("x-webhook-token", "zq-s3cr3t")
            .header("content-type", "text/plain")
            .body(Bytes::from(RADAR))
            .unwrap();
        assert_eq!(call(&i, req).await.0, 415);
        let req = Request::post("/webhooks/location")
            .header("x-webhook-token", "zq-s3cr3t")
            .body(Bytes::from(RADAR))
            .unwrap();
        assert_eq!(call(&i, req).await.0, 415);
        let req = post("/webhooks/location", "")
            .header("content-type", "application/json; charset=utf-8")
            .body(Bytes::from(RADAR))
            .unwrap();
        assert_eq!(
            call(&i, req).await.0,
            200,
            "parameters after the media type are fine"
        );

        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(10_001));
        let (s, b) = call(
            &i,
            post("/webhooks/location", &big)
                .body(Bytes::from(big))
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["error"].as_str()), (413, Some("payload_too_large")));

        let bad = r#"{"targetId":1,"profiles":[{"objectId":"a"},{"email":"x"}]}"#;
        let (s, b) = call(
            &i,
            post("/webhooks/clevertap", bad)
                .body(Bytes::from(bad))
                .unwrap(),
        )
        .await;
        assert_eq!(s, 400);
        assert_eq!(b["field"], "/profiles/1/objectId");
        assert_eq!(b["error"], "invalid_payload");

        let (s, b) = call(
            &i,
            post("/webhooks/clevertap", "{")
                .body(Bytes::from("{"))
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["field"].as_str()), (400, Some("")));
        assert_eq!(
            i.queue.sent.lock().unwrap().len(),
            1,
            "only the one valid request was queued"
        );
    }

    #[tokio::test]
    async fn clevertap_test_calls_get_200_and_are_not_queued() {
        let i = ingest(false);
        for body in [
            r#"{"targetId":1,"is_test":true,"profiles":[{"objectId":"a"}]}"#,
            r#"{"is_test":true,"profiles":[{"Name":"no ids in samples"}]}"#,
        ] {
            let (s, b) = call(
                &i,
                post("/webhooks/clevertap", body)
                    .body(Bytes::from(body))
                    .unwrap(),
            )
            .await;
            assert_eq!((s, b["status"].as_str()), (200, Some("ignored")), "{body}");
        }
        assert!(i.queue.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_queue_failure_is_503_never_200() {
        let i = ingest(true);
        let resp = handle(
            &i,
            post("/webhooks/location", RADAR)
                .body(Bytes::from(RADAR))
                .unwrap(),
        )
        .await;
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "1");
    }

    #[tokio::test]
    async fn garbage_never_panics() {
        let i = ingest(false);
        let nested = "[".repeat(10_000);
        for body in [
            "",
            "null",
            "[]",
            "\"s\"",
            "1e999999",
            &nested,
            "{\"a\":\u{0}}",
        ] {
            for path in [
                "/webhooks/location",
                "/webhooks/clevertap",
                "/webhooks/clevertap/export-status",
            ] {
                let (s, b) = call(
                    &i,
                    post(path, body).body(Bytes::from(body.to_owned())).unwrap(),
                )
                .await;
                assert_eq!(s, 400, "{path} {body:.20}");
                assert!(b["field"].is_string());
            }
        }
        let invalid_utf8 = Bytes::from_static(b"{\"a\":\"\xff\"}");
        assert_eq!(
            call(
                &i,
                post("/webhooks/location", "").body(invalid_utf8).unwrap()
            )
            .await
            .0,
            400
        );
    }
}
