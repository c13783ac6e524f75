//! The template as JSON, with CloudFormation's short forms in long form, and the lookups every
//! infra test module shares.

use std::collections::BTreeSet;

use hookloop_tests::repo_root;
use serde_json::{json, Map, Value};

/// YAML to JSON, turning CloudFormation short forms (`!Ref X`, `!GetAtt A.B`) into long forms.
pub fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    (
                        k.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| format!("{k:?}")),
                        to_json(v),
                    )
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let name = t.tag.to_string().trim_start_matches('!').to_owned();
            let key = if name == "Ref" {
                name
            } else {
                format!("Fn::{name}")
            };
            let mut value = to_json(t.value);
            // `!GetAtt A.B` is `Fn::GetAtt: [A, B]`.
            if key == "Fn::GetAtt" {
                if let Some(s) = value.as_str() {
                    let (a, b) = s.split_once('.').unwrap_or((s, ""));
                    value = json!([a, b]);
                }
            }
            json!({ key: value })
        }
    }
}

pub fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    to_json(serde_yaml::from_str(&text).expect("template is YAML"))
}

pub fn resource<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["Resources"]
        .get(name)
        .unwrap_or_else(|| panic!("resource {name}"))
}

pub fn props<'a>(t: &'a Value, name: &str) -> &'a Value {
    &resource(t, name)["Properties"]
}

pub fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

pub fn get_att(resource: &str, attr: &str) -> Value {
    json!({"Fn::GetAtt": [resource, attr]})
}

/// The resources that mention parameter `name`.
pub fn resources_using(t: &Value, name: &str) -> Vec<String> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r.to_string().contains(&format!("\"{name}\"")))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Every (action, resource, condition) a function's inline policies allow.
pub fn grants(t: &Value, function: &str) -> BTreeSet<(String, String, String)> {
    let policies = props(t, function)["Policies"]
        .as_array()
        .expect("Policies is a list");
    let mut out = BTreeSet::new();
    for s in policies
        .iter()
        .flat_map(|p| p["Statement"].as_array().cloned().unwrap_or_default())
    {
        for action in as_list(&s["Action"]) {
            for resource in as_list(&s["Resource"]) {
                out.insert((
                    action.as_str().unwrap_or_default().to_owned(),
                    resource.to_string(),
                    s["Condition"].to_string(),
                ));
            }
        }
    }
    out
}

pub fn r#ref(name: &str) -> Value {
    json!({ "Ref": name })
}

/// Every statement of a function's inline policies, as (actions, resources).
pub fn statements(t: &Value, function: &str) -> Vec<(BTreeSet<String>, Vec<Value>)> {
    let policies = props(t, function)["Policies"]
        .as_array()
        .expect("Policies is a list");
    policies
        .iter()
        .flat_map(|p| {
            assert!(
                p.is_object(),
                "{function}: only inline policy documents, no managed policies or templates: {p}"
            );
            p["Statement"].as_array().cloned().unwrap_or_default()
        })
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{function}: {s}");
            let actions = as_list(&s["Action"])
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (actions, as_list(&s["Resource"]))
        })
        .collect()
}

/// The text of a string, or of an `Fn::Sub` over a string (unresolved).
pub fn sub_text(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v["Fn::Sub"].as_str())
}

/// An `Fn::Sub` string (or a plain one) as CloudFormation resolves it, with `vars` for the
/// `${Name}` references it holds; `${!x}` is CloudFormation's escape for a literal `${x}`.
pub fn resolve_sub(v: &Value, vars: &[(&str, &str)]) -> String {
    let mut text = sub_text(v)
        .unwrap_or_else(|| panic!("not a string or Fn::Sub: {v}"))
        .to_owned();
    for (name, value) in vars {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    text.replace("${!", "${")
}

/// Every resource of type `kind`, by logical id.
pub fn resources_of<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// A Glue table's `Parameters` as CloudFormation resolves them, with `vars` for the `${Name}`
/// references of its `Fn::Sub` values.
pub fn resolved_parameters(table: &Value, vars: &[(&str, &str)]) -> Map<String, Value> {
    table["TableInput"]["Parameters"]
        .as_object()
        .expect("the table has parameters")
        .iter()
        .map(|(k, v)| {
            let resolved = match v {
                Value::Object(_) if v.get("Fn::Sub").is_some() => resolve_sub(v, vars),
                other => other.as_str().map(str::to_owned).unwrap_or_default(),
            };
            (k.clone(), Value::String(resolved))
        })
        .collect()
}

/// A Glue table's (name, type) list (`PartitionKeys`, or the storage descriptor's `Columns`).
pub fn names_and_types(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list of columns: {list}"))
        .iter()
        .map(|k| {
            let text = |f: &str| k[f].as_str().unwrap_or_default().to_owned();
            (text("Name"), text("Type"))
        })
        .collect()
}
