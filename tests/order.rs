//! Latest-state rows (trip `META`, user `PROFILE`) only move forward in event time, on the
//! emulator through the real adapter (one conditional `PutItem` per row and batch): updates
//! delivered in a shuffled order, across batches and concurrent invocations, leave the newest;
//! equal event times resolve to the larger message id in either order; a stale update is
//! acknowledged (not retried, not dead-lettered) and its row left alone.

use std::collections::{BTreeMap, BTreeSet};

use hookloop_aws::dynamodb::{item_to_json, row_into_item};
use hookloop_domain::{Envelope, LatestRow, Source, StateKind, Version, Written};
use hookloop_processor::handle;
use hookloop_tests::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// A platform webhook updating trip `trip` of user `user` at `second` past 12:00: the trip's
/// `updatedAt` and the event's `created_at` (the user's profile time).
fn update(trip: &str, user: &str, second: u32, status: &str) -> Envelope {
    let at = format!("2024-05-01T12:{:02}:{:02}Z", second / 60, second % 60);
    let body = json!({
        "id": format!("evt-{trip}-{status}"), "MMUserId": user, "created_at": at,
        "type": "user.updated_trip", "live": "TRUE",
        "trip": {"_id": trip, "status": status, "updatedAt": at}
    });
    Envelope::received(
        Source::Location,
        body.to_string(),
        OffsetDateTime::now_utc(),
    )
}

async fn item(env: &TestEnv, pk: &str, sk: &str) -> Map<String, Value> {
    let item = env.table().get(pk, sk).await.expect("GetItem");
    item_to_json(&item.unwrap_or_else(|| panic!("{pk} | {sk} not stored")))
}

async fn dlq_is_empty(env: &TestEnv) {
    assert_eq!(
        env.dlq().depth().await.expect("DLQ depth"),
        (0, 0),
        "nothing dead-lettered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_delivered_in_a_shuffled_order_leave_each_row_at_its_newest() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let seed: u64 = rand::rng().random();
    println!("shuffle seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Three trips of three users, eight updates each, one minute apart.
    let mut updates: Vec<(Envelope, &str, u32)> = Vec::new();
    for (trip, user) in [("ta", "ua"), ("tb", "ub"), ("tc", "uc")] {
        for step in 0..8u32 {
            updates.push((
                update(trip, user, step * 60, &format!("s{step}")),
                trip,
                step,
            ));
        }
    }
    updates.shuffle(&mut rng);
    // Into batches of 1 to 5, two invocations at a time.
    let mut batches: Vec<Vec<Envelope>> = Vec::new();
    let mut rest = &updates[..];
    while !rest.is_empty() {
        let n = rng.random_range(1..=5).min(rest.len());
        batches.push(rest[..n].iter().map(|(e, _, _)| e.clone()).collect());
        rest = &rest[n..];
    }
    println!("{} batches", batches.len());
    let before = env.requests.snapshot();
    for pair in batches.chunks(2) {
        let runs = pair.iter().map(|b| handle(&p, sqs_event(b, 1), None));
        for r in futures::future::join_all(runs).await {
            assert!(
                r.batch_item_failures.is_empty(),
                "every message acknowledged"
            );
        }
    }
    let sent = env.requests.snapshot().since(&before);
    dlq_is_empty(&env).await;

    // One conditional write per row and batch: a batch updating a trip writes its row and its
    // user's once, however many of its messages update them.
    let trip_of: BTreeMap<String, &str> = updates
        .iter()
        .map(|(e, trip, _)| (e.id().to_string(), *trip))
        .collect();
    let expected_puts: usize = batches
        .iter()
        .map(|b| {
            let trips: BTreeSet<&str> = b.iter().map(|e| trip_of[&e.id().to_string()]).collect();
            2 * trips.len()
        })
        .sum();
    assert_eq!(sent.get("dynamodb:PutItem") as usize, expected_puts);

    let mut newest: BTreeMap<&str, &(Envelope, &str, u32)> = BTreeMap::new();
    for u in &updates {
        let e = newest.entry(u.1).or_insert(u);
        if u.2 > e.2 {
            *e = u;
        }
    }
    for (trip, (e, _, step)) in newest {
        let meta = item(&env, &format!("TRIP#{trip}"), "META").await;
        assert_eq!(meta["status"], json!(format!("s{step}")), "{trip}");
        assert_eq!(meta["message_id"], json!(e.id().to_string()), "{trip}");
        assert_eq!(
            meta["event_time_ms"],
            json!(1_714_564_800_000i64 + i64::from(*step) * 60_000),
            "{trip}: the event time, in epoch milliseconds"
        );
        let user = trip.replace('t', "u");
        let profile = item(&env, &format!("USER#{user}"), "PROFILE").await;
        assert_eq!(
            profile["event_id"],
            json!(format!("evt-{trip}-s{step}")),
            "{user}"
        );
    }
    // Every message is stored: its location-less update left no row of its own, but its raw
    // body is archived.
    assert_eq!(env.archived_ids().await.len(), updates.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_update_is_acknowledged_and_changes_nothing() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let newer = update("t1", "u1", 120, "arrived");
    let older = update("t1", "u1", 60, "started");
    let r = handle(&p, sqs_event(std::slice::from_ref(&newer), 1), None).await;
    assert!(r.batch_item_failures.is_empty());
    let before = item(&env, "TRIP#t1", "META").await;
    // The older one, processed late: on its last allowed receive, so a failure would show in
    // the DLQ at once.
    let r = handle(&p, sqs_event(std::slice::from_ref(&older), 3), None).await;
    assert!(r.batch_item_failures.is_empty(), "not retried");
    dlq_is_empty(&env).await;
    assert_eq!(
        item(&env, "TRIP#t1", "META").await,
        before,
        "the row is untouched"
    );
    assert_eq!(env.archived_ids().await.len(), 2, "both stored");
}

fn trip_row(pk: &str, time_ms: i64, message_id: &str, status: &str) -> LatestRow {
    LatestRow::new(
        StateKind::Trip,
        pk.into(),
        "META".into(),
        json!({"status": status})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        Version::from_parts(time_ms, message_id),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_condition_keeps_the_newest_and_breaks_ties_by_message_id_in_either_order() {
    let env = TestEnv::start().await;
    let table = env.table();
    let small = trip_row("TRIP#tie", 1000, "01JAAAAAAAAAAAAAAAAAAAAAAA", "small id");
    let large = trip_row("TRIP#tie", 1000, "01JBBBBBBBBBBBBBBBBBBBBBBB", "large id");
    let mut winners = Vec::new();
    for order in [[&small, &large], [&large, &small]] {
        env.clients
            .dynamodb
            .delete_item()
            .table_name(table.name())
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("TRIP#tie".into()),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("META".into()),
            )
            .send()
            .await
            .expect("DeleteItem");
        let mut outcomes = Vec::new();
        for r in order {
            outcomes.push(table.put_latest(r.clone()).await.expect("PutItem"));
        }
        winners.push(item(&env, "TRIP#tie", "META").await["status"].clone());
        let expected = if order[0] == &small {
            [Written::Replaced, Written::Replaced]
        } else {
            [Written::Replaced, Written::Stale]
        };
        assert_eq!(outcomes, expected);
    }
    assert_eq!(winners, vec![json!("large id"), json!("large id")]);

    // The same version again (a redelivery) rewrites; an older time is stale, a newer one wins.
    assert_eq!(
        table.put_latest(large.clone()).await.ok(),
        Some(Written::Replaced)
    );
    let older = trip_row("TRIP#tie", 999, "01JZZZZZZZZZZZZZZZZZZZZZZZ", "older");
    assert_eq!(table.put_latest(older).await.ok(), Some(Written::Stale));
    let newer = trip_row("TRIP#tie", 1001, "01J00000000000000000000000", "newer");
    assert_eq!(
        table.put_latest(newer.clone()).await.ok(),
        Some(Written::Replaced)
    );
    assert_eq!(
        item(&env, "TRIP#tie", "META").await,
        item_to_json(&row_into_item(newer.into_row())),
        "the whole row, as written"
    );

    // A row written before rows had versions (no event time) is replaced by any version.
    table
        .put_rows(vec![hookloop_domain::Row {
            pk: "TRIP#legacy".into(),
            sk: "META".into(),
            attrs: json!({"status": "legacy", "message_id": "ZZZZ"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }])
        .await
        .expect("BatchWriteItem");
    let fresh = trip_row("TRIP#legacy", 0, "01J00000000000000000000000", "versioned");
    assert_eq!(table.put_latest(fresh).await.ok(), Some(Written::Replaced));
    assert_eq!(
        item(&env, "TRIP#legacy", "META").await["status"],
        json!("versioned")
    );
}
