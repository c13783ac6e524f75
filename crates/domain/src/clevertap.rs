//! CleverTap campaign and journey webhooks ("Profile variables & custom key value pairs").
//!
//! `{"targetId": 123, "key_values": {...}, "profiles": [ {...} ] | {...}, "is_test": false}`:
//! `profiles` is an array for broadcast sends and a single object otherwise; structural keys come
//! in any casing; unknown fields are tolerated.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{join, ParseError};
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

#[derive(Deserialize)]
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
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, p)| parse_profile(&join("/profiles", i), p))
            .collect::<Result<Vec<_>, _>>()?,
        obj @ Value::Object(_) => vec![parse_profile("/profiles", obj)?],
        other => {
            return Err(ParseError::new(
                "/profiles",
                format!("expected an array or an object, got {}", kind_of(&other)),
            ))
        }
    };

    let mut key_values = raw.key_values.unwrap_or_default();
    storable_map("/key_values", &mut key_values)?;
    let webhook = CampaignWebhook {
        target_id: raw.target_id.0,
        key_values,
        profiles,
        is_test: raw.is_test.unwrap_or(false),
    };
    check_campaign_rows(&webhook, body_len, single)?;
    Ok(webhook)
}

fn parse_profile(path: &str, value: Value) -> Result<CampaignProfile, ParseError> {
    let map = match value {
        Value::Object(m) => canonicalize_keys(m, PROFILE_KEYS),
        other => {
            return Err(ParseError::new(
                path,
                format!("expected a profile object, got {}", kind_of(&other)),
            ))
        }
    };
    let raw: RawProfile = from_value(path, Value::Object(map))?;
    let object_id = raw.object_id.map(|i| i.0);
    let identity = raw.identity.map(|i| i.0);
    let key = match (&object_id, &identity) {
        (Some(o), _) => ProfileKey::ObjectId(o.clone()),
        (None, Some(i)) => ProfileKey::Identity(i.clone()),
        (None, None) => {
            return Err(ParseError::new(
                join(path, "objectId"),
                "missing required field: a profile needs an objectId or an identity",
            ))
        }
    };
    let mut profile_data = raw.profile_data.unwrap_or_default();
    let mut key_values = raw.key_values.unwrap_or_default();
    let mut event_properties = raw.event_properties;
    let mut all_identities = raw.all_identities;
    storable_map(&join(path, "profileData"), &mut profile_data)?;
    storable_map(&join(path, "key_values"), &mut key_values)?;
    if let Some(m) = event_properties.as_mut() {
        storable_map(&join(path, "event_properties"), m)?;
    }
    if let Some(v) = all_identities.as_mut() {
        storable_value(&join(path, "all_identities"), v)?;
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
}
