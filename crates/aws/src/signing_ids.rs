//! Radar signing ids seen by the ingest, in the table: a signed message authenticates one body.
//!
//! Item: `pk = DEDUP#RADARSIG#<sha256 hex of the signed message>`, `sk = RADARSIG`,
//! `kind = radar_signing_id`, `body_sha256` (hex), `expires_at` (epoch seconds, the table's TTL
//! attribute). The key sits under the ingest's `DEDUP#` prefix, which its IAM policy already
//! allows (`dynamodb:LeadingKeys`); its own sort key keeps it apart from deduplication claims,
//! whose keys start with a source name anyway. One conditional `PutItem` records a use: it
//! succeeds when no live record exists or the live one names the same body (the sender's retry
//! of a delivery that failed), and is refused when a live record names another body (a replay).

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use crate::error::FromSdk;
use crate::AwsError;
use hookloop_domain::table::{signing_id_key, TTL_ATTRIBUTE};

pub const SIGNING_ID_KIND: &str = "radar_signing_id";
const BODY_ATTRIBUTE: &str = "body_sha256";

/// The outcome of recording a signed message with a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningIdUse {
    /// Not seen within the window: recorded now.
    First,
    /// Seen with this same body: the sender's retry (it passes on to deduplication).
    SameBody,
    /// Seen with another body within the window: a replay of a captured signature.
    OtherBody,
}

/// The signed messages seen, in the table.
#[derive(Debug, Clone)]
pub struct SigningIds {
    client: aws_sdk_dynamodb::Client,
    table: String,
    window: Duration,
}

impl SigningIds {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        window: Duration,
    ) -> Self {
        SigningIds {
            client,
            table: table.into(),
            window,
        }
    }

    /// Records that the message whose SHA-256 is `message_sha256` (hex) was presented with a
    /// body whose SHA-256 is `body_sha256` (hex).
    pub async fn record(
        &self,
        message_sha256: &str,
        body_sha256: &str,
    ) -> Result<SigningIdUse, AwsError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expires_at = now.saturating_add(i64::try_from(self.window.as_secs()).unwrap_or(0));
        let (pk, sk) = signing_id_key(message_sha256);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk))
            .item("sk", AttributeValue::S(sk))
            .item("kind", AttributeValue::S(SIGNING_ID_KIND.to_owned()))
            .item(BODY_ATTRIBUTE, AttributeValue::S(body_sha256.to_owned()))
            .item(TTL_ATTRIBUTE, AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(pk) OR #exp < :now OR #body = :body")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#body", BODY_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":body", AttributeValue::S(body_sha256.to_owned()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match put {
            Ok(out) => {
                let live_before = out
                    .attributes()
                    .and_then(|old| old.get(TTL_ATTRIBUTE))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|exp| exp >= now);
                Ok(if live_before {
                    SigningIdUse::SameBody
                } else {
                    SigningIdUse::First
                })
            }
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Ok(SigningIdUse::OtherBody)
                }
                _ => Err(AwsError::from_sdk("dynamodb", "PutItem", e)),
            },
        }
    }
}
