//! `hookloop replay`: put archived raw webhooks back on the queue, e.g. to backfill after a change
//! in processing. Each keeps its original message id, so the processor rewrites the same items.

use std::process::ExitCode;

use hookloop_aws::s3::RawArchive;
use hookloop_aws::AwsClients;
use hookloop_domain::{Envelope, MessageId, Source, ENVELOPE_VERSION};
use hookloop_ingest::{MessageQueue, OutgoingMessage};

use crate::dlq::queue_from_env;
use crate::{progress_bar, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// Key prefix in the raw bucket, e.g. `raw/source=location/dt=2026-11-22` or `raw/`.
    #[arg(long)]
    from: String,
    /// Count and show what would be replayed without queueing anything.
    #[arg(long)]
    dry_run: bool,
}

/// `raw/source=<source>/dt=.../hour=../<id>.json` to its source and message id.
pub fn parse_raw_key(key: &str) -> Option<(Source, MessageId)> {
    let rest = key.strip_prefix("raw/source=")?;
    let (source, rest) = rest.split_once('/')?;
    let file = rest.rsplit('/').next()?;
    Some((
        source.parse().ok()?,
        file.strip_suffix(".json")?.parse().ok()?,
    ))
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let clients = AwsClients::from_env().await;
    let bucket = std::env::var("RAW_BUCKET")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CliError::Usage("RAW_BUCKET is not set".into()))?;
    let archive = RawArchive::new(clients.s3.clone(), bucket);
    let queue = queue_from_env(&clients, "QUEUE_URL")?;
    if !args.from.starts_with("raw/") {
        return Err(CliError::Usage(format!(
            "--from {:?}: raw keys start with raw/, e.g. raw/source=location/dt=2026-11-22",
            args.from
        )));
    }
    let keys: Vec<(String, Source, MessageId)> = archive
        .list(&args.from)
        .await?
        .into_iter()
        .filter_map(|k| parse_raw_key(&k).map(|(s, id)| (k, s, id)))
        .collect();
    if args.dry_run {
        for (key, _, _) in keys.iter().take(20) {
            println!("would replay {key}");
        }
        println!(
            "would replay {} archived webhook(s) from s3://{}/{}",
            keys.len(),
            archive.bucket(),
            args.from
        );
        return Ok(ExitCode::SUCCESS);
    }
    let claim_check = hookloop_ingest::ClaimCheck {
        archive: archive.clone(),
        threshold: hookloop_ingest::DEFAULT_CLAIM_CHECK_BYTES,
    };
    let bar = progress_bar(keys.len() as u64, "replaying");
    let mut replayed = 0;
    for (key, source, id) in &keys {
        let Some(body) = archive.get(key).await? else {
            continue;
        };
        let body = String::from_utf8(body).map_err(|_| {
            CliError::Usage(format!("{key} is not UTF-8; not a hookloop raw object"))
        })?;
        let mut envelope = Envelope {
            v: ENVELOPE_VERSION,
            id: *id,
            source: *source,
            received_at: id.received_at().canonical(),
            body,
            body_ref: None,
            dedup_key: None,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_give_back_their_source_and_id() {
        let (s, id) = parse_raw_key("raw/source=clevertap.export_status/dt=2024-05-01/hour=12/01HWT0D7G0EXP0RTSTATVS0001.json").unwrap();
        assert_eq!(s, Source::ClevertapExportStatus);
        assert_eq!(id.to_string(), "01HWT0D7G0EXP0RTSTATVS0001");
        assert!(
            parse_raw_key("raw/source=sms/dt=x/hour=y/01HWT0D7G0EXP0RTSTATVS0001.json").is_none()
        );
        assert!(parse_raw_key("other/01HWT0D7G0EXP0RTSTATVS0001.json").is_none());
        assert!(parse_raw_key("raw/source=location/dt=x/hour=y/notes.txt").is_none());
    }
}
