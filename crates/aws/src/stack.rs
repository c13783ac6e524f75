//! A deployed stack's resources, from its CloudFormation outputs (`infra/template.yaml`'s
//! `Outputs`): what the operating commands (`hookloop dlq`, `replay`, `status`, `rules push`)
//! act on when given `--stack NAME`.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use hookloop_runtime::metrics::Registry;

use crate::error::FromSdk;
use crate::requests::CountRequests;
use crate::AwsError;

/// The template's output names, one per resource the operating commands use.
pub mod output {
    pub const QUEUE_URL: &str = "QueueUrl";
    pub const DLQ_URL: &str = "DeadLetterQueueUrl";
    pub const RAW_BUCKET: &str = "RawBucketName";
    pub const TABLE: &str = "TableName";
    pub const GEOFENCE_STREAM: &str = "GeofenceStreamName";
    pub const INGEST_FUNCTION: &str = "IngestFunctionName";
    pub const PROCESSOR_FUNCTION: &str = "ProcessorFunctionName";
    pub const INGEST_SECRET: &str = "IngestSecretArn";
    pub const PROCESSOR_SECRET: &str = "ProcessorSecretArn";
    pub const LOADBACK_CONFIG: &str = "LoadbackConfigUri";
}

/// A CloudFormation client built from `sdk`, counting its requests in `requests` like the
/// clients of [`crate::AwsClients`].
pub fn client(sdk: &SdkConfig, requests: Registry) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(sdk)
            .interceptor(CountRequests {
                service: "cloudformation",
                registry: requests,
            })
            .build(),
    )
}

/// One stack's outputs, by output name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    pub stack: String,
    /// The stack's status, e.g. `CREATE_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`.
    pub status: String,
    outputs: BTreeMap<String, String>,
}

impl StackOutputs {
    pub fn new(stack: impl Into<String>, status: impl Into<String>) -> Self {
        StackOutputs {
            stack: stack.into(),
            status: status.into(),
            outputs: BTreeMap::new(),
        }
    }

    /// The same, with `name` = `value` (tests; unit tests of the commands).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.outputs.insert(name.into(), value.into());
        self
    }

    /// Reads stack `stack` (its name or id) with `DescribeStacks`.
    pub async fn load(
        cfn: &aws_sdk_cloudformation::Client,
        stack: &str,
    ) -> Result<StackOutputs, AwsError> {
        let out = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("cloudformation", "DescribeStacks", e))?;
        let Some(found) = out.stacks().first() else {
            return Err(AwsError::local(
                "cloudformation",
                "DescribeStacks",
                "StackNotFound",
                format!("no stack named {stack}"),
                false,
            ));
        };
        let mut outputs = StackOutputs::new(
            found.stack_name().unwrap_or(stack),
            found
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        );
        for o in found.outputs() {
            if let (Some(k), Some(v)) = (o.output_key(), o.output_value()) {
                outputs = outputs.with(k, v);
            }
        }
        Ok(outputs)
    }

    /// The value of output `name`, if the stack has it (and it is not empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.outputs
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of output `name`, or an error naming the stack and the missing output.
    pub fn require(&self, name: &str) -> Result<&str, MissingOutput> {
        self.get(name).ok_or_else(|| MissingOutput {
            stack: self.stack.clone(),
            output: name.to_owned(),
            present: self.outputs.keys().cloned().collect(),
        })
    }

    /// Every output, by name.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.outputs
    }
}

/// A stack without an output a command needs: most likely deployed from an older template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stack {stack} has no output {output} (it has: {}); deploy the current infra/template.yaml",
    if present.is_empty() { "none".to_owned() } else { present.join(", ") }
)]
pub struct MissingOutput {
    pub stack: String,
    pub output: String,
    pub present: Vec<String>,
}

/// `s3://bucket/key` split into bucket and key.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_found_by_name_and_a_missing_one_is_named() {
        let s = StackOutputs::new("prod", "CREATE_COMPLETE")
            .with(output::QUEUE_URL, "https://sqs/q")
            .with(output::TABLE, "");
        assert_eq!(s.require(output::QUEUE_URL), Ok("https://sqs/q"));
        // An empty output counts as missing.
        let missing = s.require(output::TABLE).unwrap_err().to_string();
        assert!(
            missing.contains("stack prod has no output TableName"),
            "{missing}"
        );
        assert!(missing.contains("QueueUrl"), "{missing}");
    }

    #[test]
    fn s3_uris_split_into_bucket_and_key() {
        assert_eq!(
            parse_s3_uri("s3://b-raw/config/loadback.json"),
            Some(("b-raw", "config/loadback.json"))
        );
        for bad in ["b/k", "s3://b", "s3:///k", "s3://b/"] {
            assert_eq!(parse_s3_uri(bad), None, "{bad}");
        }
    }
}
