//! The static check of tests/deployed.rs: every action a function's policy grants is called by
//! its code (the crates its binary links), so a grant cannot outlive the code that needed it.

use std::collections::BTreeSet;
use std::path::Path;

use hookloop_tests::repo_root;

use crate::stack::{COMPACTOR, INGEST, PROCESSOR};

/// The SDK method an IAM action is called through: `dynamodb:BatchWriteItem` ->
/// `.batch_write_item(` (the Rust SDK names each operation in snake case). S3's listing is the
/// one whose action is not its operation's name: `ListObjectsV2` needs `s3:ListBucket`.
fn sdk_call(action: &str) -> String {
    if action == "s3:ListBucket" {
        return ".list_objects_v2(".to_owned();
    }
    let (_, operation) = action.split_once(':').unwrap_or(("", action));
    let mut call = String::from(".");
    for (i, c) in operation.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            call.push('_');
        }
        call.push(c.to_ascii_lowercase());
    }
    call.push('(');
    call
}

/// The non-test Rust source of `crates/<name>/src` (a file's `#[cfg(test)]` tail and files
/// named `*tests*` or under a `tests` directory are left out: only calls the function can make).
fn source_of(crate_names: &[&str]) -> String {
    fn walk(dir: &Path, out: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains("tests") || name == "stub" {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push_str(text.split("#[cfg(test)]").next().unwrap_or_default());
            }
        }
    }
    let mut out = String::new();
    for name in crate_names {
        walk(&repo_root().join("crates").join(name).join("src"), &mut out);
    }
    out
}

#[test]
fn every_action_a_function_is_granted_is_called_by_its_code() {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).expect("template");
    let t: serde_yaml::Value = serde_yaml::from_str(&text).expect("template is YAML");
    let linked: [(&str, &[&str]); 3] = [
        (INGEST, &["ingest", "aws", "domain", "runtime"]),
        (
            PROCESSOR,
            &["processor", "aws", "clevertap", "domain", "runtime"],
        ),
        (
            COMPACTOR,
            &["compactor", "curated", "aws", "domain", "runtime"],
        ),
    ];
    for (function, crates) in linked {
        let code = source_of(crates);
        let policies = t["Resources"][function]["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{function}: Policies is a list"));
        let mut actions = BTreeSet::new();
        for statement in policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
        {
            match &statement["Action"] {
                serde_yaml::Value::String(a) => {
                    actions.insert(a.clone());
                }
                serde_yaml::Value::Sequence(list) => {
                    actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)))
                }
                other => panic!("{function}: an Action that is not a name: {other:?}"),
            }
        }
        assert!(!actions.is_empty(), "{function}: no actions found");
        let uncalled: Vec<String> = actions
            .iter()
            .filter(|a| a.contains('*') || !code.contains(&sdk_call(a)))
            .map(|a| format!("{a} (no `{}` in crates {crates:?})", sdk_call(a)))
            .collect();
        assert!(
            uncalled.is_empty(),
            "{function} is granted actions no code path of it calls: {uncalled:#?}"
        );
    }
}
