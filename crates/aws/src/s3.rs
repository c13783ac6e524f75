//! The raw archive: webhook bodies byte for byte, one object per message.

use aws_sdk_s3::primitives::ByteStream;

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
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
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

    /// Lists keys under `prefix`, all pages.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("s3", "ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }
}
