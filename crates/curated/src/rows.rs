//! The raw webhooks of an hour, as the processor's rows by curated table: the same parsing
//! (`parse_webhook`) and normalising (`Normalized::from_webhook`) code the processor runs, so
//! the curated layer can never disagree with the table about what a webhook means.

use std::collections::BTreeMap;

use hookloop_domain::exports::ExportZone;
use hookloop_domain::{parse_webhook, Envelope, MessageId, Normalized, Row, Source};

use crate::tables::Table;

/// One archived webhook: what a raw object (batch line or single object) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawWebhook {
    pub source: Source,
    pub id: MessageId,
    pub body: String,
}

/// An hour's rows, by table, and what was left out.
#[derive(Debug, Default)]
pub struct HourRows {
    pub tables: BTreeMap<Table, Vec<Row>>,
    /// Distinct webhooks read.
    pub webhooks: usize,
    /// Extra copies of a webhook (a redelivered message archived in two batch objects).
    pub duplicates: usize,
    /// Webhooks the current parsers refuse (archived by an older version that accepted them):
    /// left out of the curated tables and named, by id only, in the compaction's log.
    pub unreadable: Vec<MessageId>,
}

/// The rows of `webhooks`, one set per message id (copies dropped), in id order, so the same
/// raw objects always make the same tables, byte for byte.
/// Export alerts' times are read in `zone`, as the processor reads them.
pub fn rows_of_hour(mut webhooks: Vec<RawWebhook>, zone: &ExportZone) -> HourRows {
    webhooks.sort_by_key(|w| (w.id, w.source.as_str()));
    let before = webhooks.len();
    webhooks.dedup_by_key(|w| w.id);
    let mut out = HourRows {
        webhooks: webhooks.len(),
        duplicates: before - webhooks.len(),
        ..HourRows::default()
    };
    for w in webhooks {
        let parsed = match parse_webhook(w.source, w.body.as_bytes()) {
            // A test call is never stored by the processor: nor here.
            Ok(p) if p.is_test() => continue,
            Ok(p) => p.in_export_zone(zone),
            Err(_) => {
                out.unreadable.push(w.id);
                continue;
            }
        };
        let env = Envelope::replayed(w.id, w.source, w.body);
        for row in Normalized::from_webhook(&parsed, &env).into_all_rows() {
            let table = row
                .attrs
                .get("kind")
                .and_then(|k| k.as_str())
                .and_then(Table::of_kind);
            if let Some(table) = table {
                out.tables.entry(table).or_default().push(row);
            }
        }
    }
    out
}
