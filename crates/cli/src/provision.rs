//! Creates the pipeline's resources, idempotently: used by `hookloop init` against an emulator
//! (and usable against a real account for a throwaway stack; production uses `infra/`), and by
//! the end-to-end tests and the bench. Here in the CLI so that neither Lambda links it.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_kinesis::types::StreamStatus;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use hookloop_aws::sqs::{Queue, MAX_MESSAGE_BYTES};
use hookloop_aws::FromSdk;
use hookloop_aws::{AwsClients, AwsError};
use hookloop_domain::table::TTL_ATTRIBUTE;

/// 14 days, the longest SQS keeps a message: the DLQ keeps failures as long as it can.
pub const DLQ_RETENTION_SECONDS: u32 = 1_209_600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    pub queue: String,
    pub dlq: String,
    pub bucket: String,
    pub table: String,
    pub stream: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid prefix {0:?}: use 1 to 40 characters, lowercase letters, digits and '-', starting with a letter")]
pub struct InvalidPrefix(pub String);

impl ResourceNames {
    /// `<prefix>-queue`, `<prefix>-dlq`, `<prefix>-raw` (bucket), `<prefix>-rows` (table),
    /// `<prefix>-geofence` (stream). The prefix must make a valid bucket name.
    pub fn from_prefix(prefix: &str) -> Result<Self, InvalidPrefix> {
        let ok = (1..=40).contains(&prefix.len())
            && prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && !prefix.ends_with('-')
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(InvalidPrefix(prefix.to_owned()));
        }
        Ok(ResourceNames {
            queue: format!("{prefix}-queue"),
            dlq: format!("{prefix}-dlq"),
            bucket: format!("{prefix}-raw"),
            table: format!("{prefix}-rows"),
            stream: format!("{prefix}-geofence"),
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    pub visibility_timeout_seconds: u32,
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            visibility_timeout_seconds: 30,
            max_receive_count: 5,
        }
    }
}

/// What `init` created: the environment the Lambdas and `hookloop serve` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub queue_url: String,
    pub dlq_url: String,
    pub bucket: String,
    pub table: String,
    pub stream: String,
}

impl Provisioned {
    pub fn env(&self) -> [(&'static str, &str); 5] {
        [
            ("QUEUE_URL", &self.queue_url),
            ("DLQ_URL", &self.dlq_url),
            ("RAW_BUCKET", &self.bucket),
            ("TABLE_NAME", &self.table),
            ("GEOFENCE_STREAM", &self.stream),
        ]
    }
}

pub async fn ensure(
    clients: &AwsClients,
    names: &ResourceNames,
    settings: QueueSettings,
) -> Result<Provisioned, AwsError> {
    let dlq_url = create_queue(
        clients,
        &names.dlq,
        &[
            (
                QueueAttributeName::MessageRetentionPeriod,
                DLQ_RETENTION_SECONDS.to_string(),
            ),
            (
                QueueAttributeName::MaximumMessageSize,
                MAX_MESSAGE_BYTES.to_string(),
            ),
        ],
    )
    .await?;
    let dlq_arn = Queue::new(clients.sqs.clone(), &dlq_url).arn().await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": settings.max_receive_count.to_string(),
    })
    .to_string();
    let queue_url = create_queue(
        clients,
        &names.queue,
        &[
            (
                QueueAttributeName::MaximumMessageSize,
                MAX_MESSAGE_BYTES.to_string(),
            ),
            (
                QueueAttributeName::VisibilityTimeout,
                settings.visibility_timeout_seconds.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive),
        ],
    )
    .await?;
    create_bucket(clients, &names.bucket).await?;
    create_table(clients, &names.table).await?;
    create_stream(clients, &names.stream).await?;
    Ok(Provisioned {
        queue_url,
        dlq_url,
        bucket: names.bucket.clone(),
        table: names.table.clone(),
        stream: names.stream.clone(),
    })
}

/// Creates the queue if needed, then sets its attributes (so a re-run with other settings
/// updates them instead of failing with `QueueAlreadyExists`).
async fn create_queue(
    clients: &AwsClients,
    name: &str,
    attrs: &[(QueueAttributeName, String)],
) -> Result<String, AwsError> {
    let out = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sqs", "CreateQueue", e))?;
    let url = out.queue_url().unwrap_or_default().to_owned();
    let mut req = clients.sqs.set_queue_attributes().queue_url(&url);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), v);
    }
    req.send()
        .await
        .map_err(|e| AwsError::from_sdk("sqs", "SetQueueAttributes", e))?;
    Ok(url)
}

async fn create_bucket(clients: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    let region = clients
        .s3
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut req = clients.s3.create_bucket().bucket(bucket);
    if !region.is_empty() && region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_exists()) =>
        {
            // Ours if we can see it.
            clients
                .s3
                .head_bucket()
                .bucket(bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| AwsError::from_sdk("s3", "HeadBucket", e))
        }
        Err(e) => Err(AwsError::from_sdk("s3", "CreateBucket", e)),
    }
}

async fn create_table(clients: &AwsClients, table: &str) -> Result<(), AwsError> {
    let build = |e: aws_sdk_dynamodb::error::BuildError| {
        AwsError::local(
            "dynamodb",
            "CreateTable",
            "BuildRequest",
            e.to_string(),
            false,
        )
    };
    let res = clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)?,
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .map_err(build)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .map_err(build)?,
        )
        .send()
        .await;
    match res {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(AwsError::from_sdk("dynamodb", "CreateTable", e)),
    }
    enable_ttl(clients, table).await
}

async fn enable_ttl(clients: &AwsClients, table: &str) -> Result<(), AwsError> {
    let current = clients
        .dynamodb
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("dynamodb", "DescribeTimeToLive", e))?;
    let enabled = current.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(TTL_ATTRIBUTE)
            && matches!(
                d.time_to_live_status(),
                Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
                    | Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling)
            )
    });
    if enabled {
        return Ok(());
    }
    let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| {
            AwsError::local(
                "dynamodb",
                "UpdateTimeToLive",
                "BuildRequest",
                e.to_string(),
                false,
            )
        })?;
    clients
        .dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("dynamodb", "UpdateTimeToLive", e))?;
    Ok(())
}

async fn create_stream(clients: &AwsClients, stream: &str) -> Result<(), AwsError> {
    let res = clients
        .kinesis
        .create_stream()
        .stream_name(stream)
        .shard_count(1)
        .send()
        .await;
    match res {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(AwsError::from_sdk("kinesis", "CreateStream", e)),
    }
    for _ in 0..100 {
        let out = clients
            .kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("kinesis", "DescribeStreamSummary", e))?;
        if out.stream_description_summary().map(|s| s.stream_status())
            == Some(&StreamStatus::Active)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(AwsError::local(
        "kinesis",
        "CreateStream",
        "NotActive",
        format!("stream {stream} did not become ACTIVE"),
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix_and_bad_prefixes_are_refused() {
        let n = ResourceNames::from_prefix("hookloop-dev").unwrap();
        assert_eq!(n.queue, "hookloop-dev-queue");
        assert_eq!(n.dlq, "hookloop-dev-dlq");
        assert_eq!(n.bucket, "hookloop-dev-raw");
        assert_eq!(n.table, "hookloop-dev-rows");
        assert_eq!(n.stream, "hookloop-dev-geofence");
        for bad in ["", "Upper", "1abc", "a_b", "a-", &"a".repeat(41)] {
            assert!(ResourceNames::from_prefix(bad).is_err(), "{bad}");
        }
    }
}
