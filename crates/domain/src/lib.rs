//! hookloop's domain: what a webhook is, once it has been parsed.
//!
//! Nothing in this crate talks to AWS or knows about Lambda. Webhook values are only ever built
//! by the parsing functions ([`parse_webhook`]), which either return a typed, validated value or a
//! [`ParseError`] naming the JSON pointer of the offending field. Everything downstream
//! (normalisation into table rows and geofence events, the queue envelope, the raw archive key)
//! works on valid values only.

mod archive;
pub mod attributes;
mod campaign_rows;
pub mod claim_check;
mod clevertap;
pub mod dedup;
mod depth;
mod envelope;
mod error;
mod export_status;
pub mod exports;
#[cfg(test)]
mod hostile_tests;
mod json_string;
pub mod latest;
pub mod limits;
mod location;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
mod normalize;
pub mod points;
mod primitives;
mod service_error;
mod source;
mod storable;
pub mod table;
mod timestamp;

pub use archive::{
    decode_batch, encode_batch, raw_batch_key, raw_partition, ArchiveError, ArchivedWebhook,
    RawKey, BATCH_SUFFIX, OBJECT_SUFFIX,
};
pub use claim_check::claim_object_key;
pub use clevertap::{CampaignProfile, CampaignWebhook, ProfileKey};
pub use dedup::dedup_key;
pub use envelope::{Envelope, EnvelopeError, MessageId, ENVELOPE_VERSION};
/// JSON pointers (RFC 6901), as errors name fields: one home for building them.
pub mod pointer {
    pub use crate::error::{escape_pointer as escape, join, serde_pointer};
}
pub use error::ParseError;
pub use export_status::ExportStatusAlert;
pub use latest::{LatestRow, StateKind, Version, Written};
pub use location::{
    GeofenceRef, LocationEvent, LocationShape, LocationWebhook, TripUpdate, UserUpdate,
};
pub use normalize::{raw_object_key, GeofenceEvent, Normalized, Row};
pub use points::{FenceRef, Point, ANOMALY_ATTRIBUTE, LOCATION_ANOMALY, ORIGIN_HOOKLOOP};
pub use primitives::Coordinate;
pub use service_error::ServiceError;
pub use source::Source;
pub use timestamp::Timestamp;

/// A webhook that passed validation, by source.
#[derive(Debug, Clone, PartialEq)]
pub enum Webhook {
    Campaign(CampaignWebhook),
    ExportStatus(ExportStatusAlert),
    Location(LocationWebhook),
}

impl Webhook {
    /// The webhook with an export status alert's `Date and Time` read in `zone`
    /// (`EXPORT_TIMEZONE`): what the processor stores and the compactor rebuilds alike.
    pub fn in_export_zone(self, zone: &exports::ExportZone) -> Self {
        match self {
            Webhook::ExportStatus(a) => Webhook::ExportStatus(a.in_zone(zone)),
            other => other,
        }
    }

    /// CleverTap's dashboard test call (`"is_test": true`): acknowledged, never loaded.
    pub fn is_test(&self) -> bool {
        matches!(self, Webhook::Campaign(c) if c.is_test)
    }
}

/// Parses a webhook body received on the route of `source`.
///
/// The body must be a JSON object; errors carry the JSON pointer of the field at fault
/// (`/profiles/0/objectId`, `/events/2/location/coordinates/1`, `` for the whole body).
pub fn parse_webhook(source: Source, body: &[u8]) -> Result<Webhook, ParseError> {
    match source {
        Source::ClevertapWebhook => clevertap::parse(body).map(Webhook::Campaign),
        Source::ClevertapExportStatus => {
            export_status::parse(primitives::parse_json_object(body)?).map(Webhook::ExportStatus)
        }
        Source::Location => location::parse(body).map(Webhook::Location),
    }
}

/// True when the body is a CleverTap test call (`"is_test": true` at the top level, any key
/// casing). CleverTap saves a webhook only if its test call gets exactly HTTP 200, so the ingest
/// acknowledges a test call as soon as it is well-formed JSON, whatever sample profiles it holds.
pub fn is_clevertap_test_call(body: &[u8]) -> bool {
    // Plain serde_json, not the depth-bounded reader: a test call is stored nowhere.
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("is_test") && v.as_bool() == Some(true)),
        _ => false,
    }
}
