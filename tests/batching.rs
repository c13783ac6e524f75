//! The store phase packs a batch's writes into as few requests as the service limits allow,
//! and a request that fails fails only the messages with an item in it. Requests are counted by
//! the SDK interceptor every client carries, in the registry of the test's own environment.

use std::collections::HashSet;
use std::time::Duration;

use hookloop_aws::dedup::Claims;
use hookloop_aws::dynamodb::MAX_BATCH_WRITE_ITEMS;
use hookloop_aws::AwsClients;
use hookloop_domain::{dedup_key, parse_webhook, raw_partition, Envelope, Normalized, Source};
use hookloop_processor::{handle, ArchiveMode};
use hookloop_tests::proxy::{FaultProxy, Rule};
use hookloop_tests::*;
use serde_json::json;
use time::OffsetDateTime;

fn geofence_entry(n: usize) -> Envelope {
    let body = json!({
        "event": {"_id": format!("evt-{n:04}"), "type": "user.entered_geofence",
                  "createdAt": "2024-05-01T12:10:00.000Z",
                  "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                  "geofence": {"_id": "g1", "tag": "store", "externalId": "store-42"}},
        "user": {"userId": format!("user-{n:04}")}
    })
    .to_string();
    Envelope::received(Source::Location, body, OffsetDateTime::now_utc())
}

fn campaign(n: usize, pad: usize) -> Envelope {
    let body = json!({
        "targetId": 1000 + n,
        "key_values": {"coupon": "C1", "pad": "x".repeat(pad)},
        "profiles": [{"objectId": format!("obj-{n:04}"), "identity": format!("id-{n:04}")}]
    })
    .to_string();
    Envelope::received(Source::ClevertapWebhook, body, OffsetDateTime::now_utc())
}

fn normalized(e: &Envelope) -> Normalized {
    Normalized::from_webhook(&parse_webhook(e.source(), e.body().as_bytes()).unwrap(), e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_is_written_in_as_few_requests_as_the_service_limits_allow() {
    let env = TestEnv::start().await;
    let claims = Claims::new(
        env.clients.dynamodb.clone(),
        env.resources.table.clone(),
        Duration::from_secs(3600),
    );
    // 100 geofence entries, each with the deduplication key the ingest claimed for it.
    let mut batch: Vec<Envelope> = (0..100).map(geofence_entry).collect();
    // The same messages as the ingest queues them now: with their key, without the mark.
    let mut unclaimed: Vec<Envelope> = Vec::new();
    for e in &mut batch {
        let webhook = parse_webhook(e.source(), e.body().as_bytes()).unwrap();
        let key = dedup_key(e.source(), &webhook, e.body().as_bytes());
        claims.claim(&key, &e.id().to_string()).await.unwrap();
        let keyed = e.clone().with_dedup_key(Some(key));
        unclaimed.push(keyed.clone());
        *e = keyed.claimed_before_sending();
    }
    let rows: HashSet<(String, String)> = batch
        .iter()
        .flat_map(|e| normalized(e).rows)
        .map(|r| (r.pk, r.sk))
        .collect();
    // The users' profiles: one conditional PutItem each.
    let latest: HashSet<(String, String)> = batch
        .iter()
        .flat_map(|e| normalized(e).latest)
        .map(|r| r.into_row())
        .map(|r| (r.pk, r.sk))
        .collect();
    assert_eq!(latest.len(), 100);
    let events: usize = batch
        .iter()
        .map(|e| normalized(e).geofence_events.len())
        .sum();
    assert_eq!(events, 100);

    let p = env.processor(&[]);
    let before = env.requests.snapshot();
    let r = handle(&p, sqs_event(&batch, 1), None).await;
    let sent = env.requests.snapshot().since(&before);
    assert!(r.batch_item_failures.is_empty());
    println!("batched, 100 messages: {sent}");
    assert_eq!(
        sent.get("dynamodb:BatchGetItem"),
        0,
        "claims the ingest took are not read again"
    );
    assert_eq!(
        sent.get("dynamodb:BatchWriteItem") as usize,
        rows.len().div_ceil(MAX_BATCH_WRITE_ITEMS),
        "{} rows",
        rows.len()
    );
    assert_eq!(
        sent.get("kinesis:PutRecords"),
        1,
        "100 records, one request"
    );
    let partitions: HashSet<String> = batch
        .iter()
        .map(|e| raw_partition(e.source(), e.id()))
        .collect();
    assert_eq!(
        sent.get("s3:PutObject") as usize,
        partitions.len(),
        "one raw object per batch, source and hour"
    );
    let archived = env.archived().await;
    assert_eq!(archived.len(), 100, "every body in it");
    assert_eq!(sent.get("dynamodb:GetItem"), 0);
    assert_eq!(
        sent.get("dynamodb:PutItem") as usize,
        latest.len(),
        "one conditional write per latest-state row, no claim"
    );
    assert_eq!(env.scan_rows().await.len(), rows.len() + latest.len());
    assert_eq!(env.stream_records().await.len(), 100);

    // One item per request, for comparison: the same batch again.
    let mut naive_processor = env.naive_processor(&[]);
    naive_processor.archive_mode = ArchiveMode::Object;
    let before = env.requests.snapshot();
    let r = handle(&naive_processor, sqs_event(&batch, 2), None).await;
    let naive = env.requests.snapshot().since(&before);
    assert!(r.batch_item_failures.is_empty());
    println!("one item per request, 100 messages: {naive}");
    assert_eq!(naive.get("dynamodb:BatchWriteItem") as usize, rows.len());
    assert_eq!(naive.get("dynamodb:PutItem") as usize, latest.len());
    assert_eq!(naive.get("kinesis:PutRecords"), 100);
    assert_eq!(naive.get("s3:PutObject"), 100);
    assert_eq!(
        env.scan_rows().await.len(),
        rows.len() + latest.len(),
        "rewritten, not doubled"
    );

    // Messages the ingest queued without a claim (the table was unreachable then) are checked
    // here instead: one read for their 100 keys, and no claim taken where an owner exists.
    let batch = unclaimed;
    let before = env.requests.snapshot();
    let r = handle(&p, sqs_event(&batch, 3), None).await;
    let unclaimed = env.requests.snapshot().since(&before);
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        unclaimed.get("dynamodb:BatchGetItem"),
        1,
        "one read for 100 keys"
    );
    assert_eq!(
        unclaimed.get("dynamodb:PutItem") as usize,
        latest.len(),
        "the profiles' conditional writes, and no claim"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_item_refused_for_good_fails_only_its_own_message() {
    let env = TestEnv::start().await;
    // 30 campaign webhooks share row requests; DynamoDB refuses one of their rows for good. The
    // parsers refuse whatever DynamoDB could not store, so the refusal comes from the proxy, as
    // DynamoDB answers a refused item (ValidationException), for any request holding that row.
    let proxy = FaultProxy::start(&env.moto.endpoint, 7).await;
    proxy.set_rule(
        "dynamodb:BatchWriteItem",
        Some(Rule::RefuseContaining("obj-0099".to_owned())),
    );
    let sdk = env.sdk.to_builder().endpoint_url(&proxy.url).build();
    let config = hookloop_processor::ProcessorConfig::read(&hookloop_runtime::Env::new({
        let vars = env.env();
        move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }))
    .expect("processor configuration");
    let p = hookloop_processor::Processor::new(
        &AwsClients::from_sdk_config(&sdk, env.requests.clone()),
        config,
    )
    .expect("processor");
    let mut batch: Vec<Envelope> = (0..30).map(|n| campaign(n, 10)).collect();
    let poison = campaign(99, 10);
    batch.insert(7, poison.clone());
    let r = handle(&p, sqs_event(&batch, 1), None).await;
    assert!(r.batch_item_failures.is_empty(), "nothing left to retry");

    let dead = env.dlq_messages(1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0, poison.encode());
    assert_eq!(dead[0].1["stage"], "store");
    assert!(
        dead[0].1["error_code"]
            .as_str()
            .unwrap()
            .starts_with("dynamodb.BatchWriteItem:"),
        "{:?}",
        dead[0].1
    );
    let stored: HashSet<String> = env
        .scan_rows()
        .await
        .iter()
        .filter_map(|r| r["message_id"].as_str().map(str::to_owned))
        .collect();
    let others: HashSet<String> = batch
        .iter()
        .filter(|e| e.id() != poison.id())
        .map(|e| e.id().to_string())
        .collect();
    assert_eq!(stored, others, "every other message stored");
}
