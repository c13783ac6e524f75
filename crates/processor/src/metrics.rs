//! What the processor counts per invocation beyond the batch's size (the names and dimensions
//! are the contract in `hookloop_runtime::metrics::names`): here, what the write stage stored
//! and how late, and the anomalies flagged; `settle` counts dead-letters by stage and `load_back` what CleverTap took.

use hookloop_domain::{MessageId, Row, ANOMALY_ATTRIBUTE, LOCATION_ANOMALY};
use hookloop_runtime::metrics::names::{
    ANOMALIES, DUPLICATES, END_TO_END_LAG_MS, KIND, SOURCE, STORED,
};
use hookloop_runtime::metrics::Unit;
use hookloop_runtime::Invocation;
use serde_json::Value;
use time::OffsetDateTime;

use crate::state::State;

/// After the write stage: each message now in every store counts as `Stored` by its source, with
/// its lag from arrival at the ingest (the time in its ULID id) to now; each repeat another
/// message owns counts as a duplicate. A message whose load-back then fails is stored all the
/// same (its data is in every store) and counts again if a redelivery stores it again.
pub(crate) fn count_stored(states: &[State], invocation: &mut Invocation) {
    let now_ms = unix_ms(OffsetDateTime::now_utc());
    for state in states {
        match state {
            State::Stored(s) => {
                invocation.count_by(STORED, SOURCE, s.source.as_str());
                let text =
                    |r: &Row, k: &str| r.attrs.get(k).and_then(Value::as_str).map(str::to_owned);
                for r in &s.rows {
                    if text(r, "event_type").as_deref() == Some(LOCATION_ANOMALY) {
                        if let Some(kind) = text(r, ANOMALY_ATTRIBUTE) {
                            invocation.count_by(ANOMALIES, KIND, kind);
                        }
                    }
                }
                if let Ok(id) = s.message_id.parse::<MessageId>() {
                    let arrived = unix_ms(id.received_at().as_offset_date_time());
                    invocation.value(
                        END_TO_END_LAG_MS,
                        Unit::Milliseconds,
                        now_ms.saturating_sub(arrived).max(0) as u64,
                    );
                }
            }
            State::Repeat => invocation.count(DUPLICATES),
            _ => {}
        }
    }
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
