//! The price table (us-east-1, 2026, `../shared/reference/aws.md`), in one place, and the cost
//! model built on it: what a million webhooks cost given the requests measured per webhook.

use std::collections::BTreeMap;

pub const SQS_PER_REQUEST: f64 = 0.40 / 1e6;
/// PUT, COPY, POST, LIST: $0.005 per 1,000.
pub const S3_PUT_PER_REQUEST: f64 = 5.00 / 1e6;
/// GET: $0.0004 per 1,000.
pub const S3_GET_PER_REQUEST: f64 = 0.40 / 1e6;
/// On-demand: one write request unit per item up to 1 KB, whether sent alone or in a batch.
pub const DYNAMODB_PER_WRITE_UNIT: f64 = 0.625 / 1e6;
/// On-demand: one read request unit per strongly consistent read of up to 4 KB.
pub const DYNAMODB_PER_READ_UNIT: f64 = 0.125 / 1e6;
/// Provisioned capacity, per unit-hour (aws.amazon.com/dynamodb/pricing/provisioned, us-east-1;
/// not in the shared reference table): one write capacity unit is one 1 KB write per second,
/// one read capacity unit one strongly consistent 4 KB read per second.
pub const DYNAMODB_PER_WCU_HOUR: f64 = 0.000_65;
pub const DYNAMODB_PER_RCU_HOUR: f64 = 0.000_13;
/// The use auto scaling keeps provisioned capacity at (the template's target tracking value):
/// each unit consumed pays for 1 / 0.7 units provisioned.
pub const PROVISIONED_UTILISATION: f64 = 0.70;
/// Provisioned: one PUT payload unit per record of up to 25 KB.
pub const KINESIS_PER_PUT_UNIT: f64 = 0.014 / 1e6;
pub const API_GATEWAY_HTTP_PER_REQUEST: f64 = 1.00 / 1e6;
pub const LAMBDA_PER_REQUEST: f64 = 0.20 / 1e6;
pub const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;

/// Assumed until the cold-start and end-to-end benchmarks measure them.
pub const INGEST_MEMORY_GB: f64 = 0.128;
pub const INGEST_SECONDS: f64 = 0.010;
pub const PROCESSOR_MEMORY_GB: f64 = 0.256;
pub const PROCESSOR_SECONDS_PER_MESSAGE: f64 = 0.002;
/// The compactor (issue 14), modelled: the template's `CompactorMemorySize` (1024 MB); per
/// webhook 0.2 ms: parsing and normalising it (6-20 µs a core, section 2) with gunzip, Arrow and
/// Parquet encoding (~30 µs a core, ~50 µs on 1024 MB's 0.58 vCPU), rounded up 4x for waiting
/// on the GETs of raw objects; per run 2 s: ~70 sequential S3 requests (listings, manifests).
pub const COMPACTOR_MEMORY_GB: f64 = 1.0;
pub const COMPACTOR_SECONDS_PER_WEBHOOK: f64 = 0.000_2;
pub const COMPACTOR_SECONDS_PER_RUN: f64 = 2.0;

/// How the table is billed (the stack's `TableCapacity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// Each request unit billed as used.
    OnDemand,
    /// Capacity per hour, kept at [`PROVISIONED_UTILISATION`] by auto scaling: a steady load's
    /// price. A load that swings faster than auto scaling follows (minutes) uses less of what it
    /// pays for.
    Provisioned,
}

impl Capacity {
    pub fn name(self) -> &'static str {
        match self {
            Capacity::OnDemand => "on-demand table",
            Capacity::Provisioned => "provisioned table",
        }
    }

    /// Dollars per write unit consumed and per strongly consistent read unit consumed.
    pub fn per_unit(self) -> (f64, f64) {
        match self {
            Capacity::OnDemand => (DYNAMODB_PER_WRITE_UNIT, DYNAMODB_PER_READ_UNIT),
            Capacity::Provisioned => (
                DYNAMODB_PER_WCU_HOUR / 3600.0 / PROVISIONED_UTILISATION,
                DYNAMODB_PER_RCU_HOUR / 3600.0 / PROVISIONED_UTILISATION,
            ),
        }
    }
}

/// What is billed per item rather than per request, per webhook.
#[derive(Debug, Clone, Copy, Default)]
pub struct Units {
    pub dynamodb_writes: f64,
    pub dynamodb_reads: f64,
    pub kinesis_records: f64,
}

pub struct Line {
    pub what: &'static str,
    pub per_million: f64,
}

/// Dollars per million webhooks, by line: `requests` are the measured requests per webhook by
/// `service:Operation`, `units` what DynamoDB and Kinesis bill by item, `batch` the processor
/// batch size (processor invocations per webhook = 1 / batch), `capacity` how the table bills.
pub fn cost_per_million(
    requests: &BTreeMap<String, f64>,
    units: Units,
    batch: usize,
    capacity: Capacity,
) -> Vec<Line> {
    let m = 1e6;
    let (per_write, per_read) = capacity.per_unit();
    let sum = |pred: &dyn Fn(&str) -> bool| -> f64 {
        requests
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(_, v)| v)
            .sum::<f64>()
            // An empty sum of floats is -0.0; the table shows 0.000.
            + 0.0
    };
    // The scheduled compaction reads again every object the processor archived.
    let (compaction_get, compaction_compute) =
        crate::compaction::per_webhook(sum(&|k| k == "s3:PutObject"));
    vec![
        Line {
            what: "API Gateway HTTP API",
            per_million: m * API_GATEWAY_HTTP_PER_REQUEST,
        },
        Line {
            what: "Lambda requests",
            per_million: m * LAMBDA_PER_REQUEST * (1.0 + 1.0 / batch as f64),
        },
        Line {
            what: "Lambda compute (arm64, assumed durations)",
            per_million: m
                * LAMBDA_ARM64_PER_GB_SECOND
                * (INGEST_MEMORY_GB * INGEST_SECONDS
                    + PROCESSOR_MEMORY_GB * PROCESSOR_SECONDS_PER_MESSAGE),
        },
        Line {
            what: "SQS requests",
            per_million: m * SQS_PER_REQUEST * sum(&|k| k.starts_with("sqs:")),
        },
        Line {
            what: "S3 PUT",
            per_million: m * S3_PUT_PER_REQUEST * sum(&|k| k == "s3:PutObject"),
        },
        Line {
            what: "S3 GET",
            per_million: m * S3_GET_PER_REQUEST * sum(&|k| k == "s3:GetObject"),
        },
        Line {
            what: "DynamoDB write units",
            per_million: m * per_write * units.dynamodb_writes,
        },
        Line {
            what: "DynamoDB read units",
            per_million: m * per_read * units.dynamodb_reads,
        },
        Line {
            what: "Kinesis PUT payload units",
            per_million: m * KINESIS_PER_PUT_UNIT * units.kinesis_records,
        },
        Line {
            what: "Compaction S3 GET (raw objects read again)",
            per_million: m * compaction_get,
        },
        Line {
            what: "Compaction Lambda compute (modelled)",
            per_million: m * compaction_compute,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provisioned_write_at_seventy_percent_use_costs_what_the_hourly_price_says() {
        // $0.00065 per WCU-hour buys 3,600 writes; at 70 % use, 2,520 of them.
        let (write, read) = Capacity::Provisioned.per_unit();
        assert!((write * 1e6 - 0.000_65 / 2520.0 * 1e6).abs() < 1e-12);
        assert!((read * 1e6 - 0.000_13 / 2520.0 * 1e6).abs() < 1e-12);
        assert_eq!(Capacity::OnDemand.per_unit(), (0.625 / 1e6, 0.125 / 1e6));
    }

    #[test]
    fn only_the_table_lines_change_with_the_capacity_mode() {
        let requests = BTreeMap::from([("sqs:SendMessage".to_owned(), 1.0)]);
        let units = Units {
            dynamodb_writes: 2.0,
            dynamodb_reads: 1.0,
            kinesis_records: 0.5,
        };
        let on_demand = cost_per_million(&requests, units, 10, Capacity::OnDemand);
        let provisioned = cost_per_million(&requests, units, 10, Capacity::Provisioned);
        for (a, b) in on_demand.iter().zip(&provisioned) {
            if a.what.starts_with("DynamoDB") {
                assert!(b.per_million < a.per_million, "{}", a.what);
            } else {
                assert_eq!(a.per_million, b.per_million, "{}", a.what);
            }
        }
        let writes = |lines: &[Line]| {
            lines
                .iter()
                .find(|l| l.what == "DynamoDB write units")
                .map(|l| l.per_million)
        };
        assert_eq!(writes(&on_demand), Some(1.25));
    }
}
