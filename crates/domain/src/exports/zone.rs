//! `EXPORT_TIMEZONE`: the zone CleverTap's `Date and Time` is read in. CleverTap sends no zone;
//! UTC is assumed unless the account's zone is named (`Asia/Kolkata`).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use time::PrimitiveDateTime;

use crate::Timestamp;

/// The zone export alerts' times are read in.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportZone(TimeZone);

impl Default for ExportZone {
    fn default() -> Self {
        ExportZone(TimeZone::UTC)
    }
}

impl ExportZone {
    /// An IANA zone name (`Europe/Berlin`, `Asia/Kolkata`, `UTC`), from the database built into
    /// the binary; the error says what is expected.
    pub fn parse(name: &str) -> Result<Self, String> {
        TimeZone::get(name.trim())
            .map(ExportZone)
            .map_err(|_| format!("{name:?} is not an IANA time zone name, e.g. Asia/Kolkata"))
    }

    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }

    pub fn is_utc(&self) -> bool {
        self.0 == TimeZone::UTC
    }

    /// The instant a wall-clock time in this zone names. A time that happens twice (clocks
    /// going back) is the first; one that never happens (clocks going forward) is read with
    /// the offset before the change: jiff's "compatible" rule, as RFC 5545 and Temporal do.
    pub fn resolve(&self, local: PrimitiveDateTime) -> Option<Timestamp> {
        let civil = DateTime::new(
            i16::try_from(local.year()).ok()?,
            i8::try_from(u8::from(local.month())).ok()?,
            i8::try_from(local.day()).ok()?,
            i8::try_from(local.hour()).ok()?,
            i8::try_from(local.minute()).ok()?,
            i8::try_from(local.second()).ok()?,
            0,
        )
        .ok()?;
        let instant = self.0.to_ambiguous_zoned(civil).compatible().ok()?;
        let utc =
            time::OffsetDateTime::from_unix_timestamp(instant.timestamp().as_second()).ok()?;
        Timestamp::checked(utc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_named_zone_moves_the_wall_clock_to_utc() {
        let kolkata = ExportZone::parse("Asia/Kolkata").unwrap();
        let at = kolkata.resolve(datetime!(2023-07-25 16:50:52)).unwrap();
        assert_eq!(at.canonical(), "2023-07-25T11:20:52.000Z");
        assert_eq!(kolkata.name(), "Asia/Kolkata");
        let utc = ExportZone::default();
        assert!(utc.is_utc());
        assert_eq!(
            utc.resolve(datetime!(2023-07-25 16:50:52))
                .unwrap()
                .canonical(),
            "2023-07-25T16:50:52.000Z"
        );
    }

    #[test]
    fn daylight_saving_changes_resolve_one_way() {
        let berlin = ExportZone::parse("Europe/Berlin").unwrap();
        // 02:30 on 2024-03-31 never happened in Berlin; 02:30 on 2024-10-27 happened twice.
        assert_eq!(
            berlin
                .resolve(datetime!(2024-03-31 02:30:00))
                .unwrap()
                .canonical(),
            "2024-03-31T01:30:00.000Z"
        );
        assert_eq!(
            berlin
                .resolve(datetime!(2024-10-27 02:30:00))
                .unwrap()
                .canonical(),
            "2024-10-27T00:30:00.000Z"
        );
    }

    #[test]
    fn an_unknown_zone_is_refused_with_an_example() {
        let err = ExportZone::parse("Mars/Olympus").unwrap_err();
        assert!(
            err.contains("IANA") && err.contains("Asia/Kolkata"),
            "{err}"
        );
    }
}
