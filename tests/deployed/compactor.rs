//! The compactor on the deployed stack: its environment names the stack's bucket; the scheduled
//! run after the hour the webhooks arrived in compacts that hour into curated/ under the
//! compactor's own role, and every curated file lies in a day its Glue table projects.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hookloop_curated::{Hour, Table, CURATED_PREFIX};
use hookloop_tests::samples::schedule_event_at;
use hookloop_tests::watch::Watch;
use hookloop_tests::TestEnv;

use crate::projection::DayProjection;
use crate::stack::{Deployed, COMPACTOR};

pub async fn compact_what_landed(
    d: &Deployed,
    env: &TestEnv,
    vars: &BTreeMap<String, String>,
    dir: &Path,
) {
    assert_eq!(d.env(COMPACTOR)["RAW_BUCKET"], env.resources.bucket);
    let hours: BTreeSet<Hour> = env
        .archived()
        .await
        .iter()
        .filter_map(|(_, key, _)| Hour::of_raw_key(key))
        .collect();
    let last = *hours.last().expect("the webhooks' arrival hours");
    // EventBridge's event for the run at 10 past the next hour.
    let event = schedule_event_at(last.next().start() + time::Duration::minutes(10), dir);
    let watch = Watch::start(vars, dir, "compactor").await;
    let answer = watch.invoke("hookloop-compactor", &event).await;
    let compacted: BTreeSet<String> = answer["compacted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["hour"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        compacted,
        hours.iter().map(Hour::to_string).collect::<BTreeSet<_>>(),
        "every arrival hour compacted: {answer}\n{}",
        watch.log()
    );

    let files = env
        .archive()
        .list(CURATED_PREFIX)
        .await
        .expect("list curated/");
    let database = d.output("AthenaDatabaseName");
    for table in Table::ALL {
        let name = table.name();
        let glue = format!("{database}.{name}");
        let params = d.0["glue_tables"][&glue]["Parameters"]
            .as_object()
            .unwrap_or_else(|| panic!("the stack has no Glue table {glue}"));
        let projection = DayProjection::from_parameters(params);
        let of_table: Vec<&String> = files
            .iter()
            .filter(|k| k.starts_with(&format!("{CURATED_PREFIX}{name}/")))
            .collect();
        // The samples hold a campaign, an export alert and location events.
        if matches!(
            table,
            Table::LocationEvents | Table::ExportStatus | Table::ClevertapProfiles
        ) {
            assert!(!of_table.is_empty(), "no curated file of {name}: {files:?}");
        }
        for key in of_table {
            let url = format!("s3://{}/{key}", env.resources.bucket);
            assert!(
                projection.partition_of(&url).is_some(),
                "{url} is in no day {glue} projects: {projection:?}"
            );
        }
    }
}
