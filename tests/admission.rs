//! Admission: queue first, then claim. Whatever fails or stops between the ingest's two calls (a
//! send whose answer was lost, a claim whose answer came too late, a crash), a webhook answered
//! 200 is stored, the sender holds one id for it, and "duplicate" is never the answer for a
//! webhook that was not queued.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use hookloop_aws::dedup::Claims;
use hookloop_aws::sqs::Queue;
use hookloop_aws::{AwsClients, AwsError};
use hookloop_domain::{dedup_key, parse_webhook, Envelope, Source};
use hookloop_ingest::{Auth, Ingest, MessageQueue, OutgoingMessage, QueueError};
use hookloop_processor::handle;
use hookloop_tests::proxy::{FaultProxy, Rule};
use hookloop_tests::*;
use serde_json::{json, Value};

/// A Radar geofence entry with event id `id`.
fn radar(id: &str) -> Vec<u8> {
    json!({
        "event": {"_id": id, "type": "user.entered_geofence", "createdAt": "2024-05-01T12:10:00.000Z",
                  "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                  "geofence": {"_id": "g1", "tag": "store", "externalId": "store-42"}},
        "user": {"userId": format!("user-{id}")}
    })
    .to_string()
    .into_bytes()
}

fn key_of(body: &[u8]) -> String {
    let webhook = parse_webhook(Source::Location, body).unwrap();
    dedup_key(Source::Location, &webhook, body)
}

/// SQS, except that the first `lose` sends take effect and then report a failure, like a send
/// whose answer never arrived.
struct LostAnswers {
    queue: Queue,
    lose: AtomicUsize,
}

impl MessageQueue for LostAnswers {
    async fn enqueue(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        self.queue.enqueue(message).await?;
        match self
            .lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Err(QueueError(AwsError::local(
                "sqs",
                "SendMessage",
                "RequestTimeout",
                "the answer never arrived",
                true,
            ))),
            Err(_) => Ok(()),
        }
    }
}

fn ingest<Q: MessageQueue>(queue: Q, clients: &AwsClients, env: &TestEnv) -> Ingest<Q> {
    Ingest {
        queue,
        auth: hookloop_runtime::Live::fixed(Auth::token("t")),
        max_body_bytes: 1 << 20,
        claim_check: None,
        dedup: Some(Claims::new(
            clients.dynamodb.clone(),
            env.resources.table.clone(),
            Duration::from_secs(3600),
        )),
    }
}

async fn post<Q: MessageQueue>(ingest: &Ingest<Q>, body: &[u8]) -> (u16, Value) {
    let req = http::Request::post("/webhooks/location")
        .header("content-type", "application/json")
        .header("x-webhook-token", "t")
        .body(bytes::Bytes::copy_from_slice(body))
        .unwrap();
    let resp = hookloop_ingest::handle(ingest, req).await;
    let status = resp.status().as_u16();
    (status, serde_json::from_str(resp.body()).unwrap())
}

/// Takes what is on the queue and runs the processor on it, as the event source would.
async fn drain(env: &TestEnv, p: &hookloop_processor::Processor) -> Vec<Envelope> {
    let mut taken = Vec::new();
    loop {
        let batch = env.queue().receive(10, 0).await.unwrap();
        if batch.is_empty() {
            return taken;
        }
        let envelopes: Vec<Envelope> = batch
            .iter()
            .map(|m| Envelope::decode(m.body().unwrap()).unwrap())
            .collect();
        let r = handle(p, sqs_event(&envelopes, 1), None).await;
        assert!(r.batch_item_failures.is_empty());
        let handles: Vec<(String, String)> = batch
            .iter()
            .map(|m| {
                let id = m.message_id().unwrap_or_default().to_owned();
                (id, m.receipt_handle().unwrap_or_default().to_owned())
            })
            .collect();
        env.queue().delete(&handles).await.unwrap();
        taken.extend(envelopes);
    }
}

/// The ids in the raw archive, and the message ids of every row.
async fn stored(env: &TestEnv) -> (HashSet<String>, HashSet<String>) {
    let rows = env.scan_rows().await;
    let row_ids = rows
        .iter()
        .filter_map(|r| r["message_id"].as_str().map(str::to_owned))
        .collect();
    (env.archived_ids().await, row_ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_a_send_that_only_looked_failed_is_a_duplicate_of_the_stored_first_copy() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let lost = LostAnswers {
        queue: env.queue(),
        lose: AtomicUsize::new(1),
    };
    let ingest = ingest(lost, &env.clients, &env);
    let body = radar("lost-answer");

    // The send took effect but the ingest cannot know: the sender is told to retry, and no
    // claim is taken for a message the ingest does not know to be queued.
    let (status, answer) = post(&ingest, &body).await;
    assert_eq!(status, 503, "{answer}");
    let claims = ingest.dedup.as_ref().unwrap();
    assert_eq!(claims.owner(&key_of(&body)).await.unwrap(), None);
    // The copy was queued all the same; the processor stores it and takes the claim.
    let first = drain(&env, &p).await;
    assert_eq!(first.len(), 1);
    let id = first[0].id().to_string();
    assert_eq!(
        claims.owner(&key_of(&body)).await.unwrap(),
        Some(id.clone())
    );

    // The retry is answered with the stored copy's id: the sender holds one id for its webhook.
    let (status, answer) = post(&ingest, &body).await;
    assert_eq!(
        (status, answer),
        (200, json!({"id": id, "status": "duplicate"}))
    );
    let again = drain(&env, &p).await;
    assert_eq!(again.len(), 1, "the retry's copy was queued, then skipped");

    // Stored once, under that id.
    let (archived, row_ids) = stored(&env).await;
    assert_eq!(archived, HashSet::from([id.clone()]));
    assert_eq!(row_ids, HashSet::from([id]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_that_overtakes_a_send_that_only_looked_failed_is_the_one_stored() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let lost = LostAnswers {
        queue: env.queue(),
        lose: AtomicUsize::new(1),
    };
    let ingest = ingest(lost, &env.clients, &env);
    let body = radar("overtaken");

    let (status, _) = post(&ingest, &body).await;
    assert_eq!(status, 503);
    // The retry arrives before the processor saw the first copy: it is queued and claimed.
    let (status, answer) = post(&ingest, &body).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("queued")));
    let id = answer["id"].as_str().unwrap().to_owned();

    // Both copies reach the processor; only the claim's owner, the id the sender holds, lands.
    assert_eq!(drain(&env, &p).await.len(), 2);
    let (archived, row_ids) = stored(&env).await;
    assert_eq!(archived, HashSet::from([id.clone()]));
    assert_eq!(row_ids, HashSet::from([id]));
}

/// Issue 12, finding 1: a claim that took effect but whose answer came after the deadline, then
/// a failed send, made every retry "duplicate" of a message that was never queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_claim_answer_or_a_failed_send_never_makes_a_retry_a_duplicate_of_nothing() {
    let env = TestEnv::start().await;
    let p = env.processor(&[]);
    let proxy = FaultProxy::start(&env.moto.endpoint, 17).await;
    let sdk = env.sdk.to_builder().endpoint_url(&proxy.url).build();
    let proxied = AwsClients::with_deadline(&sdk, Duration::from_millis(800), env.requests.clone());
    let ingest = ingest(
        Queue::new(proxied.sqs.clone(), &env.resources.queue_url),
        &proxied,
        &env,
    );
    let claims = Claims::new(
        env.clients.dynamodb.clone(),
        env.resources.table.clone(),
        Duration::from_secs(3600),
    );

    // SQS fails and the claim's answers come late: 503, and nothing is claimed.
    let body = radar("late-claim");
    proxy.set_rule("sqs:SendMessage", Some(Rule::Fail(500)));
    proxy.set_rule(
        "dynamodb:PutItem",
        Some(Rule::LateAnswer(Duration::from_secs(3))),
    );
    let (status, answer) = post(&ingest, &body).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(claims.owner(&key_of(&body)).await.unwrap(), None);

    // SQS is back, the claim's answer still comes too late: queued, and the claim taken.
    proxy.set_rule("sqs:SendMessage", None);
    let (status, answer) = post(&ingest, &body).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("queued")),
        "{answer}"
    );
    let id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(
        claims.owner(&key_of(&body)).await.unwrap(),
        Some(id.clone())
    );

    // Every later retry names that id, which is stored.
    proxy.set_rule("dynamodb:PutItem", None);
    let (status, answer) = post(&ingest, &body).await;
    assert_eq!(
        (status, answer),
        (200, json!({"id": id, "status": "duplicate"}))
    );
    drain(&env, &p).await;
    let (archived, row_ids) = stored(&env).await;
    assert_eq!(archived, HashSet::from([id.clone()]));
    assert_eq!(row_ids, HashSet::from([id]));
    assert!(proxy.injected().keys().any(|k| k.contains("late_answer")));
}

/// Claims written by versions that claimed before sending, marked `unsent` because that send
/// failed, may name a message never queued: they are not honoured, and the next claim takes the
/// key over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_legacy_unsent_claim_is_taken_over_not_answered_as_a_duplicate() {
    let env = TestEnv::start().await;
    let claims = Claims::new(
        env.clients.dynamodb.clone(),
        env.resources.table.clone(),
        Duration::from_secs(3600),
    );
    let key = "location#evt:legacy";
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    env.clients
        .dynamodb
        .put_item()
        .table_name(&env.resources.table)
        .item("pk", s(&format!("DEDUP#{key}")))
        .item("sk", s("DEDUP"))
        .item("kind", s("dedup"))
        .item("message_id", s("01LEGACYNEVERQUEUED0000000"))
        .item("expires_at", AttributeValue::N(expires.to_string()))
        .item("unsent", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    assert_eq!(claims.owner(key).await.unwrap(), None, "not an owner");
    assert_eq!(
        claims
            .claim(key, "01NEWMESSAGE00000000000000")
            .await
            .unwrap(),
        hookloop_aws::dedup::Claim::Won
    );
    assert_eq!(
        claims.owner(key).await.unwrap().as_deref(),
        Some("01NEWMESSAGE00000000000000")
    );
}

const CRASH_WEBHOOKS: usize = 800;
const SENDERS: usize = 8;

/// Issue 17: senders that retry until they get a 200, and the server killed (SIGKILL) in the
/// middle of the load and started again. Every webhook answered 200 is stored or dead-lettered,
/// and every "duplicate" answer names a stored message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_server_mid_load_loses_nothing_answered_200() {
    let env = TestEnv::start().await;
    let args = ["--pollers", "4"];
    let first = env.serve_with(&args, &[]).await;
    let url = Arc::new(Mutex::new(first.url.clone()));
    let next = Arc::new(AtomicUsize::new(0));
    let answers: Arc<Mutex<Vec<(usize, Value)>>> = Arc::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (url, next, answers, http) =
                (url.clone(), next.clone(), answers.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= CRASH_WEBHOOKS {
                        return;
                    }
                    let body = radar(&format!("crash-{i:04}"));
                    let started = Instant::now();
                    let mut backoff = Duration::from_millis(50);
                    loop {
                        let target = format!("{}/webhooks/location", url.lock().unwrap());
                        let sent = http
                            .post(target)
                            .header("content-type", "application/json")
                            .header("x-webhook-token", TEST_TOKEN)
                            .body(body.clone())
                            .send()
                            .await;
                        if let Ok(resp) = sent {
                            if resp.status() == 200 {
                                let a: Value = resp.json().await.unwrap_or(Value::Null);
                                answers.lock().unwrap().push((i, a));
                                break;
                            }
                        }
                        assert!(
                            started.elapsed() < Duration::from_secs(90),
                            "webhook {i} never accepted"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                    }
                }
            })
        })
        .collect();

    // Kill the server once the load is well under way, then start another.
    eventually(
        "a quarter of the load answered",
        Duration::from_secs(60),
        || {
            let n = answers.lock().unwrap().len();
            async move { (n >= CRASH_WEBHOOKS / 4).then_some(()) }
        },
    )
    .await;
    let answered_before = answers.lock().unwrap().len();
    drop(first);
    let second = env.serve_with(&args, &[]).await;
    *url.lock().unwrap() = second.url.clone();
    for s in senders {
        s.await.expect("sender");
    }

    // Wait until the queue is drained and stays drained.
    let mut quiet = 0;
    for _ in 0..120 {
        quiet = if env.queue().depth().await.unwrap() == (0, 0) {
            quiet + 1
        } else {
            0
        };
        if quiet >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(quiet >= 4, "the queue never drained");

    // --- reconcile ---
    let archived = env.archived_ids().await;
    let dead: HashSet<String> = env
        .dlq_messages_now()
        .await
        .into_iter()
        .filter_map(|(_, a)| a["message_id"].as_str().map(str::to_owned))
        .collect();
    let answers = answers.lock().unwrap().clone();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids: HashMap<usize, HashSet<String>> = HashMap::new();
    let mut lost = Vec::new();
    for (i, a) in &answers {
        let status = a["status"].as_str().unwrap_or("?").to_owned();
        let id = a["id"].as_str().unwrap_or_default().to_owned();
        if !archived.contains(&id) && !dead.contains(&id) {
            lost.push(format!(
                "webhook {i}: answered {status} with {id}, which is in no store"
            ));
        }
        *statuses.entry(status).or_default() += 1;
        ids.entry(*i).or_default().insert(id);
    }
    println!(
        "crash: killed after {answered_before} of {CRASH_WEBHOOKS} answered; answers {statuses:?}; \
         archived {}; dead-lettered {}; lost {}",
        archived.len(),
        dead.len(),
        lost.len()
    );
    assert_eq!(answers.len(), CRASH_WEBHOOKS, "every webhook answered 200");
    assert!(lost.is_empty(), "{lost:#?}");
    let held: HashSet<&String> = ids.values().flatten().collect();
    assert_eq!(
        archived.len(),
        CRASH_WEBHOOKS,
        "each webhook stored under one id, the one its sender holds: {} held",
        held.len()
    );
}
