//! `make deploy-fn`, as README gives it, against the emulator's Lambda API: the quick code update
//! (`cargo lambda deploy`) of a function of a deployed stack. The stack is created on the emulator
//! by `make deploy` (sam deploy), and the ingest's code then replaced by a stand-in zip, as an
//! older version; the make target then finds the function from the stack's outputs (SAM CLI),
//! builds the arm64 bootstrap (cargo lambda) and uploads it. The function must run the new code
//! and keep its configuration: environment, role, memory, timeout; the ingest's alias `live`, which the API
//! calls, moves to the version just published.

// The deployment harness of tests/deployed.rs; this test uses part of it.
#[allow(dead_code)]
#[path = "deployed/stack.rs"]
mod stack;

use std::process::Command;

use hookloop_tests::*;
use stack::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_deploy_fn_updates_the_ingests_code_and_alias_and_keeps_its_configuration() {
    let moto = Moto::start().await;
    let name = format!(
        "fn{}",
        &ulid::Ulid::new().to_string().to_ascii_lowercase()[..8]
    );
    let d = deploy(&moto, &name);
    let function = d.function(INGEST)["name"]
        .as_str()
        .expect("function name")
        .to_owned();
    let sdk = sdk_as(&moto, d.key(&d.0["admin"])).await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    lambda
        .update_function_code()
        .function_name(&function)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(stand_in_zip()))
        .send()
        .await
        .expect("an older code: the stand-in zip");
    let before = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .expect("the deployed function");

    let (key, secret) = d.key(&d.0["admin"]);
    let out = Command::new("make")
        .args(["deploy-fn", "FUNCTION=ingest", "REGION=us-east-1"])
        .arg(format!("STACK={name}"))
        .current_dir(repo_root())
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", REGION)
        // The build settings of tests/infra.rs and tests/sam_local.rs, so the three share one
        // arm64 build: link-time optimisation proves nothing more here (make bench uses it).
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .output()
        .expect("run make deploy-fn");
    assert!(
        out.status.success(),
        "make deploy-fn failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let after = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .expect("the function after deploy-fn");
    assert_ne!(
        after.code_sha256(),
        before.code_sha256(),
        "the new code is in"
    );
    assert!(
        after.code_size() > 1_000_000,
        "the arm64 bootstrap, not the stand-in zip: {} bytes",
        after.code_size()
    );
    assert_eq!(
        after.environment(),
        before.environment(),
        "the environment is kept"
    );
    assert_eq!(after.role(), before.role());
    assert_eq!(after.memory_size(), before.memory_size());
    assert_eq!(after.timeout(), before.timeout());
    let alias = lambda
        .get_alias()
        .function_name(&function)
        .name("live")
        .send()
        .await
        .expect("the alias the API calls");
    assert_eq!(
        alias.function_version(),
        Some("2"),
        "moved to the new version"
    );
}

/// A zip holding a one-line `bootstrap` (Python's zipfile, from the venv the tests use).
fn stand_in_zip() -> Vec<u8> {
    let out = Command::new(repo_root().join(".venv/bin/python"))
        .args([
            "-c",
            "import io, sys, zipfile\n\
             b = io.BytesIO()\n\
             with zipfile.ZipFile(b, 'w') as z: z.writestr('bootstrap', '#!/bin/sh\\necho old\\n')\n\
             sys.stdout.buffer.write(b.getvalue())",
        ])
        .output()
        .expect("python zips the stand-in");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
