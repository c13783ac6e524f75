//! Would the stores take it? A pure check of rows, stream records and queue messages against the
//! services' published limits, so the in-memory property test can tell "answered 200" from
//! "answered 200 and storable" without the emulator (which enforces few of them).
//!
//! Rows are read as `hookloop_aws::dynamodb` writes them (numbers through its own conversion).

use hookloop_aws::dynamodb::to_attribute_value;
use hookloop_domain::{GeofenceEvent, Row};
use serde_json::Value;

/// DynamoDB: partition key value, UTF-8 bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB: sort key value, UTF-8 bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// DynamoDB: one item, names and values.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB: nested maps and lists.
pub const MAX_NESTING_LEVELS: usize = 32;
/// DynamoDB: significant digits of a number.
pub const MAX_NUMBER_DIGITS: usize = 38;
/// DynamoDB: numbers from 1E-130 to 9.99…E+125 in magnitude (and zero).
pub const MIN_NUMBER_EXPONENT: i64 = -130;
pub const MAX_NUMBER_EXPONENT: i64 = 125;
/// DynamoDB: attribute names (at any depth) are 1 to 65,535 bytes.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 65_535;
/// Kinesis: a partition key is 1 to 256 Unicode characters.
pub const MAX_KINESIS_PARTITION_KEY_CHARS: usize = 256;
/// Kinesis: data plus partition key of one record.
pub const MAX_KINESIS_RECORD_BYTES: usize = 1024 * 1024;

/// One reason a store would refuse something: a category (for tallies) and the details.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub category: &'static str,
    pub detail: String,
}

fn problem(category: &'static str, detail: String) -> Problem {
    Problem { category, detail }
}

/// Why DynamoDB would refuse `row` (empty when it would take it).
pub fn row_problems(row: &Row) -> Vec<Problem> {
    let mut out = Vec::new();
    let key = |name: &str, v: &str, limit: usize, out: &mut Vec<Problem>| {
        if v.is_empty() || v.len() > limit {
            out.push(problem(
                "dynamodb key length",
                format!(
                    "{name} of {} bytes (1..={limit}) in row {}",
                    v.len(),
                    short(&row.pk)
                ),
            ));
        }
    };
    key("pk", &row.pk, MAX_PARTITION_KEY_BYTES, &mut out);
    key("sk", &row.sk, MAX_SORT_KEY_BYTES, &mut out);
    let mut size = "pk".len() + row.pk.len() + "sk".len() + row.sk.len();
    for (name, value) in &row.attrs {
        size += name.len();
        size += walk(value, 1, &format!("/{name}"), &mut out);
    }
    if size > MAX_ITEM_BYTES {
        out.push(problem(
            "dynamodb item over 400 KB",
            format!("row {} is about {size} bytes", short(&row.pk)),
        ));
    }
    out
}

/// The size DynamoDB counts for `v`, collecting the problems below it. `level` is the nesting
/// level `v` would sit at if it is a map or a list.
fn walk(v: &Value, level: usize, at: &str, out: &mut Vec<Problem>) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::String(s) => s.len(),
        Value::Number(_) => {
            let text = to_attribute_value(v).as_n().cloned().unwrap_or_default();
            match number_digits(&text) {
                Ok(digits) => digits / 2 + 1,
                Err(why) => {
                    out.push(problem("dynamodb number", format!("{at}: {text} ({why})")));
                    1
                }
            }
        }
        Value::Array(_) | Value::Object(_) if level > MAX_NESTING_LEVELS => {
            out.push(problem(
                "dynamodb nesting over 32 levels",
                format!("{at} is at level {level}"),
            ));
            // Not walked further: the first level too deep is the one to report.
            3
        }
        Value::Array(items) => {
            3 + items
                .iter()
                .enumerate()
                .map(|(i, x)| 1 + walk(x, level + 1, &format!("{at}/{i}"), out))
                .sum::<usize>()
        }
        Value::Object(map) => {
            let mut size = 3;
            for (k, x) in map {
                if k.is_empty() || k.len() > MAX_ATTRIBUTE_NAME_BYTES {
                    out.push(problem(
                        "dynamodb attribute name length",
                        format!("{at}: a map key of {} bytes", k.len()),
                    ));
                }
                size += 1 + k.len() + walk(x, level + 1, &format!("{at}/{}", short(k)), out);
            }
            size
        }
    }
}

/// The significant digits of a DynamoDB number in `text`, or why DynamoDB would refuse it.
pub fn number_digits(text: &str) -> Result<usize, String> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], &unsigned[i + 1..]),
        None => (unsigned, "0"),
    };
    let exponent: i64 = exponent
        .trim_start_matches('+')
        .parse()
        .map_err(|_| "not a number".to_owned())?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
    {
        return Err("not a number".into());
    }
    let digits: String = format!("{int}{frac}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return Ok(1);
    }
    // The power of ten of the first significant digit.
    let magnitude = int.len() as i64 - leading as i64 - 1 + exponent;
    if significant.len() > MAX_NUMBER_DIGITS {
        return Err(format!("{} significant digits", significant.len()));
    }
    if magnitude > MAX_NUMBER_EXPONENT {
        return Err("overflow: over 9.99E+125".into());
    }
    if magnitude < MIN_NUMBER_EXPONENT {
        return Err("underflow: under 1E-130".into());
    }
    Ok(significant.len())
}

/// Why Kinesis would refuse the record of `e`.
pub fn record_problems(e: &GeofenceEvent) -> Vec<Problem> {
    let mut out = Vec::new();
    let key = e.partition_key();
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KINESIS_PARTITION_KEY_CHARS {
        out.push(problem(
            "kinesis partition key length",
            format!("partition key of {chars} characters (1..=256)"),
        ));
    }
    let data = e.to_json_bytes();
    if serde_json::from_slice::<Value>(&data).is_err() {
        out.push(problem("kinesis record data", "not JSON".into()));
    }
    if data.len() + key.len() > MAX_KINESIS_RECORD_BYTES {
        out.push(problem(
            "kinesis record over 1 MiB",
            format!("{} bytes", data.len() + key.len()),
        ));
    }
    out
}

/// Why SQS would refuse a message body: it takes only #x9 | #xA | #xD | #x20-#xD7FF |
/// #xE000-#xFFFD | #x10000-#x10FFFF.
pub fn sqs_body_problems(body: &str) -> Vec<Problem> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    match body.chars().find(|c| !allowed(*c)) {
        Some(c) => vec![problem(
            "sqs message character",
            format!("the queued message holds {:?}, which SQS refuses", c),
        )],
        None => Vec::new(),
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_owned()
    } else {
        format!(
            "{}…({} bytes)",
            s.chars().take(40).collect::<String>(),
            s.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_as_dynamodb_checks_them() {
        for ok in [
            "0",
            "-0",
            "1e-130",
            "9.9999999999999999999999999999999999999e125",
            "12.5",
            "1e125",
        ] {
            assert!(number_digits(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1e126",
            "1e-131",
            "1e300",
            "5e-324",
            "123456789012345678901234567890123456789",
        ] {
            assert!(number_digits(bad).is_err(), "{bad}");
        }
    }
}
