//! Deduplication claims in the table: which message owns a webhook's deduplication key.
//!
//! Item: `pk = DEDUP#<key>`, `sk = DEDUP`, `kind = dedup`, `message_id`, `expires_at` (epoch
//! seconds, the table's TTL attribute). A claim is taken with one conditional `PutItem` that
//! succeeds when no live claim exists (none, or one past `expires_at` that TTL has not removed
//! yet), so two deliveries racing for one key cannot both win. A claim never changes hands
//! within its window: when the ingest cannot confirm that the owner was queued it sets
//! `unsent = true`, and the sender's retry is queued again under the owner's id.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::dynamodb::{item_to_json, Table};
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
    /// Another message owns it, but its ingest could not confirm it was queued (the send failed,
    /// or only looked failed): this delivery is queued again under that message's id, which
    /// the processor handles idempotently, so nothing is lost and no second id is born.
    Unsent { original: String },
}

/// The message holding a live claim, as read back from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    message_id: String,
    unsent: bool,
}

impl Holder {
    /// From a claim item read back as JSON ([`crate::dynamodb::item_to_json`]); `None` when it is
    /// past `expires_at` (TTL has not removed it yet) or malformed.
    fn from_json(item: &Map<String, Value>) -> Option<Holder> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let live = item
            .get(TABLE_TTL_ATTRIBUTE)
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp >= now);
        let message_id = item.get("message_id")?.as_str()?.to_owned();
        let unsent = item
            .get(UNSENT_ATTRIBUTE)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        live.then_some(Holder { message_id, unsent })
    }

    fn into_claim(self) -> Claim {
        if self.unsent {
            Claim::Unsent {
                original: self.message_id,
            }
        } else {
            Claim::Duplicate {
                original: self.message_id,
            }
        }
    }
}

/// Set on a claim whose message the ingest could not confirm as queued.
const UNSENT_ATTRIBUTE: &str = "unsent";

#[derive(Debug, Clone)]
pub struct Claims {
    client: aws_sdk_dynamodb::Client,
    table: Table,
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
            table: Table::new(client.clone(), table),
            client,
            window,
        }
    }

    /// How long a claim lasts: repeats within it are duplicates.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Claims `key` for `message_id`, or names the message that holds it. One conditional
    /// `PutItem`: when it is refused the holder comes back with the refusal
    /// (`ReturnValuesOnConditionCheckFailure`), so a repeat costs no read.
    pub async fn claim(&self, key: &str, message_id: &str) -> Result<Claim, AwsError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expires_at = now + self.window.as_secs() as i64;
        let [pk, sk] = key_attrs(key);
        let put = self
            .client
            .put_item()
            .table_name(self.table.name())
            .item(pk.0, pk.1)
            .item(sk.0, sk.1)
            .item("kind", AttributeValue::S("dedup".into()))
            .item("message_id", AttributeValue::S(message_id.to_owned()))
            .item(
                TABLE_TTL_ATTRIBUTE,
                AttributeValue::N(expires_at.to_string()),
            )
            .condition_expression(
                "attribute_not_exists(message_id) OR #exp < :now OR message_id = :id",
            )
            .expression_attribute_names("#exp", TABLE_TTL_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let refused = match put {
            Ok(_) => return Ok(Claim::Won),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refused)) => refused
                    .item()
                    .and_then(|i| Holder::from_json(&item_to_json(i))),
                _ => return Err(AwsError::from_sdk("dynamodb", "PutItem", e)),
            },
        };
        // A store that does not return the holder with the refusal is asked for it.
        let holder = match refused {
            Some(holder) => Some(holder),
            None => self.holder(key).await?,
        };
        match holder {
            Some(h) if h.message_id == message_id => Ok(Claim::Won),
            Some(h) => Ok(h.into_claim()),
            None => Err(AwsError::local(
                "dynamodb",
                "PutItem",
                "ClaimContention",
                format!("the claim on {key} changed hands while it was being taken"),
                true,
            )),
        }
    }

    /// The messages holding live claims on `keys`, read with `BatchGetItem` (100 keys per
    /// request): one read for a whole processor batch instead of one per message. Keys without
    /// a live claim are absent.
    pub async fn owners(&self, keys: &[String]) -> Result<HashMap<String, String>, AwsError> {
        let wanted: Vec<(String, String)> = keys
            .iter()
            .map(|k| (format!("{DEDUP_PK_PREFIX}{k}"), DEDUP_SK.to_owned()))
            .collect();
        let found = self.table.get_many(&wanted).await?;
        Ok(found
            .into_iter()
            .filter_map(|((pk, _), item)| {
                let key = pk.strip_prefix(DEDUP_PK_PREFIX)?.to_owned();
                Some((key, Holder::from_json(&item)?.message_id))
            })
            .collect())
    }

    /// The message holding a live claim on `key`, if any.
    pub async fn owner(&self, key: &str) -> Result<Option<String>, AwsError> {
        Ok(self.holder(key).await?.map(|h| h.message_id))
    }

    async fn holder(&self, key: &str) -> Result<Option<Holder>, AwsError> {
        let item = self
            .table
            .get(&format!("{DEDUP_PK_PREFIX}{key}"), DEDUP_SK)
            .await?;
        Ok(item.and_then(|i| Holder::from_json(&item_to_json(&i))))
    }

    /// Records that `message_id`, which holds `key`, may not have been queued, so that the
    /// sender's retry queues it again under the same id instead of being told "duplicate".
    /// The claim never changes hands: a copy that was queued after all and stored is stored
    /// again under the same keys, never under a second id.
    pub async fn mark_unsent(&self, key: &str, message_id: &str) -> Result<(), AwsError> {
        self.set_unsent(key, message_id, true).await
    }

    /// Records that `message_id` was queued after all (a retry after [`Claims::mark_unsent`]).
    pub async fn mark_sent(&self, key: &str, message_id: &str) -> Result<(), AwsError> {
        self.set_unsent(key, message_id, false).await
    }

    async fn set_unsent(&self, key: &str, message_id: &str, unsent: bool) -> Result<(), AwsError> {
        let [pk, sk] = key_attrs(key);
        let update = if unsent {
            "SET #unsent = :true"
        } else {
            "REMOVE #unsent"
        };
        let mut req = self
            .client
            .update_item()
            .table_name(self.table.name())
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .update_expression(update)
            .condition_expression("message_id = :id")
            .expression_attribute_names("#unsent", UNSENT_ATTRIBUTE)
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()));
        if unsent {
            req = req.expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            // Another message holds the key now (this one's claim expired): nothing to mark.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::from_sdk("dynamodb", "UpdateItem", e)),
        }
    }
}
