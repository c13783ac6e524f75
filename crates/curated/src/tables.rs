//! The curated tables: which of the processor's rows each holds, and its columns.
//!
//! A curated row is a row the processor writes to DynamoDB (`Normalized::from_webhook`, the same
//! parsing and normalising code), one per message: where DynamoDB keeps only the latest state of
//! a trip (`META`) or a user (`PROFILE`), the curated tables keep every message's, so history
//! can be queried. Columns are the row's attributes, typed.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// A curated table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    LocationEvents,
    Trips,
    Users,
    ClevertapProfiles,
    ExportStatus,
}

/// How a column's value is read from a row attribute and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Float,
    Int,
    Bool,
    /// A canonical RFC 3339 time, stored as a UTC timestamp in milliseconds.
    Time,
    /// A JSON object or list, stored as its JSON text (Athena: `json_extract_scalar`; DuckDB:
    /// `json_extract_string`).
    Json,
}

/// One column: its name (the row attribute it comes from, unless said otherwise), kind and
/// whether the source may omit it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

const fn req(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

use Kind::*;

/// `profile_key` (the row's `CT#<key>`) and `occurrences` (1 + earlier occurrences) are derived;
/// every other column is the row attribute of that name.
pub const PROFILE_KEY: &str = "profile_key";
pub const OCCURRENCES: &str = "occurrences";

const LOCATION_EVENTS: &[Column] = &[
    req("message_id", Text),
    req("received_at", Time),
    req("shape", Text),
    req("event_id", Text),
    req("user_id", Text),
    opt("event_type", Text),
    req("latitude", Float),
    req("longitude", Float),
    req("created_at", Time),
    opt("live", Bool),
    opt("accuracy", Float),
    opt("geofence_id", Text),
    opt("geofence_tag", Text),
    opt("geofence_external_id", Text),
    opt("geofence_description", Text),
];

const TRIPS: &[Column] = &[
    req("message_id", Text),
    req("received_at", Time),
    req("trip_id", Text),
    opt("external_id", Text),
    opt("user_id", Text),
    opt("status", Text),
    opt("created_at", Time),
    opt("updated_at", Time),
    opt("started_at", Time),
    opt("route_session_type", Text),
];

const USERS: &[Column] = &[
    req("message_id", Text),
    req("received_at", Time),
    req("user_id", Text),
    opt("event_id", Text),
    opt("device_id", Text),
    opt("created_at", Time),
    opt("live", Bool),
];

const CLEVERTAP_PROFILES: &[Column] = &[
    req("message_id", Text),
    req("received_at", Time),
    req("target_id", Text),
    req(PROFILE_KEY, Text),
    opt("object_id", Text),
    opt("identity", Text),
    opt("email", Text),
    opt("name", Text),
    opt("phone", Text),
    req("key_values", Json),
    req("profile_data", Json),
    opt("event_properties", Json),
    opt("all_identities", Json),
    req(OCCURRENCES, Int),
];

const EXPORT_STATUS: &[Column] = &[
    req("message_id", Text),
    req("received_at", Time),
    req("export_request_id", Text),
    req("status", Text),
    req("at", Time),
    req("at_raw", Text),
    opt("partner", Text),
    opt("type", Text),
    opt("frequency", Text),
];

impl Table {
    pub const ALL: [Table; 5] = [
        Table::LocationEvents,
        Table::Trips,
        Table::Users,
        Table::ClevertapProfiles,
        Table::ExportStatus,
    ];

    /// The table's name: its folder under `curated/` and its Glue table.
    pub fn name(self) -> &'static str {
        match self {
            Table::LocationEvents => "location_events",
            Table::Trips => "trips",
            Table::Users => "users",
            Table::ClevertapProfiles => "clevertap_profiles",
            Table::ExportStatus => "export_status",
        }
    }

    /// The table whose rows have this `kind` attribute (the processor's row kinds).
    pub fn of_kind(kind: &str) -> Option<Table> {
        match kind {
            "location" => Some(Table::LocationEvents),
            "trip" => Some(Table::Trips),
            "user" => Some(Table::Users),
            "campaign_profile" => Some(Table::ClevertapProfiles),
            "export_status" => Some(Table::ExportStatus),
            _ => None,
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::LocationEvents => LOCATION_EVENTS,
            Table::Trips => TRIPS,
            Table::Users => USERS,
            Table::ClevertapProfiles => CLEVERTAP_PROFILES,
            Table::ExportStatus => EXPORT_STATUS,
        }
    }

    pub fn schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|c| Field::new(c.name, data_type(c.kind), c.nullable))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

pub fn data_type(kind: Kind) -> DataType {
    match kind {
        Text | Json => DataType::Utf8,
        Float => DataType::Float64,
        Int => DataType::Int64,
        Bool => DataType::Boolean,
        Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_distinct_name_and_its_kind_maps_back() {
        let names: std::collections::HashSet<_> = Table::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), Table::ALL.len());
        for kind in [
            "location",
            "trip",
            "user",
            "campaign_profile",
            "export_status",
        ] {
            assert!(Table::of_kind(kind).is_some(), "{kind}");
        }
        for t in Table::ALL {
            let s = t.schema();
            assert_eq!(s.field(0).name(), "message_id", "{}", t.name());
            assert_eq!(s.field(1).name(), "received_at", "{}", t.name());
        }
    }
}
