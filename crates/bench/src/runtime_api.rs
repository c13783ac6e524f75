//! A minimal Lambda runtime API on loopback, for two measurements of the release binaries:
//!
//! - **cold start**: from spawning the process to its first `GET /2018-06-01/runtime/invocation/next`
//!   (everything `main` does before it can take an event: logging, configuration, SDK clients);
//! - **peak memory**: the processor's peak resident set (`VmHWM`) after it answered one event;
//! - **CPU per event**: the on-CPU time of all the process's threads (`/proc/<pid>/task/*/
//!   schedstat`, nanoseconds) from its first request for an event to its answer.
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
    let mut command = Command::new(bin);
    // Quiet unless the caller's environment sets the log level (as Lambda does).
    if !env.iter().any(|(k, _)| k == "AWS_LAMBDA_LOG_LEVEL") {
        command.env("RUST_LOG", "warn");
    }
    // Lambda sets no certificate store; this machine's environment may (it decides which roots
    // the functions trust: hookloop_aws::trust).
    let child = command
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
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

/// What one invocation of a function took.
pub struct Invocation {
    /// The function's answer.
    pub answer: Vec<u8>,
    /// The process's peak resident set in bytes (Linux `VmHWM`).
    pub peak: u64,
    /// On-CPU time of all its threads from its request for the event to its answer.
    pub cpu: Duration,
}

/// Hands `event` to the function as one invocation and waits for its answer.
pub fn invoke_once(
    bin: &Path,
    env: &[(String, String)],
    event: &[u8],
    timeout: Duration,
) -> std::io::Result<Invocation> {
    invoke_profiled(bin, env, event, timeout, None)
}

/// [`invoke_once`], with `perf record` attached to the function for the invocation alone (from
/// its request for the event to its answer) when `profile` names where to write the samples.
pub fn invoke_profiled(
    bin: &Path,
    env: &[(String, String)],
    event: &[u8],
    timeout: Duration,
    profile: Option<&Path>,
) -> std::io::Result<Invocation> {
    let f = spawn(bin, env)?;
    let mut perf: Option<Child> = None;
    let (stream, _) = f.listener.accept()?;
    stream.set_read_timeout(Some(timeout))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let deadline_ms =
        time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + timeout.as_millis() as i64;
    let mut served = false;
    let mut cpu_at_start = Duration::ZERO;
    loop {
        let Some(req) = read_request(&mut reader) else {
            return Err(std::io::Error::other("the function closed the connection"));
        };
        if req.line.starts_with(NEXT) && !served {
            served = true;
            if let Some(out) = profile {
                perf = Some(attach_perf(f.child.id(), out)?);
            }
            cpu_at_start = cpu_time(f.child.id()).unwrap_or_default();
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
            let cpu = cpu_time(f.child.id())
                .unwrap_or_default()
                .saturating_sub(cpu_at_start);
            if let Some(perf) = perf.take() {
                stop_perf(perf)?;
            }
            respond(&mut writer, "202 Accepted", &[], b"{}");
            let peak = peak_rss(f.child.id()).unwrap_or(0);
            if req.line.contains("/error") {
                return Err(std::io::Error::other(format!(
                    "the invocation failed: {}",
                    String::from_utf8_lossy(&req.body)
                )));
            }
            return Ok(Invocation {
                answer: req.body,
                peak,
                cpu,
            });
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

/// On-CPU time of all of `pid`'s live threads so far (a thread that exited is no longer listed:
/// the functions run on one thread, and tokio's blocking pool keeps its threads for 10 s idle): the first field of each thread's
/// `/proc/<pid>/task/<tid>/schedstat`, in nanoseconds (finer than `/proc/<pid>/stat`'s ticks).
fn cpu_time(pid: u32) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(path) {
            total += s
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(Duration::from_nanos(total))
}

/// `perf record` sampling `pid` (its code and the kernel's work for it) into `out`, once it has
/// attached.
fn attach_perf(pid: u32, out: &Path) -> std::io::Result<Child> {
    let perf = Command::new("perf")
        .args(["record", "-q", "-F", "19999", "-p", &pid.to_string(), "-o"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // perf gives no signal that it is recording; it attaches within a few milliseconds.
    std::thread::sleep(Duration::from_millis(300));
    Ok(perf)
}

/// Stops `perf record` as Ctrl-C does, so it writes its samples out, and waits for it.
fn stop_perf(mut perf: Child) -> std::io::Result<()> {
    Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status()?;
    perf.wait()?;
    Ok(())
}
