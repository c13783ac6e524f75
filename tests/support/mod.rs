//! Test support: a moto server started by the test itself on a free loopback port, uniquely
//! named resources created by the same provisioning code `hookloop init` runs, and the real
//! `hookloop` binary serving the pipeline.

use std::collections::HashSet;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use hookloop_aws::dynamodb::{item_to_json, Table};
use hookloop_aws::kinesis::Stream;
use hookloop_aws::s3::RawArchive;
use hookloop_aws::sqs::Queue;
use hookloop_aws::AwsClients;
use hookloop_cli::provision::{self, Provisioned, QueueSettings, ResourceNames};
use hookloop_runtime::Registry;
use serde_json::{Map, Value};

pub mod generators;
pub mod naive;
pub mod proxy;
pub mod samples;
pub mod watch;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A file under `events/`.
pub fn event_file(rel: &str) -> PathBuf {
    repo_root().join("events").join(rel)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn venv_bin(name: &str) -> PathBuf {
    repo_root().join(".venv/bin").join(name)
}

/// The `hookloop` binary of this build (`cargo build --workspace --bins`, which `make test` runs).
pub fn hookloop_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HOOKLOOP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = dir.join("hookloop");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build --workspace --bins` (make test does)",
        bin.display()
    );
    bin
}

/// A child process killed when dropped, so a failing test leaves nothing running.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// moto in server mode on its own port.
pub struct Moto {
    _process: Process,
    pub endpoint: String,
}

impl Moto {
    pub async fn start() -> Moto {
        Self::start_with_env(&[]).await
    }

    /// moto with extra environment variables (`infra/local/moto_server.py` documents the ones
    /// it reads, e.g. `HOOKLOOP_IAM_AUDIT`).
    pub async fn start_with_env(vars: &[(&str, &str)]) -> Moto {
        // moto through `infra/local/moto_server.py`, which makes its Kinesis shards safe for
        // concurrent writes (moto alone can lose a record under concurrent PutRecords).
        let python = venv_bin("python");
        assert!(
            python.exists(),
            "{} missing: run `make setup` (make test does)",
            python.display()
        );
        let port = free_port();
        let child = Command::new(&python)
            .arg(repo_root().join("infra/local/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            _process: Process(child),
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let url = format!("{}/moto-api/", moto.endpoint);
        eventually("moto to answer", Duration::from_secs(60), || {
            let req = http.get(&url).send();
            async move { req.await.ok().map(|_| ()) }
        })
        .await;
        moto
    }
}

pub const TEST_TOKEN: &str = "test-token-7c1d";

/// One emulator with one uniquely named set of pipeline resources.
pub struct TestEnv {
    pub moto: Moto,
    pub sdk: SdkConfig,
    pub clients: AwsClients,
    pub resources: Provisioned,
    /// The requests this process sent through [`TestEnv::clients`] and the CleverTap client of
    /// [`TestEnv::processor`] (not those of the binaries it runs); tests subtract two snapshots.
    pub requests: Registry,
}

impl TestEnv {
    pub async fn start() -> TestEnv {
        Self::start_with(QueueSettings {
            visibility_timeout_seconds: 2,
            max_receive_count: 3,
        })
        .await
    }

    pub async fn start_with(settings: QueueSettings) -> TestEnv {
        let moto = Moto::start().await;
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        let requests = Registry::new();
        let clients = AwsClients::from_sdk_config(&sdk, requests.clone());
        let prefix = format!("t{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        let names = ResourceNames::from_prefix(&prefix[..20]).expect("valid prefix");
        let resources = provision::ensure(&clients, &names, settings)
            .await
            .expect("provision resources");
        TestEnv {
            moto,
            sdk,
            clients,
            resources,
            requests,
        }
    }

    /// The environment the Lambdas and `hookloop serve` read.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), self.moto.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("WEBHOOK_TOKEN".into(), TEST_TOKEN.into()),
            ("MAX_RECEIVE_COUNT".into(), "3".into()),
        ];
        v.extend(
            self.resources
                .env()
                .iter()
                .map(|(k, val)| (k.to_string(), val.to_string())),
        );
        v
    }

    pub fn archive(&self) -> RawArchive {
        RawArchive::new(self.clients.s3.clone(), &self.resources.bucket)
    }
    pub fn table(&self) -> Table {
        Table::new(self.clients.dynamodb.clone(), &self.resources.table)
    }
    pub fn stream(&self) -> Stream {
        Stream::new(self.clients.kinesis.clone(), &self.resources.stream)
    }
    pub fn queue(&self) -> Queue {
        Queue::new(self.clients.sqs.clone(), &self.resources.queue_url)
    }
    pub fn dlq(&self) -> Queue {
        Queue::new(self.clients.sqs.clone(), &self.resources.dlq_url)
    }

    /// Runs `hookloop <args>` with this environment; (exit success, stdout, stderr).
    pub async fn hookloop(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new(hookloop_bin())
            .args(args)
            .envs(self.env())
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

    /// `hookloop serve` on a free port, with this environment plus `extra`.
    pub async fn serve(&self, extra: &[(&str, &str)]) -> Serve {
        self.serve_with(&[], extra).await
    }

    /// `hookloop serve` with extra arguments and environment.
    pub async fn serve_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Serve {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("hookloop-serve-{}.log", ulid::Ulid::new()));
        let log_file = std::fs::File::create(&log).expect("serve log file");
        let mut cmd = Command::new(hookloop_bin());
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--batch-window-ms",
            "50",
        ])
        .args(args)
        .envs(self.env())
        .env("RUST_LOG", "warn")
        .stdout(log_file.try_clone().expect("serve log file"))
        .stderr(log_file);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let serve = Serve {
            _process: Process(cmd.spawn().expect("start hookloop serve")),
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let health = format!("{}/health", serve.url);
        eventually("hookloop serve /health", Duration::from_secs(30), || {
            let req = http.get(&health).send();
            async move { req.await.ok().filter(|r| r.status() == 200).map(|_| ()) }
        })
        .await;
        serve
    }

    /// Every webhook in the raw archive, in either layout (batch objects or one object per
    /// webhook), as (message id, object key, body). A message delivered twice may be in two
    /// batch objects: it is listed once per copy.
    pub async fn archived(&self) -> Vec<(String, String, Vec<u8>)> {
        let archive = self.archive();
        let mut out = Vec::new();
        for key in archive.list("raw/").await.expect("list raw objects") {
            let Some(raw) = hookloop_domain::RawKey::parse(&key) else {
                panic!("an object that is not in the documented layout: {key}");
            };
            let bytes = archive
                .get(&key)
                .await
                .expect("read raw object")
                .unwrap_or_default();
            match raw {
                hookloop_domain::RawKey::Object { id, .. } => {
                    out.push((id.to_string(), key, bytes))
                }
                hookloop_domain::RawKey::Batch { .. } => {
                    for w in hookloop_domain::decode_batch(&bytes).expect("a batch object") {
                        out.push((w.id.to_string(), key.clone(), w.body.into_bytes()));
                    }
                }
            }
        }
        out
    }

    /// The distinct message ids in the raw archive.
    pub async fn archived_ids(&self) -> HashSet<String> {
        self.archived()
            .await
            .into_iter()
            .map(|(id, _, _)| id)
            .collect()
    }

    /// Waits until at least `n` distinct webhooks are archived; returns their ids.
    pub async fn wait_for_archived(&self, n: usize, timeout: Duration) -> HashSet<String> {
        eventually(&format!("{n} archived webhooks"), timeout, || async move {
            let ids = self.archived_ids().await;
            (ids.len() >= n).then_some(ids)
        })
        .await
    }

    /// Every item in the table, as JSON.
    pub async fn scan_all(&self) -> Vec<Map<String, Value>> {
        let mut items = Vec::new();
        let mut pages = self
            .clients
            .dynamodb
            .scan()
            .table_name(&self.resources.table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            items.extend(page.expect("scan").items().iter().map(item_to_json));
        }
        items
    }

    /// The data rows: every item but the bookkeeping ones (deduplication claims, load-back
    /// markers).
    pub async fn scan_rows(&self) -> Vec<Map<String, Value>> {
        self.scan_all()
            .await
            .into_iter()
            .filter(|i| {
                !matches!(
                    i["kind"].as_str(),
                    Some("dedup" | "loadback" | "radar_signing_id")
                )
            })
            .collect()
    }

    /// Every record on the geofence stream, as JSON.
    pub async fn stream_records(&self) -> Vec<(String, Value)> {
        self.stream()
            .read_all()
            .await
            .expect("read stream")
            .into_iter()
            .map(|r| {
                (
                    r.partition_key,
                    serde_json::from_slice(&r.data).expect("stream records are JSON"),
                )
            })
            .collect()
    }

    /// Takes every message now on the DLQ: (body, message attributes) of each.
    pub async fn dlq_messages_now(&self) -> Vec<(String, Map<String, Value>)> {
        let (visible, in_flight) = self.dlq().depth().await.expect("DLQ depth");
        self.dlq_messages((visible + in_flight) as usize).await
    }

    /// Takes `expected` messages off the DLQ: (body, message attributes) of each.
    pub async fn dlq_messages(&self, expected: usize) -> Vec<(String, Map<String, Value>)> {
        let dlq = self.dlq();
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while out.len() < expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {expected} DLQ messages arrived",
                out.len()
            );
            for m in dlq.receive(10, 1).await.expect("receive DLQ") {
                let attrs: Map<String, Value> = m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (k.clone(), Value::from(v.string_value().unwrap_or_default()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let handle = m.receipt_handle().unwrap_or_default().to_owned();
                out.push((m.body().unwrap_or_default().to_owned(), attrs));
                dlq.delete(&[(String::new(), handle)])
                    .await
                    .expect("delete DLQ message");
            }
        }
        out
    }
}

/// A running `hookloop serve`.
pub struct Serve {
    _process: Process,
    pub url: String,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Serve {
    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Posts `body` to `route` as JSON with the test token.
    pub async fn post(&self, http: &reqwest::Client, route: &str, body: Vec<u8>) -> (u16, Value) {
        let resp = http
            .post(format!("{}{route}", self.url))
            .header("content-type", "application/json")
            .header("x-webhook-token", TEST_TOKEN)
            .body(body)
            .send()
            .await
            .expect("POST reaches hookloop serve");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// The CleverTap stand-in's account in tests.
pub const STUB_ACCOUNT_ID: &str = "TEST-ACC-1";
pub const STUB_PASSCODE: &str = "stub-passcode-9f2e";

/// Starts the CleverTap stand-in on a free port, in this process.
pub async fn start_stub(latency: Duration) -> hookloop_clevertap::stub::Stub {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind stub");
    hookloop_clevertap::stub::Stub::start(
        listener,
        hookloop_clevertap::stub::StubConfig {
            accounts: [(STUB_ACCOUNT_ID.to_owned(), STUB_PASSCODE.to_owned())].into(),
            max_concurrency: 15,
            latency,
        },
    )
    .await
    .expect("start stub")
}

/// The load-back environment pointing at `stub`, with the rules at `rules` (a path or JSON).
pub fn clevertap_env(stub: &hookloop_clevertap::stub::Stub, rules: &str) -> Vec<(String, String)> {
    vec![
        ("CLEVERTAP_ACCOUNT_ID".into(), STUB_ACCOUNT_ID.into()),
        ("CLEVERTAP_PASSCODE".into(), STUB_PASSCODE.into()),
        ("CLEVERTAP_API_URL".into(), stub.base_url()),
        ("LOADBACK_RULES".into(), rules.into()),
    ]
}

/// The example rules file README points `LOADBACK_RULES` at.
pub fn example_rules() -> String {
    repo_root()
        .join("infra/loadback-rules.json")
        .display()
        .to_string()
}

impl TestEnv {
    /// The processor the Lambda runs, in this process, configured from this environment plus
    /// `extra` (later entries win).
    pub fn processor(&self, extra: &[(String, String)]) -> hookloop_processor::Processor {
        hookloop_processor::Processor::new(&self.clients, self.processor_config(extra))
            .expect("processor")
    }

    /// The same processor sending every row and stream record in a request of its own: what
    /// the batching figures are compared with.
    pub fn naive_processor(
        &self,
        extra: &[(String, String)],
    ) -> hookloop_processor::Processor<naive::Naive> {
        hookloop_processor::Processor::on_aws(
            &self.clients,
            self.processor_config(extra),
            naive::OneItemPerRequest,
            naive::OneItemPerRequest,
        )
        .expect("processor")
    }

    fn processor_config(&self, extra: &[(String, String)]) -> hookloop_processor::ProcessorConfig {
        let mut vars = self.env();
        vars.extend(extra.iter().cloned());
        let lookup = move |k: &str| {
            vars.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        hookloop_processor::ProcessorConfig::read(&hookloop_runtime::Env::new(lookup))
            .expect("processor configuration")
    }
}

/// An SQS event as Lambda delivers it, one message per envelope.
pub fn sqs_event(
    envelopes: &[hookloop_domain::Envelope],
    receive_count: u32,
) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records = envelopes
        .iter()
        .map(|e| {
            let mut m = aws_lambda_events::event::sqs::SqsMessage::default();
            m.message_id = Some(format!("sqs-{}", e.id()));
            m.body = Some(e.encode());
            m.attributes
                .insert("ApproximateReceiveCount".into(), receive_count.to_string());
            m
        })
        .collect();
    event
}
