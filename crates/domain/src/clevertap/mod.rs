//! CleverTap campaign and journey webhooks ("Profile variables & custom key value pairs").
//!
//! `{"targetId": 123, "key_values": {...}, "profiles": [ {...} ] | {...}, "is_test": false}`:
//! `profiles` is an array for broadcast sends and a single object otherwise; structural keys come
//! in any casing; unknown fields are tolerated.
//!
//! A body is read once, straight from its bytes into typed fields (`stream`). A body that
//! reading refuses is read again by the tree-based reader (`oracle`), which names the field at
//! fault exactly as it always has; the test suite holds the two to the same results.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{join, ParseError};
use crate::primitives::{parse_json_object, Id, Text};
use crate::storable::{check_campaign_rows, storable_map, storable_value};

mod oracle;
mod stream;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

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
#[cfg_attr(test, derive(Debug, PartialEq))]
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

/// Parses a CleverTap campaign body: one read into typed fields; a body that read refuses is
/// read again (`oracle`) for the refusal's words and field path.
pub(crate) fn parse(body: &[u8]) -> Result<CampaignWebhook, ParseError> {
    match stream::read(body) {
        Some(read) => {
            let mut profiles = Vec::with_capacity(read.profiles.len());
            for (i, raw) in read.profiles.into_iter().enumerate() {
                let at = if read.single { At::Single } else { At::Item(i) };
                profiles.push(profile(at, raw)?);
            }
            webhook(read.top, profiles, read.single, body.len())
        }
        None => oracle::parse(parse_json_object(body)?, body.len()),
    }
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
