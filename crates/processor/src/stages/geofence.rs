//! Geofence: the batch's raw location points (not geofence events) moved through each user's
//! inside/outside state, and the transitions they fire added to their messages as location
//! rows and geofence stream records, which the write stage stores like a platform's own and
//! load-back reads like them.
//!
//! Per batch: one `BatchGetItem` for the states of the batch's users, then per user with a newer
//! point one `PutItem` that commits the new state only if no other batch changed it since it
//! was read (a compare-and-swap on its revision; on a conflict the state is read again and the
//! points replayed on it). So two batches never both fire one transition, and a late point
//! changes nothing. A transition is committed in the state before its row and record are
//! written: a message that fails after the commit finds its transitions in the state on its
//! redelivery ([`state_row`]).
//!
//! No geofences in force, or none in the document: nothing is read or written.

use std::collections::{BTreeMap, HashMap};

use hookloop_aws::dynamodb::Swapped;
use hookloop_aws::AwsError;
use hookloop_domain::{Point, ANOMALY_ATTRIBUTE};
use hookloop_geofence::GeofenceIndex;
use tracing::{debug, Span};

use crate::app::Processor;
use crate::bounded::bounded;
use crate::failure::{Failure, Stage};
use crate::geofencing::state_row::{self, Fired, Stored};
use crate::geofencing::{advance, Advanced, AnomalyLimits, Fences};
use crate::ports::{Ports, RowStore};
use crate::state::{fail_ready as fail, State};
use crate::trace::{aws_call_spans, during};

/// Compare-and-swap attempts per user and batch before its messages are handed back for
/// redelivery (each conflict means another batch moved the user's state meanwhile).
pub const MAX_STATE_SWAPS: usize = 4;

pub(crate) async fn fence<P: Ports>(
    p: &Processor<P>,
    mut states: Vec<State>,
    spans: &[Span],
) -> Vec<State> {
    // The batch's points by user, each with its message's position in the batch.
    let mut by_user: BTreeMap<&str, Vec<(usize, &Point)>> = BTreeMap::new();
    for (i, s) in states.iter().enumerate() {
        for point in s.ready().into_iter().flat_map(|r| &r.normalized.points) {
            by_user
                .entry(point.user_id.as_str())
                .or_default()
                .push((i, point));
        }
    }
    if by_user.is_empty() {
        return states;
    }
    let fences = p.geofences.get().await;
    let index = match &*fences {
        Fences::On(index) if !index.is_empty() => index,
        Fences::On(_) | Fences::Off => return states,
        Fences::Unknown => {
            let failure = Failure {
                stage: Stage::Geofence,
                code: "GeofencesUnknown".into(),
                message:
                    "no geofence document in force yet: it could not be read, or it was refused"
                        .into(),
                retryable: true,
            };
            let owners: Vec<usize> = by_user.values().flatten().map(|(i, _)| *i).collect();
            return fail(states, &owners, &failure);
        }
    };
    let (settled, owners_by_user) =
        settle_users(&p.rows, index, &p.anomaly_limits, &by_user, spans).await;
    // Transitions to add, by message, and failures.
    let mut added: HashMap<usize, Vec<(Point, Fired)>> = HashMap::new();
    let mut failures: Vec<(Vec<usize>, Failure)> = Vec::new();
    let points: HashMap<&str, (usize, &Point)> = by_user
        .values()
        .flatten()
        .map(|&(i, p)| (p.tiebreak.as_str(), (i, p)))
        .collect();
    for (user, result) in settled {
        match result {
            Ok(fired) => {
                for f in fired {
                    // Only this batch's points: the state remembers other messages' too.
                    if let Some(&(i, point)) = points.get(f.point.as_str()) {
                        added.entry(i).or_default().push((point.clone(), f));
                    }
                }
            }
            Err(e) => failures.push((
                owners_by_user.get(user).cloned().unwrap_or_default(),
                Failure::from_aws(Stage::Geofence, &e),
            )),
        }
    }
    for (owners, failure) in &failures {
        states = fail(states, owners, failure);
    }
    for (i, transitions) in added {
        if let Some(State::Ready(r)) = states.get_mut(i) {
            for (point, f) in transitions {
                let (row, record) = match &f.anomaly {
                    None => point.transition(&r.envelope, &f.record_type, f.fence()),
                    Some(kind) => {
                        // The point lands, flagged, beside its anomaly's row and record.
                        let key = point.row_key();
                        if let Some(own) = r
                            .normalized
                            .rows
                            .iter_mut()
                            .find(|row| (&row.pk, &row.sk) == (&key.0, &key.1))
                        {
                            own.attrs
                                .insert(ANOMALY_ATTRIBUTE.into(), kind.clone().into());
                        }
                        point.anomaly(&r.envelope, kind, f.fence_if_any(), f.speed_kmh)
                    }
                };
                r.normalized.rows.push(row);
                r.normalized.geofence_events.push(record);
            }
        }
    }
    states
}

type Settled<'a> = Vec<(&'a str, Result<Vec<Fired>, AwsError>)>;

/// Each user's state read (one `BatchGetItem` for all) and moved over their points; the
/// transitions each user's state remembers after, or why it could not be moved.
async fn settle_users<'a, R: RowStore>(
    rows: &R,
    index: &GeofenceIndex,
    limits: &AnomalyLimits,
    by_user: &BTreeMap<&'a str, Vec<(usize, &Point)>>,
    spans: &[Span],
) -> (Settled<'a>, HashMap<&'a str, Vec<usize>>) {
    let owners_by_user: HashMap<&str, Vec<usize>> = by_user
        .iter()
        .map(|(u, pts)| {
            let mut owners: Vec<usize> = pts.iter().map(|(i, _)| *i).collect();
            owners.dedup();
            (*u, owners)
        })
        .collect();
    let keys: Vec<_> = by_user.keys().map(|u| state_row::key(u)).collect();
    let all_owners: Vec<usize> = {
        let mut o: Vec<usize> = owners_by_user.values().flatten().copied().collect();
        o.sort_unstable();
        o.dedup();
        o
    };
    let traced = aws_call_spans(spans, &all_owners, "DynamoDB", "BatchGetItem");
    let mut read = match during(traced, rows.get_many(&keys)).await {
        Ok(found) => found,
        Err(e) => {
            let settled = by_user.keys().map(|u| (*u, Err(e.clone()))).collect();
            return (settled, owners_by_user);
        }
    };
    let users: Vec<_> = by_user
        .iter()
        .map(|(user, pts)| {
            let first = read
                .remove(&state_row::key(user))
                .map(|item| Stored::from_item(&item))
                .unwrap_or_default();
            let points: Vec<&Point> = pts.iter().map(|(_, p)| *p).collect();
            let owners = owners_by_user.get(user).cloned().unwrap_or_default();
            async move {
                let traced = || aws_call_spans(spans, &owners, "DynamoDB", "PutItem");
                (
                    *user,
                    settle_user(rows, index, limits, user, &points, first, traced).await,
                )
            }
        })
        .collect();
    (bounded(users).await, owners_by_user)
}

/// One user's state moved over `points` and committed by compare-and-swap, read again after a
/// conflict; the transitions it remembers.
async fn settle_user<R: RowStore>(
    rows: &R,
    index: &GeofenceIndex,
    limits: &AnomalyLimits,
    user: &str,
    points: &[&Point],
    mut stored: Stored,
    traced: impl Fn() -> Vec<Span>,
) -> Result<Vec<Fired>, AwsError> {
    for _ in 0..MAX_STATE_SWAPS {
        let Some(Advanced {
            state,
            plausible,
            last_fix,
            fired,
        }) = advance(index, limits, &stored, points)
        else {
            // Nothing newer: the points were seen (a redelivery, or late). What they fired, if
            // anything, is remembered.
            return Ok(stored.fired);
        };
        let fixes = (plausible.as_ref(), last_fix.as_ref());
        let row = Stored::to_row(user, &state, fixes, &fired, stored.revision);
        match during(traced(), rows.put_if_revision(row, stored.revision)).await? {
            Swapped::Done => return Ok(fired),
            Swapped::Conflict => {
                debug!(
                    user,
                    "geofence state changed since it was read; reading it again"
                );
                let key = state_row::key(user);
                let mut found = during(traced(), rows.get_many(std::slice::from_ref(&key))).await?;
                stored = found
                    .remove(&key)
                    .map(|item| Stored::from_item(&item))
                    .unwrap_or_default();
            }
        }
    }
    Err(AwsError::local(
        "dynamodb",
        "PutItem",
        "GeofenceStateContended",
        format!("the geofence state changed under {MAX_STATE_SWAPS} attempts in a row"),
        true,
    ))
}
