//! The rules document: its serde types, and reading it (`LOADBACK_RULES`, JSON text or a path).

use std::collections::BTreeMap;
use std::path::Path;

use hookloop_domain::pointer;
use serde::Deserialize;
use serde_json::Value;

use super::compile::compile;
use super::pointers::locate;
use super::{rule_err, Rules, RulesError};
use crate::account::Accounts;

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
pub(super) struct RawRule {
    pub(super) name: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    pub(super) source: String,
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) when: BTreeMap<String, Value>,
    #[serde(default)]
    pub(super) account: Option<String>,
    #[serde(default)]
    pub(super) account_from: Option<String>,
    #[serde(rename = "type")]
    pub(super) record_type: RawType,
    #[serde(default)]
    pub(super) event_name: Option<String>,
    #[serde(default)]
    pub(super) identity: Option<Vec<BTreeMap<String, String>>>,
    #[serde(default)]
    pub(super) ts: Option<String>,
    #[serde(default)]
    pub(super) properties: BTreeMap<String, RawProp>,
    #[serde(default)]
    pub(super) key_values: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawType {
    Event,
    Profile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProp {
    #[serde(default)]
    pub(super) from: Option<String>,
    #[serde(default)]
    pub(super) value: Option<Value>,
    #[serde(rename = "as", default)]
    pub(super) conversion: Option<Conversion>,
    #[serde(default)]
    pub(super) required: bool,
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
            pointer: String::new(),
            message: format!("cannot read rules file {spec}: {e}"),
        })?;
        Self::parse(&text, accounts)
    }

    pub fn parse(text: &str, accounts: &Accounts) -> Result<Self, RulesError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| RulesError {
            rule: "-".into(),
            field: "-".into(),
            pointer: String::new(),
            message: format!("not JSON: {e}"),
        })?;
        Self::check(&doc, accounts).map_err(|mut all| all.swap_remove(0).1)
    }

    /// The rules of `doc` (`{"description"?, "rules": [...]}`), or every problem found: each
    /// with the index of its rule where it is in one. Serde's first error stops the reading
    /// (the document's shape is wrong); past that, each rule is checked on its own.
    pub fn check(
        doc: &Value,
        accounts: &Accounts,
    ) -> Result<Self, Vec<(Option<usize>, RulesError)>> {
        let raw: RawFile = serde_path_to_error::deserialize(doc).map_err(|e| {
            let path = e.path().to_string();
            let (rule, field) = locate(doc, &path);
            // The pointer from the segments themselves: within the rule when the error is in
            // one, from the top otherwise.
            let from_top = pointer::serde_pointer(e.path());
            let in_rule = from_top.strip_prefix("/rules/").and_then(|rest| {
                let (i, within) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                Some((i.parse::<usize>().ok()?, within.to_owned()))
            });
            let (index, pointer) = match in_rule {
                Some((i, within)) => (Some(i), within),
                None => (None, from_top),
            };
            vec![(
                index,
                RulesError {
                    rule,
                    field,
                    pointer,
                    message: e.inner().to_string(),
                },
            )]
        })?;
        let names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
        let default_account = accounts.default_account().map(str::to_owned);
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let label = format!("{:?} (rules[{i}])", r.name);
            if !seen.insert(r.name.clone()) {
                problems.push((
                    Some(i),
                    rule_err(&label, "name", "another rule has this name"),
                ));
                continue;
            }
            match compile(&label, r, &names, default_account.as_deref()) {
                Ok(Some(rule)) => rules.push(rule),
                Ok(None) => {}
                Err(e) => problems.push((Some(i), e)),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Rules {
            rules,
            accounts: names,
            default_account,
        })
    }
}
