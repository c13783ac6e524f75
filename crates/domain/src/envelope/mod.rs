//! The queue message envelope: what the ingest puts on SQS and the processor takes off it.
//!
//! ```json
//! {"v":1,"id":"01J...","source":"location","received_at":"2024-05-01T12:00:00.123Z","body":"{...}"}
//! ```
//! `body` is the webhook body exactly as received, as a JSON string, so the raw archive can
//! store it byte for byte (whitespace and key order included).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use crate::json_string::push_json_string;
use crate::primitives::Timestamp;
use crate::source::Source;

/// The envelope version this build writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;

/// A message id: a ULID whose time part is the moment the webhook was received, so ids sort by
/// arrival time and the archive key can be derived from the id alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(Ulid);

impl MessageId {
    /// A new id stamped with `received_at` (millisecond precision).
    pub fn new(received_at: OffsetDateTime) -> Self {
        MessageId(Ulid::from_datetime(received_at.into()))
    }

    /// The arrival time encoded in the id.
    pub fn received_at(&self) -> Timestamp {
        let ms = self.0.timestamp_ms() as i128;
        let t = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Timestamp::from_offset_date_time(t)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for MessageId {
    type Err = ulid::DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s).map(MessageId)
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    pub id: MessageId,
    pub source: Source,
    /// RFC 3339, UTC, millisecond precision: the time part of `id`.
    pub received_at: String,
    /// The body, byte for byte; empty when it is in S3 (`body_ref`).
    pub body: String,
    /// Claim check: the S3 key holding a body too large for a queue message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_ref: Option<String>,
    /// The deduplication key of this message (see `dedup_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// True when the ingest held the claim on `dedup_key` for this message's id when it queued
    /// it, so the processor need not read it again. Only versions that claimed before sending
    /// set it; the ingest now claims after the send succeeded, so it cannot know this when it
    /// encodes the message, and the processor checks the key of every message without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claimed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("malformed envelope: {0}")]
    Malformed(String),
    #[error("unsupported envelope version {0} (this build reads version {ENVELOPE_VERSION})")]
    UnsupportedVersion(u64),
}

impl EnvelopeError {
    /// A short, stable code for DLQ attributes and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Malformed(_) => "envelope_malformed",
            EnvelopeError::UnsupportedVersion(_) => "envelope_unsupported_version",
        }
    }
}

impl Envelope {
    /// Wraps a body received now.
    pub fn new(source: Source, body: String, now: OffsetDateTime) -> Self {
        let id = MessageId::new(now);
        Envelope {
            v: ENVELOPE_VERSION,
            id,
            source,
            received_at: id.received_at().canonical(),
            body,
            body_ref: None,
            dedup_key: None,
            claimed: false,
        }
    }

    /// The queue message: exactly what serialising the struct with `serde_json` writes (field
    /// order included), with the body escaped eight bytes at a time.
    pub fn encode(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(self.body.len() + self.body.len() / 16 + 160);
        let _ = write!(out, "{{\"v\":{},\"id\":\"{}\",\"source\":", self.v, self.id);
        push_json_string(&mut out, self.source.as_str());
        out.push_str(",\"received_at\":");
        push_json_string(&mut out, &self.received_at);
        out.push_str(",\"body\":");
        push_json_string(&mut out, &self.body);
        if let Some(r) = &self.body_ref {
            out.push_str(",\"body_ref\":");
            push_json_string(&mut out, r);
        }
        if let Some(k) = &self.dedup_key {
            out.push_str(",\"dedup_key\":");
            push_json_string(&mut out, k);
        }
        if self.claimed {
            out.push_str(",\"claimed\":true");
        }
        out.push('}');
        out
    }

    /// Reads an envelope in one parse. Only when that fails is the version looked at, so that a
    /// message written by a newer build is reported as such rather than as malformed.
    pub fn decode(s: &str) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct Version {
            v: u64,
        }
        match serde_json::from_str::<Envelope>(s) {
            Ok(e) if e.v == ENVELOPE_VERSION => Ok(e),
            Ok(e) => Err(EnvelopeError::UnsupportedVersion(u64::from(e.v))),
            Err(malformed) => match serde_json::from_str::<Version>(s) {
                Ok(Version { v }) if v != u64::from(ENVELOPE_VERSION) => {
                    Err(EnvelopeError::UnsupportedVersion(v))
                }
                _ => Err(EnvelopeError::Malformed(malformed.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_and_keeps_the_body_byte_for_byte() {
        let body = "{ \"b\" : 1,\n  \"a\":\"é\\u00e9\" }\n".to_owned();
        let e = Envelope::new(
            Source::Location,
            body.clone(),
            datetime!(2024-05-01 12:34:56.789 UTC),
        );
        let back = Envelope::decode(&e.encode()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.body, body);
        assert_eq!(back.received_at, "2024-05-01T12:34:56.789Z");
        assert_eq!(back.id.received_at().canonical(), back.received_at);
        assert_eq!(back.id.to_string().len(), 26);
    }

    #[test]
    fn encode_writes_what_serde_json_writes() {
        let mut e = Envelope::new(
            Source::ClevertapWebhook,
            "{\"a\": \"quote \\\" and \\n\", \"é\": 1}\n\t".to_owned(),
            datetime!(2024-05-01 12:34:56.789 UTC),
        );
        assert_eq!(e.encode(), serde_json::to_string(&e).unwrap());
        e.body_ref = Some("claims/dt=2024-05-01/x.json".into());
        e.dedup_key = Some("location:ids:\"odd\"".into());
        assert_eq!(e.encode(), serde_json::to_string(&e).unwrap());
        e.claimed = true;
        assert_eq!(e.encode(), serde_json::to_string(&e).unwrap());
        e.body_ref = None;
        assert_eq!(e.encode(), serde_json::to_string(&e).unwrap());
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
        e.claimed = false;
        assert!(!e.encode().contains("claimed"), "absent unless true");
    }

    #[test]
    fn versions_and_garbage_are_told_apart() {
        assert_eq!(
            Envelope::decode(r#"{"v":2,"id":"x"}"#).unwrap_err(),
            EnvelopeError::UnsupportedVersion(2)
        );
        assert_eq!(
            Envelope::decode(r#"{"v":3,"id":"01HX0000000000000000000000","source":"location","received_at":"x","body":"{}"}"#)
                .unwrap_err(),
            EnvelopeError::UnsupportedVersion(3),
            "a well-formed envelope of another version"
        );
        assert_eq!(
            Envelope::decode("not json").unwrap_err().code(),
            "envelope_malformed"
        );
        assert_eq!(
            Envelope::decode(
                r#"{"v":1,"id":"nope","source":"location","received_at":"x","body":"{}"}"#
            )
            .unwrap_err()
            .code(),
            "envelope_malformed"
        );
        assert_eq!(
            Envelope::decode(r#"{"v":1,"id":"01HX0000000000000000000000","source":"sms","received_at":"x","body":"{}"}"#)
                .unwrap_err()
                .code(),
            "envelope_malformed"
        );
    }
}
