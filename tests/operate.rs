//! The operating commands against a deployed stack: `--stack NAME` finds the queue, DLQ, bucket
//! and processor function from a CloudFormation stack's outputs on the emulator (`--region` and
//! `--profile` choose where, as for the AWS CLI); `hookloop status` reports depth, the DLQ by
//! stage and code, the last stored webhook and the event source mapping; `hookloop init` makes
//! no request to real AWS unless asked; `hookloop completions` prints a script; `hookloop rules`
//! checks a load-back document, previews a webhook's records and uploads it to the stack.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hookloop_aws::stack::{self, StackOutputs};
use hookloop_cli::provision::Provisioned;
use hookloop_domain::{raw_object_key, MessageId, Source};
use hookloop_runtime::Registry;
use hookloop_tests::{hookloop_bin, TestEnv};
use serde_json::{json, Value};

/// Runs `hookloop <args>` with only `env` (no inherited AWS or pipeline variables).
async fn hookloop_with(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let home = std::env::temp_dir().join(format!("hookloop-home-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&home).expect("a temporary HOME");
    let out = tokio::process::Command::new(hookloop_bin())
        .args(args)
        .env_clear()
        // No ~/.aws of the machine running the tests, and no instance metadata lookups.
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run hookloop");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const INGEST_SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ingest-AbCdEf";

/// A stack whose outputs name `r`'s resources, plus a processor function (inline code, never
/// run) whose event source mapping on a queue of its own is disabled, as an operator pausing
/// processing leaves it.
fn template(r: &Provisioned) -> String {
    json!({
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
            "Processor": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"}}},
            "PollerQueue": {"Type": "AWS::SQS::Queue"},
            "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "FunctionName": {"Ref": "Processor"},
                "EventSourceArn": {"Fn::GetAtt": ["PollerQueue", "Arn"]},
                "BatchSize": 10, "Enabled": false}},
        },
        "Outputs": {
            "QueueUrl": {"Value": r.queue_url},
            "DeadLetterQueueUrl": {"Value": r.dlq_url},
            "RawBucketName": {"Value": r.bucket},
            "TableName": {"Value": r.table},
            "GeofenceStreamName": {"Value": r.stream},
            "ProcessorFunctionName": {"Value": {"Ref": "Processor"}},
            "LoadbackConfigUri": {"Value": format!("s3://{}/config/loadback.json", r.bucket)},
            "IngestSecretArn": {"Value": INGEST_SECRET},
        },
    })
    .to_string()
}

async fn create_stack(env: &TestEnv, name: &str, body: String) -> StackOutputs {
    let cfn = stack::client(&env.sdk, Registry::new());
    cfn.create_stack()
        .stack_name(name)
        .template_body(body)
        .send()
        .await
        .expect("CreateStack on the emulator");
    hookloop_tests::eventually("the stack", Duration::from_secs(30), || {
        let cfn = cfn.clone();
        async move {
            let s = StackOutputs::load(&cfn, name).await.ok()?;
            assert!(!s.status.contains("FAILED"), "{s:?}");
            (s.status == "CREATE_COMPLETE").then_some(s)
        }
    })
    .await
}

/// Dead-letters a message as the processor does: its attributes say where and why.
async fn dead_letter(env: &TestEnv, stage: &str, code: &str) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    env.dlq()
        .send(
            "{}".into(),
            &[
                ("stage", stage.into()),
                ("error_code", code.into()),
                ("failed_at", now),
                ("source", "location".into()),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_dlq_list_find_a_deployed_stack_by_its_outputs() {
    let env = TestEnv::start().await;
    let name = format!("ops-{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let outputs = create_stack(&env, &name, template(&env.resources)).await;
    let function = outputs.get("ProcessorFunctionName").unwrap().to_owned();

    for _ in 0..2 {
        env.queue().send("{}".into(), &[]).await.unwrap();
    }
    dead_letter(
        &env,
        "store",
        "dynamodb.BatchWriteItem:ResourceNotFoundException",
    )
    .await;
    dead_letter(
        &env,
        "store",
        "dynamodb.BatchWriteItem:ResourceNotFoundException",
    )
    .await;
    dead_letter(&env, "parse", "payload_invalid").await;
    let old = raw_object_key(
        Source::Location,
        MessageId::new(time::macros::datetime!(2026-01-01 00:00 UTC)),
    );
    env.archive().put(&old, b"{}".to_vec()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let newest = raw_object_key(
        Source::ClevertapWebhook,
        MessageId::new(time::OffsetDateTime::now_utc()),
    );
    env.archive().put(&newest, b"{}".to_vec()).await.unwrap();

    // Only credentials, region and the emulator: every resource comes from the stack.
    let endpoint = env.moto.endpoint.as_str();
    let aws = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let (ok, out, err) = hookloop_with(
        &[
            "status",
            "--stack",
            &name,
            "--region",
            "us-east-1",
            "--json",
        ],
        &aws,
    )
    .await;
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).expect("status --json prints JSON");
    assert_eq!(status["stack"]["status"], "CREATE_COMPLETE");
    assert_eq!(status["queue"]["url"], env.resources.queue_url.as_str());
    assert_eq!(status["queue"]["visible"], 2, "{status:#}");
    assert_eq!(status["dlq"]["visible"], 3, "{status:#}");
    assert_eq!(
        status["dlq"]["by_stage_and_code"],
        json!([
            {"stage": "store", "error_code": "dynamodb.BatchWriteItem:ResourceNotFoundException", "count": 2},
            {"stage": "parse", "error_code": "payload_invalid", "count": 1},
        ])
    );
    assert!(status["dlq"]["oldest_failed_at"].is_string(), "{status:#}");
    assert_eq!(status["last_processed"]["key"], newest.as_str());
    assert_eq!(status["processor_function"], function.as_str());
    let mappings = status["event_source_mappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 1, "{status:#}");
    assert_eq!(mappings[0]["state"], "Disabled");
    assert!(status["oldest_message_age"]["from"]
        .as_str()
        .unwrap()
        .contains("ApproximateAgeOfOldestMessage"));
    let config = &status["configuration"];
    assert_eq!(
        config["loadback_config"],
        format!("s3://{}/config/loadback.json", env.resources.bucket)
    );
    assert!(
        config["loadback_config_modified"].is_null(),
        "no document yet: {config}"
    );
    assert_eq!(config["ingest_secret"], INGEST_SECRET);
    assert_eq!(
        env.dlq().depth().await.unwrap(),
        (3, 0),
        "status peeks only"
    );

    let (ok, text, err) =
        hookloop_with(&["status", "--stack", &name, "--region", "us-east-1"], &aws).await;
    assert!(ok, "{err}");
    for line in [
        format!("stack {name} (CREATE_COMPLETE)"),
        "queue             2 waiting".into(),
        "dead-letter queue 3 waiting".into(),
        "2  stage=store".into(),
        "last processed    ".into(),
        "event source      Disabled".into(),
        "load-back         off (no document at s3://".into(),
        format!("secret            ingest: {INGEST_SECRET}"),
    ] {
        assert!(text.contains(&line), "{line:?} not in:\n{text}");
    }
    assert!(text.contains(&newest), "{text}");

    // `--profile`: credentials and region from a named profile, as the AWS CLI reads them.
    let dir = std::env::temp_dir().join(format!("hookloop-aws-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (config, credentials) = (dir.join("config"), dir.join("credentials"));
    std::fs::write(&config, "[profile ops]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &credentials,
        "[ops]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    let files = |p: &Path| p.to_str().unwrap().to_owned();
    let (config, credentials) = (files(&config), files(&credentials));
    let profile_env = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_CONFIG_FILE", config.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
    ];
    let (ok, out, err) = hookloop_with(
        &[
            "dlq",
            "list",
            "--stack",
            &name,
            "--profile",
            "ops",
            "--json",
        ],
        &profile_env,
    )
    .await;
    assert!(ok, "{err}");
    let listed: Vec<Value> = serde_json::from_str(&out).expect("dlq list --json");
    assert_eq!(listed.len(), 3);
    assert_eq!(
        env.dlq().depth().await.unwrap(),
        (3, 0),
        "listing consumes nothing"
    );
    // The other operating commands take the same flags: redrive (both queues), replay (bucket
    // and queue), dry runs here.
    let stack_args = ["--stack", name.as_str(), "--profile", "ops"];
    let (ok, out, err) = hookloop_with(
        &[
            &["dlq", "redrive", "--filter", "stage=parse", "--dry-run"][..],
            &stack_args,
        ]
        .concat(),
        &profile_env,
    )
    .await;
    assert!(ok && out.contains("would move 1 message(s)"), "{out}{err}");
    let (ok, out, err) = hookloop_with(
        &[&["replay", "--from", "raw/", "--dry-run"][..], &stack_args].concat(),
        &profile_env,
    )
    .await;
    assert!(
        ok && out.contains("would replay 2 archived webhook(s)"),
        "{out}{err}"
    );
    // Without the profile there is no region at all: the command says so.
    let (ok, _, err) = hookloop_with(&["dlq", "list", "--stack", &name], &profile_env).await;
    assert!(!ok && err.contains("--region"), "{err}");

    // Another region has no such stack; a stack without the outputs is named with what it has.
    let (ok, _, err) =
        hookloop_with(&["status", "--stack", &name, "--region", "eu-west-1"], &aws).await;
    assert!(!ok && err.contains(&name), "{err}");
    let bare = format!("{name}-bare");
    create_stack(
        &env,
        &bare,
        json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
               "Outputs": {"QueueUrl": {"Value": {"Ref": "Q"}}}})
        .to_string(),
    )
    .await;
    let (ok, _, err) = hookloop_with(
        &["dlq", "list", "--stack", &bare, "--region", "us-east-1"],
        &aws,
    )
    .await;
    assert!(
        !ok && err.contains(&format!(
            "stack {bare} has no output DeadLetterQueueUrl (it has: QueueUrl)"
        )),
        "{err}"
    );

    // Without --stack: the environment, as `hookloop init` prints it; no function to report.
    let (ok, out, err) = env.hookloop(&["status", "--json"]).await;
    assert!(ok, "{err}");
    let local: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(local["dlq"]["visible"], 3);
    assert!(local["event_source_mappings"].is_null(), "{local:#}");
}

#[tokio::test]
async fn init_without_an_emulator_makes_no_request_unless_asked() {
    // Every service's endpoint points at a listener that records connections: a request init
    // made (to "real AWS") would arrive here.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap = format!("http://{}", listener.local_addr().unwrap());
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL_SQS", trap.as_str()),
        ("AWS_ENDPOINT_URL_S3", trap.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", trap.as_str()),
        ("AWS_ENDPOINT_URL_KINESIS", trap.as_str()),
    ];
    let (ok, out, err) = hookloop_with(&["init"], &env).await;
    assert!(!ok, "init without AWS_ENDPOINT_URL must refuse: {out}");
    assert!(
        err.contains("AWS_ENDPOINT_URL is not set") && err.contains("--yes-real-aws"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
    let connected = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(connected.is_err(), "init made a request before refusing");

    // The control: asked, it does reach for the account (here, the listener).
    let mut asked = tokio::process::Command::new(hookloop_bin())
        .args(["init", "--yes-real-aws"])
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let connected = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await;
    let _ = asked.kill().await;
    assert!(
        matches!(connected, Ok(Ok(_))),
        "init --yes-real-aws sent no request: the trap does not catch requests"
    );
}

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    let (ok, bash, err) = hookloop_with(&["completions", "bash"], &[]).await;
    assert!(ok, "{err}");
    assert!(
        bash.contains("_hookloop()") && bash.contains("complete -F"),
        "{bash}"
    );
    for word in ["status", "dlq", "redrive", "--stack", "--profile"] {
        assert!(bash.contains(word), "{word} not completed");
    }
    let (ok, zsh, _) = hookloop_with(&["completions", "zsh"], &[]).await;
    assert!(ok && zsh.starts_with("#compdef hookloop"), "{zsh}");
    let (ok, _, err) = hookloop_with(&["completions", "tcsh"], &[]).await;
    assert!(!ok && err.contains("possible values"), "{err}");
}

/// Every output `--stack` reads is one infra/template.yaml declares (a rename in either breaks
/// the operating commands on every deployed stack).
#[test]
fn the_outputs_the_cli_reads_are_the_templates() {
    use hookloop_aws::stack::output;
    let template = std::fs::read_to_string(hookloop_tests::repo_root().join("infra/template.yaml"))
        .expect("infra/template.yaml");
    let outputs = template
        .split("\nOutputs:\n")
        .nth(1)
        .expect("the template has Outputs");
    for name in [
        output::QUEUE_URL,
        output::DLQ_URL,
        output::RAW_BUCKET,
        output::TABLE,
        output::GEOFENCE_STREAM,
        output::INGEST_FUNCTION,
        output::PROCESSOR_FUNCTION,
        output::INGEST_SECRET,
        output::PROCESSOR_SECRET,
        output::LOADBACK_CONFIG,
    ] {
        assert!(
            outputs.lines().any(|l| l == format!("  {name}:")),
            "infra/template.yaml has no output {name}"
        );
    }
}

#[path = "operate/rules.rs"]
mod rules;
