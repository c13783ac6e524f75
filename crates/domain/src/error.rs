use std::fmt;

/// Why a webhook body was refused, and where.
///
/// `path` is a JSON pointer (RFC 6901) into the body: `/profiles/0/objectId`, or the empty
/// string for the body as a whole. `message` says what was wrong in words a sender can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

impl ParseError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn missing(path: impl Into<String>) -> Self {
        Self::new(path, "missing required field")
    }

    /// Converts a serde error raised while deserialising `value` at `base` into a pointer-path
    /// error. serde_json appends " at line L column C" to messages, meaningless for a value that
    /// was already parsed, so it is cut; the value serde quotes is cut too (see [`redact`]).
    pub(crate) fn from_serde(
        base: &str,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let mut path = base.to_owned();
        push_serde_path(&mut path, err.path());
        let inner = err.into_inner();
        let (line, text) = (inner.line(), inner.to_string());
        let suffix = format!(" at line {line} column {}", inner.column());
        let message = redact(text.strip_suffix(&suffix).unwrap_or(&text));
        // A missing field is reported by serde at the parent; name the field itself.
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            path.push('/');
            path.push_str(&escape_pointer(field));
            return Self::missing(path);
        }
        Self::new(path, message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "body: {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// serde's `invalid type: string "s3cr3t", expected u64` (and `invalid value: …`) quotes the
/// submitted value; a secret a sender put in a mistyped field must not reach the log. This keeps
/// the kind only: `invalid type: string, expected u64`. Other serde and serde_json messages name
/// fields and positions, never values.
pub(crate) fn redact(message: &str) -> String {
    const KINDS: [&str; 5] = [
        "string",
        "integer",
        "floating point",
        "boolean",
        "character",
    ];
    for prefix in ["invalid type: ", "invalid value: "] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        // What is expected is our own words or serde's, never ", expected " itself; the value
        // may hold anything, so the last occurrence ends it.
        let Some(end) = rest.rfind(", expected ") else {
            return format!("{prefix}a value of the wrong kind");
        };
        let unexpected = &rest[..end];
        let kind = KINDS
            .into_iter()
            .find(|k| unexpected.starts_with(&format!("{k} ")))
            .unwrap_or(unexpected);
        return format!("{prefix}{kind}{}", &rest[end..]);
    }
    message.to_owned()
}

/// Escapes one reference token of a JSON pointer (`~` -> `~0`, `/` -> `~1`).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Joins a JSON pointer and one more token.
pub fn join(base: &str, token: impl fmt::Display) -> String {
    format!("{base}/{}", escape_pointer(&token.to_string()))
}

/// The JSON pointer of a serde path, taken from its segments (a key holding `.` or `[` stays
/// one token, which the path's dotted display cannot tell).
pub fn serde_pointer(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    push_serde_path(&mut out, path);
    out
}

fn push_serde_path(out: &mut String, path: &serde_path_to_error::Path) {
    use serde_path_to_error::Segment;
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('/');
                out.push_str(&escape_pointer(key));
            }
            Segment::Unknown => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(join("", "a/b~c"), "/a~1b~0c");
        assert_eq!(join("/x", 3), "/x/3");
    }

    #[test]
    fn serde_messages_keep_the_kind_and_drop_the_value() {
        for (m, want) in [
            (
                r#"invalid type: string "s3cr3t, expected x", expected u64"#,
                "invalid type: string, expected u64",
            ),
            (
                "invalid type: integer `7`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid value: floating point `5.5`, expected a non-empty string or an integer",
                "invalid value: floating point, expected a non-empty string or an integer",
            ),
            (
                "invalid type: null, expected a string",
                "invalid type: null, expected a string",
            ),
            ("duplicate field `event`", "duplicate field `event`"),
        ] {
            assert_eq!(redact(m), want);
        }
    }

    #[test]
    fn display_names_the_body_when_path_is_empty() {
        assert_eq!(ParseError::new("", "oops").to_string(), "body: oops");
        assert_eq!(ParseError::new("/a", "oops").to_string(), "/a: oops");
    }
}
