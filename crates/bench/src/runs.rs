//! One measured run: the corpus through the ingest handler onto SQS, received in batches as the
//! event source forms them, processed and deleted, with the requests every client made.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use hookloop_aws::dedup::Claims;
use hookloop_cli::provision::QueueSettings;
use hookloop_domain::Envelope;
use hookloop_ingest::{Auth, Ingest};
use hookloop_processor::{handle, ArchiveMode, Processor};
use hookloop_runtime::RequestCounts;
use hookloop_tests::naive::Naive;
use hookloop_tests::{clevertap_env, example_rules, start_stub, TestEnv, TEST_TOKEN};

use crate::{corpus, floor};

/// Webhooks per run.
pub const WEBHOOKS: usize = 1_000;
pub const BATCH_SIZES: [usize; 3] = [10, 100, 1_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Batched,
    Naive,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Batched => "batched",
            Mode::Naive => "one item per request",
        }
    }
}

pub struct Run {
    pub mode: Mode,
    pub batch: usize,
    pub requests: RequestCounts,
    pub floor: floor::Floor,
    pub seconds: f64,
}

/// Every mode at every batch size, on the same corpus.
pub async fn all(corpus: &[corpus::Webhook]) -> Vec<Run> {
    let mut runs = Vec::new();
    for mode in [Mode::Batched, Mode::Naive] {
        for batch in BATCH_SIZES {
            eprintln!(
                "== {WEBHOOKS} webhooks, batch size {batch}, {}",
                mode.name()
            );
            let run = run(corpus, batch, mode).await;
            eprintln!("   {} ({:.1} s)", run.requests, run.seconds);
            runs.push(run);
        }
    }
    runs
}

/// The processor a mode runs: the functions' own, or every item in a request of its own.
enum Either {
    Batched(Processor),
    Naive(Processor<Naive>),
}

async fn run(corpus: &[corpus::Webhook], batch: usize, mode: Mode) -> Run {
    // Messages stay hidden while a batch of up to 1,000 is gathered and processed.
    let env = TestEnv::start_with(QueueSettings {
        visibility_timeout_seconds: 900,
        max_receive_count: 5,
    })
    .await;
    let stub = start_stub(Duration::ZERO).await;
    let vars = clevertap_env(&stub, &example_rules());
    let processor = match mode {
        Mode::Batched => Either::Batched(env.processor(&vars)),
        Mode::Naive => {
            let mut p = env.naive_processor(&vars);
            p.archive_mode = ArchiveMode::Object;
            Either::Naive(p)
        }
    };
    let ingest = Ingest {
        queue: env.queue(),
        auth: hookloop_runtime::Live::fixed(Auth::token(TEST_TOKEN)),
        max_body_bytes: 1 << 20,
        claim_check: None,
        dedup: Some(Claims::new(
            env.clients.dynamodb.clone(),
            env.resources.table.clone(),
            Duration::from_secs(24 * 3600),
        )),
    };
    let queue = env.queue();
    let started = Instant::now();
    let before = env.requests.snapshot();

    for w in corpus {
        let req = http::Request::post(w.source.route())
            .header("content-type", "application/json")
            .header("x-webhook-token", TEST_TOKEN)
            .body(bytes::Bytes::from(w.body.clone()))
            .expect("request");
        let answer = hookloop_ingest::handle(&ingest, req).await;
        assert_eq!(answer.status(), 200, "{}", answer.body());
    }

    // Batches as the event source forms them: up to 10 messages per receive.
    let mut batches: Vec<Vec<Envelope>> = Vec::new();
    loop {
        let mut messages = Vec::new();
        while messages.len() < batch {
            let want = (batch - messages.len()).min(10) as i32;
            let got = queue.receive(want, 0).await.expect("receive");
            if got.is_empty() {
                break;
            }
            messages.extend(got);
        }
        if messages.is_empty() {
            break;
        }
        let mut event = SqsEvent::default();
        let mut handles = Vec::new();
        let mut envelopes = Vec::new();
        for m in &messages {
            let mut e = SqsMessage::default();
            e.message_id = m.message_id().map(str::to_owned);
            e.body = m.body().map(str::to_owned);
            e.attributes
                .insert("ApproximateReceiveCount".into(), "1".into());
            event.records.push(e);
            handles.push((
                m.message_id().unwrap_or_default().to_owned(),
                m.receipt_handle().unwrap_or_default().to_owned(),
            ));
            envelopes.push(Envelope::decode(m.body().unwrap_or_default()).expect("envelope"));
        }
        let response = match &processor {
            Either::Batched(p) => handle(p, event, None).await,
            Either::Naive(p) => handle(p, event, None).await,
        };
        assert!(
            response.batch_item_failures.is_empty(),
            "a message failed: {:?}",
            response.batch_item_failures
        );
        queue.delete(&handles).await.expect("delete");
        batches.push(envelopes);
    }
    let requests = env.requests.snapshot().since(&before);
    let seconds = started.elapsed().as_secs_f64();
    let received: usize = batches.iter().map(Vec::len).sum();
    assert_eq!(received, corpus.len(), "every webhook processed once");
    Run {
        mode,
        batch,
        floor: floor::floor(&batches),
        requests,
        seconds,
    }
}
