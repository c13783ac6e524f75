//! `hookloop status`: is the pipeline keeping up? The queue's depth, the dead-letter queue by
//! stage and error code, when a webhook was last stored, and the processor's event source
//! mapping. Reads only: the DLQ is peeked as `hookloop dlq list` does (received, then released).
//!
//! Where each figure comes from:
//! - queue depth: SQS `GetQueueAttributes` (`ApproximateNumberOfMessages`, `...NotVisible`).
//!   The age of its oldest message is not in the SQS API (receiving to look would take messages
//!   from the processor): it is the CloudWatch metric `AWS/SQS ApproximateAgeOfOldestMessage`
//!   (the stack's `OldestMessageAlarm` watches it); status prints the metric and queue name.
//! - DLQ by stage and code, and its oldest message: the peeked messages' attributes
//!   (`failed_at`, else SQS's `SentTimestamp`).
//! - last processed: the newest object under `raw/` in the bucket ([`crate::last_processed`]):
//!   the processor archives every webhook it stores. (An SQS event source mapping reports no
//!   processing time: its `LastModified` is its last configuration or state change.)
//! - event source mapping: Lambda `ListEventSourceMappings` for the processor function
//!   (`ProcessorFunctionName` output; without --stack, `PROCESSOR_FUNCTION_NAME` if set).
//! - configuration: the load-back document's URI and when it was last written (S3
//!   `HeadObject`; none: load-back is off), and the ARNs of the functions' secrets (never
//!   their values).

use std::collections::BTreeMap;
use std::process::ExitCode;

use hookloop_aws::lambda::{self, Mapping};
use hookloop_aws::stack::parse_s3_uri;
use hookloop_domain::attributes as attr;
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::dlq::{handles, take_all};
use crate::last_processed::{modified, newest_raw_object, Newest};
use crate::target::{Deployed, Resource, Target};
use crate::CliError;

pub const OLDEST_MESSAGE_METRIC: &str = "AWS/SQS ApproximateAgeOfOldestMessage";

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Most DLQ messages to peek at for the breakdown by stage and code.
    #[arg(long, default_value_t = 1000)]
    dlq_max: usize,
}

#[derive(Debug, Serialize)]
struct QueueStatus {
    url: String,
    visible: u64,
    in_flight: u64,
}

#[derive(Debug, Serialize)]
struct Group {
    stage: String,
    error_code: String,
    count: usize,
}

#[derive(Debug, Serialize)]
struct DlqStatus {
    #[serde(flatten)]
    depth: QueueStatus,
    /// Messages peeked (at most --dlq-max); the groups count these.
    peeked: usize,
    by_stage_and_code: Vec<Group>,
    oldest_failed_at: Option<String>,
}

#[derive(Debug, Serialize)]
struct Configuration {
    loadback_config: Option<String>,
    /// When the document was last written; `None`: there is none (load-back off).
    loadback_config_modified: Option<String>,
    ingest_secret: Option<String>,
    processor_secret: Option<String>,
}

#[derive(Debug, Serialize)]
struct MappingStatus {
    uuid: String,
    state: String,
    state_reason: Option<String>,
    event_source_arn: String,
    batch_size: Option<i32>,
    last_modified: Option<String>,
    last_processing_result: Option<String>,
}

impl From<Mapping> for MappingStatus {
    fn from(m: Mapping) -> Self {
        MappingStatus {
            uuid: m.uuid,
            state: m.state,
            state_reason: m.state_reason,
            event_source_arn: m.event_source_arn,
            batch_size: m.batch_size,
            last_modified: m.last_modified,
            last_processing_result: m.last_processing_result,
        }
    }
}

/// Everything status found, for either output.
struct Report {
    target: String,
    has_stack: bool,
    queue: QueueStatus,
    queue_name: String,
    dlq: DlqStatus,
    bucket: String,
    last: Option<Newest>,
    function: Option<String>,
    mappings: Option<Vec<MappingStatus>>,
    config: Configuration,
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let target = args.target.connect().await?;
    let queue = queue_status(&target, Resource::Queue).await?;
    let dlq = dlq_status(&target, args.dlq_max).await?;
    let bucket = target.get(Resource::RawBucket)?;
    let last = newest_raw_object(&target.clients.s3, &bucket).await?;
    let function = target.lookup(Resource::ProcessorFunction);
    let mappings = match &function {
        Some(f) => {
            let client = lambda::client(&target.sdk, target.clients.requests.clone());
            let all = lambda::event_source_mappings(&client, f).await?;
            Some(all.into_iter().map(MappingStatus::from).collect())
        }
        None => None,
    };
    let report = Report {
        target: target.describe(),
        has_stack: target.stack.is_some(),
        queue_name: queue.url.rsplit('/').next().unwrap_or_default().to_owned(),
        queue,
        dlq,
        bucket,
        last,
        function,
        mappings,
        config: configuration(&target).await?,
    };
    if args.json {
        let doc = to_json(
            &report,
            target.stack.as_ref().map(|s| (&s.stack, &s.status)),
        );
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn to_json(r: &Report, stack: Option<(&String, &String)>) -> serde_json::Value {
    json!({
        "target": r.target,
        "stack": stack.map(|(name, status)| json!({"name": name, "status": status})),
        "queue": r.queue,
        "oldest_message_age": {
            "from": format!("CloudWatch metric {OLDEST_MESSAGE_METRIC}"),
            "queue_name": r.queue_name,
        },
        "dlq": r.dlq,
        "last_processed": r.last.as_ref().map(|n| json!({
            "at": n.at,
            "key": n.key,
            "from": format!("newest object under s3://{}/raw/", r.bucket),
        })),
        "processor_function": r.function,
        "event_source_mappings": r.mappings,
        "configuration": r.config,
    })
}

async fn configuration(target: &Deployed) -> Result<Configuration, CliError> {
    let loadback_config = target.lookup(Resource::LoadbackConfig);
    let loadback_config_modified = match loadback_config.as_deref().and_then(parse_s3_uri) {
        Some((bucket, key)) => modified(&target.clients.s3, bucket, key).await?,
        None => None,
    };
    Ok(Configuration {
        loadback_config,
        loadback_config_modified,
        ingest_secret: target.lookup(Resource::IngestSecret),
        processor_secret: target.lookup(Resource::ProcessorSecret),
    })
}

async fn queue_status(target: &Deployed, which: Resource) -> Result<QueueStatus, CliError> {
    let q = target.queue(which)?;
    let (visible, in_flight) = q.depth().await?;
    Ok(QueueStatus {
        url: target.get(which)?,
        visible,
        in_flight,
    })
}

async fn dlq_status(target: &Deployed, max: usize) -> Result<DlqStatus, CliError> {
    let depth = queue_status(target, Resource::DeadLetterQueue).await?;
    let dlq = target.queue(Resource::DeadLetterQueue)?;
    let entries = take_all(&dlq, max).await?;
    dlq.release(&handles(&entries)).await?;
    let mut groups: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut oldest: Option<OffsetDateTime> = None;
    for e in &entries {
        let key = (
            e.attr(attr::STAGE).unwrap_or("-").to_owned(),
            e.attr(attr::ERROR_CODE).unwrap_or("-").to_owned(),
        );
        *groups.entry(key).or_default() += 1;
        let failed = e
            .attr(attr::FAILED_AT)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .or_else(|| e.sent_at());
        oldest = match (oldest, failed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut by_stage_and_code: Vec<Group> = groups
        .into_iter()
        .map(|((stage, error_code), count)| Group {
            stage,
            error_code,
            count,
        })
        .collect();
    by_stage_and_code.sort_by_key(|g| std::cmp::Reverse(g.count));
    Ok(DlqStatus {
        depth,
        peeked: entries.len(),
        by_stage_and_code,
        oldest_failed_at: oldest.and_then(|t| t.format(&Rfc3339).ok()),
    })
}

/// One line of the text report: a label column, then what it says.
fn line(label: &str, text: impl std::fmt::Display) {
    println!("{label:<18}{text}");
}

fn print_text(r: &Report) {
    println!("{}", r.target);
    line(
        "queue",
        format!(
            "{} waiting, {} in flight",
            r.queue.visible, r.queue.in_flight
        ),
    );
    line(
        "",
        format!(
            "oldest message age: not in the SQS API; CloudWatch metric \
             {OLDEST_MESSAGE_METRIC}, QueueName={}",
            r.queue_name
        ),
    );
    let oldest = r.dlq.oldest_failed_at.as_deref();
    line(
        "dead-letter queue",
        format!(
            "{} waiting, {} in flight{}",
            r.dlq.depth.visible,
            r.dlq.depth.in_flight,
            oldest
                .map(|t| format!(", oldest failed at {t}"))
                .unwrap_or_default()
        ),
    );
    for g in &r.dlq.by_stage_and_code {
        line(
            "",
            format!(
                "{:>6}  stage={:<8} error_code={}",
                g.count, g.stage, g.error_code
            ),
        );
    }
    match &r.last {
        Some(n) => line("last processed", format!("{} ({})", n.at, n.key)),
        None => line(
            "last processed",
            format!("never (nothing under s3://{}/raw/)", r.bucket),
        ),
    }
    print_mappings(r);
    let c = &r.config;
    match (&c.loadback_config, &c.loadback_config_modified) {
        (Some(uri), Some(at)) => line("load-back", format!("{uri}, written {at}")),
        (Some(uri), None) => line("load-back", format!("off (no document at {uri})")),
        (None, _) => line("load-back", "- (no LoadbackConfigUri)"),
    }
    for (name, arn) in [
        ("ingest", &c.ingest_secret),
        ("processor", &c.processor_secret),
    ] {
        if let Some(arn) = arn {
            line("secret", format!("{name}: {arn}"));
        }
    }
}

fn print_mappings(r: &Report) {
    let (Some(f), Some(ms)) = (&r.function, &r.mappings) else {
        return line(
            "event source",
            if r.has_stack {
                "- (the stack has no ProcessorFunctionName output)"
            } else {
                "- (no processor function: pass --stack; `hookloop serve` polls the queue itself)"
            },
        );
    };
    if ms.is_empty() {
        line("event source", format!("none for function {f}"));
    }
    for m in ms {
        let reason = m.state_reason.as_deref().map(|r| format!(", {r}"));
        let result = m.last_processing_result.as_deref();
        line(
            "event source",
            format!(
                "{} ({}{}), function {f}, source {}, batch size {}, last modified {}{}",
                m.state,
                m.uuid,
                reason.unwrap_or_default(),
                m.event_source_arn,
                m.batch_size.map_or("-".into(), |b| b.to_string()),
                m.last_modified.as_deref().unwrap_or("-"),
                result
                    .map(|r| format!(", last result {r}"))
                    .unwrap_or_default()
            ),
        );
    }
}
