//! The raw archive: one object per batch, source and hour ([`ArchiveMode::Batch`]), or one
//! per message at its deterministic key ([`ArchiveMode::Object`]).

use std::collections::BTreeMap;

use futures::future::Either;
use hookloop_domain::{encode_batch, raw_batch_key, raw_object_key, raw_partition, MessageId};

use super::isolate::Group;
use crate::bounded::bounded;
use crate::config::ArchiveMode;
use crate::ports::ObjectStore;
use crate::state::Ready;
use crate::trace::{aws_call_spans, during};
use tracing::Span;

pub(super) async fn put<O: ObjectStore>(
    objects: &O,
    mode: ArchiveMode,
    ready: &[Option<&Ready>],
    spans: &[Span],
) -> Vec<Group> {
    let mut puts = Vec::new();
    match mode {
        ArchiveMode::Object => {
            for (i, r) in ready.iter().enumerate() {
                let Some(r) = r else { continue };
                let key = raw_object_key(r.envelope.source(), r.envelope.id());
                let body = r.raw.clone();
                let traced = aws_call_spans(spans, &[i], "S3", "PutObject");
                puts.push(Either::Left(async move {
                    let put = objects.put(&key, body, "application/json");
                    (vec![i], during(traced, put).await)
                }));
            }
        }
        ArchiveMode::Batch => {
            // By partition (source and hour), then id; a message twice in the batch once.
            let mut groups: BTreeMap<String, Vec<(MessageId, usize)>> = BTreeMap::new();
            for (i, r) in ready.iter().enumerate() {
                let Some(r) = r else { continue };
                groups
                    .entry(raw_partition(r.envelope.source(), r.envelope.id()))
                    .or_default()
                    .push((r.envelope.id(), i));
            }
            for (_, mut members) in groups {
                members.sort();
                let owners: Vec<usize> = members.iter().map(|(_, i)| *i).collect();
                members.dedup_by_key(|(id, _)| *id);
                let ids: Vec<MessageId> = members.iter().map(|(id, _)| *id).collect();
                let key =
                    ready[members[0].1].and_then(|r| raw_batch_key(r.envelope.source(), &ids));
                let Some(key) = key else { continue };
                let body = encode_batch(
                    members
                        .iter()
                        .filter_map(|(id, i)| ready[*i].map(|r| (*id, r.raw.as_slice()))),
                );
                let traced = aws_call_spans(spans, &owners, "S3", "PutObject");
                puts.push(Either::Right(async move {
                    let put = objects.put(&key, body, "application/gzip");
                    (owners, during(traced, put).await)
                }));
            }
        }
    }
    bounded(puts).await
}
