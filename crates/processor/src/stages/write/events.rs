//! The geofence events of the whole batch, in requests within the record and byte limits.

use hookloop_aws::kinesis::{chunk_by_limits, Record};

use super::isolate::{self, send_isolating, Group};
use crate::bounded::bounded;
use crate::ports::EventStream;
use crate::state::Ready;
use crate::trace::{aws_call_spans, during};
use tracing::Span;

pub(super) async fn put<E: EventStream>(
    stream: &E,
    ready: &[Option<&Ready>],
    spans: &[Span],
) -> Vec<Group> {
    // Each event encoded once: its bytes size the requests and are what is sent.
    let (records, owners): (Vec<Record>, Vec<usize>) = ready
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, (*r)?)))
        .flat_map(|(i, r)| {
            r.normalized
                .geofence_events
                .iter()
                .map(move |e| (Record::from_event(e), i))
        })
        .unzip();
    if records.is_empty() {
        return Vec::new();
    }
    let events: Vec<(&Record, Vec<usize>)> = records
        .iter()
        .zip(owners)
        .map(|(r, i)| (r, vec![i]))
        .collect();
    let sizes: Vec<usize> = records.iter().map(Record::size).collect();
    let puts: Vec<_> = chunk_by_limits(&sizes)
        .into_iter()
        .map(|range| {
            let chunk = &events[range];
            let traced = aws_call_spans(spans, &isolate::owners(chunk), "Kinesis", "PutRecords");
            let put = send_isolating(chunk, |batch: Vec<Record>| stream.put_records(batch));
            during(traced, put)
        })
        .collect();
    bounded(puts).await.into_iter().flatten().collect()
}
