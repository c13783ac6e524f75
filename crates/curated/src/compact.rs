//! The compaction: an hour's raw objects in, its curated Parquet files and manifest entry out.
//! Both `hookloop compact` and a scheduled Lambda call [`Compactor`]; the bucket is a port
//! ([`Bucket`]) so the logic runs on S3 or in memory alike.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures::stream::{self, StreamExt, TryStreamExt};
use hookloop_domain::claim_check::ObjectStore;
use hookloop_domain::{decode_batch, RawKey, ServiceError, Source};
use time::{Date, Duration, OffsetDateTime};

use crate::batch::{parquet_bytes, record_batch};
use crate::hour::{raw_day_prefix, Hour};
use crate::manifest::{
    curated_key, fingerprint, manifest_key, DayManifest, HourEntry, Object, MANIFESTS_PREFIX,
};
use crate::rows::{rows_of_hour, RawWebhook};
use crate::CuratedError;
use hookloop_domain::exports::ExportZone;

/// Where raw objects are read and curated ones written: the domain's object store (get, put),
/// and a listing with ETags.
pub trait Bucket: ObjectStore {
    /// Every object under `prefix`, with its ETag.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<Object>, ServiceError>> + Send;
}

/// How far back the schedule looks and how much one run may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Hours before the current one that a scheduled run checks for new raw objects
    /// (`COMPACT_LOOKBACK_HOURS`, default 360: the DLQ keeps a message 14 days, and a redriven
    /// message is archived in its original arrival hour).
    pub lookback_hours: u32,
    /// Hours one scheduled run compacts at most, newest first (`COMPACT_MAX_HOURS`, default
    /// 48); the rest stay due for the next run.
    pub max_hours: usize,
    /// Raw objects read at once.
    pub concurrency: usize,
    /// The zone export alerts' `Date and Time` is read in (`EXPORT_TIMEZONE`, the processor's).
    pub export_zone: ExportZone,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lookback_hours: 360,
            max_hours: 48,
            concurrency: 16,
            export_zone: ExportZone::default(),
        }
    }
}

/// What compacting one hour did.
#[derive(Debug, Clone, PartialEq)]
pub struct HourReport {
    pub hour: Hour,
    pub objects: usize,
    pub webhooks: usize,
    pub duplicates: usize,
    pub unreadable: usize,
    /// Rows by table name; the files written are `curated_key(table, hour)`.
    pub rows: BTreeMap<String, usize>,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// Hours with raw objects that were looked at.
    pub checked: usize,
    /// Hours compacted, oldest first.
    pub compacted: Vec<HourReport>,
    /// Hours found due but left for the next run ([`Settings::max_hours`]).
    pub deferred: usize,
}

pub struct Compactor<B> {
    bucket: B,
    settings: Settings,
}

type Listing = BTreeMap<Hour, Vec<Object>>;

impl<B: Bucket> Compactor<B> {
    pub fn new(bucket: B, settings: Settings) -> Self {
        Compactor { bucket, settings }
    }

    /// Compacts `hour` whatever the manifest says (`hookloop compact --hour`).
    pub async fn compact_hour(&self, hour: Hour) -> Result<RunReport, CuratedError> {
        let mut listing = Listing::new();
        for source in Source::ALL {
            self.list_into(&hour.raw_prefix(source), &mut listing)
                .await?;
        }
        let objects = listing.remove(&hour).unwrap_or_default();
        self.compact_listed(BTreeMap::from([(hour, objects)]), 0, BTreeMap::new())
            .await
    }

    /// Compacts every hour that has raw objects (`hookloop compact --all`).
    pub async fn compact_all(&self) -> Result<RunReport, CuratedError> {
        let mut listing = Listing::new();
        for source in Source::ALL {
            let prefix = format!("raw/source={}/", source.as_str());
            self.list_into(&prefix, &mut listing).await?;
        }
        self.compact_listed(listing, 0, BTreeMap::new()).await
    }

    /// What the schedule runs at `now`: every hour of the lookback window before the current
    /// one whose raw objects changed since it was last compacted (late data included: a
    /// retried or redriven message lands in its original arrival hour, whose listing then
    /// changes). The current hour waits until it is over.
    pub async fn compact_due(&self, now: OffsetDateTime) -> Result<RunReport, CuratedError> {
        let current = Hour::containing(now);
        let first =
            Hour::containing(now - Duration::hours(i64::from(self.settings.lookback_hours)));
        let mut due = Listing::new();
        let mut manifests = BTreeMap::new();
        let mut checked = 0;
        // The manifests that exist, from one listing: a day without one is not read, so the
        // function needs no s3:ListBucket beyond raw/ and curated/_manifests/ (S3 answers a GET
        // of a missing key 403, not 404, to a caller that may not list where the key would be).
        let existing: BTreeSet<String> = self
            .bucket
            .list(MANIFESTS_PREFIX)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect();
        let mut day = first.date();
        while day <= current.date() {
            let mut listing = Listing::new();
            for source in Source::ALL {
                self.list_into(&raw_day_prefix(source, day), &mut listing)
                    .await?;
            }
            listing.retain(|h, _| *h >= first && *h < current);
            if !listing.is_empty() {
                let manifest = if existing.contains(&manifest_key(day)) {
                    self.manifest(day).await?
                } else {
                    DayManifest::default()
                };
                checked += listing.len();
                due.extend(
                    listing
                        .into_iter()
                        .filter(|(h, objects)| !manifest.is_current(*h, &fingerprint(objects))),
                );
                manifests.insert(day, manifest);
            }
            let Some(next) = day.next_day() else { break };
            day = next;
        }
        // Newest first when there is more than one run's worth: fresh data matters most.
        let deferred = due.len().saturating_sub(self.settings.max_hours);
        let keep: Vec<Hour> = due
            .keys()
            .rev()
            .take(self.settings.max_hours)
            .copied()
            .collect();
        due.retain(|h, _| keep.contains(h));
        let mut report = self.compact_listed(due, deferred, manifests).await?;
        report.checked = checked;
        Ok(report)
    }

    async fn list_into(&self, prefix: &str, listing: &mut Listing) -> Result<(), CuratedError> {
        for o in self.bucket.list(prefix).await? {
            if RawKey::parse(&o.key).is_none() {
                continue; // not a raw archive object
            }
            if let Some(h) = Hour::of_raw_key(&o.key) {
                listing.entry(h).or_default().push(o);
            }
        }
        Ok(())
    }

    async fn manifest(&self, day: Date) -> Result<DayManifest, CuratedError> {
        let key = manifest_key(day);
        match self.bucket.get(&key).await? {
            None => Ok(DayManifest::default()),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| CuratedError::Manifest { key, source }),
        }
    }

    /// Compacts each hour, then records them in their days' manifests (files first: a run that
    /// stops in between leaves the hour due, never marked done without its files).
    async fn compact_listed(
        &self,
        hours: Listing,
        deferred: usize,
        mut known: BTreeMap<Date, DayManifest>,
    ) -> Result<RunReport, CuratedError> {
        let mut report = RunReport {
            checked: hours.len(),
            deferred,
            ..RunReport::default()
        };
        let mut entries: BTreeMap<Date, Vec<(Hour, HourEntry)>> = BTreeMap::new();
        let now = OffsetDateTime::now_utc();
        for (hour, objects) in hours {
            let done = self.compact_objects(hour, &objects).await?;
            tracing::info!(
                hour = %hour,
                objects = done.objects,
                webhooks = done.webhooks,
                duplicates = done.duplicates,
                unreadable = done.unreadable,
                "compacted"
            );
            let entry = HourEntry {
                raw: fingerprint(&objects),
                objects: done.objects,
                webhooks: done.webhooks,
                rows: done.rows.clone(),
                compacted_at: hookloop_domain::Timestamp::from_offset_date_time(now).canonical(),
            };
            entries.entry(hour.date()).or_default().push((hour, entry));
            report.compacted.push(done);
        }
        for (day, done) in entries {
            let mut manifest = match known.remove(&day) {
                Some(m) => m,
                None => self.manifest(day).await?,
            };
            for (hour, entry) in done {
                manifest.hours.insert(hour.hh(), entry);
            }
            let body = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
            self.bucket
                .put(&manifest_key(day), body, "application/json")
                .await?;
        }
        Ok(report)
    }

    async fn compact_objects(
        &self,
        hour: Hour,
        objects: &[Object],
    ) -> Result<HourReport, CuratedError> {
        let read: Vec<Vec<RawWebhook>> = stream::iter(objects.iter().map(|o| self.read(&o.key)))
            .buffered(self.settings.concurrency.max(1))
            .try_collect()
            .await?;
        let rows = rows_of_hour(
            read.into_iter().flatten().collect(),
            &self.settings.export_zone,
        );
        for id in &rows.unreadable {
            tracing::warn!(message_id = %id, hour = %hour, "left out of the curated tables: the parsers refuse it");
        }
        let mut counts = BTreeMap::new();
        for (table, table_rows) in &rows.tables {
            let batch = record_batch(*table, table_rows)?;
            let bytes = parquet_bytes(&batch)?;
            self.bucket
                .put(
                    &curated_key(*table, hour),
                    bytes,
                    "application/vnd.apache.parquet",
                )
                .await?;
            counts.insert(table.name().to_owned(), table_rows.len());
        }
        Ok(HourReport {
            hour,
            objects: objects.len(),
            webhooks: rows.webhooks,
            duplicates: rows.duplicates,
            unreadable: rows.unreadable.len(),
            rows: counts,
        })
    }

    /// The webhooks one raw object holds (a batch object's lines, or a single webhook).
    async fn read(&self, key: &str) -> Result<Vec<RawWebhook>, CuratedError> {
        let Some(raw) = RawKey::parse(key) else {
            return Ok(Vec::new());
        };
        // Gone since the listing (expired): nothing to read.
        let Some(bytes) = self.bucket.get(key).await? else {
            return Ok(Vec::new());
        };
        let source = raw.source();
        match raw {
            RawKey::Object { id, .. } => {
                let body = String::from_utf8(bytes).map_err(|_| CuratedError::NotRaw {
                    key: key.to_owned(),
                    reason: "not UTF-8".into(),
                })?;
                Ok(vec![RawWebhook { source, id, body }])
            }
            RawKey::Batch { .. } => Ok(decode_batch(&bytes)
                .map_err(|e| CuratedError::NotRaw {
                    key: key.to_owned(),
                    reason: e.to_string(),
                })?
                .into_iter()
                .map(|w| RawWebhook {
                    source,
                    id: w.id,
                    body: w.body,
                })
                .collect()),
        }
    }
}
