use std::process::ExitCode;

use hookloop_aws::provision::{self, QueueSettings, ResourceNames};
use hookloop_aws::AwsClients;
use hookloop_processor::DEFAULT_MAX_RECEIVE_COUNT;

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
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let names = ResourceNames::from_prefix(&args.prefix)?;
    let clients = AwsClients::from_env().await;
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
