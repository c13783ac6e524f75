//! Deduplication in the processor: one copy of each webhook is stored, whoever claimed it.

use hookloop_domain::Source;

use super::*;
use crate::memory::throttled;

#[tokio::test]
async fn a_repeat_of_a_message_another_owns_is_skipped_neither_stored_nor_retried() {
    let w = World::default();
    let e = keyed(Source::Location, RADAR_ENTRY, "k1");
    w.ledger
        .lock()
        .claims
        .insert("k1".into(), "the-first-copy".into());
    let r = run(&w.processor(), vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty(), "done: the owner stores it");
    assert_eq!(w.rows_of(&e.id().to_string()), 0);
    assert!(w.dead().is_empty());
    assert_eq!(w.objects.lock().puts, 0);
}

#[tokio::test]
async fn the_owner_of_its_key_is_stored() {
    let w = World::default();
    let e = keyed(Source::Location, RADAR_ENTRY, "k1");
    w.ledger
        .lock()
        .claims
        .insert("k1".into(), e.id().to_string());
    run(&w.processor(), vec![message(&e, 1)]).await;
    assert_eq!(w.rows_of(&e.id().to_string()), 2);
    assert_eq!(w.ledger.lock().claims_taken, 0, "already its own");
}

#[tokio::test]
async fn an_unclaimed_key_is_claimed_by_its_first_message_and_the_other_copy_skipped() {
    let w = World::default();
    let first = keyed(Source::Location, RADAR_ENTRY, "k1");
    let second = keyed(Source::Location, RADAR_ENTRY, "k1");
    let r = run(
        &w.processor(),
        vec![message(&first, 1), message(&second, 1)],
    )
    .await;
    assert!(retried(&r).is_empty());
    assert_eq!(w.ledger.lock().claims["k1"], first.id().to_string());
    assert_eq!(w.ledger.lock().claims_taken, 1);
    assert_eq!(w.rows_of(&first.id().to_string()), 2);
    assert_eq!(w.rows_of(&second.id().to_string()), 0);
}

#[tokio::test]
async fn the_claims_of_a_batch_are_read_in_one_request() {
    let w = World::default();
    let batch: Vec<_> = (0..50)
        .map(|n| keyed(Source::ClevertapWebhook, CAMPAIGN, &format!("k{n}")))
        .collect();
    run(
        &w.processor(),
        batch.iter().map(|e| message(e, 1)).collect(),
    )
    .await;
    assert_eq!(w.ledger.lock().reads, 1);
    assert_eq!(
        w.ledger.lock().claims_taken,
        50,
        "each unclaimed key claimed"
    );
}

#[tokio::test]
async fn messages_that_claimed_before_sending_own_their_key_without_a_read() {
    let w = World::default();
    let e = keyed(Source::Location, RADAR_ENTRY, "k1").claimed_before_sending();
    w.ledger
        .lock()
        .claims
        .insert("k1".into(), "someone-else".into());
    run(&w.processor(), vec![message(&e, 1)]).await;
    assert_eq!(w.ledger.lock().reads, 0);
    assert_eq!(w.rows_of(&e.id().to_string()), 2);
}

#[tokio::test]
async fn a_marked_message_claims_its_unheld_key_and_its_unmarked_copy_is_skipped() {
    let w = World::default();
    let marked = keyed(Source::Location, RADAR_ENTRY, "k1").claimed_before_sending();
    let copy = keyed(Source::Location, RADAR_ENTRY, "k1");
    let r = run(&w.processor(), vec![message(&marked, 1), message(&copy, 1)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(w.ledger.lock().claims["k1"], marked.id().to_string());
    assert_eq!(w.rows_of(&marked.id().to_string()), 2);
    assert_eq!(w.rows_of(&copy.id().to_string()), 0, "stored once");
}

#[tokio::test]
async fn an_unreachable_ledger_leaves_keyed_messages_for_redelivery_and_stores_the_rest() {
    let w = World::default();
    w.ledger.lock().fail = Some(throttled("dynamodb", "BatchGetItem"));
    let with_key = keyed(Source::Location, RADAR_ENTRY, "k1");
    let without = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let r = run(
        &w.processor(),
        vec![message(&with_key, 1), message(&without, 1)],
    )
    .await;
    assert_eq!(retried(&r), vec![sqs_id(&with_key)]);
    assert_eq!(
        w.rows_of(&with_key.id().to_string()),
        0,
        "not stored unchecked"
    );
    assert!(w.rows_of(&without.id().to_string()) > 0);
}
