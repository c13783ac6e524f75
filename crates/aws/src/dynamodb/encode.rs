//! Rows straight to DynamoDB's JSON wire form (`{"pk":{"S":"..."},"n":{"N":"12"},...}`), the
//! attribute values [`super::row_into_item`] builds, written without building them: no
//! `HashMap<String, AttributeValue>` per row, no second pass by the SDK's serialiser.

use std::fmt;

use hookloop_domain::Row;
use serde_json::{Number, Value};

/// One row as the `Item` of a `PutRequest`: its keys (`pk`, `sk`, as `S`) then its attributes,
/// the same values [`super::row_into_item`] gives (an attribute named `pk` or `sk` loses to the
/// row's key there, so it is left out here).
pub fn encode_row(row: &Row) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + row.pk.len() + row.sk.len() + 32 * row.attrs.len());
    encode_row_into(row, &mut out);
    out
}

/// [`encode_row`], appending to `out`.
pub fn encode_row_into(row: &Row, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"pk":{"S":"#);
    write_str(&row.pk, out);
    out.extend_from_slice(br#"},"sk":{"S":"#);
    write_str(&row.sk, out);
    out.push(b'}');
    for (k, v) in &row.attrs {
        if k == "pk" || k == "sk" {
            continue;
        }
        out.push(b',');
        write_str(k, out);
        out.push(b':');
        write_value(v, out);
    }
    out.push(b'}');
}

/// One JSON value as a DynamoDB attribute value, as [`super::to_attribute_value`] maps it.
pub fn write_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(br#"{"NULL":true}"#),
        Value::Bool(true) => out.extend_from_slice(br#"{"BOOL":true}"#),
        Value::Bool(false) => out.extend_from_slice(br#"{"BOOL":false}"#),
        Value::Number(n) => {
            out.extend_from_slice(br#"{"N":""#);
            // The canonical text is digits, sign, point and exponent: nothing to escape.
            write_canonical_number(n, &mut ByteSink(out));
            out.extend_from_slice(br#""}"#);
        }
        Value::String(s) => {
            out.extend_from_slice(br#"{"S":"#);
            write_str(s, out);
            out.push(b'}');
        }
        Value::Array(a) => {
            out.extend_from_slice(br#"{"L":["#);
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(v, out);
            }
            out.extend_from_slice(b"]}");
        }
        Value::Object(o) => {
            out.extend_from_slice(br#"{"M":{"#);
            for (i, (k, v)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                write_value(v, out);
            }
            out.extend_from_slice(b"}}");
        }
    }
}

/// DynamoDB's own text for a number (see [`super::canonical_number`], which is this into a
/// `String`): integers as they are, integral floats small enough to be exact without `.0`.
pub(super) fn write_canonical_number<W: fmt::Write>(n: &Number, out: &mut W) {
    // Writing to a `String` or a `Vec<u8>` cannot fail.
    let _ = if let Some(u) = n.as_u64() {
        write!(out, "{u}")
    } else if let Some(i) = n.as_i64() {
        write!(out, "{i}")
    } else {
        match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                write!(out, "{}", f as i64)
            }
            _ => write!(out, "{n}"),
        }
    };
}

/// `fmt::Write` into bytes.
struct ByteSink<'a>(&'a mut Vec<u8>);

impl fmt::Write for ByteSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A JSON string literal: `"` and `\` escaped, control characters as their short escape or
/// `\u00XX`; everything else (non-ASCII included) as its UTF-8 bytes.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => br#"\""#,
            b'\\' => br"\\",
            b'\n' => br"\n",
            b'\r' => br"\r",
            b'\t' => br"\t",
            0x08 => br"\b",
            0x0c => br"\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(br"\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
