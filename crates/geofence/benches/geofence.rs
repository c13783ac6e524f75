//! Points per second through the geofence index, at 1,000 and 10,000 geofences (make bench).
//!
//! The geofences are a metro area's: circles of 50 to 500 m and 12-sided polygons of about the
//! same size, spread over 100 km × 100 km; the points are spread over the same area. One core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookloop_geofence::{parse_geofences, GeofenceIndex};
use serde_json::json;

/// A small deterministic generator, so every run measures the same geofences and points.
struct Xorshift(u64);

impl Xorshift {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WEST: f64 = -122.9;
const SOUTH: f64 = 37.3;
/// About 100 km at this latitude.
const SPAN_DEG: f64 = 0.9;

fn document(n: usize, rng: &mut Xorshift) -> Vec<u8> {
    let features: Vec<_> = (0..n)
        .map(|i| {
            let (lon, lat) = (WEST + rng.unit() * SPAN_DEG, SOUTH + rng.unit() * SPAN_DEG);
            let radius_m = 50.0 + rng.unit() * 450.0;
            if i % 2 == 0 {
                json!({"type": "Feature", "properties": {"id": format!("c{i}"), "radius_m": radius_m},
                       "geometry": {"type": "Point", "coordinates": [lon, lat]}})
            } else {
                let r = radius_m / 111_000.0;
                let mut ring: Vec<[f64; 2]> = (0..12)
                    .map(|k| {
                        let a = k as f64 * std::f64::consts::TAU / 12.0;
                        [lon + r * a.cos() / lat.to_radians().cos(), lat + r * a.sin()]
                    })
                    .collect();
                ring.push(ring[0]);
                json!({"type": "Feature", "properties": {"id": format!("p{i}")},
                       "geometry": {"type": "Polygon", "coordinates": [ring]}})
            }
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
        .to_string()
        .into_bytes()
}

fn points(rng: &mut Xorshift) -> Vec<(f64, f64)> {
    (0..10_000)
        .map(|_| (SOUTH + rng.unit() * SPAN_DEG, WEST + rng.unit() * SPAN_DEG))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("geofence points");
    for n in [1_000usize, 10_000] {
        let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        let Ok(fences) = parse_geofences(&document(n, &mut rng)) else {
            panic!("the generated document is valid");
        };
        let index = GeofenceIndex::new(fences);
        let points = points(&mut rng);
        group.throughput(Throughput::Elements(points.len() as u64));
        group.bench_with_input(BenchmarkId::new("geofences", n), &points, |b, points| {
            b.iter(|| {
                points
                    .iter()
                    .map(|(lat, lon)| index.containing(*lat, *lon).len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
