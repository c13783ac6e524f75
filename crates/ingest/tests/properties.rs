//! Generated hostile webhooks through the real ingest handler, then the processor's pure path.
//!
//! For every generated request (`tests/support/generators.rs`: every route's shapes, adversarial
//! leaves): nothing panics; a 4xx is JSON with an `error` code, and a 400 names the field with a
//! JSON pointer into the body without echoing the value; a 200 `queued` put exactly one message
//! on the (in-memory) queue that SQS would take, holding the body byte for byte, which the
//! processor parses and normalises into rows DynamoDB would take and stream records Kinesis would
//! take, with the same keys whichever delivery of it is processed.
//!
//! Fixed seed and case count (`PROPTEST_CASES`, default 2,000 per shape); a failure prints the
//! minimal failing request. `PROPERTY_SURVEY=1` runs every case without stopping and prints the
//! smallest example of each kind of failure instead.

#[allow(dead_code)]
#[path = "../../../tests/support/generators.rs"]
mod generators;
#[path = "properties/harness.rs"]
mod harness;
#[path = "properties/storable.rs"]
mod storable;

use std::collections::BTreeSet;

use generators::{any_case, case, event_ids, radar_with_ids, Case, Shape};
use harness::{check_exchange, deliver, run, Violation};
use hookloop_domain::{dedup_key, parse_webhook, Envelope, Normalized, Source, Webhook};
use serde_json::Value;
use storable::{record_problems, row_problems};
use time::OffsetDateTime;

/// The whole invariant for one request.
fn check(case: &Case) -> Vec<Violation> {
    let mut v = Vec::new();
    let Some(exchange) = deliver(case, &mut v) else {
        return v;
    };
    check_exchange(case, &exchange, &mut v);
    if exchange.status == 200 && exchange.answer["status"] == "queued" {
        if let Some(envelope) = exchange.envelope.as_ref() {
            processed(case, envelope, &mut v);
        }
    }
    v
}

/// The processor's pure path on a queued message, as `crates/processor/src/store.rs` runs it.
fn processed(case: &Case, envelope: &Envelope, v: &mut Vec<Violation>) {
    let webhook = match parse_webhook(envelope.source(), envelope.body().as_bytes()) {
        Ok(w) => w,
        Err(e) => {
            v.push(Violation::new(
                "accepted, then refused by the processor",
                format!("{}: {}", e.path, e.message),
            ));
            return;
        }
    };
    let first = match harness::no_panic(|| Normalized::from_webhook(&webhook, envelope)) {
        Ok(n) => n,
        Err(msg) => {
            v.push(Violation::new("panic in normalisation", msg));
            return;
        }
    };
    for row in first.all_rows() {
        v.extend(row_problems(row).into_iter().map(Violation::from));
    }
    for e in &first.geofence_events {
        v.extend(record_problems(e).into_iter().map(Violation::from));
    }
    let key = dedup_key(envelope.source(), &webhook, case.body.as_bytes());
    if key.is_empty() || format!("DEDUP#{key}").len() > storable::MAX_PARTITION_KEY_BYTES {
        v.push(Violation::new(
            "dynamodb key length",
            format!("deduplication key of {} bytes", key.len()),
        ));
    }
    // A second delivery of the same body (a retry outside the window, a redelivery) is stored
    // under the same keys, its message id aside.
    let later = Envelope::received(
        envelope.source(),
        envelope.body().to_owned(),
        OffsetDateTime::now_utc() + time::Duration::minutes(5),
    );
    if let Ok(second) = harness::no_panic(|| Normalized::from_webhook(&webhook, &later)) {
        let keys = |n: &Normalized, id: &str| -> BTreeSet<(String, String)> {
            n.all_rows()
                .map(|r| (r.pk.replace(id, "<id>"), r.sk.replace(id, "<id>")))
                .chain(
                    n.geofence_events
                        .iter()
                        .map(|e| (e.partition_key().to_owned(), e.event_id.replace(id, "<id>"))),
                )
                .collect()
        };
        let (a, b) = (
            keys(&first, &envelope.id().to_string()),
            keys(&second, &later.id().to_string()),
        );
        if a != b {
            v.push(Violation::new(
                "keys differ between deliveries",
                format!(
                    "{:?}",
                    a.symmetric_difference(&b).take(4).collect::<Vec<_>>()
                ),
            ));
        }
    }
}

#[test]
fn every_radar_delivery_is_refused_naming_a_field_or_storable() {
    run("radar", case(Shape::Radar), check);
}

#[test]
fn every_structured_location_is_refused_naming_a_field_or_storable() {
    run("structured", case(Shape::Structured), check);
}

#[test]
fn every_platform_event_is_refused_naming_a_field_or_storable() {
    run("platform", case(Shape::Platform), check);
}

#[test]
fn every_hypertrack_array_is_refused_naming_a_field_or_storable() {
    run("hypertrack", case(Shape::HyperTrack), check);
}

#[test]
fn every_roam_event_is_refused_naming_a_field_or_storable() {
    run("roam", case(Shape::Roam), check);
}

#[test]
fn every_foursquare_event_is_refused_naming_a_field_or_storable() {
    run("foursquare", case(Shape::Foursquare), check);
}

#[test]
fn every_campaign_webhook_is_refused_naming_a_field_or_storable() {
    run("campaign", case(Shape::Campaign), check);
}

#[test]
fn every_export_status_alert_is_refused_naming_a_field_or_storable() {
    run("export_status", case(Shape::ExportStatus), check);
}

#[test]
fn a_body_on_the_wrong_route_is_refused_naming_a_field_or_storable() {
    use proptest::prelude::*;
    let strategy =
        (any_case(), prop::sample::select(Shape::ALL.to_vec())).prop_map(|(c, route)| Case {
            shape: route,
            body: c.body,
        });
    run("wrong_route", strategy, |c: &Case| check(c));
}

/// Two deliveries share a deduplication key only if they are the same webhook: the same set of
/// sender event ids.
#[test]
fn deliveries_with_different_event_ids_never_share_a_deduplication_key() {
    use proptest::prelude::*;
    let pair = (event_ids(), event_ids(), prop::bool::ANY).prop_map(|(a, b, joined)| {
        // The second list is often the first, joined or split at its separators.
        let b = if joined { vec![a.join(",")] } else { b };
        (a, b)
    });
    run("dedup_keys", pair, |(a, b): &(Vec<String>, Vec<String>)| {
        let key = |ids: &[String]| -> Option<(String, BTreeSet<String>)> {
            let body = radar_with_ids(ids);
            let w = parse_webhook(Source::Location, body.as_bytes()).ok()?;
            let ids = match &w {
                Webhook::Location(l) => {
                    l.events.iter().filter_map(|e| e.event_id.clone()).collect()
                }
                _ => BTreeSet::new(),
            };
            Some((dedup_key(Source::Location, &w, body.as_bytes()), ids))
        };
        match (key(a), key(b)) {
            (Some((ka, ia)), Some((kb, ib))) if ka == kb && ia != ib => vec![Violation::new(
                "deduplication key collision",
                format!("event ids {ia:?} and {ib:?} both have key {ka:?}"),
            )],
            _ => Vec::new(),
        }
    });
}

/// The generators reach every outcome: refusals, acceptances and stored rows of every shape.
#[test]
fn the_generators_reach_both_sides_of_the_validation() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for shape in Shape::ALL {
        let (mut ok, mut refused) = (0, 0);
        let mut why: std::collections::BTreeMap<String, usize> = Default::default();
        for _ in 0..300 {
            let Ok(tree) = case(shape).new_tree(&mut runner) else {
                continue;
            };
            let c = tree.current();
            let mut v = Vec::new();
            if let Some(x) = deliver(&c, &mut v) {
                match (x.status, x.answer.get("status").and_then(Value::as_str)) {
                    (200, Some("queued")) => ok += 1,
                    (400..=499, _) => {
                        refused += 1;
                        let field: String = x.answer["field"]
                            .as_str()
                            .unwrap_or("-")
                            .chars()
                            .filter(|c| !c.is_ascii_digit())
                            .collect();
                        let message: String = x.answer["message"]
                            .as_str()
                            .unwrap_or("")
                            .chars()
                            .take(30)
                            .collect();
                        *why.entry(format!("{} {field} {message}", x.status))
                            .or_default() += 1;
                    }
                    _ => {}
                }
            }
        }
        let mut why: Vec<_> = why.into_iter().collect();
        why.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        println!(
            "{shape:?}: of 300 generated, {ok} queued, {refused} refused, most for {:?}",
            &why[..why.len().min(6)]
        );
        assert!(
            ok >= 30 && refused >= 30,
            "{shape:?}: {ok} queued, {refused} refused"
        );
    }
}
