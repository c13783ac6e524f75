//! One read of a campaign body, straight from its bytes into [`RawTop`] and [`RawProfile`]s: no
//! `serde_json` tree for the top level or the profiles (the free-form maps stay trees).
//!
//! Structural keys are matched without regard to case, as `canonicalize_keys` matches them.
//! Anything this reader is not sure to read as the tree-based reader (`oracle`) reads it gives
//! up (`None`), and the caller reads the body with the oracle instead: invalid JSON, a body
//! nested too deep, a value of the wrong kind, a structural key sent twice (in any casings: the
//! oracle decides which one wins). So every refusal keeps its words and path, and a body this
//! reader accepts gives what the oracle gives (`stream_tests` holds the two to it).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{RawProfile, RawTop, PROFILE_KEYS, TOP_LEVEL_KEYS};
use crate::depth::{too_deep, Skip, Tree};
use crate::primitives::{Id, Key};

/// A campaign body as read: its top-level fields and its profiles, in order.
pub(super) struct Read {
    pub top: RawTop,
    pub profiles: Vec<RawProfile>,
    /// `profiles` was one object, not an array.
    pub single: bool,
}

/// Reads `body` in one pass; `None` when the oracle must read it (see the module's words).
pub(super) fn read(body: &[u8]) -> Option<Read> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let read = (&mut de).deserialize_map(TopVisitor).ok()?;
    de.end().ok()?;
    Some(read)
}

/// Why this reader gave up; never shown (the oracle gives the refusal).
fn give_up<E: de::Error>() -> E {
    E::custom("read by the oracle")
}

/// Which structural key `key` spells, in any casing.
fn structural(canonical: &[&str], key: &str) -> Option<usize> {
    canonical.iter().position(|c| c.eq_ignore_ascii_case(key))
}

/// Marks field `i` as seen; a second sighting (in any casing) gives up.
fn first_sighting<E: de::Error>(seen: &mut u16, i: usize) -> Result<(), E> {
    let bit = 1u16 << i;
    if *seen & bit != 0 {
        return Err(give_up());
    }
    *seen |= bit;
    Ok(())
}

/// A value at nesting `level` read as a depth-bounded tree: `None` for null, as serde's
/// `Option` reads it.
fn any_value<'de, A: MapAccess<'de>>(m: &mut A, level: usize) -> Result<Option<Value>, A::Error> {
    Ok(match m.next_value_seed(Tree { level })? {
        Value::Null => None,
        v => Some(v),
    })
}

/// A free-form map at nesting `level`: an object, or null for none.
fn object<'de, A: MapAccess<'de>>(
    m: &mut A,
    level: usize,
) -> Result<Option<Map<String, Value>>, A::Error> {
    match any_value(m, level)? {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(give_up()),
    }
}

/// The body's own object (nesting level 1).
struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Read;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a campaign object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Read, A::Error> {
        const LEVEL: usize = 2; // of the top-level values
        let (mut target_id, mut key_values, mut is_test) = (None, None, None);
        let mut profiles = None;
        let mut seen = 0u16;
        while let Some(Key(k)) = m.next_key()? {
            let Some(i) = structural(TOP_LEVEL_KEYS, &k) else {
                m.next_value_seed(Skip { level: LEVEL })?;
                continue;
            };
            first_sighting(&mut seen, i)?;
            match TOP_LEVEL_KEYS[i] {
                "targetId" => target_id = m.next_value::<Option<Id>>()?,
                "key_values" => key_values = object(&mut m, LEVEL)?,
                "is_test" => is_test = m.next_value::<Option<bool>>()?,
                _ => profiles = Some(m.next_value_seed(Profiles)?),
            }
        }
        let (Some(target_id), Some((profiles, single))) = (target_id, profiles) else {
            return Err(give_up());
        };
        Ok(Read {
            top: RawTop {
                target_id,
                key_values,
                is_test,
            },
            profiles,
            single,
        })
    }
}

/// `profiles`: an array of profile objects, or one profile object (nesting level 2).
struct Profiles;

impl<'de> DeserializeSeed<'de> for Profiles {
    type Value = (Vec<RawProfile>, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Profiles {
    type Value = (Vec<RawProfile>, bool);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array or an object")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        too_deep(2)?;
        let mut profiles = Vec::with_capacity(s.size_hint().unwrap_or(0).min(64));
        while let Some(p) = s.next_element_seed(Profile { level: 3 })? {
            profiles.push(p);
        }
        Ok((profiles, false))
    }
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
        Profile { level: 2 }.visit_map(m).map(|p| (vec![p], true))
    }
}

/// One profile object, at nesting `level`.
struct Profile {
    level: usize,
}

impl<'de> DeserializeSeed<'de> for Profile {
    type Value = RawProfile;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawProfile, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Profile {
    type Value = RawProfile;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a profile object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawProfile, A::Error> {
        too_deep(self.level)?;
        let inner = self.level + 1;
        let mut p = RawProfile::default();
        let mut seen = 0u16;
        while let Some(Key(k)) = m.next_key()? {
            let Some(i) = structural(PROFILE_KEYS, &k) else {
                m.next_value_seed(Skip { level: inner })?;
                continue;
            };
            first_sighting(&mut seen, i)?;
            match PROFILE_KEYS[i] {
                "objectId" => p.object_id = m.next_value()?,
                "identity" => p.identity = m.next_value()?,
                "email" => p.email = m.next_value()?,
                "name" => p.name = m.next_value()?,
                "phone" => p.phone = m.next_value()?,
                "push_token" => p.push_token = m.next_value()?,
                "profileData" => p.profile_data = object(&mut m, inner)?,
                "key_values" => p.key_values = object(&mut m, inner)?,
                "event_properties" => p.event_properties = object(&mut m, inner)?,
                _ => p.all_identities = any_value(&mut m, inner)?,
            }
        }
        Ok(p)
    }
}
