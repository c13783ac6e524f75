//! Load-back rules: which CleverTap records a webhook produces, written as data
//! (`LOADBACK_RULES`), checked once at start-up.
//!
//! Rules read the same items the processor writes to the table (one per CleverTap profile,
//! export alert, location event, trip or user; see README "Data layout"), so a rule's JSON
//! pointers name fields in their canonical form (`/object_id`, `/key_values/coupon`,
//! `/event_type`) whatever casing or shape the sender used.

use std::collections::BTreeMap;
use std::path::Path;

use hookloop_domain::Source;
use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::account::Accounts;
use crate::record::{IdentityField, Record, RecordError, RecordType};

/// A rules file that is wrong: names the rule (by `name`, else its position) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LOADBACK_RULES: rule {rule}: {field}: {message}")]
pub struct RulesError {
    pub rule: String,
    pub field: String,
    pub message: String,
}

/// Why a webhook item could not become a valid record: permanent, the message goes to the DLQ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule:?}: {field}: {message}")]
pub struct RuleError {
    pub rule: String,
    pub field: String,
    pub message: String,
    /// The code CleverTap would have answered, where the record itself is at fault.
    pub code: Option<u16>,
}

/// A record ready to upload, with the rule that made it and the account it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub rule: String,
    pub account: String,
    pub record: Record,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    source: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    when: BTreeMap<String, Value>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    account_from: Option<String>,
    #[serde(rename = "type")]
    record_type: RawType,
    #[serde(default)]
    event_name: Option<String>,
    #[serde(default)]
    identity: Option<Vec<BTreeMap<String, String>>>,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, RawProp>,
    #[serde(default)]
    key_values: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawType {
    Event,
    Profile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProp {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(rename = "as", default)]
    conversion: Option<Conversion>,
    #[serde(default)]
    required: bool,
}

/// How a property's input value is converted.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Conversion {
    String,
    Number,
    Boolean,
    /// Epoch seconds or milliseconds, or RFC 3339, to CleverTap's `$D_<epoch seconds>`.
    Date,
}

#[derive(Debug, Clone, PartialEq)]
enum Prop {
    From {
        pointer: String,
        conversion: Option<Conversion>,
        required: bool,
    },
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    name: String,
    source: Source,
    when: Vec<(String, Vec<Value>)>,
    account: Option<String>,
    account_from: Option<String>,
    record_type: RecordType,
    event_name: Option<String>,
    identity: Vec<(IdentityField, String)>,
    ts: String,
    properties: Vec<(String, Prop)>,
    key_values: bool,
}

/// The checked rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    rules: Vec<Rule>,
    accounts: Vec<String>,
    default_account: Option<String>,
}

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

/// The item field holding the arrival time, every item has it.
const RECEIVED_AT: &str = "/received_at";

impl Rules {
    /// `LOADBACK_RULES`: the rules as JSON text (starting with `{`), or the path of a JSON file.
    pub fn load(spec: &str, accounts: &Accounts) -> Result<Self, RulesError> {
        let spec = spec.trim();
        if spec.starts_with('{') {
            return Self::parse(spec, accounts);
        }
        let text = std::fs::read_to_string(Path::new(spec)).map_err(|e| RulesError {
            rule: "-".into(),
            field: "-".into(),
            message: format!("cannot read rules file {spec}: {e}"),
        })?;
        Self::parse(&text, accounts)
    }

    pub fn parse(text: &str, accounts: &Accounts) -> Result<Self, RulesError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| RulesError {
            rule: "-".into(),
            field: "-".into(),
            message: format!("not JSON: {e}"),
        })?;
        let raw: RawFile = serde_path_to_error::deserialize(&doc).map_err(|e| {
            let path = e.path().to_string();
            let (rule, field) = locate(&doc, &path);
            RulesError {
                rule,
                field,
                message: e.inner().to_string(),
            }
        })?;
        let names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
        let default_account = accounts.default_account().map(str::to_owned);
        let mut rules = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let label = format!("{:?} (rules[{i}])", r.name);
            if !seen.insert(r.name.clone()) {
                return Err(rule_err(&label, "name", "another rule has this name"));
            }
            let rule = compile(&label, r, &names, default_account.as_deref())?;
            if let Some(rule) = rule {
                rules.push(rule);
            }
        }
        Ok(Rules {
            rules,
            accounts: names,
            default_account,
        })
    }

    /// How many rules are enabled.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

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

/// The value at JSON pointer `pointer` (which starts with `/`) in an item, without copying
/// the item into a `Value` first: rules run once per item and rule, on the hot path.
fn lookup<'a>(item: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let (first, tail) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let value = item.get(&first.replace("~1", "/").replace("~0", "~"))?;
    if tail.is_empty() {
        Some(value)
    } else {
        value.pointer(tail)
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

fn rule_err(label: &str, field: &str, message: impl Into<String>) -> RulesError {
    RulesError {
        rule: label.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// `rules[2].properties.x.as` -> (`"geofence" (rules[2])`, `properties.x.as`).
fn locate(doc: &Value, path: &str) -> (String, String) {
    let Some(rest) = path.strip_prefix("rules[") else {
        return ("-".into(), path.to_owned());
    };
    let Some((index, field)) = rest.split_once(']') else {
        return ("-".into(), path.to_owned());
    };
    let name = index
        .parse::<usize>()
        .ok()
        .and_then(|i| doc.pointer(&format!("/rules/{i}/name")))
        .and_then(Value::as_str)
        .map(|n| format!("{n:?} (rules[{index}])"))
        .unwrap_or_else(|| format!("rules[{index}]"));
    (name, field.trim_start_matches('.').to_owned())
}

fn check_pointer(label: &str, field: &str, p: &str) -> Result<(), RulesError> {
    if p.starts_with('/') {
        Ok(())
    } else {
        Err(rule_err(
            label,
            field,
            format!("{p:?} is not a JSON pointer (they start with /)"),
        ))
    }
}

fn compile(
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
        check_pointer(label, &format!("when.{p}"), p)?;
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
                &format!("when.{p}"),
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
        check_pointer(label, "account_from", p)?;
    }
    let identity = match r.identity {
        None => default_identity(source),
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let field = format!("identity[{i}]");
                let mut it = m.into_iter();
                match (it.next(), it.next()) {
                    (Some((k, p)), None) => {
                        let f = IdentityField::parse(&k).ok_or_else(|| {
                            rule_err(label, &field, format!("{k:?} is not objectId or identity"))
                        })?;
                        check_pointer(label, &field, &p)?;
                        Ok((f, p))
                    }
                    _ => Err(rule_err(
                        label,
                        &field,
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
    check_pointer(label, "ts", &ts)?;

    let mut properties = Vec::new();
    for (name, p) in r.properties {
        let field = format!("properties.{name}");
        let prop = match (p.from, p.value) {
            (Some(from), None) => {
                check_pointer(label, &field, &from)?;
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
                    &field,
                    "a constant `value` takes no `as` or `required`",
                ))
            }
            _ => {
                return Err(rule_err(
                    label,
                    &field,
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
        let field = match e.field.as_str() {
            "evtName" => "event_name".to_owned(),
            f => f
                .replace("evtData/", "properties.")
                .replace("profileData/", "properties."),
        };
        rule_err(label, &field, e.message)
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
    use super::*;
    use serde_json::json;

    fn accounts() -> Accounts {
        Accounts::from_json(
            r#"{"default": {"account_id": "A", "passcode": "p", "region": "in1"},
                "eu": {"account_id": "B", "passcode": "q", "region": "eu"}}"#,
            3,
        )
        .unwrap()
    }

    fn rules(v: Value) -> Result<Rules, RulesError> {
        Rules::parse(&v.to_string(), &accounts())
    }

    fn item(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

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
