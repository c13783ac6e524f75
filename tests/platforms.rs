//! HyperTrack, Roam.ai and Foursquare webhooks end to end on the emulator, through `hookloop
//! serve` with the example geofences and load-back rules: each platform's geofence events land in
//! the same rows, stream and rules as Radar's, and their raw points move the same server-side
//! geofencing.

use std::collections::BTreeSet;
use std::time::Duration;

use hookloop_tests::samples::PLATFORM_FIXTURES;
use hookloop_tests::*;
use serde_json::{json, Value};

const DEVICE: &str = "00112233-4455-6677-8899-AABBCCDDEEFF";
const ROAM_USER: &str = "6054a5a5bc1a4b0b1c3c2f11";
const SHOPPER: &str = "shopper-5150";

async fn item(env: &TestEnv, pk: &str, sk: &str) -> Value {
    let item = eventually(
        &format!("item {pk} | {sk}"),
        Duration::from_secs(30),
        || async { env.table().get(pk, sk).await.expect("GetItem") },
    )
    .await;
    Value::Object(hookloop_aws::dynamodb::item_to_json(&item))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_location_platform_lands_in_the_same_rows_stream_and_rules() {
    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let geofences = repo_root().join("infra/geofences.example.geojson");
    let mut vars = clevertap_env(&stub, &example_rules());
    vars.push(("GEOFENCES".into(), geofences.display().to_string()));
    let extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let serve = env.serve(&extra).await;
    let http = reqwest::Client::new();

    for file in PLATFORM_FIXTURES {
        let body = std::fs::read(event_file(&format!("webhooks/{file}"))).unwrap();
        let (status, answer) = if file.contains("foursquare") {
            // Foursquare sends its console's secret in `Pilgrim-Secret`, nothing else.
            let resp = http
                .post(format!("{}/webhooks/location", serve.url))
                .header("content-type", "application/json")
                .header("user-agent", "Foursquare-PilgrimSDK/4.0")
                .header("pilgrim-secret", TEST_TOKEN)
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        } else {
            serve.post(&http, "/webhooks/location", body).await
        };
        assert_eq!(
            (status, &answer["status"]),
            (200, &json!("queued")),
            "{file}: {answer}"
        );
    }
    let (status, _) = serve
        .post(&http, "/webhooks/location", b"[]".to_vec())
        .await;
    assert_eq!(status, 400, "an empty HyperTrack array is refused");
    let refused = http
        .post(format!("{}/webhooks/location", serve.url))
        .header("content-type", "application/json")
        .header("pilgrim-secret", "not-the-secret")
        .body(
            std::fs::read(event_file(
                "webhooks/location/foursquare-visit-arrival.json",
            ))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401, "a wrong Pilgrim-Secret");

    env.wait_for_archived(PLATFORM_FIXTURES.len(), Duration::from_secs(60))
        .await;

    // Rows: each platform's events under its user, with the shape they came in.
    let ht_entry = format!("{DEVICE}:geofence:entry:2024-05-01T12:04:00.000Z");
    for (pk, sk, shape, event_type, fence) in [
        (
            DEVICE,
            format!("LOC#2024-05-01T12:04:00.000Z#{ht_entry}"),
            "hypertrack",
            "user.entered_geofence",
            Some("ht-geofence-union-square"),
        ),
        (
            DEVICE,
            format!("LOC#2024-05-01T12:03:00.000Z#{DEVICE}:location:2024-05-01T12:03:00.000Z"),
            "hypertrack",
            "location.updated",
            None,
        ),
        (
            ROAM_USER,
            "LOC#2024-05-01T12:40:00.000Z#6054a6f8bc1a4b0b1c3c2f20:geospark:geofence:entry".into(),
            "roam",
            "user.entered_geofence",
            Some("6054a5f0bc1a4b0b1c3c2f15"),
        ),
        (
            ROAM_USER,
            "LOC#2024-05-01T12:47:30.000Z#6054a71bbc1a4b0b1c3c2f28:geospark:location:point".into(),
            "roam",
            "location.updated",
            None,
        ),
        (
            SHOPPER,
            "LOC#2024-05-01T13:00:00.000Z#62f1b2c3d4e5f60718293a4b".into(),
            "foursquare",
            "user.entered_geofence",
            Some("fsq-geofence-1001"),
        ),
        (
            SHOPPER,
            "LOC#2024-05-01T13:10:00.000Z#5d1b2c3d4e5f607182930abc:arrival".into(),
            "foursquare",
            "visit.arrival",
            None,
        ),
    ] {
        let row = item(&env, &format!("USER#{pk}"), &sk).await;
        assert_eq!(
            (
                row["kind"].as_str(),
                row["shape"].as_str(),
                row["event_type"].as_str(),
                row["geofence_id"].as_str()
            ),
            (Some("location"), Some(shape), Some(event_type), fence),
            "{pk} | {sk}: {row}"
        );
    }
    let trip = item(&env, "TRIP#123E4567-E89B-12D3-A456-426655440000", "META").await;
    assert_eq!(
        (trip["status"].as_str(), trip["user_id"].as_str()),
        (Some("completed"), Some(DEVICE))
    );
    let device = item(&env, &format!("USER#{DEVICE}"), "PROFILE").await;
    assert_eq!(
        device["live"],
        json!(false),
        "the device went inactive last"
    );

    // Stream: the platforms' own transitions, and the one HyperTrack's raw points fired in the
    // example's Union Square polygon (origin hookloop), each partitioned by its user.
    let expected: BTreeSet<(String, String, String, Option<String>)> = [
        (
            DEVICE,
            "user.entered_geofence",
            "ht-geofence-union-square",
            None,
        ),
        (DEVICE, "user.exited_geofence", "ht-trip-destination", None),
        (
            DEVICE,
            "user.entered_geofence",
            "store-union-square",
            Some("hookloop"),
        ),
        (
            ROAM_USER,
            "user.entered_geofence",
            "6054a5f0bc1a4b0b1c3c2f15",
            None,
        ),
        (
            ROAM_USER,
            "user.exited_geofence",
            "6054a5f0bc1a4b0b1c3c2f15",
            None,
        ),
        (SHOPPER, "user.entered_geofence", "fsq-geofence-1001", None),
    ]
    .into_iter()
    .map(|(u, t, g, o)| {
        (
            u.to_owned(),
            t.to_owned(),
            g.to_owned(),
            o.map(str::to_owned),
        )
    })
    .collect();
    let streamed = eventually(
        "the platforms' transitions streamed",
        Duration::from_secs(30),
        || async {
            let got: BTreeSet<_> = env
                .stream_records()
                .await
                .into_iter()
                .map(|(partition, r)| {
                    assert_eq!(
                        Some(partition.as_str()),
                        r["user_id"].as_str(),
                        "partitioned by user"
                    );
                    (
                        partition,
                        r["type"].as_str().unwrap_or_default().to_owned(),
                        r["geofence_id"].as_str().unwrap_or_default().to_owned(),
                        r["origin"].as_str().map(str::to_owned),
                    )
                })
                .collect();
            (got.len() >= expected.len()).then_some(got)
        },
    )
    .await;
    assert_eq!(
        streamed, expected,
        "every transition, and no point, on the stream"
    );

    // Rules: the example's geofence-entered rule raised Geofence Entered for each platform's
    // users, their own entries and the computed one alike.
    let entered = eventually(
        "Geofence Entered at the stand-in",
        Duration::from_secs(60),
        || {
            let got: BTreeSet<(String, String)> = stub
                .accepted()
                .into_iter()
                .filter(|a| a.record["evtName"] == "Geofence Entered")
                .map(|a| {
                    let r = &a.record;
                    (
                        r["identity"].as_str().unwrap_or_default().to_owned(),
                        r["evtData"]["Geofence ID"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect();
            async move { (got.len() >= 4).then_some(got) }
        },
    )
    .await;
    let want: BTreeSet<(String, String)> = [
        (DEVICE, "ht-geofence-union-square"),
        (DEVICE, "store-union-square"),
        (ROAM_USER, "6054a5f0bc1a4b0b1c3c2f15"),
        (SHOPPER, "fsq-geofence-1001"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(entered, want);
}
