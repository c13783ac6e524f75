//! The load-back document a deployed stack reads from its bucket (`config/loadback.json`, see
//! docs/loadback.md): the CleverTap accounts, without passcodes, and the rules.
//!
//! ```json
//! {"description": "optional",
//!  "accounts": {"main": {"account_id": "W9R-...", "region": "in1", "max_concurrency": 3}},
//!  "rules": [ ... as in infra/loadback-rules.json ... ]}
//! ```
//!
//! Passcodes live in the processor's secret (`CLEVERTAP_PASSCODES`: account name to passcode),
//! never in the document. [`check`] finds every problem, each with the JSON pointer of the
//! field it is about: `hookloop rules check` prints them, `hookloop rules push` refuses to
//! upload a document that has any, and the processor keeps the last good document in force.

use std::collections::BTreeMap;

use hookloop_domain::pointer;
use serde::Deserialize;
use serde_json::Value;

use crate::account::{Account, Accounts};
use crate::rules::Rules;

/// Where the document lives in the stack's bucket.
pub const DOCUMENT_KEY: &str = "config/loadback.json";
/// The key of the processor's secret holding the passcodes, by account name.
pub const PASSCODES_KEY: &str = "CLEVERTAP_PASSCODES";

/// One problem of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// RFC 6901 pointer into the document (`""` for the whole document).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// A document that checked out: the accounts (with their passcodes) and the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub accounts: Accounts,
    pub rules: Rules,
}

/// Passcodes by account name; [`Passcodes::Placeholder`] checks a document without them (the
/// CLI, which never holds the processor's secret).
#[derive(Debug, Clone, Copy)]
pub enum Passcodes<'a> {
    Known(&'a BTreeMap<String, String>),
    Placeholder,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    accounts: BTreeMap<String, RawAccount>,
    rules: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    account_id: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    max_concurrency: Option<usize>,
}

/// The document in `text`, or every problem it has.
/// Accounts without `max_concurrency` get `default_concurrency` (the processor's
/// `CLEVERTAP_MAX_CONCURRENCY`).
pub fn check(
    text: &str,
    passcodes: Passcodes<'_>,
    default_concurrency: usize,
) -> Result<Document, Vec<Problem>> {
    let problem = |pointer: String, message: String| Problem { pointer, message };
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| vec![problem(String::new(), format!("not JSON: {e}"))])?;
    let raw: RawDocument = serde_path_to_error::deserialize(&doc).map_err(|e| {
        vec![problem(
            pointer::serde_pointer(e.path()),
            e.inner().to_string(),
        )]
    })?;
    let mut problems = Vec::new();
    let mut accounts = BTreeMap::new();
    for (name, a) in raw.accounts {
        let at = pointer::join("/accounts", &name);
        let passcode = match passcodes {
            Passcodes::Placeholder => Some("placeholder".to_owned()),
            Passcodes::Known(known) => known.get(&name).cloned(),
        };
        let Some(passcode) = passcode else {
            problems.push(problem(
                at,
                format!(
                    "no passcode for account {name:?} in the processor's secret ({PASSCODES_KEY})"
                ),
            ));
            continue;
        };
        match Account::new(
            &name,
            a.account_id,
            passcode,
            a.region.as_deref(),
            a.api_url.as_deref(),
            a.max_concurrency.unwrap_or(default_concurrency),
        ) {
            Ok(account) => {
                accounts.insert(name, account);
            }
            Err(e) => problems.push(problem(
                if e.field.is_empty() {
                    at
                } else {
                    pointer::join(&at, &e.field)
                },
                e.message,
            )),
        }
    }
    let Some(accounts) = Accounts::from_checked(accounts) else {
        if problems.is_empty() {
            problems.push(problem(
                "/accounts".into(),
                "no account is configured".into(),
            ));
        }
        return Err(problems);
    };
    let rules_doc = serde_json::json!({ "rules": raw.rules });
    match Rules::check(&rules_doc, &accounts) {
        Ok(rules) if problems.is_empty() => Ok(Document { accounts, rules }),
        Ok(_) => Err(problems),
        Err(found) => {
            problems.extend(found.into_iter().map(|(index, e)| {
                // In a rule: its index, then the field within it; outside one (the rules
                // list's own shape): the field is the path from the top.
                let rule = index.map(|i| format!("/rules/{i}")).unwrap_or_default();
                problem(format!("{rule}{}", e.pointer), e.message)
            }));
            Err(problems)
        }
    }
}

/// The passcodes in the processor's secret document (`CLEVERTAP_PASSCODES`), or why not.
pub fn passcodes_from(value: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    match value {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                // Never echo the value.
                _ => Err(format!("{PASSCODES_KEY}.{k} is not a string")),
            })
            .collect(),
        Some(_) => Err(format!(
            "{PASSCODES_KEY} is not an object of account name to passcode"
        )),
    }
}

#[cfg(test)]
mod tests;
