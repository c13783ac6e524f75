//! The tree-based reader: the body as a `serde_json` tree, structural keys canonicalised, then
//! moved into typed fields. Only a body that `stream` refuses comes here (so a refusal names the
//! field exactly as it always has); the tests hold `stream` to what this reader gives.

use serde_json::{Map, Value};

use super::{profile, webhook, At, CampaignProfile, CampaignWebhook, RawProfile, RawTop};
use super::{PROFILE_KEYS, TOP_LEVEL_KEYS};
use crate::error::ParseError;
use crate::limits::MAX_TEXT_BYTES;
use crate::primitives::{canonicalize_keys, from_value, kind_of, Id, Text};

/// `body_len` is the size of the body `top` was read from (rows are measured only for large ones).
pub(super) fn parse(
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

impl RawProfile {
    /// What deserialising `map` as a `RawProfile` gives, moving its values out instead of
    /// copying them, when that deserialisation would succeed; `Err(map)`, untouched, when it
    /// would fail, for the slow path to name the field at fault. `map`'s structural keys must
    /// already be canonical.
    pub(super) fn take(map: Map<String, Value>) -> Result<RawProfile, Map<String, Value>> {
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
