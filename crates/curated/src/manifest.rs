//! What the compaction last saw of each hour, so a run recompacts only the hours whose raw
//! objects changed: `curated/_manifests/dt=YYYY-MM-DD.json`, one per day (one GET per day of
//! the lookback window rather than one per hour).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

use crate::hour::{dt, Hour};
use crate::tables::Table;

/// Bumped when the curated files' layout or columns change: every manifest's fingerprints then
/// differ, so the schedule recompacts its lookback window in the new form (`--all` does the rest).
pub const FORMAT_VERSION: u32 = 1;

pub const CURATED_PREFIX: &str = "curated/";
/// Where the day manifests are: one listing of it tells which days have one.
pub const MANIFESTS_PREFIX: &str = "curated/_manifests/";

/// `curated/<table>/dt=YYYY-MM-DD/HH.parquet`: one file per table and raw arrival hour, so
/// compacting an hour again replaces its files.
pub fn curated_key(table: Table, hour: Hour) -> String {
    format!(
        "{CURATED_PREFIX}{}/dt={}/{}.parquet",
        table.name(),
        hour.dt(),
        hour.hh()
    )
}

/// `curated/_manifests/dt=YYYY-MM-DD.json`
pub fn manifest_key(day: Date) -> String {
    format!("{MANIFESTS_PREFIX}dt={}.json", dt(day))
}

/// A raw object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub etag: String,
}

/// The fingerprint of an hour's raw objects: any object added or rewritten changes it.
pub fn fingerprint(objects: &[Object]) -> String {
    let mut lines: Vec<String> = objects
        .iter()
        .map(|o| format!("{} {}\n", o.key, o.etag))
        .collect();
    lines.sort();
    let mut h = Sha256::new();
    h.update(format!("v{FORMAT_VERSION}\n"));
    for l in lines {
        h.update(l.as_bytes());
    }
    hex::encode(&h.finalize()[..])
}

/// One day's compacted hours, by `HH`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayManifest {
    pub hours: BTreeMap<String, HourEntry>,
}

/// What one compaction of an hour read and wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourEntry {
    /// [`fingerprint`] of the raw objects read.
    pub raw: String,
    pub objects: usize,
    pub webhooks: usize,
    /// Rows written, by table name (tables without rows have no file and are left out).
    pub rows: BTreeMap<String, usize>,
    pub compacted_at: String,
}

impl DayManifest {
    /// Whether `hour`'s raw objects are those it was last compacted from.
    pub fn is_current(&self, hour: Hour, raw: &str) -> bool {
        self.hours.get(&hour.hh()).is_some_and(|e| e.raw == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(key: &str, etag: &str) -> Object {
        Object {
            key: key.into(),
            etag: etag.into(),
        }
    }

    #[test]
    fn the_fingerprint_changes_when_an_object_is_added_or_rewritten_not_when_listed_in_another_order(
    ) {
        let a = [o("raw/a", "1"), o("raw/b", "2")];
        let b = [o("raw/b", "2"), o("raw/a", "1")];
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&[o("raw/a", "1")]));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&[o("raw/a", "1"), o("raw/b", "3")])
        );
    }

    #[test]
    fn curated_keys_are_one_per_table_and_hour() {
        let h: Hour = "2026-11-22T05".parse().unwrap();
        assert_eq!(
            curated_key(Table::LocationEvents, h),
            "curated/location_events/dt=2026-11-22/05.parquet"
        );
        assert_eq!(
            manifest_key(h.date()),
            "curated/_manifests/dt=2026-11-22.json"
        );
    }
}
