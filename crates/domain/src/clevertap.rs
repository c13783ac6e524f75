//! CleverTap campaign and journey webhooks ("Profile variables & custom key value pairs").
//!
//! `{"targetId": 123, "key_values": {...}, "profiles": [ {...} ] | {...}, "is_test": false}`:
//! `profiles` is an array for broadcast sends and a single object otherwise; structural keys come
//! in any casing; unknown fields are tolerated.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{join, ParseError};
use crate::limits::MAX_TEXT_BYTES;
use crate::primitives::{canonicalize_keys, from_value, kind_of, Id, Text};
use crate::storable::{check_campaign_rows, storable_map, storable_value};

const TOP_LEVEL_KEYS: &[&str] = &["targetId", "key_values", "profiles", "is_test"];
const PROFILE_KEYS: &[&str] = &[
    "objectId",
    "identity",
    "email",
    "name",
    "phone",
    "push_token",
    "profileData",
    "key_values",
    "event_properties",
    "all_identities",
];

/// How a CleverTap profile is identified. `objectId` is CleverTap's own id for the profile and is
/// preferred: writing back with it never creates a new profile. `identity` is the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProfileKey {
    ObjectId(String),
    Identity(String),
}

impl ProfileKey {
    pub fn as_str(&self) -> &str {
        match self {
            ProfileKey::ObjectId(s) | ProfileKey::Identity(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CampaignProfile {
    pub key: ProfileKey,
    pub object_id: Option<String>,
    pub identity: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub push_token: Option<String>,
    /// `profileData`, as sent (values keep their JSON types).
    pub profile_data: Map<String, Value>,
    /// The per-profile `key_values` of newer payloads.
    pub key_values: Map<String, Value>,
    pub event_properties: Option<Map<String, Value>>,
    pub all_identities: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CampaignWebhook {
    /// The campaign or journey id (`targetId`), kept as text.
    pub target_id: String,
    pub key_values: Map<String, Value>,
    pub profiles: Vec<CampaignProfile>,
    pub is_test: bool,
}

#[derive(Deserialize)]
struct RawTop {
    #[serde(rename = "targetId")]
    target_id: Id,
    #[serde(default)]
    key_values: Option<Map<String, Value>>,
    #[serde(default)]
    is_test: Option<bool>,
}

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct RawProfile {
    #[serde(rename = "objectId", default)]
    object_id: Option<Id>,
    #[serde(default)]
    identity: Option<Id>,
    #[serde(default)]
    email: Option<Text>,
    #[serde(default)]
    name: Option<Text>,
    #[serde(default)]
    phone: Option<Id>,
    #[serde(default)]
    push_token: Option<Text>,
    #[serde(rename = "profileData", default)]
    profile_data: Option<Map<String, Value>>,
    #[serde(default)]
    key_values: Option<Map<String, Value>>,
    #[serde(default)]
    event_properties: Option<Map<String, Value>>,
    #[serde(default)]
    all_identities: Option<Value>,
}

/// `body_len` is the size of the body `top` was read from (rows are measured only for large ones).
pub(crate) fn parse(
    top: Map<String, Value>,
    body_len: usize,
) -> Result<CampaignWebhook, ParseError> {
    let mut top = canonicalize_keys(top, TOP_LEVEL_KEYS);
    let profiles_value = top
        .remove("profiles")
        .ok_or_else(|| ParseError::missing("/profiles"))?;
    let raw: RawTop = from_value("", Value::Object(top))?;

    let single = profiles_value.is_object();
    let profiles = match profiles_value {
        Value::Array(items) => {
            let mut profiles = Vec::with_capacity(items.len());
            for (i, p) in items.into_iter().enumerate() {
                profiles.push(parse_profile(At::Item(i), p)?);
            }
            profiles
        }
        obj @ Value::Object(_) => vec![parse_profile(At::Single, obj)?],
        other => {
            return Err(ParseError::new(
                "/profiles",
                format!("expected an array or an object, got {}", kind_of(&other)),
            ))
        }
    };
    webhook(raw, profiles, single, body_len)
}

/// The webhook, once its top-level fields and every profile have been read.
fn webhook(
    raw: RawTop,
    profiles: Vec<CampaignProfile>,
    single: bool,
    body_len: usize,
) -> Result<CampaignWebhook, ParseError> {
    let mut key_values = raw.key_values.unwrap_or_default();
    storable_map(|| "/key_values".to_owned(), &mut key_values)?;
    let webhook = CampaignWebhook {
        target_id: raw.target_id.0,
        key_values,
        profiles,
        is_test: raw.is_test.unwrap_or(false),
    };
    check_campaign_rows(&webhook, body_len, single)?;
    Ok(webhook)
}

/// Where a profile is: its pointer is only written out when it is refused.
#[derive(Clone, Copy)]
enum At {
    /// `profiles` was one object.
    Single,
    /// `profiles` was an array.
    Item(usize),
}

impl At {
    fn path(self) -> String {
        match self {
            At::Single => "/profiles".to_owned(),
            At::Item(i) => join("/profiles", i),
        }
    }
}

fn parse_profile(at: At, value: Value) -> Result<CampaignProfile, ParseError> {
    let map = match value {
        Value::Object(m) => canonicalize_keys(m, PROFILE_KEYS),
        other => {
            return Err(ParseError::new(
                at.path(),
                format!("expected a profile object, got {}", kind_of(&other)),
            ))
        }
    };
    let raw = match RawProfile::take(map) {
        Ok(raw) => raw,
        Err(map) => from_value(&at.path(), Value::Object(map))?,
    };
    profile(at, raw)
}

/// A profile from its fields as read: keyed, and its free-form maps made storable.
fn profile(at: At, raw: RawProfile) -> Result<CampaignProfile, ParseError> {
    let object_id = raw.object_id.map(|i| i.0);
    let identity = raw.identity.map(|i| i.0);
    let key = match (&object_id, &identity) {
        (Some(o), _) => ProfileKey::ObjectId(o.clone()),
        (None, Some(i)) => ProfileKey::Identity(i.clone()),
        (None, None) => {
            return Err(ParseError::new(
                join(&at.path(), "objectId"),
                "missing required field: a profile needs an objectId or an identity",
            ))
        }
    };
    let mut profile_data = raw.profile_data.unwrap_or_default();
    let mut key_values = raw.key_values.unwrap_or_default();
    let mut event_properties = raw.event_properties;
    let mut all_identities = raw.all_identities;
    let below = |field: &str| join(&at.path(), field);
    storable_map(|| below("profileData"), &mut profile_data)?;
    storable_map(|| below("key_values"), &mut key_values)?;
    if let Some(m) = event_properties.as_mut() {
        storable_map(|| below("event_properties"), m)?;
    }
    if let Some(v) = all_identities.as_mut() {
        storable_value(|| below("all_identities"), v)?;
    }
    Ok(CampaignProfile {
        key,
        object_id,
        identity,
        email: raw.email.map(|t| t.0),
        name: raw.name.map(|t| t.0),
        phone: raw.phone.map(|p| p.0),
        push_token: raw.push_token.map(|t| t.0),
        profile_data,
        key_values,
        event_properties,
        all_identities,
    })
}

impl RawProfile {
    /// What deserialising `map` as a `RawProfile` gives, moving its values out instead of
    /// copying them, when that deserialisation would succeed; `Err(map)`, untouched, when it
    /// would fail, for the slow path to name the field at fault. `map`'s structural keys must
    /// already be canonical.
    fn take(map: Map<String, Value>) -> Result<RawProfile, Map<String, Value>> {
        let fits = |k: &str, v: &Value| match k {
            "objectId" | "identity" | "phone" => v.is_null() || id_fits(v),
            "email" | "name" | "push_token" => v.is_null() || text_fits(v),
            "profileData" | "key_values" | "event_properties" => v.is_null() || v.is_object(),
            _ => true, // `all_identities` takes any value, and unknown fields are ignored
        };
        if !map.iter().all(|(k, v)| fits(k, v)) {
            return Err(map);
        }
        let object = |v: Value| match v {
            Value::Object(m) => Some(m),
            _ => None,
        };
        let mut raw = RawProfile::default();
        for (k, v) in map {
            if v.is_null() {
                continue; // an absent field, as for serde's `Option`
            }
            match k.as_str() {
                "objectId" => raw.object_id = Some(Id(owned_text(v))),
                "identity" => raw.identity = Some(Id(owned_text(v))),
                "phone" => raw.phone = Some(Id(owned_text(v))),
                "email" => raw.email = Some(Text(owned_text(v))),
                "name" => raw.name = Some(Text(owned_text(v))),
                "push_token" => raw.push_token = Some(Text(owned_text(v))),
                "profileData" => raw.profile_data = object(v),
                "key_values" => raw.key_values = object(v),
                "event_properties" => raw.event_properties = object(v),
                "all_identities" => raw.all_identities = Some(v),
                _ => {}
            }
        }
        Ok(raw)
    }
}

/// Whether deserialising `v` as an [`Id`] succeeds.
fn id_fits(v: &Value) -> bool {
    match v {
        Value::String(s) => Id::refusal(s).is_none(),
        Value::Number(n) => !n.is_f64(),
        _ => false,
    }
}

/// Whether deserialising `v` as a [`Text`] succeeds.
fn text_fits(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.len() <= MAX_TEXT_BYTES)
}

/// The text of an id or text that fits: its string, moved, or its integer written out (as `Id`
/// writes it).
fn owned_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
