//! The example rules file README points `LOADBACK_RULES` at, applied to the documented CleverTap
//! and location payloads: the exact records that would be uploaded.

use hookloop_clevertap::{Accounts, Planned, RecordType, Rules};
use hookloop_domain::{parse_webhook, Envelope, Normalized, Source};
use serde_json::{json, Value};
use time::macros::datetime;

const RULES: &str = include_str!("../../../infra/loadback-rules.json");
/// 2024-05-01T07:08:09.010Z, when the test "received" each webhook.
const RECEIVED: i64 = 1_714_547_289;

fn accounts() -> Accounts {
    Accounts::single("TEST-ACC".into(), "pass".into(), Some("in1"), None, 3).unwrap()
}

fn plan(source: Source, body: &str) -> (Envelope, Vec<Planned>) {
    let rules = Rules::parse(RULES, &accounts()).unwrap();
    let env = Envelope::received(
        source,
        body.to_owned(),
        datetime!(2024-05-01 07:08:09.010 UTC),
    );
    let webhook = parse_webhook(source, body.as_bytes()).unwrap();
    let normalized = Normalized::from_webhook(&webhook, &env);
    let items: Vec<_> = normalized.all_rows().map(|r| &r.attrs).collect();
    (env.clone(), rules.records(source, &items).unwrap())
}

fn bodies(planned: &[Planned], t: RecordType) -> Vec<Value> {
    planned
        .iter()
        .filter(|p| p.record.record_type() == t)
        .map(|p| p.record.as_json().clone())
        .collect()
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../events/webhooks/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn a_broadcast_campaign_raises_an_event_per_profile_and_updates_each_profile() {
    let (env, planned) = plan(
        Source::ClevertapWebhook,
        &fixture("clevertap/campaign-broadcast.json"),
    );
    let id = env.id().to_string();
    assert!(planned.iter().all(|p| p.account == "default"));
    assert_eq!(
        bodies(&planned, RecordType::Event),
        vec![
            json!({"type": "event", "evtName": "Webhook Campaign Received", "objectId": "__g8a3e7f0c1d2b4e5f6a7b8c9d0e1f2a3",
                   "ts": RECEIVED, "evtData": {"coupon_code": "SPRING25", "discount_pct": 25, "campaign_name": "Spring sale",
                   "Campaign ID": "1700000001", "hookloop Message ID": id}}),
            json!({"type": "event", "evtName": "Webhook Campaign Received", "objectId": "__g1b2c3d4e5f60718293a4b5c6d7e8f90",
                   "ts": RECEIVED, "evtData": {"coupon_code": "SPRING25", "discount_pct": 25, "campaign_name": "Spring sale",
                   "Campaign ID": "1700000001", "hookloop Message ID": id}}),
        ]
    );
    assert_eq!(
        bodies(&planned, RecordType::Profile),
        vec![
            json!({"type": "profile", "objectId": "__g8a3e7f0c1d2b4e5f6a7b8c9d0e1f2a3", "ts": RECEIVED,
                   "profileData": {"Last Webhook Campaign": "1700000001", "Last Webhook Campaign At": format!("$D_{RECEIVED}")}}),
            json!({"type": "profile", "objectId": "__g1b2c3d4e5f60718293a4b5c6d7e8f90", "ts": RECEIVED,
                   "profileData": {"Last Webhook Campaign": "1700000001", "Last Webhook Campaign At": format!("$D_{RECEIVED}")}}),
        ]
    );
}

#[test]
fn a_single_object_profile_with_capitalised_keys_gives_the_same_shape() {
    let (env, planned) = plan(
        Source::ClevertapWebhook,
        &fixture("clevertap/journey-single-profile.json"),
    );
    assert_eq!(
        bodies(&planned, RecordType::Event),
        vec![
            json!({"type": "event", "evtName": "Webhook Campaign Received", "objectId": "__g0f9e8d7c6b5a4938271605f4e3d2c1b",
                    "ts": RECEIVED, "evtData": {"journey": "Onboarding", "step": 3, "Campaign ID": "1700000002",
                    "hookloop Message ID": env.id().to_string()}})
        ]
    );
    assert_eq!(
        bodies(&planned, RecordType::Profile),
        vec![
            json!({"type": "profile", "objectId": "__g0f9e8d7c6b5a4938271605f4e3d2c1b", "ts": RECEIVED,
                    "profileData": {"Last Webhook Campaign": "1700000002", "Last Webhook Campaign At": format!("$D_{RECEIVED}")}})
        ]
    );
}

#[test]
fn key_casing_and_array_or_object_do_not_change_the_upload() {
    let lower = r#"{"targetId": 7, "key_values": {"k": "v"}, "profiles": [{"objectId": "o1", "identity": "i1"}]}"#;
    let upper = r#"{"TargetId": 7, "Key_Values": {"k": "v"}, "Profiles": {"ObjectId": "o1", "Identity": "i1"}}"#;
    let strip = |planned: Vec<Planned>| -> Vec<Value> {
        planned
            .into_iter()
            .map(|p| {
                let mut v = p.record.as_json().clone();
                if let Some(d) = v.get_mut("evtData").and_then(Value::as_object_mut) {
                    d.remove("hookloop Message ID");
                }
                v
            })
            .collect()
    };
    let a = strip(plan(Source::ClevertapWebhook, lower).1);
    let b = strip(plan(Source::ClevertapWebhook, upper).1);
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
}

#[test]
fn a_profile_without_object_id_falls_back_to_identity() {
    let body = r#"{"targetId": 7, "profiles": [{"identity": "cust-9", "email": "x@example.com"}]}"#;
    let (_, planned) = plan(Source::ClevertapWebhook, body);
    assert_eq!(planned.len(), 2);
    for p in planned {
        assert_eq!(p.record.as_json()["identity"], json!("cust-9"));
        assert!(p.record.as_json().get("objectId").is_none());
    }
}

#[test]
fn a_geofence_entry_raises_geofence_entered_and_other_location_events_nothing() {
    let (env, planned) = plan(
        Source::Location,
        &fixture("location/radar-geofence-entered.json"),
    );
    let _ = env;
    assert_eq!(
        planned
            .iter()
            .map(|p| p.record.as_json().clone())
            .collect::<Vec<_>>(),
        vec![
            json!({"type": "event", "evtName": "Geofence Entered", "identity": "cust-1001", "ts": 1_714_565_400,
                    "evtData": {"Geofence ID": "5f1c0000000000000000g042", "Geofence Tag": "store",
                                "Geofence External ID": "store-42", "Geofence": "Store 42 - Midtown",
                                "Latitude": 40.7484, "Longitude": -73.9857, "hookloop Event ID": "66329c1e5f8a2b0019e4a001"}})
        ]
    );
    let (_, trip) = plan(Source::Location, &fixture("location/platform-trip.json"));
    assert!(trip.is_empty(), "{trip:?}");
}

#[test]
fn an_export_status_alert_raises_nothing_by_default() {
    let (_, planned) = plan(
        Source::ClevertapExportStatus,
        &fixture("clevertap-export-status/export-completed.json"),
    );
    assert!(planned.is_empty());
}

#[test]
fn a_key_value_may_pick_a_configured_account_by_name_but_never_an_unknown_one() {
    let two = Accounts::from_json(
        r#"{"default": {"account_id": "A", "passcode": "p", "region": "in1"},
            "eu": {"account_id": "B", "passcode": "q", "region": "eu"}}"#,
        3,
    )
    .unwrap();
    let rules = Rules::parse(RULES, &two).unwrap();
    let body =
        r#"{"targetId": 7, "key_values": {"ct_account": "eu"}, "profiles": [{"objectId": "o1"}]}"#;
    let env = Envelope::received(
        Source::ClevertapWebhook,
        body.into(),
        datetime!(2024-05-01 07:08:09.010 UTC),
    );
    let n = Normalized::from_webhook(
        &parse_webhook(Source::ClevertapWebhook, body.as_bytes()).unwrap(),
        &env,
    );
    let items: Vec<_> = n.all_rows().map(|r| &r.attrs).collect();
    let planned = rules.records(Source::ClevertapWebhook, &items).unwrap();
    assert!(planned.iter().all(|p| p.account == "eu"));

    let body = body.replace("\"eu\"", "\"W9R-ACCOUNT-ID\"");
    let env = Envelope::received(
        Source::ClevertapWebhook,
        body.clone(),
        datetime!(2024-05-01 07:08:09.010 UTC),
    );
    let n = Normalized::from_webhook(
        &parse_webhook(Source::ClevertapWebhook, body.as_bytes()).unwrap(),
        &env,
    );
    let items: Vec<_> = n.all_rows().map(|r| &r.attrs).collect();
    let e = rules.records(Source::ClevertapWebhook, &items).unwrap_err();
    assert_eq!(e.field, "/key_values/ct_account");
}
