//! The composition root: the ingest's parts, built once per process.

use std::sync::Arc;
use std::time::Duration;

use hookloop_aws::dedup::Claims;
use hookloop_aws::s3::RawArchive;
use hookloop_aws::secrets::{ReadSecretError, Secret};
use hookloop_aws::signing_ids::SigningIds;
use hookloop_aws::AwsClients;
use hookloop_domain::claim_check::ClaimCheck;
use hookloop_runtime::live::{Live, Reload, Reloaded};
use hookloop_runtime::secret::SecretSettings;
use hookloop_runtime::{process_env, ConfigError, Registry};
use tracing::warn;

use crate::auth::{Auth, SigningIdLedger};
use crate::config::{read_credentials, IngestConfig, SECRET_KEYS};

/// The ingest function's dependencies, built once per process.
#[derive(Debug)]
pub struct Ingest<Q> {
    pub queue: Q,
    /// The credentials in force: fixed for a local run, re-read from the function's secret
    /// every `SECRETS_TTL_SECONDS` when deployed.
    pub auth: Live<Auth>,
    pub max_body_bytes: usize,
    /// Bodies too large for a queue message go to S3 first; `None`: they are refused.
    pub claim_check: Option<ClaimCheck<RawArchive>>,
    /// Repeated deliveries are answered with the original message id; `None`: off.
    pub dedup: Option<Claims>,
}

impl Ingest<hookloop_aws::sqs::Queue> {
    /// The production wiring: SQS, and S3 / DynamoDB when the configuration names them, all
    /// through `clients` (built with the ingest's deadline). With `secret`, the credentials are
    /// re-read from it every `ttl`; a read that fails, or a document that does not make valid
    /// credentials, leaves the last good ones in force.
    pub fn from_config(
        config: crate::IngestConfig,
        clients: &hookloop_aws::AwsClients,
        secret: Option<(Secret, Duration)>,
    ) -> Self {
        if config.dedup_table.is_none() && config.auth.accepts_radar() {
            warn!("no TABLE_NAME: Radar signatures are single-use in this process only");
        }
        // Radar signed messages are recorded in the table deduplication uses.
        let signing_ids: Option<Arc<dyn SigningIdLedger>> = config.dedup_table.as_ref().map(|t| {
            Arc::new(SigningIds::new(
                clients.dynamodb.clone(),
                t.clone(),
                config.signing_id_window,
            )) as Arc<dyn SigningIdLedger>
        });
        // Without a table, signing ids are remembered in memory: the first credentials' store is
        // kept across reloads, so a rotation does not forget which signatures were used.
        let signing_ids = signing_ids.unwrap_or_else(|| config.auth.signing_ids.clone());
        let wire = move |auth: Auth| auth.with_signing_ids(signing_ids.clone());
        let first = wire(config.auth);
        let auth = match secret {
            None => Live::fixed(first),
            Some((secret, ttl)) => Live::reloading(first, ttl, reload_credentials(secret, wire)),
        };
        Ingest {
            queue: hookloop_aws::sqs::Queue::new(clients.sqs.clone(), config.queue_url),
            auth,
            max_body_bytes: config.max_body_bytes,
            claim_check: config.claim_bucket.map(|bucket| {
                ClaimCheck::new(
                    RawArchive::new(clients.s3.clone(), bucket),
                    config.claim_check_bytes,
                )
            }),
            dedup: config
                .dedup_table
                .map(|table| Claims::new(clients.dynamodb.clone(), table, config.dedup_window)),
        }
    }
}

impl Ingest<hookloop_aws::sqs::Queue> {
    /// The Lambda's start: the function's secret (`SECRET_ARN`) read when there is one, the
    /// configuration read from it over the environment, the clients built with the ingest's
    /// deadline.
    pub async fn from_env(
        sdk: &aws_config::SdkConfig,
        requests: Registry,
    ) -> Result<Self, StartError> {
        let env = process_env();
        let secret = match SecretSettings::read(&env)? {
            None => None,
            Some(settings) => {
                let client = hookloop_aws::clients::secrets_client(sdk, &requests);
                let (secret, doc) = Secret::read_at_start(client, &settings).await?;
                Some((settings, secret, doc))
            }
        };
        let config = match &secret {
            Some((_, _, doc)) => IngestConfig::read(&doc.over(&env, &SECRET_KEYS))?,
            None => IngestConfig::read(&env)?,
        };
        let clients = AwsClients::with_deadline(sdk, config.queue_send_timeout, requests);
        // Re-reads go through the deadline-bound client: they happen inside a request.
        let secret = secret.map(|(settings, secret, _)| {
            (
                Secret::new(clients.secrets.clone(), secret.arn()),
                settings.ttl,
            )
        });
        Ok(Ingest::from_config(config, &clients, secret))
    }
}

/// Why the ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the function's secret (SECRET_ARN): {0}")]
    Secret(#[from] ReadSecretError),
}

/// Reads the secret again and makes the credentials of its document over the environment.
fn reload_credentials(
    secret: Secret,
    wire: impl Fn(Auth) -> Auth + Send + Sync + 'static,
) -> Reload<Auth> {
    let wire = Arc::new(wire);
    Box::new(move || {
        let (secret, wire) = (secret.clone(), wire.clone());
        Box::pin(async move {
            let doc = match secret.read().await {
                Ok(doc) => doc,
                Err(e) => {
                    warn!(error = %e, "could not re-read the secret; the credentials in force stay");
                    return Reloaded::Retry;
                }
            };
            let env = process_env();
            let read = read_credentials(&doc.over(&env, &SECRET_KEYS));
            match read {
                // A version with no credential at all (`{}`, a misspelt key) would refuse every
                // sender: refused, like one that does not parse.
                Ok(auth) if auth.tokens.is_empty() && auth.basic.is_empty() => {
                    warn!("the secret's new version holds no WEBHOOK_TOKEN or WEBHOOK_BASIC_AUTH; the credentials in force stay");
                    Reloaded::Keep
                }
                Ok(auth) => Reloaded::Replace(wire(auth)),
                Err(e) => {
                    // ConfigError never quotes a secret value.
                    warn!(error = %e, "the secret's new version is refused; the credentials in force stay");
                    Reloaded::Keep
                }
            }
        })
    })
}
