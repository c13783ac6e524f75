//! An export's `Frequency`, as CleverTap writes it ("One Time", "Every 4 Hours") and as people
//! type it ("4 hours", "Hourly", "daily"): one time, or an interval.

use time::Duration;

/// How often an export runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    OneTime,
    Every(Duration),
}

/// The longest interval read (a year): anything longer is not a schedule anyone watches.
pub const MAX_INTERVAL: Duration = Duration::days(366);

impl Frequency {
    /// Reads a `Frequency`, in any case and spacing: `One Time` (`once`, `one-time`);
    /// `Hourly`, `Daily`, `Weekly`, `Twice Daily`; `Every 4 Hours`, `4 hours`, `every hour`,
    /// `every 30 minutes`, `2 days`, `1 week` (units `minute`, `hour`, `day`, `week`, singular,
    /// plural or short: `min`, `hr`, `h`, `d`, `wk`). `None`: not a frequency it knows (the
    /// caller treats the export as one time, and says so).
    pub fn parse(text: &str) -> Option<Frequency> {
        let lower = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| c.is_whitespace() || c == '_')
            .filter(|w| !w.is_empty())
            .collect();
        let hours = |n: i64| Some(Frequency::Every(Duration::hours(n)));
        match words.as_slice() {
            ["one", "time"] | ["one-time"] | ["onetime"] | ["once"] => Some(Frequency::OneTime),
            ["hourly"] => hours(1),
            ["daily"] => hours(24),
            ["weekly"] => hours(24 * 7),
            ["twice", "daily"] | ["twice", "a", "day"] => hours(12),
            ["every", rest @ ..] => every(rest),
            rest => every(rest),
        }
    }

    /// The interval of a recurring export.
    pub fn interval(self) -> Option<Duration> {
        match self {
            Frequency::OneTime => None,
            Frequency::Every(d) => Some(d),
        }
    }
}

/// `4 hours`, `hour`, `30 min`, `4h`.
fn every(words: &[&str]) -> Option<Frequency> {
    let (count, unit) = match words {
        [one] => {
            let digits = one.bytes().take_while(u8::is_ascii_digit).count();
            let (n, unit) = one.split_at(digits);
            match (digits, unit.is_empty()) {
                (0, _) => (1, unit),
                (_, false) => (n.parse::<i64>().ok()?, unit),
                (_, true) => return None,
            }
        }
        [n, unit] => (n.parse::<i64>().ok()?, *unit),
        _ => return None,
    };
    let unit = match unit {
        "minute" | "minutes" | "min" | "mins" | "m" => Duration::MINUTE,
        "hour" | "hours" | "hr" | "hrs" | "h" => Duration::HOUR,
        "day" | "days" | "d" => Duration::DAY,
        "week" | "weeks" | "wk" | "wks" | "w" => Duration::WEEK,
        _ => return None,
    };
    let interval = unit.checked_mul(i32::try_from(count).ok()?)?;
    (count >= 1 && interval <= MAX_INTERVAL).then_some(Frequency::Every(interval))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hours(n: i64) -> Option<Frequency> {
        Some(Frequency::Every(Duration::hours(n)))
    }

    #[test]
    fn clevertaps_frequencies_and_what_people_type() {
        for (text, want) in [
            ("One Time", Some(Frequency::OneTime)),
            ("one-time", Some(Frequency::OneTime)),
            ("ONCE", Some(Frequency::OneTime)),
            ("Every 4 Hours", hours(4)),
            ("every 8 hours", hours(8)),
            ("EVERY 12 HOURS", hours(12)),
            ("Every 24 Hours", hours(24)),
            ("4 hours", hours(4)),
            ("  4   Hours ", hours(4)),
            ("4h", hours(4)),
            ("Hourly", hours(1)),
            ("every hour", hours(1)),
            ("Daily", hours(24)),
            ("2 days", hours(48)),
            ("Weekly", hours(168)),
            ("Twice Daily", hours(12)),
            (
                "every 30 minutes",
                Some(Frequency::Every(Duration::minutes(30))),
            ),
        ] {
            assert_eq!(Frequency::parse(text), want, "{text}");
        }
    }

    #[test]
    fn what_it_does_not_know_is_none() {
        for text in [
            "",
            "Monthly",
            "every",
            "0 hours",
            "-4 hours",
            "every 4",
            "4 fortnights",
            "every 99999999999 hours",
            "every 99999999999999999999h",
            "every 400 days",
            "every 4 hours please",
        ] {
            assert_eq!(Frequency::parse(text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_or_not_without_panicking_and_intervals_are_bounded(text in ".{0,40}") {
            if let Some(Frequency::Every(d)) = Frequency::parse(&text) {
                prop_assert!(d >= Duration::MINUTE && d <= MAX_INTERVAL);
            }
        }

        #[test]
        fn every_n_hours_is_n_hours_in_any_case(n in 1i64..=8784, upper in any::<bool>()) {
            let text = format!("Every {n} Hours");
            let text = if upper { text.to_uppercase() } else { text.to_lowercase() };
            prop_assert_eq!(Frequency::parse(&text), hours(n));
        }
    }
}
