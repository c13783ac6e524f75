//! The [`Bucket`] port on S3: the raw archive's adapter (`hookloop_aws::s3::RawArchive`), whose
//! gets and puts are already the domain's object store.

use hookloop_aws::s3::RawArchive;
use hookloop_domain::ServiceError;

use crate::compact::Bucket;
use crate::manifest::Object;

impl Bucket for RawArchive {
    async fn list(&self, prefix: &str) -> Result<Vec<Object>, ServiceError> {
        Ok(self
            .list_objects(prefix)
            .await?
            .into_iter()
            .map(|o| Object {
                key: o.key,
                etag: o.etag,
            })
            .collect())
    }
}
