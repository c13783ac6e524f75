//! The dashboard: one page with what the issue asks for (traffic, lag, failures by stage,
//! CleverTap, the queue, the functions, requests per webhook), reading the functions' metrics
//! exactly as the metric contract publishes them, and only this stack's.

use std::collections::BTreeSet;

use hookloop_runtime::metrics::names;
use serde_json::Value;

use crate::monitoring::assert_in_contract;
use crate::template::*;

/// One metric line of a dashboard widget: a metric, or an expression.
#[derive(Debug, Default)]
struct Line {
    namespace: String,
    metric: String,
    dims: Vec<(String, String)>,
    stat: String,
    id: String,
    expression: String,
}

/// The dashboard's body as CloudFormation resolves it, with `${X}` as `<X>` (the stack name as
/// `STACK`, numbers as 1): every reference must be a parameter, a resource or a pseudo parameter.
fn dashboard(t: &Value) -> Vec<Line> {
    let body = sub_text(&props(t, "Dashboard")["DashboardBody"]).expect("DashboardBody is a !Sub");
    let mut resolved = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("closed ${") + start;
        let name = &rest[start + 2..end];
        let known = name.starts_with("AWS::")
            || t["Parameters"].get(name).is_some()
            || t["Resources"]
                .get(name.split('.').next().unwrap())
                .is_some();
        assert!(
            known,
            "the dashboard refers to {name}, which the template does not have"
        );
        resolved.push_str(&rest[..start]);
        resolved.push_str(match name {
            "AWS::StackName" => "STACK",
            _ if t["Parameters"][name]["Type"] == "Number" => "1",
            _ => name,
        });
        rest = &rest[end + 1..];
    }
    resolved.push_str(rest);
    let body: Value = serde_json::from_str(&resolved).expect("the dashboard body is JSON");
    let mut lines = Vec::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        let p = &widget["properties"];
        for row in p["metrics"].as_array().into_iter().flatten() {
            let row = row.as_array().expect("a metric row is an array");
            let options = row
                .last()
                .filter(|v| v.is_object())
                .cloned()
                .unwrap_or_default();
            let mut line = Line {
                stat: options["stat"]
                    .as_str()
                    .or(p["stat"].as_str())
                    .unwrap_or_default()
                    .into(),
                id: options["id"].as_str().unwrap_or_default().into(),
                expression: options["expression"].as_str().unwrap_or_default().into(),
                ..Line::default()
            };
            let strings: Vec<&str> = row.iter().filter_map(Value::as_str).collect();
            if let [namespace, metric, dims @ ..] = strings.as_slice() {
                line.namespace = namespace.to_string();
                line.metric = metric.to_string();
                line.dims = dims.chunks(2).map(|d| (d[0].into(), d[1].into())).collect();
            }
            lines.push(line);
        }
    }
    lines
}

/// A `SEARCH('{namespace,dims…} … MetricName=…')` in an expression: (namespace, dims, metric).
fn search(expression: &str) -> Option<(String, BTreeSet<String>, String)> {
    let inner = expression.split("SEARCH('").nth(1)?;
    let schema = inner.strip_prefix('{')?.split('}').next()?;
    let mut parts = schema.split(',');
    let namespace = parts.next()?.to_owned();
    let dims = parts.map(str::to_owned).collect();
    let metric = inner.split("MetricName=").nth(1)?;
    let metric = metric.trim_start_matches('"');
    let metric = metric.split(['"', ' ', '\'']).next()?.to_owned();
    Some((namespace, dims, metric))
}

#[test]
fn the_dashboard_uses_the_functions_metrics_exactly_as_they_are_published() {
    let t = template();
    for line in dashboard(&t) {
        if line.namespace == "hookloop" {
            let dims: BTreeSet<String> = line.dims.iter().map(|(k, _)| k.clone()).collect();
            assert_in_contract("dashboard", &line.metric, &dims);
            assert!(
                line.dims.contains(&(names::STACK.into(), "STACK".into())),
                "{line:?}"
            );
        }
        if let Some((namespace, dims, metric)) = search(&line.expression) {
            if namespace == "hookloop" {
                assert_in_contract("dashboard search", &metric, &dims);
                assert!(
                    line.expression.contains("Stack=\"STACK\""),
                    "{line:?}: this stack only"
                );
            }
        }
    }
}

#[test]
fn the_dashboard_shows_traffic_lag_failures_clevertap_the_queue_functions_and_requests_per_webhook()
{
    let t = template();
    let lines = dashboard(&t);
    let searches: Vec<(String, BTreeSet<String>, String)> =
        lines.iter().filter_map(|l| search(&l.expression)).collect();
    let searched_by = |metric: &str, dim: &str| {
        searches
            .iter()
            .any(|(ns, dims, m)| ns == "hookloop" && m == metric && dims.contains(dim))
    };
    for (metric, by) in [
        (names::ACCEPTED, names::SOURCE),
        (names::REJECTED, names::STATUS),
        (names::DEAD_LETTERED, names::STAGE),
        (names::LOAD_BACK_REFUSED, names::CODE),
    ] {
        assert!(searched_by(metric, by), "no line of {metric} by {by}");
    }
    let shows = |namespace: &str, metric: &str, target: &str, stat: &str| {
        lines.iter().any(|l| {
            l.namespace == namespace
                && l.metric == metric
                && l.dims.iter().any(|(_, v)| v == target)
                && (stat.is_empty() || l.stat == stat)
        })
    };
    for stat in ["p50", "p99"] {
        assert!(
            shows("hookloop", names::END_TO_END_LAG_MS, names::PROCESSOR, stat),
            "lag {stat}"
        );
    }
    assert!(
        shows("hookloop", names::LOADED_BACK, names::PROCESSOR, ""),
        "loaded back"
    );
    assert!(
        shows("hookloop", names::LOAD_BACK_REFUSED, names::PROCESSOR, ""),
        "refused"
    );
    let dlq = "DeadLetterQueue.QueueName";
    assert!(
        shows("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, ""),
        "DLQ depth"
    );
    let queue = "WebhookQueue.QueueName";
    assert!(
        shows("AWS/SQS", "ApproximateAgeOfOldestMessage", queue, ""),
        "queue age"
    );
    for function in ["IngestFunction", "ProcessorFunction", "CompactorFunction"] {
        for metric in ["Errors", "Throttles", "Duration"] {
            assert!(
                shows("AWS/Lambda", metric, function, ""),
                "{function} {metric}"
            );
        }
    }
    // Requests per webhook: the request counts (a search) divided by the accepted webhooks.
    let requests = lines
        .iter()
        .find(|l| search(&l.expression).is_some_and(|(_, _, m)| m == "Requests"))
        .expect("a search over the Requests.* counts");
    let accepted = lines
        .iter()
        .find(|l| l.metric == names::ACCEPTED && !l.id.is_empty())
        .expect("the accepted count, with an id for metric math");
    let ratio = format!("{} / {}", requests.id, accepted.id);
    assert!(
        lines.iter().any(|l| l.expression.contains(&ratio)),
        "no expression computes {ratio}"
    );
}
