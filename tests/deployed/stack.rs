//! The deployed-stack test's harness: the stack `make deploy` creates, the emulator's IAM
//! enforcement and its audit, `cargo lambda watch` per function, and the events it is given.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use hookloop_aws::AwsClients;
use hookloop_cli::provision::Provisioned;
use hookloop_runtime::Registry;
use hookloop_tests::*;
use serde_json::{json, Value};

pub const REGION: &str = "us-east-1";
pub const INGEST: &str = "IngestFunction";
pub const PROCESSOR: &str = "ProcessorFunction";
pub const COMPACTOR: &str = "CompactorFunction";

/// What `inspect_stack.py` printed: the stack's outputs, its functions (environment, policies,
/// credentials holding those policies), an administrator key and the secrets' documents.
pub struct Deployed(pub Value);

impl Deployed {
    pub fn output(&self, key: &str) -> String {
        let v = &self.0["outputs"][key];
        v.as_str()
            .unwrap_or_else(|| panic!("stack output {key} missing: {v}"))
            .to_owned()
    }
    pub fn function(&self, id: &str) -> &Value {
        &self.0["functions"][id]
    }
    /// The function's environment as Lambda gives it: every value a string.
    pub fn env(&self, id: &str) -> BTreeMap<String, String> {
        let vars = self.function(id)["env"].as_object().cloned();
        vars.unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()), // the emulator keeps numbers as numbers
            })
            .collect()
    }
    pub fn key(&self, who: &Value) -> (String, String) {
        let s = |k: &str| {
            who[k]
                .as_str()
                .expect("access key in deploy output")
                .to_owned()
        };
        (s("access_key"), s("secret_key"))
    }
    /// The document of the secret the function's `SECRET_ARN` names.
    pub fn secret(&self, id: &str) -> Value {
        let arn = self.env(id).remove("SECRET_ARN");
        let arn = arn.unwrap_or_else(|| panic!("{id} has no SECRET_ARN in its environment"));
        let text = self.0["secrets"][&arn].as_str().expect("the secret's text");
        serde_json::from_str(text).expect("the secret is a JSON document")
    }
}

/// The parameter the deploy sets (`make deploy PARAMS=...`), to show it reaches the stack.
pub const ALARM_EMAIL: &str = "ops@example.com";

/// `make deploy` as README gives it (sam build, then sam deploy, whose "Deploy this changeset?"
/// this answers `y`), against the emulator, then the stack read back (`inspect_stack.py`).
pub fn deploy(moto: &Moto, stack: &str) -> Deployed {
    // One deploy at a time: `make deploy` builds into infra/.aws-sam, which `sam build` empties
    // first, and tests/deployed.rs and tests/deploy_fn.rs run in separate processes at once
    // (make test's lanes): a lock on a file, not in memory. Dropping it unlocks.
    let sam_dir = repo_root().join("infra/.aws-sam");
    std::fs::create_dir_all(&sam_dir).expect("infra/.aws-sam");
    let _one = std::fs::File::create(sam_dir.join("deploy.lock")).expect("the deploy lock's file");
    _one.lock().expect("lock infra/.aws-sam for make deploy");
    let mut make = Command::new("make")
        .args(["-s", "deploy", "REGION=us-east-1"])
        .arg(format!("STACK={stack}"))
        .arg(format!("PARAMS=AlarmEmail={ALARM_EMAIL}"))
        .current_dir(repo_root())
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        // The build settings of tests/infra.rs and tests/sam_local.rs, so they share one arm64
        // build: link-time optimisation proves nothing more here (make bench uses it).
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run make deploy");
    {
        use std::io::Write;
        let mut stdin = make.stdin.take().expect("make's stdin");
        stdin.write_all(b"y\n").expect("answer sam's prompt");
    }
    let out = make.wait_with_output().expect("make deploy's output");
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "make deploy failed:\n{said}");
    assert!(
        said.contains(&format!(
            "Successfully created/updated stack - {stack} in {REGION}"
        )),
        "sam deploy did not report the stack created:\n{said}"
    );
    assert!(
        said.matches("IngestSecretArn").count() >= 2,
        "sam deploy prints the outputs, and make deploy prints them again at the end:\n{said}"
    );

    let out = Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("infra/local/inspect_stack.py"))
        .args(["--endpoint", &moto.endpoint, "--stack", stack])
        .args(["--region", REGION])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::null())
        .output()
        .expect("run inspect_stack.py");
    assert!(
        out.status.success(),
        "inspect_stack.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = Deployed(serde_json::from_slice(&out.stdout).expect("inspect_stack.py prints JSON"));
    assert_eq!(
        d.0["parameters"]["AlarmEmail"], ALARM_EMAIL,
        "PARAMS reaches the stack"
    );
    for id in [INGEST, PROCESSOR, COMPACTOR] {
        let size = d.function(id)["code_size"].as_u64().unwrap_or(0);
        assert!(
            size > 1_000_000,
            "{id}: sam build's arm64 bootstrap uploaded, {size} bytes"
        );
    }
    d
}

/// From now on the emulator authorises every request by the caller's IAM policies.
pub async fn enforce_iam(moto: &Moto) {
    let resp = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto.endpoint))
        .header("content-type", "text/plain")
        .body("0")
        .send()
        .await
        .expect("moto reset-auth");
    assert!(resp.status().is_success(), "reset-auth: {}", resp.status());
}

pub async fn sdk_as(moto: &Moto, (key, secret): (String, String)) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key, secret, None, None, "deployed",
        ))
        .load()
        .await
}

/// The test's own view of the stack (administrator credentials), with TestEnv's readers.
pub async fn admin_env(moto: Moto, d: &Deployed) -> TestEnv {
    let sdk = sdk_as(&moto, d.key(&d.0["admin"])).await;
    let requests = Registry::new();
    TestEnv {
        clients: AwsClients::from_sdk_config(&sdk, requests.clone()),
        resources: Provisioned {
            queue_url: d.output("QueueUrl"),
            dlq_url: d.output("DeadLetterQueueUrl"),
            bucket: d.output("RawBucketName"),
            table: d.output("TableName"),
            stream: d.output("GeofenceStreamName"),
        },
        moto,
        sdk,
        requests,
    }
}

/// The function's environment exactly as the stack gives it, plus what Lambda itself provides:
/// the region, the endpoint (the emulator) and credentials for the function's role.
pub fn lambda_env(d: &Deployed, id: &str, moto: &Moto) -> BTreeMap<String, String> {
    let mut vars = d.env(id);
    let (key, secret) = d.key(d.function(id));
    for (k, v) in [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("RUST_LOG", "info".to_owned()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    vars
}

/// The `hookloop` binary as the stack's administrator runs it on the emulator (`--stack`
/// commands: the CLI reads the stack's outputs, then calls its resources).
pub fn hookloop_as_admin(d: &Deployed, moto: &Moto) -> tokio::process::Command {
    let (key, secret) = d.key(&d.0["admin"]);
    let mut cli = tokio::process::Command::new(hookloop_bin());
    cli.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null());
    cli
}

/// A sample event with the sample token ("dev-token") replaced by `token`.
pub fn with_token(file: &str, token: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(event_file(&format!("apigw/{file}"))).expect("event");
    let mut event: Value = serde_json::from_str(&text).expect("event JSON");
    if let Some(headers) = event["headers"].as_object_mut() {
        for v in headers.values_mut() {
            if let Some(s) = v.as_str() {
                *v = Value::from(s.replace("dev-token", token));
            }
        }
    }
    let path = dir.join(file);
    std::fs::write(&path, event.to_string()).expect("write event");
    path
}

/// The sample webhooks the ingest accepts, and the answers to the rest.
pub const INGEST_EVENTS: [(&str, u16); 8] = [
    ("clevertap-campaign.json", 200),
    ("clevertap-export-status.json", 200),
    ("location-radar-geofence.json", 200),
    ("location-platform-base64.json", 200),
    ("clevertap-test-call.json", 200),
    ("health.json", 200),
    ("location-missing-token.json", 401),
    ("unknown-route.json", 404),
];

/// Takes `n` messages off the stack's queue as the event source mapping would hand them over.
pub async fn sqs_event_from_queue(env: &TestEnv, n: usize) -> Value {
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while records.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} queued",
            records.len()
        );
        let out = env
            .clients
            .sqs
            .receive_message()
            .queue_url(&env.resources.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive from the stack's queue");
        for m in out.messages() {
            let attrs: BTreeMap<String, String> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())))
                .into_iter()
                .flatten()
                .collect();
            records.push(json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attrs,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:queue",
                "awsRegion": REGION,
            }));
        }
    }
    json!({ "Records": records })
}

/// Whether the emulator refused the call for want of permission (403 AccessDenied).
pub fn denied<T, E>(r: Result<T, aws_sdk_sqs::error::SdkError<E>>) -> bool {
    match r {
        Err(aws_sdk_sqs::error::SdkError::ServiceError(e)) => e.raw().status().as_u16() == 403,
        _ => false,
    }
}

/// The emulator's record of IAM decisions (`HOOKLOOP_IAM_AUDIT`, see moto_server.py).
pub struct Audit(pub PathBuf);

/// One authorised request: (action, resource, allowed).
pub type Decision = (String, String, bool);

impl Audit {
    /// The decisions so far on requests signed with `access_key`, from line `from` on.
    pub fn decisions(&self, access_key: &str, from: usize) -> Vec<Decision> {
        self.lines()
            .into_iter()
            .skip(from)
            .filter(|l| l["access_key"] == access_key)
            .map(|l| {
                let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
                (s("action"), s("resource"), l["allowed"] == true)
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lines().len()
    }

    fn lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// The distinct actions among `decisions`, each with the resources it was allowed on.
pub fn exercised(decisions: &[Decision]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (action, resource, _) in decisions.iter().filter(|(_, _, ok)| *ok) {
        // An S3 object by its top-level prefix: `arn:aws:s3:::bucket/raw/*`.
        let resource = match resource.split_once(":::") {
            Some((_, path)) if path.matches('/').count() > 2 => {
                let top: Vec<&str> = path.splitn(3, '/').take(2).collect();
                format!("arn:aws:s3:::{}/*", top.join("/"))
            }
            _ => resource.clone(),
        };
        out.entry(action.clone()).or_default().insert(resource);
    }
    out
}
