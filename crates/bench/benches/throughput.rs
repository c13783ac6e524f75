//! In-process throughput of what the pipeline does per webhook on the CPU: parse and validate
//! (`parse_webhook`), normalise (`Normalized::from_webhook`) and serialise (rows to the DynamoDB
//! JSON items `Table::put_rows` sends, geofence events to Kinesis record bytes, the envelope to
//! its queue message), for 1 KB and 10 KB bodies. Criterion reports webhooks per second on one
//! core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookloop_aws::dynamodb::encode::encode_row;
use hookloop_domain::{parse_webhook, Envelope, Normalized, Source};
use serde_json::json;
use time::OffsetDateTime;

/// A Radar geofence entry padded to about `size` bytes (in user metadata, which is kept raw).
fn location(size: usize) -> String {
    let base = json!({
        "event": {"_id": "66329c1e5f8a2b0019e4a001", "type": "user.entered_geofence",
                  "createdAt": "2024-05-01T12:10:00.000Z",
                  "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                  "geofence": {"_id": "g1", "tag": "store", "externalId": "store-42",
                               "description": "Store 42"}},
        "user": {"userId": "cust-1001", "deviceId": "C305F2DB-56DC-404F-B6C1-BC52F0B680D8",
                 "metadata": {"pad": ""}}
    })
    .to_string();
    let pad = size.saturating_sub(base.len());
    base.replace(r#""pad":"""#, &format!(r#""pad":"{}""#, "x".repeat(pad)))
}

/// A CleverTap campaign webhook with enough profiles to reach about `size` bytes.
fn campaign(size: usize) -> String {
    let profile = |i: usize| {
        json!({"objectId": format!("a8ffcbc9-a747-4ee3-a791-c5e58ad0{i:04}"),
               "identity": format!("cust-{i}"), "email": format!("user{i}@example.com"),
               "key_values": {"tier": "gold"}})
    };
    let mut n = 1;
    loop {
        let body =
            json!({"targetId": 1690283492, "key_values": {"coupon": "SPRING20", "discount": 20},
                          "profiles": (0..n).map(profile).collect::<Vec<_>>()})
            .to_string();
        if body.len() >= size || n > 1000 {
            return body;
        }
        n += 1;
    }
}

fn pipeline_cpu(source: Source, body: &str) -> usize {
    let webhook = match parse_webhook(source, body.as_bytes()) {
        Ok(w) => w,
        Err(e) => panic!("the bench corpus must parse: {e}"),
    };
    let envelope = Envelope::received(source, body.to_owned(), OffsetDateTime::UNIX_EPOCH);
    let normalized = Normalized::from_webhook(&webhook, &envelope);
    let records: usize = normalized
        .geofence_events
        .iter()
        .map(|g| g.to_json_bytes().len())
        .sum();
    let items: usize = normalized.all_rows().map(|r| encode_row(r).len()).sum();
    items + records + envelope.encode().len()
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_validate_normalise_serialise");
    for (name, source, body) in [
        ("location_1KB", Source::Location, location(1024)),
        ("location_10KB", Source::Location, location(10 * 1024)),
        (
            "clevertap_campaign_1KB",
            Source::ClevertapWebhook,
            campaign(1024),
        ),
        (
            "clevertap_campaign_10KB",
            Source::ClevertapWebhook,
            campaign(10 * 1024),
        ),
    ] {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| pipeline_cpu(source, std::hint::black_box(body)))
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
