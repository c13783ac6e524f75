//! Latest-state rows ([`LatestRow`]: a trip's `META`, a user's `PROFILE`), each written with one
//! conditional `PutItem` that applies [`hookloop_domain::Version::replaces`] in the table:
//! `BatchWriteItem` cannot carry a condition, and a transaction fails as a whole when one
//! condition fails (and bills twice), so one request per row. The processor collapses a batch's
//! updates of one row to the newest first, so that is one request per row per batch.
//!
//! A refusal by the condition (`ConditionalCheckFailedException`) is the outcome
//! [`Written::Stale`], not an error: the table holds a newer version and keeps it. Any other
//! failure is an [`AwsError`] like every other call's; the SDK's standard retry mode retries it
//! first (the one place retries happen for a single-item call).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use hookloop_domain::latest::{EVENT_TIME_ATTRIBUTE, TIEBREAK_ATTRIBUTE};
use hookloop_domain::{LatestRow, Row, Written};

use super::{row_into_item, Table};
use crate::error::FromSdk;
use crate::AwsError;

/// The rule of [`hookloop_domain::Version::replaces`] as DynamoDB evaluates it: no stored
/// event time (no item, or one written before rows had versions), an older one, or an equal one
/// with a tiebreak not greater than ours. `#t`/`#m` name the event time and tiebreak
/// attributes, `:t`/`:m` hold ours.
pub const LATEST_CONDITION: &str = "attribute_not_exists(#t) OR #t < :t \
     OR (#t = :t AND (attribute_not_exists(#m) OR #m <= :m))";

impl Table {
    /// Writes `row` if the table holds no newer version of it; [`Written::Stale`] when it
    /// does (the row is left as it was).
    pub async fn put_latest(&self, row: LatestRow) -> Result<Written, AwsError> {
        let time = AttributeValue::N(row.version().event_time_ms().to_string());
        let tiebreak = AttributeValue::S(row.version().tiebreak().to_owned());
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(row_into_item(row.into_row())))
            .condition_expression(LATEST_CONDITION)
            .expression_attribute_names("#t", EVENT_TIME_ATTRIBUTE)
            .expression_attribute_names("#m", TIEBREAK_ATTRIBUTE)
            .expression_attribute_values(":t", time)
            .expression_attribute_values(":m", tiebreak)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Written::Replaced),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(Written::Stale),
                _ => Err(AwsError::from_sdk("dynamodb", "PutItem", e)),
            },
        }
    }
}

/// The attribute a read-modify-write item counts its writes in ([`Table::put_if_revision`]).
pub const REVISION_ATTRIBUTE: &str = "revision";

/// What a compare-and-swap write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swapped {
    /// The item held the expected revision and now holds the row.
    Done,
    /// The item changed since it was read: nothing written; read it again.
    Conflict,
}

impl Table {
    /// Writes `row` (whose [`REVISION_ATTRIBUTE`] the caller sets one past `expected`) if the
    /// item still holds revision `expected`, or, for `None`, does not exist: one conditional
    /// `PutItem`. A refusal by the condition is [`Swapped::Conflict`].
    pub async fn put_if_revision(
        &self,
        row: Row,
        expected: Option<i64>,
    ) -> Result<Swapped, AwsError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(row_into_item(row)))
            .expression_attribute_names("#r", REVISION_ATTRIBUTE);
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(#r)"),
            Some(r) => put
                .condition_expression("#r = :r")
                .expression_attribute_values(":r", AttributeValue::N(r.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(Swapped::Done),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(Swapped::Conflict),
                _ => Err(AwsError::from_sdk("dynamodb", "PutItem", e)),
            },
        }
    }
}
