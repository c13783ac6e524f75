//! Lambda, as the operating commands see it: the processor's event source mapping (the SQS
//! poller Lambda runs for it), for `hookloop status`.

use aws_config::SdkConfig;
use aws_smithy_types::date_time::Format;
use hookloop_runtime::metrics::Registry;

use crate::error::FromSdk;
use crate::requests::CountRequests;
use crate::AwsError;

/// A Lambda client built from `sdk`, counting its requests in `requests`.
pub fn client(sdk: &SdkConfig, requests: Registry) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(sdk)
            .interceptor(CountRequests {
                service: "lambda",
                registry: requests,
            })
            .build(),
    )
}

/// One event source mapping, reduced to what an operator checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub uuid: String,
    pub event_source_arn: String,
    /// `Enabled`, `Disabled`, `Creating`, `Enabling`, `Disabling`, `Updating`, `Deleting`.
    pub state: String,
    /// Why the state last changed (e.g. `USER_INITIATED`), if Lambda says.
    pub state_reason: Option<String>,
    pub batch_size: Option<i32>,
    /// When the mapping was last updated or its state changed (RFC 3339), not when it last
    /// processed a message: SQS mappings report no processing time.
    pub last_modified: Option<String>,
    /// `OK`, `PROBLEM: ...` (stream sources; SQS mappings leave it empty).
    pub last_processing_result: Option<String>,
}

/// The event source mappings of function `function` (its name or ARN), all pages.
pub async fn event_source_mappings(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Vec<Mapping>, AwsError> {
    let mut pages = client
        .list_event_source_mappings()
        .function_name(function)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("lambda", "ListEventSourceMappings", e))?;
        for m in page.event_source_mappings() {
            out.push(Mapping {
                uuid: m.uuid().unwrap_or_default().to_owned(),
                event_source_arn: m.event_source_arn().unwrap_or_default().to_owned(),
                state: m.state().unwrap_or("Unknown").to_owned(),
                state_reason: m.state_transition_reason().map(str::to_owned),
                batch_size: m.batch_size(),
                last_modified: m.last_modified().and_then(|t| t.fmt(Format::DateTime).ok()),
                last_processing_result: m
                    .last_processing_result()
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
            });
        }
    }
    Ok(out)
}

/// Invokes `function` synchronously with the JSON `payload` and returns its JSON answer; a
/// function error (it ran and failed) is an error naming the function's message.
pub async fn invoke_json(
    client: &aws_sdk_lambda::Client,
    function: &str,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, AwsError> {
    let out = client
        .invoke()
        .function_name(function)
        .payload(aws_smithy_types::Blob::new(payload.to_string()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("lambda", "Invoke", e))?;
    let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    match out.function_error {
        Some(kind) => Err(AwsError::local(
            "lambda",
            "Invoke",
            "FunctionError",
            format!(
                "{function} failed ({kind}): {}",
                answer
                    .get("errorMessage")
                    .and_then(|m| m.as_str())
                    .unwrap_or("no message")
            ),
            false,
        )),
        None => Ok(answer),
    }
}
