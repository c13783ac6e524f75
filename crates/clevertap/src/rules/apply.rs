//! Making records from the rows the processor stores: which rules match an item, and the
//! account, identity, time and properties of the record each one makes.

use hookloop_domain::Source;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::pointers::{lookup, RECEIVED_AT};
use super::{Conversion, Planned, Prop, Rule, RuleError, Rules};
use crate::record::{Record, RecordError, RecordType};

impl Rules {
    /// The records for the items of one message (the rows the processor stores for it), in
    /// item order then rule order. The first item that cannot become a valid record fails the
    /// message: nothing of it is sent, so a redrive after fixing the cause sends all of it.
    pub fn records(
        &self,
        source: Source,
        items: &[&Map<String, Value>],
    ) -> Result<Vec<Planned>, RuleError> {
        let mut out = Vec::new();
        for item in items {
            for rule in self.rules.iter().filter(|r| r.source == source) {
                if rule.matches(item) {
                    out.push(self.apply(rule, item)?);
                }
            }
        }
        Ok(out)
    }

    fn apply(&self, rule: &Rule, item: &Map<String, Value>) -> Result<Planned, RuleError> {
        let fail = |field: &str, message: String, code: Option<u16>| RuleError {
            rule: rule.name.clone(),
            field: field.to_owned(),
            message,
            code,
        };

        let account = match rule
            .account_from
            .as_deref()
            .and_then(|p| lookup(item, p))
            .and_then(text)
        {
            Some(named) if self.accounts.contains(&named) => named,
            Some(named) => {
                return Err(fail(
                    rule.account_from.as_deref().unwrap_or_default(),
                    format!("names CleverTap account {named:?}, which is not configured"),
                    None,
                ))
            }
            None => match rule
                .account
                .clone()
                .or_else(|| self.default_account.clone())
            {
                Some(a) => a,
                None => {
                    return Err(fail(
                        "account",
                        "no account named and no default".into(),
                        None,
                    ))
                }
            },
        };

        let identity = rule
            .identity
            .iter()
            .find_map(|(field, p)| {
                lookup(item, p)
                    .and_then(text)
                    .filter(|s| !s.is_empty())
                    .map(|v| (*field, v))
            })
            .ok_or_else(|| {
                let tried: Vec<&str> = rule.identity.iter().map(|(_, p)| p.as_str()).collect();
                fail(
                    "identity",
                    format!("none of {tried:?} holds an identity"),
                    Some(523),
                )
            })?;

        let ts = match lookup(item, &rule.ts).filter(|v| !v.is_null()) {
            Some(v) => epoch_seconds(v)
                .ok_or_else(|| fail("ts", format!("{} is not a time: {v}", rule.ts), Some(525)))?,
            None => lookup(item, RECEIVED_AT)
                .and_then(epoch_seconds)
                .ok_or_else(|| fail("ts", "the item has no received_at".into(), Some(525)))?,
        };

        let mut data = Map::new();
        if rule.key_values {
            if let Some(Value::Object(kv)) = lookup(item, "/key_values") {
                data.extend(kv.clone());
            }
        }
        for (name, prop) in &rule.properties {
            let field = format!("properties/{name}");
            let value = match prop {
                Prop::Value(v) => Some(v.clone()),
                Prop::From {
                    pointer,
                    conversion,
                    required,
                } => match lookup(item, pointer).filter(|v| !v.is_null()) {
                    Some(v) => Some(
                        convert(v, *conversion)
                            .map_err(|m| fail(&field, format!("{pointer}: {m}"), None))?,
                    ),
                    None if *required => {
                        return Err(fail(
                            &field,
                            format!("{pointer} is missing and the property is required"),
                            None,
                        ))
                    }
                    None => None,
                },
            };
            if let Some(v) = value {
                data.insert(name.clone(), v);
            }
        }

        let record = match rule.record_type {
            RecordType::Event => Record::event(
                rule.event_name.as_deref().unwrap_or_default(),
                data,
                identity,
                ts,
            ),
            RecordType::Profile => Record::profile(data, identity, ts),
        }
        .map_err(|e: RecordError| fail(&e.field, e.message, Some(e.code)))?;
        Ok(Planned {
            rule: rule.name.clone(),
            account,
            record,
        })
    }
}

impl Rule {
    fn matches(&self, item: &Map<String, Value>) -> bool {
        self.when
            .iter()
            .all(|(pointer, any_of)| match lookup(item, pointer) {
                Some(v) => any_of.iter().any(|want| same(v, want)),
                None => false,
            })
    }
}

/// Equal as JSON, or as text (`"42"` matches `42`: senders are loose about ids).
fn same(v: &Value, want: &Value) -> bool {
    v == want || matches!((text(v), text(want)), (Some(a), Some(b)) if a == b)
}

/// A scalar as text; `None` for null, objects and arrays.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Epoch seconds from epoch seconds, epoch milliseconds (anything from 10^11 on, i.e. after
/// 1973 in ms), numeric text of either, or RFC 3339.
pub fn epoch_seconds(v: &Value) -> Option<i64> {
    let from_number = |n: f64| {
        if !n.is_finite() || n <= 0.0 {
            return None;
        }
        let secs = if n >= 1e11 { n / 1000.0 } else { n };
        (secs < 1e11).then_some(secs.floor() as i64)
    };
    match v {
        Value::Number(n) => n.as_f64().and_then(from_number),
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(n) => from_number(n),
                Err(_) => OffsetDateTime::parse(s, &Rfc3339)
                    .ok()
                    .map(|t| t.unix_timestamp()),
            }
        }
        _ => None,
    }
}

fn convert(v: &Value, conversion: Option<Conversion>) -> Result<Value, String> {
    match conversion {
        None => Ok(v.clone()),
        Some(Conversion::String) => Ok(Value::String(text(v).unwrap_or_else(|| v.to_string()))),
        Some(Conversion::Number) => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => {
                let s = s.trim();
                if let Ok(i) = s.parse::<i64>() {
                    Ok(Value::from(i))
                } else {
                    s.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .ok_or_else(|| format!("{s:?} is not a number"))
                }
            }
            Value::Bool(b) => Ok(Value::from(u8::from(*b))),
            other => Err(format!("cannot make a number of {other}")),
        },
        Some(Conversion::Boolean) => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Value::Bool(false)),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Value::Bool(true)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "0" => Ok(Value::Bool(false)),
                _ => Err(format!("{s:?} is not a boolean")),
            },
            other => Err(format!("cannot make a boolean of {other}")),
        },
        Some(Conversion::Date) => epoch_seconds(v)
            .map(|s| Value::String(format!("$D_{s}")))
            .ok_or_else(|| format!("{v} is not a time (epoch seconds or ms, or RFC 3339)")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{item, rules};
    use super::*;
    use serde_json::json;

    #[test]
    fn conversions() {
        assert_eq!(
            convert(&json!(12), Some(Conversion::String)).unwrap(),
            json!("12")
        );
        assert_eq!(
            convert(&json!(" 12 "), Some(Conversion::Number)).unwrap(),
            json!(12)
        );
        assert_eq!(
            convert(&json!("1.5"), Some(Conversion::Number)).unwrap(),
            json!(1.5)
        );
        assert!(convert(&json!("abc"), Some(Conversion::Number)).is_err());
        assert_eq!(
            convert(&json!("Yes"), Some(Conversion::Boolean)).unwrap(),
            json!(true)
        );
        assert_eq!(
            convert(&json!(0), Some(Conversion::Boolean)).unwrap(),
            json!(false)
        );
        assert_eq!(
            convert(&json!(1_700_000_000), Some(Conversion::Date)).unwrap(),
            json!("$D_1700000000")
        );
        assert_eq!(
            convert(&json!(1_700_000_000_123u64), Some(Conversion::Date)).unwrap(),
            json!("$D_1700000000")
        );
        assert_eq!(
            convert(&json!("2023-11-14T22:13:20.000Z"), Some(Conversion::Date)).unwrap(),
            json!("$D_1700000000")
        );
        assert!(convert(&json!("soon"), Some(Conversion::Date)).is_err());
        assert_eq!(epoch_seconds(&json!("1700000000")), Some(1_700_000_000));
        assert_eq!(epoch_seconds(&json!(-5)), None);
    }

    #[test]
    fn matching_picks_the_account_and_the_identity() {
        let r = rules(json!({"rules": [{"name": "geo", "source": "location", "type": "event", "event_name": "Geofence Entered",
            "when": {"/kind": "location", "/event_type": ["user.entered_geofence", "geofence.entered"]},
            "account_from": "/account",
            "identity": [{"identity": "/user_id"}], "ts": "/created_at",
            "properties": {"Geofence": {"from": "/geofence_tag"}, "Lat": {"from": "/latitude", "as": "string"}}}]}))
        .unwrap();
        let entered = item(
            json!({"kind": "location", "event_type": "user.entered_geofence", "user_id": "u1",
            "geofence_tag": "store", "latitude": 1.5, "created_at": "2024-05-01T07:08:09.010Z", "received_at": "2024-05-01T07:08:10.000Z"}),
        );
        let exited = item(
            json!({"kind": "location", "event_type": "user.exited_geofence", "user_id": "u1", "received_at": "2024-05-01T07:08:10.000Z"}),
        );
        let out = r.records(Source::Location, &[&entered, &exited]).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].account, "default");
        assert_eq!(
            out[0].record.as_json(),
            &json!({"type": "event", "evtName": "Geofence Entered", "identity": "u1", "ts": 1_714_547_289,
                    "evtData": {"Geofence": "store", "Lat": "1.5"}})
        );
        assert!(
            r.records(Source::ClevertapWebhook, &[&entered])
                .unwrap()
                .is_empty(),
            "rules apply to their source only"
        );

        let mut eu = entered.clone();
        eu.insert("account".into(), json!("eu"));
        assert_eq!(
            r.records(Source::Location, &[&eu]).unwrap()[0].account,
            "eu"
        );
        eu.insert("account".into(), json!("mars"));
        let e = r.records(Source::Location, &[&eu]).unwrap_err();
        assert_eq!(e.field, "/account");
        let mut anonymous = entered.clone();
        anonymous.remove("user_id");
        assert_eq!(
            r.records(Source::Location, &[&anonymous]).unwrap_err().code,
            Some(523)
        );
    }
}
