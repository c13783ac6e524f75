//! `cargo lambda watch` (the Lambda runtime API emulator) serving the workspace's two Lambda
//! binaries with a given environment, and `cargo lambda invoke` against it: how the tests run
//! the real binaries with an event, as `sam local invoke -e` would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{eventually, free_port, repo_root, Process};

/// `cargo lambda watch` serving the workspace's Lambda binaries with one function's environment.
pub struct Watch {
    _process: Process,
    port: u16,
    log: PathBuf,
}

impl Watch {
    pub async fn start(vars: &BTreeMap<String, String>, dir: &Path, name: &str) -> Watch {
        let port = free_port();
        let env_file = dir.join(format!("{name}.env"));
        let lines: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        std::fs::write(&env_file, lines.join("\n")).expect("write env file");
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("watch log");
        let child = Command::new(repo_root().join(".venv/bin/cargo-lambda"))
            .args(["lambda", "watch", "--ignore-changes"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(repo_root())
            .stdout(out.try_clone().expect("watch log"))
            .stderr(out)
            .spawn()
            .expect("start cargo lambda watch");
        let watch = Watch {
            _process: Process(child),
            port,
            log,
        };
        eventually(
            "cargo lambda watch",
            Duration::from_secs(120),
            || async move {
                let conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
                conn.ok().map(|_| ())
            },
        )
        .await;
        watch
    }

    pub async fn invoke(&self, function: &str, event: &Path) -> Value {
        let out = tokio::process::Command::new(repo_root().join(".venv/bin/cargo-lambda"))
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &self.port.to_string()])
            .args(["--output-format", "json", "--data-file"])
            .arg(event)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run cargo lambda invoke");
        assert!(
            out.status.success(),
            "invoke {function} {}: {}\n--- log ---\n{}",
            event.display(),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        serde_json::from_slice(&out.stdout).expect("the function answers JSON")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
