//! The pipeline's wiring: the queue and its DLQ, batching, load-back, the ingest's canary, the
//! custom domain, deduplication and the claim check, table capacity, and the outputs.

use hookloop_domain::Source;
use serde_json::{json, Map, Value};

use crate::template::*;

#[test]
fn the_queue_redrives_to_a_14_day_dlq_and_hides_messages_6x_the_processor_timeout() {
    let t = template();
    let queue = props(&t, "WebhookQueue");
    assert_eq!(queue["MaximumMessageSize"], 1_048_576);
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        get_att("DeadLetterQueue", "Arn")
    );
    assert_eq!(
        queue["RedrivePolicy"]["maxReceiveCount"],
        r#ref("MaxReceiveCount")
    );
    assert_eq!(
        props(&t, "ProcessorFunction")["Environment"]["Variables"]["MAX_RECEIVE_COUNT"],
        r#ref("MaxReceiveCount"),
        "the processor dead-letters on the same receive as the redrive policy"
    );
    assert_eq!(
        props(&t, "DeadLetterQueue")["MessageRetentionPeriod"],
        1_209_600
    );

    assert_eq!(
        props(&t, "ProcessorFunction")["Timeout"],
        r#ref("ProcessorTimeout")
    );
    assert_eq!(
        queue["VisibilityTimeout"],
        json!({"Fn::FindInMap": ["VisibilityTimeoutFor", {"Ref": "ProcessorTimeout"}, "Seconds"]})
    );
    let allowed = t["Parameters"]["ProcessorTimeout"]["AllowedValues"]
        .as_array()
        .unwrap();
    for timeout in allowed {
        let timeout = timeout.as_str().unwrap();
        let seconds = t["Mappings"]["VisibilityTimeoutFor"][timeout]["Seconds"]
            .as_i64()
            .unwrap_or_else(|| panic!("no visibility timeout for {timeout}"));
        assert!(
            seconds >= 6 * timeout.parse::<i64>().unwrap(),
            "{timeout} s function, {seconds} s visibility"
        );
    }
}

#[test]
fn the_processor_reports_batch_item_failures_with_bounded_concurrency() {
    let t = template();
    let event = &props(&t, "ProcessorFunction")["Events"]["Queue"];
    assert_eq!(event["Type"], "SQS");
    let p = &event["Properties"];
    assert_eq!(p["Queue"], get_att("WebhookQueue", "Arn"));
    assert_eq!(
        p["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        p["ScalingConfig"]["MaximumConcurrency"],
        r#ref("ProcessorMaxConcurrency")
    );
    assert_eq!(p["BatchSize"], r#ref("ProcessorBatchSize"));
    assert_eq!(
        p["MaximumBatchingWindowInSeconds"],
        r#ref("ProcessorBatchingWindowSeconds")
    );
}

#[test]
fn the_defaults_are_the_batching_the_cost_model_prices() {
    let t = template();
    let default = |p: &str| t["Parameters"][p]["Default"].as_u64().unwrap();
    // README's and BENCHMARKS.md's cost at the defaults is the B = 100 column.
    assert_eq!(default("ProcessorBatchSize"), 100);
    assert_eq!(default("ProcessorBatchingWindowSeconds"), 1);
    // Lambda refuses a batch above 10 from a standard queue without a batching window.
    assert!(default("ProcessorBatchSize") <= 10 || default("ProcessorBatchingWindowSeconds") >= 1);
}

#[test]
fn load_back_is_configured_on_the_processor_only_and_stays_within_clevertaps_concurrency() {
    let t = template();
    let env = &props(&t, "ProcessorFunction")["Environment"]["Variables"];
    for (var, param) in [
        ("CLEVERTAP_MAX_CONCURRENCY", "ClevertapMaxConcurrency"),
        ("CLEVERTAP_TIMEOUT_MS", "ClevertapTimeoutMs"),
    ] {
        assert_eq!(env[var], r#ref(param), "{var}");
    }
    // Accounts and rules come from the document in the stack's bucket, not from parameters
    // (SAM's parameter parser cuts JSON at its first quote).
    assert_eq!(
        env["LOADBACK_CONFIG"],
        json!({"Fn::Sub": "s3://${RawBucket}/config/loadback.json"})
    );
    for gone in [
        "CLEVERTAP_ACCOUNTS",
        "CLEVERTAP_ACCOUNT_ID",
        "LOADBACK_RULES",
    ] {
        assert!(env.get(gone).is_none(), "{gone}");
    }
    assert_eq!(
        resources_using(&t, "IngestSecret").len() + resources_using(&t, "ProcessorSecret").len(),
        2
    );
    let params = t["Parameters"].to_string();
    for gone in [
        "LoadbackRules",
        "ClevertapAccounts",
        "ClevertapPasscode",
        "WebhookToken",
    ] {
        assert!(!params.contains(gone), "parameter {gone} is gone");
    }
    // Instances x requests per instance must stay within CleverTap's 15 per account.
    let number = |p: &str| t["Parameters"][p]["Default"].as_u64().unwrap();
    let per_instance = number("ClevertapMaxConcurrency");
    assert_eq!(
        per_instance,
        hookloop_clevertap::DEFAULT_MAX_CONCURRENCY as u64
    );
    assert!(number("ProcessorMaxConcurrency") * per_instance <= 15);
    assert_eq!(t["Parameters"]["ClevertapMaxConcurrency"]["MaxValue"], 15);
}

#[test]
fn a_new_ingest_version_takes_traffic_by_canary_and_rolls_back_on_its_alarms() {
    let t = template();
    let ingest = props(&t, "IngestFunction");
    // The API calls the alias (SAM points its integration and permission there).
    assert_eq!(ingest["AutoPublishAlias"], "live");
    let preference = &ingest["DeploymentPreference"];
    assert_eq!(preference["Type"], r#ref("IngestDeployment"));
    assert_eq!(
        t["Parameters"]["IngestDeployment"]["Default"],
        "Canary10Percent5Minutes"
    );
    assert_eq!(
        preference["Alarms"],
        json!([r#ref("IngestErrorsAlarm"), r#ref("Ingest5xxAlarm")]),
        "rolled back when the ingest fails or the API answers 5xx"
    );
    assert!(
        props(&t, "ProcessorFunction")
            .get("AutoPublishAlias")
            .is_none(),
        "the processor is fed by its queue, not by callers: no canary"
    );
}

#[test]
fn an_optional_custom_domain_keeps_the_webhook_urls_across_an_api_replacement() {
    let t = template();
    let both = json!({"Fn::And": [
        {"Fn::Not": [{"Fn::Equals": [r#ref("CustomDomainName"), ""]}]},
        {"Fn::Not": [{"Fn::Equals": [r#ref("CustomDomainCertificateArn"), ""]}]},
    ]});
    assert_eq!(t["Conditions"]["HasCustomDomain"], both);
    assert_eq!(
        t["Parameters"]["CustomDomainName"]["Default"], "",
        "off by default"
    );
    for name in ["WebhookDomain", "WebhookDomainMapping"] {
        assert_eq!(resource(&t, name)["Condition"], "HasCustomDomain", "{name}");
    }
    let domain = props(&t, "WebhookDomain");
    assert_eq!(domain["DomainName"], r#ref("CustomDomainName"));
    assert_eq!(
        domain["DomainNameConfigurations"][0]["CertificateArn"],
        r#ref("CustomDomainCertificateArn")
    );
    assert_eq!(
        domain["DomainNameConfigurations"][0]["SecurityPolicy"],
        "TLS_1_2"
    );
    let mapping = props(&t, "WebhookDomainMapping");
    assert_eq!(mapping["ApiId"], r#ref("WebhookApi"));
    assert_eq!(mapping["Stage"], "$default");
    assert_eq!(
        t["Outputs"]["CustomDomainTarget"]["Condition"],
        "HasCustomDomain"
    );
}

#[test]
fn outputs_give_the_three_webhook_urls_and_the_resource_names() {
    let t = template();
    let outputs: &Map<String, Value> = t["Outputs"].as_object().unwrap();
    for (name, route) in [
        ("ClevertapWebhookUrl", Source::ClevertapWebhook.route()),
        (
            "ClevertapExportStatusWebhookUrl",
            Source::ClevertapExportStatus.route(),
        ),
        ("LocationWebhookUrl", Source::Location.route()),
    ] {
        let url = outputs[name]["Value"]["Fn::Sub"].as_str().unwrap();
        assert!(
            url.starts_with("https://${WebhookApi}.execute-api.") && url.ends_with(route),
            "{name}: {url}"
        );
    }
    for name in [
        "QueueUrl",
        "DeadLetterQueueUrl",
        "RawBucketName",
        "TableName",
        "GeofenceStreamName",
    ] {
        assert!(outputs.contains_key(name), "{name}");
    }
}

#[test]
fn large_bodies_and_deduplication_are_wired_and_claims_outlive_the_dlq() {
    let t = template();
    let ingest = &props(&t, "IngestFunction")["Environment"]["Variables"];
    assert_eq!(
        ingest["RAW_BUCKET"],
        r#ref("RawBucket"),
        "the claim check is on"
    );
    assert_eq!(
        ingest["TABLE_NAME"],
        r#ref("RowsTable"),
        "deduplication is on"
    );
    let processor = &props(&t, "ProcessorFunction")["Environment"]["Variables"];
    assert_eq!(
        ingest["DEDUP_WINDOW_HOURS"],
        processor["DEDUP_WINDOW_HOURS"]
    );
    // The raw archive is batched unless the stack says otherwise; only the processor writes it.
    assert_eq!(processor["RAW_ARCHIVE"], r#ref("RawArchive"));
    assert_eq!(t["Parameters"]["RawArchive"]["Default"], "batch");
    assert_eq!(
        t["Parameters"]["RawArchive"]["AllowedValues"],
        json!(["batch", "object"])
    );
    assert!(ingest.get("RAW_ARCHIVE").is_none());
    // A redriven message must still find its body: claims expire after the DLQ lets go.
    let rules = as_list(&props(&t, "RawBucket")["LifecycleConfiguration"]["Rules"]);
    let claims = rules
        .iter()
        .find(|r| r["Prefix"] == "claims/")
        .expect("a lifecycle rule for claims/");
    let claim_seconds = claims["ExpirationInDays"].as_u64().unwrap() * 86_400;
    let dlq_seconds = props(&t, "DeadLetterQueue")["MessageRetentionPeriod"]
        .as_u64()
        .unwrap();
    assert!(
        claim_seconds > dlq_seconds,
        "{claim_seconds} <= {dlq_seconds}"
    );
}

#[test]
fn the_table_bills_on_demand_unless_provisioned_capacity_is_chosen_and_then_follows_the_load() {
    let t = template();
    let p = &t["Parameters"]["TableCapacity"];
    assert_eq!(p["Default"], "on-demand");
    assert_eq!(p["AllowedValues"], json!(["on-demand", "provisioned"]));
    assert_eq!(
        t["Conditions"]["TableProvisioned"],
        json!({"Fn::Equals": [r#ref("TableCapacity"), "provisioned"]})
    );
    let table = props(&t, "RowsTable");
    assert_eq!(
        table["BillingMode"],
        json!({"Fn::If": ["TableProvisioned", "PROVISIONED", "PAY_PER_REQUEST"]})
    );
    assert_eq!(
        table["ProvisionedThroughput"]["Fn::If"][1],
        json!({"ReadCapacityUnits": r#ref("TableReadCapacityMin"),
               "WriteCapacityUnits": r#ref("TableWriteCapacityMin")})
    );
    assert_eq!(
        table["ProvisionedThroughput"]["Fn::If"][2],
        r#ref("AWS::NoValue")
    );
    // Both dimensions scale between the stack's bounds, tracking 70 % use, and only when
    // provisioned (on-demand tables cannot have scalable targets).
    for (target, policy, dimension, metric, min, max) in [
        (
            "RowsTableWriteScaling",
            "RowsTableWritePolicy",
            "dynamodb:table:WriteCapacityUnits",
            "DynamoDBWriteCapacityUtilization",
            "TableWriteCapacityMin",
            "TableWriteCapacityMax",
        ),
        (
            "RowsTableReadScaling",
            "RowsTableReadPolicy",
            "dynamodb:table:ReadCapacityUnits",
            "DynamoDBReadCapacityUtilization",
            "TableReadCapacityMin",
            "TableReadCapacityMax",
        ),
    ] {
        for name in [target, policy] {
            assert_eq!(
                resource(&t, name)["Condition"],
                "TableProvisioned",
                "{name}"
            );
        }
        let s = props(&t, target);
        assert_eq!(s["ServiceNamespace"], "dynamodb");
        assert_eq!(s["ResourceId"], json!({"Fn::Sub": "table/${RowsTable}"}));
        assert_eq!(s["ScalableDimension"], dimension);
        assert_eq!(s["MinCapacity"], r#ref(min));
        assert_eq!(s["MaxCapacity"], r#ref(max));
        let p = props(&t, policy);
        assert_eq!(p["PolicyType"], "TargetTrackingScaling");
        assert_eq!(p["ScalingTargetId"], r#ref(target));
        let c = &p["TargetTrackingScalingPolicyConfiguration"];
        assert_eq!(c["TargetValue"], 70);
        assert_eq!(
            c["PredefinedMetricSpecification"]["PredefinedMetricType"],
            metric
        );
    }
}

#[test]
fn server_side_geofencing_reads_the_document_in_the_stacks_bucket_and_only_that_object() {
    let t = template();
    let processor = props(&t, "ProcessorFunction");
    let uri = json!({"Fn::Sub": "s3://${RawBucket}/config/geofences.geojson"});
    assert_eq!(processor["Environment"]["Variables"]["GEOFENCES"], uri);
    assert_eq!(t["Outputs"]["GeofencesUri"]["Value"], uri);
    let statements = processor["Policies"][0]["Statement"].as_array().unwrap();
    let read = statements
        .iter()
        .find(|s| s["Sid"] == "ReadGeofenceDocument")
        .expect("the processor may read the document");
    assert_eq!(read["Action"], "s3:GetObject");
    assert_eq!(
        read["Resource"],
        json!({"Fn::Sub": "${RawBucket.Arn}/config/geofences.geojson"})
    );
    // A user's state row is a conditional PutItem under USER#, which the latest-state rows'
    // statement already allows; its read is the BatchGetItem load-back markers use.
    let put = statements
        .iter()
        .find(|s| s["Action"] == "dynamodb:PutItem" && s["Sid"] == "WriteLatestStateRows")
        .unwrap();
    assert!(put.to_string().contains("USER#*"));
}

#[test]
fn the_anomaly_limits_default_to_the_codes_and_the_code_accepts_their_whole_range() {
    use hookloop_processor::geofencing::AnomalyLimits;

    let t = template();
    let read = read_processor_config;
    let defaults = AnomalyLimits::default();
    for var in ["MAX_SPEED_KMH", "FLAP_LIMIT", "FLAP_WINDOW_MINUTES"] {
        let default = config_at_default_accepting_the_bounds(&t, var);
        assert_eq!(
            default.anomaly_limits, defaults,
            "{var}'s default is the code's"
        );
    }
    let off = read("MAX_SPEED_KMH", "0".into()).unwrap();
    assert_eq!(off.anomaly_limits.max_speed_kmh, None, "0 turns it off");
}

#[test]
fn the_export_check_runs_every_15_minutes_on_the_processor_with_the_codes_defaults() {
    use hookloop_processor::ExportSettings;

    let t = template();
    let schedule = &props(&t, "ProcessorFunction")["Events"]["ExportCheck"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(15 minutes)");
    let vars = &props(&t, "ProcessorFunction")["Environment"]["Variables"];
    let param = |var: &str| processor_parameter(&t, var);
    let read = read_processor_config;
    for var in ["EXPORT_COMPLETION_HOURS", "EXPORT_GRACE_MINUTES"] {
        let default = config_at_default_accepting_the_bounds(&t, var);
        assert_eq!(
            default.exports,
            ExportSettings::default(),
            "{var}'s default is the code's"
        );
    }
    // The zone: empty by default (UTC), and the compactor reads the same parameter.
    assert_eq!(param("EXPORT_TIMEZONE")["Default"], "");
    assert_eq!(
        props(&t, "CompactorFunction")["Environment"]["Variables"]["EXPORT_TIMEZONE"],
        vars["EXPORT_TIMEZONE"]
    );
    assert!(read("EXPORT_TIMEZONE", "Asia/Kolkata".into()).is_ok());
    assert!(read("EXPORT_TIMEZONE", "Mars/Olympus".into()).is_err());
}

/// The template parameter the processor's variable `var` is set from.
fn processor_parameter<'a>(t: &'a Value, var: &str) -> &'a Value {
    let name = props(t, "ProcessorFunction")["Environment"]["Variables"][var]["Ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{var}: a parameter"));
    &t["Parameters"][name]
}

/// The processor's configuration with `var` = `value` and the required variables set.
fn read_processor_config(
    var: &str,
    value: String,
) -> Result<hookloop_processor::ProcessorConfig, hookloop_runtime::config::ConfigError> {
    hookloop_processor::ProcessorConfig::read(&hookloop_runtime::config::Env::new(
        move |name: &str| {
            if name == var {
                Some(value.clone())
            } else {
                ["RAW_BUCKET", "TABLE_NAME", "GEOFENCE_STREAM", "DLQ_URL"]
                    .contains(&name)
                    .then(|| "x".to_owned())
            }
        },
    ))
}

/// The processor's configuration at `var`'s parameter default, after checking the code accepts
/// the parameter's `MinValue` and `MaxValue`.
fn config_at_default_accepting_the_bounds(
    t: &Value,
    var: &str,
) -> hookloop_processor::ProcessorConfig {
    let p = processor_parameter(t, var);
    for bound in ["MinValue", "MaxValue"] {
        assert!(
            read_processor_config(var, p[bound].to_string()).is_ok(),
            "{var}={} ({bound}) is refused by the code",
            p[bound]
        );
    }
    read_processor_config(var, p["Default"].to_string()).expect("the default is accepted")
}
