//! `hookloop replay`: put archived raw webhooks back on the queue, e.g. to backfill after a change
//! in processing. Each keeps its original message id, so the processor rewrites the same items.

use std::collections::HashSet;
use std::process::ExitCode;

use hookloop_aws::s3::RawArchive;
use hookloop_domain::{decode_batch, Envelope, MessageId, RawKey, Source};
use hookloop_ingest::{MessageQueue, OutgoingMessage};

use crate::target::{Resource, Target};
use crate::{progress_bar, CliError};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Key prefix in the raw bucket, e.g. `raw/source=location/dt=2026-11-22` or `raw/`.
    #[arg(long)]
    from: String,
    /// Count and show what would be replayed without queueing anything.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let target = args.target.connect().await?;
    let archive = RawArchive::new(target.clients.s3.clone(), target.get(Resource::RawBucket)?);
    let queue = target.queue(Resource::Queue)?;
    if !args.from.starts_with("raw/") {
        return Err(CliError::Usage(format!(
            "--from {:?}: raw keys start with raw/, e.g. raw/source=location/dt=2026-11-22",
            args.from
        )));
    }
    let keys: Vec<(String, RawKey)> = archive
        .list(&args.from)
        .await?
        .into_iter()
        .filter_map(|k| RawKey::parse(&k).map(|r| (k, r)))
        .collect();
    // Batch objects are read to know what they hold; objects of one webhook when replayed.
    let mut webhooks: Vec<(String, Source, MessageId, Option<String>)> = Vec::new();
    let mut seen = HashSet::new();
    for (key, raw) in &keys {
        match raw {
            RawKey::Object { source, id } => {
                if seen.insert(*id) {
                    webhooks.push((key.clone(), *source, *id, None));
                }
            }
            RawKey::Batch { source, .. } => {
                let Some(bytes) = archive.get(key).await? else {
                    continue;
                };
                let held =
                    decode_batch(&bytes).map_err(|e| CliError::Usage(format!("{key}: {e}")))?;
                // A message delivered twice may be in two objects: replayed once.
                for w in held {
                    if seen.insert(w.id) {
                        webhooks.push((key.clone(), *source, w.id, Some(w.body)));
                    }
                }
            }
        }
    }
    if args.dry_run {
        for (key, _, id, _) in webhooks.iter().take(20) {
            println!("would replay {id} from {key}");
        }
        println!(
            "would replay {} archived webhook(s) from s3://{}/{}",
            webhooks.len(),
            archive.bucket(),
            args.from
        );
        return Ok(ExitCode::SUCCESS);
    }
    let claim_check = hookloop_ingest::ClaimCheck::new(
        archive.clone(),
        hookloop_ingest::DEFAULT_CLAIM_CHECK_BYTES,
    );
    let bar = progress_bar(webhooks.len() as u64, "replaying");
    let mut replayed = 0;
    for (key, source, id, body) in webhooks {
        let body = match body {
            Some(body) => body,
            None => {
                let Some(bytes) = archive.get(&key).await? else {
                    continue;
                };
                String::from_utf8(bytes).map_err(|_| {
                    CliError::Usage(format!("{key} is not UTF-8; not a hookloop raw object"))
                })?
            }
        };
        let mut envelope = Envelope::replayed(id, source, body);
        // Large bodies go through the claim check, as at the ingest.
        claim_check.offload(&mut envelope).await?;
        queue
            .enqueue(OutgoingMessage::new(&envelope))
            .await
            .map_err(|e| CliError::Aws(e.0))?;
        replayed += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "replayed {replayed} archived webhook(s) from s3://{}/{}",
        archive.bucket(),
        args.from
    );
    Ok(ExitCode::SUCCESS)
}
