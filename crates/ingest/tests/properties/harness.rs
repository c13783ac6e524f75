//! The runner of the ingest property tests (fixed seed, case count, minimal failing input,
//! survey mode) and the checks of one request and its answer.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use bytes::Bytes;
use hookloop_domain::{Envelope, Source};
use hookloop_ingest::{
    handle, Auth, Ingest, MessageQueue, OutgoingMessage, QueueError, DEFAULT_MAX_BODY_BYTES,
};
use http::Request;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value;

use crate::generators::Case;
use crate::storable::{sqs_body_problems, Problem};

/// The seed of every run: the same cases on every machine, every time.
pub const SEED: [u8; 32] = *b"hookloop hostile corpus, seed 01";
/// Cases per property in `make test`; `PROPTEST_CASES` overrides it (`make fuzz` runs more).
pub const DEFAULT_CASES: u32 = 2_000;
const TOKEN: &str = "prop-token-4b1e";

/// One broken promise: a category (for the survey) and what exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub category: &'static str,
    pub detail: String,
}

impl Violation {
    pub fn new(category: &'static str, detail: impl Into<String>) -> Self {
        Violation {
            category,
            detail: detail.into(),
        }
    }
}

impl From<Problem> for Violation {
    fn from(p: Problem) -> Self {
        Violation::new(p.category, p.detail)
    }
}

pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// Runs `test` on `cases()` values of `strategy` from [`SEED`]. A case with violations fails the
/// test with the minimal failing input proptest shrinks it to; with `PROPERTY_SURVEY=1` every
/// case runs and the smallest example of each category is printed instead.
pub fn run<S>(name: &str, strategy: S, test: impl Fn(&S::Value) -> Vec<Violation>)
where
    S: Strategy,
    S::Value: Debug,
{
    let cases = cases();
    let survey = std::env::var("PROPERTY_SURVEY").is_ok_and(|v| v == "1");
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        failure_persistence: None,
        max_shrink_iters: 4_096,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let found: RefCell<BTreeMap<&'static str, (usize, String, String)>> = RefCell::default();
    let result = runner.run(&strategy, |value| {
        let violations = test(&value);
        if violations.is_empty() {
            return Ok(());
        }
        let shown = format!("{value:?}");
        let details = render(&violations);
        if survey {
            let mut found = found.borrow_mut();
            for v in &violations {
                let entry = found
                    .entry(v.category)
                    .or_insert((0, String::new(), String::new()));
                entry.0 += 1;
                if entry.1.is_empty() || shown.len() < entry.1.len() {
                    entry.1 = shown.clone();
                    entry.2 = v.detail.clone();
                }
            }
            return Ok(());
        }
        Err(TestCaseError::fail(details))
    });
    for (category, (count, example, detail)) in found.into_inner() {
        println!(
            "{name}: {count} cases broke \"{category}\"; smallest:\n    {example}\n    -> {detail}"
        );
    }
    match result {
        Ok(()) => println!("{name}: {cases} generated cases, every invariant held"),
        Err(TestError::Fail(why, value)) => panic!(
            "{name}: a generated case broke the invariant (seed {SEED:?}).\nminimal failing input:\n    {value:?}\nbroken:\n{why}"
        ),
        Err(TestError::Abort(why)) => panic!("{name}: aborted: {why}"),
    }
}

fn render(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  - {}: {}", v.category, v.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f`, turning a panic into its message (and location) without printing it.
pub fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = info.to_string());
            } else {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|_| LAST_PANIC.with(|p| p.borrow().clone()))
}

/// The queue: keeps what it is given.
#[derive(Default)]
struct MemoryQueue(Mutex<Vec<OutgoingMessage>>);

impl MessageQueue for MemoryQueue {
    async fn enqueue(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
        Ok(())
    }
}

/// One request and what came of it.
pub struct Exchange {
    pub status: u16,
    pub answer: Value,
    pub sent: Vec<OutgoingMessage>,
    pub envelope: Option<Envelope>,
}

/// Posts `case` to the real handler with a valid credential.
pub fn deliver(case: &Case, v: &mut Vec<Violation>) -> Option<Exchange> {
    let ingest = Ingest {
        queue: MemoryQueue::default(),
        auth: hookloop_runtime::Live::fixed(Auth::token(TOKEN)),
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        claim_check: None,
        dedup: None,
    };
    let request = Request::post(case.shape.route())
        .header("content-type", "application/json")
        .header("x-webhook-token", TOKEN)
        .body(Bytes::from(case.body.clone()))
        .ok()?;
    let answered = no_panic(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(runtime.block_on(handle(&ingest, request)))
    });
    let response = match answered {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            v.push(Violation::new("test runtime", e));
            return None;
        }
        Err(panic) => {
            v.push(Violation::new("panic in the ingest", panic));
            return None;
        }
    };
    let status = response.status().as_u16();
    let answer = serde_json::from_str(response.body()).unwrap_or_else(|_| {
        v.push(Violation::new(
            "answer is not JSON",
            response.body().clone(),
        ));
        Value::Null
    });
    let sent = std::mem::take(&mut *ingest.queue.0.lock().unwrap_or_else(|e| e.into_inner()));
    let envelope = match sent.as_slice() {
        [one] => Envelope::decode(&one.body).ok(),
        _ => None,
    };
    Some(Exchange {
        status,
        answer,
        sent,
        envelope,
    })
}

/// The answer's promises: 200 queued exactly this body; a 4xx says why, a 400 where.
pub fn check_exchange(case: &Case, x: &Exchange, v: &mut Vec<Violation>) {
    let source = Source::from_route(case.shape.route());
    match (x.status, x.answer["status"].as_str()) {
        (200, Some("queued")) => {
            let [message] = x.sent.as_slice() else {
                v.push(Violation::new(
                    "200 without exactly one message",
                    format!("{} queued", x.sent.len()),
                ));
                return;
            };
            v.extend(
                sqs_body_problems(&message.body)
                    .into_iter()
                    .map(Violation::from),
            );
            match &x.envelope {
                None => v.push(Violation::new(
                    "queued message unreadable",
                    message.body.chars().take(200).collect::<String>(),
                )),
                Some(e) if e.body() != case.body || Some(e.source()) != source => {
                    v.push(Violation::new(
                        "queued message differs from the request",
                        format!("source {:?}, body of {} bytes", e.source(), e.body().len()),
                    ))
                }
                Some(e) if x.answer["id"] != e.id().to_string() => v.push(Violation::new(
                    "answered id is not the queued id",
                    x.answer.to_string(),
                )),
                Some(_) => {}
            }
        }
        (200, Some("ignored")) if source == Some(Source::ClevertapWebhook) && x.sent.is_empty() => {
        }
        (400..=499, _) => {
            if !x.sent.is_empty() {
                v.push(Violation::new(
                    "refused but queued",
                    format!("{} and {} queued", x.status, x.sent.len()),
                ));
            }
            if !x.answer["error"].is_string() {
                v.push(Violation::new(
                    "4xx without an error code",
                    x.answer.to_string(),
                ));
            }
            if x.status == 400 {
                check_field(case, &x.answer, v);
            }
        }
        (status, _) => v.push(Violation::new(
            "unexpected answer",
            format!("{status} {}", x.answer),
        )),
    }
}

/// A 400's `field` is a JSON pointer whose parent is in the body, and its message does not
/// repeat what was sent.
fn check_field(case: &Case, answer: &Value, v: &mut Vec<Violation>) {
    let Some(field) = answer["field"].as_str() else {
        v.push(Violation::new("400 without a field", answer.to_string()));
        return;
    };
    let tokens: Vec<String> = field
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let well_formed = (field.is_empty() || field.starts_with('/'))
        && field
            .match_indices('~')
            .all(|(i, _)| matches!(field.as_bytes().get(i + 1), Some(b'0' | b'1')));
    if !well_formed {
        v.push(Violation::new("400 field is not a JSON pointer", field));
        return;
    }
    let Ok(body) = serde_json::from_str::<Value>(&case.body) else {
        return;
    };
    // With a repeated key the parsed tree keeps one of the two; the pointer may name the other.
    if serde_json::from_str::<NoRepeats>(&case.body).is_err() {
        return;
    }
    let mut at = &body;
    for t in tokens.iter().take(tokens.len().saturating_sub(1)) {
        let next = match at {
            Value::Object(m) => m.get(t).or_else(|| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(t))
                    .map(|(_, x)| x)
            }),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => {
                v.push(Violation::new(
                    "400 field does not point into the body",
                    field,
                ));
                return;
            }
        }
    }
    let message = answer["message"].as_str().unwrap_or_default();
    let mut leaves = Vec::new();
    strings(&body, &mut leaves);
    if let Some(leaf) = leaves.iter().find(|s| {
        s.chars().count() >= 10
            && (message.contains(s.as_str()) || message.contains(&s.escape_debug().to_string()))
    }) {
        v.push(Violation::new(
            "400 message echoes the submitted value",
            format!(
                "{field}: the message repeats {:?}",
                leaf.chars().take(60).collect::<String>()
            ),
        ));
    }
}

fn strings<'a>(v: &'a Value, out: &mut Vec<&'a String>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Deserialises only JSON without a repeated key in any object.
struct NoRepeats;

impl<'de> serde::Deserialize<'de> for NoRepeats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NoRepeats;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<NoRepeats, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(k) = m.next_key::<String>()? {
                    if !seen.insert(k) {
                        return Err(serde::de::Error::custom("repeated key"));
                    }
                    m.next_value::<NoRepeats>()?;
                }
                Ok(NoRepeats)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<NoRepeats, A::Error> {
                while s.next_element::<NoRepeats>()?.is_some() {}
                Ok(NoRepeats)
            }
            fn visit_bool<E>(self, _: bool) -> Result<NoRepeats, E> {
                Ok(NoRepeats)
            }
            fn visit_i64<E>(self, _: i64) -> Result<NoRepeats, E> {
                Ok(NoRepeats)
            }
            fn visit_u64<E>(self, _: u64) -> Result<NoRepeats, E> {
                Ok(NoRepeats)
            }
            fn visit_f64<E>(self, _: f64) -> Result<NoRepeats, E> {
                Ok(NoRepeats)
            }
            fn visit_str<E>(self, _: &str) -> Result<NoRepeats, E> {
                Ok(NoRepeats)
            }
            fn visit_unit<E>(self) -> Result<NoRepeats, E> {
                Ok(NoRepeats)
            }
        }
        d.deserialize_any(V)
    }
}
