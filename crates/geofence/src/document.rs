//! The geofence document: a GeoJSON FeatureCollection (RFC 7946) read into [`Geofence`]s.
//!
//! `Polygon` and `MultiPolygon` features are areas; a `Point` feature with
//! `properties.radius_m` is a circle. Properties: `id` (required, unique), `tag`, `external_id`,
//! `description`, `dwell_s`. A document is taken whole or not at all: [`parse_geofences`] returns
//! every problem it finds, each with the JSON pointer of the value at fault, so the caller can
//! keep the last good document and say why the new one was refused.

use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use hookloop_domain::pointer;
use serde_json::{Map, Value};

use crate::limits::{
    MAX_DOCUMENT_BYTES, MAX_DWELL_S, MAX_GEOFENCES, MAX_PROBLEMS, MAX_RADIUS_M, MAX_TEXT_BYTES,
    MAX_VERTICES,
};
use crate::shape::Shape;

/// One geofence, as the document defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct Geofence {
    pub id: String,
    pub tag: Option<String>,
    pub external_id: Option<String>,
    pub description: Option<String>,
    /// Seconds inside after which a `user.dwelled_in_geofence` fires; none: never.
    pub dwell_s: Option<u32>,
    pub shape: Shape,
}

/// What is wrong with a document, at which JSON pointer (`""` for the whole document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

/// Every problem of a refused document (at most [`MAX_PROBLEMS`], then a last one saying so).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the geofence document has {} problem(s){}", .0.len(), .0.first().map(|p| format!(", first {p}")).unwrap_or_default())]
pub struct Problems(pub Vec<Problem>);

/// Reads a geofence document. Ids are unique; at most [`MAX_GEOFENCES`] features and
/// [`MAX_VERTICES`] positions in all.
pub fn parse_geofences(bytes: &[u8]) -> Result<Vec<Geofence>, Problems> {
    let one = |message: String| {
        Problems(vec![Problem {
            pointer: String::new(),
            message,
        }])
    };
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(one(format!("larger than {MAX_DOCUMENT_BYTES} bytes")));
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| one(format!("not JSON: {e}")))?;
    let mut reader = Reader::default();
    let fences = reader.collection(&doc);
    if reader.problems.is_empty() {
        Ok(fences)
    } else {
        Err(Problems(reader.problems))
    }
}

#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
    vertices: usize,
}

impl Reader {
    fn problem(&mut self, at: &str, message: impl Into<String>) {
        match self.problems.len() {
            n if n < MAX_PROBLEMS => self.problems.push(Problem {
                pointer: at.to_owned(),
                message: message.into(),
            }),
            n if n == MAX_PROBLEMS => self.problems.push(Problem {
                pointer: String::new(),
                message: "more problems not listed".into(),
            }),
            _ => {}
        }
    }

    fn collection(&mut self, doc: &Value) -> Vec<Geofence> {
        let Some(obj) = doc.as_object() else {
            self.problem("", "expected a GeoJSON FeatureCollection object");
            return Vec::new();
        };
        if obj.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
            self.problem("/type", "expected \"FeatureCollection\"");
        }
        let Some(features) = obj.get("features").and_then(Value::as_array) else {
            self.problem("/features", "expected an array of features");
            return Vec::new();
        };
        if features.len() > MAX_GEOFENCES {
            self.problem("/features", format!("more than {MAX_GEOFENCES} geofences"));
            return Vec::new();
        }
        let mut fences: Vec<Geofence> = Vec::with_capacity(features.len());
        let mut seen = std::collections::HashMap::new();
        for (i, feature) in features.iter().enumerate() {
            let at = pointer::join("/features", i);
            if let Some(fence) = self.feature(&at, feature) {
                if let Some(first) = seen.insert(fence.id.clone(), i) {
                    self.problem(
                        &pointer::join(&pointer::join(&at, "properties"), "id"),
                        format!("id {:?} is also /features/{first}'s", fence.id),
                    );
                }
                fences.push(fence);
            }
            if self.vertices > MAX_VERTICES {
                self.problem(
                    "/features",
                    format!("more than {MAX_VERTICES} positions in all"),
                );
                break;
            }
        }
        fences
    }

    fn feature(&mut self, at: &str, feature: &Value) -> Option<Geofence> {
        let Some(obj) = feature.as_object() else {
            self.problem(at, "expected a Feature object");
            return None;
        };
        if obj.get("type").and_then(Value::as_str) != Some("Feature") {
            self.problem(&pointer::join(at, "type"), "expected \"Feature\"");
        }
        let empty = Map::new();
        let props_at = pointer::join(at, "properties");
        let props = match obj.get("properties") {
            Some(Value::Object(p)) => p,
            _ => {
                self.problem(&props_at, "expected an object with at least an id");
                &empty
            }
        };
        let id = self.id(&props_at, props);
        let tag = self.text(&props_at, props, "tag");
        let external_id = self.text(&props_at, props, "external_id");
        let description = self.text(&props_at, props, "description");
        let dwell_s = self.dwell(&props_at, props);
        let shape = self.geometry(
            &pointer::join(at, "geometry"),
            obj.get("geometry"),
            props,
            &props_at,
        );
        Some(Geofence {
            id: id?,
            tag,
            external_id,
            description,
            dwell_s,
            shape: shape?,
        })
    }

    fn id(&mut self, props_at: &str, props: &Map<String, Value>) -> Option<String> {
        let at = pointer::join(props_at, "id");
        match props.get("id") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_TEXT_BYTES => Some(s.clone()),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Some(n.to_string()),
            Some(_) => {
                self.problem(
                    &at,
                    format!("expected a non-empty string of at most {MAX_TEXT_BYTES} bytes"),
                );
                None
            }
            None => {
                self.problem(&at, "required");
                None
            }
        }
    }

    fn text(&mut self, props_at: &str, props: &Map<String, Value>, key: &str) -> Option<String> {
        match props.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= MAX_TEXT_BYTES => Some(s.clone()),
            Some(_) => {
                let at = pointer::join(props_at, key);
                self.problem(
                    &at,
                    format!("expected a string of at most {MAX_TEXT_BYTES} bytes"),
                );
                None
            }
        }
    }

    fn dwell(&mut self, props_at: &str, props: &Map<String, Value>) -> Option<u32> {
        match props.get("dwell_s") {
            None | Some(Value::Null) => None,
            Some(v) => match v
                .as_u64()
                .filter(|s| *s >= 1 && *s <= u64::from(MAX_DWELL_S))
            {
                Some(s) => u32::try_from(s).ok(),
                None => {
                    let at = pointer::join(props_at, "dwell_s");
                    self.problem(
                        &at,
                        format!("expected whole seconds from 1 to {MAX_DWELL_S}"),
                    );
                    None
                }
            },
        }
    }

    fn geometry(
        &mut self,
        at: &str,
        geometry: Option<&Value>,
        props: &Map<String, Value>,
        props_at: &str,
    ) -> Option<Shape> {
        let Some(obj) = geometry.and_then(Value::as_object) else {
            self.problem(at, "expected a Polygon, MultiPolygon or Point geometry");
            return None;
        };
        let coords_at = pointer::join(at, "coordinates");
        let coords = obj.get("coordinates").unwrap_or(&Value::Null);
        match obj.get("type").and_then(Value::as_str) {
            Some("Polygon") => self
                .polygon(&coords_at, coords)
                .map(|p| Shape::area(MultiPolygon(vec![p]))),
            Some("MultiPolygon") => {
                let Some(polygons) = coords.as_array().filter(|p| !p.is_empty()) else {
                    self.problem(&coords_at, "expected an array of polygons");
                    return None;
                };
                let read: Vec<Option<Polygon>> = polygons
                    .iter()
                    .enumerate()
                    .map(|(i, p)| self.polygon(&pointer::join(&coords_at, i), p))
                    .collect();
                let read: Option<Vec<Polygon>> = read.into_iter().collect();
                read.map(|p| Shape::area(MultiPolygon(p)))
            }
            Some("Point") => {
                let center = self.position(&coords_at, coords);
                let radius = self.radius(props_at, props);
                Some(Shape::circle(Point(center?), radius?))
            }
            _ => {
                self.problem(
                    &pointer::join(at, "type"),
                    "expected \"Polygon\", \"MultiPolygon\" or \"Point\"",
                );
                None
            }
        }
    }

    fn radius(&mut self, props_at: &str, props: &Map<String, Value>) -> Option<f64> {
        let r = props.get("radius_m").and_then(Value::as_f64);
        match r.filter(|r| r.is_finite() && *r > 0.0 && *r <= MAX_RADIUS_M) {
            Some(r) => Some(r),
            None => {
                let at = pointer::join(props_at, "radius_m");
                let message = format!(
                    "a Point geofence needs radius_m, metres above 0 and at most {MAX_RADIUS_M}"
                );
                self.problem(&at, message);
                None
            }
        }
    }

    fn polygon(&mut self, at: &str, rings: &Value) -> Option<Polygon> {
        let Some(rings) = rings.as_array().filter(|r| !r.is_empty()) else {
            self.problem(at, "expected an array of linear rings (exterior first)");
            return None;
        };
        let read: Vec<Option<LineString>> = rings
            .iter()
            .enumerate()
            .map(|(i, ring)| self.ring(&pointer::join(at, i), ring))
            .collect();
        let mut read: Vec<LineString> = read.into_iter().collect::<Option<_>>()?;
        let exterior = read.remove(0);
        Some(Polygon::new(exterior, read))
    }

    fn ring(&mut self, at: &str, ring: &Value) -> Option<LineString> {
        let Some(positions) = ring.as_array().filter(|p| p.len() >= 4) else {
            self.problem(at, "expected a closed ring of at least 4 positions");
            return None;
        };
        self.vertices += positions.len();
        let read: Vec<Option<Coord>> = positions
            .iter()
            .enumerate()
            .map(|(i, p)| self.position(&pointer::join(at, i), p))
            .collect();
        let coords: Vec<Coord> = read.into_iter().collect::<Option<_>>()?;
        if coords.first() != coords.last() {
            let last = positions.len() - 1;
            self.problem(
                &pointer::join(at, last),
                "the last position must equal the first (a closed ring)",
            );
            return None;
        }
        Some(LineString(coords))
    }

    /// `[longitude, latitude]` (an altitude after them is allowed and ignored, as RFC 7946 says).
    fn position(&mut self, at: &str, position: &Value) -> Option<Coord> {
        let pair = position.as_array().filter(|p| p.len() >= 2);
        let lon = pair.and_then(|p| p[0].as_f64());
        let lat = pair.and_then(|p| p[1].as_f64());
        match (lon, lat) {
            (Some(x), Some(y)) if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) => {
                Some(Coord { x, y })
            }
            (Some(_), Some(_)) => {
                self.problem(
                    at,
                    "longitude must be within [-180, 180] and latitude within [-90, 90]",
                );
                None
            }
            _ => {
                self.problem(at, "expected a position [longitude, latitude]");
                None
            }
        }
    }
}
