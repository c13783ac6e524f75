//! The geofences of one document in an R*-tree of their boxes: a point is tested exactly only
//! against the few geofences whose box holds it.

use std::collections::HashMap;

use geo::Point;
use rstar::{RTree, RTreeObject, AABB};

use crate::document::Geofence;
use crate::shape::Envelope;

struct Entry {
    envelope: Envelope,
    /// The geofence's position in the document.
    at: usize,
}

impl RTreeObject for Entry {
    type Envelope = Envelope;

    fn envelope(&self) -> Envelope {
        self.envelope
    }
}

/// A document's geofences, indexed. Built once per document version, then shared.
pub struct GeofenceIndex {
    fences: Vec<Geofence>,
    tree: RTree<Entry>,
    by_id: HashMap<String, usize>,
}

impl GeofenceIndex {
    pub fn new(fences: Vec<Geofence>) -> Self {
        let entries = fences
            .iter()
            .enumerate()
            .map(|(at, fence)| Entry {
                envelope: fence.shape.envelope(),
                at,
            })
            .collect();
        let by_id = fences
            .iter()
            .enumerate()
            .map(|(at, f)| (f.id.clone(), at))
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
            fences,
            by_id,
        }
    }

    /// The geofences holding the point, in document order. Coordinates outside the globe's range
    /// or not finite hold in none.
    pub fn containing(&self, latitude: f64, longitude: f64) -> Vec<&Geofence> {
        if !(latitude.is_finite() && longitude.is_finite()) {
            return Vec::new();
        }
        let point = Point::new(longitude, latitude);
        let mut hits: Vec<usize> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([longitude, latitude]))
            .filter(|e| self.fences[e.at].shape.contains(point))
            .map(|e| e.at)
            .collect();
        hits.sort_unstable();
        hits.into_iter().map(|at| &self.fences[at]).collect()
    }

    /// The geofence with this id, if the document has it.
    pub fn get(&self, id: &str) -> Option<&Geofence> {
        self.by_id.get(id).map(|at| &self.fences[*at])
    }

    pub fn len(&self) -> usize {
        self.fences.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fences.is_empty()
    }

    pub fn geofences(&self) -> &[Geofence] {
        &self.fences
    }
}
