//! The compactor function: hourly at 10 past, one run at a time, with exactly the settings its
//! code reads, and an alarm that names the command to compact an hour by hand.

use std::cell::RefCell;
use std::collections::BTreeSet;

use hookloop_curated::{settings_from_env, Settings};
use hookloop_runtime::config::Env;
use hookloop_tests::repo_root;
use serde_json::{json, Value};

use crate::template::*;

const COMPACTOR: &str = "CompactorFunction";

#[test]
fn the_compactor_runs_hourly_after_the_hour_has_landed_one_run_at_a_time() {
    let t = template();
    let f = props(&t, COMPACTOR);
    let events = f["Events"].as_object().expect("Events");
    assert_eq!(events.len(), 1, "only the schedule invokes it: {events:?}");
    let (_, event) = events.iter().next().expect("an event");
    assert_eq!(event["Type"], "Schedule", "an EventBridge rule");
    // Every hour at minute 10: the hour that just ended has landed.
    assert_eq!(event["Properties"]["Schedule"], "cron(10 * * * ? *)");
    assert_eq!(
        f["ReservedConcurrentExecutions"],
        json!({"Fn::If": ["CompactorReserved", 1, {"Ref": "AWS::NoValue"}]}),
        "two runs never race on an hour, unless the account cannot reserve"
    );
    assert_eq!(
        t["Parameters"]["CompactorReservedConcurrency"]["Default"],
        "1"
    );
    assert_eq!(
        t["Conditions"]["CompactorReserved"],
        json!({"Fn::Equals": [{"Ref": "CompactorReservedConcurrency"}, "1"]})
    );
    assert_eq!(f["Timeout"], 900, "Lambda's longest");
    let memory = &t["Parameters"]["CompactorMemorySize"];
    assert_eq!(f["MemorySize"], r#ref("CompactorMemorySize"));
    assert!(memory["Default"].as_u64() >= Some(1024), "{memory}");
    assert!(memory["MinValue"].as_u64() >= Some(1024), "{memory}");
}

#[test]
fn the_compactors_environment_is_exactly_what_its_code_reads_with_the_codes_defaults() {
    let t = template();
    let f = props(&t, COMPACTOR);
    let vars = f["Environment"]["Variables"]
        .as_object()
        .expect("Variables");

    // The names the settings are read from: run the code's reader and record what it asks for.
    let asked = RefCell::new(BTreeSet::new());
    let defaults = settings_from_env(&Env::new(|name: &str| {
        asked.borrow_mut().insert(name.to_owned());
        None
    }))
    .expect("the defaults");
    assert_eq!(defaults, Settings::default());
    let main = std::fs::read_to_string(repo_root().join("crates/compactor/src/main.rs"))
        .expect("the compactor's main.rs");
    assert!(
        main.contains("required(\"RAW_BUCKET\")"),
        "main.rs reads RAW_BUCKET"
    );
    let mut read = asked.into_inner();
    read.insert("RAW_BUCKET".into());
    let given: BTreeSet<String> = vars.keys().cloned().collect();
    assert_eq!(given, read, "every variable the code reads, and no other");
    assert_eq!(vars["RAW_BUCKET"], r#ref("RawBucket"));

    // The parameters default to the code's defaults, and the code accepts their whole range.
    let default_of = |var: &str| -> Value {
        let param = vars[var]["Ref"].as_str().expect("a parameter");
        t["Parameters"][param]["Default"].clone()
    };
    assert_eq!(
        default_of("COMPACT_LOOKBACK_HOURS"),
        json!(defaults.lookback_hours)
    );
    assert_eq!(default_of("COMPACT_MAX_HOURS"), json!(defaults.max_hours));
    for var in ["COMPACT_LOOKBACK_HOURS", "COMPACT_MAX_HOURS"] {
        let param = &t["Parameters"][vars[var]["Ref"].as_str().unwrap()];
        for bound in ["MinValue", "MaxValue"] {
            let value = param[bound].to_string();
            let env = Env::new(|name: &str| (name == var).then(|| value.clone()));
            assert!(
                settings_from_env(&env).is_ok(),
                "{var}={value} ({bound}) is refused by the code"
            );
        }
    }
    // Its metrics' Stack dimension comes from the globals, as for the other functions.
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]["STACK_NAME"],
        r#ref("AWS::StackName")
    );
}

#[test]
fn a_failed_compaction_alarms_and_names_the_command_that_compacts_an_hour_by_hand() {
    let t = template();
    let alarm = props(&t, "CompactorErrorsAlarm");
    assert_eq!(alarm["Namespace"], "AWS/Lambda");
    assert_eq!(alarm["MetricName"], "Errors");
    assert_eq!(
        alarm["Dimensions"],
        json!([{"Name": "FunctionName", "Value": r#ref(COMPACTOR)}])
    );
    let description = sub_text(&alarm["AlarmDescription"]).expect("a description");
    assert!(
        description.contains("`hookloop compact --hour YYYY-MM-DDTHH --stack ${AWS::StackName}`"),
        "{description}"
    );
    assert!(description.contains("/hookloop/${AWS::StackName}/compactor"));
    assert_eq!(
        t["Outputs"]["CompactorFunctionName"]["Value"],
        r#ref(COMPACTOR)
    );
}
