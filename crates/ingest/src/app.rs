//! The composition root: the ingest's parts, built once per process.

use hookloop_aws::dedup::Claims;
use hookloop_aws::s3::RawArchive;
use tracing::warn;

use crate::auth::Auth;
use hookloop_domain::claim_check::ClaimCheck;

/// The ingest function's dependencies, built once per process.
#[derive(Debug)]
pub struct Ingest<Q> {
    pub queue: Q,
    pub auth: Auth,
    pub max_body_bytes: usize,
    /// Bodies too large for a queue message go to S3 first; `None`: they are refused.
    pub claim_check: Option<ClaimCheck<RawArchive>>,
    /// Repeated deliveries are answered with the original message id; `None`: off.
    pub dedup: Option<Claims>,
}

impl Ingest<hookloop_aws::sqs::Queue> {
    /// The production wiring: SQS, and S3 / DynamoDB when the configuration names them, all
    /// through `clients` (built with the ingest's deadline).
    pub fn from_config(config: crate::IngestConfig, clients: &hookloop_aws::AwsClients) -> Self {
        if config.dedup_table.is_none() && config.auth.accepts_radar() {
            warn!("no TABLE_NAME: Radar signatures are single-use in this process only");
        }
        Ingest {
            queue: hookloop_aws::sqs::Queue::new(clients.sqs.clone(), config.queue_url),
            // Radar signed messages are recorded in the table deduplication uses.
            auth: match &config.dedup_table {
                Some(table) => config.auth.with_signing_ids(std::sync::Arc::new(
                    hookloop_aws::signing_ids::SigningIds::new(
                        clients.dynamodb.clone(),
                        table.clone(),
                        config.signing_id_window,
                    ),
                )),
                None => config.auth,
            },
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
