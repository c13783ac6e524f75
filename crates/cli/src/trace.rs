//! `hookloop send --trace`: wait until each webhook is in every store it belongs in, and say
//! where. What "belongs" is computed by the same domain code the processor runs.

use std::path::PathBuf;
use std::time::Duration;

use hookloop_aws::dynamodb::Table;
use hookloop_aws::kinesis::Stream;
use hookloop_aws::s3::RawArchive;
use hookloop_domain::{parse_webhook, Envelope, MessageId, Normalized, Source};
use tokio::time::Instant;

use crate::target::{Resource, Target};
use crate::CliError;

pub struct Sent {
    pub file: PathBuf,
    pub source: Source,
    pub id: MessageId,
    pub body: Vec<u8>,
}

/// Returns whether every webhook landed everywhere before the timeout.
pub async fn run(sent: &[Sent], timeout: Duration, target: &Target) -> Result<bool, CliError> {
    let target = target.connect().await?;
    let clients = &target.clients;
    let archive = RawArchive::new(clients.s3.clone(), target.get(Resource::RawBucket)?);
    let table = Table::new(clients.dynamodb.clone(), target.get(Resource::Table)?);
    let stream = Stream::new(
        clients.kinesis.clone(),
        target.get(Resource::GeofenceStream)?,
    );

    let mut all_landed = true;
    for s in sent {
        let body = String::from_utf8_lossy(&s.body).into_owned();
        let envelope = Envelope::replayed(s.id, s.source, body);
        let Ok(webhook) = parse_webhook(s.source, &s.body) else {
            continue;
        };
        let expected = Normalized::from_webhook(&webhook, &envelope);
        let deadline = Instant::now() + timeout;
        let mut lines;
        loop {
            lines = Vec::new();
            let mut missing = 0;
            match archive.find(s.source, s.id).await? {
                Some((key, body)) => lines.push(format!(
                    "  s3        s3://{}/{} ({} bytes)",
                    archive.bucket(),
                    key,
                    body.len()
                )),
                None => missing += 1,
            }
            for row in expected.all_rows() {
                match table.get(&row.pk, &row.sk).await? {
                    Some(_) => lines.push(format!(
                        "  dynamodb  {} | {}  (table {})",
                        row.pk,
                        row.sk,
                        table.name()
                    )),
                    None => missing += 1,
                }
            }
            if !expected.geofence_events.is_empty() {
                let records = stream.read_all().await?;
                for g in &expected.geofence_events {
                    let found = records.iter().find(|r| {
                        serde_json::from_slice::<serde_json::Value>(&r.data).is_ok_and(|v| {
                            v["message_id"] == s.id.to_string() && v["event_id"] == g.event_id
                        })
                    });
                    match found {
                        Some(r) => lines.push(kinesis_line(&stream, r)),
                        None => missing += 1,
                    }
                }
            }
            if missing == 0 {
                break;
            }
            if Instant::now() >= deadline {
                lines.push(format!(
                    "  NOT LANDED: {missing} item(s) missing after {}s (check the DLQ)",
                    timeout.as_secs()
                ));
                all_landed = false;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if !expected.points.is_empty() {
            lines.extend(computed(&table, &stream, &s.id.to_string()).await?);
        }
        println!("{} -> {} ({})", s.file.display(), s.id, s.source);
        for l in lines {
            println!("{l}");
        }
    }
    Ok(all_landed)
}

/// How long `--trace` looks for the geofence transitions hookloop computed from a webhook's raw
/// points once its own items have landed (they are written with them; a point may fire none).
const COMPUTED_GRACE: Duration = Duration::from_millis(500);

/// The transitions server-side geofencing computed from message `id`: their stream records and
/// rows (docs/geofencing.md).
async fn computed(table: &Table, stream: &Stream, id: &str) -> Result<Vec<String>, CliError> {
    let deadline = Instant::now() + COMPUTED_GRACE;
    let records = loop {
        let records: Vec<_> = stream
            .read_all()
            .await?
            .into_iter()
            .filter_map(|r| {
                let v: serde_json::Value = serde_json::from_slice(&r.data).ok()?;
                (v["message_id"] == id && v["origin"] == hookloop_domain::ORIGIN_HOOKLOOP)
                    .then_some((r, v))
            })
            .collect();
        if !records.is_empty() || Instant::now() >= deadline {
            break records;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut lines = Vec::new();
    for (r, v) in records {
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let (pk, sk) = (
            format!("USER#{}", text("user_id")),
            format!("LOC#{}#{}", text("time"), text("event_id")),
        );
        if table.get(&pk, &sk).await?.is_some() {
            lines.push(format!(
                "  dynamodb  {pk} | {sk}  (table {}; {} computed by hookloop)",
                table.name(),
                text("type")
            ));
        }
        lines.push(kinesis_line(stream, &r));
    }
    Ok(lines)
}

/// How `--trace` shows a stream record.
fn kinesis_line(stream: &Stream, r: &hookloop_aws::kinesis::StoredRecord) -> String {
    format!(
        "  kinesis   {} {} seq {} partition {}: {}",
        stream.name(),
        r.shard_id,
        r.sequence_number,
        r.partition_key,
        String::from_utf8_lossy(&r.data)
    )
}
