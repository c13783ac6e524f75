//! The Radar checks through the whole handler, with an in-memory queue.

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::{Method, Request};
use serde_json::Value;
use sha1::Sha1;

use crate::queue::MemoryQueue;
use crate::{handle, Auth, Gate, Ingest, Rejection};

const TOKEN: &str = "radar-key-51";

fn ingest() -> Ingest<MemoryQueue> {
    Ingest {
        queue: MemoryQueue::default(),
        auth: hookloop_runtime::Live::fixed(Auth::token(TOKEN)),
        claim_check: None,
        dedup: None,
        max_body_bytes: 10_000,
    }
}

fn sign(message: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn event(id: &str) -> String {
    format!(
        r#"{{"_id":"{id}","createdAt":"2024-05-01T12:00:00Z","type":"user.entered_geofence","location":{{"type":"Point","coordinates":[1,2]}}}}"#
    )
}

fn radar(event_id: &str) -> String {
    format!(r#"{{"event":{},"user":{{"userId":"u"}}}}"#, event(event_id))
}

fn signed_post(signing_id: Option<&str>, signature: &str, body: String) -> Request<Bytes> {
    let mut req = Request::post("/webhooks/location")
        .header("content-type", "application/json")
        .header("x-radar-signature", signature);
    if let Some(id) = signing_id {
        req = req.header("x-radar-signing-id", id);
    }
    req.body(Bytes::from(body)).unwrap()
}

async fn call(i: &Ingest<MemoryQueue>, req: Request<Bytes>) -> (u16, Value) {
    let resp = handle(i, req).await;
    (
        resp.status().as_u16(),
        serde_json::from_str(resp.body()).unwrap(),
    )
}

#[tokio::test]
async fn a_retry_of_a_failed_radar_delivery_gets_in_and_a_replay_with_another_body_does_not() {
    let i = ingest();
    let sig = sign("sig-1");
    i.queue.set_down(true);
    let (s, _) = call(&i, signed_post(Some("sig-1"), &sig, radar("e1"))).await;
    assert_eq!(s, 503, "the queue is down");
    i.queue.set_down(false);
    let (s, b) = call(&i, signed_post(Some("sig-1"), &sig, radar("e1"))).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (200, Some("queued")),
        "the retry: {b}"
    );
    let (s, b) = call(&i, signed_post(Some("sig-1"), &sig, radar("forged"))).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")), "{b}");
    assert!(b["message"].as_str().unwrap().contains("another body"));
    let (s, b) = call(&i, signed_post(Some(""), &sign(""), radar("e2"))).await;
    assert_eq!(s, 401, "an empty signing id: {b}");
    assert_eq!(i.queue.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_older_form_signature_vouches_for_its_one_event_only() {
    let i = ingest();
    let (s, _) = call(&i, signed_post(None, &sign("e7"), radar("e7"))).await;
    assert_eq!(s, 200);
    let two = format!(
        r#"{{"events":[{},{}],"user":{{"userId":"u"}}}}"#,
        event("e7"),
        event("forged")
    );
    let (s, b) = call(&i, signed_post(None, &sign("e7"), two)).await;
    assert_eq!(s, 401, "{b}");
    // Over the size limit the body is not parsed to look for the event id at all.
    let big = format!(
        r#"{{"event":{{"_id":"e7"}},"pad":"{}"}}"#,
        "x".repeat(10_000)
    );
    let (s, b) = call(&i, signed_post(None, &sign("e7"), big)).await;
    assert_eq!((s, b["error"].as_str()), (413, Some("payload_too_large")));
    assert_eq!(i.queue.sent.lock().unwrap().len(), 1);
}

#[test]
fn the_headers_alone_refuse_a_request_before_any_body_is_read() {
    let i = ingest();
    let headers = |pairs: &[(&str, &str)]| {
        let mut b = Request::post("/");
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0.headers
    };
    let json = ("content-type", "application/json");
    let gate = |m: Method, p: &str, h: &http::HeaderMap| i.admit_headers(&m, p, h);
    assert_eq!(
        gate(Method::GET, "/health", &headers(&[])),
        Ok(Gate::Health)
    );
    assert_eq!(
        gate(Method::POST, "/nope", &headers(&[json])),
        Err(Rejection::NotFound)
    );
    assert!(matches!(
        gate(Method::POST, "/webhooks/location", &headers(&[json])),
        Err(Rejection::Unauthorized(_))
    ));
    assert!(matches!(
        gate(
            Method::POST,
            "/webhooks/location",
            &headers(&[("x-webhook-token", TOKEN), ("content-type", "text/plain")])
        ),
        Err(Rejection::UnsupportedMediaType { .. })
    ));
    assert_eq!(
        gate(
            Method::POST,
            "/webhooks/location",
            &headers(&[("x-webhook-token", TOKEN), json])
        ),
        Ok(Gate::Webhook)
    );
    assert_eq!(
        gate(
            Method::POST,
            "/webhooks/location",
            &headers(&[("x-radar-signature", &sign("e1")), json])
        ),
        Ok(Gate::Webhook),
        "the older Radar form is decided with the body"
    );
}
