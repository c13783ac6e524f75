//! Load-back configured by the stack's document (`LOADBACK_CONFIG`, `config/loadback.json` in
//! the stack's bucket) with the passcodes of the function's secret: checked for a change at
//! most every 60 s with a conditional GET (one S3 request answered 304 when nothing changed),
//! the secret re-read every `SECRETS_TTL_SECONDS` and with every new document (whose accounts
//! may name a passcode just put in the secret). A document that does not check out is refused:
//! the last good one stays in force, and an error line and a `LoadbackConfigRejected` metric say
//! why, at every check until a good one replaces it. No document: load-back is off. Until the
//! first read succeeds the state is unknown, and the handler hands the batch's stored messages
//! back for redelivery rather than acknowledge them without their load-back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use hookloop_aws::s3::{Changed, RawArchive};
use hookloop_aws::secrets::Secret;
use hookloop_clevertap::document::{self, Passcodes, PASSCODES_KEY};
use hookloop_clevertap::UploadClient;
use hookloop_runtime::live::{Reload, Reloaded};
use hookloop_runtime::metrics::names;
use hookloop_runtime::{Publisher, Registry};
use tracing::{error, info, warn};

use super::Configured;

use super::Loadback;
use crate::config::DocumentConfig;
use crate::ports::RowStore;

/// The metric counting refused documents (dimensions `Stack` and `Function`).
pub const REJECTED_METRIC: &str = names::LOADBACK_CONFIG_REJECTED;

/// What the reload remembers between checks.
#[derive(Default)]
struct Seen {
    /// ETag and text of the latest document read (in force, or refused).
    etag: Option<String>,
    latest: Option<String>,
    /// The text in force.
    good: Option<String>,
    /// Why the latest document is refused, said again at every check.
    refused: Option<String>,
    passcodes: BTreeMap<String, String>,
    secret_read_at: Option<Instant>,
    /// Whether a read has settled the state once (document in force, refused, or absent).
    settled: bool,
}

struct Source<R> {
    objects: RawArchive,
    config: DocumentConfig,
    secret: Option<Secret>,
    markers: R,
    requests: Registry,
    /// The processor's metrics, for `LoadbackConfigRejected`.
    metrics: Arc<Publisher>,
    seen: Mutex<Seen>,
}

type Live<R> = Configured<Loadback<UploadClient, R>>;

/// The reload of load-back from the document in `config`; `markers` is the row store load-back
/// remembers accepted records in.
pub fn from_document<R>(
    objects: RawArchive,
    secret: Option<Secret>,
    config: DocumentConfig,
    markers: R,
    requests: Registry,
    metrics: Arc<Publisher>,
) -> Reload<Live<R>>
where
    R: RowStore + Clone + Send + Sync + 'static,
{
    let source = Arc::new(Source {
        objects,
        config,
        secret,
        markers,
        requests,
        metrics,
        seen: Mutex::new(Seen::default()),
    });
    Box::new(move || {
        let source = source.clone();
        Box::pin(async move { source.reload().await })
    })
}

impl<R: RowStore + Clone + Send + Sync + 'static> Source<R> {
    async fn reload(&self) -> Reloaded<Live<R>> {
        let etag = self.seen().etag.clone();
        let read = self
            .objects
            .get_if_changed(&self.config.key, etag.as_deref())
            .await;
        let new_text = match read {
            Ok(Changed::Same) => None,
            Ok(Changed::New { body, etag }) => {
                Some((String::from_utf8_lossy(&body).into_owned(), etag))
            }
            // S3 answers 403, not 404, for a missing key to a caller without s3:ListBucket,
            // which the processor's role does not have: it may read this one key only.
            Ok(Changed::Gone) => return self.gone(),
            Err(e) if e.code == "AccessDenied" => return self.gone(),
            Err(e) => {
                warn!(error = %e, key = %self.config.key, "could not read the load-back document; trying again soon");
                return Reloaded::Retry;
            }
        };
        let Ok(passcodes) = self.read_passcodes(new_text.is_some()).await else {
            // Nothing committed: the document is read again soon.
            return Reloaded::Retry;
        };
        let mut seen = self.seen();
        let passcodes_changed = passcodes.is_some();
        if let Some(p) = passcodes {
            seen.passcodes = p;
        }
        if new_text.is_none() && !passcodes_changed && seen.settled {
            if let Some(reason) = &seen.refused {
                self.metrics.event(REJECTED_METRIC, &[("Reason", reason)]);
            }
            return Reloaded::Keep;
        }
        if let Some((text, etag)) = new_text {
            seen.etag = etag;
            seen.latest = Some(text);
        }
        let was_settled = std::mem::replace(&mut seen.settled, true);
        let Some(latest) = seen.latest.clone() else {
            return Reloaded::Keep;
        };
        match self.build(&latest, &seen.passcodes) {
            Ok(loadback) => {
                info!(key = %self.config.key, "load-back document in force");
                seen.good = Some(latest);
                seen.refused = None;
                Reloaded::Replace(Configured::On(loadback))
            }
            Err(reason) => {
                error!(key = %self.config.key, %reason, "load-back document refused; the last good one stays in force");
                self.metrics.event(REJECTED_METRIC, &[("Reason", &reason)]);
                seen.refused = Some(reason);
                // New passcodes apply to the document in force even while a newer one is refused.
                let good = seen
                    .good
                    .clone()
                    .filter(|g| passcodes_changed && *g != latest);
                match good.map(|g| self.build(&g, &seen.passcodes)) {
                    Some(Ok(loadback)) => Reloaded::Replace(Configured::On(loadback)),
                    _ if !was_settled => Reloaded::Replace(Configured::Off),
                    _ => Reloaded::Keep,
                }
            }
        }
    }

    /// No document: load-back off.
    fn gone(&self) -> Reloaded<Live<R>> {
        let mut seen = self.seen();
        if seen.good.is_some() {
            warn!(key = %self.config.key, "the load-back document is gone: load-back is off");
        } else if !seen.settled {
            info!(key = %self.config.key, "no load-back document: load-back is off");
        }
        let (passcodes, secret_read_at) =
            (std::mem::take(&mut seen.passcodes), seen.secret_read_at);
        *seen = Seen {
            passcodes,
            secret_read_at,
            settled: true,
            ..Seen::default()
        };
        Reloaded::Replace(Configured::Off)
    }

    /// The passcodes, read when their TTL has passed or a new document came: `Ok(Some)` when
    /// they changed, `Ok(None)` when not (or not due), `Err` when they were never read and
    /// cannot be now.
    async fn read_passcodes(
        &self,
        new_document: bool,
    ) -> Result<Option<BTreeMap<String, String>>, ()> {
        let (Some(secret), Some(settings)) = (&self.secret, &self.config.secret) else {
            return Ok(None);
        };
        let last = self.seen().secret_read_at;
        let due = new_document || last.is_none_or(|at| at.elapsed() >= settings.ttl);
        if !due {
            return Ok(None);
        }
        let doc = match secret.read().await {
            Ok(doc) => doc,
            Err(e) => {
                warn!(error = %e, "could not read the function's secret; the passcodes in force stay");
                return if last.is_some() { Ok(None) } else { Err(()) };
            }
        };
        let mut seen = self.seen();
        seen.secret_read_at = Some(Instant::now());
        match document::passcodes_from(doc.get(PASSCODES_KEY)) {
            Ok(p) if p != seen.passcodes => Ok(Some(p)),
            Ok(_) => Ok(None),
            Err(reason) => {
                warn!(%reason, "the function's secret is refused; the passcodes in force stay");
                Ok(None)
            }
        }
    }

    fn build(
        &self,
        text: &str,
        passcodes: &BTreeMap<String, String>,
    ) -> Result<Loadback<UploadClient, R>, String> {
        let doc = document::check(
            text,
            Passcodes::Known(passcodes),
            self.config.default_concurrency,
        )
        .map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let client = UploadClient::new(
            doc.accounts,
            self.config.request_timeout,
            self.requests.clone(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Loadback::new(
            doc.rules,
            client,
            self.markers.clone(),
            self.config.max_attempts,
            self.config.marker_ttl,
        ))
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
