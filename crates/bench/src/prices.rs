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
/// batch size (processor invocations per webhook = 1 / batch).
pub fn cost_per_million(requests: &BTreeMap<String, f64>, units: Units, batch: usize) -> Vec<Line> {
    let m = 1e6;
    let sum = |pred: &dyn Fn(&str) -> bool| -> f64 {
        requests
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(_, v)| v)
            .sum::<f64>()
            // An empty sum of floats is -0.0; the table shows 0.000.
            + 0.0
    };
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
            per_million: m * DYNAMODB_PER_WRITE_UNIT * units.dynamodb_writes,
        },
        Line {
            what: "DynamoDB read units",
            per_million: m * DYNAMODB_PER_READ_UNIT * units.dynamodb_reads,
        },
        Line {
            what: "Kinesis PUT payload units",
            per_million: m * KINESIS_PER_PUT_UNIT * units.kinesis_records,
        },
    ]
}
