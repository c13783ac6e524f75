//! The handler: one SQS batch through the stages, in order, in the invocation's span, with the
//! invocation's metrics printed at its end.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookloop_runtime::metrics::names::BATCH_SIZE;
use hookloop_runtime::{Invocation, InvocationIds};
use tracing::{Instrument, Span};

use crate::app::Processor;
use crate::exports;
use crate::loadback::Configured;
use crate::metrics;
use crate::ports::Ports;
use crate::stages::{claim_check, decode, dedup, geofence, load_back, parse, settle, write};
use crate::trace;

/// Processes a batch: stores every message (raw archive, rows, geofence stream), loads the
/// stored ones back to CleverTap when configured, then dead-letters what can never succeed.
/// Only messages worth another delivery are reported as failures; one bad message never fails
/// the batch. `deadline` (the invocation's) bounds load-back retries. The invocation gets ids
/// of its own (the local runner's, the tests'); the Lambda passes its own with [`handle_as`].
pub async fn handle<P: Ports>(
    p: &Processor<P>,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    handle_as(p, event, deadline, &InvocationIds::local()).await
}

/// [`handle`] as the invocation `ids`: every line it logs carries them (and each message's
/// lines its `message_id`), and its metrics are printed once at its end.
pub async fn handle_as<P: Ports>(
    p: &Processor<P>,
    event: SqsEvent,
    deadline: Option<Instant>,
    ids: &InvocationIds,
) -> SqsBatchResponse {
    let mut invocation = p.metrics.start();
    let span = ids.span(invocation.cold_start());
    let response = process(p, event, deadline, &mut invocation)
        .instrument(span)
        .await;
    p.metrics.publish(&invocation);
    response
}

async fn process<P: Ports>(
    p: &Processor<P>,
    event: SqsEvent,
    deadline: Option<Instant>,
    invocation: &mut Invocation,
) -> SqsBatchResponse {
    let messages = event.records;
    invocation.add(BATCH_SIZE, messages.len() as u64);
    // Children of the invocation's span (current here): a message's lines carry both, with the
    // message's own trace id (the webhook's trace, carried in the message) over the invocation's.
    let spans: Vec<Span> = messages.iter().map(trace::message_span).collect();

    let states = decode::decode(&messages, &spans);
    let states = dedup::skip_repeats(&p.ledger, states, &spans).await;
    let states = claim_check::fetch_bodies(&p.objects, states).await;
    let states = parse::parse(states, &p.exports.zone);
    let states = geofence::fence(p, states, &spans).await;
    let states = exports::stage::track(p, states, &spans).await;
    let states = write::write(p, states, &spans, invocation).await;
    metrics::count_stored(&states, invocation);
    // The load-back in force (re-read from the stack's document when its period has passed).
    let loadback = p.loadback.get().await;
    let states = match &*loadback {
        Configured::On(loadback) => {
            load_back::load_back(loadback, states, &spans, deadline, invocation).await
        }
        Configured::Off => states,
        Configured::Unknown => load_back::unknown(states, &spans),
    };
    settle::settle(
        &p.dead_letters,
        p.max_receive_count,
        &messages,
        states,
        spans,
        invocation,
    )
    .await
}

/// The `Instant` of a Lambda invocation's deadline (`Context::deadline()`).
pub fn deadline_from(deadline: std::time::SystemTime) -> Instant {
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left
}
