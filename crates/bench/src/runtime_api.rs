//! A minimal Lambda runtime API on loopback, for two measurements of the release binaries:
//!
//! - **cold start**: from spawning the process to its first `GET /2018-06-01/runtime/invocation/next`
//!   (everything `main` does before it can take an event: logging, configuration, SDK clients);
//! - **peak memory**: the processor's peak resident set (`VmHWM`) after it answered one event.
//!
//! It speaks just enough HTTP/1.1 for the runtime client: one request at a time per connection,
//! `Content-Length` bodies, keep-alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

struct Request {
    line: String,
    body: Vec<u8>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        r.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        line: line.trim_end().to_owned(),
        body,
    })
}

fn respond(w: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = w.write_all(head.as_bytes());
    let _ = w.write_all(body);
    let _ = w.flush();
}

struct Function {
    child: Child,
    listener: TcpListener,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(bin: &Path, env: &[(String, String)]) -> std::io::Result<Function> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let child = Command::new(bin)
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Function { child, listener })
}

/// Time from spawn to the first request for an event, `runs` times.
pub fn cold_starts(
    bin: &Path,
    env: &[(String, String)],
    runs: usize,
) -> std::io::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let f = spawn(bin, env)?;
        let (stream, _) = f.listener.accept()?;
        let mut reader = BufReader::new(stream);
        let Some(req) = read_request(&mut reader) else {
            return Err(std::io::Error::other("the function closed the connection"));
        };
        let elapsed = started.elapsed();
        if !req.line.starts_with(NEXT) {
            return Err(std::io::Error::other(format!(
                "unexpected first request {}",
                req.line
            )));
        }
        out.push(elapsed);
    }
    Ok(out)
}

/// Hands `event` to the function as one invocation, waits for its answer, and returns the answer
/// and the process's peak resident set in bytes (Linux `VmHWM`).
pub fn invoke_once(
    bin: &Path,
    env: &[(String, String)],
    event: &[u8],
    timeout: Duration,
) -> std::io::Result<(Vec<u8>, u64)> {
    let f = spawn(bin, env)?;
    let (stream, _) = f.listener.accept()?;
    stream.set_read_timeout(Some(timeout))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let deadline_ms =
        time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + timeout.as_millis() as i64;
    let mut served = false;
    loop {
        let Some(req) = read_request(&mut reader) else {
            return Err(std::io::Error::other("the function closed the connection"));
        };
        if req.line.starts_with(NEXT) && !served {
            served = true;
            respond(
                &mut writer,
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Lambda-Runtime-Aws-Request-Id", "bench-1".into()),
                    ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000".into(),
                    ),
                ],
                event,
            );
        } else if req.line.contains("/invocation/bench-1/response")
            || req.line.contains("/invocation/bench-1/error")
        {
            respond(&mut writer, "202 Accepted", &[], b"{}");
            let peak = peak_rss(f.child.id()).unwrap_or(0);
            if req.line.contains("/error") {
                return Err(std::io::Error::other(format!(
                    "the invocation failed: {}",
                    String::from_utf8_lossy(&req.body)
                )));
            }
            return Ok((req.body, peak));
        } else {
            return Err(std::io::Error::other(format!(
                "unexpected request {}",
                req.line
            )));
        }
    }
}

fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
