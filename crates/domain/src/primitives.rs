//! Small value types shared by the parsers. Each one validates while it deserialises, so serde
//! (through `serde_path_to_error`) reports the exact field path of a bad value.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::error::ParseError;

/// Parses bytes as JSON and requires an object at the top.
pub(crate) fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::new("", "empty body: expected a JSON object"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ParseError::new(
            "",
            format!("expected a JSON object, got {}", kind_of(&other)),
        )),
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
        .map_err(|e| ParseError::new("", format!("invalid JSON: {e}")))?;
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

enum TopLevel<'a> {
    Object(Vec<Cow<'a, str>>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key<'a>(Cow<'a, str>);
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

        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut keys = Vec::new();
                while let Some(Key(k)) = m.next_key()? {
                    m.next_value::<de::IgnoredAny>()?;
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

/// A point in time, from an RFC 3339 string, held in UTC.
///
/// Its canonical text form has exactly millisecond precision and a `Z` suffix
/// (`2024-05-01T12:00:00.000Z`), so keys built from it sort in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const CANONICAL: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

impl Timestamp {
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Timestamp(t.to_offset(UtcOffset::UTC)))
            .map_err(|e| format!("expected an RFC 3339 timestamp, got {s:?} ({e})"))
    }

    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        Timestamp(t.to_offset(UtcOffset::UTC))
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// `2024-05-01T12:00:00.000Z`
    pub fn canonical(&self) -> String {
        // Written out by hand: it is on every row key, and a format description costs several
        // times more. Years outside 0..=9999 (which RFC 3339 cannot express) go the long way.
        let t = self.0;
        if !(0..=9999).contains(&t.year()) {
            return t
                .format(CANONICAL)
                .unwrap_or_else(|_| t.unix_timestamp().to_string());
        }
        let mut out = String::with_capacity(24);
        let two = |out: &mut String, n: u8| {
            out.push(char::from(b'0' + n / 10));
            out.push(char::from(b'0' + n % 10));
        };
        let year = t.year() as u16;
        two(&mut out, (year / 100) as u8);
        two(&mut out, (year % 100) as u8);
        out.push('-');
        two(&mut out, u8::from(t.month()));
        out.push('-');
        two(&mut out, t.day());
        out.push('T');
        two(&mut out, t.hour());
        out.push(':');
        two(&mut out, t.minute());
        out.push(':');
        two(&mut out, t.second());
        out.push('.');
        let ms = t.millisecond();
        out.push(char::from(b'0' + (ms / 100) as u8));
        two(&mut out, (ms % 100) as u8);
        out.push('Z');
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(de::Error::custom)
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
            "{name} must be within [-{limit}, {limit}], got {v}"
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
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// An identifier: a non-empty string, or an integer (CleverTap sends numeric ids), kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-empty string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                if v.trim().is_empty() {
                    Err(E::custom("must not be empty"))
                } else if v.chars().any(char::is_control) {
                    Err(E::custom("must not contain control characters"))
                } else {
                    Ok(Id(v.to_owned()))
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
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
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

    #[test]
    fn the_canonical_form_matches_its_format_description_everywhere() {
        let mut t = OffsetDateTime::from_unix_timestamp(-62_000_000_000).unwrap();
        // From year 0005 to about 2286, in irregular steps that hit every field's range.
        while t.year() < 2286 {
            let ts = Timestamp::from_offset_date_time(t);
            assert_eq!(ts.canonical(), t.format(CANONICAL).unwrap());
            t += time::Duration::milliseconds(7_777_777_777);
        }
        let ts = Timestamp::parse_rfc3339("2024-05-01T12:10:00.0459+02:00").unwrap();
        assert_eq!(ts.canonical(), "2024-05-01T10:10:00.045Z");
    }
    use serde_json::json;

    #[test]
    fn timestamps_are_canonical_utc_with_millis() {
        let t = Timestamp::parse_rfc3339("2024-05-01T14:00:00.5+02:00").unwrap();
        assert_eq!(t.canonical(), "2024-05-01T12:00:00.500Z");
        let t = Timestamp::parse_rfc3339("2019-10-22T17:03:38.612Z").unwrap();
        assert_eq!(t.canonical(), "2019-10-22T17:03:38.612Z");
        assert!(Timestamp::parse_rfc3339("2024-05-01 12:00:00").is_err());
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

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
