//! Latest-state rows (trip `META`, user `PROFILE`) only move forward in event time, on the
//! in-memory table (which applies the rule the DynamoDB condition applies): whatever order
//! updates arrive in, across batches or within one, the row holds the newest, and a stale
//! update is stored all the same (acknowledged, counted, never retried or dead-lettered).

use hookloop_domain::{Envelope, Source, Written};
use hookloop_runtime::metrics::names::STALE_UPDATES;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tracing::Span;

use super::*;
use crate::memory::{invalid, throttled};
use crate::stages::{parse, write};
use crate::state::State;

/// A platform trip update of `trip` at `updated_at` (seconds past 12:00), user `u`.
fn trip_update(trip: &str, updated_at: u32, status: &str) -> Envelope {
    let body = json!({
        "id": format!("evt-{trip}-{updated_at}-{status}"), "MMUserId": "u",
        "created_at": format!("2024-05-01T12:{:02}:{:02}Z", updated_at / 60, updated_at % 60),
        "type": "user.updated_trip",
        "trip": {"_id": trip, "status": status,
                 "updatedAt": format!("2024-05-01T12:{:02}:{:02}Z", updated_at / 60, updated_at % 60)}
    });
    envelope(Source::Location, &body.to_string())
}

fn item(w: &World, pk: &str, sk: &str) -> Option<Map<String, Value>> {
    w.rows
        .lock()
        .items
        .get(&(pk.to_owned(), sk.to_owned()))
        .cloned()
}

#[tokio::test]
async fn a_trip_update_processed_late_never_overwrites_a_newer_one() {
    let w = World::default();
    let p = w.processor();
    let (first, second, third) = (
        trip_update("t1", 10, "started"),
        trip_update("t1", 20, "arrived"),
        trip_update("t1", 30, "completed"),
    );
    // Delivered newest first, one batch each.
    for e in [&third, &first, &second] {
        let r = run(&p, vec![message(e, 1)]).await;
        assert!(retried(&r).is_empty(), "a stale update is not retried");
    }
    assert!(w.dead().is_empty(), "nor dead-lettered");
    let meta = item(&w, "TRIP#t1", "META").expect("the trip's row");
    assert_eq!(meta["status"], json!("completed"));
    assert_eq!(meta["message_id"], json!(third.id().to_string()));
    assert_eq!(meta["event_time_ms"], json!(1_714_564_830_000i64));
    let outcomes: Vec<Written> = w
        .rows
        .lock()
        .latest_writes
        .iter()
        .filter(|(k, _)| k.0 == "TRIP#t1")
        .map(|(_, o)| *o)
        .collect();
    assert_eq!(
        outcomes,
        vec![Written::Replaced, Written::Stale, Written::Stale]
    );
    // The user's profile moved with the same events' times: the newest too.
    let profile = item(&w, "USER#u", "PROFILE").expect("the user's row");
    assert_eq!(profile["event_id"], json!("evt-t1-30-completed"));
}

#[tokio::test]
async fn updates_of_one_row_in_one_batch_cost_one_request_and_the_newest_wins() {
    let w = World::default();
    let batch: Vec<Envelope> = [30, 10, 20]
        .iter()
        .map(|t| trip_update("t2", *t, &format!("s{t}")))
        .collect();
    let r = run_batch(&w.processor(), &batch).await;
    assert!(retried(&r).is_empty());
    let writes = w.rows.lock().latest_writes.clone();
    assert_eq!(
        writes.len(),
        2,
        "one request for the trip, one for the user: {writes:?}"
    );
    assert_eq!(
        item(&w, "TRIP#t2", "META").expect("row")["status"],
        json!("s30")
    );
}

#[tokio::test]
async fn equal_event_times_resolve_to_the_larger_message_id_in_either_order() {
    let mut winners = Vec::new();
    let (a, b) = (trip_update("t3", 5, "a"), trip_update("t3", 5, "b"));
    let larger = if a.id() > b.id() { &a } else { &b };
    for order in [[&a, &b], [&b, &a]] {
        let w = World::default();
        let p = w.processor();
        for e in order {
            run(&p, vec![message(e, 1)]).await;
        }
        winners.push(item(&w, "TRIP#t3", "META").expect("row")["message_id"].clone());
        // And within one batch.
        let w = World::default();
        run_batch(&w.processor(), &order.map(Envelope::clone)).await;
        winners.push(item(&w, "TRIP#t3", "META").expect("row")["message_id"].clone());
    }
    assert_eq!(winners, vec![json!(larger.id().to_string()); 4]);
}

#[tokio::test]
async fn a_redelivered_message_rewrites_its_own_version() {
    let w = World::default();
    let p = w.processor();
    let e = trip_update("t4", 1, "x");
    run(&p, vec![message(&e, 1)]).await;
    run(&p, vec![message(&e, 2)]).await;
    let outcomes: Vec<Written> = w
        .rows
        .lock()
        .latest_writes
        .iter()
        .map(|(_, o)| *o)
        .collect();
    assert!(
        outcomes.iter().all(|o| *o == Written::Replaced),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_row_written_before_rows_had_versions_is_replaced() {
    let w = World::default();
    w.rows.lock().items.insert(
        ("TRIP#t5".into(), "META".into()),
        json!({"pk": "TRIP#t5", "sk": "META", "status": "old", "message_id": "ZZZ"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    run(
        &w.processor(),
        vec![message(&trip_update("t5", 1, "new"), 1)],
    )
    .await;
    assert_eq!(
        item(&w, "TRIP#t5", "META").expect("row")["status"],
        json!("new")
    );
}

#[tokio::test]
async fn a_failed_conditional_write_leaves_every_message_of_its_row_for_redelivery() {
    let w = World::default();
    w.rows.lock().fail_latest = Some(throttled("dynamodb", "PutItem"));
    let batch = [trip_update("t6", 1, "a"), trip_update("t6", 2, "b")];
    let r = run_batch(&w.processor(), &batch).await;
    let mut expected: Vec<String> = batch.iter().map(sqs_id).collect();
    expected.sort();
    let mut got = retried(&r);
    got.sort();
    assert_eq!(got, expected);
    assert!(w.dead().is_empty());
}

#[tokio::test]
async fn a_newest_update_refused_for_good_dead_letters_alone_and_the_older_ones_retry() {
    let w = World::default();
    w.rows.lock().fail_latest = Some(invalid("dynamodb", "PutItem"));
    let (older, newest) = (trip_update("t9", 1, "a"), trip_update("t9", 2, "b"));
    let r = run_batch(&w.processor(), &[older.clone(), newest.clone()]).await;
    assert_eq!(
        retried(&r),
        vec![sqs_id(&older)],
        "its version was never tried"
    );
    let dead = w.dead();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let dead_id =
        serde_json::from_str::<Value>(&dead[0].0).expect("the queued envelope")["id"].clone();
    assert_eq!(
        dead_id,
        json!(newest.id().to_string()),
        "only the refused version's message"
    );

    // Redelivered without the refused one, the older update is written.
    w.rows.lock().fail_latest = None;
    let r = run(&w.processor(), vec![message(&older, 2)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(
        item(&w, "TRIP#t9", "META").expect("row")["status"],
        json!("a")
    );
}

#[tokio::test]
async fn stale_updates_are_counted_by_kind() {
    let w = World::default();
    let p = w.processor();
    run(&p, vec![message(&trip_update("t7", 50, "new"), 1)]).await;
    let late = trip_update("t7", 40, "old");
    let mut invocation = p.metrics.start();
    let states = parse::parse(vec![State::Pending(late)], &Default::default());
    let states = write::write(&p, states, &[Span::none()], &mut invocation).await;
    assert!(matches!(states[0], State::Stored(_)), "stored all the same");
    assert_eq!(invocation.total(STALE_UPDATES), 2, "the trip and the user");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Updates of one trip at random times (some equal), delivered in a random order split
    /// into random batches: the row ends as the newest (by time, then message id), and every
    /// message is stored.
    #[test]
    fn any_delivery_order_leaves_the_newest_update(
        times in prop::collection::vec(0u32..6, 1..10),
        cuts in prop::collection::vec(any::<bool>(), 10),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let w = World::default();
            let p = w.processor();
            let updates: Vec<Envelope> = times
                .iter()
                .enumerate()
                .map(|(i, t)| trip_update("tp", *t, &format!("u{i}")))
                .collect();
            let newest = updates
                .iter()
                .zip(&times)
                .max_by_key(|(e, t)| (**t, e.id()))
                .map(|(e, _)| e.id().to_string());
            let mut batch = Vec::new();
            for (i, e) in updates.iter().enumerate() {
                batch.push(message(e, 1));
                if cuts[i] {
                    let r = run(&p, std::mem::take(&mut batch)).await;
                    prop_assert!(retried(&r).is_empty());
                }
            }
            if !batch.is_empty() {
                run(&p, batch).await;
            }
            prop_assert!(w.dead().is_empty());
            let meta = item(&w, "TRIP#tp", "META").expect("row");
            prop_assert_eq!(meta["message_id"].as_str().map(str::to_owned), newest);
            Ok(())
        })?;
    }
}

/// A rule loading each trip's status back as a profile property.
const TRIP_STATUS_RULE: &str = r#"{"rules": [{"name": "trip-status", "source": "location",
    "when": {"/kind": "trip"}, "type": "profile", "identity": [{"identity": "/trip_id"}],
    "properties": {"Trip Status": {"from": "/status"}}}]}"#;

/// The trip statuses CleverTap was sent, in order.
fn statuses_sent(w: &World) -> Vec<String> {
    w.upload
        .lock()
        .accepted
        .iter()
        .filter_map(|(_, record)| {
            Some(
                record
                    .pointer("/profileData/Trip Status")?
                    .as_str()?
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_stale_update_is_not_loaded_back_so_clevertap_never_goes_back_in_time_either() {
    let w = World::default();
    let p = w.loading_back_by(TRIP_STATUS_RULE, 3);
    // Newest first, a batch each: the two late ones are stale at the table.
    for t in [30, 10, 20] {
        let r = run(
            &p,
            vec![message(&trip_update("t6", t, &format!("s{t}")), 1)],
        )
        .await;
        assert!(retried(&r).is_empty());
    }
    assert_eq!(statuses_sent(&w), vec!["s30"]);

    // In one batch: the older updates lose to the newest before the table is asked.
    let w = World::default();
    let batch: Vec<Envelope> = [30, 10, 20]
        .iter()
        .map(|t| trip_update("t7", *t, &format!("s{t}")))
        .collect();
    let r = run_batch(&w.loading_back_by(TRIP_STATUS_RULE, 3), &batch).await;
    assert!(retried(&r).is_empty());
    assert_eq!(statuses_sent(&w), vec!["s30"]);

    // In order, each update is the newest when it lands: each is loaded back.
    let w = World::default();
    let p = w.loading_back_by(TRIP_STATUS_RULE, 3);
    for t in [10, 20, 30] {
        run(
            &p,
            vec![message(&trip_update("t8", t, &format!("s{t}")), 1)],
        )
        .await;
    }
    assert_eq!(statuses_sent(&w), vec!["s10", "s20", "s30"]);
}
