//! What the stores can hold, in one place. The parsers refuse (or, for free-form maps, convert)
//! anything that could never be written, so a webhook answered 200 is a webhook that can be
//! stored: nothing is queued only to be dead-lettered later.
//!
//! The service limits are AWS's documented quotas; the hookloop bounds below them (`MAX_ID_BYTES`,
//! `MAX_TEXT_BYTES`, `MAX_NESTING_DEPTH`) are derived from them so that every row and record built
//! from a parsed webhook fits (tested in `storable`).

/// DynamoDB: the largest partition key value (`pk`), in UTF-8 bytes.
pub const DYNAMODB_MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB: the largest sort key value (`sk`), in UTF-8 bytes.
pub const DYNAMODB_MAX_SORT_KEY_BYTES: usize = 1024;
/// DynamoDB: the largest item (attribute names and values together), in bytes.
pub const DYNAMODB_MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB: how deep maps and lists may nest in an attribute.
pub const DYNAMODB_MAX_NESTING_LEVELS: usize = 32;
/// DynamoDB: the longest attribute name, at any depth (map keys too), in bytes; the shortest is 1.
pub const DYNAMODB_MAX_ATTRIBUTE_NAME_BYTES: usize = 65_535;
/// DynamoDB numbers: at most this many significant digits.
pub const DYNAMODB_MAX_NUMBER_DIGITS: usize = 38;
/// DynamoDB numbers: the smallest non-zero magnitude is 1E-130 ...
pub const DYNAMODB_MIN_NUMBER_EXPONENT: i64 = -130;
/// ... and the largest is 9.9999999999999999999999999999999999999E+125.
pub const DYNAMODB_MAX_NUMBER_EXPONENT: i64 = 125;

/// Kinesis: the largest partition key, in Unicode characters (the geofence stream's partition key
/// is the user id).
pub const KINESIS_MAX_PARTITION_KEY_CHARS: usize = 256;
/// Kinesis: the largest record (data and partition key), in bytes.
pub const KINESIS_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The longest fixed part of a sort key around an id: `CAMPAIGN#<targetId>#<26-character message
/// id>` (36 bytes besides the target id); `LOC#<24-character time>#<event id>` is 29 and
/// `STATUS#<24-character time>#<status>` 32.
pub const LONGEST_SORT_KEY_FRAME: usize = "CAMPAIGN#".len() + 1 + 26;

/// The longest id (in UTF-8 bytes) accepted in any id field. Ids go into keys
/// (`USER#<user id>`, `LOC#<time>#<event id>`, `CAMPAIGN#<targetId>#<message id>`, …); this
/// bound keeps every key within DynamoDB's key limits whatever id it holds.
pub const MAX_ID_BYTES: usize = DYNAMODB_MAX_SORT_KEY_BYTES - LONGEST_SORT_KEY_FRAME;

/// The longest user id of a location event, in characters: it is the geofence stream's Kinesis
/// partition key.
pub const MAX_USER_ID_CHARS: usize = KINESIS_MAX_PARTITION_KEY_CHARS;

/// The longest free-text field (event type, geofence tag and description, trip status, CleverTap
/// email and name, export partner, …), in UTF-8 bytes. A location row holds at most three such
/// fields and a geofence record two (each escaped to at most six bytes per byte), so with ids
/// bounded by [`MAX_ID_BYTES`] every row stays under [`DYNAMODB_MAX_ITEM_BYTES`] and every
/// record under [`KINESIS_MAX_RECORD_BYTES`].
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// How deep a body may nest, counting the body's own object as level 1. Every stored map or list
/// (CleverTap `key_values`, `profileData`, …) is a part of the body below its top level, so it
/// then nests at most 31 levels: within [`DYNAMODB_MAX_NESTING_LEVELS`]. The same bound applies
/// to every source and to unknown fields, so whatever the body, the answer is the same.
pub const MAX_NESTING_DEPTH: usize = DYNAMODB_MAX_NESTING_LEVELS;

/// Whether DynamoDB can store the number written as `text` (JSON number syntax) exactly: zero, or
/// at most [`DYNAMODB_MAX_NUMBER_DIGITS`] significant digits with a magnitude within
/// 1E-130..=9.99…E+125.
pub fn dynamodb_number_fits(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => match t[i + 1..].trim_start_matches('+').parse::<i64>() {
            Ok(e) => (&t[..i], e),
            Err(_) => return false,
        },
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return true; // zero
    };
    let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
    if last - first + 1 > DYNAMODB_MAX_NUMBER_DIGITS {
        return false;
    }
    // The value is d.ddd × 10^e10 with the first significant digit at position `first`.
    let e10 = exp.saturating_add(int.len() as i64 - 1 - first as i64);
    (DYNAMODB_MIN_NUMBER_EXPONENT..=DYNAMODB_MAX_NUMBER_EXPONENT).contains(&e10)
}

/// Whether DynamoDB can store `v` exactly, as it is written (serde_json's shortest text).
/// An `f64` has at most 17 significant digits, so only its magnitude matters; compared without
/// formatting it (this runs for every coordinate).
pub fn dynamodb_f64_fits(v: f64) -> bool {
    let a = v.abs();
    a == 0.0 || (1e-130..1e126).contains(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_bounds_keep_every_key_within_dynamodb() {
        assert_eq!(MAX_ID_BYTES, 988);
        // `<prefix><24-character time>#<id>` sort keys have shorter frames than the longest.
        let frames = ["LOC#".len() + 25, "STATUS#".len() + 25];
        assert!(frames.iter().all(|f| *f <= LONGEST_SORT_KEY_FRAME));
        let pk_prefixes = ["USER#", "TRIP#", "CT#", "EXPORT#", "DEDUP#"];
        assert!(pk_prefixes
            .iter()
            .all(|p| p.len() + MAX_ID_BYTES <= DYNAMODB_MAX_PARTITION_KEY_BYTES));
    }

    #[test]
    fn numbers_dynamodb_can_store_and_cannot() {
        for ok in [
            "0",
            "-0",
            "0.0",
            "0e999",
            "1",
            "-7",
            "36.92",
            "1e-130",
            "1E-130",
            "1e125",
            "9.9999999999999999999999999999999999999E+125",
            "12345678901234567890123456789012345678",
            "0.000123",
            "100e-2",
            "18446744073709551615",
            "1.7976931348623157e125",
        ] {
            assert!(dynamodb_number_fits(ok), "{ok}");
        }
        for bad in [
            "1e300",
            "1e-200",
            "1e126",
            "9.99e-131",
            "1e308",
            "-1e300",
            "123456789012345678901234567890123456789",
            "1.7976931348623157e308",
            "abc",
            "",
            "1e",
        ] {
            assert!(!dynamodb_number_fits(bad), "{bad}");
        }
        assert!(dynamodb_f64_fits(0.0) && dynamodb_f64_fits(40.7484) && dynamodb_f64_fits(1e125));
        assert!(
            !dynamodb_f64_fits(1e308) && !dynamodb_f64_fits(1e-200) && !dynamodb_f64_fits(f64::NAN)
        );
    }
}
