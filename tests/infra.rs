//! The deployment template keeps its promises: least-privilege IAM, encryption, a TLS-only private
//! bucket, the redrive and visibility-timeout rules, partial batch responses, alarms, and the three
//! webhook URLs. Parsed from infra/template.yaml, so an edit cannot silently drop one. Then the
//! tools: `sam validate --lint`, `cfn-lint`, and `sam build` producing two arm64 `bootstrap`s.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use hookloop_domain::Source;
use hookloop_tests::repo_root;
use serde_json::{json, Map, Value};

/// YAML to JSON, turning CloudFormation short forms (`!Ref X`, `!GetAtt A.B`) into long forms.
fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    (
                        k.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| format!("{k:?}")),
                        to_json(v),
                    )
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let name = t.tag.to_string().trim_start_matches('!').to_owned();
            let key = if name == "Ref" {
                name
            } else {
                format!("Fn::{name}")
            };
            let mut value = to_json(t.value);
            // `!GetAtt A.B` is `Fn::GetAtt: [A, B]`.
            if key == "Fn::GetAtt" {
                if let Some(s) = value.as_str() {
                    let (a, b) = s.split_once('.').unwrap_or((s, ""));
                    value = json!([a, b]);
                }
            }
            json!({ key: value })
        }
    }
}

fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    to_json(serde_yaml::from_str(&text).expect("template is YAML"))
}

fn resource<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["Resources"]
        .get(name)
        .unwrap_or_else(|| panic!("resource {name}"))
}

fn props<'a>(t: &'a Value, name: &str) -> &'a Value {
    &resource(t, name)["Properties"]
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

fn get_att(resource: &str, attr: &str) -> Value {
    json!({"Fn::GetAtt": [resource, attr]})
}

/// The resources that mention parameter `name`.
fn resources_using(t: &Value, name: &str) -> Vec<String> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r.to_string().contains(&format!("\"{name}\"")))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Every (action, resource, condition) a function's inline policies allow.
fn grants(t: &Value, function: &str) -> BTreeSet<(String, String, String)> {
    let policies = props(t, function)["Policies"]
        .as_array()
        .expect("Policies is a list");
    let mut out = BTreeSet::new();
    for s in policies
        .iter()
        .flat_map(|p| p["Statement"].as_array().cloned().unwrap_or_default())
    {
        for action in as_list(&s["Action"]) {
            for resource in as_list(&s["Resource"]) {
                out.insert((
                    action.as_str().unwrap_or_default().to_owned(),
                    resource.to_string(),
                    s["Condition"].to_string(),
                ));
            }
        }
    }
    out
}

fn r#ref(name: &str) -> Value {
    json!({ "Ref": name })
}

/// Every statement of a function's inline policies, as (actions, resources).
fn statements(t: &Value, function: &str) -> Vec<(BTreeSet<String>, Vec<Value>)> {
    let policies = props(t, function)["Policies"]
        .as_array()
        .expect("Policies is a list");
    policies
        .iter()
        .flat_map(|p| {
            assert!(
                p.is_object(),
                "{function}: only inline policy documents, no managed policies or templates: {p}"
            );
            p["Statement"].as_array().cloned().unwrap_or_default()
        })
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{function}: {s}");
            let actions = as_list(&s["Action"])
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (actions, as_list(&s["Resource"]))
        })
        .collect()
}

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
    for function in ["IngestFunction", "ProcessorFunction"] {
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
            grant(
                "secretsmanager:GetSecretValue",
                r#ref("ProcessorSecret"),
                &none
            ),
            grant("dynamodb:BatchWriteItem", table(), &none),
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
fn alarms_watch_the_dlq_queue_age_errors_throttles_and_5xx() {
    let t = template();
    let alarms: BTreeSet<(String, String, String)> = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| {
            let p = &r["Properties"];
            let dim = &p["Dimensions"][0]["Value"];
            let target = dim["Ref"]
                .as_str()
                .or_else(|| dim["Fn::GetAtt"][0].as_str())
                .or_else(|| dim.as_str())
                .unwrap_or_default()
                .to_owned();
            (
                p["Namespace"].as_str().unwrap().to_owned(),
                p["MetricName"].as_str().unwrap().to_owned(),
                target,
            )
        })
        .collect();
    for want in [
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "DeadLetterQueue",
        ),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "WebhookQueue"),
        ("AWS/Lambda", "Errors", "IngestFunction"),
        ("AWS/Lambda", "Throttles", "IngestFunction"),
        ("AWS/Lambda", "Errors", "ProcessorFunction"),
        ("AWS/Lambda", "Throttles", "ProcessorFunction"),
        ("AWS/ApiGateway", "5xx", "WebhookApi"),
        // The processor's own EMF metric (namespace hookloop, Function dimension).
        ("hookloop", "LoadbackConfigRejected", "processor"),
    ] {
        let want = (want.0.to_owned(), want.1.to_owned(), want.2.to_owned());
        assert!(alarms.contains(&want), "missing alarm {want:?}");
    }
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

// ---- the tools, offline -------------------------------------------------------------------

fn venv_tool(name: &str) -> Command {
    let bin = repo_root().join(".venv/bin");
    assert!(
        bin.join(name).exists(),
        "{name} missing: run `make setup` (make test does)"
    );
    let mut cmd = Command::new(bin.join(name));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.current_dir(repo_root())
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "offline")
        .env("AWS_SECRET_ACCESS_KEY", "offline");
    cmd
}

#[test]
fn sam_validate_lint_and_cfn_lint_pass_with_no_warnings() {
    let out = venv_tool("sam")
        .args([
            "validate",
            "--lint",
            "--template-file",
            "infra/template.yaml",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("is a valid SAM Template"),
        "{text}"
    );
    let out = venv_tool("cfn-lint")
        .arg("infra/template.yaml")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.trim().is_empty(),
        "cfn-lint findings:\n{text}"
    );
}

/// ELF, 64-bit, machine 183 (AArch64).
fn is_arm64_elf(path: &PathBuf) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.len() > 20
        && &bytes[..4] == b"\x7fELF"
        && bytes[4] == 2
        && u16::from_le_bytes([bytes[18], bytes[19]]) == 183
}

#[test]
fn sam_build_produces_both_arm64_bootstraps_through_cargo_lambda() {
    // SAM writes .aws-sam/ where it runs: run it from a scratch directory, never the repository.
    let work_dir = std::env::temp_dir().join(format!("hookloop-sam-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&work_dir).unwrap();
    let build_dir = work_dir.join("build");
    // What this proves is the tooling: SAM's cargo-lambda build method turns the template's two
    // functions into arm64 bootstraps. Link-time optimisation over one codegen unit (the
    // deployed profile) would add minutes to every run after a code change and proves nothing
    // more here; `make build` and `make bench` (zip sizes, cold start) use the deployed profile.
    let out = venv_tool("sam")
        .current_dir(&work_dir)
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .args(["build", "--beta-features", "--template-file"])
        .arg(repo_root().join("infra/template.yaml"))
        .arg("--build-dir")
        .arg(&build_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sam build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for function in ["IngestFunction", "ProcessorFunction"] {
        let bootstrap = build_dir.join(function).join("bootstrap");
        assert!(
            is_arm64_elf(&bootstrap),
            "{} is not an arm64 executable",
            bootstrap.display()
        );
    }
    let _ = std::fs::remove_dir_all(&work_dir);
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
