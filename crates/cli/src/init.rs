use std::process::ExitCode;

use hookloop_aws::AwsClients;
use hookloop_cli::provision::{self, QueueSettings, ResourceNames};
use hookloop_processor::DEFAULT_MAX_RECEIVE_COUNT;
use hookloop_runtime::Registry;

use crate::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Resource names are `<prefix>-queue`, `-dlq`, `-raw`, `-rows`, `-geofence`.
    #[arg(long, default_value = "hookloop-local")]
    prefix: String,
    /// Queue visibility timeout: how long a failed message stays hidden before redelivery.
    #[arg(long, default_value_t = 30)]
    visibility_timeout: u32,
    /// Receives before the redrive policy moves a message to the DLQ (set the processor's
    /// MAX_RECEIVE_COUNT to the same number).
    #[arg(long, default_value_t = DEFAULT_MAX_RECEIVE_COUNT)]
    max_receive_count: u32,
    /// Create the resources in real AWS (the account of the credentials found), which is what
    /// happens when AWS_ENDPOINT_URL names no emulator. Deployed stacks get theirs from the
    /// template; this is for a deliberate hand-made setup.
    #[arg(long)]
    yes_real_aws: bool,
}

/// `init` is for an emulator: without `AWS_ENDPOINT_URL` it would create billed resources in
/// whatever account the credentials reach, so it asks for `--yes-real-aws` first.
fn check_target(endpoint: Option<&str>, yes_real_aws: bool) -> Result<(), CliError> {
    match endpoint.map(str::trim) {
        Some(e) if !e.is_empty() => Ok(()),
        _ if yes_real_aws => Ok(()),
        _ => Err(CliError::Usage(
            "AWS_ENDPOINT_URL is not set, so init would create a queue, a DLQ, a bucket, a \
             table and a stream in real AWS (the account of your credentials). Point \
             AWS_ENDPOINT_URL at an emulator (make run does), or pass --yes-real-aws if that is \
             what you mean"
                .into(),
        )),
    }
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    check_target(
        std::env::var("AWS_ENDPOINT_URL").ok().as_deref(),
        args.yes_real_aws,
    )?;
    let names = ResourceNames::from_prefix(&args.prefix)?;
    let clients = AwsClients::from_env(Registry::new()).await;
    let settings = QueueSettings {
        visibility_timeout_seconds: args.visibility_timeout,
        max_receive_count: args.max_receive_count,
    };
    let created = provision::ensure(&clients, &names, settings).await?;
    for (name, value) in created.env() {
        println!("export {name}={value}");
    }
    if args.max_receive_count != DEFAULT_MAX_RECEIVE_COUNT {
        println!("export MAX_RECEIVE_COUNT={}", args.max_receive_count);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_creates_resources_in_real_aws_only_when_asked() {
        assert!(check_target(Some("http://127.0.0.1:4566"), false).is_ok());
        for endpoint in [None, Some(""), Some("  ")] {
            let refused = check_target(endpoint, false).unwrap_err().to_string();
            assert!(refused.contains("--yes-real-aws"), "{refused}");
            assert!(check_target(endpoint, true).is_ok());
        }
    }
}
