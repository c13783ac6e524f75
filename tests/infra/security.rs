//! Least privilege, encryption, the private TLS-only bucket, and secrets that stay secret.

use std::collections::BTreeSet;

use hookloop_curated::{curated_key, manifest_key, Hour, Table, CURATED_PREFIX, MANIFESTS_PREFIX};
use hookloop_domain::Source;
use hookloop_tests::repo_root;
use serde_json::{json, Value};

use crate::template::*;

/// The raw archive's prefix (crates/domain/src/archive.rs).
const RAW_PREFIX: &str = "raw/";

#[test]
fn functions_are_rust_on_arm64_with_tracing_json_logs_and_retention() {
    let t = template();
    let g = &t["Globals"]["Function"];
    assert_eq!(g["Runtime"], "provided.al2023");
    assert_eq!(g["Architectures"], json!(["arm64"]));
    assert_eq!(g["Tracing"], "Active");
    for (function, binary, crate_dir) in [
        ("IngestFunction", "hookloop-ingest", "crates/ingest"),
        (
            "ProcessorFunction",
            "hookloop-processor",
            "crates/processor",
        ),
        (
            "CompactorFunction",
            "hookloop-compactor",
            "crates/compactor",
        ),
    ] {
        let r = resource(&t, function);
        assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(r["Metadata"]["BuildProperties"]["Binary"], binary);
        let manifest =
            std::fs::read_to_string(repo_root().join(crate_dir).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{crate_dir} builds {binary}"
        );
        assert_eq!(r["Properties"]["CodeUri"], format!("../{crate_dir}"));
        let logging = &r["Properties"]["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON");
        let group = logging["LogGroup"]["Ref"]
            .as_str()
            .expect("log group is a resource of the stack");
        assert_eq!(resource(&t, group)["Type"], "AWS::Logs::LogGroup");
        assert_eq!(
            props(&t, group)["RetentionInDays"],
            r#ref("LogRetentionDays")
        );
    }
    assert_eq!(t["Parameters"]["IngestMemorySize"]["Default"], 128);
}

#[test]
fn each_function_may_do_only_what_it_does_on_exactly_its_resources() {
    let t = template();
    for function in ["IngestFunction", "ProcessorFunction", "CompactorFunction"] {
        for (actions, resources) in statements(&t, function) {
            assert!(
                actions.iter().all(|a| !a.contains('*')),
                "{function}: wildcard action in {actions:?}"
            );
            for r in &resources {
                assert_ne!(
                    r,
                    &json!("*"),
                    "{function}: wildcard resource for {actions:?}"
                );
            }
        }
    }
    let dedup_only = json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DEDUP#*"]}});
    // Latest-state rows, geofence states and export summaries: compare-and-swap writes.
    let conditional_only = json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TRIP#*", "USER#*", "EXPORT#*"]}});
    // The export check reads the export directory, and no other partition, with Query.
    let export_directory_only =
        json!({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["EXPORTS"]}});
    let table = || get_att("RowsTable", "Arn");
    let grant = |action: &str, resource: Value, condition: &Value| {
        (
            action.to_owned(),
            resource.to_string(),
            condition.to_string(),
        )
    };
    let none = Value::Null;
    assert_eq!(
        grants(&t, "IngestFunction"),
        BTreeSet::from([
            grant("sqs:SendMessage", get_att("WebhookQueue", "Arn"), &none),
            grant(
                "s3:PutObject",
                json!({"Fn::Sub": "${RawBucket.Arn}/claims/*"}),
                &none
            ),
            grant("dynamodb:PutItem", table(), &dedup_only),
            grant("dynamodb:GetItem", table(), &dedup_only),
            grant(
                "secretsmanager:GetSecretValue",
                r#ref("IngestSecret"),
                &none
            ),
        ])
    );
    assert_eq!(
        grants(&t, "ProcessorFunction"),
        BTreeSet::from([
            grant("dynamodb:Query", table(), &export_directory_only),
            grant(
                "s3:PutObject",
                json!({"Fn::Sub": "${RawBucket.Arn}/raw/*"}),
                &none
            ),
            grant(
                "s3:GetObject",
                json!({"Fn::Sub": "${RawBucket.Arn}/claims/*"}),
                &none
            ),
            grant(
                "s3:GetObject",
                json!({"Fn::Sub": "${RawBucket.Arn}/config/loadback.json"}),
                &none
            ),
            // The geofence document, and only that object of config/.
            grant(
                "s3:GetObject",
                json!({"Fn::Sub": "${RawBucket.Arn}/config/geofences.geojson"}),
                &none
            ),
            grant(
                "secretsmanager:GetSecretValue",
                r#ref("ProcessorSecret"),
                &none
            ),
            grant("dynamodb:BatchWriteItem", table(), &none),
            grant("dynamodb:PutItem", table(), &conditional_only),
            grant("dynamodb:BatchGetItem", table(), &none),
            grant("dynamodb:GetItem", table(), &dedup_only),
            grant("dynamodb:PutItem", table(), &dedup_only),
            grant(
                "kinesis:PutRecords",
                get_att("GeofenceStream", "Arn"),
                &none
            ),
            grant("sqs:SendMessage", get_att("DeadLetterQueue", "Arn"), &none),
        ])
    );
    // The compactor lists the raw archive's days and the manifests (and nothing else of the
    // bucket: not claims/, not config/), reads raw objects and manifests, writes curated/.
    let listed = json!({"StringLike": {"s3:prefix": [
        format!("{RAW_PREFIX}*"),
        format!("{MANIFESTS_PREFIX}*"),
    ]}});
    assert_eq!(
        grants(&t, "CompactorFunction"),
        BTreeSet::from([
            grant("s3:ListBucket", get_att("RawBucket", "Arn"), &listed),
            grant(
                "s3:GetObject",
                json!({"Fn::Sub": format!("${{RawBucket.Arn}}/{RAW_PREFIX}*")}),
                &none
            ),
            grant(
                "s3:GetObject",
                json!({"Fn::Sub": format!("${{RawBucket.Arn}}/{MANIFESTS_PREFIX}*")}),
                &none
            ),
            grant(
                "s3:PutObject",
                json!({"Fn::Sub": format!("${{RawBucket.Arn}}/{CURATED_PREFIX}*")}),
                &none
            ),
        ])
    );
    // Every key the compaction touches is under those prefixes.
    let hour: Hour = "2026-11-22T05".parse().expect("an hour");
    for source in Source::ALL {
        assert!(hour.raw_prefix(source).starts_with(RAW_PREFIX));
    }
    assert!(manifest_key(hour.date()).starts_with(MANIFESTS_PREFIX));
    for table in Table::ALL {
        assert!(curated_key(table, hour).starts_with(CURATED_PREFIX));
    }
}

#[test]
fn data_at_rest_is_encrypted_and_the_bucket_is_private_and_tls_only() {
    let t = template();
    let bucket = props(&t, "RawBucket");
    let sse = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        ["ServerSideEncryptionByDefault"]["SSEAlgorithm"];
    assert!(sse == "AES256" || sse == "aws:kms", "{sse}");
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(bucket["PublicAccessBlockConfiguration"][k], true, "{k}");
    }
    let rule = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(
        rule["Transitions"][0]["TransitionInDays"],
        r#ref("RawTransitionDays")
    );
    assert_eq!(rule["ExpirationInDays"], r#ref("RawExpirationDays"));

    let policy = props(&t, "RawBucketPolicy");
    assert_eq!(policy["Bucket"], r#ref("RawBucket"));
    let tls = policy["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Condition"]["Bool"]["aws:SecureTransport"] == "false")
        .expect("a statement on aws:SecureTransport");
    assert_eq!(tls["Effect"], "Deny");
    assert_eq!(tls["Principal"], "*");
    assert_eq!(tls["Action"], "s3:*");
    assert_eq!(
        tls["Resource"],
        json!([get_att("RawBucket", "Arn"), {"Fn::Sub": "${RawBucket.Arn}/*"}])
    );

    let table = props(&t, "RowsTable");
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    // Billing: the_table_bills_on_demand_unless_provisioned_capacity_is_chosen_...
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    );
    assert_eq!(
        table["AttributeDefinitions"],
        json!([{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
    );

    assert_eq!(
        props(&t, "GeofenceStream")["StreamEncryption"]["EncryptionType"],
        "KMS"
    );
    for q in ["WebhookQueue", "DeadLetterQueue"] {
        assert_eq!(props(&t, q)["SqsManagedSseEnabled"], true, "{q}");
    }
}

#[test]
fn the_api_serves_exactly_the_ingest_routes_and_the_token_stays_secret() {
    let t = template();
    let events: BTreeSet<(String, String)> = props(&t, "IngestFunction")["Events"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| {
            assert_eq!(e["Type"], "HttpApi");
            assert_eq!(e["Properties"]["ApiId"], r#ref("WebhookApi"));
            (
                e["Properties"]["Method"].as_str().unwrap().to_owned(),
                e["Properties"]["Path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut routes: BTreeSet<(String, String)> = Source::ALL
        .iter()
        .map(|s| ("POST".to_owned(), s.route().to_owned()))
        .collect();
    routes.insert(("GET".into(), "/health".into()));
    assert_eq!(events, routes);

    let api = props(&t, "WebhookApi");
    assert!(
        api["DefaultRouteSettings"]["ThrottlingRateLimit"].is_object()
            && api["DefaultRouteSettings"]["ThrottlingBurstLimit"].is_object()
    );
    assert_eq!(
        api["AccessLogSettings"]["DestinationArn"],
        get_att("ApiAccessLogs", "Arn")
    );

    // Secrets live in Secrets Manager, one per function: no parameter carries one, no
    // function's environment holds one, each function may read its own secret only.
    for (function, secret) in [
        ("IngestFunction", "IngestSecret"),
        ("ProcessorFunction", "ProcessorSecret"),
    ] {
        assert_eq!(resource(&t, secret)["Type"], "AWS::SecretsManager::Secret");
        assert_eq!(
            resources_using(&t, secret),
            [function],
            "only {function} sees {secret}"
        );
        let env = &props(&t, function)["Environment"]["Variables"];
        assert_eq!(env["SECRET_ARN"], r#ref(secret), "{function}");
        assert_eq!(env["SECRETS_TTL_SECONDS"], r#ref("SecretsTtlSeconds"));
        for var in [
            "WEBHOOK_TOKEN",
            "WEBHOOK_BASIC_AUTH",
            "CLEVERTAP_PASSCODE",
            "CLEVERTAP_ACCOUNTS",
        ] {
            assert!(
                env.get(var).is_none(),
                "{function} has {var} in its environment"
            );
        }
    }
    assert_eq!(t["Parameters"]["SecretsTtlSeconds"]["Default"], 300);
    let params = t["Parameters"].as_object().unwrap();
    for (name, p) in params {
        assert!(
            p.get("NoEcho").is_none(),
            "{name}: no secret goes through a parameter"
        );
    }
    let token = &props(&t, "IngestSecret")["GenerateSecretString"];
    assert_eq!(token["GenerateStringKey"], "WEBHOOK_TOKEN");
    assert!(token["PasswordLength"].as_u64().unwrap() >= 32);
}
