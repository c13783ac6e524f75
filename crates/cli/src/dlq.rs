//! `hookloop dlq list` and `hookloop dlq redrive`: see why webhooks were dead-lettered, and send
//! them back once the cause is fixed.

use std::collections::HashSet;
use std::process::ExitCode;

use hookloop_aws::sqs::{Message, Queue};
use hookloop_domain::attributes as attr;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::target::{Deployed, Resource, Target};
use crate::{progress_bar, CliError};

/// How long a listed message stays hidden while the listing goes on (then it is released).
const HOLD_SECONDS: i32 = 60;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Show each dead-lettered message: source, stage, error and age. Leaves them in the DLQ.
    List(ListArgs),
    /// Move dead-lettered messages back to the main queue (all, or those matching --filter).
    Redrive(RedriveArgs),
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: Target,
    /// Print JSON (one array, with each message's body) instead of a table.
    #[arg(long)]
    json: bool,
    /// Most messages to show.
    #[arg(long, default_value_t = 1000)]
    max: usize,
}

#[derive(clap::Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    target: Target,
    /// Only messages whose attribute matches, e.g. `stage=store`, `source=location`,
    /// `error_code=payload_invalid`. Repeat to require several.
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    filters: Vec<String>,
    /// Say what would move without moving anything.
    #[arg(long)]
    dry_run: bool,
}

/// A DLQ message with the attributes the processor wrote.
pub(crate) struct Entry {
    message: Message,
}

impl Entry {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.message.message_attributes()?.get(name)?.string_value()
    }

    /// When SQS received it (into the queue it first went to), from `SentTimestamp`.
    pub(crate) fn sent_at(&self) -> Option<OffsetDateTime> {
        let ms: i128 = self
            .message
            .attributes()?
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp)?
            .parse()
            .ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
    }

    fn age(&self, now: OffsetDateTime) -> String {
        let Some(t) = self
            .attr(attr::FAILED_AT)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        else {
            return "?".into();
        };
        let secs = (now - t).whole_seconds().max(0);
        match secs {
            s if s < 120 => format!("{s}s"),
            s if s < 7200 => format!("{}m", s / 60),
            s if s < 172_800 => format!("{}h", s / 3600),
            s => format!("{}d", s / 86_400),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "sqs_message_id": self.message.message_id(),
            "message_id": self.attr(attr::MESSAGE_ID),
            "source": self.attr(attr::SOURCE),
            "stage": self.attr(attr::STAGE),
            "error_code": self.attr(attr::ERROR_CODE),
            "error": self.attr(attr::ERROR),
            "attempts": self.attr(attr::ATTEMPTS),
            "failed_at": self.attr(attr::FAILED_AT),
            "body": self.message.body(),
        })
    }

    fn matches(&self, filters: &[(String, String)]) -> bool {
        filters
            .iter()
            .all(|(k, v)| self.attr(k) == Some(v.as_str()))
    }
}

/// Receives everything currently in `dlq` (up to `max`), each message once, holding them hidden
/// until the caller releases or deletes them.
pub(crate) async fn take_all(dlq: &Queue, max: usize) -> Result<Vec<Entry>, CliError> {
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    let mut empty_receives = 0;
    while entries.len() < max && empty_receives < 2 {
        let batch = dlq.receive_hidden_for(10, 1, Some(HOLD_SECONDS)).await?;
        if batch.is_empty() {
            empty_receives += 1;
            continue;
        }
        for m in batch {
            if seen.insert(m.message_id().unwrap_or_default().to_owned()) {
                entries.push(Entry { message: m });
            }
        }
    }
    Ok(entries)
}

pub(crate) fn handles(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| e.message.receipt_handle().map(str::to_owned))
        .collect()
}

pub async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::List(a) => list(&a.target.connect().await?, a).await,
        Command::Redrive(a) => redrive(&a.target.connect().await?, a).await,
    }
}

async fn list(target: &Deployed, args: ListArgs) -> Result<ExitCode, CliError> {
    let dlq = target.queue(Resource::DeadLetterQueue)?;
    let entries = take_all(&dlq, args.max).await?;
    dlq.release(&handles(&entries)).await?;
    if args.json {
        let all: Vec<Value> = entries.iter().map(Entry::to_json).collect();
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let now = OffsetDateTime::now_utc();
    println!(
        "{:<28} {:<24} {:<7} {:<6} {:<52} ERROR",
        "MESSAGE ID", "SOURCE", "STAGE", "AGE", "ERROR CODE"
    );
    for e in &entries {
        let error: String = e
            .attr(attr::ERROR)
            .unwrap_or("")
            .chars()
            .take(120)
            .collect();
        println!(
            "{:<28} {:<24} {:<7} {:<6} {:<52} {}",
            e.attr(attr::MESSAGE_ID).unwrap_or("-"),
            e.attr(attr::SOURCE).unwrap_or("-"),
            e.attr(attr::STAGE).unwrap_or("-"),
            e.age(now),
            e.attr(attr::ERROR_CODE).unwrap_or("-"),
            error
        );
    }
    eprintln!("{} message(s) in the DLQ", entries.len());
    Ok(ExitCode::SUCCESS)
}

fn parse_filters(raw: &[String]) -> Result<Vec<(String, String)>, CliError> {
    raw.iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "--filter {f:?}: expected NAME=VALUE, e.g. stage=store"
                    ))
                })
        })
        .collect()
}

async fn redrive(target: &Deployed, args: RedriveArgs) -> Result<ExitCode, CliError> {
    let filters = parse_filters(&args.filters)?;
    let dlq = target.queue(Resource::DeadLetterQueue)?;
    let main = target.queue(Resource::Queue)?;

    // Everything, for real: let SQS move it in the background where it can.
    if filters.is_empty() && !args.dry_run {
        match dlq.start_move_to(&main.arn().await?).await {
            Ok(task) => {
                println!("started StartMessageMoveTask {task}: SQS moves the DLQ back to the queue in the background");
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => {
                info!(error = %e, "StartMessageMoveTask unavailable; moving messages one by one")
            }
        }
    }

    let (visible, _) = dlq.depth().await?;
    let bar = progress_bar(
        visible,
        if args.dry_run {
            "checking"
        } else {
            "redriving"
        },
    );
    let mut seen = HashSet::new();
    let mut skipped = Vec::new();
    let mut moved = 0u64; // or, in a dry run, would move
    let mut empty_receives = 0;
    while empty_receives < 2 {
        let batch = dlq.receive_hidden_for(10, 1, Some(HOLD_SECONDS)).await?;
        if batch.is_empty() {
            empty_receives += 1;
            continue;
        }
        for m in batch {
            if !seen.insert(m.message_id().unwrap_or_default().to_owned()) {
                continue;
            }
            let entry = Entry { message: m };
            bar.inc(1);
            if !entry.matches(&filters) || args.dry_run {
                if args.dry_run && entry.matches(&filters) {
                    moved += 1;
                }
                skipped.extend(entry.message.receipt_handle().map(str::to_owned));
                continue;
            }
            // Back as it first arrived: the original body and its source and id, without the
            // failure attributes.
            let attributes: Vec<(&str, String)> = attr::SET_BY_INGEST
                .into_iter()
                .filter_map(|k| entry.attr(k).map(|v| (k, v.to_owned())))
                .collect();
            main.send(
                entry.message.body().unwrap_or_default().to_owned(),
                &attributes,
            )
            .await?;
            let handle = entry
                .message
                .receipt_handle()
                .unwrap_or_default()
                .to_owned();
            let not_deleted = dlq.delete(&[(String::new(), handle)]).await?;
            if !not_deleted.is_empty() {
                warn!("a redriven message could not be deleted from the DLQ; it may be redriven twice (processing is idempotent)");
            }
            moved += 1;
        }
    }
    dlq.release(&skipped).await?;
    bar.finish_and_clear();
    let (verb, left) = if args.dry_run {
        ("would move", seen.len() as u64)
    } else {
        ("moved", seen.len() as u64 - moved)
    };
    println!("{verb} {moved} message(s) to the queue; {left} left in the DLQ");
    Ok(ExitCode::SUCCESS)
}
