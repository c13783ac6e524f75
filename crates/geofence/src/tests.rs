//! The promises: the document is read exactly or refused with pointers; the index finds exactly
//! the geofences a linear scan finds; a walk fires entered, dwelled and exited once each, and a
//! late point changes nothing.

use geo::{Destination, Haversine, Point};
use proptest::prelude::*;
use serde_json::json;

use crate::{parse_geofences, step, GeofenceIndex, PointOrder, Shape, TransitionKind, UserState};

const EXAMPLE: &[u8] = include_bytes!("../../../infra/geofences.example.geojson");

fn pointers(doc: serde_json::Value) -> Vec<String> {
    let problems = parse_geofences(doc.to_string().as_bytes()).unwrap_err();
    problems.0.into_iter().map(|p| p.pointer).collect()
}

fn feature(props: serde_json::Value, geometry: serde_json::Value) -> serde_json::Value {
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

fn square(id: &str, west: f64, south: f64, side: f64) -> serde_json::Value {
    let (e, n) = (west + side, south + side);
    feature(
        json!({"id": id}),
        json!({"type": "Polygon", "coordinates": [[[west, south], [e, south], [e, n], [west, n], [west, south]]]}),
    )
}

fn collection(features: Vec<serde_json::Value>) -> Vec<u8> {
    json!({"type": "FeatureCollection", "features": features})
        .to_string()
        .into_bytes()
}

#[test]
fn the_shipped_example_reads_with_every_property() {
    let fences = parse_geofences(EXAMPLE).expect("the example in infra/ is valid");
    assert_eq!(fences.len(), 4);
    let store = &fences[0];
    assert_eq!(store.id, "store-union-square");
    assert_eq!(store.tag.as_deref(), Some("store"));
    assert_eq!(store.external_id.as_deref(), Some("SF-001"));
    assert_eq!(store.dwell_s, Some(300));
    assert!(matches!(fences[1].shape, Shape::Circle { radius_m, .. } if radius_m == 2500.0));
    assert!(matches!(&fences[2].shape, Shape::Area(mp) if mp.0.len() == 2));
    let index = GeofenceIndex::new(fences);
    let ids = |lat, lon| -> Vec<String> {
        index
            .containing(lat, lon)
            .iter()
            .map(|f| f.id.clone())
            .collect()
    };
    assert_eq!(ids(37.7880, -122.4070), ["store-union-square"]);
    assert_eq!(ids(37.6213, -122.3790), ["airport-sfo"]);
    assert_eq!(
        ids(37.7806, -122.3990),
        ["campus-two-sites"],
        "the second polygon"
    );
    assert!(ids(37.7700, -122.4500).is_empty());
}

#[test]
fn every_problem_is_named_by_its_pointer() {
    let doc = json!({"type": "FeatureCollection", "features": [
        feature(json!({"tag": "no id"}), json!({"type": "Point", "coordinates": [0, 0]})),
        square("a/b", 0.0, 0.0, 1.0),
        square("a/b", 2.0, 2.0, 1.0),
        feature(json!({"id": "open"}), json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})),
        feature(json!({"id": "far"}), json!({"type": "Point", "coordinates": [181, 0]})),
        feature(json!({"id": "line"}), json!({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})),
        feature(json!({"id": "dwell", "dwell_s": -5, "tag": 7}), json!({"type": "Point", "coordinates": [0, 0]}))
    ]});
    assert_eq!(
        pointers(doc),
        [
            "/features/0/properties/id",
            "/features/0/properties/radius_m",
            "/features/2/properties/id",
            "/features/3/geometry/coordinates/0/3",
            "/features/4/geometry/coordinates",
            "/features/4/properties/radius_m",
            "/features/5/geometry/type",
            "/features/6/properties/tag",
            "/features/6/properties/dwell_s",
            "/features/6/properties/radius_m",
        ]
    );
}

#[test]
fn a_ring_that_does_not_close_points_at_its_last_position() {
    let open = feature(
        json!({"id": "x"}),
        json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.5]]]}),
    );
    let doc = json!({"type": "FeatureCollection", "features": [open]});
    assert_eq!(pointers(doc), ["/features/0/geometry/coordinates/0/4"]);
}

#[test]
fn what_is_not_a_feature_collection_is_refused_whole() {
    assert_eq!(pointers(json!([1, 2])), [""]);
    assert_eq!(
        pointers(json!({"type": "FeatureCollection"})),
        ["/features"]
    );
    assert!(parse_geofences(b"{\"type\":").is_err());
    let empty = parse_geofences(&collection(vec![])).expect("no geofences is a valid document");
    assert!(empty.is_empty());
}

#[test]
fn edges_and_the_radius_itself_are_inside() {
    let index = GeofenceIndex::new(
        parse_geofences(&collection(vec![square("sq", 10.0, 10.0, 1.0)])).unwrap(),
    );
    assert_eq!(index.containing(10.5, 11.0).len(), 1, "on the east edge");
    assert_eq!(index.containing(11.0, 11.0).len(), 1, "on a corner");
    assert!(index.containing(11.000001, 10.5).is_empty());
    assert!(index.containing(f64::NAN, 10.5).is_empty());
}

#[test]
fn a_hole_is_outside() {
    let ring = |w: f64, s: f64, e: f64, n: f64| json!([[w, s], [e, s], [e, n], [w, n], [w, s]]);
    let donut = feature(
        json!({"id": "donut"}),
        json!({"type": "Polygon", "coordinates": [ring(0.0, 0.0, 4.0, 4.0), ring(1.0, 1.0, 3.0, 3.0)]}),
    );
    let index = GeofenceIndex::new(parse_geofences(&collection(vec![donut])).unwrap());
    assert!(index.containing(2.0, 2.0).is_empty());
    assert_eq!(index.containing(0.5, 0.5).len(), 1);
}

fn circle(id: &str, lon: f64, lat: f64, radius_m: f64) -> serde_json::Value {
    feature(
        json!({"id": id, "radius_m": radius_m}),
        json!({"type": "Point", "coordinates": [lon, lat]}),
    )
}

#[test]
fn circles_near_a_pole_and_across_the_antimeridian_find_their_points() {
    let fences = collection(vec![
        circle("dateline", 179.999, 0.0, 5_000.0),
        circle("pole", 0.0, 89.99, 5_000.0),
    ]);
    let index = GeofenceIndex::new(parse_geofences(&fences).unwrap());
    assert_eq!(
        index.containing(0.0, -179.99)[0].id,
        "dateline",
        "across the antimeridian"
    );
    assert_eq!(
        index.containing(89.995, 120.0)[0].id,
        "pole",
        "on the other side of the pole"
    );
}

fn order(at_ms: i64, tiebreak: &str) -> PointOrder {
    PointOrder {
        at_ms,
        tiebreak: tiebreak.into(),
    }
}

#[test]
fn a_walk_in_and_out_fires_each_transition_once_and_a_late_point_changes_nothing() {
    let mut store = square("store", 0.0, 0.0, 0.01);
    store["properties"]["dwell_s"] = json!(60);
    let index = GeofenceIndex::new(parse_geofences(&collection(vec![store])).unwrap());
    let walk = [
        (0, 0.02, 0.02, vec![]),
        (10_000, 0.005, 0.005, vec![TransitionKind::Entered]),
        (30_000, 0.006, 0.006, vec![]),
        (75_000, 0.007, 0.007, vec![TransitionKind::Dwelled]),
        (90_000, 0.008, 0.008, vec![]),
        (120_000, 0.05, 0.05, vec![TransitionKind::Exited]),
    ];
    let mut state: Option<UserState> = None;
    for (at, lat, lon, expected) in walk {
        let (next, transitions) = step(&index, state.as_ref(), order(at, "m"), lat, lon).unwrap();
        let kinds: Vec<_> = transitions.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, expected, "at {at} ms");
        state = Some(next);
    }
    // A point from inside, taken before the exit but processed after it: too late to matter.
    assert!(step(&index, state.as_ref(), order(100_000, "late"), 0.005, 0.005).is_none());
    // The same point again (a redelivery) is not newer either.
    assert!(step(&index, state.as_ref(), order(120_000, "m"), 0.05, 0.05).is_none());
    // Equal times: the greater tiebreak is the newer point, whichever arrives first.
    assert!(step(&index, state.as_ref(), order(120_000, "n"), 0.05, 0.05).is_some());
}

prop_compose! {
    fn arb_fence(i: usize)(lon in -179.0..178.0f64, lat in -80.0..79.0f64, side in 0.0001..1.0f64,
                           radius in 1.0..100_000.0f64, round in any::<bool>()) -> serde_json::Value {
        let id = format!("g{i}");
        if round { circle(&id, lon, lat, radius) } else { square(&id, lon, lat, side) }
    }
}

fn arb_fences() -> impl Strategy<Value = Vec<serde_json::Value>> {
    (1usize..40).prop_flat_map(|n| (0..n).map(arb_fence).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The index is only a shortcut: it answers exactly what testing every geofence answers.
    #[test]
    fn the_index_finds_what_a_linear_scan_finds(
        fences in arb_fences(),
        points in proptest::collection::vec((-90.0..90.0f64, -180.0..180.0f64), 1..30),
        near in proptest::collection::vec((0usize..40, 0.0..360.0f64, 0.0..1.2f64), 1..30),
    ) {
        let parsed = parse_geofences(&collection(fences)).unwrap();
        let index = GeofenceIndex::new(parsed.clone());
        // Points anywhere, and points around each geofence (inside, on and beyond its edge).
        let mut all = points;
        for (which, bearing, scale) in near {
            let fence = &parsed[which % parsed.len()];
            let (center, reach) = match &fence.shape {
                Shape::Circle { center, radius_m } => (*center, *radius_m),
                Shape::Area(_) => {
                    let e = fence.shape.envelope();
                    (Point::new(e.lower()[0], e.lower()[1]), 150_000.0)
                }
            };
            let p = Haversine.destination(center, bearing, reach * scale);
            all.push((p.y(), p.x()));
        }
        for (lat, lon) in all {
            let scan: Vec<&str> = parsed.iter()
                .filter(|f| f.shape.contains(Point::new(lon, lat)))
                .map(|f| f.id.as_str()).collect();
            let found: Vec<&str> = index.containing(lat, lon).iter().map(|f| f.id.as_str()).collect();
            prop_assert_eq!(found, scan, "at ({}, {})", lat, lon);
        }
    }

    /// Every point within a circle's radius is found through the index, at any latitude.
    #[test]
    fn a_circle_box_holds_its_whole_circle(
        lon in -180.0..180.0f64, lat in -89.9..89.9f64, radius in 1.0..100_000.0f64,
        bearing in 0.0..360.0f64, scale in 0.0..0.999f64,
    ) {
        let index = GeofenceIndex::new(parse_geofences(&collection(vec![circle("c", lon, lat, radius)])).unwrap());
        let p = Haversine.destination(Point::new(lon, lat), bearing, radius * scale);
        prop_assert_eq!(index.containing(p.y(), p.x()).len(), 1);
    }

    /// Whatever order the points are processed in, the state ends at the newest point, and no
    /// point fires a transition twice.
    #[test]
    fn the_state_ends_at_the_newest_point_in_any_order(
        walk in proptest::collection::vec((0i64..1_000, 0.0..0.03f64), 1..20),
        seed in any::<u64>(),
    ) {
        let index = GeofenceIndex::new(parse_geofences(&collection(vec![square("s", 0.0, 0.0, 0.01)])).unwrap());
        let mut points: Vec<(PointOrder, f64)> = walk.into_iter().enumerate()
            .map(|(i, (at, x))| (order(at, &format!("{i:03}")), x)).collect();
        let newest = points.iter().map(|(o, _)| o.clone()).max().unwrap();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..points.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            points.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut state: Option<UserState> = None;
        for (o, x) in points {
            if let Some((next, _)) = step(&index, state.as_ref(), o, x, x) {
                prop_assert!(next.inside.len() <= 1);
                state = Some(next);
            }
        }
        prop_assert_eq!(state.unwrap().last, newest);
    }
}
