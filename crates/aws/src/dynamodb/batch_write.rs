//! `BatchWriteItem` with a body written here from the rows ([`super::encode`]), sent through the
//! SDK's client: retries, endpoint, signing, interceptors and the parsing of the answer stay the
//! SDK's; only the request body is ours.
//!
//! Where the body goes in: `client.batch_write_item().customize().map_request(..)`. Verified in
//! the locked SDK sources (~/.cargo/registry/src/*/):
//! - aws-sdk-dynamodb-1.136.0/src/client/customize.rs, `CustomizableOperation::map_request`:
//!   pushes an `aws_smithy_runtime::client::interceptors::MapRequestInterceptor` for this call;
//! - aws-smithy-runtime-1.16.2/src/client/interceptors.rs, `impl Intercept for
//!   MapRequestInterceptor`: runs the function in `modify_before_signing`;
//! - aws-smithy-runtime-1.16.2/src/client/orchestrator.rs, `try_attempt`: `modify_before_signing`
//!   then `read_before_signing`, then `sign_request` (SigV4 over the body as it is then), then
//!   `modify_before_transmit`. And `try_op` saves the serialised request as the checkpoint
//!   (`save_checkpoint`) before the retry loop and `rewind`s to it for each attempt, so every
//!   attempt, retries included, gets our body put in again before it is signed.
//!
//! The test `the_signed_request_carries_the_encoded_body_and_unprocessed_items_are_resent`
//! re-computes the SigV4 signature over the request as it was transmitted and checks the SDK's
//! `Authorization` agrees.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::WriteRequest;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::HttpError;
use aws_smithy_types::body::SdkBody;
use hookloop_domain::Row;

use super::encode::{encode_row, write_str};
use super::{Table, MAX_BATCH_WRITE_ITEMS};
use crate::error::FromSdk;
use crate::retry::resend_partial_failures;
use crate::AwsError;

/// A row encoded as a DynamoDB item, with its key to find it among `UnprocessedItems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EncodedItem {
    pk: String,
    sk: String,
    item: Vec<u8>,
}

impl EncodedItem {
    fn new(row: Row) -> Self {
        let item = encode_row(&row);
        EncodedItem {
            pk: row.pk,
            sk: row.sk,
            item,
        }
    }
}

/// `{"RequestItems":{"<table>":[{"PutRequest":{"Item":<item>}},...]}}`.
pub(super) fn batch_write_body(table: &str, items: &[EncodedItem]) -> Vec<u8> {
    const PUT: &[u8] = br#"{"PutRequest":{"Item":"#;
    let size: usize = items.iter().map(|i| i.item.len() + PUT.len() + 3).sum();
    let mut body = Vec::with_capacity(size + table.len() + 24);
    body.extend_from_slice(br#"{"RequestItems":{"#);
    write_str(table, &mut body);
    body.extend_from_slice(b":[");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(PUT);
        body.extend_from_slice(&it.item);
        body.extend_from_slice(b"}}");
    }
    body.extend_from_slice(b"]}}");
    body
}

/// The request with `body` in place of the SDK's, `Content-Length` set to match.
fn with_body(mut req: HttpRequest, body: &[u8]) -> Result<HttpRequest, HttpError> {
    *req.body_mut() = SdkBody::from(body);
    req.headers_mut()
        .try_insert("content-length", body.len().to_string())?;
    Ok(req)
}

/// The items of `sent` that DynamoDB handed back in `unprocessed`, matched by key. An
/// unprocessed item that matches none of them (not expected) fails the call, retryably.
fn still_pending(
    sent: Vec<EncodedItem>,
    unprocessed: &[WriteRequest],
) -> Result<Vec<EncodedItem>, AwsError> {
    if unprocessed.is_empty() {
        return Ok(Vec::new());
    }
    fn key(w: &WriteRequest) -> Option<(&str, &str)> {
        let item = &w.put_request.as_ref()?.item;
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
        Some((s("pk")?, s("sk")?))
    }
    let keys: HashSet<(&str, &str)> = unprocessed.iter().filter_map(key).collect();
    let pending: Vec<EncodedItem> = sent
        .into_iter()
        .filter(|i| keys.contains(&(i.pk.as_str(), i.sk.as_str())))
        .collect();
    let found = pending
        .iter()
        .map(|i| (i.pk.as_str(), i.sk.as_str()))
        .collect::<HashSet<_>>()
        .len();
    if found < keys.len() || keys.len() < unprocessed.len() {
        return Err(AwsError::local(
            "dynamodb",
            "BatchWriteItem",
            "UnprocessedItems",
            format!(
                "{} unprocessed items, {} of them matching an item sent",
                unprocessed.len(),
                found
            ),
            true,
        ));
    }
    Ok(pending)
}

impl Table {
    /// Writes rows with `BatchWriteItem`, 25 per request, re-sending `UnprocessedItems` with
    /// backoff. Rows left unprocessed after the last attempt are a retryable failure.
    pub async fn put_rows(&self, rows: Vec<Row>) -> Result<(), AwsError> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let pending: Vec<EncodedItem> = rows
                .by_ref()
                .take(MAX_BATCH_WRITE_ITEMS)
                .map(EncodedItem::new)
                .collect();
            let sent =
                resend_partial_failures(&self.backoff, pending, |batch| self.send_encoded(batch))
                    .await;
            sent.map_err(|u| {
                u.into_error(
                    "dynamodb",
                    "BatchWriteItem",
                    "UnprocessedItems",
                    "items",
                    "",
                )
            })?;
        }
        Ok(())
    }

    /// One `BatchWriteItem` of `batch`; what comes back is what DynamoDB left unprocessed.
    async fn send_encoded(&self, batch: Vec<EncodedItem>) -> Result<Vec<EncodedItem>, AwsError> {
        let body = batch_write_body(&self.name, &batch);
        // The input the SDK serialises (and then sees replaced) is the smallest valid one: this
        // table with no write requests. The table name must stay: the endpoint parameters are
        // taken from the input's `RequestItems` keys (`ResourceArnList`, for account-based
        // endpoints; `BatchWriteItemEndpointParamsInterceptor` in aws-sdk-dynamodb's
        // operation/batch_write_item.rs), and an empty list needs no `PutRequest` built.
        let out = self
            .client
            .batch_write_item()
            .request_items(&self.name, Vec::new())
            .customize()
            .map_request(move |req| with_body(req, &body))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", "BatchWriteItem", e))?;
        let unprocessed = out
            .unprocessed_items
            .and_then(|mut m| m.remove(&self.name))
            .unwrap_or_default();
        still_pending(batch, &unprocessed)
    }
}

#[cfg(test)]
#[path = "batch_write_tests.rs"]
mod tests;
