//! The admission state machine against an in-memory ledger: what each function decides for a
//! message, and what it asks the ledger.

use super::admission::{admit_batch, claim_queued, Received};
use super::Verdict;
use crate::memory::{Ledger, Shared};
use crate::ServiceError;

fn unreachable() -> ServiceError {
    ServiceError::local("dynamodb", "BatchGetItem", "Timeout", "late", true)
}

fn holding(pairs: &[(&str, &str)]) -> Shared<Ledger> {
    let l = Shared::<Ledger>::default();
    for (k, id) in pairs {
        l.lock().claims.insert((*k).into(), (*id).into());
    }
    l
}

fn received<'a>(key: &'a str, message_id: &'a str) -> Received<'a> {
    Received {
        key,
        message_id,
        marked: false,
    }
}

#[tokio::test]
async fn the_ingest_owns_a_free_key_and_a_taken_one_names_its_owner() {
    let l = Shared::<Ledger>::default();
    assert_eq!(claim_queued(&l, "k", "m1").await, Verdict::Owner);
    assert_eq!(
        claim_queued(&l, "k", "m1").await,
        Verdict::Owner,
        "its own claim again"
    );
    assert_eq!(
        claim_queued(&l, "k", "m2").await,
        Verdict::Repeat {
            original: "m1".into()
        }
    );
    assert_eq!(
        l.lock().claims.get("k").map(String::as_str),
        Some("m1"),
        "a claim never changes hands"
    );
}

#[tokio::test]
async fn an_unreachable_ledger_decides_nothing() {
    let l = Shared::new(Ledger {
        fail: Some(unreachable()),
        ..Default::default()
    });
    assert!(matches!(claim_queued(&l, "k", "m1").await, Verdict::Undecided(e) if e.retryable));
    l.lock().log.clear();
    let verdicts = admit_batch(&l, &[received("k", "m1"), received("j", "m2")], 4).await;
    assert!(
        verdicts.iter().all(|v| matches!(v, Verdict::Undecided(_))),
        "{verdicts:?}"
    );
    assert_eq!(
        l.lock().log,
        ["owners j,k"],
        "one read, no claim without it"
    );
}

#[tokio::test]
async fn a_batch_reads_every_owner_at_once_and_claims_only_keys_nobody_holds() {
    let l = holding(&[("held", "m0")]);
    let batch = [
        received("held", "m1"),
        received("free", "m2"),
        received("free", "m3"),
        received("held", "m0"),
    ];
    let verdicts = admit_batch(&l, &batch, 4).await;
    assert_eq!(
        verdicts,
        [
            Verdict::Repeat {
                original: "m0".into()
            },
            Verdict::Owner,
            Verdict::Repeat {
                original: "m2".into()
            },
            Verdict::Owner,
        ]
    );
    assert_eq!(l.lock().log, ["owners free,held", "claim free m2"]);
    assert_eq!(
        l.lock().claims.get("free").map(String::as_str),
        Some("m2"),
        "its first message in the batch"
    );
}

#[tokio::test]
async fn a_marked_message_owns_its_key_without_asking_and_its_copies_are_repeats() {
    let l = Shared::<Ledger>::default();
    let marked = Received {
        marked: true,
        ..received("k", "m1")
    };
    // Alone, it asks nothing.
    assert_eq!(admit_batch(&l, &[marked], 4).await, [Verdict::Owner]);
    assert!(l.lock().log.is_empty());
    // With a copy after it, the key is claimed for it, the first message carrying the key.
    let verdicts = admit_batch(&l, &[marked, received("k", "m2")], 4).await;
    assert_eq!(
        verdicts,
        [
            Verdict::Owner,
            Verdict::Repeat {
                original: "m1".into()
            }
        ]
    );
    assert_eq!(l.lock().log, ["owners k", "claim k m1"]);
}

#[tokio::test]
async fn a_claim_that_fails_leaves_only_its_key_undecided() {
    let l = Shared::new(Ledger {
        fail_claim: Some((
            "bad".into(),
            ServiceError::local("dynamodb", "PutItem", "Throttling", "", true),
        )),
        ..Default::default()
    });
    let verdicts = admit_batch(&l, &[received("bad", "m1"), received("ok", "m2")], 1).await;
    assert!(matches!(&verdicts[0], Verdict::Undecided(e) if e.code == "Throttling"));
    assert_eq!(verdicts[1], Verdict::Owner);
}

#[tokio::test]
async fn an_empty_batch_asks_nothing() {
    let l = Shared::<Ledger>::default();
    assert!(admit_batch(&l, &[], 4).await.is_empty());
    assert!(l.lock().log.is_empty());
}
