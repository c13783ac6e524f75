//! The curated Parquet layer's promises, end to end on the emulator: what `hookloop compact`
//! writes under `curated/` is what the table holds, typed, once per message; compacting again
//! changes nothing; late data is picked up; the named queries (infra/queries/*.sql) answer what
//! was sent. Read with DuckDB (PyPI `duckdb`, pinned in .venv) as an analyst would.
//!
//! DuckDB reads copies downloaded with the SDK: its `s3://` reader (the httpfs extension) is
//! downloaded at run time, which this machine cannot do.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hookloop_curated::tables::Kind;
use hookloop_curated::{Hour, Table};
use hookloop_domain::{encode_batch, raw_batch_key, Source};
use hookloop_tests::*;
use serde_json::Value;
use time::OffsetDateTime;

#[path = "curated/sent.rs"]
mod sent;
use sent::{assert_named_queries_answer, Sent};

/// .venv's python when it has duckdb; else `None` after saying why the test does not run.
fn duckdb_python() -> Option<PathBuf> {
    let python = repo_root().join(".venv/bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: {} cannot import duckdb: run `make setup` (make test does)",
            python.display()
        );
    }
    ok.then_some(python)
}

/// Downloads every object under `curated/` into a fresh directory, keys as paths.
async fn download_curated(env: &TestEnv) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hookloop-curated-{}", ulid::Ulid::new()));
    let archive = env.archive();
    for key in archive.list("curated/").await.expect("list curated/") {
        let bytes = archive
            .get(&key)
            .await
            .expect("get")
            .expect("listed object");
        let path = dir.join(&key);
        std::fs::create_dir_all(path.parent().expect("a key has a folder")).expect("mkdir");
        std::fs::write(&path, bytes).expect("write copy");
    }
    dir
}

/// DuckDB's view of a downloaded `curated/`: per table its count, column types and rows, and
/// each named query's answer.
fn duckdb_read(python: &Path, dir: &Path) -> Value {
    let out = std::process::Command::new(python)
        .arg(repo_root().join("tests/curated/duckdb_read.py"))
        .arg(dir)
        .arg(repo_root().join("infra/queries"))
        .output()
        .expect("run duckdb_read.py");
    assert!(
        out.status.success(),
        "duckdb_read.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
    serde_json::from_slice(&out.stdout).expect("duckdb_read.py prints JSON")
}

async fn compact(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["compact"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = env.hookloop(&all).await;
    assert!(ok, "hookloop {all:?} failed: {stderr}{stdout}");
    println!("$ hookloop {}\n{stdout}", all.join(" "));
    stdout
}

/// `s3:GetObject 3` from the `requests:` line `hookloop compact` prints.
fn requests(stdout: &str, op: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("requests: "))
        .into_iter()
        .flat_map(|l| l.split(", "))
        .find_map(|p| p.strip_prefix(&format!("s3:{op} ")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn duckdb_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text | Kind::Json => "VARCHAR",
        Kind::Float => "DOUBLE",
        Kind::Int => "BIGINT",
        Kind::Bool => "BOOLEAN",
        Kind::Time => "TIMESTAMP WITH TIME ZONE",
    }
}

fn rows<'a>(read: &'a Value, table: &str) -> &'a [Value] {
    read["tables"][table]["rows"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// What identifies a row across the table and the curated layer.
type RowKey = fn(&Value) -> String;

fn set(items: &[Value], f: impl Fn(&Value) -> String) -> BTreeSet<String> {
    items.iter().map(f).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_samples_land_in_typed_curated_tables_holding_what_the_table_holds() {
    let Some(python) = duckdb_python() else {
        return;
    };
    let env = TestEnv::start().await;
    let serve = env.serve(&[]).await;
    let http = reqwest::Client::new();
    let mut sent = 0;
    for dir in ["clevertap", "clevertap-export-status", "location"] {
        let source = match dir {
            "clevertap" => Source::ClevertapWebhook,
            "clevertap-export-status" => Source::ClevertapExportStatus,
            _ => Source::Location,
        };
        for f in std::fs::read_dir(event_file(&format!("webhooks/{dir}"))).unwrap() {
            let body = std::fs::read(f.unwrap().path()).unwrap();
            let (status, answer) = serve.post(&http, source.route(), body).await;
            assert_eq!(status, 200, "{answer}");
            sent += usize::from(answer["status"] == "queued");
        }
    }
    env.wait_for_archived(sent, Duration::from_secs(120)).await;
    compact(&env, &["--all"]).await;
    let read = duckdb_read(&python, &download_curated(&env).await);

    // Every column has the type docs/analytics.md gives it.
    for table in Table::ALL {
        let types = &read["tables"][table.name()]["types"];
        assert!(
            types.is_object(),
            "{}: no file for a kind every sample set has",
            table.name()
        );
        for c in table.columns() {
            assert_eq!(
                types[c.name],
                duckdb_type(c.kind),
                "{}.{}",
                table.name(),
                c.name
            );
        }
    }

    // What the table holds, the curated layer holds: every location event with its values,
    // every trip, user, campaign profile and export alert (the table keeps a trip's and a
    // user's latest state; the curated tables one row per message).
    let by_kind = |kind: &str, items: &[serde_json::Map<String, Value>]| -> Vec<Value> {
        items
            .iter()
            .filter(|i| i["kind"] == kind)
            .map(|i| Value::Object(i.clone()))
            .collect()
    };
    let expected_events = eventually("the table's rows", Duration::from_secs(60), || async {
        let items = env.scan_rows().await;
        let events = by_kind("location", &items);
        let keys = |v: &Value| format!("{}|{}|{}", v["user_id"], v["event_id"], v["created_at"]);
        (set(&events, keys) == set(rows(&read, "location_events"), keys)).then_some(items)
    })
    .await;
    let curated_events = rows(&read, "location_events");
    assert_eq!(
        curated_events.len(),
        by_kind("location", &expected_events).len()
    );
    for item in by_kind("location", &expected_events) {
        let row = curated_events
            .iter()
            .find(|r| r["event_id"] == item["event_id"])
            .expect("every event");
        for k in [
            "created_at",
            "received_at",
            "message_id",
            "user_id",
            "geofence_id",
        ] {
            assert_eq!(row[k], item.get(k).cloned().unwrap_or(Value::Null), "{k}");
        }
        for k in ["latitude", "longitude"] {
            assert_eq!(row[k].as_f64(), item[k].as_f64(), "{k}");
        }
    }
    let pairs: [(&str, &str, RowKey); 4] = [
        ("trip", "trips", |v| v["trip_id"].to_string()),
        ("user", "users", |v| v["user_id"].to_string()),
        ("campaign_profile", "clevertap_profiles", |v| {
            format!("{}|{}", v["target_id"], v["message_id"])
        }),
        ("export_status", "export_status", |v| {
            format!("{}|{}|{}", v["export_request_id"], v["status"], v["at"])
        }),
    ];
    for (kind, table, key) in pairs {
        assert_eq!(
            set(&by_kind(kind, &expected_events), key),
            set(rows(&read, table), key),
            "{table}"
        );
    }
    assert_eq!(
        rows(&read, "clevertap_profiles").len(),
        by_kind("campaign_profile", &expected_events).len(),
        "one row per profile and campaign webhook, as the table"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_is_idempotent_picks_up_late_data_and_the_named_queries_answer() {
    let Some(python) = duckdb_python() else {
        return;
    };
    let env = TestEnv::start().await;
    // An hour the schedule has to look back to: two hours ago.
    let hour = Hour::containing(OffsetDateTime::now_utc())
        .previous()
        .previous();
    let mut sent = Sent::new();
    for n in 0..12 {
        sent.geofence(hour, n, n % 5 != 4);
    }
    let base = hour.start().unix_timestamp() - 86_400;
    sent.trip(hour, "t1", base, base + 300);
    sent.trip(hour, "t1", base, base + 1_800);
    sent.trip(hour, "t2", base + 60, base + 660);
    sent.campaign(hour, 42, &["o1", "o2"]);
    sent.campaign(hour, 42, &["o2", "o3"]);
    sent.campaign(hour, 43, &["o1"]);
    sent.export(hour, 100, "Initiated", 0);
    sent.export(hour, 100, "Completed", 20);
    sent.export(hour, 200, "Initiated", 5);
    sent.archive(&env, 0).await;
    // A redelivery: the first message again, in a second batch object.
    let first = sent.webhooks[0].clone();
    let key = raw_batch_key(first.0, &[first.1]).unwrap();
    env.archive()
        .put_typed(
            &key,
            encode_batch([(first.1, first.2.as_bytes())]),
            "application/gzip",
        )
        .await
        .unwrap();

    // The schedule's run (no --hour, no --all) finds the hour.
    let out = compact(&env, &[]).await;
    assert!(out.contains(&format!("compacted {hour}:")), "{out}");
    let read = duckdb_read(&python, &download_curated(&env).await);
    assert_eq!(
        read["tables"]["location_events"]["count"], sent.events,
        "each message once"
    );
    let ids = set(rows(&read, "location_events"), |r| {
        r["message_id"].to_string()
    });
    assert_eq!(ids.len(), sent.events, "one event per location message");
    assert_named_queries_answer(&read, &sent);

    // Again: nothing changed, so nothing is read or written; --hour rewrites the same bytes.
    let before = env.archive().list_objects("curated/").await.unwrap();
    let again = compact(&env, &[]).await;
    assert!(again.contains("compacted 0"), "{again}");
    assert_eq!(requests(&again, "PutObject"), 0, "{again}");
    compact(&env, &["--hour", &hour.to_string()]).await;
    let after = env.archive().list_objects("curated/").await.unwrap();
    let parquet = |l: &[hookloop_aws::s3::Listed]| -> Vec<(String, String)> {
        l.iter()
            .filter(|o| o.key.ends_with(".parquet"))
            .map(|o| (o.key.clone(), o.etag.clone()))
            .collect()
    };
    assert_eq!(
        parquet(&after),
        parquet(&before),
        "the same files, the same bytes"
    );
    assert_eq!(parquet(&after).len(), 5, "one file per table for the hour");

    // Late data: messages retried or redriven into the hour already compacted.
    let from = sent.webhooks.len();
    sent.geofence(hour, 12, true);
    sent.geofence(hour, 13, true);
    sent.export(hour, 200, "Completed", 40);
    sent.archive(&env, from).await;
    let late = compact(&env, &[]).await;
    assert!(late.contains(&format!("compacted {hour}:")), "{late}");
    let read = duckdb_read(&python, &download_curated(&env).await);
    assert_eq!(read["tables"]["location_events"]["count"], sent.events);
    assert_named_queries_answer(&read, &sent);
    let files: HashSet<&str> = read["tables"]["location_events"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        files.len(),
        1,
        "the hour's file replaced, not a second one: {files:?}"
    );
}
