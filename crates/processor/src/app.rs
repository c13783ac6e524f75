//! The composition root: the processor's parts, built once per process. [`Processor::new`]
//! wires the AWS adapters from the environment's configuration; [`Processor::from_parts`] takes
//! any implementation of the ports (the unit tests' in-memory ones).

use hookloop_aws::dedup::Claims;
use hookloop_aws::dynamodb::Table;
use hookloop_aws::kinesis::Stream;
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsClients;
use hookloop_clevertap::{UploadClient, UploadError};

use crate::adapters::Aws;
use crate::config::{ArchiveMode, ProcessorConfig, DEFAULT_MAX_RECEIVE_COUNT};
use crate::loadback::Loadback;
use crate::ports::Ports;
use crate::stages::write::Batching;

/// The processor's dependencies and settings.
pub struct Processor<P: Ports = Aws> {
    pub(crate) objects: P::Objects,
    pub(crate) rows: P::Rows,
    pub(crate) events: P::Events,
    pub(crate) ledger: P::Ledger,
    pub(crate) dead_letters: P::DeadLetters,
    /// `None` when load-back to CleverTap is not configured.
    pub(crate) loadback: Option<Loadback<P::Upload, P::Rows>>,
    /// Receives before SQS's redrive: on the last one a failing message is dead-lettered here.
    pub max_receive_count: u32,
    /// Items per request in the write stage (the service limits; the benchmark compares).
    pub batching: Batching,
    /// Raw archive: batch objects or one object per webhook.
    pub archive_mode: ArchiveMode,
}

/// One implementation of each port, for [`Processor::from_parts`].
pub struct Parts<P: Ports> {
    pub objects: P::Objects,
    pub rows: P::Rows,
    pub events: P::Events,
    pub ledger: P::Ledger,
    pub dead_letters: P::DeadLetters,
    pub loadback: Option<Loadback<P::Upload, P::Rows>>,
}

impl Processor<Aws> {
    /// The functions' processor: S3, DynamoDB, Kinesis, SQS and (when configured) CleverTap.
    pub fn new(clients: &AwsClients, config: ProcessorConfig) -> Result<Self, UploadError> {
        let table = Table::new(clients.dynamodb.clone(), config.table_name.clone());
        let loadback = match config.loadback {
            Some(c) => Some(Loadback::new(
                c.rules,
                UploadClient::new(c.accounts, c.request_timeout)?,
                table.clone(),
                c.max_attempts,
                c.marker_ttl,
            )),
            None => None,
        };
        let parts = Parts {
            objects: RawArchive::new(clients.s3.clone(), config.raw_bucket),
            ledger: Claims::new(
                clients.dynamodb.clone(),
                config.table_name,
                config.dedup_window,
            ),
            rows: table,
            events: Stream::new(clients.kinesis.clone(), config.geofence_stream),
            dead_letters: Queue::new(clients.sqs.clone(), config.dlq_url),
            loadback,
        };
        let mut p = Processor::from_parts(parts);
        p.max_receive_count = config.max_receive_count;
        p.archive_mode = config.raw_archive;
        Ok(p)
    }
}

impl<P: Ports> Processor<P> {
    /// A processor over `parts`, with the defaults: full batching, batch archive objects,
    /// [`DEFAULT_MAX_RECEIVE_COUNT`].
    pub fn from_parts(parts: Parts<P>) -> Self {
        Processor {
            objects: parts.objects,
            rows: parts.rows,
            events: parts.events,
            ledger: parts.ledger,
            dead_letters: parts.dead_letters,
            loadback: parts.loadback,
            max_receive_count: DEFAULT_MAX_RECEIVE_COUNT,
            batching: Batching::FULL,
            archive_mode: ArchiveMode::default(),
        }
    }
}
