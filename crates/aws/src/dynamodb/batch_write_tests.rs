//! `put_rows` against a fake HTTP client: what goes on the wire is the encoded body, signed as
//! it is sent, and `UnprocessedItems` are re-sent as the items they were.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use hmac::{Hmac, KeyInit, Mac};
use hookloop_domain::Row;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{batch_write_body, EncodedItem};
use crate::dynamodb::Table;
use crate::retry::Backoff;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TABLE: &str = "rows";

/// A request as it left the SDK: after every interceptor and the signer.
#[derive(Debug, Clone)]
struct Sent {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Sent {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Answer = dyn Fn(usize, &Value) -> Value + Send + Sync;

/// Records each request and answers `answer(call number, request body)` with 200.
#[derive(Clone)]
struct Fake {
    sent: Arc<Mutex<Vec<Sent>>>,
    answer: Arc<Answer>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake")
    }
}

impl HttpConnector for Fake {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut sent = self.sent.lock().unwrap();
        let answer = (self.answer)(sent.len(), &parsed);
        sent.push(Sent {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            body,
        });
        let status = StatusCode::try_from(200u16).unwrap();
        HttpConnectorFuture::ready(Ok(HttpResponse::new(
            status,
            SdkBody::from(answer.to_string()),
        )))
    }
}

impl HttpClient for Fake {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn table(answer: impl Fn(usize, &Value) -> Value + Send + Sync + 'static) -> (Table, Fake) {
    let fake = Fake {
        sent: Arc::default(),
        answer: Arc::new(answer),
    };
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", SECRET, None, None, "test"))
        .endpoint_url("http://dynamodb.test:8000")
        .http_client(fake.clone())
        .build();
    let t = Table {
        client: aws_sdk_dynamodb::Client::from_conf(conf),
        name: TABLE.to_owned(),
        backoff: Backoff {
            base: Duration::from_micros(1),
            cap: Duration::from_micros(10),
            max_attempts: 3,
        },
    };
    (t, fake)
}

fn rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| Row {
            pk: format!("USER#{i}é\u{1}"),
            sk: "PROFILE\"".into(),
            attrs: json!({"n": i, "f": 2.0, "m": {"l": [true, null, "😀\n"]}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        })
        .collect()
}

fn encoded(rows: &[Row]) -> Vec<EncodedItem> {
    rows.iter().cloned().map(EncodedItem::new).collect()
}

fn hex_sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// SigV4 computed here, independently of the SDK, over the request as it was sent but with
/// `body`; with the SDK's `Authorization`, the signature it carries.
fn signatures(s: &Sent, body: &[u8]) -> (String, String) {
    let auth = s.header("authorization").expect("signed");
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|p| p.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {auth}"))
    };
    let (credential, signed, signature) = (
        field("Credential="),
        field("SignedHeaders="),
        field("Signature="),
    );
    assert!(signed.split(';').any(|h| h == "content-length"), "{signed}");
    let scope = credential.split_once('/').expect("scope").1;
    let date = s.header("x-amz-date").expect("x-amz-date");
    let rest = s.uri.split_once("://").expect("absolute uri").1;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = if path.is_empty() { "/" } else { path };
    let mut canonical = format!("{}\n{path}\n{query}\n", s.method);
    for name in signed.split(';') {
        let value = match (name, s.header(name)) {
            (_, Some(v)) => v.split_whitespace().collect::<Vec<_>>().join(" "),
            ("host", None) => authority.to_owned(),
            _ => panic!("signed header {name} not sent"),
        };
        canonical.push_str(&format!("{name}:{value}\n"));
    }
    canonical.push_str(&format!("\n{signed}\n{}", hex_sha256(body)));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex_sha256(canonical.as_bytes())
    );
    let mut key = format!("AWS4{SECRET}").into_bytes();
    for part in scope.split('/') {
        key = hmac(&key, part);
    }
    (hex::encode(hmac(&key, &to_sign)), signature.to_owned())
}

/// The SDK signed the request over the body that was sent (not over the placeholder input it
/// serialised), `Content-Length` included.
fn assert_signed_as_sent(s: &Sent) {
    let (computed, sent) = signatures(s, &s.body);
    assert_eq!(computed, sent, "signature over the body sent");
    let placeholder = format!(r#"{{"RequestItems":{{"{TABLE}":[]}}}}"#);
    let (over_placeholder, _) = signatures(s, placeholder.as_bytes());
    assert_ne!(over_placeholder, sent, "the check tells the bodies apart");
}

#[tokio::test]
async fn the_signed_request_carries_the_encoded_body_and_unprocessed_items_are_resent() {
    let rows = rows(3);
    let refused = encoded(&rows[1..2]);
    let refused_item: Value = serde_json::from_slice(&refused[0].item).unwrap();
    let (t, fake) = table(move |call, _| match call {
        0 => json!({"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": refused_item}}]}}),
        _ => json!({"UnprocessedItems": {}}),
    });
    t.put_rows(rows.clone()).await.unwrap();

    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "one call, then the refused item again");
    for (s, items) in sent.iter().zip([encoded(&rows), refused]) {
        let body = batch_write_body(TABLE, &items);
        assert_eq!(s.body, body, "{}", String::from_utf8_lossy(&s.body));
        assert_eq!(s.header("content-length"), Some(&*body.len().to_string()));
        assert_eq!(
            s.header("x-amz-target"),
            Some("DynamoDB_20120810.BatchWriteItem")
        );
        assert_signed_as_sent(s);
    }
}

#[tokio::test]
async fn rows_go_25_to_a_request() {
    let rows = rows(60);
    let (t, fake) = table(|_, _| json!({}));
    t.put_rows(rows.clone()).await.unwrap();
    let sent = fake.sent.lock().unwrap().clone();
    let bodies: Vec<Vec<u8>> = sent.into_iter().map(|s| s.body).collect();
    let expected: Vec<Vec<u8>> = rows
        .chunks(25)
        .map(|c| batch_write_body(TABLE, &encoded(c)))
        .collect();
    assert_eq!(bodies, expected);
}

#[tokio::test]
async fn rows_refused_after_the_last_attempt_are_a_retryable_failure() {
    // Every call hands back everything it was sent.
    let (t, fake) = table(|_, req| json!({"UnprocessedItems": req["RequestItems"]}));
    let err = t.put_rows(rows(2)).await.unwrap_err();
    assert_eq!(err.code, "UnprocessedItems");
    assert!(err.retryable);
    assert!(err.message.contains("2 items"), "{}", err.message);
    assert_eq!(fake.sent.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_unprocessed_item_matching_nothing_sent_fails_retryably() {
    let stranger = json!({"pk": {"S": "x"}, "sk": {"S": "y"}});
    let (t, _) = table(
        move |_, _| json!({"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": stranger.clone()}}]}}),
    );
    let err = t.put_rows(rows(1)).await.unwrap_err();
    assert_eq!(err.code, "UnprocessedItems");
    assert!(err.retryable);
}
