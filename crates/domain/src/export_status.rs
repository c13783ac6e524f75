//! CleverTap export status alerts (Settings > Partners > Exports).
//!
//! `{"Export Request Id": 1690283492, "Partner": "Google Cloud Storage", "Type": "Events",
//!   "Status": "Completed", "Frequency": "One Time", "Date and Time": "25/07/2023 4:50:52 PM"}`

use serde::Deserialize;
use serde_json::{Map, Value};
use time::macros::format_description;
use time::PrimitiveDateTime;

use crate::error::ParseError;
use crate::exports::ExportZone;
use crate::primitives::{canonicalize_keys, from_value, Id, Text, Timestamp, TIME_OUT_OF_RANGE};

const KEYS: &[&str] = &[
    "Export Request Id",
    "Partner",
    "Type",
    "Status",
    "Frequency",
    "Date and Time",
];

#[derive(Debug, Clone, PartialEq)]
pub struct ExportStatusAlert {
    pub export_request_id: String,
    pub partner: Option<String>,
    pub export_type: Option<String>,
    /// `Initiated` or `Completed` today; kept open.
    pub status: String,
    /// `One Time`, or a recurring schedule; kept open.
    pub frequency: Option<String>,
    /// `Date and Time`, read as UTC (CleverTap sends no time zone), or in `EXPORT_TIMEZONE`
    /// ([`ExportStatusAlert::in_zone`]).
    pub at: Timestamp,
    /// `Date and Time` exactly as sent.
    pub at_raw: String,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "Export Request Id")]
    export_request_id: Id,
    #[serde(rename = "Partner", default)]
    partner: Option<Text>,
    #[serde(rename = "Type", default)]
    export_type: Option<Text>,
    #[serde(rename = "Status")]
    status: Id,
    #[serde(rename = "Frequency", default)]
    frequency: Option<Text>,
    #[serde(rename = "Date and Time")]
    date_and_time: Text,
}

pub(crate) fn parse(map: Map<String, Value>) -> Result<ExportStatusAlert, ParseError> {
    let raw: Raw = from_value("", Value::Object(canonicalize_keys(map, KEYS)))?;
    let at = parse_clevertap_datetime(&raw.date_and_time.0)
        .map_err(|message| ParseError::new("/Date and Time", message))?;
    Ok(ExportStatusAlert {
        export_request_id: raw.export_request_id.0,
        partner: raw.partner.map(|t| t.0),
        export_type: raw.export_type.map(|t| t.0),
        status: raw.status.0,
        frequency: raw.frequency.map(|t| t.0),
        at,
        at_raw: raw.date_and_time.0,
    })
}

/// `25/07/2023 4:50:52 PM`, also accepting a 24-hour clock. No zone is sent; UTC is assumed
/// here ([`ExportStatusAlert::in_zone`] reads it in another). The error says what was expected,
/// never what was sent.
fn parse_clevertap_datetime(s: &str) -> Result<Timestamp, &'static str> {
    Timestamp::checked(parse_wall_clock(s)?.assume_utc()).ok_or(TIME_OUT_OF_RANGE)
}

fn parse_wall_clock(s: &str) -> Result<PrimitiveDateTime, &'static str> {
    let twelve = format_description!(
        "[day padding:none]/[month padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period case_sensitive:false]"
    );
    let twenty_four = format_description!(
        "[day padding:none]/[month padding:none]/[year] [hour padding:none]:[minute]:[second]"
    );
    let s = s.trim();
    PrimitiveDateTime::parse(s, twelve)
        .or_else(|_| PrimitiveDateTime::parse(s, twenty_four))
        .map_err(|_| "expected DD/MM/YYYY h:mm:ss AM/PM (or 24-hour HH:mm:ss)")
}

impl ExportStatusAlert {
    /// The alert with `Date and Time` read in `zone` (`EXPORT_TIMEZONE`) instead of UTC. A time
    /// the zone cannot place (out of range) keeps its UTC reading.
    pub fn in_zone(mut self, zone: &ExportZone) -> Self {
        if zone.is_utc() {
            return self;
        }
        if let Some(at) = parse_wall_clock(&self.at_raw)
            .ok()
            .and_then(|local| zone.resolve(local))
        {
            self.at = at;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_webhook, Source, Webhook};
    use serde_json::json;

    fn parse_json(v: Value) -> Result<ExportStatusAlert, ParseError> {
        match parse_webhook(Source::ClevertapExportStatus, v.to_string().as_bytes())? {
            Webhook::ExportStatus(a) => Ok(a),
            other => panic!("wrong variant {other:?}"),
        }
    }

    #[test]
    fn documented_sample_parses() {
        let a = parse_json(
            json!({"Export Request Id": 1690283492, "Partner": "Google Cloud Storage",
            "Type": "Events", "Status": "Completed", "Frequency": "One Time",
            "Date and Time": "25/07/2023 4:50:52 PM"}),
        )
        .unwrap();
        assert_eq!(a.export_request_id, "1690283492");
        assert_eq!(a.status, "Completed");
        assert_eq!(a.at.canonical(), "2023-07-25T16:50:52.000Z");
        assert_eq!(a.at_raw, "25/07/2023 4:50:52 PM");
        assert_eq!(a.partner.as_deref(), Some("Google Cloud Storage"));
    }

    #[test]
    fn string_ids_other_casing_and_24_hour_clock() {
        let a = parse_json(json!({"export request id": "77", "status": "Initiated",
            "date and time": "01/02/2024 00:05:00", "Frequency": "Every 4 hours"}))
        .unwrap();
        assert_eq!(a.export_request_id, "77");
        assert_eq!(a.at.canonical(), "2024-02-01T00:05:00.000Z");
        assert_eq!(
            parse_json(json!({"Export Request Id": 1, "Status": "Completed",
            "Date and Time": "1/2/2024 12:00:00 am"}))
            .unwrap()
            .at
            .canonical(),
            "2024-02-01T00:00:00.000Z"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let base = json!({"Export Request Id": 1, "Status": "Completed", "Date and Time": "25/07/2023 4:50:52 PM"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            parse_json(b).unwrap_err().path
        };
        let without = |k: &str| {
            let mut b = base.clone();
            b.as_object_mut().unwrap().remove(k);
            parse_json(b).unwrap_err().path
        };
        assert_eq!(without("Export Request Id"), "/Export Request Id");
        assert_eq!(without("Status"), "/Status");
        assert_eq!(without("Date and Time"), "/Date and Time");
        assert_eq!(
            with("Date and Time", json!("2023-07-25T16:50:52Z")),
            "/Date and Time"
        );
        assert_eq!(
            with("Date and Time", json!("32/07/2023 4:50:52 PM")),
            "/Date and Time"
        );
        assert_eq!(with("Export Request Id", json!(true)), "/Export Request Id");
        assert_eq!(with("Partner", json!(5)), "/Partner");
    }

    #[test]
    fn in_a_named_zone_the_wall_clock_is_that_zones() {
        let a = parse_json(json!({"Export Request Id": 1, "Status": "Initiated",
            "Date and Time": "25/07/2023 4:50:52 PM"}))
        .unwrap();
        let utc = a.clone().in_zone(&ExportZone::default());
        assert_eq!(utc.at.canonical(), "2023-07-25T16:50:52.000Z");
        let ist = a.in_zone(&ExportZone::parse("Asia/Kolkata").unwrap());
        assert_eq!(ist.at.canonical(), "2023-07-25T11:20:52.000Z");
        assert_eq!(ist.at_raw, "25/07/2023 4:50:52 PM");
    }
}
