//! DynamoDB: the single table of structured rows (`pk`, `sk` strings). One-event rows are
//! written as DynamoDB JSON encoded here ([`encode`], sent by [`Table::put_rows`]); latest-state
//! rows one conditional `PutItem` each ([`Table::put_latest`], [`latest`]); reads go through
//! the SDK's types.

mod batch_write;
pub mod encode;
pub mod latest;

pub use latest::{Swapped, REVISION_ATTRIBUTE};

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use hookloop_domain::Row;
use serde_json::{Map, Number, Value};

use crate::error::FromSdk;
use crate::retry::{resend_partial_failures, Backoff};
use crate::AwsError;

/// Items per `BatchWriteItem` request.
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;

/// Keys per `BatchGetItem` request.
pub const MAX_BATCH_GET_KEYS: usize = 100;

pub type Item = HashMap<String, AttributeValue>;

/// JSON to DynamoDB: numbers stay numbers (`N`), objects become maps, arrays lists.
pub fn to_attribute_value(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(canonical_number(n)),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attribute_value).collect()),
        Value::Object(o) => AttributeValue::M(
            o.iter()
                .map(|(k, v)| (k.clone(), to_attribute_value(v)))
                .collect(),
        ),
    }
}

/// DynamoDB's own text for a number: it stores numbers without trailing zeros, so `12.0` is read
/// back as `12`. Writing the canonical form keeps emulators and DynamoDB in agreement.
fn canonical_number(n: &Number) -> String {
    let mut s = String::new();
    encode::write_canonical_number(n, &mut s);
    s
}

/// DynamoDB to JSON, the inverse of [`to_attribute_value`] for the types it writes.
pub fn from_attribute_value(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(n.clone())),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attribute_value).collect()),
        AttributeValue::M(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), from_attribute_value(v)))
                .collect(),
        ),
        other => Value::String(format!("{other:?}")),
    }
}

pub fn item_to_json(item: &Item) -> Map<String, Value> {
    item.iter()
        .map(|(k, v)| (k.clone(), from_attribute_value(v)))
        .collect()
}

pub fn row_to_item(row: &Row) -> Item {
    row_into_item(row.clone())
}

/// [`row_to_item`] without copying: the row's strings move into the item.
pub fn row_into_item(row: Row) -> Item {
    let mut item: Item = HashMap::with_capacity(row.attrs.len() + 2);
    for (k, v) in row.attrs {
        item.insert(k, into_attribute_value(v));
    }
    item.insert("pk".into(), AttributeValue::S(row.pk));
    item.insert("sk".into(), AttributeValue::S(row.sk));
    item
}

/// [`to_attribute_value`], moving strings instead of copying them.
pub fn into_attribute_value(v: Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(n) => AttributeValue::N(canonical_number(&n)),
        Value::String(s) => AttributeValue::S(s),
        Value::Array(a) => AttributeValue::L(a.into_iter().map(into_attribute_value).collect()),
        Value::Object(o) => AttributeValue::M(
            o.into_iter()
                .map(|(k, v)| (k, into_attribute_value(v)))
                .collect(),
        ),
    }
}

#[derive(Clone, Debug)]
pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
    backoff: Backoff,
}

impl Table {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Table {
            client,
            name: name.into(),
            backoff: Backoff::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads items by key with `BatchGetItem` (strongly consistent), 100 keys per request,
    /// re-sending `UnprocessedKeys` with backoff. Returns the items found as JSON, by key.
    pub async fn get_many(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Map<String, Value>>, AwsError> {
        // The sends of one call run one after another; the lock only lets each add its items.
        let found = std::sync::Mutex::new(HashMap::new());
        for chunk in keys.chunks(MAX_BATCH_GET_KEYS) {
            let pending: Vec<Item> = chunk
                .iter()
                .map(|(pk, sk)| {
                    HashMap::from([
                        ("pk".to_owned(), AttributeValue::S(pk.clone())),
                        ("sk".to_owned(), AttributeValue::S(sk.clone())),
                    ])
                })
                .collect();
            let found = &found;
            let sent = resend_partial_failures(&self.backoff, pending, |batch| async move {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(batch))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| {
                        AwsError::local(
                            "dynamodb",
                            "BatchGetItem",
                            "BuildRequest",
                            e.to_string(),
                            false,
                        )
                    })?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("dynamodb", "BatchGetItem", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default()
                {
                    let json = item_to_json(&item);
                    let key = |k: &str| {
                        json.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    if let Ok(mut f) = found.lock() {
                        f.insert((key("pk"), key("sk")), json);
                    }
                }
                Ok(out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.name))
                    .map(|k| k.keys)
                    .unwrap_or_default())
            })
            .await;
            sent.map_err(|u| {
                u.into_error("dynamodb", "BatchGetItem", "UnprocessedKeys", "keys", "")
            })?;
        }
        Ok(found.into_inner().unwrap_or_default())
    }

    /// Every item of partition `pk` (strongly consistent), one `Query` per 1 MB page, as JSON
    /// in sort key order. For small partitions: it holds the whole partition in memory.
    pub async fn query_partition(&self, pk: &str) -> Result<Vec<Map<String, Value>>, AwsError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.name)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("dynamodb", "Query", e))?;
            items.extend(out.items.unwrap_or_default().iter().map(item_to_json));
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", "GetItem", e))?;
        Ok(out.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attribute_values_with_numbers_as_numbers() {
        let v = json!({"n": 36.92, "i": -7, "s": "x", "b": true, "z": null, "l": [1, "a"], "m": {"k": {"d": 2}}});
        let av = to_attribute_value(&v);
        match &av {
            AttributeValue::M(m) => {
                assert_eq!(m["n"], AttributeValue::N("36.92".into()));
                assert_eq!(m["i"], AttributeValue::N("-7".into()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(from_attribute_value(&av), v);
    }

    #[test]
    fn integral_floats_are_written_as_dynamodb_returns_them() {
        assert_eq!(
            to_attribute_value(&json!(12.0)),
            AttributeValue::N("12".into())
        );
        assert_eq!(
            to_attribute_value(&json!(-0.5)),
            AttributeValue::N("-0.5".into())
        );
        assert_eq!(
            to_attribute_value(&json!(1e300)),
            AttributeValue::N(json!(1e300).to_string()),
            "too large to be exact: left alone"
        );
        assert_eq!(
            to_attribute_value(&json!(u64::MAX)),
            AttributeValue::N(u64::MAX.to_string())
        );
    }

    #[test]
    fn rows_carry_their_keys() {
        let row = Row {
            pk: "USER#u".into(),
            sk: "PROFILE".into(),
            attrs: json!({"a": 1}).as_object().cloned().unwrap(),
        };
        let item = row_to_item(&row);
        assert_eq!(item["pk"], AttributeValue::S("USER#u".into()));
        assert_eq!(item["sk"], AttributeValue::S("PROFILE".into()));
        assert_eq!(item["a"], AttributeValue::N("1".into()));
    }
}
