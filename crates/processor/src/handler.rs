//! The handler: one SQS batch through the stages, in order.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::{field, info_span, Span};

use crate::app::Processor;
use crate::loadback::Configured;
use crate::ports::Ports;
use crate::stages::{claim_check, decode, dedup, load_back, parse, settle, write};

/// Processes a batch: stores every message (raw archive, rows, geofence stream), loads the
/// stored ones back to CleverTap when configured, then dead-letters what can never succeed.
/// Only messages worth another delivery are reported as failures; one bad message never fails
/// the batch. `deadline` (the invocation's) bounds load-back retries.
pub async fn handle<P: Ports>(
    p: &Processor<P>,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let messages = event.records;
    let spans: Vec<Span> = messages.iter().map(message_span).collect();

    let states = decode::decode(&messages, &spans);
    let states = dedup::skip_repeats(&p.ledger, states, &spans).await;
    let states = claim_check::fetch_bodies(&p.objects, states).await;
    let states = parse::parse(states);
    let states = write::write(p, states, &spans).await;
    // The load-back in force (re-read from the stack's document when its period has passed).
    let loadback = p.loadback.get().await;
    let states = match &*loadback {
        Configured::On(loadback) => load_back::load_back(loadback, states, &spans, deadline).await,
        Configured::Off => states,
        Configured::Unknown => load_back::unknown(states, &spans),
    };
    settle::settle(
        &p.dead_letters,
        p.max_receive_count,
        &messages,
        states,
        spans,
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

fn message_span(msg: &SqsMessage) -> Span {
    info_span!(
        "message",
        sqs_message_id = msg.message_id.as_deref().unwrap_or(""),
        message_id = field::Empty,
        source = field::Empty,
    )
}
