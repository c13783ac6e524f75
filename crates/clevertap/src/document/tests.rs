use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn example_rules() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/loadback-rules.json"
    ))
    .expect("infra/loadback-rules.json");
    serde_json::from_str::<Value>(&text).expect("JSON")["rules"].clone()
}

fn doc(accounts: Value, rules: Value) -> String {
    json!({"accounts": accounts, "rules": rules}).to_string()
}

fn pointers(r: Result<Document, Vec<Problem>>) -> Vec<String> {
    r.expect_err("problems")
        .into_iter()
        .map(|p| p.pointer)
        .collect()
}

#[test]
fn the_example_rules_with_one_account_make_a_document_with_the_secrets_passcode() {
    let text = doc(
        json!({"default": {"account_id": "W9R-1", "region": "in1"}}),
        example_rules(),
    );
    let passcodes = BTreeMap::from([("default".to_owned(), "s3cret".to_owned())]);
    let d = check(&text, Passcodes::Known(&passcodes), 3).expect("valid");
    let account = d.accounts.get("default").unwrap();
    assert_eq!(account.passcode.expose(), "s3cret");
    assert_eq!(account.base_url, "https://in1.api.clevertap.com");
    assert!(!d.rules.is_empty());
    assert!(
        check(&text, Passcodes::Placeholder, 3).is_ok(),
        "checked without the secret"
    );
}

#[test]
fn every_problem_is_named_by_its_json_pointer() {
    let mut rules = example_rules();
    rules[0]["type"] = json!("sms");
    rules[1]["properties"]["Last Webhook Campaign"]["from"] = json!("target_id");
    rules[2]["event_name"] = Value::Null;
    let text = doc(
        json!({"default": {"account_id": "W9R-1", "region": "moon base"},
               "eu": {"account_id": "W9R-2", "region": "eu"}}),
        rules,
    );
    let found = pointers(check(&text, Passcodes::Placeholder, 3));
    // A serde error stops the rules' reading at the first: rules[0]'s type.
    assert_eq!(found, vec!["/accounts/default/region", "/rules/0/type"]);

    let mut rules = example_rules();
    rules[1]["properties"]["Last Webhook Campaign"]["from"] = json!("target_id");
    rules[3]["name"] = rules[0]["name"].clone();
    let text = doc(
        json!({"default": {"account_id": "W9R-1", "region": "in1"}}),
        rules,
    );
    let found = pointers(check(&text, Passcodes::Placeholder, 3));
    assert_eq!(
        found,
        vec!["/rules/1/properties/Last Webhook Campaign", "/rules/3/name"],
        "every rule is checked, not only the first wrong one"
    );
}

#[test]
fn an_account_without_a_passcode_and_a_wrong_shape_are_refused() {
    let text = doc(
        json!({"main": {"account_id": "W9R-1", "region": "in1"}}),
        example_rules(),
    );
    let none = BTreeMap::new();
    let problems = check(&text, Passcodes::Known(&none), 3).unwrap_err();
    assert_eq!(problems[0].pointer, "/accounts/main");
    assert!(
        problems[0].message.contains("CLEVERTAP_PASSCODES"),
        "{}",
        problems[0]
    );

    assert_eq!(
        pointers(check("{\"rules\": []}", Passcodes::Placeholder, 3)),
        vec![""]
    );
    assert_eq!(pointers(check("[1", Passcodes::Placeholder, 3)), vec![""]);
    let text = doc(
        json!({"a": {"account_id": "A", "passcode": "p", "region": "in1"}}),
        json!([]),
    );
    let found = check(&text, Passcodes::Placeholder, 3).unwrap_err();
    assert_eq!(
        found[0].pointer, "/accounts/a/passcode",
        "passcodes never go in the document"
    );
    assert_eq!(
        pointers(check(&doc(json!({}), json!([])), Passcodes::Placeholder, 3)),
        vec!["/accounts"]
    );
}

#[test]
fn passcodes_come_from_the_secret_as_strings_and_are_never_echoed() {
    let ok = passcodes_from(Some(&json!({"main": "p1"}))).unwrap();
    assert_eq!(ok["main"], "p1");
    assert_eq!(passcodes_from(None).unwrap(), BTreeMap::new());
    let e = passcodes_from(Some(&json!({"main": 12345}))).unwrap_err();
    assert!(!e.contains("12345"), "{e}");
    assert!(passcodes_from(Some(&json!("p"))).is_err());
}

#[test]
fn pointers_name_keys_that_hold_dots_brackets_and_slashes_exactly() {
    let rule = |properties: Value, when: Value| {
        json!([{"name": "r", "source": "clevertap.webhook", "type": "event", "event_name": "E",
                "when": when, "properties": properties}])
    };
    let accounts = json!({"default": {"account_id": "W9R-1", "region": "in1"}});
    let cases = [
        // Found while compiling the rule: a `from` that is not a pointer.
        (
            rule(json!({"a.b[0]": {"from": "x"}}), json!({})),
            "/rules/0/properties/a.b[0]",
        ),
        (
            rule(json!({}), json!({"/event/type": {"nested": 1}})),
            "/rules/0/when/~1event~1type",
        ),
        // Found by serde while reading the document: a conversion it does not know.
        (
            rule(json!({"x.y~z": {"from": "/x", "as": "money"}}), json!({})),
            "/rules/0/properties/x.y~0z/as",
        ),
    ];
    for (rules, expected) in cases {
        let found = pointers(check(
            &doc(accounts.clone(), rules),
            Passcodes::Placeholder,
            3,
        ));
        assert_eq!(found, vec![expected]);
    }
    let text = doc(
        json!({"a/b": {"account_id": "", "region": "in1"}}),
        json!([]),
    );
    assert_eq!(
        pointers(check(&text, Passcodes::Placeholder, 3)),
        vec!["/accounts/a~1b"],
        "an account name with a slash is refused as a name, pointed at by its escaped key"
    );
}
