//! The static check of tests/deployed.rs: every action a function's policy grants is called by
//! its code, so a grant cannot outlive the code that needed it, nor sit on a function that never
//! reaches the adapter calling it.
//! A function's code is its own crates plus the modules of `crates/aws` they name
//! (`hookloop_aws::sqs`, ...), and the modules those name in turn (`crate::dynamodb`): the whole
//! `aws` crate is linked by all three, but each calls only the adapters it names.

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
    let mut out = String::new();
    for name in crate_names {
        walk(&repo_root().join("crates").join(name).join("src"), &mut out);
    }
    out
}

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
            out.push_str(&code_in(
                &std::fs::read_to_string(&path).unwrap_or_default(),
            ));
        }
    }
}

/// A file's code as the function runs it: no `#[cfg(test)]` tail, no `//` comments (a doc
/// comment naming a module or a call is not a use of it).
fn code_in(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module names `code` reaches through `prefix` (`hookloop_aws::s3::RawArchive`,
/// `hookloop_aws::{s3::RawArchive, AwsClients}` and `{dynamodb::{Swapped, Table}, sqs}` give
/// `s3`, `s3` and `AwsClients`, `dynamodb` and `sqs`).
fn modules_named(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        let Some(group) = rest.strip_prefix('{') else {
            found.insert(ident(rest));
            continue;
        };
        // The group's top-level items, each the first name of its path.
        let (mut depth, mut item_start) = (0usize, true);
        for (i, c) in group.char_indices() {
            if item_start && !c.is_whitespace() {
                found.insert(ident(&group[i..]));
                item_start = false;
            }
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                _ => {}
            }
        }
    }
    found.remove("");
    found
}

/// The source of the `crates/aws` modules `code` names, closed over the modules they name.
fn aws_source_for(code: &str) -> (String, BTreeSet<String>) {
    let src = repo_root().join("crates/aws/src");
    let source = |module: &str| -> Option<String> {
        let mut out = String::new();
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            out.push_str(&code_in(&std::fs::read_to_string(file).unwrap_or_default()));
        } else if src.join(module).is_dir() {
            walk(&src.join(module), &mut out);
        } else {
            return None; // a re-exported item (AwsClients, AwsError), not a module
        }
        Some(out)
    };
    let mut todo: Vec<String> = modules_named(code, "hookloop_aws::").into_iter().collect();
    let (mut seen, mut out) = (BTreeSet::new(), String::new());
    while let Some(module) = todo.pop() {
        if seen.contains(&module) {
            continue;
        }
        let Some(text) = source(&module) else {
            continue;
        };
        seen.insert(module);
        todo.extend(modules_named(&text, "crate::"));
        out.push_str(&text);
    }
    (out, seen)
}

/// A function's code: its crates, and the `aws` modules they reach.
fn code_of(crates: &[&str]) -> String {
    let own = source_of(crates);
    // Every use of the crate is a path the parser follows: no `use hookloop_aws as x`, no glob.
    for (at, _) in own.match_indices("hookloop_aws") {
        let next = &own[at + "hookloop_aws".len()..];
        assert!(
            next.starts_with("::") && !next.starts_with("::*"),
            "{crates:?}: a use of hookloop_aws the check cannot follow: {}",
            &own[at..(at + 60).min(own.len())]
        );
    }
    let (aws, _) = aws_source_for(&own);
    own + &aws
}

const LINKED: [(&str, &[&str]); 3] = [
    (INGEST, &["ingest", "domain", "runtime"]),
    (PROCESSOR, &["processor", "clevertap", "domain", "runtime"]),
    (COMPACTOR, &["compactor", "curated", "domain", "runtime"]),
];

fn linked(function: &str) -> &'static [&'static str] {
    LINKED
        .iter()
        .find(|(f, _)| *f == function)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| panic!("no crates for {function}"))
}

#[test]
fn the_check_tells_one_functions_adapters_from_anothers() {
    // What makes a grant on the wrong function fail: each function's code holds only the `aws`
    // modules it reaches. The ingest reaches the queue and not the stream, the processor both,
    // the compactor neither. (The check is by module: a module reached is reached whole.)
    let modules = |function: &str| aws_source_for(&source_of(linked(function))).1;
    let (ingest, processor, compactor) = (modules(INGEST), modules(PROCESSOR), modules(COMPACTOR));
    let has = |set: &BTreeSet<String>, m: &str| set.contains(m);
    assert!(
        has(&ingest, "sqs") && !has(&ingest, "kinesis"),
        "{ingest:?}"
    );
    assert!(
        has(&processor, "sqs") && has(&processor, "kinesis"),
        "{processor:?}"
    );
    assert!(
        has(&compactor, "s3") && !has(&compactor, "sqs") && !has(&compactor, "kinesis"),
        "{compactor:?}"
    );
    let (ingest_code, put_records) = (code_of(linked(INGEST)), sdk_call("kinesis:PutRecords"));
    assert!(!ingest_code.contains(&put_records));
    assert_eq!(
        modules_named(
            "use hookloop_aws::{dynamodb::{Swapped, Table}, sqs, s3::RawArchive};",
            "hookloop_aws::"
        ),
        BTreeSet::from(["dynamodb", "sqs", "s3"].map(str::to_owned))
    );
    assert_eq!(
        code_in("let x = 1; // hookloop_aws::sqs\n/// .put_item(\nlet u = \"http://x\";"),
        "let x = 1; \n\nlet u = \"http://x\";"
    );
}

#[test]
fn every_action_a_function_is_granted_is_called_by_its_code() {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).expect("template");
    let t: serde_yaml::Value = serde_yaml::from_str(&text).expect("template is YAML");
    for (function, crates) in LINKED {
        let code = code_of(crates);
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
