//! Small value types shared by the parsers. Each one validates while it deserialises, so serde
//! (through `serde_path_to_error`) reports the exact field path of a bad value.

use std::borrow::Cow;
use std::fmt;

use crate::depth::{is_locatable, locate, BoundedBody, Skip};
use crate::error::ParseError;
use crate::limits::{dynamodb_f64_fits, MAX_ID_BYTES, MAX_TEXT_BYTES, MAX_USER_ID_CHARS};
pub(crate) use crate::timestamp::{Timestamp, TIME_OUT_OF_RANGE};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Parses bytes as JSON and requires an object at the top, nested at most
/// [`crate::limits::MAX_NESTING_DEPTH`] levels deep.
pub(crate) fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::new("", "empty body: expected a JSON object"));
    }
    match serde_json::from_slice::<BoundedBody>(body) {
        Ok(BoundedBody(Value::Object(map))) => Ok(map),
        Ok(BoundedBody(other)) => Err(ParseError::new(
            "",
            format!("expected a JSON object, got {}", kind_of(&other)),
        )),
        Err(e) if is_locatable(&e) => Err(locate::<BoundedBody>(body)),
        Err(e) => Err(ParseError::new("", format!("invalid JSON: {e}"))),
    }
}

/// The top-level keys of a JSON object body, read in one pass that checks the whole body is
/// valid JSON without building its values. Refuses what [`parse_json_object`] refuses, with the
/// same messages. Keys are borrowed from the body unless they hold escapes.
pub(crate) fn object_keys(body: &[u8]) -> Result<Vec<Cow<'_, str>>, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::new("", "empty body: expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = TopLevel::deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top))
        .map_err(|e| {
            if is_locatable(&e) {
                locate::<TopLevel>(body)
            } else {
                ParseError::new("", format!("invalid JSON: {e}"))
            }
        })?;
    match top {
        TopLevel::Object(keys) => Ok(keys),
        TopLevel::Other(kind) => Err(ParseError::new(
            "",
            format!("expected a JSON object, got {kind}"),
        )),
    }
}

/// Deserialises a whole body as `T` straight from its bytes (no intermediate [`Value`]),
/// reporting errors as pointers into the body.
///
/// Tracking the path costs an allocation per key visited, so a body is read without it first;
/// only a body that fails is read again, with it, to name the field at fault.
pub(crate) fn from_body<T: de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    if let Ok(t) = serde_json::from_slice(body) {
        return Ok(t);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let t = serde_path_to_error::deserialize(&mut de).map_err(|e| ParseError::from_serde("", e))?;
    de.end()
        .map_err(|e| ParseError::new("", format!("invalid JSON: {e}")))?;
    Ok(t)
}

/// A JSON object's key, borrowed from the body unless it holds escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

enum TopLevel<'a> {
    Object(Vec<Cow<'a, str>>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut keys = Vec::new();
                while let Some(Key(k)) = m.next_key()? {
                    m.next_value_seed(Skip { level: 2 })?;
                    keys.push(k);
                }
                Ok(TopLevel::Object(keys))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(TopLevel::Other("an array"))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(TopLevel::Other("null"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(TopLevel::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(TopLevel::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(TopLevel::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(TopLevel::Other("a number"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(TopLevel::Other("a string"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserialises `value` as `T`, reporting errors as pointers below `base`.
///
/// As in [`from_body`], the path is only tracked when the value fails.
pub(crate) fn from_value<T: de::DeserializeOwned>(
    base: &str,
    value: Value,
) -> Result<T, ParseError> {
    if let Ok(t) = T::deserialize(&value) {
        return Ok(t);
    }
    serde_path_to_error::deserialize(value).map_err(|e| ParseError::from_serde(base, e))
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A latitude or longitude in degrees: a JSON number or a numeric string (some platforms send
/// `"36.92"`), finite and within range.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Coordinate(f64);

impl Coordinate {
    pub fn value(self) -> f64 {
        self.0
    }
}

fn coordinate<'de, D: Deserializer<'de>>(
    d: D,
    name: &str,
    limit: f64,
) -> Result<Coordinate, D::Error> {
    let v = d.deserialize_any(LooseNumber)?;
    if !v.is_finite() || v < -limit || v > limit {
        return Err(de::Error::custom(format!(
            "{name} must be within [-{limit}, {limit}]"
        )));
    }
    if !dynamodb_f64_fits(v) {
        return Err(de::Error::custom(format!(
            "{name} must be 0 or at least 1E-130 in magnitude (DynamoDB's number range)"
        )));
    }
    Ok(Coordinate(v))
}

/// A latitude, within [-90, 90].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Latitude(pub Coordinate);
/// A longitude, within [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Longitude(pub Coordinate);

impl<'de> Deserialize<'de> for Latitude {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        coordinate(d, "latitude", 90.0).map(Latitude)
    }
}

impl<'de> Deserialize<'de> for Longitude {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        coordinate(d, "longitude", 180.0).map(Longitude)
    }
}

struct LooseNumber;

impl Visitor<'_> for LooseNumber {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a numeric string")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| E::invalid_value(de::Unexpected::Other("a non-numeric string"), &self))
    }
}

/// An identifier: a non-empty string, or an integer (CleverTap sends numeric ids), kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Id(pub String);

/// How an id over [`MAX_ID_BYTES`] is refused.
const ID_TOO_LONG: &str = "must be at most 988 bytes long (ids go into table keys)";
const _: () = assert!(MAX_ID_BYTES == 988, "update ID_TOO_LONG's words");

impl Id {
    /// Why `v` is refused as an id, in the refusal's words; `None` when it is an id.
    pub(crate) fn refusal(v: &str) -> Option<&'static str> {
        if v.trim().is_empty() {
            Some("must not be empty")
        } else if v.len() > MAX_ID_BYTES {
            Some(ID_TOO_LONG)
        } else if v.chars().any(char::is_control) {
            Some("must not contain control characters")
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-empty string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                match Id::refusal(v) {
                    Some(why) => Err(E::custom(why)),
                    None => Ok(Id(v.to_owned())),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The id of a location user: an [`Id`] of at most [`MAX_USER_ID_CHARS`] characters, as it is the
/// geofence stream's Kinesis partition key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserId(pub String);

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Id(id) = Id::deserialize(d)?;
        if id.chars().count() > MAX_USER_ID_CHARS {
            return Err(de::Error::custom(format_args!(
                "must be at most {MAX_USER_ID_CHARS} characters long (the geofence stream's \
                 partition key)"
            )));
        }
        Ok(UserId(id))
    }
}

/// A free-text string of at most [`MAX_TEXT_BYTES`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() > MAX_TEXT_BYTES {
            return Err(de::Error::custom(format_args!(
                "must be at most {MAX_TEXT_BYTES} bytes long"
            )));
        }
        Ok(Text(s))
    }
}

/// A JSON number that DynamoDB can store as a number (see `limits`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StoredNumber(pub f64);

impl<'de> Deserialize<'de> for StoredNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !dynamodb_f64_fits(v) {
            return Err(de::Error::custom(
                "out of DynamoDB's number range: must be 0 or within 1E-130..9.99E+125 in magnitude",
            ));
        }
        Ok(StoredNumber(v))
    }
}

/// A boolean that some platforms send as a string (`"TRUE"`, `"false"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean or \"true\"/\"false\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                if v.eq_ignore_ascii_case("true") {
                    Ok(Flag(true))
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(Flag(false))
                } else {
                    Err(E::invalid_value(
                        de::Unexpected::Other("another string"),
                        &self,
                    ))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Renames the keys of `map` that match one of `canonical` case-insensitively to the canonical
/// spelling. CleverTap's documented samples disagree on casing (`objectId`/`ObjectId`,
/// `profileData`/`ProfileData`), so structural keys are matched without regard to case; keys
/// that are not structural (the marketer's own key-values) are left exactly as sent. When two
/// keys fold to the same canonical name, the one that sorts first (byte order) wins, so the
/// outcome does not depend on the order the sender wrote them in.
pub(crate) fn canonicalize_keys(map: Map<String, Value>, canonical: &[&str]) -> Map<String, Value> {
    // Structural keys all spelled canonically (the usual case): the loop would rebuild `map`.
    let folds = |k: &String| {
        canonical
            .iter()
            .any(|c| c.len() == k.len() && *c != k && c.eq_ignore_ascii_case(k))
    };
    if !map.keys().any(folds) {
        return map;
    }
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        match canonical.iter().find(|c| c.eq_ignore_ascii_case(&k)) {
            Some(c) => {
                if !out.contains_key(*c) {
                    out.insert((*c).to_owned(), v);
                }
            }
            None => {
                out.insert(k, v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn coordinates_accept_numbers_and_numeric_strings_within_range() {
        let lat: Latitude = serde_json::from_value(json!("36.92")).unwrap();
        assert_eq!(lat.0.value(), 36.92);
        let lng: Longitude = serde_json::from_value(json!(-180)).unwrap();
        assert_eq!(lng.0.value(), -180.0);
        let err = serde_json::from_value::<Latitude>(json!(90.0001)).unwrap_err();
        assert!(
            err.to_string()
                .contains("latitude must be within [-90, 90]"),
            "{err}"
        );
        assert!(serde_json::from_value::<Longitude>(json!("NaN")).is_err());
        assert!(serde_json::from_value::<Longitude>(json!("inf")).is_err());
        assert!(serde_json::from_value::<Longitude>(json!(true)).is_err());
    }

    #[test]
    fn ids_and_flags_are_lenient_only_where_platforms_differ() {
        assert_eq!(
            serde_json::from_value::<Id>(json!(1690283492)).unwrap().0,
            "1690283492"
        );
        assert!(serde_json::from_value::<Id>(json!("")).is_err());
        assert!(serde_json::from_value::<Id>(json!("a\u{0}b")).is_err());
        assert!(serde_json::from_value::<Id>(json!(1.5)).is_err());
        assert!(serde_json::from_value::<Flag>(json!("TRUE")).unwrap().0);
        assert!(!serde_json::from_value::<Flag>(json!(false)).unwrap().0);
        assert!(serde_json::from_value::<Flag>(json!("yes")).is_err());
    }

    #[test]
    fn structural_keys_fold_case_and_others_stay() {
        let m = json!({"ObjectId": "a", "objectid": "b", "My Key": 1})
            .as_object()
            .cloned()
            .unwrap();
        let out = canonicalize_keys(m, &["objectId"]);
        assert_eq!(out.get("objectId"), Some(&json!("a")));
        assert_eq!(out.get("My Key"), Some(&json!(1)));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn non_objects_and_empty_bodies_are_refused_at_the_root() {
        assert_eq!(parse_json_object(b" ").unwrap_err().path, "");
        assert!(parse_json_object(b"[1]")
            .unwrap_err()
            .message
            .contains("an array"));
        assert!(parse_json_object(b"{")
            .unwrap_err()
            .message
            .starts_with("invalid JSON"));
    }

    #[test]
    fn object_keys_refuse_what_parse_json_object_refuses_with_the_same_words() {
        for body in [
            &b" "[..],
            b"[1]",
            b"{",
            b"null",
            b"12",
            b"\"s\"",
            b"true",
            b"{} x",
            b"{\"a\":1,}",
            b"{\"a\": [1, 2}",
        ] {
            let whole = parse_json_object(body).unwrap_err();
            let keys = object_keys(body).unwrap_err();
            assert_eq!(keys.path, whole.path, "{}", String::from_utf8_lossy(body));
            // serde_json names the position where it stopped; both must say the same kind.
            let cut = |m: &str| m.split(" at line ").next().unwrap_or("").to_owned();
            assert_eq!(
                cut(&keys.message),
                cut(&whole.message),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let keys = object_keys(br#"{"a": {"x": [1]}, "b\u0041": null, "c": "d"}"#).unwrap();
        assert_eq!(keys, ["a", "bA", "c"]);
    }
}
