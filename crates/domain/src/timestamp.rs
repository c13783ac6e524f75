//! Points in time: parsed from RFC 3339, held in UTC within years 0001..=9999, written in one
//! canonical form that sorts in time order.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A point in time, from an RFC 3339 string, held in UTC.
///
/// Its canonical text form has exactly millisecond precision and a `Z` suffix
/// (`2024-05-01T12:00:00.000Z`), so keys built from it sort in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const CANONICAL: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Why a time that parsed is still refused (no value is echoed: it names the range only).
pub(crate) const TIME_OUT_OF_RANGE: &str =
    "time out of range: in UTC it must fall within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z";

impl Timestamp {
    /// Parses an RFC 3339 time whose UTC value falls within years 0001..=9999 (the range the
    /// canonical form, and so every key, can express). The error never repeats the input.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        let t = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|e| format!("expected an RFC 3339 timestamp ({e})"))?;
        Self::checked(t).ok_or_else(|| TIME_OUT_OF_RANGE.to_owned())
    }

    /// `t` in UTC, if that falls within years 0001..=9999.
    pub fn checked(t: OffsetDateTime) -> Option<Self> {
        t.checked_to_offset(UtcOffset::UTC)
            .filter(|u| (1..=9999).contains(&u.year()))
            .map(Timestamp)
    }

    /// `t` in UTC. For times of this process (arrival times); a time whose UTC value cannot be
    /// represented saturates instead of panicking. Parsers use [`Timestamp::checked`].
    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        match t.checked_to_offset(UtcOffset::UTC) {
            Some(u) => Timestamp(u),
            None if t.year() > 0 => Timestamp(time::PrimitiveDateTime::MAX.assume_utc()),
            None => Timestamp(time::PrimitiveDateTime::MIN.assume_utc()),
        }
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// `2024-05-01T12:00:00.000Z`
    pub fn canonical(&self) -> String {
        // Written out by hand: it is on every row key, and a format description costs several
        // times more. Years outside 0..=9999 (which RFC 3339 cannot express) go the long way.
        let t = self.0;
        if !(0..=9999).contains(&t.year()) {
            return t
                .format(CANONICAL)
                .unwrap_or_else(|_| t.unix_timestamp().to_string());
        }
        let mut out = String::with_capacity(24);
        let two = |out: &mut String, n: u8| {
            out.push(char::from(b'0' + n / 10));
            out.push(char::from(b'0' + n % 10));
        };
        let year = t.year() as u16;
        two(&mut out, (year / 100) as u8);
        two(&mut out, (year % 100) as u8);
        out.push('-');
        two(&mut out, u8::from(t.month()));
        out.push('-');
        two(&mut out, t.day());
        out.push('T');
        two(&mut out, t.hour());
        out.push(':');
        two(&mut out, t.minute());
        out.push(':');
        two(&mut out, t.second());
        out.push('.');
        let ms = t.millisecond();
        out.push(char::from(b'0' + (ms / 100) as u8));
        two(&mut out, (ms % 100) as u8);
        out.push('Z');
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(de::Error::custom)
    }
}

/// A time sent as epoch milliseconds (a JSON integer, as Foursquare sends `timestamp`) or as an
/// RFC 3339 string; held like any [`Timestamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochMillisOrRfc3339(pub Timestamp);

impl Timestamp {
    /// `ms` milliseconds after 1970-01-01T00:00:00Z, within years 0001..=9999.
    pub(crate) fn from_epoch_millis(ms: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()
            .and_then(Self::checked)
    }
}

impl<'de> Deserialize<'de> for EpochMillisOrRfc3339 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = EpochMillisOrRfc3339;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("epoch milliseconds or an RFC 3339 timestamp")
            }
            fn visit_i64<E: de::Error>(self, ms: i64) -> Result<Self::Value, E> {
                Timestamp::from_epoch_millis(ms)
                    .map(EpochMillisOrRfc3339)
                    .ok_or_else(|| E::custom(TIME_OUT_OF_RANGE))
            }
            fn visit_u64<E: de::Error>(self, ms: u64) -> Result<Self::Value, E> {
                let ms = i64::try_from(ms).map_err(|_| E::custom(TIME_OUT_OF_RANGE))?;
                self.visit_i64(ms)
            }
            fn visit_f64<E: de::Error>(self, ms: f64) -> Result<Self::Value, E> {
                // A whole number written with a fraction or exponent (1.7e12) is still one.
                if ms.fract() != 0.0 || !(-1e17..=1e17).contains(&ms) {
                    return Err(E::custom("expected whole epoch milliseconds"));
                }
                self.visit_i64(ms as i64)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Timestamp::parse_rfc3339(s)
                    .map(EpochMillisOrRfc3339)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_matches_its_format_description_everywhere() {
        let mut t = OffsetDateTime::from_unix_timestamp(-62_000_000_000).unwrap();
        // From year 0005 to about 2286, in irregular steps that hit every field's range.
        while t.year() < 2286 {
            let ts = Timestamp::from_offset_date_time(t);
            assert_eq!(ts.canonical(), t.format(CANONICAL).unwrap());
            t += time::Duration::milliseconds(7_777_777_777);
        }
        let ts = Timestamp::parse_rfc3339("2024-05-01T12:10:00.0459+02:00").unwrap();
        assert_eq!(ts.canonical(), "2024-05-01T10:10:00.045Z");
    }
    #[test]
    fn epoch_milliseconds_and_rfc_3339_read_as_the_same_time() {
        let read = |v: serde_json::Value| serde_json::from_value::<EpochMillisOrRfc3339>(v);
        let t = read(serde_json::json!(1_714_564_800_250_i64)).unwrap().0;
        assert_eq!(t.canonical(), "2024-05-01T12:00:00.250Z");
        assert_eq!(
            read(serde_json::json!("2024-05-01T12:00:00.250Z"))
                .unwrap()
                .0,
            t
        );
        assert_eq!(read(serde_json::json!(1.71456480025e12)).unwrap().0, t);
        for bad in [
            serde_json::json!(1.5),
            serde_json::json!(i64::MAX),
            serde_json::json!(u64::MAX),
            serde_json::json!(-62_200_000_000_000_i64),
            serde_json::json!("yesterday"),
            serde_json::json!(true),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_canonical_utc_with_millis() {
        let t = Timestamp::parse_rfc3339("2024-05-01T14:00:00.5+02:00").unwrap();
        assert_eq!(t.canonical(), "2024-05-01T12:00:00.500Z");
        let t = Timestamp::parse_rfc3339("2019-10-22T17:03:38.612Z").unwrap();
        assert_eq!(t.canonical(), "2019-10-22T17:03:38.612Z");
        assert!(Timestamp::parse_rfc3339("2024-05-01 12:00:00").is_err());
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }
}
