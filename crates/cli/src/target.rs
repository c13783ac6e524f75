//! Which pipeline an operating command acts on: a deployed stack (`--stack NAME`, its resources
//! from the stack's CloudFormation outputs) or, without `--stack`, the environment `hookloop
//! init` prints (`QUEUE_URL`, `DLQ_URL`, ...). `--region` and `--profile` choose the account and
//! region as they do for the AWS CLI; `AWS_ENDPOINT_URL` still points everything at an emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use hookloop_aws::sqs::Queue;
use hookloop_aws::stack::{self, output, StackOutputs};
use hookloop_aws::AwsClients;
use hookloop_runtime::Registry;

use crate::CliError;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Target {
    /// The deployed CloudFormation stack to operate (queue, DLQ, bucket, table, stream, function
    /// and secrets from its outputs). Without it: the environment printed by `hookloop init`.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// AWS region, as the AWS CLI's --region (default: AWS_REGION, then the profile's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile of ~/.aws/config and ~/.aws/credentials, as the AWS CLI's --profile
    /// (default: AWS_PROFILE, then `default`).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
}

/// A resource an operating command needs: where it is found with and without `--stack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Queue,
    DeadLetterQueue,
    RawBucket,
    Table,
    GeofenceStream,
    ProcessorFunction,
    LoadbackConfig,
    IngestSecret,
    ProcessorSecret,
}

impl Resource {
    /// The stack output naming it (infra/template.yaml).
    pub fn output(self) -> &'static str {
        match self {
            Resource::Queue => output::QUEUE_URL,
            Resource::DeadLetterQueue => output::DLQ_URL,
            Resource::RawBucket => output::RAW_BUCKET,
            Resource::Table => output::TABLE,
            Resource::GeofenceStream => output::GEOFENCE_STREAM,
            Resource::ProcessorFunction => output::PROCESSOR_FUNCTION,
            Resource::LoadbackConfig => output::LOADBACK_CONFIG,
            Resource::IngestSecret => output::INGEST_SECRET,
            Resource::ProcessorSecret => output::PROCESSOR_SECRET,
        }
    }

    /// The environment variable naming it without `--stack`: as `hookloop init` prints them
    /// and the functions read them (the function and the secrets: names of their own).
    pub fn env(self) -> &'static str {
        match self {
            Resource::Queue => "QUEUE_URL",
            Resource::DeadLetterQueue => "DLQ_URL",
            Resource::RawBucket => "RAW_BUCKET",
            Resource::Table => "TABLE_NAME",
            Resource::GeofenceStream => "GEOFENCE_STREAM",
            Resource::ProcessorFunction => "PROCESSOR_FUNCTION_NAME",
            Resource::LoadbackConfig => "LOADBACK_CONFIG",
            Resource::IngestSecret => "INGEST_SECRET_ARN",
            Resource::ProcessorSecret => "PROCESSOR_SECRET_ARN",
        }
    }
}

/// The SDK configuration for `region` and `profile` (each `None`: the SDK's defaults), with
/// the clients' usual timeouts and `AWS_ENDPOINT_URL` (or a service's `AWS_ENDPOINT_URL_<SERVICE>`)
/// when set.
pub async fn sdk_config(region: Option<&str>, profile: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(hookloop_aws::clients::timeouts());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_owned()));
    }
    // The loader reads `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` itself.
    hookloop_aws::clients::endpoint_as_set(loader.load().await)
}

/// `v`, trimmed, unless it is empty.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A connected target: the clients, and the stack's outputs when `--stack` was given.
pub struct Deployed {
    pub sdk: SdkConfig,
    pub clients: AwsClients,
    pub stack: Option<StackOutputs>,
}

impl Target {
    /// Loads the SDK configuration and, with `--stack`, the stack's outputs.
    pub async fn connect(&self) -> Result<Deployed, CliError> {
        let sdk = sdk_config(given(&self.region), given(&self.profile)).await;
        if sdk.region().is_none() {
            return Err(CliError::Usage(
                "no AWS region: pass --region, set AWS_REGION, or give the profile a region".into(),
            ));
        }
        let requests = Registry::new();
        let stack = match given(&self.stack) {
            Some(name) => {
                let cfn = stack::client(&sdk, requests.clone());
                let loaded = StackOutputs::load(&cfn, name).await;
                Some(loaded.map_err(|e| match e.code.as_str() {
                    // CloudFormation's answer for a stack it does not have.
                    "ValidationError" | "StackNotFound" => CliError::Usage(format!(
                        "no stack {name} in {} for these credentials ({}): check --stack, \
                         --region and --profile",
                        sdk.region().map(|r| r.as_ref()).unwrap_or("?"),
                        e.message
                    )),
                    _ => CliError::Aws(e),
                })?)
            }
            None => None,
        };
        Ok(Deployed {
            clients: AwsClients::from_sdk_config(&sdk, requests),
            sdk,
            stack,
        })
    }
}

impl Deployed {
    /// `resource`'s name, URL or ARN, if this target has it.
    pub fn lookup(&self, resource: Resource) -> Option<String> {
        match &self.stack {
            Some(s) => s.get(resource.output()).map(str::to_owned),
            None => std::env::var(resource.env())
                .ok()
                .filter(|v| !v.trim().is_empty()),
        }
    }

    /// `resource`'s name, URL or ARN, or an error saying where it was looked for.
    pub fn get(&self, resource: Resource) -> Result<String, CliError> {
        match &self.stack {
            Some(s) => Ok(s.require(resource.output())?.to_owned()),
            None => self.lookup(resource).ok_or_else(|| {
                CliError::Usage(format!(
                    "{} is not set: pass --stack NAME for a deployed stack, or eval the output \
                     of `hookloop init`",
                    resource.env()
                ))
            }),
        }
    }

    /// The queue `resource` (the queue or the DLQ).
    pub fn queue(&self, resource: Resource) -> Result<Queue, CliError> {
        Ok(Queue::new(self.clients.sqs.clone(), self.get(resource)?))
    }

    /// What this target is, for messages: `stack NAME (STATUS)` or `the environment`.
    pub fn describe(&self) -> String {
        match &self.stack {
            Some(s) => format!("stack {} ({})", s.stack, s.status),
            None => "the environment (no --stack)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed(stack: Option<StackOutputs>) -> Deployed {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        Deployed {
            clients: AwsClients::from_sdk_config(&sdk, Registry::new()),
            sdk,
            stack,
        }
    }

    #[test]
    fn a_stack_resolves_resources_from_its_outputs_and_names_a_missing_one() {
        let d = deployed(Some(
            StackOutputs::new("prod", "UPDATE_COMPLETE")
                .with("QueueUrl", "https://sqs.example/1/prod-queue")
                .with("RawBucketName", "prod-raw"),
        ));
        assert_eq!(
            d.get(Resource::Queue).unwrap(),
            "https://sqs.example/1/prod-queue"
        );
        assert_eq!(d.get(Resource::RawBucket).unwrap(), "prod-raw");
        let err = d.get(Resource::DeadLetterQueue).unwrap_err().to_string();
        assert!(
            err.contains("stack prod has no output DeadLetterQueueUrl"),
            "{err}"
        );
        assert_eq!(d.describe(), "stack prod (UPDATE_COMPLETE)");
    }

    #[test]
    fn every_resource_has_a_distinct_output_and_variable() {
        use std::collections::HashSet;
        let all = [
            Resource::Queue,
            Resource::DeadLetterQueue,
            Resource::RawBucket,
            Resource::Table,
            Resource::GeofenceStream,
            Resource::ProcessorFunction,
            Resource::LoadbackConfig,
            Resource::IngestSecret,
            Resource::ProcessorSecret,
        ];
        let outputs: HashSet<_> = all.iter().map(|r| r.output()).collect();
        let vars: HashSet<_> = all.iter().map(|r| r.env()).collect();
        assert_eq!((outputs.len(), vars.len()), (all.len(), all.len()));
    }
}
