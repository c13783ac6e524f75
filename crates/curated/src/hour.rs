//! An arrival hour: the unit the raw archive is partitioned by and the curated layer compacts.

use std::fmt;
use std::str::FromStr;

use hookloop_domain::Source;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

/// One UTC hour, `YYYY-MM-DDTHH` in text (what `hookloop compact --hour` takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(OffsetDateTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an hour: expected YYYY-MM-DDTHH in UTC, e.g. 2026-11-22T05")]
pub struct InvalidHour(pub String);

impl Hour {
    /// The hour `t` falls in (in UTC).
    pub fn containing(t: OffsetDateTime) -> Hour {
        let t = t.to_offset(time::UtcOffset::UTC);
        let start = Time::from_hms(t.hour(), 0, 0).unwrap_or(Time::MIDNIGHT);
        Hour(PrimitiveDateTime::new(t.date(), start).assume_utc())
    }

    /// The hour of a raw key's `dt=YYYY-MM-DD/hour=HH/` partition.
    pub fn of_raw_key(key: &str) -> Option<Hour> {
        let dt = key.split("/dt=").nth(1)?.get(..10)?;
        let hh = key.split("/hour=").nth(1)?.get(..2)?;
        format!("{dt}T{hh}").parse().ok()
    }

    pub fn start(self) -> OffsetDateTime {
        self.0
    }

    pub fn date(self) -> Date {
        self.0.date()
    }

    /// `YYYY-MM-DD`
    pub fn dt(self) -> String {
        dt(self.0.date())
    }

    /// `HH`
    pub fn hh(self) -> String {
        format!("{:02}", self.0.hour())
    }

    pub fn next(self) -> Hour {
        Hour(self.0 + Duration::HOUR)
    }

    pub fn previous(self) -> Hour {
        Hour(self.0 - Duration::HOUR)
    }

    /// `raw/source=<source>/dt=YYYY-MM-DD/hour=HH/`: where this hour's webhooks of `source` are.
    pub fn raw_prefix(self, source: Source) -> String {
        format!("{}hour={}/", raw_day_prefix(source, self.date()), self.hh())
    }
}

/// `YYYY-MM-DD`
pub fn dt(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `raw/source=<source>/dt=YYYY-MM-DD/`: one day of one source (one listing).
pub fn raw_day_prefix(source: Source, day: Date) -> String {
    format!("raw/source={}/dt={}/", source.as_str(), dt(day))
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{}", self.dt(), self.hh())
    }
}

impl FromStr for Hour {
    type Err = InvalidHour;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidHour(s.to_owned());
        let (day, hh) = s.split_once('T').ok_or_else(bad)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = Date::parse(day, format).map_err(|_| bad())?;
        if hh.len() != 2 || !hh.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let hour: u8 = hh.parse().map_err(|_| bad())?;
        let start = Time::from_hms(hour, 0, 0).map_err(|_| bad())?;
        Ok(Hour(PrimitiveDateTime::new(date, start).assume_utc()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_hour_reads_and_writes_as_the_cli_takes_it_and_names_the_raw_partition() {
        let h: Hour = "2026-11-22T05".parse().unwrap();
        assert_eq!(h.to_string(), "2026-11-22T05");
        assert_eq!(h, Hour::containing(datetime!(2026-11-22 05:59:59.999 UTC)));
        assert_eq!(
            h.raw_prefix(Source::Location),
            "raw/source=location/dt=2026-11-22/hour=05/"
        );
        assert_eq!(
            Hour::of_raw_key("raw/source=location/dt=2026-11-22/hour=05/a-b-c.ndjson.gz"),
            Some(h)
        );
        assert_eq!(h.next().to_string(), "2026-11-22T06");
        assert_eq!(
            h.previous()
                .previous()
                .previous()
                .previous()
                .previous()
                .previous()
                .to_string(),
            "2026-11-21T23"
        );
        for bad in [
            "2026-11-22",
            "2026-11-22T5",
            "2026-11-22T24",
            "2026-13-01T00",
            "x",
        ] {
            assert!(bad.parse::<Hour>().is_err(), "{bad}");
        }
    }
}
