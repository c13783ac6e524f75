//! The one-event rows of the whole batch, [`MAX_BATCH_WRITE_ITEMS`] per request (latest-state
//! rows are [`super::latest`]'s).

use std::collections::HashMap;

use hookloop_aws::dynamodb::MAX_BATCH_WRITE_ITEMS;
use hookloop_domain::Row;

use super::isolate::{owners, send_isolating, Group};
use crate::bounded::bounded;
use crate::ports::RowStore;
use crate::state::Ready;
use crate::trace::{aws_call_spans, during};
use tracing::Span;

/// Two messages writing the same item (one event sent twice, under two message ids) write it
/// once, the later message's version; both depend on that request. A request may not name one
/// item twice.
pub(super) async fn put<R: RowStore>(
    store: &R,
    ready: &[Option<&Ready>],
    spans: &[Span],
) -> Vec<Group> {
    let mut rows: Vec<(&Row, Vec<usize>)> = Vec::new();
    let mut at: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, r) in ready.iter().enumerate() {
        let Some(r) = r else { continue };
        for row in &r.normalized.rows {
            match at.get(&(row.pk.as_str(), row.sk.as_str())) {
                Some(&j) => {
                    rows[j].0 = row;
                    if !rows[j].1.contains(&i) {
                        rows[j].1.push(i);
                    }
                }
                None => {
                    at.insert((row.pk.as_str(), row.sk.as_str()), rows.len());
                    rows.push((row, vec![i]));
                }
            }
        }
    }
    let writes: Vec<_> = rows
        .chunks(MAX_BATCH_WRITE_ITEMS)
        .map(|chunk| {
            let traced = aws_call_spans(spans, &owners(chunk), "DynamoDB", "BatchWriteItem");
            during(traced, send_isolating(chunk, |batch| store.put_rows(batch)))
        })
        .collect();
    bounded(writes).await.into_iter().flatten().collect()
}
