//! The processor's decisions, on the in-memory ports: no emulator. The emulator tests in
//! `tests/` keep one path per adapter and the end-to-end promises.

mod anomaly;
mod dedup;
mod exports;
mod geofence;
mod loadback;
mod order;
mod settle;
mod store;

use std::collections::HashMap;
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use hookloop_clevertap::{Accounts, Rules};
use hookloop_domain::{Envelope, Source};
use time::OffsetDateTime;

use crate::memory::*;
use crate::{handle, Loadback, Parts, Processor};

pub(crate) const RADAR_ENTRY: &str =
    include_str!("../../../../events/webhooks/location/radar-geofence-entered.json");
pub(crate) const CAMPAIGN: &str =
    include_str!("../../../../events/webhooks/clevertap/campaign-broadcast.json");
pub(crate) const EXAMPLE_RULES: &str = include_str!("../../../../infra/loadback-rules.json");

/// The Radar geofence entry with its event id made `n`'s own.
pub(crate) fn radar_entry(n: usize) -> String {
    RADAR_ENTRY.replace(
        "66329c1e5f8a2b0019e4a001",
        &format!("66329c1e5f8a2b0019e4{n:04}"),
    )
}

/// The in-memory world a test processor writes to, shared with the test.
#[derive(Default)]
pub(crate) struct World {
    pub objects: Shared<Objects>,
    pub rows: Shared<Rows>,
    pub events: Shared<Events>,
    pub ledger: Shared<Ledger>,
    pub dlq: Shared<DeadLetters>,
    pub upload: Shared<Upload>,
}

impl World {
    /// A processor without load-back.
    pub fn processor(&self) -> Processor<Memory> {
        self.build(None)
    }

    /// A processor loading back by the example rules, `max_attempts` per upload request.
    pub fn loading_back(&self, max_attempts: u32) -> Processor<Memory> {
        self.loading_back_by(EXAMPLE_RULES, max_attempts)
    }

    /// A processor loading back by `rules` (a rules document), `max_attempts` per request.
    pub fn loading_back_by(&self, rules: &str, max_attempts: u32) -> Processor<Memory> {
        let accounts =
            match Accounts::single("TEST-ACC".into(), "pass".into(), Some("in1"), None, 3) {
                Ok(a) => a,
                Err(e) => panic!("test account: {e}"),
            };
        let rules = match Rules::parse(rules, &accounts) {
            Ok(r) => r,
            Err(e) => panic!("rules: {e}"),
        };
        let loadback = Loadback::new(
            rules,
            self.upload.clone(),
            self.rows.clone(),
            max_attempts,
            std::time::Duration::from_secs(3600),
        );
        self.build(Some(loadback))
    }

    fn build(&self, loadback: Option<Loadback<Shared<Upload>, Shared<Rows>>>) -> Processor<Memory> {
        Processor::from_parts(Parts {
            objects: self.objects.clone(),
            rows: self.rows.clone(),
            events: self.events.clone(),
            ledger: self.ledger.clone(),
            dead_letters: self.dlq.clone(),
            loadback,
        })
    }

    /// Rows stored for `message_id` (markers and claims are not rows of a message).
    pub fn rows_of(&self, message_id: &str) -> usize {
        self.rows
            .lock()
            .items
            .values()
            .filter(|i| i.get("message_id").and_then(|v| v.as_str()) == Some(message_id))
            .filter(|i| i.get("kind").and_then(|v| v.as_str()) != Some("loadback"))
            .count()
    }

    /// Dead-letter entries: (body, attributes).
    pub fn dead(&self) -> Vec<(String, HashMap<String, String>)> {
        self.dlq.lock().sent.clone()
    }
}

pub(crate) fn envelope(source: Source, body: &str) -> Envelope {
    Envelope::received(source, body.to_owned(), OffsetDateTime::now_utc())
}

/// An envelope whose webhook carries a deduplication key.
pub(crate) fn keyed(source: Source, body: &str, key: &str) -> Envelope {
    envelope(source, body).with_dedup_key(Some(key.to_owned()))
}

/// The SQS message of `e` on its `receive`-th receive.
pub(crate) fn message(e: &Envelope, receive: u32) -> SqsMessage {
    raw_message(&e.id().to_string(), &e.encode(), receive, Some(e))
}

pub(crate) fn raw_message(id: &str, body: &str, receive: u32, e: Option<&Envelope>) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(format!("sqs-{id}"));
    m.body = Some(body.to_owned());
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive.to_string());
    if let Some(e) = e {
        for (name, value) in [
            ("source", e.source().as_str().to_owned()),
            ("message_id", e.id().to_string()),
        ] {
            let mut a = SqsMessageAttribute::default();
            a.string_value = Some(value);
            a.data_type = Some("String".into());
            m.message_attributes.insert(name.into(), a);
        }
    }
    m
}

pub(crate) async fn run(p: &Processor<Memory>, messages: Vec<SqsMessage>) -> SqsBatchResponse {
    handle(p, event(messages), None).await
}

/// Runs `batch` as one SQS batch, each message on its first receive.
pub(crate) async fn run_batch(p: &Processor<Memory>, batch: &[Envelope]) -> SqsBatchResponse {
    run(p, batch.iter().map(|e| message(e, 1)).collect()).await
}

pub(crate) async fn run_until(
    p: &Processor<Memory>,
    messages: Vec<SqsMessage>,
    deadline: Instant,
) -> SqsBatchResponse {
    handle(p, event(messages), Some(deadline)).await
}

/// The SQS ids the answer leaves for redelivery.
pub(crate) fn retried(r: &SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

pub(crate) fn sqs_id(e: &Envelope) -> String {
    format!("sqs-{}", e.id())
}

fn event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}
