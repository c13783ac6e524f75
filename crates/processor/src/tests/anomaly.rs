//! Location anomalies on the in-memory ports: a point no traveller could reach, or a geofence
//! crossed too often, lands flagged beside a `user.location_anomaly` row and record and fires
//! no transition; a redelivery gets its flag again; limits of 0 turn the checks off.

use hookloop_domain::Source;
use hookloop_runtime::metrics::names::ANOMALIES;
use serde_json::{json, Value};
use tracing::Span;

use super::geofence::{fenced, point};
use super::*;
use crate::geofencing::AnomalyLimits;
use crate::memory::throttled;
use crate::stages::{geofence, parse, write};
use crate::state::State;

/// What reached the stream: (type, anomaly or geofence), in order.
fn streamed(w: &World) -> Vec<(String, String)> {
    w.events
        .lock()
        .records
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.data).unwrap();
            let what = v["anomaly"].as_str().or(v["geofence_id"].as_str());
            (
                v["type"].as_str().unwrap().to_owned(),
                what.unwrap().to_owned(),
            )
        })
        .collect()
}

fn rec(kind: &str, what: &str) -> (String, String) {
    (kind.to_owned(), what.to_owned())
}

/// The user's stored items of `kind` location, by event type.
fn locations(w: &World, user: &str) -> Vec<Value> {
    let rows = w.rows.lock();
    rows.items
        .iter()
        .filter(|((pk, _), i)| pk == &format!("USER#{user}") && i["kind"] == "location")
        .map(|(_, i)| Value::Object(i.clone().into_iter().collect()))
        .collect()
}

#[tokio::test]
async fn a_jump_of_thousands_of_kilometres_in_a_minute_lands_flagged_and_fires_nothing() {
    let w = World::default();
    let p = fenced(&w);
    // Far from the depot, then "inside" it a minute later (about 5,000 km), then back.
    let home = point("a1", 0, 35.0, 35.0);
    let jump = point("a1", 60, 0.005, 0.005);
    let back = point("a1", 120, 35.0, 35.0);
    for e in [&home, &jump, &back] {
        let r = run(&p, vec![message(e, 1)]).await;
        assert!(retried(&r).is_empty());
    }
    assert_eq!(
        streamed(&w),
        vec![rec("user.location_anomaly", "impossible_speed")],
        "no entry into the depot, no anomaly coming back"
    );
    let rows = locations(&w, "a1");
    let own: Vec<_> = rows.iter().filter(|r| r.get("anomaly").is_some()).collect();
    assert_eq!(
        own.len(),
        2,
        "the point's own row and the anomaly's: {rows:#?}"
    );
    let flagged = own.iter().find(|r| r["shape"] != "computed").unwrap();
    assert_eq!(flagged["event_id"], "p-a1-60");
    assert_eq!(flagged["anomaly"], "impossible_speed");
    let anomaly = own.iter().find(|r| r["shape"] == "computed").unwrap();
    assert_eq!(anomaly["event_type"], "user.location_anomaly");
    assert_eq!(anomaly["point_event_id"], "p-a1-60");
    assert!(
        anomaly["speed_kmh"].as_f64().unwrap() > 100_000.0,
        "{anomaly}"
    );
    assert_eq!(rows.len(), 4, "three points and one anomaly");

    // Hours later the depot is reachable: the entry fires.
    run(&p, vec![message(&point("a1", 59 * 60, 35.0, 35.0), 1)]).await;
    let later = envelope(
        Source::Location,
        &json!({"location": {"user_id": "a1", "latitude": 0.005, "longitude": 0.005,
                             "created_at": "2024-05-01T23:00:00Z"},
                "user": {"user_id": "a1", "event_id": "p-a1-late"}})
        .to_string(),
    );
    run(&p, vec![message(&later, 1)]).await;
    assert_eq!(
        streamed(&w).last(),
        Some(&rec("user.entered_geofence", "square"))
    );
}

#[tokio::test]
async fn anomalies_are_counted_by_kind() {
    let w = World::default();
    let p = fenced(&w);
    run(&p, vec![message(&point("a2", 0, 35.0, 35.0), 1)]).await;
    let mut invocation = p.metrics.start();
    let states = parse::parse(
        vec![State::Pending(point("a2", 30, 0.005, 0.005))],
        &Default::default(),
    );
    let states = geofence::fence(&p, states, &[Span::none()]).await;
    let states = write::write(&p, states, &[Span::none()], &mut invocation).await;
    crate::metrics::count_stored(&states, &mut invocation);
    assert_eq!(invocation.total(ANOMALIES), 1);
    let lines = p.metrics.lines(&invocation, 1);
    assert!(
        lines
            .iter()
            .any(|doc| doc["Kind"] == "impossible_speed" && doc[ANOMALIES] == 1),
        "one Anomalies count with Kind impossible_speed: {lines:?}"
    );
}

#[tokio::test]
async fn a_redelivered_anomalous_point_is_flagged_again() {
    let w = World::default();
    let p = fenced(&w);
    run(&p, vec![message(&point("a3", 0, 35.0, 35.0), 1)]).await;
    let jump = point("a3", 60, 0.005, 0.005);
    w.events.lock().fail = Some(throttled("kinesis", "PutRecords"));
    let r = run(&p, vec![message(&jump, 1)]).await;
    assert_eq!(retried(&r), vec![sqs_id(&jump)]);
    w.events.lock().fail = None;
    let r = run(&p, vec![message(&jump, 2)]).await;
    assert!(retried(&r).is_empty());
    assert_eq!(
        streamed(&w),
        vec![rec("user.location_anomaly", "impossible_speed")]
    );
    let flagged = locations(&w, "a3")
        .into_iter()
        .filter(|r| r["anomaly"] == "impossible_speed")
        .count();
    assert_eq!(flagged, 2);
}

#[tokio::test]
async fn crossing_a_geofence_more_than_the_limit_within_the_window_is_flapping() {
    let w = World::default();
    let p = fenced(&w).with_anomaly_limits(AnomalyLimits {
        flap_limit: Some(2),
        ..AnomalyLimits::default()
    });
    // Out, in, out, in, then staying in, then out: 10 s apart, 800 m each way (290 km/h: not a
    // speed anomaly).
    for (s, lat) in [
        (0, 0.012),
        (10, 0.005),
        (20, 0.012),
        (30, 0.005),
        (40, 0.005),
        (45, 0.005),
        (55, 0.012),
    ] {
        run(&p, vec![message(&point("a4", s, lat, 0.005), 1)]).await;
    }
    assert_eq!(
        streamed(&w),
        vec![
            rec("user.entered_geofence", "square"),
            rec("user.exited_geofence", "square"),
            rec("user.location_anomaly", "geofence_flapping"),
        ],
        "the third crossing is flagged once; staying in is suppressed within the window without \
         a record each, and the user stays outside, so leaving is no exit"
    );
    let anomaly = locations(&w, "a4")
        .into_iter()
        .find(|r| r["event_type"] == "user.location_anomaly")
        .unwrap();
    assert_eq!(anomaly["geofence_id"], "square");
    // Eleven minutes on the window has passed: the entry fires.
    run(&p, vec![message(&point("a4", 11 * 60, 0.005, 0.005), 1)]).await;
    assert_eq!(
        streamed(&w).last(),
        Some(&rec("user.entered_geofence", "square"))
    );
}

#[tokio::test]
async fn limits_of_zero_turn_the_checks_off() {
    let w = World::default();
    let p = fenced(&w).with_anomaly_limits(AnomalyLimits {
        max_speed_kmh: None,
        flap_limit: None,
        ..AnomalyLimits::default()
    });
    run(&p, vec![message(&point("a5", 0, 35.0, 35.0), 1)]).await;
    run(&p, vec![message(&point("a5", 60, 0.005, 0.005), 1)]).await;
    assert_eq!(streamed(&w), vec![rec("user.entered_geofence", "square")]);
}

#[tokio::test]
async fn two_points_that_agree_outvote_a_reference_that_was_the_glitch() {
    let w = World::default();
    let p = fenced(&w);
    // The user's first fix is far off (a glitch nobody could flag); the real points follow.
    for (s, lat, lon) in [(0, 35.0, 35.0), (60, 0.005, 0.005), (70, 0.0051, 0.005)] {
        run(&p, vec![message(&point("a6", s, lat, lon), 1)]).await;
    }
    assert_eq!(
        streamed(&w),
        vec![
            rec("user.location_anomaly", "impossible_speed"),
            rec("user.entered_geofence", "square"),
        ],
        "one anomaly, then the second real point is plausible and enters"
    );
}
