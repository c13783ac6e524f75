//! Deduplication claims in the table: which message owns a webhook's deduplication key.
//!
//! Item: `pk = DEDUP#<key>`, `sk = DEDUP`, `kind = dedup`, `message_id`, `expires_at` (epoch
//! seconds, the table's TTL attribute). A claim is taken with one conditional `PutItem` that
//! succeeds when no live claim exists (none, or one past `expires_at` that TTL has not removed
//! yet), so two deliveries racing for one key cannot both win.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use crate::provision::TABLE_TTL_ATTRIBUTE;
use crate::AwsError;

pub const DEDUP_PK_PREFIX: &str = "DEDUP#";
pub const DEDUP_SK: &str = "DEDUP";

/// The outcome of [`Claims::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This message owns the key now.
    Won,
    /// Another message owns it: this is a repeat of that one.
    Duplicate { original: String },
}

#[derive(Debug, Clone)]
pub struct Claims {
    client: aws_sdk_dynamodb::Client,
    table: String,
    window: Duration,
}

fn key_attrs(key: &str) -> [(String, AttributeValue); 2] {
    [
        (
            "pk".to_owned(),
            AttributeValue::S(format!("{DEDUP_PK_PREFIX}{key}")),
        ),
        ("sk".to_owned(), AttributeValue::S(DEDUP_SK.to_owned())),
    ]
}

impl Claims {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        window: Duration,
    ) -> Self {
        Claims {
            client,
            table: table.into(),
            window,
        }
    }

    /// How long a claim lasts: repeats within it are duplicates.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Claims `key` for `message_id`, or names the message that holds it.
    pub async fn claim(&self, key: &str, message_id: &str) -> Result<Claim, AwsError> {
        // A claim released or expired between the refused write and the read is tried once
        // more; anything stranger is a retryable error, never a loop.
        for _ in 0..2 {
            if self.try_claim(key, message_id).await? {
                return Ok(Claim::Won);
            }
            match self.owner(key).await? {
                Some(original) if original != message_id => {
                    return Ok(Claim::Duplicate { original })
                }
                Some(_) => return Ok(Claim::Won),
                None => continue,
            }
        }
        Err(AwsError::local(
            "dynamodb",
            "PutItem",
            "ClaimContention",
            format!("the claim on {key} changed hands while it was being taken"),
            true,
        ))
    }

    /// One conditional write: `true` when this message holds the claim now.
    async fn try_claim(&self, key: &str, message_id: &str) -> Result<bool, AwsError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expires_at = now + self.window.as_secs() as i64;
        let [pk, sk] = key_attrs(key);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(pk.0, pk.1)
            .item(sk.0, sk.1)
            .item("kind", AttributeValue::S("dedup".into()))
            .item("message_id", AttributeValue::S(message_id.to_owned()))
            .item(
                TABLE_TTL_ATTRIBUTE,
                AttributeValue::N(expires_at.to_string()),
            )
            .condition_expression("attribute_not_exists(pk) OR #exp < :now OR message_id = :id")
            .expression_attribute_names("#exp", TABLE_TTL_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::from_sdk("dynamodb", "PutItem", e)),
        }
    }

    /// The message holding a live claim on `key`, if any.
    pub async fn owner(&self, key: &str) -> Result<Option<String>, AwsError> {
        let [pk, sk] = key_attrs(key);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", "GetItem", e))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        Ok(out.item.and_then(|item| {
            let live = item
                .get(TABLE_TTL_ATTRIBUTE)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .is_some_and(|exp| exp >= now);
            let id = item.get("message_id").and_then(|v| v.as_s().ok()).cloned();
            id.filter(|_| live)
        }))
    }

    /// Gives `key` up if `message_id` still holds it (the message was never queued).
    pub async fn release(&self, key: &str, message_id: &str) -> Result<(), AwsError> {
        let [pk, sk] = key_attrs(key);
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .condition_expression("message_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::from_sdk("dynamodb", "DeleteItem", e)),
        }
    }
}
