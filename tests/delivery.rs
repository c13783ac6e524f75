//! Delivery guarantees at the edges: bodies too large for a queue message (claim check through
//! S3), repeated deliveries (deduplication by the sender's event id or the body), and hostile
//! input (a corpus of bad requests, every one refused with a 4xx and nothing queued). What
//! happens when the ingest fails between queueing and claiming is in `admission.rs`.

use std::collections::HashSet;
use std::time::Duration;

use hookloop_aws::dedup::{Claim, Claims};
use hookloop_domain::{dedup_key, parse_webhook, Envelope, Source};
use hookloop_processor::handle;
use hookloop_tests::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A Radar geofence entry with event id `id`, padded with user metadata to `size` bytes.
fn radar(id: &str, size: usize) -> Vec<u8> {
    let base = json!({
        "event": {"_id": id, "type": "user.entered_geofence", "createdAt": "2024-05-01T12:10:00.000Z",
                  "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                  "geofence": {"_id": "g1", "tag": "store", "externalId": "store-42"}},
        "user": {"userId": format!("user-{id}"), "metadata": {"pad": ""}}
    });
    let text = base.to_string();
    let pad = size.saturating_sub(text.len());
    text.replace(r#""pad":"""#, &format!(r#""pad":"{}""#, "x".repeat(pad)))
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bodies_too_large_for_a_queue_message_go_through_s3_and_arrive_whole() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (name, size) in [
        ("kib200", 200 * 1024),
        ("kib900", 900 * 1024),
        ("mib2", 2 * 1024 * 1024),
    ] {
        let body = radar(name, size);
        assert_eq!(body.len(), size);
        let (status, answer) = serve.post(&http, "/webhooks/location", body.clone()).await;
        assert_eq!(status, 200, "{name}: {answer}");
        ids.push((name, answer["id"].as_str().unwrap().to_owned(), body));
    }
    let archive = env.archive();
    for (name, id, body) in &ids {
        let stored = eventually(&format!("{name} archived"), Duration::from_secs(60), || {
            let archive = archive.clone();
            let id = id.parse().unwrap();
            async move { archive.find(Source::Location, id).await.ok().flatten() }
        })
        .await;
        assert!(
            stored.0.starts_with(&format!(
                "raw/source=location/dt={}/hour={}/",
                &id_date(id),
                &id_hour(id)
            )),
            "{}",
            stored.0
        );
        assert_eq!(&stored.1, body, "{name}: archived byte for byte");
        let row = env
            .table()
            .get(
                &format!("USER#user-{name}"),
                &format!("LOC#2024-05-01T12:10:00.000Z#{name}"),
            )
            .await
            .unwrap();
        assert!(row.is_some(), "{name}: row");
    }
    // Only the two bodies above the 256 KiB threshold went through the claim check.
    let claims = archive.list("claims/").await.unwrap();
    assert_eq!(claims.len(), 2, "{claims:?}");
    assert!(
        claims.iter().any(|k| k.contains(&ids[1].1))
            && claims.iter().any(|k| k.contains(&ids[2].1))
    );

    // Above the ingest's limit (6 MiB by default): 413, nothing queued.
    let (status, answer) = serve
        .post(
            &http,
            "/webhooks/location",
            radar("over", 6 * 1024 * 1024 + 1),
        )
        .await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], "payload_too_large");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.queue().depth().await.unwrap(), (0, 0));
}

fn id_time(id: &str) -> OffsetDateTime {
    let id: hookloop_domain::MessageId = id.parse().unwrap();
    id.received_at().as_offset_date_time()
}

fn id_date(id: &str) -> String {
    let t = id_time(id);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn id_hour(id: &str) -> String {
    format!("{:02}", id_time(id).hour())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeated_delivery_gets_the_original_id_and_is_not_queued_again() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();

    // By the sender's event id: a retry that differs in formatting is still the same event.
    let first = radar("evt-1", 600);
    let (s1, a1) = serve.post(&http, "/webhooks/location", first.clone()).await;
    assert_eq!((s1, a1["status"].as_str()), (200, Some("queued")));
    let reformatted =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&first).unwrap()).unwrap();
    let (s2, a2) = serve.post(&http, "/webhooks/location", reformatted).await;
    assert_eq!(s2, 200);
    assert_eq!(a2, json!({"id": a1["id"], "status": "duplicate"}));
    let (_, other) = serve
        .post(&http, "/webhooks/location", radar("evt-2", 600))
        .await;
    assert_eq!(other["status"], "queued");

    // Without an event id: by the exact body.
    let campaign = std::fs::read(event_file("webhooks/clevertap/campaign-broadcast.json")).unwrap();
    let (_, c1) = serve
        .post(&http, "/webhooks/clevertap", campaign.clone())
        .await;
    let (_, c2) = serve.post(&http, "/webhooks/clevertap", campaign).await;
    assert_eq!(c1["status"], "queued");
    assert_eq!(c2, json!({"id": c1["id"], "status": "duplicate"}));

    // Stored once: one campaign row per profile, with the first delivery's id.
    eventually("campaign rows", Duration::from_secs(30), || async {
        let n = env
            .scan_all()
            .await
            .iter()
            .filter(|i| i["kind"] == "campaign_profile")
            .count();
        (n >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let items = env.scan_all().await;
    let campaign_rows: Vec<_> = items
        .iter()
        .filter(|i| i["kind"] == "campaign_profile")
        .collect();
    assert_eq!(campaign_rows.len(), 2);
    assert!(campaign_rows.iter().all(|r| r["message_id"] == c1["id"]));
    let archived = env.archived_ids().await;
    assert_eq!(
        archived.len(),
        3,
        "three distinct webhooks archived: {archived:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_repeats_are_queued_exactly_once() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    let body = radar("burst-1", 800);
    let answers = futures::future::join_all(
        (0..20).map(|_| serve.post(&http, "/webhooks/location", body.clone())),
    )
    .await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let queued = answers
        .iter()
        .filter(|(_, a)| a["status"] == "queued")
        .count();
    let ids: HashSet<&str> = answers
        .iter()
        .map(|(_, a)| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(queued, 1, "{answers:?}");
    assert_eq!(ids.len(), 1, "every repeat names the one queued message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_processor_stores_a_webhook_once_even_if_it_was_queued_twice() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let claims = Claims::new(
        env.clients.dynamodb.clone(),
        env.resources.table.clone(),
        Duration::from_secs(3600),
    );
    let body = String::from_utf8(radar("twice", 700)).unwrap();
    let webhook = parse_webhook(Source::Location, body.as_bytes()).unwrap();
    let key = dedup_key(Source::Location, &webhook, body.as_bytes());
    let envelope = |k: &str| {
        Envelope::received(Source::Location, body.clone(), OffsetDateTime::now_utc())
            .with_dedup_key(Some(k.to_owned()))
    };
    // Two copies carrying one key with different ids (an ingest that queued without a claim
    // while the table was unreachable, then a repeat that claimed it): only the owner lands.
    let (a, b) = (envelope(&key), envelope(&key));
    assert_eq!(
        claims.claim(&key, &b.id().to_string()).await.unwrap(),
        Claim::Won
    );
    let b = b.claimed_before_sending();
    let r = handle(&p, sqs_event(&[a.clone(), b.clone()], 1), None).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        env.archived_ids().await,
        HashSet::from([b.id().to_string()]),
        "the claim's owner is the one stored"
    );

    // A message whose claim is gone (the ingest could not take it) claims it itself, so a
    // later repeat is recognised as one.
    let lone_key = format!("{key}-lone");
    let c = envelope(&lone_key);
    handle(&p, sqs_event(std::slice::from_ref(&c), 1), None).await;
    assert_eq!(
        claims.owner(&lone_key).await.unwrap(),
        Some(c.id().to_string())
    );
    let d = envelope(&lone_key);
    assert_eq!(
        claims.claim(&lone_key, &d.id().to_string()).await.unwrap(),
        Claim::Duplicate {
            original: c.id().to_string()
        }
    );
}

/// Free-form maps: whatever they hold is accepted as is.
const FREE_FORM: &[&str] = &[
    "key_values",
    "profileData",
    "event_properties",
    "metadata",
    "all_identities",
];

/// Every field of a sample, replaced by values of JSON types it cannot take (ids take strings
/// and integers, so those are not "wrong" for a number or a string; `profiles` takes an array
/// or an object). Fields the parser does not read are skipped (`TOLERATED`).
fn wrong_types(sample: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    let wrong = |v: &Value| -> Vec<Value> {
        match v {
            Value::Number(_) | Value::String(_) => vec![json!(true), json!([]), json!({"x": 1})],
            Value::Bool(_) => vec![json!("text"), json!(1.5), json!([]), json!({"x": 1})],
            Value::Object(_) => vec![json!("text"), json!(1.5), json!(true), json!([])],
            Value::Array(_) => vec![json!("text"), json!(1.5), json!(true)],
            Value::Null => vec![],
        }
    };
    match sample {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{path}/{k}");
                if TOLERATED.contains(&p.as_str()) {
                    continue;
                }
                for r in wrong(v) {
                    out.push((p.clone(), r));
                }
                if !FREE_FORM.contains(&k.as_str()) {
                    wrong_types(v, &p, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                wrong_types(v, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Fields of the samples that hookloop does not read: any value is accepted (and archived).
const TOLERATED: &[&str] = &[
    "/event/actualCreatedAt",
    "/event/confidence",
    "/event/location/type",
    "/user/metadata",
];

fn set_pointer(doc: &mut Value, pointer: &str, v: Value) {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = v;
    }
}

fn remove_pointer(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(Value::Object(m)) = doc.pointer_mut(parent) {
        m.remove(key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corpus_of_hostile_requests_is_refused_with_4xx_and_nothing_is_queued() {
    let env = TestEnv::start().await;
    let serve = env.serve(&[("RUST_LOG", "info")]).await;
    let http = reqwest::Client::new();
    // (route, content type, body, why)
    let mut corpus: Vec<(&str, &str, Vec<u8>, String)> = Vec::new();
    let json_ct = "application/json";
    let routes = [
        "/webhooks/clevertap",
        "/webhooks/clevertap/export-status",
        "/webhooks/location",
    ];

    for route in routes {
        for bad in [
            "",
            " ",
            "{",
            "}",
            "[]",
            "null",
            "42",
            "\"text\"",
            "{\"a\":}",
            "{'a': 1}",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "[1,2",
            "{\"a\":1}{\"b\":2}",
            "NaN",
            "{\"a\": NaN}",
            "{\"a\": Infinity}",
            "\u{feff}{}",
            "{\"a\": \"unterminated}",
            "{\"a\": 01}",
        ] {
            corpus.push((
                route,
                json_ct,
                bad.as_bytes().to_vec(),
                format!("invalid JSON {bad:?}"),
            ));
        }
        for bad in [
            &b"\xff\xfe"[..],
            b"{\"a\": \"\xc3\x28\"}",
            b"{\"\xf0\x28\x8c\x28\": 1}",
            b"\x80",
        ] {
            corpus.push((route, json_ct, bad.to_vec(), "invalid UTF-8".into()));
        }
        let deep_arrays = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let deep_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        corpus.push((
            route,
            json_ct,
            deep_arrays.into_bytes(),
            "10,000 nested arrays".into(),
        ));
        corpus.push((
            route,
            json_ct,
            deep_objects.into_bytes(),
            "10,000 nested objects".into(),
        ));
        corpus.push((
            route,
            json_ct,
            b"{\"a\": \"tab\there\"}".to_vec(),
            "raw control character in a string".into(),
        ));
        corpus.push((
            route,
            json_ct,
            b"{\"a\": \"nul\x00\"}".to_vec(),
            "raw NUL in a string".into(),
        ));
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "",
        ] {
            corpus.push((route, ct, b"{}".to_vec(), format!("content type {ct:?}")));
        }
        corpus.push((
            route,
            json_ct,
            vec![b' '; 6 * 1024 * 1024 + 1],
            "over the size limit".into(),
        ));
    }

    // Wrong types at every field and each field missing, from each sample.
    for (route, file) in [
        (
            "/webhooks/clevertap",
            "webhooks/clevertap/campaign-broadcast.json",
        ),
        (
            "/webhooks/clevertap/export-status",
            "webhooks/clevertap-export-status/export-completed.json",
        ),
        (
            "/webhooks/location",
            "webhooks/location/radar-geofence-entered.json",
        ),
        ("/webhooks/location", "webhooks/location/structured.json"),
    ] {
        let sample: Value =
            serde_json::from_slice(&std::fs::read(event_file(file)).unwrap()).unwrap();
        let mut mutations = Vec::new();
        wrong_types(&sample, "", &mut mutations);
        for (pointer, value) in mutations {
            let mut doc = sample.clone();
            set_pointer(&mut doc, &pointer, value.clone());
            corpus.push((
                route,
                json_ct,
                doc.to_string().into_bytes(),
                format!("{file}: {pointer} = {value}"),
            ));
        }
        // Required fields (a profile needs an objectId or an identity: the sample's first has both).
        for pointer in [
            "/targetId",
            "/profiles",
            "/profiles/1/objectId+/profiles/1/identity",
            "/Export Request Id",
            "/Status",
            "/Date and Time",
            "/event/location",
            "/event/createdAt",
            "/event/type",
            "/location/latitude",
            "/location/longitude",
            "/location/user_id",
            "/location/created_at",
            "/trip/trip_id",
            "/user/user_id",
        ] {
            let mut doc = sample.clone();
            let pointers: Vec<&str> = pointer.split('+').collect();
            if pointers.iter().all(|p| doc.pointer(p).is_some()) {
                for p in &pointers {
                    remove_pointer(&mut doc, p);
                }
                corpus.push((
                    route,
                    json_ct,
                    doc.to_string().into_bytes(),
                    format!("{file}: {pointer} missing"),
                ));
            }
        }
        for (pointer, huge) in [
            ("/event/location/coordinates/0", "1e400"),
            ("/location/latitude", "123456789012345678901234567890"),
            ("/targetId", "1e999"),
            ("/Export Request Id", "-1e400"),
        ] {
            if sample.pointer(pointer).is_some() {
                let mut doc = sample.clone();
                set_pointer(&mut doc, pointer, json!("__HUGE__"));
                let text = doc.to_string().replace("\"__HUGE__\"", huge);
                corpus.push((
                    route,
                    json_ct,
                    text.into_bytes(),
                    format!("{file}: {pointer} = {huge}"),
                ));
            }
        }
    }

    let mut accepted = Vec::new();
    for (route, ct, body, why) in &corpus {
        let mut req = http
            .post(format!("{}{route}", serve.url))
            .header("x-webhook-token", TEST_TOKEN)
            .body(body.clone());
        if !ct.is_empty() {
            req = req.header("content-type", *ct);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        if !(400..500).contains(&status) {
            println!("NOT REFUSED {why}: {status} {answer}");
            accepted.push(why.clone());
            continue;
        }
        if status == 400 {
            assert!(
                answer["field"].is_string(),
                "{why}: a 400 names the field: {answer}"
            );
        }
    }
    assert!(corpus.len() >= 200, "only {} requests", corpus.len());
    assert!(accepted.is_empty(), "{accepted:#?}");
    println!(
        "hostile corpus: {} requests, every one refused with a 4xx",
        corpus.len()
    );
    let (status, _) = serve
        .post(&http, "/webhooks/location", radar("still-alive", 600))
        .await;
    assert_eq!(status, 200, "the server still works");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let archived = env.archived_ids().await;
    assert_eq!(
        archived.len(),
        1,
        "only the last, valid webhook went through: {archived:?}"
    );
    assert!(!serve.logs().contains("panicked"));
}
