//! Write: every ready message's raw body to the object store, its rows to the table and its
//! geofence events to the stream, with the writes of the whole batch packed into as few
//! requests as the service limits allow (25 items per `BatchWriteItem`, 500 records or 5 MiB per
//! `PutRecords`). Latest-state rows go one conditional write per row and batch ([`latest`]):
//! only forward in event time.
//!
//! A request that fails fails only the messages with an item in it; the others are stored. A
//! request refused for good (a validation error) is sent again item by item
//! ([`isolate::send_isolating`]), so one bad item cannot send the messages that shared its
//! request to the DLQ.

mod archive;
mod events;
mod isolate;
mod latest;
mod rows;

use hookloop_domain::latest::LatestRow;
use hookloop_runtime::metrics::names::{KIND, STALE_UPDATES};
use hookloop_runtime::Invocation;
use tracing::{info, Span};

use crate::app::Processor;
use crate::failure::{Failure, Stage};
use crate::ports::Ports;
use crate::state::{Ready, State, Stored};

pub(crate) async fn write<P: Ports>(
    p: &Processor<P>,
    states: Vec<State>,
    spans: &[Span],
    invocation: &mut Invocation,
) -> Vec<State> {
    let mut failures: Vec<Vec<Failure>> = vec![Vec::new(); states.len()];
    let superseded;
    {
        let ready: Vec<Option<&Ready>> = states.iter().map(State::ready).collect();
        let (archived, rows, latest, streamed) = tokio::join!(
            archive::put(&p.objects, p.archive_mode, &ready, spans),
            rows::put(&p.rows, &ready, spans),
            latest::put(&p.rows, &ready, spans),
            events::put(&p.events, &ready, spans),
        );
        for kind in &latest.stale {
            invocation.count_by(STALE_UPDATES, KIND, kind.as_str());
        }
        superseded = latest.superseded;
        let stored = archived
            .into_iter()
            .chain(rows)
            .chain(latest.groups)
            .map(|g| (Stage::Store, g));
        for (stage, (owners, result)) in
            stored.chain(streamed.into_iter().map(|g| (Stage::Stream, g)))
        {
            if let Err(e) = result {
                for i in owners {
                    failures[i].push(Failure::from_aws(stage, &e));
                }
            }
        }
    }
    states
        .into_iter()
        .zip(failures)
        .zip(spans)
        .enumerate()
        .map(|(i, ((state, failures), span))| match state {
            State::Ready(r) => match Failure::decisive(failures) {
                Some(f) => State::Failed(f),
                None => {
                    let _entered = span.enter();
                    info!(
                        rows = r.normalized.rows.len() + r.normalized.latest.len(),
                        geofence_events = r.normalized.geofence_events.len(),
                        "stored"
                    );
                    // A latest-state row whose update lost is stored (the newer one is) but not
                    // loaded back: CleverTap would get an older profile after a newer one.
                    let normalized = r.normalized;
                    let current = normalized.latest.into_iter().filter(|l| {
                        let (pk, sk) = l.key();
                        !superseded.contains(&(i, pk.to_owned(), sk.to_owned()))
                    });
                    let rows = normalized
                        .rows
                        .into_iter()
                        .chain(current.map(LatestRow::into_row))
                        .collect();
                    State::Stored(Stored {
                        message_id: r.envelope.id().to_string(),
                        source: r.envelope.source(),
                        rows,
                        span: span.clone(),
                    })
                }
            },
            other => other,
        })
        .collect()
}
