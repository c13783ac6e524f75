//! One OpenTelemetry trace per webhook, end to end: `hookloop serve` (both functions' handlers)
//! on moto, exporting over OTLP/HTTP to a receiver in this test, with JSON logs. Each webhook
//! is one trace: the ingest's request span, its SQS send, the processor's span for its message
//! and the spans of the S3, DynamoDB, Kinesis and CleverTap calls that served it, each the
//! child of the one before; two webhooks are two traces; every log line about a webhook, in
//! both functions, carries its trace id (X-Ray form); a sender's `traceparent` is continued.
//! And the queue message itself, sent through the real adapter to moto, carries the context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use hookloop_domain::attributes as attr;
use hookloop_runtime::telemetry::{ids, propagation};
use hookloop_tests::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message as _;
use serde_json::Value;

/// A span as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    trace: String,
    id: String,
    parent: String,
    name: String,
    kind: i32,
    attributes: HashMap<String, String>,
}

type Received = Arc<Mutex<Vec<Got>>>;

async fn receive(State(got): State<Received>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf request");
    let mut out = got.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
            .unwrap_or_default();
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            out.push(Got {
                service: service.clone(),
                trace: hex::encode(&span.trace_id),
                id: hex::encode(&span.span_id),
                parent: hex::encode(&span.parent_span_id),
                name: span.name,
                kind: span.kind,
                attributes: span
                    .attributes
                    .iter()
                    .filter_map(|a| Some((a.key.clone(), text(a.value.as_ref()?.value.as_ref()?)?)))
                    .collect(),
            });
        }
    }
    Vec::new()
}

fn text(v: &Any) -> Option<String> {
    match v {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(i) => Some(i.to_string()),
        Any::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The OTLP/HTTP receiver: its base URL and what it got.
async fn receiver() -> (String, Received) {
    let got = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// The JSON log lines of a log.
fn log_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.contains("\"_aws\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

// OpenTelemetry's span kinds, as OTLP numbers them.
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;

/// The one span of `trace` named `name` (exactly one).
fn one<'a>(spans: &'a [Got], trace: &str, name: &str) -> &'a Got {
    let found: Vec<&Got> = spans
        .iter()
        .filter(|s| s.trace == trace && s.name == name)
        .collect();
    assert_eq!(found.len(), 1, "one {name} in {trace}: {spans:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_webhook_is_one_trace_from_the_ingest_to_every_store_and_its_logs_say_which() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let (otlp, got) = receiver().await;
    let vars = clevertap_env(&stub, &example_rules());
    let mut extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.extend([
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    let serve = env.serve(&extra).await;
    let http = reqwest::Client::new();

    // A location webhook (S3, DynamoDB, Kinesis, CleverTap) and a campaign (S3, DynamoDB,
    // CleverTap), the campaign's sender tracing it already.
    let sender_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sender_span = "00f067aa0ba902b7";
    let (status, geofence) = serve
        .post(
            &http,
            "/webhooks/location",
            std::fs::read(event_file("webhooks/location/radar-geofence-entered.json")).unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{geofence}");
    let campaign = http
        .post(format!("{}/webhooks/clevertap", serve.url))
        .header("content-type", "application/json")
        .header("x-webhook-token", TEST_TOKEN)
        .header("traceparent", format!("00-{sender_trace}-{sender_span}-01"))
        .body(std::fs::read(event_file("webhooks/clevertap/campaign-broadcast.json")).unwrap())
        .send()
        .await
        .expect("POST reaches hookloop serve");
    assert_eq!(campaign.status().as_u16(), 200);
    let campaign: Value = campaign.json().await.unwrap();
    let ids_sent = [
        geofence["id"].as_str().unwrap().to_owned(),
        campaign["id"].as_str().unwrap().to_owned(),
    ];

    // Both loaded back (the last stage): then every span has ended and is exported shortly.
    let traces: Vec<String> = eventually("both webhooks' traces", Duration::from_secs(60), || {
        let lines = log_lines(&serve.logs());
        let spans = got.lock().unwrap().clone();
        let traces: Vec<String> = ids_sent
            .iter()
            .filter_map(|id| {
                let queued = lines
                    .iter()
                    .find(|l| l["message"] == "queued" && l["message_id"] == id.as_str())?;
                let xray = queued["trace_id"].as_str()?;
                Some(format!("{:032x}", ids::from_xray(xray)?))
            })
            .collect();
        let complete = traces.len() == 2
            && traces.iter().all(|t| {
                spans
                    .iter()
                    .any(|s| &s.trace == t && s.name == "CleverTap upload")
            });
        async move { complete.then_some(traces) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spans = got.lock().unwrap().clone();
    assert_ne!(traces[0], traces[1], "two webhooks, two traces");
    assert_eq!(
        traces[1], sender_trace,
        "the sender's traceparent is continued"
    );
    assert!(spans.iter().all(|s| s.service == "hookloop-serve"));

    for (n, trace) in traces.iter().enumerate() {
        let ingest = one(
            &spans,
            trace,
            if n == 0 {
                "POST /webhooks/location"
            } else {
                "POST /webhooks/clevertap"
            },
        );
        assert_eq!(ingest.kind, SERVER);
        let expected_root = if n == 0 { "" } else { sender_span };
        assert_eq!(
            ingest.parent, expected_root,
            "the ingest starts the trace or continues the sender's"
        );
        let send = one(&spans, trace, "SQS.SendMessage");
        assert_eq!(
            (send.kind, send.parent.as_str()),
            (PRODUCER, ingest.id.as_str())
        );
        assert_eq!(send.attributes["messaging.system"], "aws_sqs");
        assert_eq!(send.attributes["rpc.system"], "aws-api");
        assert_eq!(send.attributes["rpc.method"], "SendMessage");
        let process: Vec<&Got> = spans
            .iter()
            .filter(|s| &s.trace == trace && s.kind == CONSUMER)
            .collect();
        assert_eq!(
            process.len(),
            1,
            "one processing of the message: {process:#?}"
        );
        let process = process[0];
        assert_eq!(
            process.parent, send.id,
            "the processor joins the ingest's trace"
        );
        assert_eq!(process.attributes["messaging.operation.type"], "process");
        let mut calls = vec![
            "S3.PutObject",
            "DynamoDB.BatchWriteItem",
            "CleverTap upload",
        ];
        if n == 0 {
            calls.push("Kinesis.PutRecords");
        }
        for name in calls {
            // Several when one message's records go in more than one request (CleverTap: one
            // per record type).
            let of_call: Vec<&Got> = spans
                .iter()
                .filter(|s| &s.trace == trace && s.name == name)
                .collect();
            assert!(!of_call.is_empty(), "{name} in {trace}: {spans:#?}");
            for call in of_call {
                assert_eq!(
                    (call.kind, call.parent.as_str()),
                    (CLIENT, process.id.as_str()),
                    "{name}"
                );
                assert!(
                    call.attributes
                        .contains_key("messaging.batch.message_count"),
                    "{call:?}"
                );
            }
        }
        let s3 = one(&spans, trace, "S3.PutObject");
        assert_eq!(
            (
                s3.attributes["rpc.system"].as_str(),
                s3.attributes["rpc.service"].as_str()
            ),
            ("aws-api", "S3")
        );
    }

    // Every line about each webhook, in both functions, carries its trace id.
    let lines = log_lines(&serve.logs());
    for (id, trace) in ids_sent.iter().zip(&traces) {
        let about: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message_id"] == id.as_str())
            .collect();
        let messages: Vec<&str> = about.iter().filter_map(|l| l["message"].as_str()).collect();
        for expected in ["queued", "stored", "loaded back to CleverTap"] {
            assert!(
                messages.contains(&expected),
                "{expected} for {id}: {messages:?}"
            );
        }
        let xray = ids::to_xray(ids::from_hex32(trace).unwrap());
        for l in &about {
            assert_eq!(l["trace_id"], xray.as_str(), "{l}");
            assert!(
                l["request_id"].is_string() && l["cold_start"].is_boolean(),
                "{l}"
            );
        }
    }
}

#[tokio::test]
async fn the_queued_message_carries_its_context_on_moto() {
    let env = TestEnv::start().await;
    let span = tracing::info_span!("test");
    let cx = hookloop_runtime::telemetry::context_of(&span);
    let envelope = hookloop_domain::Envelope::received(
        hookloop_domain::Source::Location,
        "{}".to_owned(),
        time::OffsetDateTime::now_utc(),
    );
    let (body, attributes, xray) =
        hookloop_ingest::traced(hookloop_ingest::OutgoingMessage::new(&envelope), &cx);
    env.queue()
        .send_traced(body, &attributes, Some(&xray))
        .await
        .expect("send through the real adapter");
    let received = env.queue().receive(1, 5).await.expect("receive raw");
    assert_eq!(received.len(), 1);
    let m = &received[0];
    let traceparent = m
        .message_attributes()
        .and_then(|a| a.get(attr::TRACEPARENT))
        .and_then(|v| v.string_value())
        .expect("a traceparent message attribute");
    assert_eq!(traceparent, propagation::traceparent(&cx));
    let header = m
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader))
        .expect("the AWSTraceHeader system attribute");
    let read = propagation::parse_xray_header(header).expect("an X-Ray header");
    assert_eq!(
        (read.trace_id(), read.span_id()),
        (cx.trace_id(), cx.span_id())
    );
    // The size checked before sending (against SQS's limit) counts what the context adds.
    let sent = hookloop_aws::sqs::message_size(m.body().unwrap_or_default(), &attributes)
        + attr::AWS_TRACE_HEADER.len()
        + "String".len()
        + xray.len();
    assert!(hookloop_ingest::OutgoingMessage::new(&envelope).size() >= sent);
}
