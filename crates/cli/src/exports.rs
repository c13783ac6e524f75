//! `hookloop exports`: the export tracker (docs/exports.md). `check` runs the scheduled check
//! now (the processor's own code: in this process against the environment `hookloop init`
//! prints, or, with `--stack`, in the stack's processor function, with its load-back and
//! metrics); `list` shows every tracked export.

use std::process::ExitCode;

use hookloop_aws::dynamodb::Table;
use hookloop_domain::exports::ExportSummary;
use hookloop_domain::Timestamp;
use hookloop_processor::event::EXPORTS_CHECK;
use hookloop_processor::exports::tracked_exports;
use hookloop_processor::{check_exports_as, CheckReport, Processor, ProcessorConfig};
use hookloop_runtime::InvocationIds;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::target::{Resource, Target};
use crate::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Find the exports overdue or missed now and raise each new one: its ALERT row, the
    /// ExportAlerts metric and its load-back record (what the 15-minute schedule runs).
    Check(Args),
    /// Every tracked export: partner, type, frequency, status (initiated, completed, overdue or
    /// missed), initiated and completed times, duration and when the next run is expected.
    List(Args),
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// One JSON object per line (list: one per export; check: the report).
    #[arg(long)]
    json: bool,
}

pub async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Check(a) => check(a).await,
        Command::List(a) => list(a).await,
    }
}

async fn check(args: Args) -> Result<ExitCode, CliError> {
    let target = args.target.connect().await?;
    let report = if target.stack.is_some() {
        // The stack's function runs it: its load-back document, secret and metrics.
        let function = target.get(Resource::ProcessorFunction)?;
        let client = hookloop_aws::lambda::client(&target.sdk, target.clients.requests.clone());
        let answer = hookloop_aws::lambda::invoke_json(
            &client,
            &function,
            &json!({"action": EXPORTS_CHECK}),
        )
        .await?;
        serde_json::from_value::<CheckReport>(answer)
            .map_err(|e| CliError::Usage(format!("unexpected answer from {function}: {e}")))?
    } else {
        let config = ProcessorConfig::from_env()?;
        let processor = Processor::new(&target.clients, config)
            .map_err(|e| CliError::Usage(format!("load-back: {e}")))?;
        check_exports_as(
            &processor,
            OffsetDateTime::now_utc(),
            None,
            &InvocationIds::local(),
        )
        .await?
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        for r in &report.raised {
            println!(
                "raised {}: export {} (run {}, due {})",
                r.alert, r.export_request_id, r.run_at, r.due_at
            );
        }
        for f in &report.failed {
            println!(
                "not raised: export {}: {} (the next check tries again)",
                f.export_request_id, f.reason
            );
        }
        println!(
            "checked {} export(s) at {}: {} raised, {} to try again",
            report.checked,
            report.at,
            report.raised.len(),
            report.failed.len()
        );
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn list(args: Args) -> Result<ExitCode, CliError> {
    let target = args.target.connect().await?;
    let table = Table::new(
        target.clients.dynamodb.clone(),
        target.get(Resource::Table)?,
    );
    let now = Timestamp::from_offset_date_time(OffsetDateTime::now_utc());
    let lines = listings(&table, now).await?;
    if args.json {
        for line in &lines {
            println!("{line}");
        }
    } else {
        print_table(&lines);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every export's listing at `now`, in directory order (by export request id).
async fn listings(table: &Table, now: Timestamp) -> Result<Vec<Value>, CliError> {
    Ok(tracked_exports(table)
        .await?
        .iter()
        .filter_map(|(_, item)| ExportSummary::listing(item.as_ref()?, now))
        .collect())
}

fn print_table(lines: &[Value]) {
    if lines.is_empty() {
        println!("no exports tracked yet (they appear with their first export status alert)");
        return;
    }
    let columns = [
        ("EXPORT", "export_request_id"),
        ("PARTNER", "partner"),
        ("TYPE", "type"),
        ("FREQUENCY", "frequency"),
        ("STATUS", "status"),
        ("INITIATED", "initiated_at"),
        ("COMPLETED", "completed_at"),
        ("DURATION_S", "duration_s"),
        ("NEXT_EXPECTED", "next_expected_at"),
    ];
    let cell = |line: &Value, key: &str| match &line[key] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let widths: Vec<usize> = columns
        .iter()
        .map(|(head, key)| {
            lines
                .iter()
                .map(|l| cell(l, key).chars().count())
                .chain([head.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let row = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!(
        "{}",
        row(columns.iter().map(|(h, _)| (*h).to_owned()).collect())
    );
    for line in lines {
        println!(
            "{}",
            row(columns.iter().map(|(_, k)| cell(line, k)).collect())
        );
    }
}
