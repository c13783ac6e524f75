//! Athena over the curated layer: one Glue table per curated table with the columns and types
//! the compaction writes (from the code's own Arrow schema, so the two cannot drift), Parquet,
//! partitioned by `dt` with projection over the keys the compaction writes; and one named query
//! per `infra/queries/*.sql`, with the file's exact text, in the stack's database and workgroup.

use std::collections::BTreeMap;

use arrow_schema::{DataType, TimeUnit};
use hookloop_curated::{curated_key, Hour, Table, CURATED_PREFIX};
use hookloop_tests::repo_root;
use serde_json::{json, Value};

use crate::projection::DayProjection;
use crate::template::*;

const BUCKET: &str = "my-raw-bucket";

/// Athena's (Hive's) name for the type an Arrow column is written with.
fn athena_type(t: &DataType) -> &'static str {
    match t {
        DataType::Utf8 => "string",
        DataType::Float64 => "double",
        DataType::Int64 => "bigint",
        DataType::Boolean => "boolean",
        DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if tz.as_ref() == "UTC" => "timestamp",
        other => panic!("no Athena type for a curated column of {other:?}: add one here"),
    }
}

/// The Glue table resource named `name`, by its `TableInput.Name`.
fn glue_table<'a>(t: &'a Value, name: &str) -> &'a Value {
    let found: Vec<_> = resources_of(t, "AWS::Glue::Table")
        .into_iter()
        .filter(|(_, r)| r["Properties"]["TableInput"]["Name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "one Glue table named {name}");
    &found[0].1["Properties"]
}

#[test]
fn each_curated_table_has_a_glue_table_with_exactly_the_columns_the_compaction_writes() {
    let t = template();
    for table in Table::ALL {
        let name = table.name();
        let p = glue_table(&t, name);
        assert_eq!(p["DatabaseName"], r#ref("ArchiveDatabase"), "{name}");
        let input = &p["TableInput"];
        assert_eq!(input["TableType"], "EXTERNAL_TABLE");
        let sd = &input["StorageDescriptor"];
        let columns = names_and_types(&sd["Columns"]);
        let written: Vec<(String, String)> = table
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), athena_type(f.data_type()).to_owned()))
            .collect();
        assert_eq!(columns, written, "{name}: the Glue columns, in order");
        assert_eq!(
            sd["SerdeInfo"]["SerializationLibrary"],
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        );
        assert_eq!(
            sd["InputFormat"],
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
        );
        assert_eq!(
            sd["OutputFormat"],
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
        );
        assert_eq!(
            sd["Location"],
            json!({"Fn::Sub": format!("s3://${{RawBucket}}/{CURATED_PREFIX}{name}/")})
        );
        assert_eq!(
            names_and_types(&input["PartitionKeys"]),
            [("dt".to_owned(), "string".to_owned())],
            "{name}"
        );
        assert_eq!(input["Parameters"]["classification"], "parquet");
    }
    assert!(
        resources_of(&t, "AWS::Glue::Crawler").is_empty(),
        "no crawler"
    );
}

/// A curated table's projection as CloudFormation resolves it for a bucket named [`BUCKET`].
fn projection(t: &Value, name: &str) -> DayProjection {
    DayProjection::from_parameters(&resolved_parameters(
        glue_table(t, name),
        &[("RawBucket", BUCKET)],
    ))
}

#[test]
fn every_file_the_compaction_writes_lies_in_a_day_its_table_projects() {
    let t = template();
    let hours = [
        "2026-01-01T00",
        "2026-11-22T05",
        "2026-12-31T23",
        "2028-02-29T09",
    ];
    for table in Table::ALL {
        let projection = projection(&t, table.name());
        for hour in hours {
            let h: Hour = hour.parse().expect("an hour");
            let url = format!("s3://{BUCKET}/{}", curated_key(table, h));
            let day = &hour[..10];
            assert_eq!(
                projection.partition_of(&url).as_deref(),
                Some(day),
                "{url}: {projection:?}"
            );
            assert!(url.starts_with(&projection.location(day)));
        }
        // Neither another table's files nor the manifests are read as this table's.
        for stranger in [
            format!("s3://{BUCKET}/{CURATED_PREFIX}_manifests/dt=2026-11-22.json"),
            format!(
                "s3://{BUCKET}/{CURATED_PREFIX}{}x/dt=2026-11-22/05.parquet",
                table.name()
            ),
            format!(
                "s3://{BUCKET}/{CURATED_PREFIX}{}/dt=2026-13-01/05.parquet",
                table.name()
            ),
        ] {
            assert_eq!(projection.partition_of(&stranger), None, "{stranger}");
        }
    }
}

/// Each `infra/queries/*.sql`, by file stem.
fn query_files() -> BTreeMap<String, String> {
    let dir = repo_root().join("infra/queries");
    std::fs::read_dir(&dir)
        .expect("infra/queries")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read_to_string(&p).expect("a query file"))
        })
        .collect()
}

#[test]
fn each_query_file_is_a_named_query_with_its_exact_text_in_the_stacks_database_and_workgroup() {
    let t = template();
    let files = query_files();
    assert!(files.len() >= 4, "{:?}", files.keys());
    let named: BTreeMap<String, Value> = resources_of(&t, "AWS::Athena::NamedQuery")
        .into_iter()
        .map(|(_, r)| {
            let p = &r["Properties"];
            (p["Name"].as_str().expect("a name").to_owned(), p.clone())
        })
        .collect();
    assert_eq!(
        named.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>(),
        "one named query per file, named after it"
    );
    for (name, text) in &files {
        let p = &named[name];
        // The text is taken as it is: no substitution (the tables are the database's).
        assert_eq!(p["QueryString"].as_str(), Some(text.as_str()), "{name}");
        assert_eq!(p["Database"], r#ref("ArchiveDatabase"), "{name}");
        assert_eq!(p["WorkGroup"], r#ref("AthenaWorkGroup"), "{name}");
        // Every table a query reads is a Glue table of the stack.
        let reads: Vec<&str> = Table::ALL
            .iter()
            .map(|t| t.name())
            .filter(|table| text.contains(&format!("FROM {table}")))
            .collect();
        assert!(!reads.is_empty(), "{name} reads no curated table");
        for table in reads {
            glue_table(&t, table);
        }
    }
}
