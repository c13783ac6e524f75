//! Deployed as `sam deploy` deploys it, with least privilege enforced. README's `make deploy` (sam
//! build, then sam deploy: its managed bucket, the code and template uploaded, a change set
//! created and executed) creates the stack on the emulator, whose CloudFormation applies SAM's own
//! translator as AWS does (infra/local/moto_sam_deploy.py); each function's environment and role
//! are read back from the stack (`infra/local/inspect_stack.py`); both real Lambda binaries (under `cargo lambda watch`) then run with exactly that
//! environment and with credentials holding exactly their role's policies, on an emulator that
//! enforces IAM. The sample webhooks must land in the stack's own bucket, table and stream: a
//! wrong variable name or resource reference in the template, or a missing permission, fails it.
//! The emulator's audit of its IAM decisions (infra/local/moto_server.py) shows that nothing
//! either function did was refused, and which permissions the run exercised (printed).
//! What the stack adds around the functions is read back too: the Athena table projects a
//! partition for every object the processor archived, and the dashboard names the stack's own
//! functions and queues.
//! The compactor then runs the scheduled compaction of the hour the webhooks arrived in, under
//! its own role: the curated files land in days the stack's curated Glue tables project.
//! Load-back is on, set up as README says (the passcode in the processor's secret, `hookloop rules
//! push --stack`): the sample campaign reaches the CleverTap stand-in under the processor's role.
//! The export check runs under the processor's role, scheduled and as an operator runs it
//! (`hookloop exports check --stack`, through Lambda `Invoke`: deployed/exports_check.rs).
//! Last, a static check (deployed/grants.rs): every action a function's policy grants is called
//! by its code.

#[path = "deployed/compactor.rs"]
mod compactor;
#[path = "deployed/exports_check.rs"]
mod exports_check;
#[path = "deployed/grants.rs"]
mod grants;
#[path = "deployed/loadback.rs"]
mod loadback;
#[path = "infra/projection.rs"]
mod projection;
#[path = "deployed/redeploy.rs"]
mod redeploy;
#[path = "deployed/stack.rs"]
mod stack;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use hookloop_aws::AwsClients;
use hookloop_runtime::Registry;
use hookloop_tests::watch::Watch;
use hookloop_tests::*;
use serde_json::{json, Value};
use stack::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployed_stack_runs_its_three_functions_under_their_own_role_policies() {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("hookloop-deployed-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let audit = Audit(dir.join("iam-audit.ndjson"));
    let audit_path = audit.0.display().to_string();
    let moto = Moto::start_with_env(&[("HOOKLOOP_IAM_AUDIT", &audit_path)]).await;
    let stack = format!(
        "hl{}",
        &ulid::Ulid::new().to_string().to_ascii_lowercase()[..8]
    );
    let d = deploy(&moto, &stack);
    enforce_iam(&moto).await;
    let ingest_sdk = sdk_as(&moto, d.key(d.function(INGEST))).await;
    let processor_sdk = sdk_as(&moto, d.key(d.function(PROCESSOR))).await;
    let compactor_s3 = aws_sdk_s3::Client::new(&sdk_as(&moto, d.key(d.function(COMPACTOR))).await);
    let ingest_vars = lambda_env(&d, INGEST, &moto);
    let processor_vars = lambda_env(&d, PROCESSOR, &moto);
    let compactor_vars = lambda_env(&d, COMPACTOR, &moto);
    let env = admin_env(moto, &d).await;

    // The environment names the stack's own resources, as its outputs do.
    let (ingest, processor) = (d.env(INGEST), d.env(PROCESSOR));
    assert_eq!(ingest["QUEUE_URL"], env.resources.queue_url);
    assert_eq!(processor["DLQ_URL"], env.resources.dlq_url);
    for vars in [&ingest, &processor] {
        assert_eq!(vars["RAW_BUCKET"], env.resources.bucket);
        assert_eq!(vars["TABLE_NAME"], env.resources.table);
    }
    assert_eq!(processor["GEOFENCE_STREAM"], env.resources.stream);
    for vars in [&ingest, &processor] {
        assert_eq!(
            vars.get("STACK_NAME"),
            Some(&stack),
            "the metrics' Stack dimension"
        );
    }
    assert_eq!(ingest["SECRET_ARN"], d.output("IngestSecretArn"));
    assert_eq!(processor["SECRET_ARN"], d.output("ProcessorSecretArn"));
    assert_eq!(processor["LOADBACK_CONFIG"], d.output("LoadbackConfigUri"));
    // The API calls the ingest through its alias, at the version the deploy published.
    assert_eq!(d.function(INGEST)["aliases"], json!({"live": "1"}));
    for (id, vars) in [(INGEST, &ingest), (PROCESSOR, &processor)] {
        let secretish = ["TOKEN", "PASSCODE", "BASIC_AUTH", "PASSWORD"];
        let leaked: Vec<&String> = vars
            .keys()
            .filter(|k| secretish.iter().any(|s| k.contains(s)))
            .collect();
        assert!(
            leaked.is_empty(),
            "{id}: a secret in the environment: {leaked:?}"
        );
    }

    // Least privilege, enforced: what a role does not grant is refused.
    let (ingest_aws, processor_aws) = (
        AwsClients::from_sdk_config(&ingest_sdk, Registry::new()),
        AwsClients::from_sdk_config(&processor_sdk, Registry::new()),
    );
    let row = |pk: &str| {
        aws_sdk_dynamodb::types::WriteRequest::builder()
            .put_request(
                aws_sdk_dynamodb::types::PutRequest::builder()
                    .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
                    .item("sk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
                    .build()
                    .expect("a put request"),
            )
            .build()
    };
    let table = env.resources.table.clone();
    let refusals = [
        (
            "ingest: dynamodb:BatchWriteItem on the table",
            denied(
                ingest_aws
                    .dynamodb
                    .batch_write_item()
                    .request_items(&table, vec![row("USER#x")])
                    .send()
                    .await,
            ),
        ),
        (
            "ingest: sqs:ReceiveMessage on the DLQ",
            denied(
                ingest_aws
                    .sqs
                    .receive_message()
                    .queue_url(&env.resources.dlq_url)
                    .send()
                    .await,
            ),
        ),
        (
            "ingest: s3:PutObject under raw/",
            denied(
                ingest_aws
                    .s3
                    .put_object()
                    .bucket(&env.resources.bucket)
                    .key("raw/x")
                    .body(b"x".to_vec().into())
                    .send()
                    .await,
            ),
        ),
        (
            "processor: sqs:SendMessage to the webhook queue",
            denied(
                processor_aws
                    .sqs
                    .send_message()
                    .queue_url(&env.resources.queue_url)
                    .message_body("x")
                    .send()
                    .await,
            ),
        ),
        (
            "processor: dynamodb:Scan of the table",
            denied(
                processor_aws
                    .dynamodb
                    .scan()
                    .table_name(&table)
                    .send()
                    .await,
            ),
        ),
        (
            "compactor: s3:PutObject under raw/",
            denied(
                compactor_s3
                    .put_object()
                    .bucket(&env.resources.bucket)
                    .key("raw/x")
                    .body(b"x".to_vec().into())
                    .send()
                    .await,
            ),
        ),
        (
            "compactor: s3:GetObject of the load-back document",
            denied(
                compactor_s3
                    .get_object()
                    .bucket(&env.resources.bucket)
                    .key("config/loadback.json")
                    .send()
                    .await,
            ),
        ),
    ];
    for (what, refused) in &refusals {
        assert!(refused, "not refused: {what}");
    }

    // The webhook token: the one the stack generated into the ingest's secret, which the ingest
    // reads through SECRET_ARN.
    let token = d.secret(INGEST)["WEBHOOK_TOKEN"]
        .as_str()
        .expect("the ingest's secret holds a generated WEBHOOK_TOKEN")
        .to_owned();
    assert!(
        token.len() >= 32 && token.chars().all(|c| c.is_ascii_alphanumeric()),
        "generated token"
    );

    // Load-back on, as README sets it up: the processor loads the campaign back under its role.
    let stub = start_stub(std::time::Duration::ZERO).await;
    loadback::configure(&d, &env, &stack, &stub, &dir).await;

    let before_run = audit.len();
    let ingest_watch = Watch::start(&ingest_vars, &dir, "ingest").await;
    let processor_watch = Arc::new(Watch::start(&processor_vars, &dir, "processor").await);

    // Ingest: the sample webhooks are accepted into the stack's queue under the ingest's role.
    let mut queued = BTreeSet::new();
    for (file, status) in INGEST_EVENTS {
        let event = with_token(file, &token, &dir);
        let resp = ingest_watch.invoke("hookloop-ingest", &event).await;
        assert_eq!(
            resp["statusCode"],
            status,
            "{file}: {resp}\n{}",
            ingest_watch.log()
        );
        let body: Value =
            serde_json::from_str(resp["body"].as_str().unwrap_or("null")).unwrap_or_default();
        if body["status"] == "queued" {
            queued.insert(body["id"].as_str().expect("queued id").to_owned());
        }
    }
    assert_eq!(queued.len(), 4, "the four sample webhooks are queued");

    // Processor: the queued messages, as the event source mapping delivers them.
    let event = dir.join("sqs-event.json");
    let batch = sqs_event_from_queue(&env, queued.len()).await;
    // Received by their consumer only, once: the emulator's queue does not call the stack's
    // event source mapping inside SendMessage (infra/local/moto_server.py, gap 9), which would
    // receive them there, bill receives towards maxReceiveCount, and, with Docker up, hold the
    // ingest's send past its deadline.
    for r in batch["Records"].as_array().into_iter().flatten() {
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1", "{r}");
    }
    std::fs::write(&event, batch.to_string()).expect("write SQS event");
    let resp = processor_watch.invoke("hookloop-processor", &event).await;
    assert_eq!(
        resp,
        json!({"batchItemFailures": []}),
        "{}",
        processor_watch.log()
    );

    // Everything landed in the stack's own bucket, table and stream.
    assert_eq!(
        env.archived_ids()
            .await
            .into_iter()
            .collect::<BTreeSet<_>>(),
        queued,
        "every queued webhook archived"
    );
    let rows = env.scan_rows().await;
    let row_ids: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.get("message_id")?.as_str().map(str::to_owned))
        .collect();
    assert_eq!(row_ids, queued, "every queued webhook has its rows");
    // The export alert's tracker (no message id of its own): its summary and directory item.
    let tracker: BTreeSet<(&str, &str)> = rows
        .iter()
        .filter(|r| r.get("message_id").is_none())
        .filter_map(|r| Some((r.get("pk")?.as_str()?, r.get("sk")?.as_str()?)))
        .collect();
    assert_eq!(
        tracker,
        BTreeSet::from([("EXPORT#1690283492", "SUMMARY"), ("EXPORTS", "1690283492")])
    );
    // The scheduled export check, under the processor's own policy: it reads the directory
    // (Query) and the summary, and finds nothing due.
    let check = processor_watch
        .invoke(
            "hookloop-processor",
            &event_file(&format!(
                "schedule/{}",
                hookloop_tests::samples::EXPORTS_CHECK_EVENT
            )),
        )
        .await;
    assert_eq!(
        (&check["checked"], &check["raised"]),
        (&json!(1), &json!([])),
        "{}",
        processor_watch.log()
    );
    // The same check as an operator runs it on the stack: `hookloop exports check --stack`.
    exports_check::through_the_stack(&d, &stack, &env.moto, processor_watch.clone(), &dir).await;
    loadback::check_loaded_back(&stub);
    let records = env.stream_records().await;
    assert_eq!(
        records.len(),
        1,
        "one geofence event on the stream: {records:?}"
    );
    assert_eq!(records[0].1["event_id"], "66329c1e5f8a2b0019e4a001");
    assert!(
        env.dlq_messages_now().await.is_empty(),
        "nothing dead-lettered"
    );

    // Athena can query what landed: each archived object is in a partition the stack's table
    // projects (the location template resolved to the stack's bucket).
    let table = format!("{}.raw", d.output("AthenaDatabaseName"));
    let params = d.0["glue_tables"][&table]["Parameters"]
        .as_object()
        .unwrap_or_else(|| panic!("the stack has no Glue table {table}"));
    let projection = projection::Projection::from_parameters(params);
    let sources: Vec<&str> = hookloop_domain::Source::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(projection.sources(), sources, "the table's source enum");
    let archived = env.archived().await;
    assert!(!archived.is_empty());
    for (id, key, _) in &archived {
        let url = format!("s3://{}/{key}", env.resources.bucket);
        assert!(
            projection.partition_of(&url).is_some(),
            "{id} at {url} is in no partition {table} projects: {projection:?}"
        );
    }
    check_dashboard(&d, &stack);
    compactor::compact_what_landed(&d, &env, &compactor_vars, &dir).await;

    // Under enforcement, nothing either function did was refused: no permission is missing.
    let mut report = Vec::new();
    for id in [INGEST, PROCESSOR, COMPACTOR] {
        let (key, _) = d.key(d.function(id));
        let decisions = audit.decisions(&key, before_run);
        let refused: Vec<&Decision> = decisions.iter().filter(|(_, _, ok)| !ok).collect();
        assert!(refused.is_empty(), "{id} was refused: {refused:#?}");
        assert!(
            !decisions.is_empty(),
            "{id} made no AWS request under its key"
        );
        report.push(format!("{id}: {:#?}", exercised(&decisions)));
    }
    assert!(
        !ingest_watch.log().contains(&token),
        "the token reached the logs"
    );
    println!(
        "permissions the run exercised, with their resources:\n{}",
        report.join("\n")
    );
    println!(
        "refused as they should be: {:#?}",
        refusals.map(|(what, _)| what)
    );
    println!("deployed-stack test took {:.1?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The stack's dashboard is JSON naming the stack's own functions and queues, and reads the
/// functions' metrics of this stack only.
fn check_dashboard(d: &Deployed, stack: &str) {
    let name = format!("{stack}-{REGION}");
    let body = d.0["dashboards"][&name]
        .as_str()
        .unwrap_or_else(|| panic!("no dashboard {name}: {}", d.0["dashboards"]));
    let parsed: Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    assert!(parsed["widgets"].as_array().is_some_and(|w| !w.is_empty()));
    let queue_name = |output: &str| {
        let url = d.output(output);
        url.rsplit('/').next().unwrap_or_default().to_owned()
    };
    for resource in [
        d.output("IngestFunctionName"),
        d.output("ProcessorFunctionName"),
        d.output("CompactorFunctionName"),
        queue_name("QueueUrl"),
        queue_name("DeadLetterQueueUrl"),
        format!("Stack=\\\"{stack}\\\""),
    ] {
        assert!(
            body.contains(&resource),
            "the dashboard does not name {resource}"
        );
    }
}
