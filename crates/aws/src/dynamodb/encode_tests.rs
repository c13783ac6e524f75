//! The encoder against [`super::super::row_into_item`] as the oracle: its bytes, read back as the
//! SDK's `AttributeValue`s by a small reader of DynamoDB JSON, are the item the SDK would send.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::types::AttributeValue;
use hookloop_domain::Row;
use proptest::prelude::*;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{json, Map, Value};

use super::encode_row;
use crate::dynamodb::{canonical_number, row_into_item, Item};

/// A JSON object's members in order, duplicates kept (a `Map` would hide a repeated key).
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Members, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = m.next_entry()? {
                    v.push(e);
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// DynamoDB JSON (one `{"<type>": value}` object) to the SDK's value.
fn wire_to_attribute_value(v: &Value) -> AttributeValue {
    let Some(o) = v.as_object().filter(|o| o.len() == 1) else {
        panic!("not a single-type attribute value: {v}");
    };
    match o.iter().next() {
        Some((t, Value::String(s))) if t == "S" => AttributeValue::S(s.clone()),
        Some((t, Value::String(n))) if t == "N" => AttributeValue::N(n.clone()),
        Some((t, Value::Bool(b))) if t == "BOOL" => AttributeValue::Bool(*b),
        Some((t, Value::Bool(true))) if t == "NULL" => AttributeValue::Null(true),
        Some((t, Value::Array(l))) if t == "L" => {
            AttributeValue::L(l.iter().map(wire_to_attribute_value).collect())
        }
        Some((t, Value::Object(m))) if t == "M" => AttributeValue::M(
            m.iter()
                .map(|(k, v)| (k.clone(), wire_to_attribute_value(v)))
                .collect(),
        ),
        _ => panic!("unexpected attribute value: {v}"),
    }
}

/// The encoded item read back, failing on a repeated attribute name.
fn decode(bytes: &[u8]) -> Item {
    let members: Members = match serde_json::from_slice(bytes) {
        Ok(m) => m,
        Err(e) => panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)),
    };
    let mut item = HashMap::new();
    for (k, v) in members.0 {
        let av = wire_to_attribute_value(&v);
        assert!(item.insert(k.clone(), av).is_none(), "{k} written twice");
    }
    item
}

fn row(pk: &str, sk: &str, attrs: Value) -> Row {
    Row {
        pk: pk.into(),
        sk: sk.into(),
        attrs: attrs.as_object().cloned().unwrap_or_default(),
    }
}

fn assert_like_oracle(r: &Row) {
    assert_eq!(decode(&encode_row(r)), row_into_item(r.clone()), "{r:?}");
}

#[test]
fn every_value_type_is_written_as_the_sdk_item_holds_it() {
    let r = row(
        "USER#ü\"\\",
        "sk\u{0}\u{1f}\n\t\r\u{8}\u{c}\u{7f}",
        json!({
            "n": 36.92, "i": -7, "u": u64::MAX, "f": 12.0, "neg0": -0.0, "big": 1e300,
            "tiny": 5e-324, "s": "x", "e": "", "b": true, "nb": false, "z": null,
            "l": [1, "a", [], {}, null], "m": {"k": {"d": 2, "q\"": "😀 日本"}},
            "ctl\u{1}": "\u{0}\u{1}\u{1e}\u{2028}",
        }),
    );
    assert_like_oracle(&r);
}

#[test]
fn keys_win_over_attributes_of_the_same_name() {
    let r = row("P", "S", json!({"pk": "other", "sk": 1, "a": 1}));
    assert_like_oracle(&r);
}

#[test]
fn the_canonical_number_text_is_shared() {
    for v in [
        json!(12.0),
        json!(-0.5),
        json!(1e300),
        json!(u64::MAX),
        json!(i64::MIN),
    ] {
        let Value::Number(n) = &v else { continue };
        let mut s = String::new();
        super::write_canonical_number(n, &mut s);
        assert_eq!(s, canonical_number(n));
    }
}

#[test]
fn control_characters_get_their_json_escapes() {
    let mut out = Vec::new();
    super::write_str("a\"\\\n\u{0}\u{1b}é", &mut out);
    assert_eq!(out, r#""a\"\\\n\u0000\u001bé""#.as_bytes());
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1_000_000_000i64..1_000_000_000).prop_map(|i| Value::from(i as f64)),
        (-1e20f64..1e20).prop_map(Value::from),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\\x00-\\x1f\"\\\\a-zé😀]{0,12}"]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1_000, failure_persistence: None, ..ProptestConfig::default()
    })]

    #[test]
    fn encoded_rows_are_the_items_row_into_item_builds(
        pk in text(),
        sk in text(),
        attrs in proptest::collection::btree_map(
            prop_oneof![text(), Just("pk".to_owned()), Just("sk".to_owned())],
            value(),
            0..10,
        ),
    ) {
        let r = Row { pk, sk, attrs: attrs.into_iter().collect() };
        prop_assert_eq!(decode(&encode_row(&r)), row_into_item(r.clone()));
    }
}
