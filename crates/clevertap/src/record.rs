//! Upload API records and the checks CleverTap applies to them, run before sending so a record
//! that would be rejected goes to the DLQ with its reason instead of costing a request.
//!
//! Limits are CleverTap's documented ones (see `README.md`, "Load-back to CleverTap").

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Records per Upload API request.
pub const MAX_RECORDS_PER_REQUEST: usize = 1000;
/// Event and property names, and identities.
pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_IDENTITY_CHARS: usize = 120;
/// String property values.
pub const MAX_VALUE_CHARS: usize = 512;
/// Properties per event (CleverTap's current default; older documents said 256).
pub const MAX_EVENT_PROPERTIES: usize = 100;
/// Characters CleverTap refuses in event and property names.
pub const FORBIDDEN_NAME_CHARS: &[char] =
    &['.', ':', '$', '\'', '"', '%', '&', '|', '!', '<', '>', ';'];
/// Profile property names additionally may not hold `#`.
pub const FORBIDDEN_PROFILE_KEY_CHARS: &[char] = &['#'];
/// System events CleverTap refuses from the Upload API (code 513).
pub const RESERVED_EVENT_NAMES: &[&str] = &[
    "Notification Sent",
    "Notification Viewed",
    "Notification Clicked",
    "Notification Delivered",
    "Notification Replied",
    "UTM Visited",
    "App Launched",
    "App Uninstalled",
    "App Version Changed",
    "Stayed",
    "Reply Sent",
    "Experiment Rendered",
    "Reachable By",
    "Identity Reset",
    "Identity Set",
    "Identity Error",
];

/// The two record types; one request carries one type only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    Event,
    Profile,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Event => "event",
            RecordType::Profile => "profile",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which identity field a record is addressed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityField {
    /// CleverTap's own profile id: never creates a profile.
    ObjectId,
    /// The customer's identity: creates a profile when none has it.
    Identity,
}

impl IdentityField {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityField::ObjectId => "objectId",
            IdentityField::Identity => "identity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "objectId" => Some(IdentityField::ObjectId),
            "identity" => Some(IdentityField::Identity),
            _ => None,
        }
    }
}

/// One record for `POST /1/upload`, already checked: built only by [`Record::event`] and
/// [`Record::profile`].
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    record_type: RecordType,
    json: Value,
}

/// Why a record would be refused; `code` is the per-record code CleverTap would answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message} (CleverTap code {code})")]
pub struct RecordError {
    pub code: u16,
    /// Where in the record: `evtName`, `evtData/Coupon`, `identity`, `ts`.
    pub field: String,
    pub message: String,
}

impl RecordError {
    fn new(code: u16, field: impl Into<String>, message: impl Into<String>) -> Self {
        RecordError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Record {
    pub fn event(
        name: &str,
        data: Map<String, Value>,
        identity: (IdentityField, String),
        ts: i64,
    ) -> Result<Self, RecordError> {
        check_name(name, "evtName", FORBIDDEN_NAME_CHARS, 509)?;
        if RESERVED_EVENT_NAMES
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
        {
            return Err(RecordError::new(
                513,
                "evtName",
                format!("{name:?} is a CleverTap system event and cannot be uploaded"),
            ));
        }
        if data.len() > MAX_EVENT_PROPERTIES {
            return Err(RecordError::new(
                522,
                "evtData",
                format!(
                    "{} properties; CleverTap accepts at most {MAX_EVENT_PROPERTIES} per event",
                    data.len()
                ),
            ));
        }
        for (k, v) in &data {
            let field = format!("evtData/{k}");
            check_name(k, &field, FORBIDDEN_NAME_CHARS, 512)?;
            let nested_ok = name == "Charged" && k == "Items";
            if !nested_ok && (v.is_object() || v.is_array()) {
                return Err(RecordError::new(
                    512,
                    field,
                    "nested values are allowed only in Items of the Charged event",
                ));
            }
            check_value(v, &field)?;
        }
        let mut json = base(RecordType::Event, identity, ts)?;
        json.insert("evtName".into(), Value::String(name.to_owned()));
        json.insert("evtData".into(), Value::Object(data));
        Ok(Record {
            record_type: RecordType::Event,
            json: Value::Object(json),
        })
    }

    pub fn profile(
        data: Map<String, Value>,
        identity: (IdentityField, String),
        ts: i64,
    ) -> Result<Self, RecordError> {
        if data.is_empty() {
            return Err(RecordError::new(
                512,
                "profileData",
                "a profile record needs at least one property",
            ));
        }
        let forbidden: Vec<char> = FORBIDDEN_NAME_CHARS
            .iter()
            .chain(FORBIDDEN_PROFILE_KEY_CHARS)
            .copied()
            .collect();
        for (k, v) in &data {
            let field = format!("profileData/{k}");
            check_name(k, &field, &forbidden, 512)?;
            check_value(v, &field)?;
        }
        let mut json = base(RecordType::Profile, identity, ts)?;
        json.insert("profileData".into(), Value::Object(data));
        Ok(Record {
            record_type: RecordType::Profile,
            json: Value::Object(json),
        })
    }

    pub fn record_type(&self) -> RecordType {
        self.record_type
    }

    /// The record as sent.
    pub fn as_json(&self) -> &Value {
        &self.json
    }

    /// A stable digest of the record and the account it goes to: how a redelivered message
    /// recognises the records CleverTap already accepted.
    pub fn fingerprint(&self, account: &str) -> String {
        let mut h = Sha256::new();
        h.update(account.as_bytes());
        h.update([0u8]);
        h.update(self.json.to_string().as_bytes());
        hex::encode(&h.finalize()[..12])
    }
}

fn base(
    t: RecordType,
    (field, id): (IdentityField, String),
    ts: i64,
) -> Result<Map<String, Value>, RecordError> {
    let chars = id.chars().count();
    if id.trim().is_empty() || chars > MAX_IDENTITY_CHARS {
        return Err(RecordError::new(
            523,
            field.as_str(),
            format!("identity must be 1 to {MAX_IDENTITY_CHARS} characters, got {chars}"),
        ));
    }
    if ts <= 0 {
        return Err(RecordError::new(
            525,
            "ts",
            format!("timestamp must be positive epoch seconds, got {ts}"),
        ));
    }
    let mut m = Map::new();
    m.insert("type".into(), Value::String(t.as_str().into()));
    m.insert(field.as_str().into(), Value::String(id));
    m.insert("ts".into(), Value::from(ts));
    Ok(m)
}

fn check_name(name: &str, field: &str, forbidden: &[char], code: u16) -> Result<(), RecordError> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        return Err(RecordError::new(code, field, "name is empty"));
    }
    if chars > MAX_NAME_CHARS {
        return Err(RecordError::new(
            code,
            field,
            format!("name is {chars} characters; CleverTap accepts at most {MAX_NAME_CHARS}"),
        ));
    }
    if let Some(c) = name.chars().find(|c| forbidden.contains(c)) {
        return Err(RecordError::new(
            code,
            field,
            format!("name {name:?} holds {c:?}, which CleverTap does not accept in names"),
        ));
    }
    Ok(())
}

fn check_value(v: &Value, field: &str) -> Result<(), RecordError> {
    if let Value::String(s) = v {
        let chars = s.chars().count();
        if chars > MAX_VALUE_CHARS {
            return Err(RecordError::new(
                512,
                field,
                format!("value is {chars} characters; CleverTap accepts at most {MAX_VALUE_CHARS}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn oid() -> (IdentityField, String) {
        (IdentityField::ObjectId, "__g123".into())
    }

    #[test]
    fn a_valid_event_is_the_documented_shape() {
        let r = Record::event(
            "Offer Sent",
            obj(json!({"Coupon": "X", "Amount": 5})),
            oid(),
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(
            r.as_json(),
            &json!({"type": "event", "evtName": "Offer Sent", "evtData": {"Coupon": "X", "Amount": 5},
                    "objectId": "__g123", "ts": 1_700_000_000})
        );
        assert_eq!(r.record_type(), RecordType::Event);
    }

    fn event_err(name: &str, data: Value) -> RecordError {
        Record::event(name, obj(data), oid(), 1).unwrap_err()
    }

    #[test]
    fn event_names_and_properties_are_checked_like_clevertap() {
        assert_eq!(event_err("", json!({})).code, 509);
        assert_eq!(event_err("App Launched", json!({})).code, 513);
        assert_eq!(event_err("notification sent", json!({})).code, 513);
        let e = event_err("Bad.Name", json!({}));
        assert_eq!((e.code, e.field.as_str()), (509, "evtName"));
        let e = event_err("Ok", json!({"a:b": 1}));
        assert_eq!((e.code, e.field.as_str()), (512, "evtData/a:b"));
        let e = event_err("Ok", json!({"nested": {"x": 1}}));
        assert_eq!((e.code, e.field.as_str()), (512, "evtData/nested"));
        assert!(Record::event("Charged", obj(json!({"Items": [{"sku": 1}]})), oid(), 1).is_ok());
        let many: Map<String, Value> = (0..101).map(|i| (format!("p{i}"), json!(i))).collect();
        assert_eq!(Record::event("Ok", many, oid(), 1).unwrap_err().code, 522);
        let e = event_err("Ok", json!({"long": "x".repeat(513)}));
        assert_eq!((e.code, e.field.as_str()), (512, "evtData/long"));
        assert_eq!(event_err(&"n".repeat(121), json!({})).code, 509);
    }

    #[test]
    fn identity_and_timestamp_are_checked() {
        let e =
            Record::event("Ok", Map::new(), (IdentityField::Identity, "".into()), 1).unwrap_err();
        assert_eq!((e.code, e.field.as_str()), (523, "identity"));
        let long = (IdentityField::Identity, "i".repeat(121));
        assert_eq!(
            Record::event("Ok", Map::new(), long, 1).unwrap_err().code,
            523
        );
        assert_eq!(
            Record::event("Ok", Map::new(), oid(), 0).unwrap_err().code,
            525
        );
    }

    #[test]
    fn profiles_allow_nesting_but_not_hash_in_keys() {
        assert!(Record::profile(obj(json!({"Prefs": {"a": [1]}})), oid(), 1).is_ok());
        let e = Record::profile(obj(json!({"Tier#": "g"})), oid(), 1).unwrap_err();
        assert_eq!(e.field, "profileData/Tier#");
        assert!(Record::profile(Map::new(), oid(), 1).is_err());
    }

    #[test]
    fn fingerprints_depend_on_record_and_account() {
        let a = Record::event("A", Map::new(), oid(), 1).unwrap();
        let b = Record::event("B", Map::new(), oid(), 1).unwrap();
        assert_eq!(a.fingerprint("main"), a.clone().fingerprint("main"));
        assert_ne!(a.fingerprint("main"), b.fingerprint("main"));
        assert_ne!(a.fingerprint("main"), a.fingerprint("eu"));
        assert_eq!(a.fingerprint("main").len(), 24);
    }
}
