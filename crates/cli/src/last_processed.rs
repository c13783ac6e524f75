//! When the processor last stored a webhook: the newest object of the raw archive, found
//! without listing the whole archive. Raw keys are partitioned by source, day and hour
//! (`raw/source=S/dt=YYYY-MM-DD/hour=HH/...`, `hookloop_domain::raw_partition`), names that sort
//! by time: per source, the newest day, then its newest hour, then the newest object there by
//! `LastModified`. A few requests per source, whatever the archive's size.

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use hookloop_aws::{AwsError, FromSdk};

/// The newest raw object: its key and when S3 stored it (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Newest {
    pub key: String,
    pub at: String,
    #[serde(skip)]
    epoch_secs: i64,
}

/// The sub-prefixes directly under `prefix` and the newest object directly in it.
async fn level(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<(Vec<String>, Option<Newest>), AwsError> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    let mut prefixes = Vec::new();
    let mut newest: Option<Newest> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("s3", "ListObjectsV2", e))?;
        prefixes.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        for o in page.contents() {
            let (Some(key), Some(t)) = (o.key(), o.last_modified()) else {
                continue;
            };
            newest = newer(newest, Some(newest_of(key, t)));
        }
    }
    Ok((prefixes, newest))
}

fn newest_of(key: &str, t: &DateTime) -> Newest {
    Newest {
        key: key.to_owned(),
        at: t.fmt(DateTimeFormat::DateTime).unwrap_or_default(),
        epoch_secs: t.secs(),
    }
}

fn newer(a: Option<Newest>, b: Option<Newest>) -> Option<Newest> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.epoch_secs > a.epoch_secs { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The newest object under `raw/` in `bucket`, if there is one.
pub async fn newest_raw_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Option<Newest>, AwsError> {
    let (sources, mut best) = level(s3, bucket, "raw/").await?;
    for source in sources {
        let mut prefix = source;
        // source -> newest day -> newest hour -> objects; bounded in case of a foreign layout.
        for _ in 0..4 {
            let (subs, here) = level(s3, bucket, &prefix).await?;
            best = newer(best, here);
            match subs.into_iter().max() {
                Some(p) => prefix = p,
                None => break,
            }
        }
    }
    Ok(best)
}

/// When the object at `key` was last written (RFC 3339), or `None` when there is none.
pub async fn modified(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, AwsError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(o) => Ok(o
            .last_modified()
            .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(AwsError::from_sdk("s3", "HeadObject", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_object_wins_and_none_loses() {
        let a = newest_of("a", &DateTime::from_secs(10));
        let b = newest_of("b", &DateTime::from_secs(20));
        assert_eq!(newer(Some(a.clone()), Some(b.clone())), Some(b.clone()));
        assert_eq!(newer(Some(b.clone()), Some(a.clone())), Some(b.clone()));
        assert_eq!(newer(None, Some(a.clone())), Some(a.clone()));
        assert_eq!(newer(None, None), None);
        assert_eq!(b.at, "1970-01-01T00:00:20Z");
    }
}
