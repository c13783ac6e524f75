//! The claim check, offload and fetch side by side: a body too large for a queue message is put
//! in the object store by the ingest, and the queue message carries its key (`body_ref`); the
//! processor reads it back before parsing. Both functions use this module, over the one port
//! they need ([`ObjectStore`]), implemented by the S3 adapter and by in-memory stores in tests.

use std::future::Future;

use crate::envelope::{Envelope, MessageId};
use crate::service_error::ServiceError;

/// The content type claimed bodies are stored with: every body the ingest accepts is JSON.
pub const CLAIM_CONTENT_TYPE: &str = "application/json";

/// Objects by key (S3): the raw archive and claim-checked bodies.
pub trait ObjectStore: Send + Sync {
    /// Writes `body` at `key`; keys are deterministic, so a retry overwrites.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;
    /// Reads an object; `Ok(None)` when there is none.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, ServiceError>> + Send;
    /// Where an object lives, for a reason naming it (`s3://bucket/key`).
    fn locate(&self, key: &str) -> String;
}

/// `claims/dt=YYYY-MM-DD/<id>.json`: where the ingest puts a body too large for a queue message
/// (the message carries this key as `body_ref`). Kept apart from `raw/` so a lifecycle rule can
/// expire claims once the queue and DLQ can no longer hold their messages.
pub fn claim_object_key(id: MessageId) -> String {
    let t = id.received_at().as_offset_date_time();
    format!(
        "claims/dt={:04}-{:02}-{:02}/{}.json",
        t.year(),
        u8::from(t.month()),
        t.day(),
        id
    )
}

/// The ingest's side: bodies above `threshold` bytes go to `objects`.
#[derive(Debug, Clone)]
pub struct ClaimCheck<O> {
    objects: O,
    threshold: usize,
}

impl<O: ObjectStore> ClaimCheck<O> {
    pub fn new(objects: O, threshold: usize) -> Self {
        ClaimCheck { objects, threshold }
    }

    pub fn objects(&self) -> &O {
        &self.objects
    }

    /// Moves a large body out of `envelope` into the object store; small ones stay. On an error
    /// the envelope's body is gone: the caller answers 503 and drops it.
    pub async fn offload(&self, envelope: &mut Envelope) -> Result<(), ServiceError> {
        if envelope.body().len() <= self.threshold {
            return Ok(());
        }
        // On failure the envelope is abandoned (503), so the body moves out without a copy.
        let key = claim_object_key(envelope.id());
        let body = envelope.check_body(key.clone()).into_bytes();
        self.objects.put(&key, body, CLAIM_CONTENT_TYPE).await
    }
}

/// Why a claim-checked body cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unclaimable {
    /// The read failed; it may pass later.
    #[error(transparent)]
    Unreachable(ServiceError),
    /// The object is not there, and never will be.
    #[error("the body's claim check {0} does not exist")]
    Missing(String),
    /// The object is not text: no body the ingest accepted.
    #[error("the claimed body is not UTF-8")]
    NotUtf8,
}

/// The processor's side: the body at `key`.
pub async fn fetch<O: ObjectStore>(objects: &O, key: &str) -> Result<String, Unclaimable> {
    match objects.get(key).await {
        Err(e) => Err(Unclaimable::Unreachable(e)),
        Ok(None) => Err(Unclaimable::Missing(objects.locate(key))),
        Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| Unclaimable::NotUtf8),
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::memory::{Objects, Shared};
    use crate::Source;

    fn down() -> Shared<Objects> {
        let e = ServiceError::local("s3", "GetObject", "SlowDown", "", true);
        Shared::new(Objects {
            fail_puts: Some(e.clone()),
            fail_gets: Some(e),
            ..Default::default()
        })
    }

    fn envelope(body: &str) -> Envelope {
        Envelope::received(Source::Location, body.to_owned(), OffsetDateTime::now_utc())
    }

    #[tokio::test]
    async fn a_large_body_goes_to_the_store_and_comes_back_whole() {
        let check = ClaimCheck::new(Shared::<Objects>::default(), 4);
        let mut e = envelope(r#"{"big": true}"#);
        check.offload(&mut e).await.unwrap();
        let key = e.body_ref().expect("the message names its body").to_owned();
        assert_eq!(key, claim_object_key(e.id()));
        assert!(e.body().is_empty(), "the body left the message");
        assert_eq!(check.objects().lock().objects[&key].1, CLAIM_CONTENT_TYPE);
        assert_eq!(
            fetch(check.objects(), &key).await.unwrap(),
            r#"{"big": true}"#
        );
    }

    #[tokio::test]
    async fn a_small_body_stays_in_the_message() {
        let check = ClaimCheck::new(Shared::<Objects>::default(), 64);
        let mut e = envelope("{}");
        check.offload(&mut e).await.unwrap();
        assert_eq!((e.body(), e.body_ref()), ("{}", None));
        assert!(check.objects().lock().objects.is_empty());
    }

    #[tokio::test]
    async fn a_body_that_cannot_be_had_says_whether_it_ever_will() {
        let objects = Shared::<Objects>::default();
        assert_eq!(
            fetch(&objects, "claims/x.json").await,
            Err(Unclaimable::Missing("memory://claims/x.json".into()))
        );
        objects
            .put("bin", vec![0xff, 0xfe], CLAIM_CONTENT_TYPE)
            .await
            .unwrap();
        assert_eq!(fetch(&objects, "bin").await, Err(Unclaimable::NotUtf8));
        let down = down();
        assert!(matches!(fetch(&down, "k").await, Err(Unclaimable::Unreachable(e)) if e.retryable));
        let check = ClaimCheck::new(down, 0);
        assert!(
            check.offload(&mut envelope("{}")).await.is_err(),
            "a failed put is an error"
        );
    }

    #[test]
    fn claims_are_kept_apart_from_the_raw_archive_by_day() {
        let id = MessageId::new(time::macros::datetime!(2024-05-01 23:59:59 UTC));
        assert_eq!(
            claim_object_key(id),
            format!("claims/dt=2024-05-01/{id}.json")
        );
    }
}
