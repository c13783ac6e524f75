//! Radar signatures: the message a signature signed, and the older form's event `_id`, read
//! from the body with work bounded by the body's size (one pass, no tree kept, one HMAC).

use std::fmt;

use hookloop_domain::{LocationShape, Webhook};
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

/// What a parsed webhook says of the one event `_id` an older Radar delivery signed.
pub(super) enum ParsedId<'a> {
    /// What [`sole_event_id`] gives for the body the webhook was parsed from.
    Known(Option<&'a str>),
    /// The webhook cannot tell: an `_id` may have been a JSON integer (which [`sole_event_id`]
    /// refuses and the parser accepts as text), so the body must be probed.
    Unsure,
}

/// [`sole_event_id`]'s answer, read from the webhook parsed from the same body. A parsed Radar
/// delivery has `event` or a non-empty `events` (not both), every event with an `_id`; another
/// location shape has no Radar event `_id` to sign (Roam.ai's `events` carry none), so the
/// answer is `None` and an older-form signature is refused. Any other webhook (a
/// route configured for Radar signatures that is not the location route) may carry `event`
/// among fields its type ignores: the body is probed.
pub(super) fn parsed_event_id(webhook: &Webhook) -> ParsedId<'_> {
    let Webhook::Location(l) = webhook else {
        return ParsedId::Unsure;
    };
    if l.shape != LocationShape::Radar {
        return ParsedId::Known(None);
    }
    let mut ids = l.events.iter().map(|e| e.event_id.as_deref());
    let Some(Some(first)) = ids.next() else {
        return ParsedId::Unsure;
    };
    // An integer `_id` is written out as `-?[0-9]+`: only such ids can have been integers.
    let integer_like = |id: &str| {
        let digits = id.strip_prefix('-').unwrap_or(id);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let mut same = true;
    for id in ids {
        match id {
            Some(id) if integer_like(id) => return ParsedId::Unsure,
            Some(id) => same &= id == first,
            None => return ParsedId::Unsure,
        }
    }
    if integer_like(first) {
        return ParsedId::Unsure;
    }
    ParsedId::Known(same.then_some(first))
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

    /// What the handler signs with: the `_id` read from the webhook it parsed, or the probe.
    fn via_webhook(body: &[u8]) -> Option<String> {
        via_webhook_on(hookloop_domain::Source::Location, body)
    }

    fn via_webhook_on(source: hookloop_domain::Source, body: &[u8]) -> Option<String> {
        match hookloop_domain::parse_webhook(source, body) {
            Ok(w) => match parsed_event_id(&w) {
                ParsedId::Known(id) => id.map(str::to_owned),
                ParsedId::Unsure => sole_event_id(body),
            },
            Err(_) => sole_event_id(body),
        }
    }

    #[test]
    fn the_parsed_webhook_gives_the_id_the_probe_gives() {
        let event = |id: &str| {
            format!(
                r#"{{"_id":{id},"createdAt":"2024-05-01T12:00:00Z","type":"user.entered_geofence","location":{{"coordinates":[1,2]}}}}"#
            )
        };
        let ids = [
            r#""e1""#, r#""e2""#, "7", r#""7""#, "-3", r#""-3""#, r#""""#, "1.5",
        ];
        let mut bodies = vec![
            br#"{"id":"p","MMUserId":"m","created_at":"2024-05-01T12:00:00Z"}"#.to_vec(),
            br#"{"trip":{"trip_id":"t"}}"#.to_vec(),
            b"not json".to_vec(),
        ];
        for a in ids {
            bodies
                .push(format!(r#"{{"event":{},"user":{{"userId":"u"}}}}"#, event(a)).into_bytes());
            for b in ids {
                bodies.push(
                    format!(
                        r#"{{"events":[{},{}],"user":{{"userId":"u"}}}}"#,
                        event(a),
                        event(b)
                    )
                    .into_bytes(),
                );
                bodies.push(
                    format!(
                        r#"{{"event":{},"events":[{}],"user":{{"userId":"u"}}}}"#,
                        event(a),
                        event(b)
                    )
                    .into_bytes(),
                );
            }
        }
        for body in &bodies {
            assert_eq!(
                via_webhook(body),
                sole_event_id(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_campaign_on_a_route_signed_the_radar_way_is_probed_as_before() {
        // AUTH_CLEVERTAP_WEBHOOK=radar: a campaign body carrying an event `_id` the campaign
        // type ignores. The older form signs that `_id`, as the probe has always read it.
        let body = br#"{"targetId":1,"profiles":[{"objectId":"o"}],"event":{"_id":"e9"}}"#;
        assert_eq!(
            via_webhook_on(hookloop_domain::Source::ClevertapWebhook, body).as_deref(),
            Some("e9")
        );
        assert_eq!(sole_event_id(body).as_deref(), Some("e9"));
    }
}
