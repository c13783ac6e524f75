//! Reading JSON with a bound on nesting ([`MAX_NESTING_DEPTH`]), checked while the body is read
//! for another purpose (its top-level keys, or the tree a CleverTap body becomes), so the bound
//! costs no extra pass. A body nested too deep is refused naming the container that crossed the
//! bound; the path is only tracked when a body fails (as in `primitives::from_body`).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::ParseError;
use crate::limits::MAX_NESTING_DEPTH;

/// The words of the refusal; also how a depth error is told from a syntax error.
pub(crate) const TOO_DEEP: &str = "nested too deep: at most 32 levels of objects and arrays \
                                   (DynamoDB's limit for stored maps and lists)";

const _: () = assert!(MAX_NESTING_DEPTH == 32, "update TOO_DEEP's words");

pub(crate) fn too_deep<E: de::Error>(level: usize) -> Result<(), E> {
    if level > MAX_NESTING_DEPTH {
        Err(E::custom(TOO_DEEP))
    } else {
        Ok(())
    }
}

/// True when `e` is worth reading the body again to name the field at fault: the refusal of
/// [`too_deep`], or a number too large for the reader (`1e400`), which is valid JSON but no
/// store could take.
pub(crate) fn is_locatable(e: &serde_json::Error) -> bool {
    let text = e.to_string();
    (e.is_data() && text.starts_with(TOO_DEEP)) || text.starts_with("number out of range")
}

/// Reads a body again as `T`, tracking the path, to name the field where reading it failed.
pub(crate) fn locate<'de, T: de::Deserialize<'de>>(body: &'de [u8]) -> ParseError {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => ParseError::from_serde("", e),
        Ok(_) => ParseError::new("", TOO_DEEP),
    }
}

/// Skips one value at nesting `level` (the body's own object is level 1), refusing containers
/// deeper than [`MAX_NESTING_DEPTH`].
#[derive(Clone, Copy)]
pub(crate) struct Skip {
    pub level: usize,
}

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        too_deep(self.level)?;
        let inner = Skip {
            level: self.level + 1,
        };
        while m.next_key::<IgnoredAny>()?.is_some() {
            m.next_value_seed(inner)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        too_deep(self.level)?;
        let inner = Skip {
            level: self.level + 1,
        };
        while s.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// Builds a [`Value`] at nesting `level`, refusing containers deeper than [`MAX_NESTING_DEPTH`]
/// (serde_json's own limit, 128, is never reached). Repeated keys keep the last value, as
/// serde_json's `Value` does.
#[derive(Clone, Copy)]
pub(crate) struct Tree {
    pub level: usize,
}

impl<'de> DeserializeSeed<'de> for Tree {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        too_deep(self.level)?;
        let inner = Tree {
            level: self.level + 1,
        };
        let mut map = Map::new();
        while let Some(k) = m.next_key::<String>()? {
            let v = m.next_value_seed(inner)?;
            map.insert(k, v);
        }
        Ok(Value::Object(map))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        too_deep(self.level)?;
        let inner = Tree {
            level: self.level + 1,
        };
        let mut items = Vec::with_capacity(s.size_hint().unwrap_or(0).min(64));
        while let Some(v) = s.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
}

/// A whole body read as a depth-bounded [`Tree`] (what [`locate`] re-reads with a path).
pub(crate) struct BoundedBody(pub Value);

impl<'de> de::Deserialize<'de> for BoundedBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Tree { level: 1 }.deserialize(d).map(BoundedBody)
    }
}
