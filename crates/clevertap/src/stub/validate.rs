//! CleverTap's per-record checks, independent of the client's pre-checks.

use serde_json::{Map, Value};

use crate::record::RESERVED_EVENT_NAMES;

/// CleverTap's per-record checks, written from its documentation.
pub(super) fn validate(r: &Value) -> Result<(), (i64, String)> {
    let Some(obj) = r.as_object() else {
        return Err((524, "Record is not an object".into()));
    };
    let identity = ["identity", "objectId", "FBID", "GPID"]
        .iter()
        .find_map(|k| {
            obj.get(*k).and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
        });
    match identity {
        Some(id) if !id.is_empty() && id.chars().count() < 120 => {}
        _ => return Err((523, "Identity not set or longer than 120 characters".into())),
    }
    match obj.get("ts") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|t| t > 0 && t < 100_000_000_000) => {}
        _ => return Err((525, "Invalid timestamp".into())),
    }
    let bad_name = |k: &str, extra: &[char]| {
        k.is_empty()
            || k.chars().count() > 120
            || k.chars()
                .any(|c| ".:$'\"%&|!<>;".contains(c) || extra.contains(&c))
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("event") => {
            let name = obj
                .get("evtName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name.is_empty() {
                return Err((509, "Event name is missing".into()));
            }
            if bad_name(name, &[]) {
                return Err((512, "Invalid event name".into()));
            }
            if RESERVED_EVENT_NAMES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                return Err((513, format!("{name} is a restricted system event")));
            }
            let empty = Map::new();
            let data = match obj.get("evtData") {
                None => &empty,
                Some(Value::Object(d)) => d,
                Some(_) => return Err((512, "evtData is not an object".into())),
            };
            if data.len() > 100 {
                return Err((522, "Too many properties".into()));
            }
            for (k, v) in data {
                if bad_name(k, &[])
                    || (v.is_object() || v.is_array()) && !(name == "Charged" && k == "Items")
                {
                    return Err((512, format!("Invalid property {k}")));
                }
            }
            Ok(())
        }
        Some("profile") => {
            let Some(Value::Object(data)) = obj.get("profileData") else {
                return Err((512, "profileData is not an object".into()));
            };
            for (k, v) in data {
                if bad_name(k, &['#']) {
                    return Err((512, format!("Invalid property {k}")));
                }
                let s = v.as_str().unwrap_or_default();
                match k.as_str() {
                    "Phone"
                        if !(s.starts_with('+')
                            && s.len() > 6
                            && s[1..].chars().all(|c| c.is_ascii_digit())) =>
                    {
                        return Err((
                            516,
                            "Phone number must be in E.164 format with the country code".into(),
                        ))
                    }
                    "Email" if !s.contains('@') => return Err((515, "Invalid email".into())),
                    "Gender" if !matches!(s, "M" | "F" | "O" | "U") => {
                        return Err((514, "Invalid gender".into()))
                    }
                    "Age" if !v.as_i64().is_some_and(|a| (0..=150).contains(&a)) => {
                        return Err((520, "Invalid age".into()))
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Err((524, "Record is neither an event nor a profile".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_validated_like_clevertap() {
        let ev = |v: Value| validate(&v).map_err(|(c, _)| c);
        assert_eq!(
            ev(json!({"type": "event", "evtName": "A", "evtData": {}, "identity": "u", "ts": 1})),
            Ok(())
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "A", "ts": 1})),
            Err(523)
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "", "identity": "u", "ts": 1})),
            Err(509)
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "Stayed", "identity": "u", "ts": 1})),
            Err(513)
        );
        assert_eq!(
            ev(
                json!({"type": "event", "evtName": "A", "evtData": {"x": {}}, "identity": "u", "ts": 1})
            ),
            Err(512)
        );
        assert_eq!(
            ev(json!({"type": "event", "evtName": "A", "identity": "u", "ts": "now"})),
            Err(525)
        );
        assert_eq!(
            ev(json!({"type": "thing", "identity": "u", "ts": 1})),
            Err(524)
        );
        assert_eq!(
            ev(
                json!({"type": "profile", "profileData": {"Phone": "98450"}, "identity": "u", "ts": 1})
            ),
            Err(516)
        );
        assert_eq!(
            ev(
                json!({"type": "profile", "profileData": {"Phone": "+919845012345"}, "identity": "u", "ts": 1})
            ),
            Ok(())
        );
    }
}
