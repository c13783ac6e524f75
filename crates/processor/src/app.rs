//! The composition root: the processor's parts, built once per process. [`Processor::new`]
//! wires the AWS adapters from the environment's configuration; [`Processor::from_parts`] takes
//! any implementation of the ports (the unit tests' in-memory ones); [`Processor::on_aws`] lets
//! a caller wrap the row and event stores (the benchmark's one-item-per-request comparison).

use std::sync::Arc;

use hookloop_aws::dedup::Claims;
use hookloop_aws::dynamodb::Table;
use hookloop_aws::kinesis::Stream;
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsClients;
use hookloop_clevertap::{UploadClient, UploadError};

use crate::adapters::Aws;
use crate::config::{ArchiveMode, ProcessorConfig, DEFAULT_MAX_RECEIVE_COUNT};
use crate::exports::ExportSettings;
use crate::geofencing::{document, AnomalyLimits, Fences, GeofenceSource};
use crate::loadback::{live, Configured, Loadback};
use crate::ports::Ports;
use hookloop_aws::secrets::Secret;
use hookloop_runtime::live::Live;
use hookloop_runtime::metrics::names::PROCESSOR;
use hookloop_runtime::Publisher;

/// The processor's dependencies and settings.
pub struct Processor<P: Ports = Aws> {
    pub(crate) objects: P::Objects,
    pub(crate) rows: P::Rows,
    pub(crate) events: P::Events,
    pub(crate) ledger: P::Ledger,
    pub(crate) dead_letters: P::DeadLetters,
    /// The load-back in force; `None` when load-back to CleverTap is not configured.
    pub(crate) loadback: Live<Configured<Loadback<P::Upload, P::Rows>>>,
    /// The geofences in force (`GEOFENCES`); [`Fences::Off`] when not configured.
    pub(crate) geofences: Live<Fences>,
    /// What makes a point anomalous (`MAX_SPEED_KMH`, `FLAP_LIMIT`, `FLAP_WINDOW_MINUTES`).
    pub(crate) anomaly_limits: AnomalyLimits,
    /// Export tracking: `EXPORT_TIMEZONE`, `EXPORT_COMPLETION_HOURS`, `EXPORT_GRACE_MINUTES`.
    pub(crate) exports: ExportSettings,
    /// Receives before SQS's redrive: on the last one a failing message is dead-lettered here.
    pub max_receive_count: u32,
    /// Raw archive: batch objects or one object per webhook.
    pub archive_mode: ArchiveMode,
    /// The business metrics each invocation prints (`Stack` from `STACK_NAME`, read once).
    pub(crate) metrics: Arc<Publisher>,
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
        Processor::on_aws(clients, config, |table| table, |stream| stream)
    }
}

impl<P> Processor<P>
where
    P: Ports<Objects = RawArchive, Ledger = Claims, DeadLetters = Queue, Upload = UploadClient>,
    P::Rows: Clone + Send + Sync + 'static,
{
    /// The processor on AWS, its row store (load-back markers included) and event stream made
    /// by `rows` and `events` from the AWS adapters.
    pub fn on_aws(
        clients: &AwsClients,
        config: ProcessorConfig,
        rows: impl Fn(Table) -> P::Rows,
        events: impl FnOnce(Stream) -> P::Events,
    ) -> Result<Self, UploadError> {
        let table = Table::new(clients.dynamodb.clone(), config.table_name.clone());
        let metrics = Arc::new(Publisher::from_env(PROCESSOR));
        let loadback = match config.loadback {
            Some(c) => Some(Loadback::new(
                c.rules,
                UploadClient::new(c.accounts, c.request_timeout, clients.requests.clone())?,
                rows(table.clone()),
                c.max_attempts,
                c.marker_ttl,
            )),
            None => None,
        };
        // Or the stack's document, read when the first batch needs it, then every 60 s.
        let document = config.loadback_document.map(|doc| {
            let every = doc.check_every;
            let secret = doc
                .secret
                .as_ref()
                .map(|s| Secret::new(clients.secrets.clone(), s.arn.clone()));
            let reload = live::from_document(
                RawArchive::new(clients.s3.clone(), doc.bucket.clone()),
                secret,
                doc,
                rows(table.clone()),
                clients.requests.clone(),
                metrics.clone(),
            );
            (every, reload)
        });
        let parts = Parts {
            objects: RawArchive::new(clients.s3.clone(), config.raw_bucket),
            ledger: Claims::new(
                clients.dynamodb.clone(),
                config.table_name,
                config.dedup_window,
            ),
            rows: rows(table),
            events: events(Stream::new(clients.kinesis.clone(), config.geofence_stream)),
            dead_letters: Queue::new(clients.sqs.clone(), config.dlq_url),
            loadback,
        };
        let mut p = Processor::from_parts(parts);
        p.metrics = metrics;
        if let Some((every, reload)) = document {
            p.loadback = Live::loading(Configured::Unknown, every, reload);
        }
        if let Some(from) = config.geofences {
            let objects = match &from {
                GeofenceSource::S3 { bucket, .. } => {
                    Some(RawArchive::new(clients.s3.clone(), bucket.clone()))
                }
                GeofenceSource::File(_) => None,
            };
            p.geofences = Live::loading(
                Fences::Unknown,
                config.geofences_check_every,
                document::reload(from, objects),
            )
            .with_timeout(document::RELOAD_TIMEOUT);
        }
        p.max_receive_count = config.max_receive_count;
        p.anomaly_limits = config.anomaly_limits;
        p.exports = config.exports;
        p.archive_mode = config.raw_archive;
        Ok(p)
    }
}

impl<P: Ports> Processor<P> {
    /// A processor over `parts`, with the defaults: batch archive objects,
    /// [`DEFAULT_MAX_RECEIVE_COUNT`].
    pub fn from_parts(parts: Parts<P>) -> Self {
        Processor {
            objects: parts.objects,
            rows: parts.rows,
            events: parts.events,
            ledger: parts.ledger,
            dead_letters: parts.dead_letters,
            loadback: Live::fixed(parts.loadback.into()),
            geofences: Live::fixed(Fences::Off),
            anomaly_limits: AnomalyLimits::default(),
            exports: ExportSettings::default(),
            max_receive_count: DEFAULT_MAX_RECEIVE_COUNT,
            archive_mode: ArchiveMode::default(),
            metrics: Arc::new(Publisher::from_env(PROCESSOR)),
        }
    }

    /// Anomalies flagged by `limits` (the tests' processors).
    pub fn with_anomaly_limits(mut self, limits: AnomalyLimits) -> Self {
        self.anomaly_limits = limits;
        self
    }

    /// Export tracking under `settings` (the tests' processors).
    pub fn with_export_settings(mut self, settings: ExportSettings) -> Self {
        self.exports = settings;
        self
    }

    /// Server-side geofencing with `index`, fixed (the tests' processors).
    pub fn with_geofences(mut self, index: hookloop_geofence::GeofenceIndex) -> Self {
        self.geofences = Live::fixed(Fences::On(index));
        self
    }

    /// The processor's metrics: what every line carries, for the request counts' line.
    pub fn metrics(&self) -> &Publisher {
        &self.metrics
    }
}
