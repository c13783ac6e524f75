//! Settling: what SQS is told, and what reaches the DLQ with which reason.

use hookloop_domain::Source;

use super::*;
use crate::memory::throttled;

#[tokio::test]
async fn on_the_last_receive_a_retryable_failure_is_dead_lettered_with_its_reason() {
    let w = World::default();
    w.rows.lock().fail_writes = Some(throttled("dynamodb", "BatchWriteItem"));
    let e = envelope(Source::Location, RADAR_ENTRY);
    let p = w.processor();
    let r = run(&p, vec![message(&e, p.max_receive_count)]).await;
    assert!(
        retried(&r).is_empty(),
        "deleted from the queue: the DLQ has it"
    );
    let dead = w.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0, e.encode(), "the message as it was, to redrive");
    let why = &dead[0].1;
    assert_eq!(why["stage"], "store");
    assert_eq!(
        why["error_code"],
        "dynamodb.BatchWriteItem:ThrottlingException"
    );
    assert_eq!(why["attempts"], p.max_receive_count.to_string());
    assert_eq!(why["source"], "location");
    assert_eq!(why["message_id"], e.id().to_string());
    assert!(why.contains_key("failed_at") && why.contains_key("error"));
}

#[tokio::test]
async fn a_message_the_dlq_cannot_take_is_left_for_redelivery() {
    let w = World::default();
    w.dlq.lock().fail = Some(throttled("sqs", "SendMessage"));
    let e = envelope(Source::Location, r#"{"event": 7}"#);
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert_eq!(
        retried(&r),
        vec![sqs_id(&e)],
        "never deleted without a record of why"
    );
}

#[tokio::test]
async fn a_failing_message_without_an_sqs_id_fails_the_whole_batch() {
    let w = World::default();
    w.rows.lock().fail_writes = Some(throttled("dynamodb", "BatchWriteItem"));
    let e = envelope(Source::Location, RADAR_ENTRY);
    let mut m = message(&e, 1);
    m.message_id = None;
    let r = run(&w.processor(), vec![m]).await;
    assert_eq!(
        retried(&r),
        vec![String::new()],
        "an empty id: nothing deleted unprocessed"
    );
}

#[tokio::test]
async fn only_messages_worth_another_delivery_are_named() {
    let w = World::default();
    w.events.lock().fail = Some(throttled("kinesis", "PutRecords"));
    let streamed = envelope(Source::Location, RADAR_ENTRY);
    let stored = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let broken = envelope(Source::Location, "[]");
    let r = run(
        &w.processor(),
        vec![
            message(&streamed, 1),
            message(&stored, 1),
            message(&broken, 1),
        ],
    )
    .await;
    assert_eq!(retried(&r), vec![sqs_id(&streamed)]);
    assert_eq!(w.dead().len(), 1, "the broken one, at once");
}
