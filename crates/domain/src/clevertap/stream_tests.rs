//! The one-pass reader (`stream`) against the tree-based reader (`oracle`): the same webhook or
//! the same refusal, on generated campaign bodies.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{oracle, parse, stream, PROFILE_KEYS, TOP_LEVEL_KEYS};
use crate::limits::{MAX_ID_BYTES, MAX_TEXT_BYTES};
use crate::primitives::parse_json_object;

fn by_oracle(body: &[u8]) -> Result<super::CampaignWebhook, crate::ParseError> {
    oracle::parse(parse_json_object(body)?, body.len())
}

/// A structural key in a random casing, or another key.
fn key(canonical: &'static [&'static str]) -> impl Strategy<Value = String> {
    let spelled = (prop::sample::select(canonical), 0..5u8).prop_map(|(k, case)| match case {
        0 | 1 => k.to_owned(),
        2 => k.to_uppercase(),
        3 => k.to_lowercase(),
        _ => {
            let mut c = k.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        }
    });
    prop_oneof![5 => spelled, 1 => "[a-zA-Z_]{1,8}"]
}

/// Values of every kind: the right kinds, wrong kinds, null, ids and texts at their bounds.
fn value() -> impl Strategy<Value = Value> {
    let string = prop_oneof![
        "[a-z0-9@. -]{0,10}".prop_map(Value::String),
        Just(Value::String(" ".into())),
        Just(Value::String("a\u{1}b".into())),
        Just(Value::String("i".repeat(MAX_ID_BYTES + 1))),
        Just(Value::String("t".repeat(MAX_TEXT_BYTES + 1))),
    ];
    let leaf = prop_oneof![
        2 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => (-1e6..1e6f64).prop_map(Value::from),
        1 => Just(json!(1e130)),
        3 => string,
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object written out from `entries`, repeated keys kept.
fn object_text(entries: &[(String, String)]) -> String {
    let fields: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// A profile field of the right kind, its key in a random casing.
fn good_entry() -> impl Strategy<Value = (String, String)> {
    let fields = vec![
        ("identity", json!("i-1")),
        ("identity", json!(42)),
        ("email", json!("a@example.com")),
        ("name", json!("Bea")),
        ("phone", json!(919876543210u64)),
        ("push_token", json!("tok")),
        (
            "profileData",
            json!({"plan": "gold", "n": [1, {"a": null}]}),
        ),
        ("key_values", json!({"tier": "gold"})),
        ("event_properties", json!({"sku": "s"})),
        ("all_identities", json!(["a", "b"])),
        ("email", Value::Null),
        ("systemProfileData", json!({"x": 1})),
    ];
    (prop::sample::select(fields), 0..4u8).prop_map(|((k, v), case)| {
        let k = match case {
            0 | 1 => k.to_owned(),
            2 => k.to_uppercase(),
            _ => k.to_lowercase(),
        };
        (k, v.to_string())
    })
}

/// A profile object, mostly with an id, sometimes with repeated keys.
fn profile() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        "[a-z0-9]{1,6}".prop_map(|s| Value::String(s).to_string()),
        any::<u32>().prop_map(|n| n.to_string()),
    ];
    let entries = prop::collection::vec(
        prop_oneof![
            6 => good_entry(),
            1 => (key(PROFILE_KEYS), value().prop_map(|v| v.to_string())),
        ],
        0..6,
    );
    (
        prop::sample::select(&["objectId", "identity", "ObjectId", "none"][..]),
        id,
        entries,
    )
        .prop_map(|(id_key, id, mut entries)| {
            if id_key != "none" {
                entries.insert(0, (id_key.to_owned(), id));
            }
            object_text(&entries)
        })
}

/// `profiles`: an array of profiles, one profile, or something else.
fn profiles() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(profile(), 0..4).prop_map(|p| format!("[{}]", p.join(","))),
        3 => profile(),
        1 => value().prop_map(|v| v.to_string()),
        1 => Just("[7]".to_owned()),
    ]
}

/// A campaign body, with its structural keys in random casings and sometimes repeated.
fn body() -> impl Strategy<Value = String> {
    let target = prop_oneof![
        4 => any::<u32>().prop_map(|n| n.to_string()),
        2 => "[a-z0-9]{1,6}".prop_map(|s| Value::String(s).to_string()),
        1 => value().prop_map(|v| v.to_string()),
    ];
    // Other keys, now and then a structural one again (in another casing, or the same).
    let other_key = prop_oneof![3 => "[a-z_]{1,8}", 1 => key(TOP_LEVEL_KEYS)];
    let others = prop::collection::vec((other_key, value().prop_map(|v| v.to_string())), 0..3);
    (
        prop::option::weighted(0.9, target),
        prop::option::weighted(0.95, profiles()),
        prop::option::of(prop::collection::btree_map("[a-zA-Z]{1,4}", value(), 0..3)),
        prop::option::of(any::<bool>()),
        others,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(target, profiles, kv, is_test, others, at)| {
            let mut entries = others;
            let mut push = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    let i = at.index(entries.len() + 1);
                    entries.insert(i, (k.to_owned(), v));
                }
            };
            push("targetId", target);
            push("profiles", profiles);
            push("key_values", kv.map(|m| json!(m).to_string()));
            push("is_test", is_test.map(|b| b.to_string()));
            object_text(&entries)
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3_000, failure_persistence: None, ..ProptestConfig::default()
    })]

    #[test]
    fn one_read_gives_what_the_tree_gives(body in body()) {
        prop_assert_eq!(parse(body.as_bytes()), by_oracle(body.as_bytes()), "{}", body);
    }
}

#[test]
fn plain_campaigns_are_read_in_one_pass() {
    for body in [
        json!({"targetId": 1, "profiles": [{"objectId": "a", "profileData": {"x": 1}}]}),
        json!({"TargetId": "t", "Profiles": {"Identity": 4, "Key_Values": {"k": [1]}},
               "Key_Values": {"a": null}, "is_test": false, "other": {"deep": [[1]]}}),
        json!({"targetId": 1, "profiles": [], "is_test": null}),
    ] {
        let text = body.to_string();
        assert!(stream::read(text.as_bytes()).is_some(), "{text}");
        assert_eq!(parse(text.as_bytes()), by_oracle(text.as_bytes()));
    }
}

#[test]
fn what_one_read_gives_up_on_the_tree_decides() {
    for body in [
        &br#"{"targetId": 1, "profiles": [{"ObjectId": 5.5, "objectId": "a"}]}"#[..],
        br#"{"targetId": 1, "profiles": [{"objectId": "b", "objectid": 5.5}]}"#,
        br#"{"targetId": 1, "targetId": 2, "profiles": []}"#,
        br#"{"targetId": 1, "profiles": [null]}"#,
        br#"{"targetId": 1, "profiles": [{"objectId": "a"}]} x"#,
        br#"{"targetId": 1, "profiles": [{"objectId": "a", "x": 1e400}]}"#,
    ] {
        assert!(
            stream::read(body).is_none(),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(parse(body), by_oracle(body));
    }
    let deep = format!(
        r#"{{"targetId": 1, "profiles": [{{"objectId": "a", "x": {}1{}}}]}}"#,
        "[".repeat(30),
        "]".repeat(30)
    );
    assert!(stream::read(deep.as_bytes()).is_none());
    let e = parse(deep.as_bytes()).unwrap_err();
    assert_eq!(e, by_oracle(deep.as_bytes()).unwrap_err());
    assert!(e.message.contains("nested too deep"), "{e}");
}
