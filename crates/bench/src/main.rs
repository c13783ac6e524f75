//! `hookloop-bench` (`make bench`): requests per 1,000 webhooks, per service, for a fixed mixed
//! corpus at processor batch sizes 10, 100 and 1,000, batched and one item per request, next to
//! the floor the service limits allow; and the cost per million webhooks those requests model.
//!
//! Everything runs for real on the emulator: the ingest handler in this process puts each
//! webhook on SQS (claiming its deduplication key), batches are received from SQS as the Lambda
//! event source would, the processor handler stores them and loads back to the CleverTap
//! stand-in, and processed messages are deleted. Requests are counted by the SDK interceptor
//! every client carries and by the CleverTap client. Writes `bench/requests.json`,
//! `bench/requests.md` and `bench/requests.svg` under the directory given (default `.`).

mod compaction;
mod corpus;
mod cpu;
mod end_to_end;
mod floor;
mod plot;
mod prices;
mod profile;
mod report;
mod runs;
mod runtime_api;
mod startup;

use std::path::PathBuf;

use end_to_end::end_to_end_report;
use report::{json, report, runs_for_plot};
use runs::WEBHOOKS;
use startup::startup_report;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("bench");
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        std::process::exit(1);
    }
    // `hookloop-bench <dir> startup` measures only cold start and peak memory, prints them and
    // writes nothing: for re-measuring on a quiet machine.
    if std::env::args().nth(2).as_deref() == Some("startup") {
        println!("{}", startup_report().await);
        return;
    }
    // `hookloop-bench <dir> cpu`: only the processor's CPU per message and its profile, printed.
    if std::env::args().nth(2).as_deref() == Some("cpu") {
        println!("{}", cpu_and_profile().await);
        return;
    }
    // `hookloop-bench <dir> e2e`: only the run through `hookloop serve`, printed.
    if std::env::args().nth(2).as_deref() == Some("e2e") {
        println!("{}", end_to_end_report().await);
        return;
    }
    // Cold start first, on a quiet machine: the request runs leave emulators shutting down.
    eprintln!("== cold start and peak memory of the release binaries");
    let startup = startup_report().await;
    let runs = runs::all(&corpus::corpus(WEBHOOKS)).await;
    let mut report = report(&runs);
    report.push_str(&startup);
    eprintln!("== end to end through hookloop serve");
    report.push_str(&end_to_end_report().await);
    println!("{report}");
    let written = [
        ("requests.md", report),
        ("requests.json", json(&runs)),
        ("requests.svg", plot::svg(&runs_for_plot(&runs))),
    ];
    for (name, text) in written {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        eprintln!("wrote {}", path.display());
    }
}

/// The processor's CPU per message (the release build) and where it goes (the profiling build,
/// `target/profiling/`, beside `target/release/`).
async fn cpu_and_profile() -> String {
    let processor = startup::release_bin("hookloop-processor");
    let profiling = processor
        .parent()
        .and_then(|release| release.parent())
        .map(|target| target.join("profiling").join("hookloop-processor"))
        .unwrap_or_default();
    let mut s = cpu::cpu_report(&processor).await;
    s.push_str(&profile::profile_report(&profiling).await);
    s
}
