//! Deduplication claims in the table: which message owns a webhook's deduplication key.
//!
//! Item: `pk = DEDUP#<key>`, `sk = DEDUP`, `kind = dedup`, `message_id`, `expires_at` (epoch
//! seconds, the table's TTL attribute). A claim is taken with one conditional `PutItem` that
//! succeeds when no live claim exists (none, or one past `expires_at` that TTL has not removed
//! yet), so two deliveries racing for one key cannot both win.
//!
//! A claim is only ever written for a message that is known to be queued: by the ingest after
//! `SendMessage` succeeded, or by the processor for a message it received. So a claim names a
//! message that will be stored (or dead-lettered with a reason), and "duplicate" is never the
//! answer for a webhook that was lost. A claim never changes hands within its window.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::dynamodb::{item_to_json, Table};
use crate::error::FromSdk;
use crate::AwsError;
use hookloop_domain::table::{claim_key, claimed_dedup_key, TTL_ATTRIBUTE};

pub use hookloop_domain::dedup::Claim;

/// Set by versions before claims were taken after the send, on a claim whose message the ingest
/// could not confirm as queued. Such a claim may name a message that was never queued, so it is
/// not honoured: the next claim takes the key over.
const LEGACY_UNSENT_ATTRIBUTE: &str = "unsent";

/// The message holding a live claim, from a claim item read back as JSON
/// ([`crate::dynamodb::item_to_json`]); `None` when it is past `expires_at` (TTL has not removed
/// it yet), malformed, or a legacy unsent claim.
fn holder(item: &Map<String, Value>) -> Option<String> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let live = item
        .get(TTL_ATTRIBUTE)
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp >= now);
    let unsent = item
        .get(LEGACY_UNSENT_ATTRIBUTE)
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let message_id = item.get("message_id")?.as_str()?.to_owned();
    (live && !unsent).then_some(message_id)
}

#[derive(Debug, Clone)]
pub struct Claims {
    client: aws_sdk_dynamodb::Client,
    table: Table,
    window: Duration,
}

fn key_attrs(key: &str) -> [(String, AttributeValue); 2] {
    let (pk, sk) = claim_key(key);
    [
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
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
            .item(TTL_ATTRIBUTE, AttributeValue::N(expires_at.to_string()))
            .condition_expression(
                "attribute_not_exists(message_id) OR #exp < :now OR message_id = :id \
                 OR #unsent = :true",
            )
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#unsent", LEGACY_UNSENT_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let refused = match put {
            Ok(_) => return Ok(Claim::Won),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                    refused.item().and_then(|i| holder(&item_to_json(i)))
                }
                _ => return Err(AwsError::from_sdk("dynamodb", "PutItem", e)),
            },
        };
        // A store that does not return the holder with the refusal is asked for it.
        let holder = match refused {
            Some(holder) => Some(holder),
            None => self.holder(key).await?,
        };
        match holder {
            Some(h) if h == message_id => Ok(Claim::Won),
            Some(original) => Ok(Claim::Duplicate { original }),
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
        let wanted: Vec<(String, String)> = keys.iter().map(|k| claim_key(k)).collect();
        let found = self.table.get_many(&wanted).await?;
        Ok(found
            .into_iter()
            .filter_map(|((pk, _), item)| {
                let key = claimed_dedup_key(&pk)?.to_owned();
                Some((key, holder(&item)?))
            })
            .collect())
    }

    /// The message holding a live claim on `key`, if any.
    pub async fn owner(&self, key: &str) -> Result<Option<String>, AwsError> {
        self.holder(key).await
    }

    async fn holder(&self, key: &str) -> Result<Option<String>, AwsError> {
        let (pk, sk) = claim_key(key);
        let item = self.table.get(&pk, &sk).await?;
        Ok(item.and_then(|i| holder(&item_to_json(&i))))
    }
}

/// The table as the domain's deduplication ledger, for both functions.
impl hookloop_domain::dedup::DedupLedger for Claims {
    async fn owners(&self, keys: &[String]) -> Result<HashMap<String, String>, AwsError> {
        Claims::owners(self, keys).await
    }
    async fn claim(&self, key: &str, message_id: &str) -> Result<Claim, AwsError> {
        Claims::claim(self, key, message_id).await
    }
}
