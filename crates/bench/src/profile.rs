//! Where the processor's CPU goes: the profiling build (the release build with its symbols,
//! `--profile profiling`) runs the CPU bench's event once with `perf record` attached for the
//! invocation alone, and the samples' user-space time is attributed by symbol to what the
//! work is made of: the SDK's request building and response parsing, signing, the HTTP client,
//! JSON, gzip, logging, hookloop's own code, the allocator, the async runtime.
//!
//! The attribution is by the symbol a sample landed in (self time, no call graph): code
//! inlined into a caller counts as the caller's, so hookloop's share includes serde and
//! allocation code the compiler folded into it. Kernel samples (`[k]`) are the process's own
//! system calls, scheduling and page faults.

use std::path::Path;
use std::process::Command;

/// Categories in the order a symbol is tried against them: the first whose pattern the symbol
/// contains takes the sample.
const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "kernel (network system calls, scheduling, page faults)",
        &["[k] "],
    ),
    (
        "signing (SigV4, SHA-256, HMAC)",
        &["aws_sigv4", "sha2::", "hmac", "sha256", "ring::"],
    ),
    ("gzip", &["miniz_oxide", "flate2", "crc32fast", "adler"]),
    (
        "logging (tracing)",
        &[
            "tracing_subscriber",
            "tracing_core",
            "tracing::",
            "tracing_serde",
        ],
    ),
    (
        "AWS SDK (request building, serialisation, response parsing, retries)",
        &[
            "aws_sdk_",
            "aws_smithy",
            "aws_runtime",
            "aws_types",
            "aws_config",
            "aws_credential",
        ],
    ),
    (
        "HTTP client (hyper, connection pool)",
        &["hyper", "http::", "h2::", "httparse", "http_body"],
    ),
    ("CleverTap client (reqwest)", &["reqwest"]),
    (
        "Lambda runtime and event decoding",
        &["lambda_runtime", "aws_lambda_events"],
    ),
    ("JSON (serde_json)", &["serde_json", "serde::"]),
    ("hookloop's own code", &["hookloop"]),
    (
        "allocator (glibc malloc)",
        &[
            "malloc",
            "free",
            "realloc",
            "_int_",
            "calloc",
            "tcache",
            "unlink_chunk",
            "memalign",
        ],
    ),
    (
        "memory copies (libc)",
        &["memcpy", "memmove", "memset", "memcmp", "strlen"],
    ),
    (
        "async runtime (tokio, futures)",
        &["tokio", "futures", "mio::", "parking_lot", "epoll"],
    ),
    (
        "Rust std (formatting, collections, UTF-8 checks, hashing)",
        &["core::", "alloc::", "std::", "hashbrown", "bytes::"],
    ),
];

/// `perf report -n`'s lines (`  11.43%  95  [k] symbol`) as (share of samples in percent,
/// symbol), and the number of samples.
fn samples(report: &str) -> (Vec<(f64, String)>, u64) {
    let mut count = 0;
    let shares = report
        .lines()
        .filter_map(|l| {
            let (pct, rest) = l.trim().split_once('%')?;
            let pct: f64 = pct.trim().parse().ok()?;
            let rest = rest.trim_start();
            let (n, sym) = rest.split_once(char::is_whitespace)?;
            count += n.parse::<u64>().ok()?;
            Some((pct, sym.trim().to_owned()))
        })
        .collect();
    (shares, count)
}

/// The shares of each category, largest first, with what no category took last.
fn attribute(samples: &[(f64, String)]) -> Vec<(&'static str, f64)> {
    let mut shares: Vec<(&'static str, f64)> = CATEGORIES.iter().map(|(c, _)| (*c, 0.0)).collect();
    let mut other = 0.0;
    for (pct, sym) in samples {
        match CATEGORIES
            .iter()
            .position(|(_, pats)| pats.iter().any(|p| sym.contains(p)))
        {
            Some(i) => shares[i].1 += pct,
            None => other += pct,
        }
    }
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    shares.retain(|(_, pct)| *pct > 0.0);
    shares.push(("other (unattributed symbols)", other));
    shares
}

/// The section of the report, or why there is none.
pub async fn profile_report(profiling_bin: &Path) -> String {
    let mut s = String::from(
        "\n### Where the processor's CPU goes (perf on the profiling build, one run of the CPU event at INFO)\n\n",
    );
    if !profiling_bin.exists() {
        s.push_str(&format!(
            "skipped: build {} first (`cargo build --profile profiling -p \
             hookloop-processor`; make bench does)\n",
            profiling_bin.display()
        ));
        return s;
    }
    let dir = std::env::temp_dir().join(format!("hookloop-perf-{}", std::process::id()));
    let data = dir.join("perf.data");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        s.push_str(&format!("skipped: {e}\n"));
        return s;
    }
    let report = match crate::cpu::run(profiling_bin, "INFO", Some(&data)).await {
        Ok(_) => Command::new("perf")
            .args([
                "report",
                "-n",
                "--no-children",
                "--sort",
                "sym",
                "--stdio",
                "-q",
            ])
            .arg("-i")
            .arg(&data)
            .output(),
        Err(e) => Err(e),
    };
    // HOOKLOOP_PERF_KEEP=1 keeps the samples for `perf report -i <dir>/perf.data`.
    if std::env::var_os("HOOKLOOP_PERF_KEEP").is_some() {
        eprintln!("perf samples kept in {}", data.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let out = match report {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            s.push_str(&format!(
                "skipped: perf report failed: {}\n",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return s;
        }
        Err(e) => {
            s.push_str(&format!("skipped: perf is not usable here: {e}\n"));
            return s;
        }
    };
    let (samples, count) = samples(&out);
    s.push_str(&format!(
        "{count} samples at 19,999 Hz.\n\n| share of samples | what |\n|---|---|\n"
    ));
    for (what, pct) in attribute(&samples) {
        s.push_str(&format!("| {pct:.1} % | {what} |\n"));
    }
    s.push_str("\nTop symbols:\n\n");
    for (pct, sym) in samples.iter().take(12) {
        s.push_str(&format!("- {pct:.2} % `{sym}`\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_go_to_the_first_category_that_names_them() {
        let report = "  40.00%  4  [.] aws_sigv4::sign::v4::calculate_signature\n\
                      \x20 30.00%  3  [.] hookloop_domain::normalize::Normalized::from_webhook\n\
                      \x20 20.00%  2  [.] _int_malloc\n\
                      \x20 10.00%  1  [.] 0x0000000000abcdef\n";
        let (samples, count) = samples(report);
        assert_eq!(count, 10);
        let shares = attribute(&samples);
        assert_eq!(shares[0], ("signing (SigV4, SHA-256, HMAC)", 40.0));
        assert_eq!(shares[1], ("hookloop's own code", 30.0));
        assert_eq!(shares[2], ("allocator (glibc malloc)", 20.0));
        assert_eq!(shares.last(), Some(&("other (unattributed symbols)", 10.0)));
    }
}
