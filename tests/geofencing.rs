//! Server-side geofencing end to end on the emulator: the geofence document read from the
//! stack's bucket, raw points walked in and out of a polygon and a circle across batches and
//! concurrent invocations, with a late point; each transition once on the Kinesis stream in the
//! platform schema plus `"origin": "hookloop"`, a location row for each, the user's state row
//! in the table, and "Geofence Entered" loaded back to CleverTap by the example rules; and a
//! 3,936 km jump in a minute, flagged, into a geofence it does not enter.

use std::collections::BTreeMap;
use std::time::Duration;

use hookloop_aws::dynamodb::item_to_json;
use hookloop_domain::{Envelope, Source};
use hookloop_processor::handle;
use hookloop_tests::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A square around (40.001, -73.999), a 300 m circle at (40.1, -74.1) with a 60 s dwell, and a
/// 300 m circle in Los Angeles.
const GEOFENCES: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"id":"depot","tag":"depot","external_id":"D-1","description":"The depot"},
   "geometry":{"type":"Polygon","coordinates":[[[-74.0,40.0],[-73.998,40.0],[-73.998,40.002],[-74.0,40.002],[-74.0,40.0]]]}},
  {"type":"Feature","properties":{"id":"store","tag":"store","external_id":"S-1","dwell_s":60,"radius_m":300},
   "geometry":{"type":"Point","coordinates":[-74.1,40.1]}},
  {"type":"Feature","properties":{"id":"la","tag":"store","external_id":"LA-1","radius_m":300},
   "geometry":{"type":"Point","coordinates":[-118.2437,34.0522]}}]}"#;

/// A structured-shape point of `user` at `second` past 12:00 (a raw point: no geofence event).
fn point(user: &str, second: u32, lat: f64, lon: f64) -> Envelope {
    let body = json!({
        "location": {"user_id": user, "latitude": lat, "longitude": lon, "event_type": "location.updated",
                     "created_at": format!("2024-05-01T12:{:02}:{:02}Z", second / 60, second % 60)},
        "user": {"user_id": user, "event_id": format!("p-{user}-{second}")}
    });
    Envelope::received(
        Source::Location,
        body.to_string(),
        OffsetDateTime::now_utc(),
    )
}

const DEPOT: (f64, f64) = (40.001, -73.999);
const STORE: (f64, f64) = (40.1, -74.1);
/// 330 m north of the depot's centre (outside it); 667 m north of the store's centre: a walk or
/// a ride from either in 10 s or more, never an anomaly.
const AWAY: (f64, f64) = (40.004, -73.999);
const AWAY_FROM_STORE: (f64, f64) = (40.106, -74.1);
/// 3,936 km from the depot.
const LOS_ANGELES: (f64, f64) = (34.0522, -118.2437);

/// The emulator with the geofence document in the stack's bucket, and a CleverTap stand-in
/// the example rules load back to; the processor's variables.
async fn fenced() -> (
    TestEnv,
    hookloop_clevertap::stub::Stub,
    Vec<(String, String)>,
) {
    let env = TestEnv::start().await;
    env.clients
        .s3
        .put_object()
        .bucket(&env.resources.bucket)
        .key("config/geofences.geojson")
        .body(GEOFENCES.as_bytes().to_vec().into())
        .send()
        .await
        .expect("put the geofence document");
    let stub = start_stub(Duration::ZERO).await;
    let mut vars = clevertap_env(&stub, &example_rules());
    vars.push((
        "GEOFENCES".into(),
        format!("s3://{}/config/geofences.geojson", env.resources.bucket),
    ));
    (env, stub, vars)
}

/// Every record on the stream, as JSON.
async fn stream_records(env: &TestEnv) -> Vec<Value> {
    env.stream()
        .read_all()
        .await
        .expect("read the stream")
        .iter()
        .map(|r| serde_json::from_slice(&r.data).expect("JSON record"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_walk_in_and_out_of_a_polygon_and_a_circle_fires_each_transition_once() {
    let (env, stub, vars) = fenced().await;
    let p = env.processor(&vars);

    let at = |(lat, lon): (f64, f64), u: &str, s: u32| point(u, s, lat, lon);
    let run = |batches: Vec<Vec<Envelope>>| {
        let p = &p;
        async move {
            // Concurrent invocations, as Lambda runs them.
            let runs = batches.iter().map(|b| handle(p, sqs_event(b, 1), None));
            for r in futures::future::join_all(runs).await {
                assert!(r.batch_item_failures.is_empty(), "{r:?}");
            }
        }
    };
    // Rider a: away, then two points inside the depot in two batches racing (one entry,
    // whichever commits first), then out; a late point inside (older than the exit) last.
    // Rider b: into the store, 70 s inside (the dwell), out.
    run(vec![vec![at(AWAY, "a", 0), at(STORE, "b", 0)]]).await;
    run(vec![vec![at(DEPOT, "a", 10)], vec![at(DEPOT, "a", 15)]]).await;
    run(vec![vec![at(AWAY, "a", 30), at(STORE, "b", 70)]]).await;
    run(vec![
        vec![at(DEPOT, "a", 20)],
        vec![at(AWAY_FROM_STORE, "b", 90)],
    ])
    .await;

    let records = stream_records(&env).await;
    let mut by_user: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in &records {
        assert_eq!(r["origin"], "hookloop", "{r}");
        for field in [
            "event_id",
            "message_id",
            "geofence_tag",
            "geofence_external_id",
            "time",
        ] {
            assert!(r[field].is_string(), "{field} in {r}");
        }
        by_user
            .entry(r["user_id"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                r["type"].as_str().unwrap().to_owned(),
                r["geofence_id"].as_str().unwrap().to_owned(),
            ));
    }
    let t = |kind: &str, fence: &str| (format!("user.{kind}_geofence"), fence.to_owned());
    // Whatever order the racing batches ran in, each rider's transitions are these, once.
    let mut a = by_user.remove("a").unwrap_or_default();
    a.sort();
    assert_eq!(
        a,
        vec![t("entered", "depot"), t("exited", "depot")],
        "{records:?}"
    );
    let mut b = by_user.remove("b").unwrap_or_default();
    b.sort();
    assert_eq!(
        b,
        vec![
            t("dwelled_in", "store"),
            t("entered", "store"),
            t("exited", "store")
        ],
        "{records:?}"
    );

    // A location row per transition, and each rider's state in the table.
    let table = env.table();
    let state = item_to_json(
        &table
            .get("USER#a", "GEOFENCES")
            .await
            .expect("GetItem")
            .expect("rider a's state"),
    );
    assert_eq!(state["inside"], json!([]));
    assert_eq!(
        state["last_at_ms"],
        json!(1_714_564_830_000i64),
        "the exit, not the late point"
    );
    for r in &records {
        let sk = format!(
            "LOC#{}#{}",
            r["time"].as_str().unwrap(),
            r["event_id"].as_str().unwrap()
        );
        let pk = format!("USER#{}", r["user_id"].as_str().unwrap());
        let row = table.get(&pk, &sk).await.expect("GetItem");
        let row = item_to_json(&row.unwrap_or_else(|| panic!("{pk} | {sk} stored")));
        assert_eq!(row["event_type"], r["type"]);
        assert_eq!(row["origin"], "hookloop");
    }
    assert_eq!(env.dlq().depth().await.expect("DLQ depth"), (0, 0));

    // Load-back: the two entries raise Geofence Entered, as a platform's entry does.
    let entered: Vec<Value> = stub
        .accepted()
        .into_iter()
        .map(|a| a.record)
        .filter(|r| r["evtName"] == "Geofence Entered")
        .collect();
    assert_eq!(entered.len(), 2, "{entered:?}");
    let depot = entered
        .iter()
        .find(|r| r["identity"] == "a")
        .expect("rider a's entry");
    assert_eq!(depot["evtData"]["Geofence ID"], "depot");
    assert_eq!(depot["evtData"]["Geofence"], "The depot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jump_of_3936_km_in_a_minute_is_flagged_lands_and_enters_no_geofence() {
    let (env, stub, vars) = fenced().await;
    let p = env.processor(&vars);
    let at = |(lat, lon): (f64, f64), s: u32| point("j", s, lat, lon);
    // From the depot to inside the Los Angeles circle a minute later, then back; each its own
    // batch (the state carries the last plausible position across them).
    for e in [at(DEPOT, 0), at(LOS_ANGELES, 60), at(DEPOT, 120)] {
        let r = handle(&p, sqs_event(&[e], 1), None).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
    }
    let records = stream_records(&env).await;
    let kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            let what = r["anomaly"].as_str().or(r["geofence_id"].as_str());
            (r["type"].as_str().unwrap(), what.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("user.entered_geofence", "depot"),
            ("user.location_anomaly", "impossible_speed"),
        ],
        "no entry into Los Angeles, and no exit from the depot or entry again on the way back"
    );
    let anomaly = &records[1];
    assert_eq!(anomaly["origin"], "hookloop");
    assert_eq!(anomaly["user_id"], "j");
    assert_eq!(anomaly["time"], "2024-05-01T12:01:00.000Z");

    // The point lands, flagged; the anomaly is a row of its own.
    let table = env.table();
    let own = table
        .get("USER#j", "LOC#2024-05-01T12:01:00.000Z#p-j-60")
        .await
        .expect("GetItem")
        .map(|i| item_to_json(&i))
        .expect("the jumped-to point's row");
    assert_eq!(own["anomaly"], "impossible_speed");
    assert_eq!(own["event_type"], "location.updated");
    let sk = format!(
        "LOC#2024-05-01T12:01:00.000Z#{}",
        anomaly["event_id"].as_str().unwrap()
    );
    let row = item_to_json(
        &table
            .get("USER#j", &sk)
            .await
            .expect("GetItem")
            .expect("the anomaly's row"),
    );
    assert_eq!(row["event_type"], "user.location_anomaly");
    let speed = row["speed_kmh"].as_f64().unwrap();
    assert!((230_000.0..240_000.0).contains(&speed), "{speed} km/h");
    assert_eq!(env.dlq().depth().await.expect("DLQ depth"), (0, 0));

    // Load-back: the example rules raise Location Anomaly, with its kind and speed.
    let raised: Vec<Value> = stub
        .accepted()
        .into_iter()
        .map(|a| a.record)
        .filter(|r| r["evtName"] == "Location Anomaly")
        .collect();
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["identity"], "j");
    assert_eq!(raised[0]["evtData"]["Anomaly"], "impossible_speed");
    assert!(raised[0]["evtData"]["Speed km/h"].as_f64().unwrap() > 1_000.0);
}

/// Locally: the document is a file, and `hookloop send --trace` (what `make run` prints) shows
/// the transition a raw point fired, its row and its stream record, beside the point's own row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_trace_shows_the_transition_a_raw_point_fired_by_a_local_geofence_file() {
    let env = TestEnv::start().await;
    let dir = std::env::temp_dir().join(format!("hookloop-geofencing-{}", ulid::Ulid::new()));
    // `send` picks the route from the folder's name.
    std::fs::create_dir_all(dir.join("location")).unwrap();
    let document = dir.join("geofences.geojson");
    std::fs::write(&document, GEOFENCES).unwrap();
    let webhook = dir.join("location/point.json");
    let (lat, lon) = DEPOT;
    let body = json!({
        "location": {"user_id": "c", "latitude": lat, "longitude": lon,
                     "created_at": "2024-05-01T12:00:00Z", "event_type": "location.updated"},
        "user": {"user_id": "c", "event_id": "p-c-0"}
    });
    std::fs::write(&webhook, body.to_string()).unwrap();
    let serve = env
        .serve(&[("GEOFENCES", document.to_str().unwrap())])
        .await;
    let (ok, out, err) = env
        .hookloop(&[
            "send",
            "--url",
            &serve.url,
            "--trace",
            webhook.to_str().unwrap(),
        ])
        .await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("USER#c | LOC#2024-05-01T12:00:00.000Z#p-c-0"),
        "the point's own row:\n{out}"
    );
    assert!(
        out.contains("user.entered_geofence computed by hookloop"),
        "the computed entry's row:\n{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("kinesis")
            && l.contains(r#""origin":"hookloop""#)
            && l.contains(r#""geofence_id":"depot""#)),
        "its stream record:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
