//! `hookloop send`: post webhook files to a running ingest, as the sender would.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use hookloop_domain::{MessageId, Source};

use crate::target::Target;
use crate::trace::{self, Sent};
use crate::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Webhook body files. The route comes from the parent folder's name (`clevertap`,
    /// `clevertap-export-status`, `location`, as under events/webhooks/) unless --route is given.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Base URL of the ingest (hookloop serve, or the API Gateway URL).
    #[arg(long, env = "HOOKLOOP_URL", default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Token sent as X-Webhook-Token.
    #[arg(long, env = "WEBHOOK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Route for every file, e.g. /webhooks/location.
    #[arg(long)]
    route: Option<String>,
    /// Wait until each queued webhook is in every store it belongs in and print where
    /// (the stack's, with --stack; else RAW_BUCKET, TABLE_NAME and GEOFENCE_STREAM, as printed
    /// by `hookloop init`).
    #[arg(long)]
    trace: bool,
    // --stack, --region, --profile: where --trace looks.
    #[command(flatten)]
    target: Target,
    /// How long --trace waits for a webhook to land.
    #[arg(long, default_value_t = 30)]
    trace_timeout_secs: u64,
}

/// The route for a file under `events/webhooks/<name>/`.
pub fn route_for(path: &Path) -> Option<Source> {
    let dir = path.parent()?.file_name()?.to_str()?;
    match dir {
        "clevertap" => Some(Source::ClevertapWebhook),
        "clevertap-export-status" => Some(Source::ClevertapExportStatus),
        "location" => Some(Source::Location),
        _ => None,
    }
}

pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = args.url.trim_end_matches('/');
    let mut ok = true;
    let mut sent = Vec::new();
    for file in &args.files {
        let (route, source) = match (&args.route, route_for(file)) {
            (Some(r), _) => (r.clone(), Source::from_route(r)),
            (None, Some(s)) => (s.route().to_owned(), Some(s)),
            (None, None) => {
                return Err(CliError::Usage(format!(
                    "cannot tell the route of {}: put it under a folder named clevertap, \
                     clevertap-export-status or location, or pass --route",
                    file.display()
                )))
            }
        };
        let body = std::fs::read(file).map_err(|source| CliError::File {
            path: file.clone(),
            source,
        })?;
        let mut req = client
            .post(format!("{base}{route}"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(t) = &args.token {
            req = req.header("x-webhook-token", t);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        println!("{}  {}  {}", file.display(), status.as_u16(), text);
        ok &= status.is_success();
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("id")?.as_str()?.parse::<MessageId>().ok());
        if let (Some(id), Some(source)) = (id, source) {
            sent.push(Sent {
                file: file.clone(),
                source,
                id,
                body,
            });
        }
    }
    if args.trace && !sent.is_empty() {
        ok &= trace::run(
            &sent,
            Duration::from_secs(args.trace_timeout_secs),
            &args.target,
        )
        .await?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_events_folder_names() {
        assert_eq!(
            route_for(Path::new("events/webhooks/location/radar.json")),
            Some(Source::Location)
        );
        assert_eq!(
            route_for(Path::new("x/clevertap/a.json")),
            Some(Source::ClevertapWebhook)
        );
        assert_eq!(
            route_for(Path::new("clevertap-export-status/a.json")),
            Some(Source::ClevertapExportStatus)
        );
        assert_eq!(route_for(Path::new("a.json")), None);
        assert_eq!(route_for(Path::new("events/apigw/a.json")), None);
    }
}
