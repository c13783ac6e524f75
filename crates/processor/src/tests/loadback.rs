//! Load-back: each accepted record uploaded once, refusals and failures decided per message.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use hookloop_clevertap::UploadError;
use hookloop_domain::{Envelope, Source};

use super::*;
use crate::memory::{throttled, Answer};

fn unavailable() -> UploadError {
    UploadError::Status {
        status: 503,
        code: None,
        error: "unavailable".into(),
    }
}

/// Loads `e` back by the example rules, `max_attempts` per request, CleverTap giving `answers`
/// to the first requests (then accepting).
async fn load(
    e: &Envelope,
    max_attempts: u32,
    answers: Vec<Answer>,
    deadline: Option<Instant>,
) -> (World, SqsBatchResponse) {
    let w = World::default();
    let p = w.loading_back(max_attempts);
    w.upload.lock().script.extend(answers);
    let r = match deadline {
        Some(d) => run_until(&p, vec![message(e, 1)], d).await,
        None => run(&p, vec![message(e, 1)]).await,
    };
    (w, r)
}

#[tokio::test]
async fn records_are_uploaded_once_and_a_redelivery_uploads_none_again() {
    let w = World::default();
    let p = w.loading_back(3);
    let e = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let r = run(&p, vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    let sent = w.upload.lock().accepted.len();
    assert!(sent > 0, "the example rules make records of a campaign");
    let requests = w.upload.lock().requests.len();
    assert!(requests <= 2, "one request per record type: {requests}");

    let r = run(&p, vec![message(&e, 2)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(w.upload.lock().accepted.len(), sent, "nothing sent twice");
    assert_eq!(
        w.upload.lock().requests.len(),
        requests,
        "no request at all"
    );
}

#[tokio::test]
async fn two_copies_of_one_message_in_a_batch_are_loaded_once() {
    let w = World::default();
    let p = w.loading_back(3);
    let e = envelope(Source::ClevertapWebhook, CAMPAIGN);
    run(&p, vec![message(&e, 1)]).await;
    let once = w.upload.lock().accepted.len();
    let w2 = World::default();
    let p2 = w2.loading_back(3);
    run(&p2, vec![message(&e, 1), message(&e, 1)]).await;
    assert_eq!(w2.upload.lock().accepted.len(), once);
}

#[tokio::test]
async fn a_record_clevertap_refuses_dead_letters_its_message_with_the_code() {
    let e = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let refuse = Answer::Refuse {
        position: 0,
        code: 512,
    };
    let (w, r) = load(&e, 3, vec![refuse], None).await;
    assert!(retried(&r).is_empty());
    let dead = w.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].1["stage"], "clevertap");
    assert_eq!(dead[0].1["error_code"], "clevertap.upload:512");
    assert!(w.rows_of(&e.id().to_string()) > 0, "its data stays stored");
}

#[tokio::test]
async fn records_refused_with_555_are_sent_once_more() {
    let e = envelope(Source::Location, RADAR_ENTRY);
    let refuse = Answer::Refuse {
        position: 0,
        code: 555,
    };
    let (w, r) = load(&e, 3, vec![refuse], None).await;
    assert!(retried(&r).is_empty());
    assert!(w.dead().is_empty());
    let u = w.upload.lock();
    assert_eq!(u.requests.len(), 2);
    assert_eq!(u.requests[1], 1, "only the refused record again");
}

#[tokio::test]
async fn a_failed_upload_is_retried_within_the_invocation() {
    let e = envelope(Source::Location, RADAR_ENTRY);
    let (w, r) = load(&e, 3, vec![Answer::Fail(unavailable())], None).await;
    assert!(retried(&r).is_empty());
    assert_eq!(w.upload.lock().requests.len(), 2);
    assert_eq!(w.upload.lock().accepted.len(), 1);
}

#[tokio::test]
async fn uploads_failing_past_their_attempts_leave_the_message_for_redelivery() {
    let e = envelope(Source::Location, RADAR_ENTRY);
    let failures = vec![Answer::Fail(unavailable()), Answer::Fail(unavailable())];
    let (w, r) = load(&e, 2, failures, None).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)]);
    assert_eq!(
        w.upload.lock().requests.len(),
        2,
        "max attempts, then given up"
    );
    assert!(w.dead().is_empty());
}

#[tokio::test]
async fn no_retry_starts_that_could_not_finish_before_the_deadline() {
    let e = envelope(Source::Location, RADAR_ENTRY);
    let deadline = Instant::now() + Duration::from_secs(1);
    let (w, r) = load(&e, 5, vec![Answer::Fail(unavailable())], Some(deadline)).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)]);
    assert_eq!(w.upload.lock().requests.len(), 1);
}

#[tokio::test]
async fn unreadable_markers_send_nothing_and_leave_the_message_for_redelivery() {
    let w = World::default();
    let p = w.loading_back(3);
    w.rows.lock().fail_reads = Some(throttled("dynamodb", "BatchGetItem"));
    let e = envelope(Source::Location, RADAR_ENTRY);
    let r = run(&p, vec![message(&e, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)]);
    assert!(w.upload.lock().requests.is_empty());
}

#[tokio::test]
async fn a_message_with_no_records_is_done_without_a_request() {
    let w = World::default();
    let p = w.loading_back(3);
    let e = envelope(
        Source::ClevertapExportStatus,
        include_str!("../../../../events/webhooks/clevertap-export-status/export-completed.json"),
    );
    let r = run(&p, vec![message(&e, 1)]).await;
    assert!(retried(&r).is_empty());
    assert!(w.upload.lock().requests.is_empty());
}

#[tokio::test]
async fn while_the_load_back_document_is_unread_stored_messages_come_back_rather_than_skip_it() {
    let w = World::default();
    let mut p = w.loading_back(3);
    p.loadback = hookloop_runtime::Live::fixed(crate::loadback::Configured::Unknown);
    let e = envelope(Source::ClevertapWebhook, CAMPAIGN);
    let r = run(&p, vec![message(&e, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)], "handed back for redelivery");
    assert!(
        w.upload.lock().requests.is_empty(),
        "nothing uploaded without rules"
    );
}
