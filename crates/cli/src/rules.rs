//! `hookloop rules check | preview | push`: the load-back document (CleverTap accounts and
//! rules, `config/loadback.json` in the stack's bucket) checked before it is used, tried on a
//! webhook, and uploaded. The checks are the processor's own (`hookloop_clevertap::document`):
//! a document `check` accepts is one the processor applies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookloop_aws::s3::RawArchive;
use hookloop_aws::stack::parse_s3_uri;
use hookloop_clevertap::document::{self, Document, Passcodes};
use hookloop_clevertap::DEFAULT_MAX_CONCURRENCY;
use hookloop_domain::{parse_webhook, Envelope, MessageId, Normalized, Source};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::send::route_for;
use crate::target::{Resource, Target};
use crate::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a load-back document: every problem, each with its JSON pointer. Exits 1 if any.
    Check {
        /// The document (JSON: description, accounts, rules).
        file: PathBuf,
    },
    /// The CleverTap records one webhook would produce under a document (nothing is sent).
    Preview(PreviewArgs),
    /// Check a document, then upload it to the stack's LoadbackConfigUri (without --stack:
    /// LOADBACK_CONFIG). The processor applies it within a minute.
    Push(PushArgs),
}

#[derive(clap::Args)]
pub struct PreviewArgs {
    /// The document.
    file: PathBuf,
    /// A webhook body, as the sender posts it (e.g. a file under events/webhooks/).
    #[arg(long, value_name = "WEBHOOK.json")]
    event: PathBuf,
    /// The route it arrives on, e.g. /webhooks/location. Default: from the event's folder name
    /// (clevertap, clevertap-export-status, location), as for `hookloop send`.
    #[arg(long)]
    route: Option<String>,
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// The document.
    file: PathBuf,
    #[command(flatten)]
    target: Target,
}

pub async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Check { file } => {
            let text = read(&file)?;
            Ok(match checked(&file, &text) {
                Some(doc) => {
                    println!("{}: {}", file.display(), summary(&doc));
                    ExitCode::SUCCESS
                }
                None => ExitCode::FAILURE,
            })
        }
        Command::Preview(a) => preview(a),
        Command::Push(a) => push(a).await,
    }
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::File {
        path: path.to_owned(),
        source,
    })
}

/// The document, or `None` after printing every problem as `FILE: POINTER: message`.
/// Passcodes are not the CLI's to hold: accounts are checked without them (the processor
/// checks that its secret has one per account).
fn checked(file: &Path, text: &str) -> Option<Document> {
    match document::check(text, Passcodes::Placeholder, DEFAULT_MAX_CONCURRENCY) {
        Ok(doc) => Some(doc),
        Err(problems) => {
            for p in &problems {
                println!("{}: {p}", file.display());
            }
            eprintln!("{} problem(s) in {}", problems.len(), file.display());
            None
        }
    }
}

fn summary(doc: &Document) -> String {
    format!(
        "ok: {} account(s), {} rule(s)",
        doc.accounts.iter().count(),
        doc.rules.len()
    )
}

fn preview(args: PreviewArgs) -> Result<ExitCode, CliError> {
    let text = read(&args.file)?;
    let Some(doc) = checked(&args.file, &text) else {
        return Ok(ExitCode::FAILURE);
    };
    let source = match &args.route {
        Some(r) => Source::from_route(r).ok_or_else(|| {
            let routes: Vec<&str> = Source::ALL.iter().map(|s| s.route()).collect();
            CliError::Usage(format!("--route {r:?}: one of {}", routes.join(", ")))
        })?,
        None => route_for(&args.event).ok_or_else(|| {
            CliError::Usage(format!(
                "cannot tell the route of {}: put it under a folder named clevertap, \
                 clevertap-export-status or location, or pass --route",
                args.event.display()
            ))
        })?,
    };
    let body = std::fs::read(&args.event).map_err(|source| CliError::File {
        path: args.event.clone(),
        source,
    })?;
    let webhook = parse_webhook(source, &body).map_err(|e| {
        CliError::Usage(format!(
            "{}: not a {source} webhook the ingest would accept: {e}",
            args.event.display()
        ))
    })?;
    let envelope = Envelope::replayed(
        MessageId::new(OffsetDateTime::now_utc()),
        source,
        String::from_utf8_lossy(&body).into_owned(),
    );
    let normalized = Normalized::from_webhook(&webhook, &envelope);
    let items: Vec<&Map<String, Value>> = normalized.all_rows().map(|r| &r.attrs).collect();
    match doc.rules.records(source, &items) {
        Ok(planned) => {
            let records: Vec<Value> = planned
                .iter()
                .map(|p| {
                    json!({
                        "rule": p.rule,
                        "account": p.account,
                        "type": p.record.record_type().as_str(),
                        "record": p.record.as_json(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&records).unwrap_or_default()
            );
            eprintln!(
                "{} record(s) from {} row(s) of {}",
                records.len(),
                items.len(),
                args.event.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}: {e}", args.event.display());
            eprintln!(
                "the processor would dead-letter this webhook at stage clevertap (record_invalid)"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn push(args: PushArgs) -> Result<ExitCode, CliError> {
    let text = read(&args.file)?;
    let Some(doc) = checked(&args.file, &text) else {
        eprintln!("not uploaded");
        return Ok(ExitCode::FAILURE);
    };
    let target = args.target.connect().await?;
    let uri = target.get(Resource::LoadbackConfig)?;
    let (bucket, key) = parse_s3_uri(&uri).ok_or_else(|| {
        CliError::Usage(format!(
            "{} {uri:?} is not an s3://bucket/key URI",
            match &target.stack {
                Some(_) => Resource::LoadbackConfig.output(),
                None => Resource::LoadbackConfig.env(),
            }
        ))
    })?;
    RawArchive::new(target.clients.s3.clone(), bucket)
        .put_typed(key, text.into_bytes(), "application/json")
        .await?;
    println!(
        "{}: {}; uploaded to {uri} ({}). The processor applies it within 60 s.",
        args.file.display(),
        summary(&doc),
        target.describe()
    );
    Ok(ExitCode::SUCCESS)
}
