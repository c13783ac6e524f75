//! Alarms that explain themselves: every alarm notifies the stack's topic when it fires and when
//! it clears and names the `hookloop` command that investigates it (as docs/operations.md does);
//! the functions' own metrics are used exactly as the metric contract
//! (crates/runtime/src/metrics/names.rs) publishes them.

use std::collections::BTreeSet;

use hookloop_processor::Stage;
use hookloop_runtime::metrics::names;
use hookloop_tests::repo_root;
use serde_json::{json, Value};

use crate::template::*;

const ALARM: &str = "AWS::CloudWatch::Alarm";

/// Every stage a message can be dead-lettered at. The match has no wildcard: a new stage does
/// not compile here until it is given its alarm.
fn stages() -> Vec<&'static str> {
    let all = [
        Stage::Parse,
        Stage::Geofence,
        Stage::Store,
        Stage::Stream,
        Stage::Clevertap,
    ];
    for s in all {
        match s {
            Stage::Parse | Stage::Geofence | Stage::Store | Stage::Stream | Stage::Clevertap => {}
        }
    }
    all.iter().map(|s| s.as_str()).collect()
}

/// The dimension a business metric is also published with, beside `[Stack, Function]`.
fn extra_dimension(metric: &str) -> Option<&'static str> {
    match metric {
        names::ACCEPTED | names::STORED => Some(names::SOURCE),
        names::REJECTED => Some(names::STATUS),
        names::DEAD_LETTERED => Some(names::STAGE),
        names::LOAD_BACK_REFUSED => Some(names::CODE),
        names::STALE_UPDATES | names::ANOMALIES | names::EXPORT_ALERTS => Some(names::KIND),
        _ => None,
    }
}

/// One use of a `hookloop` metric (`Requests` stands for the `Requests.*` counts a search
/// matches) must be a name and dimension set the functions publish.
pub fn assert_in_contract(what: &str, metric: &str, dims: &BTreeSet<String>) {
    let requests = metric == names::REQUESTS_PREFIX.trim_end_matches('.')
        || metric.starts_with(names::REQUESTS_PREFIX);
    assert!(
        requests || names::ALL.contains(&metric),
        "{what}: metric {metric} is not in names.rs"
    );
    let base: BTreeSet<String> = [names::STACK, names::FUNCTION].map(String::from).into();
    let mut with_extra = base.clone();
    if let Some(extra) = extra_dimension(metric) {
        with_extra.insert(extra.to_owned());
    }
    assert!(
        *dims == base || *dims == with_extra,
        "{what}: {metric} on {dims:?}; published on {base:?} and {with_extra:?}"
    );
}

/// The (namespace, metric, what it watches) of every metric an alarm reads: for AWS metrics the
/// resource its first dimension names, for hookloop's the function and any extra dimension.
fn watched(t: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (name, alarm) in resources_of(t, ALARM) {
        let p = &alarm["Properties"];
        let metrics: Vec<Value> = match p["Metrics"].as_array() {
            Some(list) => list
                .iter()
                .filter(|m| m.get("MetricStat").is_some())
                .map(|m| m["MetricStat"]["Metric"].clone())
                .collect(),
            None => vec![p.clone()],
        };
        for m in metrics {
            let namespace = m["Namespace"].as_str().unwrap_or_default().to_owned();
            let metric = m["MetricName"].as_str().unwrap_or_default().to_owned();
            let dims = m["Dimensions"].as_array().cloned().unwrap_or_default();
            let target = if namespace == "hookloop" {
                let mut names_seen = BTreeSet::new();
                let mut target = String::new();
                for d in &dims {
                    let (k, v) = (d["Name"].as_str().unwrap_or_default(), &d["Value"]);
                    names_seen.insert(k.to_owned());
                    match k {
                        names::STACK => assert_eq!(v, &r#ref("AWS::StackName"), "{name}"),
                        names::FUNCTION => {
                            let f = v.as_str().unwrap_or_default();
                            assert!([names::INGEST, names::PROCESSOR].contains(&f), "{name}");
                            target = format!("{f}{target}");
                        }
                        extra => target.push_str(&format!("/{extra}={}", v.as_str().unwrap())),
                    }
                }
                assert_in_contract(name, &metric, &names_seen);
                target
            } else {
                let v = &dims[0]["Value"];
                v["Ref"]
                    .as_str()
                    .or_else(|| v["Fn::GetAtt"][0].as_str())
                    .or_else(|| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            out.insert((namespace, metric, target));
        }
    }
    out
}

#[test]
fn alarms_watch_failures_refusals_401s_lag_and_throttling_as_well_as_the_queue_and_functions() {
    let t = template();
    let watched = watched(&t);
    let mut want: Vec<(&str, &str, String)> = vec![
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "DeadLetterQueue".into(),
        ),
        (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "WebhookQueue".into(),
        ),
        ("AWS/Lambda", "Errors", "IngestFunction".into()),
        ("AWS/Lambda", "Throttles", "IngestFunction".into()),
        ("AWS/Lambda", "Errors", "ProcessorFunction".into()),
        ("AWS/Lambda", "Throttles", "ProcessorFunction".into()),
        ("AWS/Lambda", "Errors", "CompactorFunction".into()),
        ("AWS/ApiGateway", "5xx", "WebhookApi".into()),
        ("AWS/DynamoDB", "ReadThrottleEvents", "RowsTable".into()),
        ("AWS/DynamoDB", "WriteThrottleEvents", "RowsTable".into()),
        (
            "AWS/Kinesis",
            "WriteProvisionedThroughputExceeded",
            "GeofenceStream".into(),
        ),
        (
            "hookloop",
            names::LOADBACK_CONFIG_REJECTED,
            names::PROCESSOR.into(),
        ),
        (
            "hookloop",
            names::LOAD_BACK_REFUSED,
            names::PROCESSOR.into(),
        ),
        (
            "hookloop",
            names::END_TO_END_LAG_MS,
            names::PROCESSOR.into(),
        ),
        (
            "hookloop",
            names::REJECTED,
            format!("{}/{}=401", names::INGEST, names::STATUS),
        ),
    ];
    for stage in stages() {
        let target = format!("{}/{}={stage}", names::PROCESSOR, names::STAGE);
        want.push(("hookloop", names::DEAD_LETTERED, target));
    }
    for (namespace, metric, target) in want {
        let w = (namespace.to_owned(), metric.to_owned(), target);
        assert!(
            watched.contains(&w),
            "no alarm on {w:?}; alarms watch {watched:#?}"
        );
    }

    // Thresholds a stack can tune, and the statistic the lag alarm promises.
    let threshold = |alarm: &str| props(&t, alarm)["Threshold"].clone();
    assert_eq!(
        threshold("UnauthorizedSpikeAlarm"),
        r#ref("Unauthorized401AlarmThreshold")
    );
    assert_eq!(
        threshold("EndToEndLagAlarm"),
        r#ref("LagP99AlarmMilliseconds")
    );
    assert_eq!(props(&t, "EndToEndLagAlarm")["ExtendedStatistic"], "p99");
    // Quiet hours publish nothing: no alarm may fire for want of data.
    for (name, alarm) in resources_of(&t, ALARM) {
        assert_eq!(
            alarm["Properties"]["TreatMissingData"], "notBreaching",
            "{name}"
        );
    }
}

#[test]
fn every_alarm_notifies_the_stacks_topic_when_it_fires_and_when_it_clears() {
    let t = template();
    assert_eq!(resource(&t, "AlarmTopic")["Type"], "AWS::SNS::Topic");
    let targets = json!({"Fn::If": ["HasAlarmTopic",
        [r#ref("AlarmTopic"), r#ref("AlarmTopicArn")], [r#ref("AlarmTopic")]]});
    let alarms = resources_of(&t, ALARM);
    assert!(alarms.len() >= 17, "{} alarms", alarms.len());
    for (name, alarm) in alarms {
        let p = &alarm["Properties"];
        assert_eq!(p["AlarmActions"], targets, "{name}: AlarmActions");
        assert_eq!(p["OKActions"], targets, "{name}: OKActions");
    }
    // An existing topic passed by an older deploy keeps being notified, as an extra target.
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"], "");
    // E-mail is optional: no address, no subscription.
    assert_eq!(t["Parameters"]["AlarmEmail"]["Default"], "");
    assert_eq!(
        t["Conditions"]["HasAlarmEmail"],
        json!({"Fn::Not": [{"Fn::Equals": [r#ref("AlarmEmail"), ""]}]})
    );
    let subscriptions = resources_of(&t, "AWS::SNS::Subscription");
    assert_eq!(subscriptions.len(), 1);
    let (_, sub) = subscriptions[0];
    assert_eq!(sub["Condition"], "HasAlarmEmail");
    assert_eq!(sub["Properties"]["TopicArn"], r#ref("AlarmTopic"));
    assert_eq!(sub["Properties"]["Protocol"], "email");
    assert_eq!(sub["Properties"]["Endpoint"], r#ref("AlarmEmail"));
    assert_eq!(
        t["Outputs"]["AlarmNotificationTopicArn"]["Value"],
        r#ref("AlarmTopic")
    );
}

/// The `hookloop` subcommands (`dlq list`, `status`, ...) named in `text` between backticks.
fn commands_in(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|quoted| quoted.strip_prefix("hookloop "))
        .map(subcommand)
        .collect()
}

/// The subcommand words at the start of what follows `hookloop ` (up to the first option,
/// placeholder or argument).
fn subcommand(rest: &str) -> String {
    rest.split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The subcommands docs/cli.md's synopsis lists.
fn documented_commands() -> BTreeSet<String> {
    let cli = std::fs::read_to_string(repo_root().join("docs/cli.md")).expect("docs/cli.md");
    cli.lines()
        .filter_map(|l| l.strip_prefix("hookloop "))
        .map(subcommand)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn each_alarm_names_the_hookloop_command_that_investigates_it_and_operations_md_gives_the_same() {
    let t = template();
    let documented = documented_commands();
    assert!(
        documented.contains("dlq list") && documented.contains("status"),
        "{documented:?}"
    );
    let operations =
        std::fs::read_to_string(repo_root().join("docs/operations.md")).expect("operations.md");
    for (name, alarm) in resources_of(&t, ALARM) {
        let description = sub_text(&alarm["Properties"]["AlarmDescription"])
            .unwrap_or_else(|| panic!("{name}: no description"));
        assert!(
            description.len() <= 1024,
            "{name}: CloudWatch keeps 1024 characters"
        );
        let commands = commands_in(description);
        assert!(
            !commands.is_empty(),
            "{name} names no `hookloop …` command: {description}"
        );
        let row = operations
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("docs/operations.md has no row for {name}"));
        for command in commands {
            assert!(
                documented.contains(&command),
                "{name}: `hookloop {command}` is not in docs/cli.md"
            );
            assert!(
                row.contains(&format!("hookloop {command}")),
                "{name}: operations.md's row does not give `hookloop {command}`: {row}"
            );
        }
    }
}

#[test]
fn every_function_knows_its_stack_for_the_metrics_stack_dimension() {
    let t = template();
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]["STACK_NAME"],
        r#ref("AWS::StackName")
    );
}
