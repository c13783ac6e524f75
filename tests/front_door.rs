//! The ingest's front door against an outside attacker, through `hookloop serve` on the
//! emulator: no body is read for a request without a valid header credential, bodies are read
//! within the size limit and a deadline before an ingest slot is taken, what reaches the logs
//! from a request cannot forge a log line, and a Radar signature authenticates one body.

use std::time::{Duration, Instant};

use hookloop_aws::signing_ids::{SigningIdUse, SigningIds};
use hookloop_domain::table::SIGNING_ID_PK_PREFIX;
use hookloop_tests::{event_file, TestEnv, TEST_TOKEN};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection to `serve` and sends `head` (request line and headers, without the blank
/// line) followed by `body`.
async fn send_raw(url: &str, head: &str, body: &[u8]) -> TcpStream {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect to serve");
    let mut request = format!("{head}\r\nHost: {addr}\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.expect("send request");
    stream
}

/// Reads one response: (status, JSON body). Panics if none arrives within `within`.
async fn response(stream: &mut TcpStream, within: Duration) -> (u16, Value) {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    let status = head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
                    let body = serde_json::from_slice(&buf[end + 4..end + 4 + length])
                        .unwrap_or(Value::Null);
                    return (status, body);
                }
            }
            let n = stream.read(&mut chunk).await.expect("read response");
            assert!(n > 0, "connection closed without a full response");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(within, read)
        .await
        .unwrap_or_else(|_| panic!("no response within {within:?}"))
}

fn radar_body(event_id: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(
        &std::fs::read(event_file("webhooks/location/radar-geofence-entered.json")).unwrap(),
    )
    .unwrap();
    v["event"]["_id"] = Value::from(event_id);
    serde_json::to_vec(&v).unwrap()
}

fn hmac_sha1_hex(key: &str, message: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_valid_header_credential_is_refused_before_its_body_is_sent() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    // 11 MB announced, not one byte sent: the answer cannot depend on the body.
    for credential in ["X-Other: none", "X-Webhook-Token: guessed"] {
        let mut c = send_raw(
            &serve.url,
            &format!(
                "POST /webhooks/location HTTP/1.1\r\nContent-Type: application/json\r\n\
                 Content-Length: 11000000\r\n{credential}"
            ),
            b"",
        )
        .await;
        let (status, body) = response(&mut c, Duration::from_secs(5)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );
    }
    // The older Radar form signs an event _id in the body: over the limit, it is refused
    // unread, with the size it declared.
    let mut c = send_raw(
        &serve.url,
        "POST /webhooks/location HTTP/1.1\r\nContent-Type: application/json\r\n\
         Content-Length: 11000000\r\nX-Radar-Signature: 00",
        b"",
    )
    .await;
    let (status, body) = response(&mut c, Duration::from_secs(5)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("11000000"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_is_a_400_that_says_so() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let mut c = send_raw(
        &serve.url,
        &format!(
            "POST /webhooks/location HTTP/1.1\r\nContent-Type: application/json\r\n\
             Content-Length: 1000\r\nX-Webhook-Token: {TEST_TOKEN}"
        ),
        br#"{"event":"#,
    )
    .await;
    c.shutdown().await.expect("close the sending side");
    let (status, body) = response(&mut c, Duration::from_secs(5)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("incomplete_body")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("Content-Length"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_413_without_a_made_up_size() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[("MAX_BODY_BYTES", "1000")]).await;
    let chunk = "x".repeat(1500);
    let mut c = send_raw(
        &serve.url,
        &format!(
            "POST /webhooks/location HTTP/1.1\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\nX-Webhook-Token: {TEST_TOKEN}"
        ),
        format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).as_bytes(),
    )
    .await;
    let (status, body) = response(&mut c, Duration::from_secs(5)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        body["message"], "body is over the limit of 1000 bytes",
        "no size it did not see"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_bodies_time_out_with_408_and_hold_no_slot_from_health_or_real_webhooks() {
    let env = TestEnv::start().await;
    let serve = env
        .serve_with(
            &["--ingest-concurrency", "2", "--body-timeout-ms", "3000"],
            &[],
        )
        .await;
    // Twice as many stalled senders as slots, each one byte into a 1,000-byte body.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(
            send_raw(
                &serve.url,
                &format!(
                    "POST /webhooks/location HTTP/1.1\r\nContent-Type: application/json\r\n\
                     Content-Length: 1000\r\nX-Webhook-Token: {TEST_TOKEN}"
                ),
                b"{",
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(2500))
        .build()
        .unwrap();
    let health = http
        .get(format!("{}/health", serve.url))
        .send()
        .await
        .expect("/health answers while bodies stall");
    assert_eq!(health.status(), 200);
    let (status, answer) = serve
        .post(&http, "/webhooks/location", radar_body("e-live"))
        .await;
    assert_eq!(status, 200, "a real webhook gets a slot: {answer}");

    let started = Instant::now();
    for mut c in stalled {
        let (status, body) = response(&mut c, Duration::from_secs(10)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (408, Some("body_timeout")),
            "{body}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_cannot_forge_a_log_line() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let mut c = send_raw(
        &serve.url,
        "GET /x\u{85}2024-05-01T00:00:00Z_ERROR_forged\u{2028}line HTTP/1.1",
        b"",
    )
    .await;
    let (status, _) = response(&mut c, Duration::from_secs(5)).await;
    assert_eq!(status, 404);
    let logs = hookloop_tests::eventually("the 404 logged", Duration::from_secs(5), || {
        let logs = serve.logs();
        async move { logs.contains("forged").then_some(logs) }
    })
    .await;
    assert!(
        !logs.contains('\u{85}') && !logs.contains('\u{2028}'),
        "raw line breaks reached the log: {logs:?}"
    );
    assert!(
        logs.contains(r"/x\u{85}2024-05-01T00:00:00Z_ERROR_forged\u{2028}line"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_radar_signing_id_authenticates_one_body_and_its_retries_only() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>, signing_id: &str| {
        http.post(format!("{}/webhooks/location", serve.url))
            .header("content-type", "application/json")
            .header("x-radar-signing-id", signing_id)
            .header("x-radar-signature", hmac_sha1_hex(TEST_TOKEN, signing_id))
            .body(body)
            .send()
    };
    let answer = |r: reqwest::Response| async move {
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (status, first) = answer(post(radar_body("e-1"), "sig-1").await.unwrap()).await;
    assert_eq!(
        (status, first["status"].as_str()),
        (200, Some("queued")),
        "{first}"
    );
    let (status, again) = answer(post(radar_body("e-1"), "sig-1").await.unwrap()).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("duplicate")),
        "the sender's retry of the same body: {again}"
    );
    let (status, forged) = answer(post(radar_body("e-future"), "sig-1").await.unwrap()).await;
    assert_eq!(status, 401, "{forged}");
    assert!(forged["message"]
        .as_str()
        .unwrap()
        .contains("already accepted with another body"));
    // The replay claimed nothing: the genuine delivery of that event still gets in.
    let (status, genuine) = answer(post(radar_body("e-future"), "sig-2").await.unwrap()).await;
    assert_eq!(
        (status, genuine["status"].as_str()),
        (200, Some("queued")),
        "{genuine}"
    );

    let items = env.scan_all().await;
    let recorded: Vec<_> = items
        .iter()
        .filter(|i| i["pk"].as_str().unwrap().starts_with(SIGNING_ID_PK_PREFIX))
        .collect();
    assert_eq!(recorded.len(), 2, "sig-1 and sig-2, by hash: {recorded:?}");
    for item in recorded {
        assert!(
            item["expires_at"].as_i64().is_some(),
            "removed by TTL: {item:?}"
        );
        assert!(
            !item["pk"].as_str().unwrap().contains("sig-"),
            "stored as a hash"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_ledger_records_a_signed_message_with_one_body_per_window() {
    let env = TestEnv::start().await;
    let ledger = SigningIds::new(
        env.clients.dynamodb.clone(),
        env.resources.table.clone(),
        Duration::from_secs(3600),
    );
    let (m, a, b) = ("ab".repeat(32), "01".repeat(32), "02".repeat(32));
    assert_eq!(ledger.record(&m, &a).await.unwrap(), SigningIdUse::First);
    assert_eq!(ledger.record(&m, &a).await.unwrap(), SigningIdUse::SameBody);
    assert_eq!(
        ledger.record(&m, &b).await.unwrap(),
        SigningIdUse::OtherBody
    );
    assert_eq!(
        ledger.record(&"cd".repeat(32), &b).await.unwrap(),
        SigningIdUse::First
    );
    let expired = SigningIds::new(
        env.clients.dynamodb.clone(),
        env.resources.table.clone(),
        Duration::ZERO,
    );
    let old = "ef".repeat(32);
    assert_eq!(expired.record(&old, &a).await.unwrap(), SigningIdUse::First);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        expired.record(&old, &b).await.unwrap(),
        SigningIdUse::First,
        "past its window a record no longer binds"
    );
}
