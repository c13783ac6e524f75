//! The scheduled compaction (raw/ to curated/ Parquet, issue 14) in the cost model: what it adds
//! per webhook (each raw object read once more; its rows parsed, encoded and written) and what it
//! bills per month whatever the traffic (each hourly run's listings, manifest reads and writes,
//! its invocation). Modelled, not measured: `make bench` does not run the compactor; the
//! assumptions are the constants in `prices.rs` and BENCHMARKS.md's method.

use hookloop_domain::Source;

use crate::prices::{
    COMPACTOR_MEMORY_GB, COMPACTOR_SECONDS_PER_RUN, COMPACTOR_SECONDS_PER_WEBHOOK,
    LAMBDA_ARM64_PER_GB_SECOND, LAMBDA_PER_REQUEST, S3_GET_PER_REQUEST, S3_PUT_PER_REQUEST,
};

/// The schedule: one run an hour, 720 in a 30-day month.
pub const RUNS_PER_MONTH: f64 = 720.0;
/// The template's `CompactLookbackHours` default (the code's `Settings::default()`).
pub const LOOKBACK_HOURS: f64 = 360.0;
/// The curated tables (`hookloop_curated::Table::ALL`): at most one file each per hour.
pub const CURATED_TABLES: f64 = 5.0;

/// The calendar days a run's window (the lookback and the current hour) touches: 16 for 360 h.
pub fn window_days(lookback_hours: f64) -> f64 {
    (lookback_hours / 24.0).ceil() + 1.0
}

/// S3 requests one run makes when every hour has traffic: (LIST, GET, PUT).
/// LIST: the manifests once, then each source's day of the window (one page per 1,000 objects);
/// GET: the manifest of each day; PUT: the hour's files (one per table with rows) and its day's
/// manifest. The raw objects read are per webhook ([`Compaction::per_webhook`]).
pub fn requests_per_run(lookback_hours: f64) -> (f64, f64, f64) {
    let days = window_days(lookback_hours);
    (
        1.0 + Source::ALL.len() as f64 * days,
        days,
        CURATED_TABLES + 1.0,
    )
}

/// Dollars a month the schedule costs with traffic every hour, whatever its volume.
pub fn fixed_per_month(lookback_hours: f64) -> f64 {
    let (list, get, put) = requests_per_run(lookback_hours);
    RUNS_PER_MONTH
        * (list * S3_PUT_PER_REQUEST
            + get * S3_GET_PER_REQUEST
            + put * S3_PUT_PER_REQUEST
            + LAMBDA_PER_REQUEST
            + COMPACTOR_MEMORY_GB * COMPACTOR_SECONDS_PER_RUN * LAMBDA_ARM64_PER_GB_SECOND)
}

/// Dollars per webhook: (reading its share of raw objects again, compute).
/// `raw_objects_per_webhook` is what the processor PUT under raw/ per webhook (measured).
pub fn per_webhook(raw_objects_per_webhook: f64) -> (f64, f64) {
    (
        raw_objects_per_webhook * S3_GET_PER_REQUEST,
        COMPACTOR_MEMORY_GB * COMPACTOR_SECONDS_PER_WEBHOOK * LAMBDA_ARM64_PER_GB_SECOND,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lists_three_sources_a_day_over_sixteen_days_and_the_month_costs_cents() {
        assert_eq!(window_days(LOOKBACK_HOURS), 16.0);
        assert_eq!(window_days(48.0), 3.0);
        assert_eq!(requests_per_run(LOOKBACK_HOURS), (49.0, 16.0, 6.0));
        // 720 runs: 35,280 LIST + 4,320 PUT at $5 per million, 11,520 GET at $0.40 per million,
        // 720 invocations, 720 x 2 s at 1 GB.
        let expected = 720.0 * (55.0 * 5e-6 + 16.0 * 0.4e-6 + 0.2e-6 + 2.0 * 0.000_013_333_4);
        assert!((fixed_per_month(LOOKBACK_HOURS) - expected).abs() < 1e-12);
        assert!((0.2..0.25).contains(&fixed_per_month(LOOKBACK_HOURS)));
        // A shorter lookback lowers it with the days listed: 48 h lists 3 days, not 16.
        assert_eq!(requests_per_run(48.0), (10.0, 3.0, 6.0));
        assert!(fixed_per_month(48.0) < fixed_per_month(LOOKBACK_HOURS) / 2.5);
    }

    #[test]
    fn per_webhook_the_compaction_reads_each_raw_object_once_more() {
        // B = 100: 3 raw objects per 100 webhooks (one per source and batch).
        let (get, compute) = per_webhook(0.03);
        assert!((get * 1e6 - 0.012).abs() < 1e-9);
        assert!((compute * 1e6 - 0.002_666_68).abs() < 1e-9);
    }
}
