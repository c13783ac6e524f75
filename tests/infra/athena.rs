//! Athena over what landed: a Glue table over the raw archive that projects its partitions from
//! the key layout, so it is queryable right after deploy (no crawler, no partition to add), for
//! both archive layouts, with a workgroup that has somewhere to write results.

use std::io::Read;

use hookloop_domain::{encode_batch, raw_partition, MessageId, Source};
use serde_json::{json, Map, Value};
use time::macros::datetime;

use crate::projection::Projection;
use crate::template::*;

const BUCKET: &str = "my-raw-bucket";

/// The raw table's projection as CloudFormation resolves it for a bucket named [`BUCKET`].
fn projection(t: &Value) -> Projection {
    let vars = [("RawBucket", BUCKET), ("RawExpirationDays", "365")];
    Projection::from_parameters(&resolved_parameters(props(t, "RawTable"), &vars))
}

#[test]
fn every_key_the_processor_writes_lies_in_a_partition_the_table_projects() {
    let t = template();
    let projection = projection(&t);
    // The enum is exactly the sources the ingest accepts, in their archive spelling.
    let sources: Vec<&str> = Source::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(projection.sources(), sources);
    // Arrival times at the edges of the hour, the day and the year.
    let times = [
        datetime!(2026-01-01 00:00:00.000 UTC),
        datetime!(2026-11-22 05:42:18.440 UTC),
        datetime!(2026-12-31 23:59:59.999 UTC),
        datetime!(2028-02-29 09:00:00.000 UTC),
    ];
    for source in Source::ALL {
        for at in times {
            let key = raw_partition(source, MessageId::new(at));
            let url = format!("s3://{BUCKET}/{key}");
            let partition = projection
                .partition_of(&format!("{url}01ABC-01ABD-00000000.ndjson.gz"))
                .unwrap_or_else(|| panic!("{key} is in no projected partition: {projection:?}"));
            assert_eq!(
                partition,
                (
                    source.as_str().to_owned(),
                    format!(
                        "{:04}-{:02}-{:02}",
                        at.year(),
                        u8::from(at.month()),
                        at.day()
                    ),
                    u32::from(at.hour()),
                ),
                "{key}"
            );
            // And Athena, asked for that partition, reads exactly that prefix.
            let (s, dt, hour) = partition;
            assert_eq!(projection.location(&s, &dt, hour), url);
        }
    }
    // Nothing outside the archive is read as part of it.
    for stranger in [
        format!("s3://{BUCKET}/claims/dt=2026-11-22/01ABC.json"),
        format!("s3://{BUCKET}/raw/source=other/dt=2026-11-22/hour=05/x.json"),
        format!("s3://{BUCKET}/raw/source=location/dt=2026-11-22/hour=5/x.json"),
        format!("s3://{BUCKET}/raw/source=location/dt=2026-13-01/hour=05/x.json"),
    ] {
        assert_eq!(projection.partition_of(&stranger), None, "{stranger}");
    }
}

#[test]
fn the_table_needs_no_crawler_and_keeps_partitions_only_as_long_as_the_archive() {
    let t = template();
    assert!(
        resources_of(&t, "AWS::Glue::Crawler").is_empty(),
        "no crawler"
    );
    let table = props(&t, "RawTable");
    assert_eq!(table["DatabaseName"], r#ref("ArchiveDatabase"));
    let input = &table["TableInput"];
    assert_eq!(input["Name"], "raw");
    assert_eq!(input["TableType"], "EXTERNAL_TABLE");
    assert_eq!(
        names_and_types(&input["PartitionKeys"]),
        [("source", "string"), ("dt", "string"), ("hour", "int")]
            .map(|(n, t)| (n.into(), t.into()))
    );
    let p = &input["Parameters"];
    assert_eq!(
        p["projection.dt.range"],
        json!({"Fn::Sub": "NOW-${RawExpirationDays}DAYS,NOW"}),
        "dates from the oldest object the lifecycle keeps to today"
    );
    assert_eq!(
        input["StorageDescriptor"]["Location"],
        json!({"Fn::Sub": "s3://${RawBucket}/raw/"})
    );
    // A database name Athena takes: the stack name with `-` as `_`.
    assert_eq!(
        props(&t, "ArchiveDatabase")["DatabaseInput"]["Name"],
        json!({"Fn::Join": ["_", {"Fn::Split": ["-", r#ref("AWS::StackName")]}]})
    );
}

/// The JSON object of each line of a batch object, as the processor writes it.
fn batch_lines(webhooks: &[(MessageId, &[u8])]) -> Vec<Map<String, Value>> {
    let bytes = encode_batch(webhooks.iter().map(|(id, body)| (*id, *body)));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("gzip");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn the_table_reads_each_archive_layout_with_the_body_as_a_string() {
    let t = template();
    assert_eq!(
        t["Conditions"]["RawArchiveBatch"],
        json!({"Fn::Equals": [r#ref("RawArchive"), "batch"]})
    );
    let sd = &props(&t, "RawTable")["TableInput"]["StorageDescriptor"];
    let branch = |v: &Value, i: usize| -> Value {
        assert_eq!(v["Fn::If"][0], "RawArchiveBatch", "{v}");
        v["Fn::If"][i].clone()
    };
    let names = |columns: Value| -> Vec<String> {
        columns
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert_eq!(c["Type"], "string", "{c}");
                c["Name"].as_str().unwrap().to_owned()
            })
            .collect()
    };

    // batch: the JSON SerDe over the NDJSON lines; its columns are exactly a line's fields.
    let serde = branch(&sd["SerdeInfo"], 1);
    assert_eq!(
        serde["SerializationLibrary"],
        "org.openx.data.jsonserde.JsonSerDe"
    );
    let id = MessageId::new(datetime!(2026-11-22 05:42:18.440 UTC));
    let body = br#"{"user":{"id":"u-1"},"note":"a \"quoted\"\nline"}"#;
    let lines = batch_lines(&[(id, body)]);
    let mut fields: Vec<String> = lines[0].keys().cloned().collect();
    let mut columns = names(branch(&sd["Columns"], 1));
    fields.sort();
    columns.sort();
    assert_eq!(columns, fields);
    assert_eq!(lines[0]["body"], String::from_utf8_lossy(body).as_ref());

    // object: each object is the body itself, read whole per line into `body`.
    let serde = branch(&sd["SerdeInfo"], 2);
    assert_eq!(
        serde["SerializationLibrary"],
        "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    );
    assert_eq!(names(branch(&sd["Columns"], 2)), ["body"]);
    assert_eq!(
        sd["InputFormat"],
        "org.apache.hadoop.mapred.TextInputFormat"
    );
}

#[test]
fn athena_has_a_workgroup_with_a_results_location_that_expires() {
    let t = template();
    let wg = props(&t, "AthenaWorkGroup");
    let results = &wg["WorkGroupConfiguration"]["ResultConfiguration"];
    assert_eq!(
        results["OutputLocation"],
        json!({"Fn::Sub": "s3://${RawBucket}/athena-results/"})
    );
    assert_eq!(
        results["EncryptionConfiguration"]["EncryptionOption"],
        "SSE_S3"
    );
    assert_eq!(
        wg["WorkGroupConfiguration"]["EnforceWorkGroupConfiguration"],
        true
    );
    let rules = as_list(&props(&t, "RawBucket")["LifecycleConfiguration"]["Rules"]);
    assert!(
        rules
            .iter()
            .any(|r| r["Prefix"] == "athena-results/" && r["ExpirationInDays"].is_u64()),
        "query results expire"
    );
    for output in ["AthenaDatabaseName", "AthenaWorkGroupName"] {
        assert!(t["Outputs"].get(output).is_some(), "{output}");
    }
}
