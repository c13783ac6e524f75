//! What the parsers do so that every row built from a parsed webhook can be written: free-form
//! maps keep only numbers and keys DynamoDB can store, and a CleverTap profile whose row would exceed
//! DynamoDB's item limit is refused naming the profile. (Typed fields are bounded by their types:
//! ids by [`MAX_ID_BYTES`], text by `MAX_TEXT_BYTES`, numbers by DynamoDB's range, nesting by
//! `MAX_NESTING_DEPTH`; see `limits`.)

use serde_json::{Map, Value};
use time::OffsetDateTime;

#[cfg(doc)]
use crate::campaign_rows::campaign_rows;
use crate::campaign_rows::{occurrence, shared_attrs, Occurrences};
use crate::clevertap::CampaignWebhook;
use crate::envelope::Envelope;
use crate::error::{join, ParseError};
use crate::limits::{
    dynamodb_number_fits, DYNAMODB_MAX_ATTRIBUTE_NAME_BYTES, DYNAMODB_MAX_ITEM_BYTES,
};
#[cfg(test)]
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
///
/// `path` is only called for a refusal, so the pointer costs nothing on the way that succeeds.
pub(crate) fn storable_map(
    path: impl FnOnce() -> String,
    map: &mut Map<String, Value>,
) -> Result<(), ParseError> {
    map_ready(map).map_err(|tokens| refused_key(path(), tokens))
}

/// [`storable_map`] for any value.
pub(crate) fn storable_value(
    path: impl FnOnce() -> String,
    v: &mut Value,
) -> Result<(), ParseError> {
    ready(v).map_err(|tokens| refused_key(path(), tokens))
}

fn refused_key(path: String, tokens: Vec<String>) -> ParseError {
    let pointer = tokens.iter().rev().fold(path, |p, t| join(&p, t));
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
#[cfg(test)]
pub(crate) fn item_size(row: &Row) -> usize {
    "pk".len() + row.pk.len() + "sk".len() + row.sk.len() + entries_size(&row.attrs, 0)
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
        Value::Object(map) => 3 + entries_size(map, 1),
    }
}

/// Below this body size no campaign row can reach DynamoDB's item limit, so rows are only
/// measured for larger bodies. A row holds the campaign's key-values and its profile (every
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
    for (i, size) in campaign_row_sizes(c) {
        if size <= DYNAMODB_MAX_ITEM_BYTES {
            continue;
        }
        let path = if single {
            "/profiles".to_owned()
        } else {
            join("/profiles", i)
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

/// The `item_size` of each row [`campaign_rows`] builds, in their order, with the index of the
/// profile that makes it, worked out without building the rows (which would copy every value of
/// the body once more).
pub(crate) fn campaign_row_sizes(c: &CampaignWebhook) -> Vec<(usize, usize)> {
    // Message id and arrival time have fixed lengths, so any instant gives the same sizes.
    let env = Envelope::received(
        Source::ClevertapWebhook,
        String::new(),
        OffsetDateTime::UNIX_EPOCH,
    );
    let (sk, shared) = shared_attrs(c, &env);
    let fixed = "pk".len() + "CT#".len() + "sk".len() + sk.len() + entries_size(&shared, 0);
    let campaign_key_values = entries_size(&c.key_values, 1);
    let text = |name: &str, v: &Option<String>| v.as_ref().map_or(0, |s| name.len() + s.len());
    let occurrences = Occurrences::of(c);
    let mut sizes = Vec::with_capacity(occurrences.rows());
    for (i, p) in c.profiles.iter().enumerate() {
        if !occurrences.makes_row(i) {
            continue;
        }
        // The campaign's key-values, less those the profile's own replace, plus the profile's.
        let replaced: usize = p
            .key_values
            .keys()
            .filter_map(|k| c.key_values.get_key_value(k))
            .map(|(k, v)| 1 + k.len() + value_size(v))
            .sum();
        let key_values = 3 + campaign_key_values - replaced + entries_size(&p.key_values, 1);
        let earlier = occurrences.earlier(i);
        let earlier = if earlier.is_empty() {
            0
        } else {
            "earlier_occurrences".len()
                + 3
                + earlier
                    .iter()
                    .map(|&j| 1 + value_size(&occurrence(&c.profiles[j])))
                    .sum::<usize>()
        };
        let size = fixed
            + p.key.as_str().len()
            + text("object_id", &p.object_id)
            + text("identity", &p.identity)
            + text("email", &p.email)
            + text("name", &p.name)
            + text("phone", &p.phone)
            + "key_values".len()
            + key_values
            + "profile_data".len()
            + 3
            + entries_size(&p.profile_data, 1)
            + p.event_properties
                .as_ref()
                .map_or(0, |m| "event_properties".len() + 3 + entries_size(m, 1))
            + p.all_identities
                .as_ref()
                .map_or(0, |v| "all_identities".len() + value_size(v))
            + earlier;
        sizes.push((i, size));
    }
    sizes
}

/// The size of `map`'s entries: `per_entry` bytes each (1 inside a map, 0 for an item's
/// attributes), plus their names and values.
fn entries_size(map: &Map<String, Value>, per_entry: usize) -> usize {
    map.iter()
        .map(|(k, v)| per_entry + k.len() + value_size(v))
        .sum()
}

#[cfg(test)]
#[path = "storable_tests.rs"]
mod tests;
