//! A second look at `sam deploy` on the emulator (infra/local/moto_sam_deploy.py): a change set
//! declined at sam's prompt, then the deploy again, must leave one stack, created, with its
//! outputs. sam deploys the template as it is (no build: the emulator runs no code), from a
//! scratch directory. (A redeploy is not emulated faithfully: moto has no CloudFormation update
//! for a DynamoDB table, so an updated stack loses `TableName`.)

use std::process::{Command, Stdio};

use hookloop_tests::*;
use serde_json::Value;

use crate::stack::REGION;

fn sam_deploy(moto: &Moto, stack: &str, answer: &str, params: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("hookloop-redeploy-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let mut sam = Command::new(repo_root().join(".venv/bin/sam"))
        .arg("deploy")
        .arg("--template-file")
        .arg(repo_root().join("infra/template.yaml"))
        .args(["--stack-name", stack, "--region", REGION, "--resolve-s3"])
        .args(["--capabilities", "CAPABILITY_IAM", "--confirm-changeset"])
        .args(if params.is_empty() {
            vec![]
        } else {
            [&["--parameter-overrides"], params].concat()
        })
        .current_dir(&dir)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("SAM_CLI_TELEMETRY", "0")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sam deploy");
    {
        use std::io::Write;
        let mut stdin = sam.stdin.take().expect("sam's stdin");
        stdin
            .write_all(answer.as_bytes())
            .expect("answer sam's prompt");
    }
    let out = sam.wait_with_output().expect("sam deploy's output");
    let _ = std::fs::remove_dir_all(&dir);
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sam deploy failed:\n{said}");
    said
}

fn stacks_named(moto: &Moto, stack: &str) -> Vec<Value> {
    let out = Command::new(repo_root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3, json, sys\n\
             c = boto3.client('cloudformation', endpoint_url=sys.argv[1], region_name=sys.argv[2])\n\
             s = [x for x in c.describe_stacks()['Stacks'] if x['StackName'] == sys.argv[3]]\n\
             print(json.dumps(s, default=str))",
            &moto.endpoint,
            REGION,
            stack,
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("describe the stacks");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stacks as JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_declined_at_sams_prompt_then_confirmed_leaves_one_stack_with_its_outputs() {
    let moto = Moto::start().await;
    let stack = "redeploy";

    let declined = sam_deploy(&moto, stack, "n\n", &[]);
    assert!(
        !declined.contains("Successfully created/updated stack"),
        "{declined}"
    );

    let created = sam_deploy(&moto, stack, "y\n", &[]);
    assert!(
        created.contains("Successfully created/updated stack"),
        "{created}"
    );
    let first = stacks_named(&moto, stack);
    assert_eq!(first.len(), 1, "one stack after a declined set: {first:?}");
    assert_eq!(first[0]["StackStatus"], "CREATE_COMPLETE");

    assert!(first[0]["Outputs"]
        .as_array()
        .is_some_and(|o| !o.is_empty()));
}
