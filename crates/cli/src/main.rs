//! `hookloop`: run the pipeline locally against an AWS emulator, and operate it.
// The processor's futures (store, load-back, uploads) nest deeply; a clean build once overflowed
// rustc's default layout query depth on the async main.
#![recursion_limit = "256"]

mod compact;
mod dlq;
mod exports;
mod init;
mod last_processed;
mod poller;
mod replay;
mod rules;
mod send;
mod serve;
mod status;
mod target;
mod trace;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hookloop",
    version,
    about = "Webhook ETL on AWS: local runner and operations tool"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the queue, DLQ, bucket, table and stream (idempotent) and print their environment
    /// as `export NAME=value` lines.
    Init(init::Args),
    /// Serve the ingest handler over HTTP and run the processor handler from an SQS poller.
    Serve(serve::Args),
    /// Post webhook files to a running ingest, optionally tracing where each one landed.
    Send(send::Args),
    /// Inspect the dead-letter queue, and move messages back to the queue.
    #[command(subcommand)]
    Dlq(dlq::Command),
    /// Track CleverTap exports: check for overdue and missed ones, list them all.
    #[command(subcommand)]
    Exports(exports::Command),
    /// Re-queue archived raw webhooks from S3 (backfills).
    Replay(replay::Args),
    /// Check, try and upload the load-back document (CleverTap accounts and rules).
    #[command(subcommand)]
    Rules(rules::Command),
    /// Queue depth, DLQ by stage and error code, last processed time, event source mapping.
    Status(status::Args),
    /// Write the curated Parquet tables from the raw archive: the hours the schedule would
    /// compact now, one --hour, or --all.
    Compact(compact::Args),
    /// Print a shell completion script, e.g. `hookloop completions bash >
    /// ~/.local/share/bash-completion/completions/hookloop`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // `serve` hosts both functions: their spans are one service's (OTEL_SERVICE_NAME or
    // hookloop-serve), exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let telemetry =
        hookloop_runtime::logging::init_traced(hookloop_runtime::telemetry::SERVE_SERVICE);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(a) => init::run(a).await,
        Command::Serve(a) => serve::run(a).await,
        Command::Send(a) => send::run(a).await,
        Command::Dlq(c) => dlq::run(c).await,
        Command::Exports(c) => exports::run(c).await,
        Command::Replay(a) => replay::run(a).await,
        Command::Status(a) => status::run(a).await,
        Command::Rules(c) => rules::run(c).await,
        Command::Compact(a) => compact::run(a).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hookloop",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    // What the batch exporter still holds (serve's last spans) goes out before the process ends.
    telemetry.flush();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hookloop: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, what: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Errors a subcommand reports to the user: each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Aws(#[from] hookloop_aws::AwsError),
    #[error(transparent)]
    Stack(#[from] hookloop_aws::stack::MissingOutput),
    #[error(transparent)]
    Prefix(#[from] hookloop_cli::provision::InvalidPrefix),
    #[error("configuration: {0}")]
    Config(#[from] hookloop_runtime::config::ConfigError),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
}
