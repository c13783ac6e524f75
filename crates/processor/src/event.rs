//! What the processor function is invoked with: an SQS batch (its queue's event source
//! mapping), an EventBridge scheduled event (the export check, every 15 minutes), or
//! `{"action": "exports-check"}` (`hookloop exports check --stack`, `cargo lambda invoke`).
//! Read in one pass, without buffering the batch.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The `action` that runs the export check.
pub const EXPORTS_CHECK: &str = "exports-check";

#[derive(Debug, Deserialize)]
pub struct ProcessorEvent {
    #[serde(rename = "Records", default)]
    records: Option<Vec<SqsMessage>>,
    #[serde(rename = "detail-type", default)]
    detail_type: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

/// What to do.
#[derive(Debug)]
pub enum Invoked {
    Batch(SqsEvent),
    /// The export check as of `at` (the schedule's time), or now.
    ExportsCheck {
        at: Option<OffsetDateTime>,
    },
}

impl ProcessorEvent {
    /// What the event asks for, or why it is not an event the processor takes.
    pub fn invoked(self) -> Result<Invoked, String> {
        if let Some(records) = self.records {
            let mut batch = SqsEvent::default();
            batch.records = records;
            return Ok(Invoked::Batch(batch));
        }
        let at = || {
            self.time
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        };
        match (self.detail_type.as_deref(), self.action.as_deref()) {
            (Some("Scheduled Event"), _) => Ok(Invoked::ExportsCheck { at: at() }),
            (_, Some(EXPORTS_CHECK)) => Ok(Invoked::ExportsCheck { at: None }),
            _ => Err(format!(
                "the processor takes an SQS batch (Records), an EventBridge scheduled event, or \
                 {{\"action\": \"{EXPORTS_CHECK}\"}}"
            )),
        }
    }
}

/// The processor's answer: the batch's failures, or the check's report.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Batch(SqsBatchResponse),
    Check(Value),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Invoked, String> {
        serde_json::from_value::<ProcessorEvent>(v)
            .map_err(|e| e.to_string())?
            .invoked()
    }

    #[test]
    fn a_batch_a_schedule_and_an_action_are_told_apart() {
        let batch = read(json!({"Records": [{"messageId": "m1", "body": "{}"}]})).unwrap();
        assert!(matches!(batch, Invoked::Batch(e) if e.records.len() == 1));
        let scheduled = read(
            json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
            "source": "aws.events", "time": "2026-12-03T10:15:00Z", "detail": {}}),
        )
        .unwrap();
        assert!(
            matches!(scheduled, Invoked::ExportsCheck { at: Some(t) } if t.unix_timestamp() == 1_796_292_900)
        );
        assert!(matches!(
            read(json!({"action": "exports-check"})).unwrap(),
            Invoked::ExportsCheck { at: None }
        ));
        let err = read(json!({"hello": 1})).unwrap_err();
        assert!(
            err.contains("Records") && err.contains("exports-check"),
            "{err}"
        );
    }
}
