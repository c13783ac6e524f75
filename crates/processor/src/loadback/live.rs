//! Load-back configured by the stack's document (`LOADBACK_CONFIG`, `config/loadback.json` in
//! the stack's bucket) with the passcodes of the function's secret: checked for a change at
//! most every 60 s with a conditional GET (one S3 request answered 304 when nothing changed),
//! the secret re-read every `SECRETS_TTL_SECONDS`. A document that does not check out is
//! refused: the last good one stays in force, and an error line and a
//! `LoadbackConfigRejected` metric say why. No document: load-back is off.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use hookloop_aws::s3::{Changed, RawArchive};
use hookloop_aws::secrets::Secret;
use hookloop_clevertap::document::{self, Passcodes, PASSCODES_KEY};
use hookloop_clevertap::UploadClient;
use hookloop_runtime::live::Reload;
use hookloop_runtime::metrics::count_event;
use hookloop_runtime::Registry;
use tracing::{error, info, warn};

use super::Loadback;
use crate::config::DocumentConfig;
use crate::ports::RowStore;

/// The metric counting refused documents (dimension `Function`).
pub const REJECTED_METRIC: &str = "LoadbackConfigRejected";

/// What the reload remembers between checks.
#[derive(Default)]
struct Seen {
    etag: Option<String>,
    text: Option<String>,
    passcodes: BTreeMap<String, String>,
    secret_read_at: Option<Instant>,
}

struct Source<R> {
    objects: RawArchive,
    config: DocumentConfig,
    secret: Option<Secret>,
    markers: R,
    requests: Registry,
    seen: Mutex<Seen>,
}

/// The reload of load-back from the document in `config`; `markers` is the row store load-back
/// remembers accepted records in.
pub fn from_document<R>(
    objects: RawArchive,
    secret: Option<Secret>,
    config: DocumentConfig,
    markers: R,
    requests: Registry,
) -> Reload<Option<Loadback<UploadClient, R>>>
where
    R: RowStore + Clone + Send + Sync + 'static,
{
    let source = Arc::new(Source {
        objects,
        config,
        secret,
        markers,
        requests,
        seen: Mutex::new(Seen::default()),
    });
    Box::new(move || {
        let source = source.clone();
        Box::pin(async move { source.reload().await })
    })
}

impl<R: RowStore + Clone + Send + Sync + 'static> Source<R> {
    /// `Some(new)` when the document or the passcodes changed; `None` to keep what is in force.
    async fn reload(&self) -> Option<Option<Loadback<UploadClient, R>>> {
        let passcodes_changed = self.refresh_passcodes().await;
        let etag = self.seen().etag.clone();
        let changed = match self
            .objects
            .get_if_changed(&self.config.key, etag.as_deref())
            .await
        {
            Ok(c) => c,
            // S3 answers 403, not 404, for a missing key to a caller without s3:ListBucket, which
            // the processor's role does not have: its role may read this one key, so a refusal
            // means there is no document.
            Err(e) if e.code == "AccessDenied" => Changed::Gone,
            Err(e) => {
                warn!(error = %e, key = %self.config.key, "could not read the load-back document; the one in force stays");
                return None;
            }
        };
        let text = match changed {
            Changed::Same if !passcodes_changed => return None,
            Changed::Same => self.seen().text.clone()?,
            Changed::Gone => {
                let had = {
                    let mut seen = self.seen();
                    seen.etag = None;
                    seen.text.take().is_some()
                };
                if had {
                    warn!(key = %self.config.key, "the load-back document is gone: load-back is off");
                }
                return Some(None);
            }
            Changed::New { body, etag } => {
                let text = String::from_utf8_lossy(&body).into_owned();
                let mut seen = self.seen();
                seen.etag = etag;
                seen.text = Some(text.clone());
                text
            }
        };
        self.build(&text)
    }

    /// Re-reads the secret when its TTL has passed; true when the passcodes changed.
    async fn refresh_passcodes(&self) -> bool {
        let (Some(secret), Some(settings)) = (&self.secret, &self.config.secret) else {
            return false;
        };
        let due = self
            .seen()
            .secret_read_at
            .is_none_or(|at| at.elapsed() >= settings.ttl);
        if !due {
            return false;
        }
        self.seen().secret_read_at = Some(Instant::now());
        let doc = match secret.read().await {
            Ok(doc) => doc,
            Err(e) => {
                warn!(error = %e, "could not read the function's secret; the passcodes in force stay");
                return false;
            }
        };
        match document::passcodes_from(doc.get(PASSCODES_KEY)) {
            Ok(p) => {
                let mut seen = self.seen();
                let changed = seen.passcodes != p;
                seen.passcodes = p;
                changed
            }
            Err(reason) => {
                warn!(%reason, "the function's secret is refused; the passcodes in force stay");
                false
            }
        }
    }

    fn build(&self, text: &str) -> Option<Option<Loadback<UploadClient, R>>> {
        let passcodes = self.seen().passcodes.clone();
        let checked = document::check(
            text,
            Passcodes::Known(&passcodes),
            self.config.default_concurrency,
        )
        .map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .and_then(|doc| {
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
        });
        match checked {
            Ok(loadback) => {
                info!(key = %self.config.key, "load-back document in force");
                Some(Some(loadback))
            }
            Err(reason) => {
                error!(key = %self.config.key, %reason, "load-back document refused; the last good one stays in force");
                count_event("processor", REJECTED_METRIC, &[("Reason", &reason)]);
                None
            }
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
