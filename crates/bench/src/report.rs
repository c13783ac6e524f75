//! What the runs show: the requests table against the floor, the modelled cost, the JSON of the
//! runs and the series of the chart.

use std::collections::BTreeMap;

use crate::compaction;
use crate::plot;
use crate::prices::{self, Capacity};
use crate::runs::{Mode, Run, BATCH_SIZES, WEBHOOKS};

/// Per 1,000 webhooks.
fn per_1000(n: u64) -> f64 {
    n as f64 * 1000.0 / WEBHOOKS as f64
}

pub fn report(runs: &[Run]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "### Requests per 1,000 webhooks ({WEBHOOKS} webhooks per run, mixed corpus)\n\n"
    ));
    let mut services: Vec<String> = runs
        .iter()
        .flat_map(|r| r.requests.0.keys().cloned())
        .chain(runs.iter().flat_map(|r| r.floor.requests.keys().cloned()))
        .collect();
    services.sort();
    services.dedup();
    s.push_str("| request | ");
    for r in runs.iter().filter(|r| r.mode == Mode::Batched) {
        s.push_str(&format!("B={} floor | B={} batched | ", r.batch, r.batch));
    }
    for r in runs.iter().filter(|r| r.mode == Mode::Naive) {
        s.push_str(&format!("B={} one per item | ", r.batch));
    }
    s.push('\n');
    s.push_str(&"|---".repeat(1 + 3 * BATCH_SIZES.len()));
    s.push_str("|\n");
    // One row per request kind, then the total (`None`).
    let rows: Vec<Option<&String>> = services.iter().map(Some).chain([None]).collect();
    let measured = |r: &Run, key: Option<&String>| match key {
        Some(k) => r.requests.get(k),
        None => r.requests.total(),
    };
    let floor = |r: &Run, key: Option<&String>| match key {
        Some(k) => r.floor.requests.get(k).copied().unwrap_or(0),
        None => r.floor.requests.values().sum(),
    };
    for key in rows {
        let name = key.cloned().unwrap_or_else(|| "**total**".into());
        s.push_str(&format!("| {name} | "));
        for r in runs.iter().filter(|r| r.mode == Mode::Batched) {
            s.push_str(&format!(
                "{:.0} | {:.0} | ",
                per_1000(floor(r, key)),
                per_1000(measured(r, key))
            ));
        }
        for r in runs.iter().filter(|r| r.mode == Mode::Naive) {
            s.push_str(&format!("{:.0} | ", per_1000(measured(r, key))));
        }
        s.push('\n');
    }
    s.push_str("\nBatched against the floor (total requests):\n\n");
    for r in runs.iter().filter(|r| r.mode == Mode::Batched) {
        let floor: u64 = r.floor.requests.values().sum();
        s.push_str(&format!(
            "- B={}: {} requests, floor {}, {:+.1} %\n",
            r.batch,
            r.requests.total(),
            floor,
            (r.requests.total() as f64 / floor as f64 - 1.0) * 100.0
        ));
    }

    s.push_str("\n### Modelled cost per million webhooks (USD)\n\n| line | ");
    // Every run with an on-demand table (the default), and the batched runs again with a
    // provisioned one (the stack's `TableCapacity=provisioned`, steady load).
    let columns: Vec<(&Run, Capacity)> = runs
        .iter()
        .map(|r| (r, Capacity::OnDemand))
        .chain(
            runs.iter()
                .filter(|r| r.mode == Mode::Batched)
                .map(|r| (r, Capacity::Provisioned)),
        )
        .collect();
    for (r, capacity) in &columns {
        s.push_str(&format!(
            "B={} {}, {} | ",
            r.batch,
            r.mode.name(),
            capacity.name()
        ));
    }
    s.push('\n');
    s.push_str(&"|---".repeat(1 + columns.len()));
    s.push_str("|\n");
    let costs: Vec<Vec<prices::Line>> = columns.iter().map(|(r, c)| cost(r, *c)).collect();
    for (i, line) in costs[0].iter().enumerate() {
        s.push_str(&format!("| {} | ", line.what));
        for c in &costs {
            s.push_str(&format!("{:.3} | ", c[i].per_million));
        }
        s.push('\n');
    }
    s.push_str("| **total** | ");
    for c in &costs {
        s.push_str(&format!("**{:.2}** | ", total(c)));
    }
    s.push('\n');
    let (list, get, put) = compaction::requests_per_run(compaction::LOOKBACK_HOURS);
    s.push_str(&format!(
        "\nPlus the hourly compaction's part that does not grow with traffic (modelled, lookback \
         {} h: {list:.0} LIST, {get:.0} GET and {put:.0} PUT a run, 720 runs): ${:.2} a month.\n",
        compaction::LOOKBACK_HOURS,
        compaction::fixed_per_month(compaction::LOOKBACK_HOURS)
    ));
    s
}

fn total(lines: &[prices::Line]) -> f64 {
    lines.iter().map(|l| l.per_million).sum()
}

fn cost(r: &Run, capacity: Capacity) -> Vec<prices::Line> {
    let per_webhook: BTreeMap<String, f64> = r
        .requests
        .0
        .iter()
        .map(|(k, n)| (k.clone(), *n as f64 / WEBHOOKS as f64))
        .collect();
    let u = &r.floor.units;
    let units = prices::Units {
        dynamodb_writes: u.dynamodb_writes as f64 / WEBHOOKS as f64,
        dynamodb_reads: u.dynamodb_reads as f64 / WEBHOOKS as f64,
        kinesis_records: u.kinesis_records as f64 / WEBHOOKS as f64,
    };
    prices::cost_per_million(&per_webhook, units, r.batch, capacity)
}

pub fn json(runs: &[Run]) -> String {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "mode": r.mode.name(),
                "batch_size": r.batch,
                "webhooks": WEBHOOKS,
                "requests": r.requests.0,
                "floor": r.floor.requests,
                "cost_per_million_usd": total(&cost(r, Capacity::OnDemand)),
                "cost_per_million_usd_provisioned_table": total(&cost(r, Capacity::Provisioned)),
                "seconds": r.seconds,
            })
        })
        .collect();
    serde_json::to_string_pretty(&runs).unwrap_or_default()
}

pub fn runs_for_plot(runs: &[Run]) -> Vec<plot::Series> {
    let series = |name: &str, pick: &dyn Fn(&Run) -> Option<f64>| plot::Series {
        name: name.to_owned(),
        points: runs
            .iter()
            .filter_map(|r| pick(r).map(|y| (r.batch as f64, y)))
            .collect(),
    };
    vec![
        series("one item per request", &|r| {
            (r.mode == Mode::Naive).then(|| per_1000(r.requests.total()))
        }),
        series("batched (measured)", &|r| {
            (r.mode == Mode::Batched).then(|| per_1000(r.requests.total()))
        }),
        series("floor", &|r| {
            (r.mode == Mode::Batched).then(|| per_1000(r.floor.requests.values().sum()))
        }),
    ]
}
