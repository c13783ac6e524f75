//! Request accounting: every request a process sends out, by service and operation. Requests
//! are the pipeline's cost (each AWS request is billed, each retry too), so they are counted
//! where they leave: an SDK interceptor for AWS (`hookloop_aws::requests`), the upload client
//! for CleverTap. Each binary creates one [`Registry`] per function it hosts and hands it to
//! the clients that count into it; readers take snapshots and subtract.
//!
//! The business metrics (what was accepted, stored, dead-lettered, how late) are counted per
//! invocation into an [`Invocation`] and printed by its function's [`Publisher`]
//! ([`invocation`]); their names and dimensions are the contract in [`names`].

pub mod invocation;
pub mod names;

pub use invocation::{Invocation, Publisher, Unit};

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::config::Env;

/// CloudWatch namespace of every metric hookloop publishes.
pub const METRICS_NAMESPACE: &str = "hookloop";

/// Request counts shared by every clone: cloning hands the same counts to another client.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<Mutex<BTreeMap<(&'static str, String), u64>>>);

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Counts one request to `service` (`"dynamodb"`, `"clevertap"`, ...) for `operation`.
    pub fn record(&self, service: &'static str, operation: &str) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match counts.get_mut(&(service, operation.to_owned())) {
            Some(n) => *n += 1,
            None => {
                counts.insert((service, operation.to_owned()), 1);
            }
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RequestCounts {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        RequestCounts(
            counts
                .iter()
                .map(|((s, o), n)| (format!("{s}:{o}"), *n))
                .collect(),
        )
    }
}

/// Requests by `service:Operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts(pub BTreeMap<String, u64>);

impl RequestCounts {
    /// What was sent since `earlier` (a snapshot of the same registry).
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts(
            self.0
                .iter()
                .map(|(k, n)| {
                    (
                        k.clone(),
                        n - earlier.0.get(k).copied().unwrap_or(0).min(*n),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        )
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Totals by service (the part before `:`).
    pub fn by_service(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (k, n) in &self.0 {
            let service = k.split(':').next().unwrap_or(k);
            *out.entry(service.to_owned()).or_insert(0) += n;
        }
        out
    }

    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// One CloudWatch embedded-metric-format document: a `Requests.<service>.<Operation>` count
    /// per operation, in `namespace`, with the dimensions `Stack` and `Function`. Printed as one
    /// log line in Lambda, CloudWatch turns it into metrics without any API call.
    pub fn emf(
        &self,
        namespace: &str,
        stack: &str,
        function: &str,
        timestamp_ms: i64,
    ) -> serde_json::Value {
        let mut doc = serde_json::Map::new();
        let metrics: Vec<serde_json::Value> = self
            .0
            .keys()
            .map(|k| serde_json::json!({"Name": metric_name(k), "Unit": "Count"}))
            .collect();
        doc.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [[names::STACK, names::FUNCTION]],
                    "Metrics": metrics,
                }],
            }),
        );
        doc.insert(names::STACK.into(), stack.into());
        doc.insert(names::FUNCTION.into(), function.into());
        for (k, n) in &self.0 {
            doc.insert(metric_name(k), (*n).into());
        }
        serde_json::Value::Object(doc)
    }
}

fn metric_name(key: &str) -> String {
    format!("{}{}", names::REQUESTS_PREFIX, key.replace(':', "."))
}

impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{k}={n}")).collect();
        write!(f, "{}", parts.join(" "))
    }
}

/// Whose request counts a line is: a function's [`Publisher`] (its `Stack`, read once, and its
/// `Function`), or a function's bare name, `Stack` and printing then read from the environment
/// at each line.
#[derive(Debug, Clone, Copy)]
pub enum RequestsOf<'a> {
    Publisher(&'a Publisher),
    Function(&'a str),
}

impl<'a> From<&'a Publisher> for RequestsOf<'a> {
    fn from(p: &'a Publisher) -> Self {
        RequestsOf::Publisher(p)
    }
}

impl<'a> From<&'a str> for RequestsOf<'a> {
    fn from(function: &'a str) -> Self {
        RequestsOf::Function(function)
    }
}

/// Runs one invocation and then prints, as one CloudWatch embedded-metric-format line on stdout,
/// the requests it sent by service and operation (`Requests.<service>.<Operation>`, dimensions
/// `Stack` and `Function`), as counted in `registry`. A Lambda process runs one invocation at a
/// time, so the difference of two snapshots is exactly this invocation's. Printed only in
/// Lambda or with `EMF_METRICS=true`.
pub async fn with_request_metrics<'a, F: Future>(
    registry: &Registry,
    of: impl Into<RequestsOf<'a>>,
    f: F,
) -> F::Output {
    let of = of.into();
    let before = registry.snapshot();
    let out = f.await;
    print_requests(registry, of, &before);
    out
}

fn print_requests(registry: &Registry, of: RequestsOf<'_>, before: &RequestCounts) {
    let env = crate::config::process_env();
    let (enabled, stack, function) = match of {
        RequestsOf::Publisher(p) => (p.enabled(), p.stack().to_owned(), p.function()),
        RequestsOf::Function(function) => (
            emf_enabled_in(&env),
            env.optional("STACK_NAME")
                .unwrap_or_else(|| names::LOCAL_STACK.to_owned()),
            function,
        ),
    };
    if enabled {
        let counts = registry.snapshot().since(before);
        if !counts.0.is_empty() {
            let line = counts.emf(METRICS_NAMESPACE, &stack, function, now_ms());
            println!("{line}");
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Metrics are printed in Lambda, or locally with `EMF_METRICS=true`.
pub(crate) fn emf_enabled_in<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> bool {
    env.optional("AWS_LAMBDA_FUNCTION_NAME").is_some()
        || env.optional("EMF_METRICS").is_some_and(|v| v == "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_by_operation_and_service_and_subtract_between_snapshots() {
        let registry = Registry::new();
        registry.record("unit-test-svc", "Put");
        let before = registry.snapshot();
        registry.record("unit-test-svc", "Put");
        registry.record("unit-test-svc", "Put");
        registry.record("unit-test-svc", "Get");
        let d = registry.snapshot().since(&before);
        assert_eq!(d.get("unit-test-svc:Put"), 2);
        assert_eq!(d.get("unit-test-svc:Get"), 1);
        assert_eq!(d.by_service()["unit-test-svc"], 3);
    }

    #[test]
    fn clones_share_their_counts_and_registries_do_not() {
        let ingest = Registry::new();
        let processor = Registry::new();
        ingest.clone().record("sqs", "SendMessage");
        processor.record("dynamodb", "BatchWriteItem");
        assert_eq!(ingest.snapshot().to_string(), "sqs:SendMessage=1");
        assert_eq!(
            processor.snapshot().to_string(),
            "dynamodb:BatchWriteItem=1"
        );
    }

    #[test]
    fn the_emf_document_declares_every_metric_it_carries() {
        let mut c = RequestCounts::default();
        c.0.insert("dynamodb:BatchWriteItem".into(), 4);
        c.0.insert("clevertap:upload".into(), 1);
        let doc = c.emf("hookloop", "prod-eu", "processor", 1_700_000_000_000);
        let declared: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            declared,
            [
                "Requests.clevertap.upload",
                "Requests.dynamodb.BatchWriteItem"
            ]
        );
        assert_eq!(doc["Requests.dynamodb.BatchWriteItem"], 4);
        assert_eq!(doc["Function"], "processor");
        assert_eq!(doc["Stack"], "prod-eu");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Stack", "Function"]])
        );
    }
}
