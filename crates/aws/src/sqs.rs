//! SQS: the work queue between ingest and processor, and the dead-letter queue.

use std::collections::HashMap;

pub use aws_sdk_sqs::types::Message;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
};

use crate::error::FromSdk;
use crate::AwsError;

/// SQS's maximum message size (body plus attributes), once the queue's `MaximumMessageSize` is
/// raised to it (the default is still 256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;
/// Entries per `SendMessageBatch` / `DeleteMessageBatch` / `ReceiveMessage`.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Longest long-poll wait.
pub const MAX_WAIT_SECONDS: i32 = 20;
/// Longest message attribute value the pipeline writes (reasons are cut to it).
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1024;

/// The size SQS counts for a message: body plus, per attribute, name, type and value.
pub fn message_size(body: &str, attributes: &[(&str, String)]) -> usize {
    body.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum::<usize>()
}

/// Makes any text safe as an SQS attribute value: SQS accepts only XML characters, so control
/// characters become spaces; long text is cut.
pub fn attribute_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' && c != '\n' {
                ' '
            } else {
                c
            }
        })
        .take(MAX_ATTRIBUTE_VALUE_CHARS)
        .collect()
}

#[derive(Clone, Debug)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Queue {
            client,
            url: url.into(),
        }
    }

    /// The queue's name (the last part of its URL).
    pub fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or(&self.url)
    }

    /// Sends one message with string attributes; returns SQS's message id.
    pub async fn send(
        &self,
        body: String,
        attributes: &[(&str, String)],
    ) -> Result<String, AwsError> {
        self.send_traced(body, attributes, None).await
    }

    /// [`Queue::send`], with an X-Ray trace header as the message's `AWSTraceHeader` system
    /// attribute (the one system attribute a sender may set).
    pub async fn send_traced(
        &self,
        body: String,
        attributes: &[(&str, String)],
        aws_trace_header: Option<&str>,
    ) -> Result<String, AwsError> {
        let mut req = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body);
        if let Some(header) = aws_trace_header {
            let v = MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(header)
                .build()
                .map_err(|e| {
                    AwsError::local("sqs", "SendMessage", "BuildAttribute", e.to_string(), false)
                })?;
            req = req
                .message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, v);
        }
        for (name, value) in attributes {
            let v = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(attribute_text(value))
                .build()
                .map_err(|e| {
                    AwsError::local("sqs", "SendMessage", "BuildAttribute", e.to_string(), false)
                })?;
            req = req.message_attributes(*name, v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sqs", "SendMessage", e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }

    /// Receives up to `max` (at most 10) messages with all system and message attributes.
    pub async fn receive(&self, max: i32, wait_seconds: i32) -> Result<Vec<Message>, AwsError> {
        self.receive_hidden_for(max, wait_seconds, None).await
    }

    /// Like [`Queue::receive`], hiding the messages for `visibility_seconds` instead of the
    /// queue's visibility timeout (tools that look at messages without consuming them).
    pub async fn receive_hidden_for(
        &self,
        max: i32,
        wait_seconds: i32,
        visibility_seconds: Option<i32>,
    ) -> Result<Vec<Message>, AwsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH_ENTRIES as i32))
            .wait_time_seconds(wait_seconds.clamp(0, MAX_WAIT_SECONDS))
            .set_visibility_timeout(visibility_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sqs", "ReceiveMessage", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Deletes messages by receipt handle, 10 per request. Returns the ids SQS did not delete.
    pub async fn delete(&self, entries: &[(String, String)]) -> Result<Vec<String>, AwsError> {
        let mut failed = Vec::new();
        for chunk in entries.chunks(MAX_BATCH_ENTRIES) {
            let batch = chunk
                .iter()
                .enumerate()
                .map(|(i, (_, handle))| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| {
                            AwsError::local(
                                "sqs",
                                "DeleteMessageBatch",
                                "BuildEntry",
                                e.to_string(),
                                false,
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(batch))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("sqs", "DeleteMessageBatch", e))?;
            for f in out.failed() {
                if let Some((id, _)) = f.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    failed.push(id.clone());
                }
            }
        }
        Ok(failed)
    }

    /// Makes received messages visible again at once (by receipt handle), 10 per request.
    pub async fn release(&self, handles: &[String]) -> Result<(), AwsError> {
        use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry as Entry;
        for chunk in handles.chunks(MAX_BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    Entry::builder()
                        .id(i.to_string())
                        .receipt_handle(h)
                        .visibility_timeout(0)
                        .build()
                        .map_err(|e| {
                            AwsError::local(
                                "sqs",
                                "ChangeMessageVisibilityBatch",
                                "BuildEntry",
                                e.to_string(),
                                false,
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("sqs", "ChangeMessageVisibilityBatch", e))?;
        }
        Ok(())
    }

    /// The queue's ARN.
    pub async fn arn(&self) -> Result<String, AwsError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sqs", "GetQueueAttributes", e))?;
        out.attributes()
            .and_then(|a| a.get(&A::QueueArn))
            .cloned()
            .ok_or_else(|| {
                AwsError::local(
                    "sqs",
                    "GetQueueAttributes",
                    "MissingQueueArn",
                    self.url.clone(),
                    false,
                )
            })
    }

    /// Asks SQS to move every message of this queue (a DLQ) to `destination_arn` in the
    /// background (`StartMessageMoveTask`); returns the task handle.
    pub async fn start_move_to(&self, destination_arn: &str) -> Result<String, AwsError> {
        let source_arn = self.arn().await?;
        let out = self
            .client
            .start_message_move_task()
            .source_arn(source_arn)
            .destination_arn(destination_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sqs", "StartMessageMoveTask", e))?;
        Ok(out.task_handle().unwrap_or_default().to_owned())
    }

    /// `ApproximateNumberOfMessages` + `...NotVisible`, for status displays and tests.
    pub async fn depth(&self) -> Result<(u64, u64), AwsError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sqs", "GetQueueAttributes", e))?;
        let attrs: HashMap<A, String> = out.attributes.unwrap_or_default();
        let n = |k: &A| attrs.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok((
            n(&A::ApproximateNumberOfMessages),
            n(&A::ApproximateNumberOfMessagesNotVisible),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_counts_attributes_like_sqs() {
        assert_eq!(
            message_size("abc", &[("source", "location".into())]),
            3 + 6 + 6 + 8
        );
    }

    #[test]
    fn attribute_text_strips_controls_and_cuts() {
        assert_eq!(attribute_text("a\u{0}b\u{1b}c\nd"), "a b c\nd");
        assert_eq!(
            attribute_text(&"x".repeat(5000)).len(),
            MAX_ATTRIBUTE_VALUE_CHARS
        );
    }
}
