//! The envelope's wire format, defined once: [`Wire`] names the fields, their order and when
//! each is left out; [`Envelope::decode`] reads through it, and [`Envelope::encode`] writes
//! exactly what serialising it writes (a property test holds the two together), escaping the
//! body eight bytes at a time.

use serde::{Deserialize, Serialize};

use super::{Envelope, EnvelopeError, MessageId, ENVELOPE_VERSION};
use crate::json_string::push_json_string;
use crate::source::Source;

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    id: MessageId,
    source: Source,
    received_at: String,
    body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dedup_key: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    claimed: bool,
}

impl Envelope {
    /// The queue message: what serialising [`Wire`] writes, byte for byte.
    pub fn encode(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(self.body.len() + self.body.len() / 16 + 160);
        let _ = write!(
            out,
            "{{\"v\":{ENVELOPE_VERSION},\"id\":\"{}\",\"source\":",
            self.id
        );
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
        match serde_json::from_str::<Wire>(s) {
            Ok(w) if w.v == ENVELOPE_VERSION => Ok(Envelope::from(w)),
            Ok(w) => Err(EnvelopeError::UnsupportedVersion(u64::from(w.v))),
            Err(malformed) => match serde_json::from_str::<Version>(s) {
                Ok(Version { v }) if v != u64::from(ENVELOPE_VERSION) => {
                    Err(EnvelopeError::UnsupportedVersion(v))
                }
                _ => Err(EnvelopeError::Malformed(malformed.to_string())),
            },
        }
    }
}

impl From<Wire> for Envelope {
    fn from(w: Wire) -> Self {
        Envelope {
            id: w.id,
            source: w.source,
            received_at: w.received_at,
            body: w.body,
            body_ref: w.body_ref,
            dedup_key: w.dedup_key,
            claimed: w.claimed,
        }
    }
}

#[cfg(test)]
impl From<Envelope> for Wire {
    fn from(e: Envelope) -> Self {
        Wire {
            v: ENVELOPE_VERSION,
            id: e.id,
            source: e.source,
            received_at: e.received_at,
            body: e.body,
            body_ref: e.body_ref,
            dedup_key: e.dedup_key,
            claimed: e.claimed,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;
    use time::OffsetDateTime;

    use super::*;

    /// What serde_json writes for the wire format, but for U+FFFE and U+FFFF, which ours
    /// escapes (SQS refuses them raw; both spellings decode alike).
    fn serde_encoding(e: &Envelope) -> String {
        match serde_json::to_string(&Wire::from(e.clone())) {
            Ok(s) => s
                .replace('\u{FFFE}', "\\ufffe")
                .replace('\u{FFFF}', "\\uffff"),
            Err(err) => panic!("Wire serialises: {err}"),
        }
    }

    #[test]
    fn round_trips_and_keeps_the_body_byte_for_byte() {
        let body = "{ \"b\" : 1,\n  \"a\":\"é\\u00e9\" }\n".to_owned();
        let e = Envelope::received(
            Source::Location,
            body.clone(),
            datetime!(2024-05-01 12:34:56.789 UTC),
        );
        let back = Envelope::decode(&e.encode()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.body(), body);
        assert_eq!(back.received_at(), "2024-05-01T12:34:56.789Z");
        assert_eq!(back.id().received_at().canonical(), back.received_at());
        assert_eq!(back.id().to_string().len(), 26);
    }

    #[test]
    fn encode_writes_what_serde_json_writes() {
        let e = Envelope::received(
            Source::ClevertapWebhook,
            "{\"a\": \"quote \\\" and \\n\", \"é\": 1}\n\t".to_owned(),
            datetime!(2024-05-01 12:34:56.789 UTC),
        );
        assert_eq!(e.encode(), serde_encoding(&e));
        let mut e = e.with_dedup_key(Some("location:ids:\"odd\"".into()));
        e.check_body("claims/dt=2024-05-01/x.json".into());
        assert_eq!(e.encode(), serde_encoding(&e));
        let e = e.claimed_before_sending();
        assert_eq!(e.encode(), serde_encoding(&e));
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
        let plain = Envelope::received(Source::Location, "{}".into(), OffsetDateTime::UNIX_EPOCH);
        assert!(!plain.encode().contains("claimed"), "absent unless true");
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

    fn any_envelope() -> impl Strategy<Value = Envelope> {
        (
            0usize..Source::ALL.len(),
            0i64..4_102_444_800_000,
            any::<String>(),
            proptest::option::of(any::<String>()),
            proptest::option::of(any::<String>()),
            any::<bool>(),
        )
            .prop_map(|(s, ms, body, body_ref, key, claimed)| {
                let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let mut e = Envelope::received(Source::ALL[s], body, now).with_dedup_key(key);
                if let Some(r) = body_ref {
                    let body = e.check_body(r);
                    e.restore_body(body);
                }
                if claimed {
                    e = e.claimed_before_sending();
                }
                e
            })
    }

    proptest! {
        #[test]
        fn every_envelope_encodes_as_its_wire_format_and_decodes_back(e in any_envelope()) {
            let encoded = e.encode();
            prop_assert_eq!(&encoded, &serde_encoding(&e));
            prop_assert_eq!(Envelope::decode(&encoded), Ok(e));
        }
    }
}
