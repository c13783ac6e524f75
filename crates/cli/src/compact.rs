//! `hookloop compact`: the curated Parquet layer (`curated/<table>/dt=…/HH.parquet`) from the
//! raw archive, with the same code the scheduled compaction runs (`hookloop_curated`).

use std::process::ExitCode;

use hookloop_aws::s3::RawArchive;
use hookloop_curated::{curated_key, Compactor, Hour, RunReport, Table};
use hookloop_runtime::config::process_env;
use time::OffsetDateTime;

use crate::target::{Resource, Target};
use crate::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Compact this UTC arrival hour, e.g. 2026-11-22T05, whether or not it changed.
    #[arg(long, value_name = "YYYY-MM-DDTHH", conflicts_with = "all")]
    hour: Option<String>,
    /// Compact every hour that has raw data (after a change of the curated format, or to
    /// backfill beyond the schedule's lookback).
    #[arg(long)]
    all: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let hour = args
        .hour
        .as_deref()
        .map(str::parse::<Hour>)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--hour: {e}")))?;
    let target = args.target.connect().await?;
    let bucket = target.get(Resource::RawBucket)?;
    let settings = hookloop_curated::settings_from_env(&process_env())?;
    let archive = RawArchive::new(target.clients.s3.clone(), bucket.clone());
    let compactor = Compactor::new(archive, settings);
    let before = target.clients.requests.snapshot();
    let report = match (hour, args.all) {
        (Some(h), _) => compactor.compact_hour(h).await,
        (None, true) => compactor.compact_all().await,
        // Without --hour or --all: what the hourly schedule would do now.
        (None, false) => compactor.compact_due(OffsetDateTime::now_utc()).await,
    }
    .map_err(|e| CliError::Usage(format!("compaction failed: {e}")))?;
    print_report(&bucket, &report);
    let requests = target.clients.requests.snapshot().since(&before);
    let by_op: Vec<String> = requests.0.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("requests: {}", by_op.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn print_report(bucket: &str, report: &RunReport) {
    for h in &report.compacted {
        let rows: Vec<String> = h.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "compacted {}: {} raw object(s), {} webhook(s), {} duplicate(s), {} unreadable; rows: {}",
            h.hour,
            h.objects,
            h.webhooks,
            h.duplicates,
            h.unreadable,
            if rows.is_empty() { "none".to_owned() } else { rows.join(", ") }
        );
        for t in Table::ALL.iter().filter(|t| h.rows.contains_key(t.name())) {
            println!("  s3://{bucket}/{}", curated_key(*t, h.hour));
        }
    }
    println!(
        "checked {} hour(s) with raw data, compacted {}, left {} for the next run",
        report.checked,
        report.compacted.len(),
        report.deferred
    );
}
