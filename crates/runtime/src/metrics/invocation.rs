//! Business metrics of one invocation, printed once at its end as CloudWatch embedded metric
//! format lines ([`Publisher::publish`]).
//!
//! A [`Publisher`] is made once per function a process hosts: it holds what every line carries
//! (`Stack`, read once from `STACK_NAME`; `Function`), whether lines are printed at all, and
//! whether the process has run an invocation yet (`ColdStart`). Each invocation takes an
//! [`Invocation`] from it, counts into it as it goes, and hands it back to be printed. Nothing
//! is global: two functions in one process (`hookloop serve`) keep apart, and a test that never
//! publishes prints nothing.
//!
//! Counting stays off the allocator on the hot path: names and dimension keys are `&'static
//! str`, a count by an existing dimension value only adds to it, and per-message values (the
//! lag) are pushed onto one vector.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Map, Value};

use super::names::{COLD_START, FUNCTION, LOCAL_STACK, STACK};
use super::{emf_enabled_in, now_ms, METRICS_NAMESPACE};
use crate::config::{process_env, Env};

/// CloudWatch allows at most 100 values in one metric's array; more go on further lines.
pub const MAX_VALUES_PER_LINE: usize = 100;

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// What one function's lines share, made once per process (see the module documentation).
#[derive(Debug)]
pub struct Publisher {
    stack: String,
    function: &'static str,
    enabled: bool,
    invoked: AtomicBool,
}

impl Publisher {
    /// From the process environment: `STACK_NAME` (`local` when unset), and printing in
    /// Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) or with `EMF_METRICS=true`.
    pub fn from_env(function: &'static str) -> Self {
        Publisher::read(&process_env(), function)
    }

    /// From any environment (tests use a map).
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>, function: &'static str) -> Self {
        Publisher {
            stack: env
                .optional("STACK_NAME")
                .unwrap_or_else(|| LOCAL_STACK.to_owned()),
            function,
            enabled: emf_enabled_in(env),
            invoked: AtomicBool::new(false),
        }
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Whether lines are printed (in Lambda, or with `EMF_METRICS=true`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// A new invocation; the first of the process is its cold start.
    pub fn start(&self) -> Invocation {
        Invocation::new(!self.invoked.swap(true, Ordering::Relaxed))
    }

    /// Prints `invocation`'s lines on stdout when enabled. `println!`, never `tracing`: no log
    /// level or filter can drop a metric.
    pub fn publish(&self, invocation: &Invocation) {
        if self.enabled {
            for line in self.lines(invocation, now_ms()) {
                println!("{line}");
            }
        }
    }

    /// Prints one count of `metric` with `fields` as properties of its line (a reason, never a
    /// secret), outside any invocation's lines: for what happens between invocations.
    pub fn event(&self, metric: &'static str, fields: &[(&str, &str)]) {
        if self.enabled {
            let mut one = Invocation::new(false);
            one.count(metric);
            for mut line in self.lines(&one, now_ms()) {
                if let Value::Object(doc) = &mut line {
                    for (k, v) in fields {
                        doc.entry(*k).or_insert_with(|| (*v).into());
                    }
                }
                println!("{line}");
            }
        }
    }

    /// The documents for `invocation`: one for the metrics without a dimension of their own
    /// (`ColdStart` among them), one per dimension value (e.g. `Source=location`), each declaring
    /// `[Stack, Function]` and, for a dimension value, `[Stack, Function, <dimension>]` too;
    /// value arrays longer than CloudWatch takes continue on further documents.
    pub fn lines(&self, invocation: &Invocation, timestamp_ms: i64) -> Vec<Value> {
        let mut groups: Vec<(Option<&Dimension>, Vec<&Entry>)> = Vec::new();
        for e in &invocation.entries {
            match groups.iter_mut().find(|(by, _)| *by == e.by.as_ref()) {
                Some((_, entries)) => entries.push(e),
                None => groups.push((e.by.as_ref(), vec![e])),
            }
        }
        if invocation.cold_start && !groups.iter().any(|(by, _)| by.is_none()) {
            groups.insert(0, (None, Vec::new()));
        }
        let mut out = Vec::new();
        for (by, entries) in groups {
            let cold = invocation.cold_start && by.is_none();
            let pages = entries
                .iter()
                .map(|e| e.values.pages())
                .max()
                .unwrap_or(1)
                .max(1);
            for page in 0..pages {
                out.push(self.document(by, &entries, cold && page == 0, page, timestamp_ms));
            }
        }
        out
    }

    fn document(
        &self,
        by: Option<&Dimension>,
        entries: &[&Entry],
        cold: bool,
        page: usize,
        timestamp_ms: i64,
    ) -> Value {
        let mut doc = Map::new();
        let mut declared = Vec::new();
        for e in entries {
            if let Some(v) = e.values.page(page) {
                declared.push(json!({"Name": e.name, "Unit": e.unit.as_str()}));
                doc.insert(e.name.into(), v);
            }
        }
        if cold {
            declared.push(json!({"Name": COLD_START, "Unit": Unit::Count.as_str()}));
            doc.insert(COLD_START.into(), 1.into());
        }
        let mut dimensions = vec![json!([STACK, FUNCTION])];
        if let Some(d) = by {
            dimensions.push(json!([STACK, FUNCTION, d.key]));
            doc.insert(d.key.into(), d.value.as_ref().into());
        }
        doc.insert(STACK.into(), self.stack.as_str().into());
        doc.insert(FUNCTION.into(), self.function.into());
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": declared,
                }],
            }),
        );
        Value::Object(doc)
    }
}

/// A dimension a metric is also published by, with this line's value of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dimension {
    key: &'static str,
    value: Cow<'static, str>,
}

#[derive(Debug)]
enum Values {
    Sum(u64),
    Each(Vec<u64>),
}

impl Values {
    fn pages(&self) -> usize {
        match self {
            Values::Sum(_) => 1,
            Values::Each(v) => v.len().div_ceil(MAX_VALUES_PER_LINE),
        }
    }

    fn page(&self, page: usize) -> Option<Value> {
        match self {
            Values::Sum(n) => (page == 0).then(|| (*n).into()),
            Values::Each(v) => {
                let chunk = v.chunks(MAX_VALUES_PER_LINE).nth(page)?;
                Some(match chunk {
                    [one] => (*one).into(),
                    many => many.into(),
                })
            }
        }
    }
}

#[derive(Debug)]
struct Entry {
    name: &'static str,
    unit: Unit,
    by: Option<Dimension>,
    values: Values,
}

/// The metrics of one invocation, from [`Publisher::start`] (see the module documentation).
#[derive(Debug)]
pub struct Invocation {
    cold_start: bool,
    entries: Vec<Entry>,
}

impl Invocation {
    /// An invocation that counts nothing from the process (not a cold start): for callers that
    /// publish nothing (tests, the benchmark).
    pub fn unpublished() -> Self {
        Invocation::new(false)
    }

    fn new(cold_start: bool) -> Self {
        Invocation {
            cold_start,
            entries: Vec::new(),
        }
    }

    /// Whether this is the first invocation of its process.
    pub fn cold_start(&self) -> bool {
        self.cold_start
    }

    /// One more of `metric`.
    pub fn count(&mut self, metric: &'static str) {
        self.add(metric, 1);
    }

    /// `n` more of `metric` (nothing is recorded for 0).
    pub fn add(&mut self, metric: &'static str, n: u64) {
        self.add_entry(metric, None, n);
    }

    /// One more of `metric` by `dimension` = `value` (e.g. `Accepted` by `Source`).
    pub fn count_by(
        &mut self,
        metric: &'static str,
        dimension: &'static str,
        value: impl Into<Cow<'static, str>>,
    ) {
        self.add_by(metric, dimension, value, 1);
    }

    /// `n` more of `metric` by `dimension` = `value` (nothing is recorded for 0).
    pub fn add_by(
        &mut self,
        metric: &'static str,
        dimension: &'static str,
        value: impl Into<Cow<'static, str>>,
        n: u64,
    ) {
        let by = Dimension {
            key: dimension,
            value: value.into(),
        };
        self.add_entry(metric, Some(by), n);
    }

    fn add_entry(&mut self, metric: &'static str, by: Option<Dimension>, n: u64) {
        if n == 0 {
            return;
        }
        let found = self
            .entries
            .iter_mut()
            .find(|e| e.name == metric && e.by == by);
        match found {
            Some(Entry {
                values: Values::Sum(sum),
                ..
            }) => *sum += n,
            _ => self.entries.push(Entry {
                name: metric,
                unit: Unit::Count,
                by,
                values: Values::Sum(n),
            }),
        }
    }

    /// One more value of `metric` (e.g. one message's lag): published as a value array.
    pub fn value(&mut self, metric: &'static str, unit: Unit, v: u64) {
        let found = self
            .entries
            .iter_mut()
            .find(|e| e.name == metric && e.by.is_none());
        match found {
            Some(Entry {
                values: Values::Each(vs),
                ..
            }) => vs.push(v),
            _ => self.entries.push(Entry {
                name: metric,
                unit,
                by: None,
                values: Values::Each(vec![v]),
            }),
        }
    }

    /// The total of `metric` by any or no dimension, and of its values (for tests and logs).
    pub fn total(&self, metric: &str) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.name == metric)
            .map(|e| match &e.values {
                Values::Sum(n) => *n,
                Values::Each(v) => v.iter().sum(),
            })
            .sum()
    }
}

#[cfg(test)]
#[path = "invocation_tests.rs"]
mod tests;
