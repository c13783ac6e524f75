//! Decode, claim check, parse and write: what reaches the stores, in how many requests, and
//! which messages a failure takes with it.

use hookloop_domain::{claim_object_key, Source};

use super::*;
use crate::memory::{invalid, throttled};
use crate::ArchiveMode;

#[tokio::test]
async fn a_location_webhook_is_archived_written_and_streamed() {
    let w = World::default();
    let e = envelope(Source::Location, RADAR_ENTRY);
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(
        w.rows_of(&e.id().to_string()),
        2,
        "a location row and the profile"
    );
    assert_eq!(w.events.lock().records.len(), 1, "one geofence event");
    let objects = w.objects.lock();
    assert_eq!(objects.objects.len(), 1);
    let (key, (_, content_type)) = objects.objects.iter().next().expect("an archive object");
    assert!(key.starts_with("raw/source=location/"), "{key}");
    assert_eq!(*content_type, "application/gzip");
    assert!(w.dead().is_empty());
}

#[tokio::test]
async fn a_campaign_webhook_writes_a_row_per_profile_and_no_stream_event() {
    let w = World::default();
    let e = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    assert!(w.rows_of(&e.id().to_string()) > 1);
    assert_eq!(
        w.events.lock().requests,
        0,
        "no Kinesis request for no event"
    );
}

#[tokio::test]
async fn a_batch_shares_its_requests_within_the_service_limits() {
    let w = World::default();
    let batch: Vec<_> = (0..40)
        .map(|n| envelope(Source::Location, &radar_entry(n)))
        .collect();
    let r = run_batch(&w.processor(), &batch).await;
    assert!(retried(&r).is_empty());
    let writes = w.rows.lock().writes.clone();
    // 40 location rows, 25 per request; the profile they share, one conditional write.
    assert_eq!(writes, vec![25, 15], "two BatchWriteItem requests");
    assert_eq!(w.rows.lock().latest_writes.len(), 1, "one PutItem");
    assert_eq!(w.events.lock().requests, 1, "40 events in one PutRecords");
    assert!(
        w.objects.lock().puts <= 2,
        "one archive object per source and hour"
    );
}

#[tokio::test]
async fn an_envelope_that_does_not_decode_is_dead_lettered_at_once_with_its_reason() {
    let w = World::default();
    let r = run(
        &w.processor(),
        vec![raw_message("x", "not an envelope", 1, None)],
    )
    .await;
    assert!(retried(&r).is_empty(), "never worth another delivery");
    let dead = w.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].0, "not an envelope",
        "the body untouched, so it can be redriven"
    );
    assert_eq!(dead[0].1["stage"], "parse");
    assert_eq!(dead[0].1["attempts"], "1");
}

#[tokio::test]
async fn a_body_that_does_not_parse_is_dead_lettered_as_payload_invalid() {
    let w = World::default();
    let e = envelope(Source::Location, r#"{"event": 7}"#);
    run(&w.processor(), vec![message(&e, 1)]).await;
    let dead = w.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1["error_code"], "payload_invalid");
    assert_eq!(
        dead[0].1["message_id"],
        e.id().to_string(),
        "its attributes copied over"
    );
    assert_eq!(w.rows.lock().writes.len(), 0);
}

#[tokio::test]
async fn a_claim_checked_body_is_fetched_and_stored_as_received() {
    let w = World::default();
    let mut e = envelope(Source::Location, RADAR_ENTRY);
    let key = claim_object_key(e.id());
    let body = e.check_body(key.clone());
    w.objects
        .lock()
        .objects
        .insert(key, (body.into_bytes(), "application/json"));
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(w.rows_of(&e.id().to_string()), 2);
    assert_eq!(w.events.lock().records.len(), 1);
}

#[tokio::test]
async fn a_missing_claim_check_is_dead_lettered_as_claim_missing() {
    let w = World::default();
    let mut e = envelope(Source::Location, "");
    e.check_body(claim_object_key(e.id()));
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    let dead = w.dead();
    assert_eq!(dead[0].1["error_code"], "claim_missing");
    assert!(
        dead[0].1["error"].contains("memory://claims/"),
        "{}",
        dead[0].1["error"]
    );
}

#[tokio::test]
async fn a_claim_check_that_cannot_be_read_is_left_for_redelivery() {
    let w = World::default();
    w.objects.lock().fail_gets = Some(throttled("s3", "GetObject"));
    let mut e = envelope(Source::Location, "");
    e.check_body(claim_object_key(e.id()));
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)]);
    assert!(w.dead().is_empty());
}

#[tokio::test]
async fn a_throttled_table_leaves_its_messages_for_redelivery() {
    let w = World::default();
    w.rows.lock().fail_writes = Some(throttled("dynamodb", "BatchWriteItem"));
    let e = envelope(Source::Location, RADAR_ENTRY);
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)]);
    assert!(
        w.dead().is_empty(),
        "not dead-lettered before its last receive"
    );
}

#[tokio::test]
async fn an_item_refused_for_good_fails_only_its_own_message() {
    let w = World::default();
    let batch: Vec<_> = (0..10)
        .map(|_| envelope(Source::ClevertapWebhook, CAMPAIGN))
        .collect();
    let poison = batch[3].id().to_string();
    w.rows.lock().refuse_containing = Some(poison.clone());
    let r = run_batch(&w.processor(), &batch).await;
    assert!(retried(&r).is_empty());
    let dead = w.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1["message_id"], poison);
    assert_eq!(dead[0].1["stage"], "store");
    assert!(dead[0].1["error_code"].starts_with("dynamodb.BatchWriteItem:"));
    for e in batch.iter().filter(|e| e.id().to_string() != poison) {
        assert!(w.rows_of(&e.id().to_string()) > 0, "{} stored", e.id());
    }
}

#[tokio::test]
async fn a_stream_failure_fails_only_the_messages_with_geofence_events() {
    let w = World::default();
    w.events.lock().fail = Some(throttled("kinesis", "PutRecords"));
    let location = envelope(Source::Location, RADAR_ENTRY);
    let campaign = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let r = run(
        &w.processor(),
        vec![message(&location, 1), message(&campaign, 1)],
    )
    .await;
    assert_eq!(retried(&r), vec![sqs_id(&location)]);
}

#[tokio::test]
async fn two_copies_of_one_message_in_a_batch_are_archived_once() {
    let w = World::default();
    let e = envelope(Source::Location, RADAR_ENTRY);
    let r = run(&w.processor(), vec![message(&e, 1), message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    let objects = w.objects.lock();
    let (_, (gz, _)) = objects.objects.iter().next().expect("an archive object");
    let lines = hookloop_domain::decode_batch(gz).expect("a batch object");
    assert_eq!(lines.len(), 1, "the message once");
}

#[tokio::test]
async fn object_mode_archives_each_webhook_at_its_own_key_as_received() {
    let w = World::default();
    let mut p = w.processor();
    p.archive_mode = ArchiveMode::Object;
    let a = envelope(Source::Location, RADAR_ENTRY);
    let b = envelope(Source::ClevertapWebhook, CAMPAIGN);
    run(&p, vec![message(&a, 1), message(&b, 1)]).await;
    let objects = w.objects.lock();
    assert_eq!(objects.objects.len(), 2);
    let key = hookloop_domain::raw_object_key(a.source(), a.id());
    assert_eq!(objects.objects[&key].0, RADAR_ENTRY.as_bytes());
}

#[tokio::test]
async fn an_item_two_messages_write_is_written_once_in_its_newest_version() {
    let w = World::default();
    let first = envelope(Source::Location, RADAR_ENTRY);
    let other = envelope(Source::Location, &radar_entry(2));
    let r = run(&w.processor(), vec![message(&first, 1), message(&other, 1)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(w.rows.lock().writes, vec![2], "two location rows");
    let rows = w.rows.lock();
    assert_eq!(rows.latest_writes.len(), 1, "one profile");
    // The two events have the same time: the larger message id wins, whatever the order.
    let profile = &rows.items[&("USER#cust-1001".to_owned(), "PROFILE".to_owned())];
    assert_eq!(
        profile["message_id"],
        first.id().max(other.id()).to_string()
    );
}

#[tokio::test]
async fn a_message_failing_in_two_stores_fails_for_the_permanent_reason() {
    let w = World::default();
    w.objects.lock().fail_puts = Some(throttled("s3", "PutObject"));
    w.events.lock().fail = Some(invalid("kinesis", "PutRecords"));
    let e = envelope(Source::Location, RADAR_ENTRY);
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty(), "retrying cannot help");
    assert_eq!(w.dead()[0].1["stage"], "stream");
}
