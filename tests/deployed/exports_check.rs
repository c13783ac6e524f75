//! `hookloop exports check --stack NAME` (docs/exports.md): the CLI finds the stack's processor
//! function by its output and has it run the check (Lambda `Invoke`), then prints its report.
//! moto runs no function without Docker, so `Invoke` is answered here (`AWS_ENDPOINT_URL_LAMBDA`)
//! by the processor itself: the real binary under `cargo lambda watch`, with the stack's
//! environment and role. Everything else the CLI calls (CloudFormation) is moto's.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use axum::Router;
use hookloop_tests::watch::Watch;
use hookloop_tests::Moto;
use serde_json::{json, Value};

use crate::stack::{hookloop_as_admin, Deployed, REGION};

/// The Lambda `Invoke` stand-in: each call's function and payload, answered by `processor`.
struct Lambda {
    processor: Arc<Watch>,
    dir: PathBuf,
    invoked: Mutex<Vec<(String, Value)>>,
}

/// Answers as Lambda does: 200 with the function's answer, or, when the function could not
/// answer, 200 with `X-Amz-Function-Error` and the reason (the CLI reports it; a dropped
/// connection would only make the SDK retry).
async fn invoke(
    State(lambda): State<Arc<Lambda>>,
    UrlPath(function): UrlPath<String>,
    payload: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let payload: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
    let event = {
        let mut invoked = lambda.invoked.lock().unwrap_or_else(|e| e.into_inner());
        invoked.push((function, payload.clone()));
        lambda.dir.join(format!("invoke-{}.json", invoked.len()))
    };
    let json = [("content-type", "application/json")];
    if let Err(e) = std::fs::write(&event, payload.to_string()) {
        let error = json!({"errorMessage": format!("write the payload: {e}")});
        return (
            json,
            [("x-amz-function-error", "Unhandled")],
            error.to_string(),
        )
            .into_response();
    }
    // `Watch::invoke` panics on a failed invocation, with the function's log: kept as the reason.
    let processor = lambda.processor.clone();
    let run = tokio::spawn(async move { processor.invoke("hookloop-processor", &event).await });
    match run.await {
        Ok(answer) => (json, answer.to_string()).into_response(),
        Err(e) => {
            let reason = e
                .try_into_panic()
                .ok()
                .and_then(|p| p.downcast::<String>().ok().map(|s| *s))
                .unwrap_or_else(|| "the invocation was cancelled".to_owned());
            let error = json!({"errorMessage": reason});
            (
                json,
                [("x-amz-function-error", "Unhandled")],
                error.to_string(),
            )
                .into_response()
        }
    }
}

/// Runs `hookloop exports check --stack` as the stack's administrator and checks that it invoked
/// the stack's processor function, once, with the check's event, and printed the function's
/// report: one tracked export checked, nothing raised, nothing failed.
pub async fn through_the_stack(
    d: &Deployed,
    stack: &str,
    moto: &Moto,
    processor: Arc<Watch>,
    dir: &Path,
) {
    let lambda = Arc::new(Lambda {
        processor,
        dir: dir.to_owned(),
        invoked: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        .with_state(lambda.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the Lambda stand-in");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let out = hookloop_as_admin(d, moto)
        .args([
            "exports", "check", "--json", "--stack", stack, "--region", REGION,
        ])
        .env("AWS_ENDPOINT_URL_LAMBDA", &url)
        .output()
        .await
        .expect("run hookloop exports check");
    server.abort();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "hookloop exports check --stack failed:\n{stdout}\n{stderr}"
    );
    let invoked = lambda
        .invoked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(
        invoked,
        vec![(
            d.output("ProcessorFunctionName"),
            json!({"action": hookloop_processor::event::EXPORTS_CHECK})
        )],
        "one Invoke of the stack's processor with the check's event"
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("exports check --json prints one JSON report ({e}):\n{stdout}\n{stderr}")
    });
    assert_eq!(
        (&report["checked"], &report["raised"], &report["failed"]),
        (&json!(1), &json!([]), &json!([])),
        "the report the function answered: {report}"
    );
}
