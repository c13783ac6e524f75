//! Markers: per message, the fingerprints of the records CleverTap accepted, so a redelivery
//! or redrive does not upload them again.
//!
//! Item: [`hookloop_domain::table::marker_key`], `kind = loadback`, `message_id`, `accepted`
//! (record fingerprints), and the table's TTL attribute.

use std::collections::HashMap;
use std::time::Duration;

use hookloop_aws::AwsError;
use hookloop_domain::table::{marker_key, TTL_ATTRIBUTE};
use hookloop_domain::Row;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tracing::error;

use crate::ports::RowStore;
use crate::state::Stored;

/// What earlier deliveries of each of `with_records` got accepted (one read for them all).
pub(super) async fn accepted<R: RowStore>(
    markers: &R,
    messages: &[&Stored],
    with_records: &[usize],
) -> Result<HashMap<usize, Vec<String>>, AwsError> {
    let keys: Vec<(String, String)> = with_records
        .iter()
        .map(|i| marker_key(&messages[*i].message_id))
        .collect();
    let found = markers.get_many(&keys).await?;
    Ok(with_records
        .iter()
        .map(|&i| {
            let accepted: Vec<String> = found
                .get(&marker_key(&messages[i].message_id))
                .and_then(|m| m.get("accepted"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (i, accepted)
        })
        .collect())
}

/// Records what is accepted now, with what was before, before anything is deleted from the
/// queue. A failure is logged: the records are in CleverTap, and only a later redelivery of
/// these messages could upload them again.
pub(super) async fn remember<R: RowStore>(
    markers: &R,
    messages: &[&Stored],
    previously: &HashMap<usize, Vec<String>>,
    accepted: &HashMap<usize, Vec<String>>,
    ttl: Duration,
) {
    let expires_at = OffsetDateTime::now_utc().unix_timestamp() + ttl.as_secs() as i64;
    let rows: Vec<Row> = accepted
        .iter()
        .map(|(&i, new)| {
            let (pk, sk) = marker_key(&messages[i].message_id);
            let mut all = previously.get(&i).cloned().unwrap_or_default();
            all.extend(new.iter().cloned());
            let mut attrs = Map::new();
            attrs.insert("kind".into(), json!("loadback"));
            attrs.insert("message_id".into(), json!(messages[i].message_id));
            attrs.insert("accepted".into(), json!(all));
            attrs.insert(TTL_ATTRIBUTE.into(), json!(expires_at));
            Row { pk, sk, attrs }
        })
        .collect();
    let count = rows.len();
    if let Err(e) = markers.put_rows(rows).await {
        error!(error = %e, messages = count, "could not write load-back markers");
    }
}
