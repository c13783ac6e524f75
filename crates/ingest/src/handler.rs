//! One webhook request: authenticated, validated, parsed once, queued, answered.

use bytes::Bytes;
use hookloop_domain::{dedup_key, is_clevertap_test_call, parse_webhook, Envelope, Source};
use hookloop_runtime::metrics::names::{ACCEPTED, DUPLICATES, SOURCE};
use hookloop_runtime::Invocation;
use http::{header, HeaderValue, Request, Response, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tracing::info;

use crate::admission::{admit, Admitted};
use crate::app::Ingest;
use crate::auth::HeaderCheck;
use crate::queue::MessageQueue;
use crate::rejection::Rejection;
use crate::routes::{is_json, route, within_limit, Route};

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
    handle_counted(ingest, req, &mut Invocation::unpublished()).await
}

/// [`handle`], counting into `invocation` what became of the request: `Accepted` by `Source`
/// when queued, `Duplicates` when answered with an earlier id, `Rejected` by `Status` when
/// refused (a test call and `/health` count as none of these).
pub async fn handle_counted<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    req: Request<Bytes>,
    invocation: &mut Invocation,
) -> Response<String> {
    let path = req.uri().path().to_owned();
    match accept(ingest, req, invocation).await {
        Ok(resp) => resp,
        Err(rejection) => {
            // Escaped there: the path comes from the request.
            rejection.log(&path);
            rejection.count(invocation);
            rejection.into_response()
        }
    }
}

async fn accept<Q: MessageQueue>(
    ingest: &Ingest<Q>,
    req: Request<Bytes>,
    invocation: &mut Invocation,
) -> Result<Response<String>, Rejection> {
    let source = match route(req.method(), req.uri().path())? {
        Route::Health => return Ok(json_ok(json!({"status": "ok"}))),
        Route::Webhook(source) => source,
    };
    // The body parsed once, when the credential needs it (kept for the parse below).
    let mut parsed = None;
    // The credentials in force (re-read from the function's secret when its TTL has passed).
    let auth = ingest.auth.get().await;
    let verified = match auth
        .check_headers(source, req.headers())
        .map_err(Rejection::Unauthorized)?
    {
        HeaderCheck::Verified(v) => v,
        // The older Radar form signs an event `_id` inside the body: a body over the limit is
        // refused unread, so what an unauthenticated request can make the ingest parse is
        // bounded by the limit. The `_id` comes from the webhook the body is parsed into, which
        // is then kept (one read for a valid delivery).
        HeaderCheck::NeedsBody(pending) => {
            within_limit(req.body(), ingest.max_body_bytes)?;
            let webhook = parse_webhook(source, req.body());
            let verified = auth
                .check_parsed(pending, req.body(), &webhook)
                .map_err(Rejection::Unauthorized)?;
            parsed = Some(webhook);
            verified
        }
    };
    is_json(req.headers())?;
    let body = req.into_body();
    within_limit(&body, ingest.max_body_bytes)?;
    // A Radar signature authenticates its first body only (the same body again is the
    // sender's retry and goes on to deduplication); recorded once the request is in size.
    auth.record_use(&verified, &body).await?;

    let webhook = match parsed.unwrap_or_else(|| parse_webhook(source, &body)) {
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
    let envelope = Envelope::received(source, text, OffsetDateTime::now_utc());
    let key = ingest
        .dedup
        .as_ref()
        .map(|_| dedup_key(source, &webhook, &body));
    let admitted = admit(
        &ingest.queue,
        ingest.claim_check.as_ref(),
        ingest.dedup.as_ref(),
        envelope,
        key,
    )
    .await?;
    Ok(match admitted {
        Admitted::Queued(id) => {
            invocation.count_by(ACCEPTED, SOURCE, source.as_str());
            json_ok(json!({"id": id, "status": "queued"}))
        }
        Admitted::Duplicate(original) => {
            invocation.count(DUPLICATES);
            json_ok(json!({"id": original, "status": "duplicate"}))
        }
    })
}

fn test_call_ack(source: Source) -> Response<String> {
    info!(%source, "test call acknowledged, not queued");
    json_ok(json!({"status": "ignored", "reason": "is_test"}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Auth;
    use crate::queue::MemoryQueue;

    fn ingest(fail: bool) -> Ingest<MemoryQueue> {
        Ingest {
            queue: if fail {
                MemoryQueue::down()
            } else {
                MemoryQueue::default()
            },
            auth: hookloop_runtime::Live::fixed(Auth::token("zq-s3cr3t")),
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

    async fn call(i: &Ingest<MemoryQueue>, req: Request<Bytes>) -> (u16, Value) {
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
        assert_eq!(env.id().to_string(), body["id"].as_str().unwrap());
        assert_eq!(env.source(), Source::Location);
        assert_eq!(env.body(), RADAR);
        assert_eq!(sent[0].attributes[0], ("source", "location".to_owned()));
        assert_eq!(sent[0].attributes[1], ("message_id", env.id().to_string()));
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
