//! Writing a string as a JSON string literal, fast: the envelope and the raw archive carry each
//! webhook body (kilobytes) as one JSON string, and escaping it byte by byte was the largest
//! single cost of preparing a webhook. Eight bytes are checked at a time (most bodies have few
//! characters to escape: quotes, backslashes, control characters); the output is byte for byte
//! what `serde_json` writes, except for the noncharacters U+FFFE and U+FFFF, which are written
//! escaped (`\ufffe`, `\uffff`): SQS refuses a message that holds them raw
//! (`InvalidMessageContents`), and the escaped form reads back as the same string.

const HEX: &[u8; 16] = b"0123456789abcdef";
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The first byte of U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`), and of every other character
/// from U+F000 to U+FFFF: a candidate, looked at whole.
const NONCHAR_LEAD: u8 = 0xEF;

/// The high bit of each of the eight bytes of `w` (little-endian) that may need escaping: below
/// 0x20, `"`, `\`, or the lead byte of U+FFFE / U+FFFF. Bits above the lowest one may be
/// false (a borrow carries into the next byte), but the lowest one is always exact: no borrow
/// reaches the first byte that matches.
fn escape_mask(w: u64) -> u64 {
    // Bytes below 0x20 (bytes of 0x80 and above, inside multi-byte characters, never match).
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let zero_at = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero_at(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_at(w ^ (ONES * u64::from(b'\\')));
    let lead = zero_at(w ^ (ONES * u64::from(NONCHAR_LEAD)));
    (control | quote | backslash | lead) & HIGHS
}

fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == NONCHAR_LEAD
}

/// The position of the first byte to escape in `bytes`, or its length.
fn next_escape(bytes: &[u8]) -> usize {
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        // `chunks_exact(8)` only yields eight bytes; were it not, the bytes go the slow way.
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let mask = escape_mask(u64::from_le_bytes(word));
        if mask != 0 {
            return at + (mask.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| must_escape(b))
        .map_or(bytes.len(), |p| at + p)
}

/// Appends `s` to `out` as a JSON string literal, quotes included.
pub fn push_json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    // `s[start..]` is still to be copied; bytes to escape are looked for from `from` on. Every
    // escaped byte is ASCII, so both are character boundaries.
    let (mut start, mut from) = (0, 0);
    while from < bytes.len() {
        let i = from + next_escape(&bytes[from..]);
        let Some(&b) = bytes.get(i) else { break };
        out.push_str(&s[start..i]);
        from = i + 1;
        start = from;
        match b {
            // A backslash before it, and the byte itself copied with what follows.
            b'"' | b'\\' => {
                out.push('\\');
                start = i;
            }
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            NONCHAR_LEAD => {
                // Always the first of three bytes in a `str`, so `i + 3` is a boundary.
                let end = (i + 3).min(bytes.len());
                match &bytes[i..end] {
                    [_, 0xBF, 0xBE] => out.push_str("\\ufffe"),
                    [_, 0xBF, 0xBF] => out.push_str("\\uffff"),
                    _ => out.push_str(s.get(i..end).unwrap_or_default()),
                }
                (start, from) = (end, end);
            }
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = String::new();
        push_json_string(&mut out, s);
        out
    }

    #[test]
    fn every_ascii_character_is_written_as_serde_json_writes_it() {
        for b in 0u8..=0x7f {
            let c = char::from(b);
            // Alone, and at every position of a word, so the eight-byte check sees it too.
            for pad in 0..17 {
                let s = format!("{}{c}{}", "a".repeat(pad), "b".repeat(16 - pad));
                assert_eq!(
                    ours(&s),
                    serde_json::to_string(&s).unwrap(),
                    "byte {b:#x} at {pad}"
                );
            }
        }
    }

    #[test]
    fn multi_byte_characters_and_bodies_are_kept_as_serde_json_keeps_them() {
        let samples = [
            "",
            "é",
            "日本語のテキスト\u{1F600}\"\\\n\u{7f}\u{80}\u{ff}\u{2028}",
            r#"{"event": {"_id": "66329c1e", "location": {"coordinates": [-73.9, 40.7]}}}"#,
            "{ \"b\" : 1,\n  \"a\":\"é\\u00e9\" }\n\t\r\u{0}\u{1f}",
        ];
        for s in samples {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        // A longer mixed body, every offset.
        let body: String = (0..600u32)
            .map(|i| match i % 37 {
                0 => '"',
                5 => '\\',
                9 => '\n',
                13 => 'ß',
                21 => '\u{3}',
                _ => char::from(b'a' + (i % 26) as u8),
            })
            .collect();
        for start in 0..40 {
            let s = &body[body.char_indices().nth(start).map(|(i, _)| i).unwrap_or(0)..];
            assert_eq!(ours(s), serde_json::to_string(s).unwrap());
        }
    }

    /// SQS accepts only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF.
    fn sqs_accepts(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }

    #[test]
    fn noncharacters_sqs_refuses_are_escaped_and_read_back_as_they_were() {
        for c in ['\u{FFFE}', '\u{FFFF}'] {
            for pad in 0..17 {
                let s = format!(
                    "{}{c}\u{F8FF}\u{FFFD}{}",
                    "a".repeat(pad),
                    "b".repeat(16 - pad)
                );
                let out = ours(&s);
                assert!(out.chars().all(sqs_accepts), "{out:?}");
                assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
                // Everything else is as serde_json writes it.
                let expected = serde_json::to_string(&s)
                    .unwrap()
                    .replace('\u{FFFE}', "\\ufffe")
                    .replace('\u{FFFF}', "\\uffff");
                assert_eq!(out, expected);
            }
        }
    }
}
