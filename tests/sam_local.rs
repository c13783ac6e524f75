//! `sam local invoke`, as a user runs it, on a machine that cannot reach a container registry:
//! the three arm64 bootstraps from `sam build`, each run by SAM CLI in Docker from the
//! provided.al2023 base image (a stand-in built here from Debian packages; nothing is pulled)
//! under qemu, invoked with every file in `events/apigw`, `events/sqs` and `events/schedule`
//! against moto on the host. Each answer is the documented one, the rows are stored and the
//! compactor writes the stored hour's curated files.
//!
//! `infra/local/sam-local/setup.sh` installs and starts what this needs (Debian's Docker and
//! qemu-user); where Docker cannot run, the test says why and is skipped.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hookloop_tests::samples::*;
use hookloop_tests::*;
use serde_json::{json, Map, Value};

const FUNCTIONS: [&str; 3] = ["IngestFunction", "ProcessorFunction", "CompactorFunction"];
/// `sam local invoke`s run at once.
const INVOKES_AT_ONCE: usize = 3;

fn sam_local_dir() -> PathBuf {
    repo_root().join("infra/local/sam-local")
}

/// The Docker engine `setup.sh` made ready; stops the one it started, by its PID, when dropped.
struct Docker {
    started: bool,
}

impl Drop for Docker {
    fn drop(&mut self) {
        if self.started {
            let _ = Command::new(sam_local_dir().join("dockerd.sh"))
                .arg("stop")
                .status();
        }
    }
}

/// Runs setup.sh: `None` (with the reason printed) where Docker cannot run.
fn docker() -> Option<Docker> {
    let out = Command::new(sam_local_dir().join("setup.sh"))
        .output()
        .expect("run infra/local/sam-local/setup.sh");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Some(Docker {
            started: text.lines().any(|l| l.starts_with("started ")),
        }),
        Some(77) => {
            println!("SKIPPED sam local invoke: Docker cannot run on this machine:\n{text}");
            None
        }
        _ => panic!("infra/local/sam-local/setup.sh failed:\n{text}"),
    }
}

/// The address containers reach the host at: the default bridge's gateway (Docker 20.10 leaves
/// it out of the bridge's settings: then the subnet's first address, which Docker gives it).
fn bridge_gateway() -> IpAddr {
    let out = Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "-f",
            "{{range .IPAM.Config}}{{.Gateway}} {{.Subnet}}{{end}}",
        ])
        .output()
        .expect("docker network inspect");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (gateway, subnet) = text.trim_end().split_once(' ').unwrap_or_default();
    let first_in = |subnet: &str| -> Option<IpAddr> {
        let base: std::net::Ipv4Addr = subnet.split_once('/')?.0.parse().ok()?;
        Some(IpAddr::V4((u32::from(base) + 1).into()))
    };
    gateway
        .parse()
        .ok()
        .or_else(|| first_in(subnet))
        .unwrap_or_else(|| panic!("the bridge's gateway: {text:?}"))
}

/// Forwards connections to `ip:<free port>` to `to` (moto and the CleverTap stand-in listen on
/// loopback; the functions' containers reach the host at the bridge's gateway).
async fn forward(ip: IpAddr, to: SocketAddr) -> String {
    let listener = tokio::net::TcpListener::bind((ip, 0))
        .await
        .expect("bind on the bridge's gateway");
    let addr = listener.local_addr().expect("forwarder address");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

fn loopback(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|_| panic!("a loopback URL: {url}"))
}

/// `sam <args>` from the virtualenv, with offline credentials, in `dir`.
fn sam(dir: &Path) -> tokio::process::Command {
    let bin = repo_root().join(".venv/bin");
    assert!(
        bin.join("sam").exists(),
        "{} missing: run `make setup` (make test does)",
        bin.join("sam").display()
    );
    let mut cmd = tokio::process::Command::new(bin.join("sam"));
    cmd.current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(std::process::Stdio::null());
    cmd
}

/// `sam build` of infra/template.yaml into `dir/build`, as `make sam-build` builds it but without
/// link-time optimisation (as tests/infra.rs's sam build test, whose compiled crates this
/// reuses): what is proven is the tooling and the binaries, not the deployed profile's size.
async fn sam_build(dir: &Path) -> PathBuf {
    let build = dir.join("build");
    let out = sam(dir)
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .args(["build", "--beta-features", "--no-cached", "--template-file"])
        .arg(repo_root().join("infra/template.yaml"))
        .arg("--build-dir")
        .arg(&build)
        .output()
        .await
        .expect("run sam build");
    assert!(
        out.status.success(),
        "sam build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    build
}

/// The variables the template declares for `function`.
fn declared(template: &serde_yaml::Value, function: &str) -> Vec<String> {
    template["Resources"][function]["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// SAM sets only the variables the template declares, and the deployed template has no endpoint
/// variable (the functions find AWS by themselves). The one change made to the built template
/// for this test: each function also declares `AWS_ENDPOINT_URL`, so `--env-vars` can point it
/// at the emulator. Returns the template to invoke.
fn with_endpoint_variable(build: &Path) -> PathBuf {
    let text = std::fs::read_to_string(build.join("template.yaml")).expect("built template");
    let mut template: serde_yaml::Value = serde_yaml::from_str(&text).expect("built template");
    for function in FUNCTIONS {
        let vars = &mut template["Resources"][function]["Properties"]["Environment"]["Variables"];
        let vars = vars
            .as_mapping_mut()
            .unwrap_or_else(|| panic!("{function} declares its environment"));
        vars.entry("AWS_ENDPOINT_URL".into())
            .or_insert_with(|| "".into());
    }
    let path = build.join("template.sam-local.yaml");
    std::fs::write(&path, serde_yaml::to_string(&template).unwrap()).unwrap();
    path
}

/// A secret in moto's Secrets Manager holding `document`; its ARN.
async fn create_secret(endpoint: &str, name: &str, document: &Value) -> String {
    let resp: Value = reqwest::Client::new()
        .post(endpoint)
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20240501/us-east-1/secretsmanager/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(json!({"Name": name, "SecretString": document.to_string()}).to_string())
        .send()
        .await
        .expect("CreateSecret reaches moto")
        .json()
        .await
        .expect("CreateSecret answers JSON");
    resp["ARN"]
        .as_str()
        .unwrap_or_else(|| panic!("CreateSecret: {resp}"))
        .to_owned()
}

/// The `--env-vars` document: each function pointed at the emulator and the test's resources,
/// the ingest accepting the sample events' token, the processor loading back to the stand-in by
/// the example rules. Where the template gives a function `SECRET_ARN` (the deployed
/// configuration), the token and passcode are in that function's secret and the load-back
/// document in the bucket, as in a stack; otherwise in the variables the template declares.
async fn env_vars(
    env: &TestEnv,
    template: &serde_yaml::Value,
    endpoint: &str,
    stub_url: &str,
) -> Value {
    let mut common: Map<String, Value> = env
        .env()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    common.insert("AWS_ENDPOINT_URL".into(), endpoint.into());
    let rules: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("infra/loadback-rules.json")).unwrap(),
    )
    .unwrap();
    let account = json!({"account_id": STUB_ACCOUNT_ID, "api_url": stub_url});
    let moto = &env.moto.endpoint;
    let mut ingest = common.clone();
    let compactor = common.clone();
    let mut processor = common;
    // As deployed: credentials and passcodes only in each function's secret, accounts and rules
    // in the stack's document.
    for function in ["IngestFunction", "ProcessorFunction"] {
        assert!(
            declared(template, function).contains(&"SECRET_ARN".to_owned()),
            "{function} reads its secret"
        );
    }
    let arn = create_secret(moto, "ingest", &json!({"WEBHOOK_TOKEN": SAMPLE_TOKEN})).await;
    ingest.insert("SECRET_ARN".into(), arn.into());
    let passcodes = json!({"CLEVERTAP_PASSCODES": {"default": STUB_PASSCODE}});
    let arn = create_secret(moto, "processor", &passcodes).await;
    processor.insert("SECRET_ARN".into(), arn.into());
    let document = json!({"accounts": {"default": account}, "rules": rules["rules"]});
    env.clients
        .s3
        .put_object()
        .bucket(&env.resources.bucket)
        .key("config/loadback.json")
        .body(document.to_string().into_bytes().into())
        .send()
        .await
        .expect("put the load-back document");
    let uri = format!("s3://{}/config/loadback.json", env.resources.bucket);
    processor.insert("LOADBACK_CONFIG".into(), uri.into());
    // The stack's geofence URI, with no document there: geofencing off, as in a new stack.
    let uri = format!("s3://{}/config/geofences.geojson", env.resources.bucket);
    processor.insert("GEOFENCES".into(), uri.into());
    json!({"IngestFunction": ingest, "ProcessorFunction": processor, "CompactorFunction": compactor})
}

/// One `sam local invoke`: the function's answer, its log (SAM's and the function's), the time.
/// No `--parameter-overrides`: the template's parameters all have defaults, and what this test
/// changes is in `--env-vars`.
async fn invoke(
    dir: &Path,
    template: &Path,
    function: &str,
    event: PathBuf,
) -> (Value, String, Duration) {
    let started = Instant::now();
    let mut cmd = sam(dir);
    cmd.args(["local", "invoke", function, "--skip-pull-image", "-t"])
        .arg(template)
        .arg("-e")
        .arg(&event)
        .args(["--env-vars", "env.json", "--region", "us-east-1"]);
    let out = cmd.output().await.expect("run sam local invoke");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok());
    match (out.status.success(), answer) {
        (true, Some(answer)) => (answer, log, started.elapsed()),
        _ => panic!(
            "sam local invoke {function} -e {}: {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{log}",
            event.display(),
            out.status
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_local_invoke_runs_the_three_arm64_functions_offline_with_every_sample_event() {
    assert_every_sample_event_is_expected();
    let whole = Instant::now();
    let Some(_docker) = docker() else { return };
    let gateway = bridge_gateway();

    let dir = std::env::temp_dir().join(format!("hookloop-sam-local-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let build = sam_build(&dir).await;
    println!("sam build: {:.1} s", started.elapsed().as_secs_f64());
    let template = with_endpoint_variable(&build);
    let parsed: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&template).unwrap()).unwrap();

    let env = TestEnv::start().await;
    let stub = start_stub(Duration::ZERO).await;
    let endpoint = forward(gateway, loopback(&env.moto.endpoint)).await;
    let stub_url = forward(gateway, loopback(&stub.base_url())).await;
    let vars = env_vars(&env, &parsed, &endpoint, &stub_url).await;
    std::fs::write(dir.join("env.json"), vars.to_string()).unwrap();

    // Every sample event, a few `sam local invoke`s at a time (each mostly waits on Docker).
    let mut runs: Vec<(&str, String)> = expected_ingest_responses()
        .into_iter()
        .map(|(file, _, _)| ("IngestFunction", format!("apigw/{file}")))
        .collect();
    runs.push(("ProcessorFunction", "sqs/processor-batch.json".into()));
    // The first alone: SAM builds its emulator image from the base image on first use, and
    // several invocations at once would each build it.
    let run = |&(function, ref event): &(&'static str, String)| {
        invoke(&dir, &template, function, event_file(event))
    };
    let mut answers = vec![run(&runs[0]).await];
    let rest: Vec<_> = futures::stream::iter(&runs[1..])
        .map(run)
        .buffered(INVOKES_AT_ONCE)
        .collect()
        .await;
    answers.extend(rest);
    let mut queued = 0;
    let mut logs = String::new();
    for ((function, event), (answer, log, took)) in runs.iter().zip(answers) {
        println!("{function} {event} ({:.1} s): {answer}", took.as_secs_f64());
        match event.strip_prefix("apigw/") {
            // Ingest: every API Gateway event gets its documented answer.
            Some(file) => queued += usize::from(assert_ingest_answer(file, &answer)),
            // Processor: the SQS sample stores its two envelopes, loads the geofence entry back
            // and dead-letters the poison record, reporting no failure.
            None => assert_eq!(answer, json!({"batchItemFailures": []}), "{log}"),
        }
        logs += &log;
    }
    let (visible, _) = env.queue().depth().await.unwrap();
    assert_eq!(
        visible as usize, queued,
        "exactly the accepted webhooks are on the queue"
    );
    assert_sample_batch_stored(&env).await;
    assert_sample_batch_loaded_back(&stub);
    // Compactor: once the batch is stored, the scheduled event compacts its hour.
    let event = event_file(&format!("schedule/{SCHEDULE_EVENT}"));
    let (answer, log, took) = invoke(&dir, &template, "CompactorFunction", event).await;
    println!("CompactorFunction ({:.1} s): {answer}", took.as_secs_f64());
    assert_sample_batch_compacted(&env, &answer).await;
    logs += &log;
    // The processor's scheduled export check: the batch's export, completed, nothing due.
    let event = event_file(&format!("schedule/{EXPORTS_CHECK_EVENT}"));
    let (answer, log, took) = invoke(&dir, &template, "ProcessorFunction", event).await;
    println!(
        "ProcessorFunction export check ({:.1} s): {answer}",
        took.as_secs_f64()
    );
    assert_eq!(
        (&answer["checked"], &answer["raised"]),
        (&json!(1), &json!([])),
        "{log}"
    );
    logs += &log;

    assert!(
        logs.contains(r#""message_id":"01HWT0D7G0RADARGE0FENCE002""#),
        "the processor logged JSON lines carrying the message id:\n{logs}"
    );
    assert!(
        !logs.contains(SAMPLE_TOKEN) && !logs.contains(STUB_PASSCODE),
        "a secret reached the logs"
    );
    println!(
        "sam local invoke test: {:.1} s in all",
        whole.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
