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

/// True when any of the eight bytes in `w` may need escaping: below 0x20, `"`, `\`, or the
/// lead byte of U+FFFE / U+FFFF.
fn needs_escape(w: u64) -> bool {
    // Bytes below 0x20 (bytes of 0x80 and above, inside multi-byte characters, never match).
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let zero_at = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero_at(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_at(w ^ (ONES * u64::from(b'\\')));
    let lead = zero_at(w ^ (ONES * u64::from(NONCHAR_LEAD)));
    (control | quote | backslash | lead) & HIGHS != 0
}

fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == NONCHAR_LEAD
}

/// The position of the first byte to escape in `bytes`, or its length.
fn next_escape(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        // `chunks_exact(8)` only yields eight bytes; were it not, 0 sends them the slow way.
        let word = chunk.try_into().map(u64::from_le_bytes).unwrap_or(0);
        if needs_escape(word) {
            break;
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
    let mut start = 0;
    while start < bytes.len() {
        let i = start + next_escape(&bytes[start..]);
        // Every escaped byte is ASCII, so `start` and `i` are character boundaries.
        out.push_str(&s[start..i]);
        let Some(&b) = bytes.get(i) else { break };
        if b == NONCHAR_LEAD {
            // Always the first of three bytes in a `str`, so `i + 3` is a character boundary.
            let end = (i + 3).min(bytes.len());
            match &bytes[i..end] {
                [_, 0xBF, 0xBE] => out.push_str("\\ufffe"),
                [_, 0xBF, 0xBF] => out.push_str("\\uffff"),
                _ => out.push_str(s.get(i..end).unwrap_or_default()),
            }
            start = end;
            continue;
        }
        out.push('\\');
        match b {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'\n' => out.push('n'),
            b'\r' => out.push('r'),
            b'\t' => out.push('t'),
            0x08 => out.push('b'),
            0x0c => out.push('f'),
            _ => {
                out.push_str("u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
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
