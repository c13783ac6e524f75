//! Load-back rules: which CleverTap records a webhook produces, written as data
//! (`LOADBACK_RULES`), checked once at start-up.
//!
//! Rules read the same items the processor writes to the table (one per CleverTap profile,
//! export alert, location event, trip or user; see README "Data layout"), so a rule's JSON
//! pointers name fields in their canonical form (`/object_id`, `/key_values/coupon`,
//! `/event_type`) whatever casing or shape the sender used.
//!
//! By job: `file` is the rules document (its serde types) and reading it, `compile` checks
//! each rule into its compiled form, `apply` makes records from the stored rows, and `pointers`
//! handles the JSON pointers and field paths rules name.

use hookloop_domain::{pointer, Source};
use serde_json::Value;

use crate::record::{IdentityField, Record, RecordType};

mod apply;
mod compile;
mod file;
mod pointers;

pub use apply::epoch_seconds;
pub use file::Conversion;

/// A rules file that is wrong: names the rule (by `name`, else its position) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LOADBACK_RULES: rule {rule}: {field}: {message}")]
pub struct RulesError {
    pub rule: String,
    /// The field as people read it: `properties.x`, `identity[0]`.
    pub field: String,
    /// The same field as a JSON pointer (RFC 6901) within the rule, or from the top of the
    /// rules document when the error is in no rule: `/properties/x`, `/identity/0`.
    pub pointer: String,
    pub message: String,
}

/// A field of a rule, named both ways a [`RulesError`] names it. Built from the keys
/// themselves, so a property or `when` key holding `.`, `[` or `/` is still pointed at
/// exactly (the dotted name alone could not tell `a.b` from `a` then `b`).
#[derive(Debug, Clone)]
pub(super) struct Field {
    shown: String,
    pointer: String,
}

impl Field {
    /// A key of the rule itself.
    pub(super) fn key(key: &str) -> Self {
        Field {
            shown: key.to_owned(),
            pointer: pointer::join("", key),
        }
    }

    /// A key within this field.
    pub(super) fn then(self, key: &str) -> Self {
        Field {
            shown: format!("{}.{key}", self.shown),
            pointer: pointer::join(&self.pointer, key),
        }
    }

    /// An item of this list.
    pub(super) fn at(self, index: usize) -> Self {
        Field {
            shown: format!("{}[{index}]", self.shown),
            pointer: pointer::join(&self.pointer, index),
        }
    }
}

impl From<&str> for Field {
    fn from(key: &str) -> Self {
        Field::key(key)
    }
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

impl Rules {
    /// How many rules are enabled.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn rule_err(label: &str, field: impl Into<Field>, message: impl Into<String>) -> RulesError {
    let field = field.into();
    RulesError {
        rule: label.to_owned(),
        field: field.shown,
        pointer: field.pointer,
        message: message.into(),
    }
}

#[cfg(test)]
mod test_support {
    use serde_json::{Map, Value};

    use super::{Rules, RulesError};
    use crate::account::Accounts;

    fn accounts() -> Accounts {
        Accounts::from_json(
            r#"{"default": {"account_id": "A", "passcode": "p", "region": "in1"},
                "eu": {"account_id": "B", "passcode": "q", "region": "eu"}}"#,
            3,
        )
        .unwrap()
    }

    pub(super) fn rules(v: Value) -> Result<Rules, RulesError> {
        Rules::parse(&v.to_string(), &accounts())
    }

    pub(super) fn item(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }
}
