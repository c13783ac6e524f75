//! The raw archive: webhook bodies byte for byte, in batch objects or one object per message
//! (layout: `hookloop_domain::RawKey`); also the claim-check bodies.

use aws_sdk_s3::primitives::ByteStream;
use hookloop_domain::{decode_batch, raw_object_key, raw_partition, MessageId, RawKey, Source};

use crate::error::FromSdk;
use crate::AwsError;

#[derive(Clone, Debug)]
pub struct RawArchive {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl RawArchive {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        RawArchive {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Writes `body` at `key`. Keys are deterministic, so a retry overwrites the same object.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
        self.put_typed(key, body, "application/json").await
    }

    /// Like [`RawArchive::put`], with the object's content type.
    pub async fn put_typed(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3", "PutObject", e))?;
        Ok(())
    }

    /// Reads an object; `Ok(None)` when there is none at `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| {
                    AwsError::local("s3", "GetObject", "ReadBody", e.to_string(), true)
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(AwsError::from_sdk("s3", "GetObject", e)),
        }
    }

    /// Reads an object unless its ETag is still `etag` (a conditional GET: S3 answers 304
    /// without the body). `Ok(Changed::Same)` when unchanged, `Ok(Changed::Gone)` when there is
    /// no object at `key`.
    pub async fn get_if_changed(&self, key: &str, etag: Option<&str>) -> Result<Changed, AwsError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(etag.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_owned);
                let bytes = out.body.collect().await.map_err(|e| {
                    AwsError::local("s3", "GetObject", "ReadBody", e.to_string(), true)
                })?;
                Ok(Changed::New {
                    body: bytes.into_bytes().to_vec(),
                    etag,
                })
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(Changed::Gone),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                Ok(Changed::Same)
            }
            Err(e) => Err(AwsError::from_sdk("s3", "GetObject", e)),
        }
    }

    /// Lists keys under `prefix`, all pages.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        Ok(self
            .list_objects(prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect())
    }

    /// Lists the objects under `prefix`, all pages, with their ETags: what a reader needs to
    /// tell whether a prefix changed since it last read it (the curated layer's compaction).
    pub async fn list_objects(&self, prefix: &str) -> Result<Vec<Listed>, AwsError> {
        let mut objects = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("s3", "ListObjectsV2", e))?;
            objects.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                })
            }));
        }
        Ok(objects)
    }

    /// The archived body of webhook `id`, and the key of the object holding it: its own object,
    /// or else the batch objects of its partition whose id range holds it (a listing of one
    /// hour of one source, then a read of each candidate).
    pub async fn find(
        &self,
        source: Source,
        id: MessageId,
    ) -> Result<Option<(String, Vec<u8>)>, AwsError> {
        let own = raw_object_key(source, id);
        if let Some(body) = self.get(&own).await? {
            return Ok(Some((own, body)));
        }
        for key in self.list(&raw_partition(source, id)).await? {
            let holds = RawKey::parse(&key)
                .is_some_and(|k| matches!(k, RawKey::Batch { .. }) && k.may_hold(id));
            if !holds {
                continue;
            }
            let Some(bytes) = self.get(&key).await? else {
                continue;
            };
            let webhooks = decode_batch(&bytes).map_err(|e| {
                AwsError::local(
                    "s3",
                    "GetObject",
                    "NotABatchObject",
                    format!("{key}: {e}"),
                    false,
                )
            })?;
            if let Some(w) = webhooks.into_iter().find(|w| w.id == id) {
                return Ok(Some((key, w.body.into_bytes())));
            }
        }
        Ok(None)
    }
}

/// The bucket as the domain's object store: the raw archive and claim-checked bodies.
impl hookloop_domain::claim_check::ObjectStore for RawArchive {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), AwsError> {
        self.put_typed(key, body, content_type).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        RawArchive::get(self, key).await
    }
    fn locate(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket())
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// Changes whenever the object is rewritten with other bytes.
    pub etag: String,
}

/// What a conditional read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// The object is as it was.
    Same,
    /// There is no object at the key.
    Gone,
    /// A new version (or the first read).
    New { body: Vec<u8>, etag: Option<String> },
}
