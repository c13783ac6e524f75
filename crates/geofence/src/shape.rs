//! A geofence's shape: an area (polygons) or a circle, its bounding box for the index, and the
//! exact containment test.

use geo::{BoundingRect, Distance, Haversine, Intersects, MultiPolygon, Point};
use rstar::AABB;

use crate::limits::EARTH_RADIUS_M;

/// Longitude and latitude, degrees (GeoJSON's order).
pub type Envelope = AABB<[f64; 2]>;

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `Polygon` or `MultiPolygon`; a point on an edge is inside.
    Area(MultiPolygon),
    /// A `Point` with `radius_m`; a point at exactly `radius_m` (great-circle) is inside.
    Circle { center: Point, radius_m: f64 },
}

impl Shape {
    pub(crate) fn area(polygons: MultiPolygon) -> Self {
        Shape::Area(polygons)
    }

    pub(crate) fn circle(center: Point, radius_m: f64) -> Self {
        Shape::Circle { center, radius_m }
    }

    /// A box holding the whole shape, in degrees.
    pub fn envelope(&self) -> Envelope {
        match self {
            Shape::Area(polygons) => match polygons.bounding_rect() {
                Some(r) => AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                None => AABB::from_point([f64::NAN, f64::NAN]),
            },
            Shape::Circle { center, radius_m } => circle_envelope(*center, *radius_m),
        }
    }

    /// Whether the point (longitude, latitude) is inside (edges and the radius included).
    pub fn contains(&self, point: Point) -> bool {
        match self {
            Shape::Area(polygons) => polygons.intersects(&point),
            Shape::Circle { center, radius_m } => Haversine.distance(*center, point) <= *radius_m,
        }
    }
}

/// The box of a spherical cap: latitude ± the radius's angle, and longitude ± asin(sin δ / cos φ)
/// (the cap's widest point). A cap reaching a pole or crossing the antimeridian gets every
/// longitude: rare, and still correct since the exact test follows.
fn circle_envelope(center: Point, radius_m: f64) -> Envelope {
    // A hair wider than exact, so rounding never leaves a point on the edge outside the box.
    const SLACK_DEG: f64 = 1e-7;
    let delta = radius_m / EARTH_RADIUS_M;
    let dlat = delta.to_degrees() + SLACK_DEG;
    let (lon, lat) = (center.x(), center.y());
    let (south, north) = (lat - dlat, lat + dlat);
    let ratio = delta.sin() / lat.to_radians().cos();
    let full = [-180.0, 180.0];
    let [west, east] = if south <= -90.0 || north >= 90.0 || ratio >= 1.0 {
        full
    } else {
        let dlon = ratio.asin().to_degrees() + SLACK_DEG;
        if lon - dlon < -180.0 || lon + dlon > 180.0 {
            full
        } else {
            [lon - dlon, lon + dlon]
        }
    };
    AABB::from_corners([west, south.max(-90.0)], [east, north.min(90.0)])
}
