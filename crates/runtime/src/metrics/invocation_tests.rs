use serde_json::{json, Value};

use super::*;
use crate::metrics::names::*;

fn publisher(pairs: &[(&str, &str)], function: &'static str) -> Publisher {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let env = Env::new(move |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
    Publisher::read(&env, function)
}

fn declared(doc: &Value) -> Vec<(&str, &str)> {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .expect("a Metrics array")
        .iter()
        .map(|m| (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap()))
        .collect()
}

fn dimensions(doc: &Value) -> &Value {
    &doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
}

/// The document that carries `metric`, by `dim` = `value` (or by no dimension).
fn line_of<'a>(lines: &'a [Value], metric: &str, by: Option<(&str, &str)>) -> &'a Value {
    lines
        .iter()
        .find(|d| {
            declared(d).iter().any(|(n, _)| *n == metric)
                && by.is_none_or(|(k, v)| d[k] == v)
                && (by.is_some() || dimensions(d).as_array().unwrap().len() == 1)
        })
        .unwrap_or_else(|| panic!("no line with {metric} by {by:?} in {lines:#?}"))
}

#[test]
fn the_stack_is_stack_name_and_local_when_unset() {
    assert_eq!(publisher(&[], INGEST).stack(), LOCAL_STACK);
    assert_eq!(publisher(&[("STACK_NAME", "")], INGEST).stack(), "local");
    let p = publisher(&[("STACK_NAME", "hookloop-prod")], PROCESSOR);
    assert_eq!(p.stack(), "hookloop-prod");
    let mut inv = p.start();
    inv.count(DUPLICATES);
    let lines = p.lines(&inv, 1);
    assert_eq!(lines[0]["Stack"], "hookloop-prod");
    assert_eq!(lines[0]["Function"], "processor");
}

#[test]
fn metrics_print_in_lambda_or_when_asked_and_not_otherwise() {
    assert!(!publisher(&[], INGEST).enabled());
    assert!(!publisher(&[("EMF_METRICS", "1")], INGEST).enabled());
    assert!(publisher(&[("EMF_METRICS", "true")], INGEST).enabled());
    assert!(publisher(&[("AWS_LAMBDA_FUNCTION_NAME", "ingest")], INGEST).enabled());
}

#[test]
fn a_metric_by_a_dimension_is_declared_with_and_without_it_and_carries_its_value() {
    let p = publisher(&[("STACK_NAME", "s1")], INGEST);
    let mut inv = p.start();
    inv.count_by(ACCEPTED, SOURCE, "location");
    let lines = p.lines(&inv, 1_700_000_000_000);
    let accepted = line_of(&lines, ACCEPTED, Some((SOURCE, "location")));
    assert_eq!(
        *dimensions(accepted),
        json!([["Stack", "Function"], ["Stack", "Function", "Source"]])
    );
    assert_eq!(accepted["Accepted"], 1);
    assert_eq!(accepted["Source"], "location");
    assert_eq!(accepted["Stack"], "s1");
    assert_eq!(accepted["Function"], "ingest");
    assert_eq!(accepted["_aws"]["Timestamp"], 1_700_000_000_000_i64);
    assert_eq!(
        accepted["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "hookloop"
    );
}

#[test]
fn counts_add_up_per_dimension_value_on_a_line_each() {
    let p = publisher(&[], PROCESSOR);
    let mut inv = p.start();
    inv.count_by(STORED, SOURCE, "location");
    inv.count_by(STORED, SOURCE, "clevertap.webhook");
    inv.count_by(STORED, SOURCE, "location");
    inv.count_by(DEAD_LETTERED, STAGE, "parse");
    inv.add(BATCH_SIZE, 4);
    inv.add(DUPLICATES, 0);
    let lines = p.lines(&inv, 1);
    assert_eq!(
        line_of(&lines, STORED, Some((SOURCE, "location")))["Stored"],
        2
    );
    assert_eq!(
        line_of(&lines, STORED, Some((SOURCE, "clevertap.webhook")))["Stored"],
        1
    );
    let dead = line_of(&lines, DEAD_LETTERED, Some((STAGE, "parse")));
    assert_eq!(dead["DeadLettered"], 1);
    assert!(dead.get("Source").is_none(), "one dimension value per line");
    let plain = line_of(&lines, BATCH_SIZE, None);
    assert_eq!(plain["BatchSize"], 4);
    assert_eq!(*dimensions(plain), json!([["Stack", "Function"]]));
    assert!(
        lines.iter().all(|d| d.get("Duplicates").is_none()),
        "a zero is not published"
    );
    assert_eq!(inv.total(STORED), 3);
}

#[test]
fn every_declared_metric_has_its_value_on_the_line_and_nothing_else_is_declared() {
    let p = publisher(&[], PROCESSOR);
    let mut inv = p.start();
    inv.count_by(LOAD_BACK_REFUSED, CODE, "509");
    inv.add(LOADED_BACK, 7);
    inv.value(END_TO_END_LAG_MS, Unit::Milliseconds, 12);
    for doc in p.lines(&inv, 1) {
        for (name, _) in declared(&doc) {
            assert!(
                doc[name].is_u64() || doc[name].is_array(),
                "{name} in {doc}"
            );
        }
    }
}

#[test]
fn per_message_values_are_one_array_in_milliseconds_and_split_past_100() {
    let p = publisher(&[], PROCESSOR);
    let mut inv = p.start();
    inv.value(END_TO_END_LAG_MS, Unit::Milliseconds, 120);
    inv.value(END_TO_END_LAG_MS, Unit::Milliseconds, 80);
    let lines = p.lines(&inv, 1);
    let lag = line_of(&lines, END_TO_END_LAG_MS, None);
    assert_eq!(lag["EndToEndLagMs"], json!([120, 80]));
    assert!(declared(lag).contains(&("EndToEndLagMs", "Milliseconds")));

    let mut inv = p.start();
    for v in 0..250 {
        inv.value(END_TO_END_LAG_MS, Unit::Milliseconds, v);
    }
    inv.add(BATCH_SIZE, 250);
    let lines = p.lines(&inv, 1);
    let arrays: Vec<usize> = lines
        .iter()
        .map(|d| d["EndToEndLagMs"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(arrays, [100, 100, 50]);
    let batch: Vec<&Value> = lines.iter().map(|d| &d["BatchSize"]).collect();
    assert_eq!(
        batch,
        [&json!(250), &Value::Null, &Value::Null],
        "counted once"
    );
}

#[test]
fn cold_start_is_one_on_the_first_invocation_of_a_publisher_only() {
    let p = publisher(&[], INGEST);
    let first = p.start();
    assert!(first.cold_start());
    let lines = p.lines(&first, 1);
    assert_eq!(lines.len(), 1, "a cold start alone is a line");
    assert_eq!(lines[0]["ColdStart"], 1);
    assert!(declared(&lines[0]).contains(&("ColdStart", "Count")));

    let mut second = p.start();
    assert!(!second.cold_start());
    second.count_by(REJECTED, STATUS, "401");
    let lines = p.lines(&second, 1);
    assert!(lines.iter().all(|d| d.get("ColdStart").is_none()));
    assert!(
        publisher(&[], INGEST).start().cold_start(),
        "each publisher (function) has its own first invocation"
    );
}

#[test]
fn an_unpublished_invocation_is_no_cold_start_and_prints_nothing_by_itself() {
    let p = publisher(&[], INGEST);
    let inv = Invocation::unpublished();
    assert!(!inv.cold_start());
    assert!(p.lines(&inv, 1).is_empty());
    assert!(p.start().cold_start(), "the process's first is untouched");
}
