//! The CleverTap parser's tests: fields, casings, refusals; `RawProfile::take` against serde.

use super::*;
use crate::primitives::{canonicalize_keys, from_value};
use crate::{parse_webhook, Source, Webhook};
use serde_json::json;

fn parse_json(v: Value) -> Result<CampaignWebhook, ParseError> {
    match parse_webhook(Source::ClevertapWebhook, v.to_string().as_bytes())? {
        Webhook::Campaign(c) => Ok(c),
        other => panic!("wrong variant {other:?}"),
    }
}

fn err_path(v: Value) -> String {
    parse_json(v).unwrap_err().path
}

#[test]
fn broadcast_array_with_lowercase_keys() {
    let c = parse_json(json!({
        "targetId": 1700000001,
        "key_values": {"coupon": "SAVE10", "discount": 10},
        "profiles": [
            {"objectId": "a1", "email": "a@example.com", "profileData": {"plan": "gold", "ts": 1700000000000u64}},
            {"identity": "user-2", "name": "Bea"}
        ]
    }))
    .unwrap();
    assert_eq!(c.target_id, "1700000001");
    assert_eq!(c.key_values["discount"], json!(10));
    assert_eq!(c.profiles.len(), 2);
    assert_eq!(c.profiles[0].key, ProfileKey::ObjectId("a1".into()));
    assert_eq!(c.profiles[0].profile_data["plan"], json!("gold"));
    assert_eq!(c.profiles[1].key, ProfileKey::Identity("user-2".into()));
    assert!(!c.is_test);
}

#[test]
fn single_object_profile_with_capitalised_keys() {
    let c = parse_json(json!({
        "TargetId": "1700000002",
        "Key_Values": {"Offer": "X"},
        "Profiles": {"ObjectId": "b2", "Identity": 42, "Email": "b@example.com",
                     "ProfileData": {"City": "Pune"}, "Event_properties": {"sku": "s-1"},
                     "Push_token": "tok"}
    }))
    .unwrap();
    assert_eq!(c.target_id, "1700000002");
    assert_eq!(
        c.key_values["Offer"],
        json!("X"),
        "key-value names keep their case"
    );
    let p = &c.profiles[0];
    assert_eq!(p.key, ProfileKey::ObjectId("b2".into()));
    assert_eq!(p.identity.as_deref(), Some("42"));
    assert_eq!(p.email.as_deref(), Some("b@example.com"));
    assert_eq!(p.profile_data["City"], json!("Pune"));
    assert_eq!(p.event_properties.as_ref().unwrap()["sku"], json!("s-1"));
    assert_eq!(p.push_token.as_deref(), Some("tok"));
}

#[test]
fn unknown_fields_are_tolerated() {
    let c = parse_json(json!({
        "targetId": 1, "profiles": [{"objectId": "x", "systemProfileData": {"a": 1}, "new_thing": [1]}],
        "session_props": {}, "something_else": true
    }))
    .unwrap();
    assert_eq!(c.profiles.len(), 1);
}

#[test]
fn test_calls_are_flagged() {
    let c = parse_json(json!({"targetId": 1, "is_test": true, "profiles": []})).unwrap();
    assert!(c.is_test);
    assert!(crate::is_clevertap_test_call(br#"{"IS_TEST": true}"#));
    assert!(!crate::is_clevertap_test_call(br#"{"is_test": "true"}"#));
    assert!(!crate::is_clevertap_test_call(b"not json"));
}

#[test]
fn field_paths_name_the_offending_field() {
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": [{"objectId": "a"}, {"email": "x"}]})),
        "/profiles/1/objectId"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": [{"objectId": 5.5}]})),
        "/profiles/0/objectId"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": [{"objectId": ""}]})),
        "/profiles/0/objectId"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": {"identity": "i", "profileData": []}})),
        "/profiles/profileData"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": [{"identity": "i", "email": 3}]})),
        "/profiles/0/email"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": "nope"})),
        "/profiles"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "profiles": [7]})),
        "/profiles/0"
    );
    assert_eq!(err_path(json!({"targetId": 1})), "/profiles");
    assert_eq!(err_path(json!({"profiles": []})), "/targetId");
    assert_eq!(
        err_path(json!({"targetId": {"a": 1}, "profiles": []})),
        "/targetId"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "key_values": [1], "profiles": []})),
        "/key_values"
    );
    assert_eq!(
        err_path(json!({"targetId": 1, "is_test": "yes", "profiles": []})),
        "/is_test"
    );
}

#[test]
fn missing_fields_say_so() {
    let e = parse_json(json!({"profiles": []})).unwrap_err();
    assert_eq!(e.message, "missing required field");
}

mod fast_path {
    //! `RawProfile::take` (and `canonicalize_keys`' early return) against serde.

    use super::*;
    use crate::limits::{MAX_ID_BYTES, MAX_TEXT_BYTES};
    use proptest::prelude::*;

    /// Structural keys in several casings, and keys that are not structural.
    fn key() -> impl Strategy<Value = String> {
        let spelled =
            (prop::sample::select(PROFILE_KEYS), 0..4u8).prop_map(|(k, case)| match case {
                0 | 1 => k.to_owned(),
                2 => k.to_uppercase(),
                _ => k.to_lowercase(),
            });
        prop_oneof![4 => spelled, 1 => "[a-zA-Z_]{1,10}"]
    }

    /// Values of every kind, with strings at the edges of the id and text bounds.
    fn value() -> impl Strategy<Value = Value> {
        let string = prop_oneof![
            "[a-z0-9@. -]{0,12}".prop_map(Value::String),
            Just(Value::String(" ".into())),
            Just(Value::String("a\u{1}b".into())),
            Just(Value::String("i".repeat(MAX_ID_BYTES))),
            Just(Value::String("i".repeat(MAX_ID_BYTES + 1))),
            Just(Value::String("t".repeat(MAX_TEXT_BYTES))),
            Just(Value::String("t".repeat(MAX_TEXT_BYTES + 1))),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6..1e6f64).prop_map(Value::from),
            string,
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn profile() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((key(), value()), 0..8).prop_map(|kv| kv.into_iter().collect())
    }

    /// What `canonicalize_keys` does, without its early return.
    fn canonicalized_by_the_loop(map: Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in map {
            match PROFILE_KEYS.iter().find(|c| c.eq_ignore_ascii_case(&k)) {
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

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2_000, failure_persistence: None, ..ProptestConfig::default()
        })]

        #[test]
        fn taking_a_profile_gives_what_deserialising_it_gives(map in profile()) {
            let map = canonicalize_keys(map, PROFILE_KEYS);
            let slow = from_value::<RawProfile>("", Value::Object(map.clone()));
            match RawProfile::take(map.clone()) {
                Ok(fast) => prop_assert_eq!(Ok(fast), slow),
                Err(back) => {
                    prop_assert_eq!(back, map);
                    prop_assert!(slow.is_err(), "refused what serde accepts: {:?}", slow);
                }
            }
        }

        #[test]
        fn canonical_keys_are_those_the_loop_gives(map in profile()) {
            prop_assert_eq!(
                canonicalize_keys(map.clone(), PROFILE_KEYS),
                canonicalized_by_the_loop(map)
            );
        }
    }
}
