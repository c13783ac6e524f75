//! The raw archive's layout. Every webhook body is kept byte for byte under Hive-style
//! partitions of its arrival time (`raw/source=<source>/dt=YYYY-MM-DD/hour=HH/`), in one of two
//! forms:
//!
//! - **batch** (default): one object per processor batch, source and hour,
//!   `<first id>-<last id>-<digest>.ndjson.gz`: gzip of one JSON line per webhook,
//!   `{"id": ..., "received_at": ..., "body": "<the body as a JSON string>"}`, in id order.
//!   `digest` (8 hex digits of SHA-256 over the ids) keeps two batches with the same first and
//!   last id apart. A message delivered twice may be in two objects: readers keep one per id.
//! - **object**: one object per webhook, `<id>.json`, the body itself.
//!
//! Finding a webhook by id: ids are ULIDs carrying the arrival time, so the partition is known;
//! list it, keep the objects whose id range holds the id ([`RawKey::may_hold`]), and read them.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::envelope::MessageId;
use crate::json_string::push_json_string;
use crate::source::Source;

pub const BATCH_SUFFIX: &str = ".ndjson.gz";
pub const OBJECT_SUFFIX: &str = ".json";

/// `raw/source=<source>/dt=YYYY-MM-DD/hour=HH/`, from the arrival time in `id`.
pub fn raw_partition(source: Source, id: MessageId) -> String {
    let t = id.received_at().as_offset_date_time();
    format!(
        "raw/source={}/dt={:04}-{:02}-{:02}/hour={:02}/",
        source.as_str(),
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

/// One webhook in a batch object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedWebhook {
    pub id: MessageId,
    pub received_at: String,
    pub body: String,
}

/// A raw archive key, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKey {
    Object {
        source: Source,
        id: MessageId,
    },
    Batch {
        source: Source,
        first: MessageId,
        last: MessageId,
    },
}

impl RawKey {
    pub fn parse(key: &str) -> Option<RawKey> {
        let rest = key.strip_prefix("raw/source=")?;
        let (source, rest) = rest.split_once('/')?;
        let source: Source = source.parse().ok()?;
        let file = rest.rsplit('/').next()?;
        if let Some(range) = file.strip_suffix(BATCH_SUFFIX) {
            let mut parts = range.split('-');
            let first = parts.next()?.parse().ok()?;
            let last = parts.next()?.parse().ok()?;
            let _digest = parts.next()?;
            return parts.next().is_none().then_some(RawKey::Batch {
                source,
                first,
                last,
            });
        }
        let id = file.strip_suffix(OBJECT_SUFFIX)?.parse().ok()?;
        Some(RawKey::Object { source, id })
    }

    pub fn source(&self) -> Source {
        match self {
            RawKey::Object { source, .. } | RawKey::Batch { source, .. } => *source,
        }
    }

    /// Whether the webhook `id` can be in this object.
    pub fn may_hold(&self, id: MessageId) -> bool {
        match self {
            RawKey::Object { id: own, .. } => *own == id,
            RawKey::Batch { first, last, .. } => *first <= id && id <= *last,
        }
    }
}

/// The key of a batch object holding `ids` (sorted, all of `source` and one partition).
pub fn raw_batch_key(source: Source, ids: &[MessageId]) -> Option<String> {
    let (first, last) = (ids.first()?, ids.last()?);
    let mut digest = Sha256::new();
    for id in ids {
        digest.update(id.to_string().as_bytes());
    }
    let digest = hex::encode(&digest.finalize()[..4]);
    Some(format!(
        "{}{first}-{last}-{digest}{BATCH_SUFFIX}",
        raw_partition(source, *first)
    ))
}

/// A batch object's bytes: gzip of one JSON line per webhook, in the order given.
pub fn encode_batch<'a>(webhooks: impl IntoIterator<Item = (MessageId, &'a [u8])>) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut line = String::new();
    for (id, body) in webhooks {
        // `{"body":…,"id":…,"received_at":…}`. Bodies are valid JSON, so valid UTF-8; a lossy
        // conversion only guards the type.
        line.clear();
        line.push_str("{\"body\":");
        push_json_string(&mut line, &String::from_utf8_lossy(body));
        line.push_str(",\"id\":\"");
        line.push_str(&id.to_string());
        line.push_str("\",\"received_at\":\"");
        line.push_str(&id.received_at().canonical());
        line.push_str("\"}\n");
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(line.as_bytes());
    }
    gz.finish().unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
#[error("not a raw archive batch object: {0}")]
pub struct ArchiveError(String);

/// Reads a batch object back.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<ArchivedWebhook>, ArchiveError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| ArchiveError(e.to_string()))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| ArchiveError(e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn id(s: &str) -> MessageId {
        s.parse().unwrap()
    }

    #[test]
    fn a_batch_object_holds_every_body_byte_for_byte_and_its_key_says_where() {
        let a = MessageId::new(datetime!(2026-11-22 10:15:00.001 UTC));
        let b = MessageId::new(datetime!(2026-11-22 10:15:00.002 UTC));
        let c = MessageId::new(datetime!(2026-11-22 10:15:00.003 UTC));
        let bodies: [&[u8]; 3] = [
            b"{\"x\": 1,  \"y\":\"\\u00e9\"}",
            b"[1, 2]",
            "{\"q\": \"\\\"é\\\\\",\n\t\"z\": null}\n".as_bytes(),
        ];
        let bytes = encode_batch([(a, bodies[0]), (b, bodies[1]), (c, bodies[2])]);
        let back = decode_batch(&bytes).unwrap();
        assert_eq!(
            back.len(),
            3,
            "one line per webhook, whatever its body holds"
        );
        assert_eq!(back[2].body.as_bytes(), bodies[2]);
        assert_eq!(back[0].id, a);
        assert_eq!(back[0].body.as_bytes(), bodies[0]);
        assert_eq!(back[1].body.as_bytes(), bodies[1]);
        assert_eq!(back[0].received_at, "2026-11-22T10:15:00.001Z");

        let key = raw_batch_key(Source::Location, &[a, b]).unwrap();
        assert!(
            key.starts_with("raw/source=location/dt=2026-11-22/hour=10/"),
            "{key}"
        );
        assert!(key.ends_with(".ndjson.gz"));
        let parsed = RawKey::parse(&key).unwrap();
        assert!(parsed.may_hold(a) && parsed.may_hold(b));
        assert!(!parsed.may_hold(MessageId::new(datetime!(2026-11-22 10:16:00 UTC))));
        assert_eq!(parsed.source(), Source::Location);
    }

    #[test]
    fn two_batches_with_the_same_ends_get_different_keys() {
        let [a, b, c] = [1, 2, 3].map(|ms| {
            MessageId::new(datetime!(2026-11-22 10:15:00 UTC) + time::Duration::milliseconds(ms))
        });
        assert_ne!(
            raw_batch_key(Source::Location, &[a, b, c]),
            raw_batch_key(Source::Location, &[a, c])
        );
    }

    #[test]
    fn object_keys_parse_and_other_keys_do_not() {
        let k = "raw/source=clevertap.export_status/dt=2024-05-01/hour=12/01HWT0D7G0EXP0RTSTATVS0001.json";
        assert_eq!(
            RawKey::parse(k),
            Some(RawKey::Object {
                source: Source::ClevertapExportStatus,
                id: id("01HWT0D7G0EXP0RTSTATVS0001")
            })
        );
        assert_eq!(
            RawKey::parse("raw/source=sms/dt=x/hour=y/01HWT0D7G0EXP0RTSTATVS0001.json"),
            None
        );
        assert_eq!(
            RawKey::parse("raw/source=location/dt=x/hour=y/notes.txt"),
            None
        );
        assert_eq!(
            RawKey::parse("claims/dt=x/01HWT0D7G0EXP0RTSTATVS0001.json"),
            None
        );
        assert!(decode_batch(b"not gzip").is_err());
    }
}
