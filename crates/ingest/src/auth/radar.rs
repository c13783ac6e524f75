//! Radar signatures: the message a signature signed, and the older form's event `_id`, read
//! from the body with work bounded by the body's size (one pass, no tree kept, one HMAC).

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Longest `X-Radar-Signing-Id` taken; Radar's ids are a few dozen characters.
pub const MAX_SIGNING_ID_BYTES: usize = 1024;

/// The message a Radar signature signed (a signing id, or an older delivery's event `_id`),
/// kept only as its SHA-256. It authenticates one body: see [`super::ledger`].
#[derive(Clone, PartialEq, Eq)]
pub struct SignedMessage([u8; 32]);

impl SignedMessage {
    pub(super) fn of(message: &[u8]) -> Self {
        SignedMessage(Sha256::digest(message).into())
    }

    pub fn sha256(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SignedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedMessage(sha256:{})", hex::encode(self.0))
    }
}

/// The one event `_id` an older Radar delivery signed: present only when the body is a JSON
/// object whose `event` and every element of `events` carry that same `_id`, so the signature
/// over it vouches for every event in the body. `None` for anything else (unreadable JSON, an
/// event without `_id`, events with different `_id`s: reading stops at the first difference).
pub(super) fn sole_event_id(body: &[u8]) -> Option<String> {
    let body: LegacyBody = serde_json::from_slice(body).ok()?;
    match (body.event.map(|e| e.id), body.events.and_then(|e| e.0)) {
        (Some(a), Some(b)) => (a == b).then_some(a),
        (Some(id), None) | (None, Some(id)) => Some(id),
        (None, None) => None,
    }
}

/// The fields of a Radar body that the older signature covers; everything else is skipped.
#[derive(Deserialize)]
struct LegacyBody {
    #[serde(default)]
    event: Option<EventId>,
    #[serde(default)]
    events: Option<SameIds>,
}

#[derive(Deserialize)]
struct EventId {
    #[serde(rename = "_id")]
    id: String,
}

/// The `_id` every element of `events` carries (`None` for an empty array); an error as soon as
/// two differ, so no list of ids is ever built.
struct SameIds(Option<String>);

impl<'de> Deserialize<'de> for SameIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SameIdsVisitor)
    }
}

struct SameIdsVisitor;

impl<'de> Visitor<'de> for SameIdsVisitor {
    type Value = SameIds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events with one and the same _id")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SameIds, A::Error> {
        let mut first: Option<String> = None;
        while let Some(event) = seq.next_element::<EventId>()? {
            match &first {
                None => first = Some(event.id),
                Some(id) if *id == event.id => {}
                Some(_) => return Err(de::Error::custom("events with different _ids")),
            }
        }
        Ok(SameIds(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_form_signs_a_body_only_when_every_event_has_the_signed_id() {
        let one = br#"{"event":{"_id":"e1","type":"user.entered_geofence"},"user":{}}"#;
        assert_eq!(sole_event_id(one).as_deref(), Some("e1"));
        let same = br#"{"events":[{"_id":"e1","x":[1,{"_id":"nested"}]},{"_id":"e1"}],"event":{"_id":"e1"}}"#;
        assert_eq!(sole_event_id(same).as_deref(), Some("e1"));
        for unsigned in [
            &br#"{"events":[{"_id":"e1"},{"_id":"e2"}]}"#[..],
            br#"{"event":{"_id":"e1"},"events":[{"_id":"e2"}]}"#,
            br#"{"events":[{"_id":"e1"},{"type":"no id"}]}"#,
            br#"{"event":{"_id":"e1"},"event":{"_id":"e1"}}"#,
            br#"{"events":[]}"#,
            br#"{"event":{"_id":1}}"#,
            b"{}",
            b"[]",
            b"not json",
        ] {
            assert_eq!(
                sole_event_id(unsigned),
                None,
                "{}",
                String::from_utf8_lossy(unsigned)
            );
        }
    }
}
