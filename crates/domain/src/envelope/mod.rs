//! The queue message envelope: what the ingest puts on SQS and the processor takes off it.
//!
//! ```json
//! {"v":1,"id":"01J...","source":"location","received_at":"2024-05-01T12:00:00.123Z","body":"{...}"}
//! ```
//! `body` is the webhook body exactly as received, as a JSON string, so the raw archive can
//! store it byte for byte (whitespace and key order included). The fields are private: an
//! envelope is built for a webhook received now ([`Envelope::received`]) or earlier
//! ([`Envelope::replayed`]), or decoded from a queue message ([`wire`]: the wire format, encode
//! and decode side by side).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

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

mod wire;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    id: MessageId,
    source: Source,
    /// RFC 3339, UTC, millisecond precision: the time part of `id`.
    received_at: String,
    /// The body, byte for byte; empty when it is in S3 (`body_ref`).
    body: String,
    /// Claim check: the S3 key holding a body too large for a queue message.
    body_ref: Option<String>,
    /// The deduplication key of this message (see `dedup_key`).
    dedup_key: Option<String>,
    /// True when the ingest held the claim on `dedup_key` for this message's id when it queued
    /// it, so the processor need not read it again. Only versions that claimed before sending
    /// set it; the ingest now claims after the send succeeded, so it cannot know this when it
    /// encodes the message, and the processor checks the key of every message without it.
    claimed: bool,
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
    /// Wraps a body received now, under a new id.
    pub fn received(source: Source, body: String, now: OffsetDateTime) -> Self {
        Envelope::replayed(MessageId::new(now), source, body)
    }

    /// Wraps a body received earlier under `id` (a replay from the archive, a trace).
    pub fn replayed(id: MessageId, source: Source, body: String) -> Self {
        Envelope {
            id,
            source,
            received_at: id.received_at().canonical(),
            body,
            body_ref: None,
            dedup_key: None,
            claimed: false,
        }
    }

    /// The same envelope carrying the webhook's deduplication key, for the processor to check.
    pub fn with_dedup_key(mut self, key: Option<String>) -> Self {
        self.dedup_key = key;
        self
    }

    /// The same envelope as versions that claimed before sending queued it: marked as the
    /// owner of its key. This build never writes the mark; it reads it, and tests build it.
    pub fn claimed_before_sending(mut self) -> Self {
        self.claimed = true;
        self
    }

    pub fn id(&self) -> MessageId {
        self.id
    }

    pub fn source(&self) -> Source {
        self.source
    }

    pub fn received_at(&self) -> &str {
        &self.received_at
    }

    /// The body as received; empty while it is behind the claim check.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The claim check's object key, when the body is there.
    pub fn body_ref(&self) -> Option<&str> {
        self.body_ref.as_deref()
    }

    pub fn dedup_key(&self) -> Option<&str> {
        self.dedup_key.as_deref()
    }

    /// Whether a version that claimed before sending marked this message as its key's owner.
    pub fn claimed(&self) -> bool {
        self.claimed
    }

    /// Claim check, on the way out: the body moves out, to be stored at `key`, which the
    /// message carries instead.
    pub fn check_body(&mut self, key: String) -> String {
        self.body_ref = Some(key);
        std::mem::take(&mut self.body)
    }

    /// Claim check, on the way in: the body read back from the claim check's object.
    pub fn restore_body(&mut self, body: String) {
        self.body = body;
    }

    /// The body, moved out (the envelope keeps its id and source).
    pub fn take_body(&mut self) -> String {
        std::mem::take(&mut self.body)
    }
}
