//! Server-side geofencing on the in-memory ports: raw points fire the transitions a platform
//! would send, once each, whatever order and batches they come in, and a message that fails
//! after its transitions were committed gets them again on its redelivery.

use hookloop_domain::{Envelope, Source};
use hookloop_geofence::{parse_geofences, GeofenceIndex};
use serde_json::{json, Value};

use super::*;
use crate::geofencing::Fences;
use crate::memory::throttled;
use crate::stages::geofence::MAX_STATE_SWAPS;
use hookloop_runtime::live::Live;

/// A square around (0.005, 0.005) lat/lon, and a 500 m circle at (1, 1) with a 60 s dwell.
pub(crate) const GEOFENCES: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"id":"square","tag":"depot","description":"The depot"},
   "geometry":{"type":"Polygon","coordinates":[[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]]]}},
  {"type":"Feature","properties":{"id":"circle","tag":"store","external_id":"store-1","dwell_s":60,"radius_m":500},
   "geometry":{"type":"Point","coordinates":[1,1]}}]}"#;

fn index() -> GeofenceIndex {
    GeofenceIndex::new(parse_geofences(GEOFENCES.as_bytes()).unwrap())
}

/// A structured-shape point of user `u` at (`lat`, `lon`), `s` seconds past 12:00.
pub(crate) fn point(u: &str, s: u32, lat: f64, lon: f64) -> Envelope {
    let body = json!({
        "location": {"user_id": u, "latitude": lat, "longitude": lon, "event_type": "location.updated",
                     "created_at": format!("2024-05-01T12:{:02}:{:02}Z", s / 60, s % 60)},
        "user": {"user_id": u, "event_id": format!("p-{u}-{s}")}
    });
    envelope(Source::Location, &body.to_string())
}

/// What reached the stream: (type, geofence, user), in order.
fn streamed(w: &World) -> Vec<(String, String, String)> {
    w.events
        .lock()
        .records
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.data).unwrap();
            assert_eq!(v["origin"], "hookloop", "{v}");
            (
                v["type"].as_str().unwrap().to_owned(),
                v["geofence_id"].as_str().unwrap().to_owned(),
                v["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn t(kind: &str, fence: &str, user: &str) -> (String, String, String) {
    (format!("user.{kind}_geofence"), fence.into(), user.into())
}

pub(crate) fn fenced(w: &World) -> Processor<Memory> {
    w.processor().with_geofences(index())
}

#[tokio::test]
async fn a_walk_in_and_out_fires_each_transition_once_and_a_late_point_changes_nothing() {
    let w = World::default();
    let p = fenced(&w);
    let outside = point("u1", 0, 0.02, 0.02);
    let inside = point("u1", 10, 0.005, 0.005);
    let late = point("u1", 5, 0.02, 0.02);
    let out_again = point("u1", 20, 0.02, 0.02);
    for batch in [vec![&outside, &inside], vec![&late], vec![&out_again]] {
        let r = run(&p, batch.iter().map(|e| message(e, 1)).collect()).await;
        assert!(retried(&r).is_empty());
    }
    assert_eq!(
        streamed(&w),
        vec![t("entered", "square", "u1"), t("exited", "square", "u1")]
    );
    // Each transition is a location row like a platform's, from the point's message.
    let rows = w.rows.lock();
    let entered: Vec<_> = rows
        .items
        .values()
        .filter(|i| i["kind"] == "location" && i.get("origin") == Some(&json!("hookloop")))
        .collect();
    assert_eq!(entered.len(), 2);
    let e = entered
        .iter()
        .find(|i| i["event_type"] == "user.entered_geofence")
        .unwrap();
    assert_eq!(e["message_id"], json!(inside.id().to_string()));
    assert_eq!(e["geofence_description"], "The depot");
    assert_eq!(e["created_at"], "2024-05-01T12:00:10.000Z");
    let state = &rows.items[&("USER#u1".to_owned(), "GEOFENCES".to_owned())];
    assert_eq!(state["last_at_ms"], json!(1_714_564_820_000i64));
    assert_eq!(state["inside"], json!([]));
}

#[tokio::test]
async fn a_circle_fires_its_dwell_once_and_the_same_points_in_any_order_fire_the_same() {
    let walk = [
        point("u2", 0, 1.0, 1.0),
        point("u2", 30, 1.001, 1.0),
        point("u2", 70, 1.0, 1.001),
        point("u2", 90, 1.0, 1.0),
        point("u2", 100, 1.01, 1.0),
    ];
    let expected = vec![
        t("entered", "circle", "u2"),
        t("dwelled_in", "circle", "u2"),
        t("exited", "circle", "u2"),
    ];
    // In order one by one, all in one batch newest first.
    let w = World::default();
    let p = fenced(&w);
    for e in &walk {
        run(&p, vec![message(e, 1)]).await;
    }
    assert_eq!(streamed(&w), expected);
    let w = World::default();
    let p = fenced(&w);
    run(&p, walk.iter().rev().map(|e| message(e, 1)).collect()).await;
    let mut got = streamed(&w);
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(w.rows.lock().swaps, 1, "one state write per user and batch");
}

#[tokio::test]
async fn a_message_that_fails_after_its_transition_is_committed_gets_it_on_redelivery() {
    let w = World::default();
    let p = fenced(&w);
    let inside = point("u3", 10, 0.005, 0.005);
    w.events.lock().fail = Some(throttled("kinesis", "PutRecords"));
    let r = run(&p, vec![message(&inside, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&inside)]);
    w.events.lock().fail = None;
    // A later point of the same user was processed meanwhile.
    run(&p, vec![message(&point("u3", 20, 0.006, 0.006), 1)]).await;
    assert!(streamed(&w).is_empty());
    let r = run(&p, vec![message(&inside, 2)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(streamed(&w), vec![t("entered", "square", "u3")]);
}

#[tokio::test]
async fn a_state_changed_by_another_batch_is_read_again_and_contention_is_retried_later() {
    let w = World::default();
    let p = fenced(&w);
    let inside = point("u4", 10, 0.005, 0.005);
    w.rows.lock().interfere = MAX_STATE_SWAPS;
    let r = run(&p, vec![message(&inside, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&inside)], "contended: handed back");
    assert!(streamed(&w).is_empty());
    w.rows.lock().interfere = MAX_STATE_SWAPS - 1;
    let r = run(&p, vec![message(&inside, 2)]).await;
    assert!(retried(&r).is_empty(), "read again until the swap holds");
    assert_eq!(streamed(&w), vec![t("entered", "square", "u4")]);
}

#[tokio::test]
async fn until_the_document_is_read_points_wait_and_without_geofences_nothing_is_read() {
    let w = World::default();
    let mut p = w.processor();
    let e = point("u5", 10, 0.005, 0.005);
    run(&p, vec![message(&e, 1)]).await;
    let (reads, swaps) = {
        let rows = w.rows.lock();
        (rows.reads, rows.swaps)
    };
    assert_eq!(
        (reads, swaps),
        (0, 0),
        "no geofences: nothing read or written"
    );
    p.geofences = Live::fixed(Fences::Unknown);
    let r = run(&p, vec![message(&e, 2)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&e)]);
}

#[tokio::test]
async fn platform_geofence_events_are_not_tested_again() {
    let w = World::default();
    let p = fenced(&w);
    run(
        &p,
        vec![message(&envelope(Source::Location, &radar_entry(1)), 1)],
    )
    .await;
    assert_eq!(w.rows.lock().swaps, 0);
    assert_eq!(
        w.events.lock().records.len(),
        1,
        "the platform's own event only"
    );
}
