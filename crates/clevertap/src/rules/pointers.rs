//! The JSON pointers rules name: reading one in an item, checking one in the rules file, and
//! turning a serde path in the rules document into the rule and field an error names.

use serde_json::{Map, Value};

use super::{rule_err, Field, RulesError};

/// The item field holding the arrival time, every item has it.
pub(super) const RECEIVED_AT: &str = "/received_at";

/// The value at JSON pointer `pointer` (which starts with `/`) in an item, without copying
/// the item into a `Value` first: rules run once per item and rule, on the hot path.
pub(super) fn lookup<'a>(item: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let (first, tail) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let value = item.get(&first.replace("~1", "/").replace("~0", "~"))?;
    if tail.is_empty() {
        Some(value)
    } else {
        value.pointer(tail)
    }
}

/// `rules[2].properties.x.as` -> (`"geofence" (rules[2])`, `properties.x.as`).
pub(super) fn locate(doc: &Value, path: &str) -> (String, String) {
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

pub(super) fn check_pointer(label: &str, field: Field, p: &str) -> Result<(), RulesError> {
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
