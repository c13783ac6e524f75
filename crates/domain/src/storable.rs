//! What the parsers do so that every row built from a parsed webhook can be written: free-form
//! maps keep only numbers and keys DynamoDB can store, and a CleverTap profile whose row would exceed
//! DynamoDB's item limit is refused naming the profile. (Typed fields are bounded by their types:
//! ids by [`MAX_ID_BYTES`], text by `MAX_TEXT_BYTES`, numbers by DynamoDB's range, nesting by
//! `MAX_NESTING_DEPTH`; see `limits`.)

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::campaign_rows::campaign_rows;
use crate::clevertap::CampaignWebhook;
use crate::envelope::Envelope;
use crate::error::{join, ParseError};
use crate::limits::{
    dynamodb_number_fits, DYNAMODB_MAX_ATTRIBUTE_NAME_BYTES, DYNAMODB_MAX_ITEM_BYTES,
};
use crate::normalize::Row;
use crate::source::Source;

#[cfg(doc)]
use crate::limits::MAX_ID_BYTES;

/// Makes a free-form map (CleverTap `key_values`, `profileData`, …) at `path` storable:
///
/// - every number DynamoDB cannot store (`1e300`, `1e-200`) becomes a string holding its JSON text
///   (`"1e+300"`), so the value is kept exactly and the profile keeps its row; numbers DynamoDB
///   can store stay numbers;
/// - a key DynamoDB cannot take as an attribute name (empty, or over
///   [`DYNAMODB_MAX_ATTRIBUTE_NAME_BYTES`]) is refused, naming it: there is no faithful way to
///   store it.
pub(crate) fn storable_map(path: &str, map: &mut Map<String, Value>) -> Result<(), ParseError> {
    map_ready(map).map_err(|tokens| refused_key(path, tokens))
}

/// [`storable_map`] for any value.
pub(crate) fn storable_value(path: &str, v: &mut Value) -> Result<(), ParseError> {
    ready(v).map_err(|tokens| refused_key(path, tokens))
}

fn refused_key(path: &str, tokens: Vec<String>) -> ParseError {
    let pointer = tokens
        .iter()
        .rev()
        .fold(path.to_owned(), |p, t| join(&p, t));
    ParseError::new(
        pointer,
        format!(
            "a key must be 1 to {DYNAMODB_MAX_ATTRIBUTE_NAME_BYTES} bytes long (DynamoDB \
             attribute names)"
        ),
    )
}

/// On a refused key: the path to it, innermost token first.
fn ready(v: &mut Value) -> Result<(), Vec<String>> {
    match v {
        Value::Number(n) if n.is_f64() => {
            let text = n.to_string();
            if !dynamodb_number_fits(&text) {
                *v = Value::String(text);
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().enumerate().try_for_each(|(i, x)| {
            ready(x).map_err(|mut t| {
                t.push(i.to_string());
                t
            })
        }),
        Value::Object(map) => map_ready(map),
        _ => Ok(()),
    }
}

fn map_ready(map: &mut Map<String, Value>) -> Result<(), Vec<String>> {
    for (k, x) in map.iter_mut() {
        if k.is_empty() || k.len() > DYNAMODB_MAX_ATTRIBUTE_NAME_BYTES {
            return Err(vec![k.clone()]);
        }
        ready(x).map_err(|mut t| {
            t.push(k.clone());
            t
        })?;
    }
    Ok(())
}

/// The size DynamoDB counts for an item: attribute names plus values (strings by their UTF-8
/// bytes, numbers one byte per two significant digits plus one, maps and lists three bytes plus
/// one per element plus their elements and, for maps, their keys). Numbers are counted one byte
/// high, so the figure never falls short of DynamoDB's.
pub(crate) fn item_size(row: &Row) -> usize {
    "pk".len()
        + row.pk.len()
        + "sk".len()
        + row.sk.len()
        + row
            .attrs
            .iter()
            .map(|(k, v)| k.len() + value_size(v))
            .sum::<usize>()
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::String(s) => s.len(),
        Value::Number(n) => {
            let text = n.to_string();
            let mantissa = text.split(['e', 'E']).next().unwrap_or("");
            let digits = mantissa
                .bytes()
                .filter(u8::is_ascii_digit)
                .skip_while(|&d| d == b'0')
                .count();
            digits.div_ceil(2) + 2
        }
        Value::Array(items) => 3 + items.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        Value::Object(map) => {
            3 + map
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
    }
}

/// Below this body size no campaign row can reach DynamoDB's item limit, so rows are only built
/// and measured for larger bodies. A row holds the campaign's key-values and its profile (every
/// occurrence of it); each is a distinct part of the body, and DynamoDB counts no value at more
/// than twice its JSON text, so a row is at most about three times the body plus a few hundred
/// bytes of attribute names: an eighth of the limit leaves a wide margin.
const MEASURE_ROWS_ABOVE_BYTES: usize = DYNAMODB_MAX_ITEM_BYTES / 8;

/// Refuses a campaign webhook one of whose rows would be over DynamoDB's item limit, naming the
/// (last) profile of that row. `single` is true when `profiles` was one object.
pub(crate) fn check_campaign_rows(
    c: &CampaignWebhook,
    body_len: usize,
    single: bool,
) -> Result<(), ParseError> {
    if body_len <= MEASURE_ROWS_ABOVE_BYTES {
        return Ok(());
    }
    // Message id and arrival time have fixed lengths, so any instant gives the same sizes.
    let env = Envelope::new(
        Source::ClevertapWebhook,
        String::new(),
        OffsetDateTime::UNIX_EPOCH,
    );
    let mut rows = Vec::with_capacity(c.profiles.len());
    campaign_rows(c, &env, &mut rows);
    for row in rows {
        let size = item_size(&row);
        if size <= DYNAMODB_MAX_ITEM_BYTES {
            continue;
        }
        let key = row.pk.strip_prefix("CT#").unwrap_or(&row.pk);
        let index = c.profiles.iter().rposition(|p| p.key.as_str() == key);
        let path = match index {
            Some(_) if single => "/profiles".to_owned(),
            Some(i) => join("/profiles", i),
            None => String::new(),
        };
        return Err(ParseError::new(
            path,
            format!(
                "this profile's row would be {size} bytes, over DynamoDB's item limit of \
                 {DYNAMODB_MAX_ITEM_BYTES} bytes"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "storable_tests.rs"]
mod tests;
