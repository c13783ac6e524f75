//! The roots TLS trusts (`hookloop_runtime::trust`), on real handshakes: a local HTTPS server
//! (Python's, with a certificate authority and a server certificate made by openssl) serves an
//! object. An SDK client built by `https_client_trusting` with that authority reads it; a Lambda
//! function's AWS clients and CleverTap client reach it through the system's store when
//! `SSL_CERT_FILE` names the authority, and refuse it without (their compiled-in roots only:
//! Amazon Trust Services' for AWS, Mozilla's for CleverTap).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::SharedHttpClient;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use hookloop_aws::clients::load_sdk_config;
use hookloop_aws::trust::{https_client_trusting, sdk_http_client, Roots, AMAZON_TRUST_SERVICES};
use hookloop_clevertap::client::http_client;

const SERVE: &str = r#"
import http.server, ssl, sys, os
os.chdir(sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("server.pem", "server.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

struct Server {
    child: Child,
    port: u16,
    ca: Vec<u8>,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The server, or why it cannot run on this machine.
fn serve() -> Result<Server, String> {
    let dir = std::env::temp_dir().join(format!(
        "hookloop-trust-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(dir.join("bucket")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("bucket/key"), b"hello").map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let made = openssl(
        &dir,
        &[
            &["req", "-x509"][..],
            &ec[..],
            &[
                "-days",
                "2",
                "-subj",
                "/CN=hookloop test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    ) && openssl(
        &dir,
        &[
            &["req"][..],
            &ec[..],
            &[
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        ]
        .concat(),
    ) && openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    if !made {
        return Err("openssl could not make the certificates (is it installed?)".into());
    }
    let ca = std::fs::read(dir.join("ca.pem")).map_err(|e| e.to_string())?;
    let mut child = Command::new("python3")
        .args(["-c", SERVE])
        .arg(&dir)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("python3: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let port = line.trim().parse();
    let mut server = Server {
        child,
        port: 0,
        ca,
        dir,
    };
    server.port = port.map_err(|_| "the server did not start".to_string())?;
    Ok(server)
}

fn s3(port: u16, sdk: &aws_sdk_s3::config::Builder) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        sdk.clone()
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .force_path_style(true)
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

fn with_client(http: SharedHttpClient) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .http_client(http)
}

async fn read(client: &aws_sdk_s3::Client) -> Result<Vec<u8>, (bool, String)> {
    match client.get_object().bucket("bucket").key("key").send().await {
        Ok(got) => Ok(got
            .body
            .collect()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default()),
        Err(e) => Err((
            matches!(e, aws_sdk_s3::error::SdkError::DispatchFailure(_)),
            DisplayErrorContext(e).to_string(),
        )),
    }
}

/// A GET through the CleverTap client: the status, or the error as it prints.
async fn get(client: &reqwest::Client, url: &str) -> Result<u16, String> {
    match client.get(url).send().await {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// One test, because it sets the process's environment: `load_sdk_config` in a Lambda function
/// whose operator names a store with `SSL_CERT_FILE`, then in one that names none.
#[tokio::test]
async fn ssl_cert_file_gives_a_function_the_system_store_and_without_it_only_its_built_in_roots_are_trusted(
) {
    let runs = |tool: &str, arg: &str| {
        Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !runs("openssl", "version") || !runs("python3", "--version") {
        eprintln!("SKIPPED: the TLS handshake test needs openssl and python3 on PATH");
        return;
    }
    let server = serve().expect("the local HTTPS server");
    // The client the SDK is given, trusting the server's authority: it reads the object.
    let own = s3(server.port, &with_client(https_client_trusting(&server.ca)));
    assert_eq!(read(&own).await.map_err(|e| e.1), Ok(b"hello".to_vec()));

    // In a Lambda function's environment, with SSL_CERT_FILE naming the authority: the system's
    // store, read from that file, and the object is read. The SDK keeps that store for the process.
    let endpoints = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("AWS_ENDPOINT_URL"));
    for var in endpoints.chain(["SSL_CERT_DIR".into(), "AWS_PROFILE".into()]) {
        std::env::remove_var(var);
    }
    for (var, value) in [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ] {
        std::env::set_var(var, value);
    }
    std::env::set_var("SSL_CERT_FILE", server.dir.join("ca.pem"));
    assert_eq!(Roots::from_env(), Roots::System);
    let sdk = load_sdk_config().await;
    let read_back = read(&s3(server.port, &aws_sdk_s3::config::Builder::from(&sdk))).await;
    assert_eq!(read_back.map_err(|e| e.1), Ok(b"hello".to_vec()));
    let clevertap = http_client(Duration::from_secs(2), Roots::from_env()).expect("a client");
    let url = format!("https://127.0.0.1:{}/bucket/key", server.port);
    let got = get(&clevertap, &url).await;
    assert_eq!(
        got,
        Ok(200),
        "the CleverTap client reaches the server through the store SSL_CERT_FILE names"
    );
    // Built-in roots do not read that store, though it trusts the server.
    let built_in = http_client(Duration::from_secs(2), Roots::BuiltIn).expect("a client");
    let refused = get(&built_in, &url).await;
    let said = refused.expect_err("Mozilla's roots ignore SSL_CERT_FILE's authority");
    assert!(
        said.contains("ertificate"),
        "refused for its certificate: {said}"
    );
    let amazon = sdk_http_client(Roots::BuiltIn, Some("us-east-1")).expect("Amazon's roots");
    let refused = read(&s3(server.port, &with_client(amazon))).await;
    assert!(
        matches!(&refused, Err((true, said)) if said.contains("certificate")),
        "Amazon's roots ignore SSL_CERT_FILE's authority: {refused:?}"
    );

    // Without it: the built-in roots only (Amazon's for AWS, Mozilla's for CleverTap), though the
    // SDK's copy of this process's system store now trusts the server.
    std::env::remove_var("SSL_CERT_FILE");
    assert_eq!(Roots::from_env(), Roots::BuiltIn);
    let sdk = load_sdk_config().await;
    let refused = read(&s3(server.port, &aws_sdk_s3::config::Builder::from(&sdk))).await;
    let Err((at_dispatch, said)) = refused else {
        panic!("a function's client accepted a certificate Amazon's roots do not vouch for");
    };
    assert!(
        at_dispatch && said.contains("certificate"),
        "refused at the handshake, for its certificate: {said}"
    );
    let clevertap = http_client(Duration::from_secs(2), Roots::from_env()).expect("a client");
    let refused = get(&clevertap, &url).await;
    let said = refused.expect_err("Mozilla's roots do not vouch for a local authority");
    assert!(
        said.contains("certificate") || said.contains("Certificate"),
        "the CleverTap client refuses it at the handshake: {said}"
    );
}

#[test]
fn the_compiled_in_roots_are_amazon_trust_services_five_as_the_system_has_them() {
    let blocks: Vec<String> = AMAZON_TRUST_SERVICES
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|b| {
            b.split("-----END CERTIFICATE-----")
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect()
        })
        .collect();
    assert_eq!(blocks.len(), 5);
    for name in [
        "Amazon Root CA 1",
        "Amazon Root CA 2",
        "Amazon Root CA 3",
        "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2",
    ] {
        assert!(
            AMAZON_TRUST_SERVICES.contains(&format!("CN = {name}\n")),
            "{name} is listed"
        );
    }
    let Ok(system) = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt") else {
        eprintln!("SKIPPED: no /etc/ssl/certs/ca-certificates.crt to compare the roots with");
        return;
    };
    let system: String = system.split_whitespace().collect();
    for block in &blocks {
        assert!(
            system.contains(block.as_str()),
            "each root is byte for byte the system's copy"
        );
    }
}
