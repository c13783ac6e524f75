//! Checking one rule of the document into its compiled form, as CleverTap would check the
//! records it will make.

use hookloop_domain::Source;
use serde_json::{Map, Value};

use super::file::{RawRule, RawType};
use super::pointers::{check_pointer, RECEIVED_AT};
use super::{rule_err, Field, Prop, Rule, RulesError};
use crate::record::{IdentityField, Record, RecordType};

/// Where CleverTap webhooks are addressed by default: the `objectId` CleverTap sent (never
/// creates a profile), else the `identity`.
fn default_identity(source: Source) -> Vec<(IdentityField, String)> {
    match source {
        Source::ClevertapWebhook => vec![
            (IdentityField::ObjectId, "/object_id".into()),
            (IdentityField::Identity, "/identity".into()),
        ],
        _ => Vec::new(),
    }
}

pub(super) fn compile(
    label: &str,
    r: RawRule,
    accounts: &[String],
    default_account: Option<&str>,
) -> Result<Option<Rule>, RulesError> {
    let source = r.source.parse::<Source>().map_err(|_| {
        rule_err(
            label,
            "source",
            format!(
                "{:?} is not one of clevertap.webhook, clevertap.export_status, location",
                r.source
            ),
        )
    })?;
    for (p, v) in &r.when {
        check_pointer(label, Field::key("when").then(p), p)?;
        let alternatives = match v {
            Value::Array(a) => a.as_slice(),
            one => std::slice::from_ref(one),
        };
        if alternatives.is_empty()
            || alternatives
                .iter()
                .any(|a| a.is_object() || a.is_array() || a.is_null())
        {
            return Err(rule_err(
                label,
                Field::key("when").then(p),
                "expected a value or a list of values",
            ));
        }
    }
    match (&r.account, default_account) {
        (Some(a), _) if !accounts.contains(a) => {
            return Err(rule_err(
                label,
                "account",
                format!("{a:?} is not a configured CleverTap account (have {accounts:?})"),
            ))
        }
        (None, None) if r.account_from.is_none() => {
            return Err(rule_err(
                label,
                "account",
                "several accounts are configured and none is named default: name one",
            ))
        }
        _ => {}
    }
    if let Some(p) = &r.account_from {
        check_pointer(label, "account_from".into(), p)?;
    }
    let identity = match r.identity {
        None => default_identity(source),
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let field = Field::key("identity").at(i);
                let mut it = m.into_iter();
                match (it.next(), it.next()) {
                    (Some((k, p)), None) => {
                        let f = IdentityField::parse(&k).ok_or_else(|| {
                            rule_err(
                                label,
                                field.clone(),
                                format!("{k:?} is not objectId or identity"),
                            )
                        })?;
                        check_pointer(label, field, &p)?;
                        Ok((f, p))
                    }
                    _ => Err(rule_err(
                        label,
                        field,
                        r#"expected one entry like {"identity": "/user_id"}"#,
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if identity.is_empty() {
        return Err(rule_err(
            label,
            "identity",
            format!(
                "{} items carry no CleverTap id: say which field is the identity",
                source.as_str()
            ),
        ));
    }
    let ts = r.ts.unwrap_or_else(|| RECEIVED_AT.to_owned());
    check_pointer(label, "ts".into(), &ts)?;

    let mut properties = Vec::new();
    for (name, p) in r.properties {
        let field = Field::key("properties").then(&name);
        let prop = match (p.from, p.value) {
            (Some(from), None) => {
                check_pointer(label, field, &from)?;
                Prop::From {
                    pointer: from,
                    conversion: p.conversion,
                    required: p.required,
                }
            }
            (None, Some(v)) if p.conversion.is_none() && !p.required => Prop::Value(v),
            (None, Some(_)) => {
                return Err(rule_err(
                    label,
                    field,
                    "a constant `value` takes no `as` or `required`",
                ))
            }
            _ => {
                return Err(rule_err(
                    label,
                    field,
                    "give exactly one of `from` (a JSON pointer) or `value`",
                ))
            }
        };
        properties.push((name, prop));
    }

    let record_type = match r.record_type {
        RawType::Event => RecordType::Event,
        RawType::Profile => RecordType::Profile,
    };
    // Names are known now: check them as CleverTap would, with placeholder values.
    let placeholders: Map<String, Value> = properties
        .iter()
        .map(|(n, _)| (n.clone(), Value::Null))
        .collect();
    let probe = (IdentityField::Identity, "probe".to_owned());
    let checked = match record_type {
        RecordType::Event => {
            let name = r
                .event_name
                .as_deref()
                .ok_or_else(|| rule_err(label, "event_name", "an event rule needs event_name"))?;
            Record::event(name, placeholders, probe, 1).map(|_| ())
        }
        RecordType::Profile => {
            if r.event_name.is_some() {
                return Err(rule_err(
                    label,
                    "event_name",
                    "a profile rule has no event_name",
                ));
            }
            if properties.is_empty() && !r.key_values {
                return Err(rule_err(
                    label,
                    "properties",
                    "a profile rule needs properties or key_values",
                ));
            }
            if properties.is_empty() {
                Ok(())
            } else {
                Record::profile(placeholders, probe, 1).map(|_| ())
            }
        }
    };
    checked.map_err(|e| {
        // CleverTap's names for the record's parts, as the rule names them.
        let field = match e.field.as_str() {
            "evtName" => Field::key("event_name"),
            f => match f
                .strip_prefix("evtData/")
                .or_else(|| f.strip_prefix("profileData/"))
            {
                Some(name) => Field::key("properties").then(name),
                None => Field::key(f),
            },
        };
        rule_err(label, field, e.message)
    })?;

    if !r.enabled {
        return Ok(None);
    }
    Ok(Some(Rule {
        name: r.name,
        source,
        when: r
            .when
            .into_iter()
            .map(|(p, v)| match v {
                Value::Array(a) => (p, a),
                one => (p, vec![one]),
            })
            .collect(),
        account: r.account,
        account_from: r.account_from,
        record_type,
        event_name: r.event_name,
        identity,
        ts,
        properties,
        key_values: r.key_values,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::rules;
    use serde_json::json;

    #[test]
    fn errors_name_the_rule_and_the_field() {
        let e = rules(json!({"rules": [{"name": "r1", "source": "nowhere", "type": "event", "event_name": "X"}]})).unwrap_err();
        assert_eq!(
            (e.rule.as_str(), e.field.as_str()),
            ("\"r1\" (rules[0])", "source")
        );
        let e = rules(json!({"rules": [{"name": "ok", "source": "location", "type": "event", "event_name": "X", "identity": [{"identity": "/user_id"}]},
                                      {"name": "r2", "source": "location", "type": "event", "event_name": "X",
                                       "identity": [{"identity": "/user_id"}], "properties": {"a": {"from": "/x", "as": "money"}}}]}))
        .unwrap_err();
        assert_eq!(
            (e.rule.as_str(), e.field.as_str()),
            ("\"r2\" (rules[1])", "properties.a.as")
        );
        let e = rules(json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "App Launched"}]})).unwrap_err();
        assert_eq!(e.field, "event_name");
        let e = rules(json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "E", "properties": {"a.b": {"value": 1}}}]})).unwrap_err();
        assert_eq!(e.field, "properties.a.b");
        let e = rules(json!({"rules": [{"name": "r", "source": "location", "type": "event", "event_name": "E"}]})).unwrap_err();
        assert_eq!(
            e.field, "identity",
            "location items need an identity mapping"
        );
        let e = rules(json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "E", "account": "us"}]})).unwrap_err();
        assert_eq!(e.field, "account");
        let e = rules(json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "E", "when": {"kind": "x"}}]})).unwrap_err();
        assert_eq!(e.field, "when.kind");
        let e = rules(json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "E", "colour": 1}]})).unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
        let e = rules(
            json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "profile"}]}),
        )
        .unwrap_err();
        assert_eq!(e.field, "properties");
        assert!(rules(json!({"rules": [{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "E"},
                                       {"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "F"}]})).is_err());
    }
}
