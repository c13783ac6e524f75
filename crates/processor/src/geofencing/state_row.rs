//! A user's geofencing state as a table item: `USER#<user id>` | `GEOFENCES`, read and written
//! whole, each write a compare-and-swap on its `revision` ([`RowStore::put_if_revision`]).
//!
//! Besides the geofences the user is inside and their newest point, the item keeps the last
//! [`MAX_FIRED`] transitions it fired with the point that fired each: a message whose
//! transitions were committed here but whose rows or records were not stored (a failed write, a
//! crash) finds them again on its redelivery, when its points are no longer newer than the
//! state and fire nothing.
//!
//! [`RowStore::put_if_revision`]: crate::ports::RowStore::put_if_revision

use hookloop_aws::dynamodb::REVISION_ATTRIBUTE;
use hookloop_domain::{FenceRef, Row};
use hookloop_geofence::anomaly::Fix;
use hookloop_geofence::{Inside, PointOrder, UserState};
use serde_json::{json, Map, Value};

use crate::ports::{Item, ItemKey};

/// The sort key of a user's geofencing state.
pub const STATE_SK: &str = "GEOFENCES";
/// The item's `kind`.
pub const STATE_KIND: &str = "geofence_state";
/// Transitions remembered per user for redeliveries: a message redelivered after more than this
/// many later transitions of its user loses its own (they are on the stream and in the table
/// only if its first attempt stored them).
pub const MAX_FIRED: usize = 64;
/// And at most about this many bytes of them (geofence texts may be 1 KiB each): the item stays
/// far below DynamoDB's 400 KB.
pub const MAX_FIRED_BYTES: usize = 64 * 1024;

/// A transition as the state remembers it: enough to build its row and record again.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The tiebreak of the point that fired it (`<message id>/<position>`).
    pub point: String,
    /// The point's event time (epoch ms; 0 in items written before it was kept), which
    /// flapping counts transitions by.
    pub at_ms: i64,
    /// A transition's type, or `user.location_anomaly` for an anomaly.
    pub record_type: String,
    /// The geofence a transition or a flapping anomaly names; empty for a speed anomaly.
    pub geofence_id: String,
    pub geofence_tag: Option<String>,
    pub geofence_external_id: Option<String>,
    pub geofence_description: Option<String>,
    /// An anomaly's kind (`impossible_speed`, `geofence_flapping`); `None` for a transition.
    pub anomaly: Option<String>,
    /// The speed a speed anomaly implied, km/h.
    pub speed_kmh: Option<f64>,
}

impl Fired {
    /// About what the transition takes in the item.
    fn size(&self) -> usize {
        96 + self.point.len()
            + self.anomaly.as_ref().map_or(0, String::len)
            + self.record_type.len()
            + self.geofence_id.len()
            + [
                &self.geofence_tag,
                &self.geofence_external_id,
                &self.geofence_description,
            ]
            .iter()
            .map(|t| t.as_ref().map_or(0, String::len))
            .sum::<usize>()
    }

    pub fn fence(&self) -> FenceRef<'_> {
        FenceRef {
            id: &self.geofence_id,
            tag: self.geofence_tag.as_deref(),
            external_id: self.geofence_external_id.as_deref(),
            description: self.geofence_description.as_deref(),
        }
    }

    /// The geofence it names, if any (a speed anomaly names none).
    pub fn fence_if_any(&self) -> Option<FenceRef<'_>> {
        (!self.geofence_id.is_empty()).then(|| self.fence())
    }
}

/// A user's stored state: what [`hookloop_geofence::step`] moves on, the transitions it fired,
/// and the revision it was read at (`None`: no item yet).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stored {
    pub state: Option<UserState>,
    pub fired: Vec<Fired>,
    pub revision: Option<i64>,
    /// The user's last plausible position, which the next point's speed is measured from.
    pub plausible: Option<Fix>,
    /// The user's newest point's position, plausible or not: two points that agree with each
    /// other outvote a reference that was itself a glitch.
    pub last_fix: Option<Fix>,
}

pub fn key(user_id: &str) -> ItemKey {
    (format!("USER#{user_id}"), STATE_SK.to_owned())
}

impl Stored {
    /// The state an item holds. An item this code cannot read (written by a later version, or
    /// by hand) reads as no state at its revision, so the next write replaces it.
    pub fn from_item(item: &Item) -> Self {
        let revision = item.get(REVISION_ATTRIBUTE).and_then(Value::as_i64);
        let state = (|| {
            let last = PointOrder {
                at_ms: item.get("last_at_ms")?.as_i64()?,
                tiebreak: item.get("last_point")?.as_str()?.to_owned(),
            };
            let inside = item
                .get("inside")?
                .as_array()?
                .iter()
                .map(|i| {
                    Some(Inside {
                        geofence_id: i.get("geofence_id")?.as_str()?.to_owned(),
                        since_ms: i.get("since_ms")?.as_i64()?,
                        dwelled: i.get("dwelled")?.as_bool()?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(UserState { last, inside })
        })();
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let fired = item
            .get("fired")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| {
                        Some(Fired {
                            point: text(f, "point")?,
                            record_type: text(f, "type")?,
                            geofence_id: text(f, "geofence_id")?,
                            geofence_tag: text(f, "geofence_tag"),
                            geofence_external_id: text(f, "geofence_external_id"),
                            geofence_description: text(f, "geofence_description"),
                            at_ms: f.get("at_ms").and_then(Value::as_i64).unwrap_or(0),
                            anomaly: text(f, "anomaly"),
                            speed_kmh: f.get("speed_kmh").and_then(Value::as_f64),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fix = |k: &str| {
            item.get(k).and_then(|p| {
                Some(Fix {
                    at_ms: p.get("at_ms")?.as_i64()?,
                    latitude: p.get("latitude")?.as_f64()?,
                    longitude: p.get("longitude")?.as_f64()?,
                })
            })
        };
        Stored {
            state,
            fired,
            revision,
            plausible: fix("plausible"),
            last_fix: fix("last_fix"),
        }
    }

    /// The item holding `state` and `fired` (the last [`MAX_FIRED`] kept), one revision on.
    pub fn to_row(
        user_id: &str,
        state: &UserState,
        (plausible, last_fix): (Option<&Fix>, Option<&Fix>),
        fired: &[Fired],
        revision: Option<i64>,
    ) -> Row {
        let (pk, sk) = key(user_id);
        let mut a = Map::new();
        a.insert("kind".into(), json!(STATE_KIND));
        a.insert("user_id".into(), json!(user_id));
        a.insert(REVISION_ATTRIBUTE.into(), json!(revision.unwrap_or(0) + 1));
        a.insert("last_at_ms".into(), json!(state.last.at_ms));
        a.insert("last_point".into(), json!(state.last.tiebreak));
        let inside: Vec<Value> = state
            .inside
            .iter()
            .map(|i| json!({"geofence_id": i.geofence_id, "since_ms": i.since_ms, "dwelled": i.dwelled}))
            .collect();
        a.insert("inside".into(), Value::Array(inside));
        for (k, p) in [("plausible", plausible), ("last_fix", last_fix)] {
            if let Some(p) = p {
                a.insert(
                    k.into(),
                    json!({"at_ms": p.at_ms, "latitude": p.latitude, "longitude": p.longitude}),
                );
            }
        }
        // The newest, within both limits.
        let mut keep = fired.len();
        let mut bytes = 0;
        while keep > 0 && fired.len() - keep < MAX_FIRED {
            bytes += fired[keep - 1].size();
            if bytes > MAX_FIRED_BYTES {
                break;
            }
            keep -= 1;
        }
        let fired: Vec<Value> = fired[keep..]
            .iter()
            .map(|f| {
                let mut m = Map::new();
                m.insert("point".into(), json!(f.point));
                m.insert("type".into(), json!(f.record_type));
                m.insert("geofence_id".into(), json!(f.geofence_id));
                m.insert("at_ms".into(), json!(f.at_ms));
                for (k, v) in [
                    ("geofence_tag", &f.geofence_tag),
                    ("geofence_external_id", &f.geofence_external_id),
                    ("geofence_description", &f.geofence_description),
                    ("anomaly", &f.anomaly),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                if let Some(v) = f.speed_kmh.filter(|v| v.is_finite()) {
                    m.insert("speed_kmh".into(), json!(v));
                }
                Value::Object(m)
            })
            .collect();
        a.insert("fired".into(), Value::Array(fired));
        Row { pk, sk, attrs: a }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(n: usize) -> Fired {
        Fired {
            point: format!("01HX/{n:05}"),
            at_ms: 1_714_561_000_000 + n as i64,
            record_type: "user.entered_geofence".into(),
            geofence_id: format!("g{n}"),
            geofence_tag: Some("store".into()),
            geofence_external_id: None,
            geofence_description: Some("A store".into()),
            anomaly: n.is_multiple_of(5).then(|| "impossible_speed".to_owned()),
            speed_kmh: n.is_multiple_of(5).then_some(234_000.5),
        }
    }

    #[test]
    fn a_state_reads_back_as_written_one_revision_on_with_the_newest_transitions() {
        let state = UserState {
            last: PointOrder {
                at_ms: 1_714_561_200_000,
                tiebreak: "01HX/00002".into(),
            },
            inside: vec![Inside {
                geofence_id: "g1".into(),
                since_ms: 1_714_561_100_000,
                dwelled: true,
            }],
        };
        let all: Vec<Fired> = (0..MAX_FIRED + 3).map(fired).collect();
        let plausible = Fix {
            at_ms: 1_714_561_100_000,
            latitude: 40.7484,
            longitude: -73.9857,
        };
        let last = Fix {
            latitude: 34.0,
            ..plausible
        };
        let row = Stored::to_row("u1", &state, (Some(&plausible), Some(&last)), &all, Some(7));
        assert_eq!((row.pk.as_str(), row.sk.as_str()), ("USER#u1", STATE_SK));
        let mut item = row.attrs.clone();
        item.insert("pk".into(), json!(row.pk));
        let back = Stored::from_item(&item);
        assert_eq!(back.revision, Some(8));
        assert_eq!(back.state, Some(state));
        assert_eq!(back.fired, all[3..].to_vec(), "the oldest are dropped");
        assert_eq!(back.plausible, Some(plausible));
        assert_eq!(back.last_fix, Some(last));
    }

    #[test]
    fn long_geofence_texts_keep_the_item_small() {
        let state = UserState {
            last: PointOrder {
                at_ms: 0,
                tiebreak: "01HX/00000".into(),
            },
            inside: vec![],
        };
        let long: Vec<Fired> = (0..MAX_FIRED)
            .map(|n| Fired {
                geofence_description: Some("d".repeat(1024)),
                geofence_tag: Some("t".repeat(1024)),
                ..fired(n)
            })
            .collect();
        let row = Stored::to_row("u1", &state, (None, None), &long, None);
        let size = serde_json::to_vec(&row.attrs).unwrap().len();
        assert!(size < MAX_FIRED_BYTES + 4096, "{size} bytes");
        let kept = row.attrs["fired"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < MAX_FIRED);
        assert_eq!(
            kept.last().unwrap()["point"],
            json!(long.last().unwrap().point)
        );
    }

    #[test]
    fn an_item_it_cannot_read_is_no_state_at_its_revision() {
        let item: Item = serde_json::from_value(json!({"revision": 3, "inside": "?"})).unwrap();
        assert_eq!(
            Stored::from_item(&item),
            Stored {
                state: None,
                fired: vec![],
                revision: Some(3),
                plausible: None,
                last_fix: None,
            }
        );
    }
}
