//! The deduplication ledger's port: which message owns a key. A claim is only ever taken for a
//! message known to be queued, and never changes hands within its window, so "a repeat of X"
//! always names a message that will be stored (or dead-lettered with a reason).

use std::collections::HashMap;
use std::future::Future;

use crate::service_error::ServiceError;

/// The outcome of [`DedupLedger::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This message owns the key now (or already did).
    Won,
    /// Another message, known to be queued, owns it: this is a repeat of that one.
    Duplicate { original: String },
}

impl Claim {
    /// The message that owns the key once `claimant` has claimed it.
    pub fn owner(self, claimant: &str) -> String {
        match self {
            Claim::Won => claimant.to_owned(),
            Claim::Duplicate { original } => original,
        }
    }
}

/// Deduplication claims: which message owns a webhook's key (the table, in the functions).
pub trait DedupLedger: Send + Sync {
    /// The owners of the live claims among `keys` (keys nobody holds are absent).
    fn owners(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<HashMap<String, String>, ServiceError>> + Send;
    /// Claims `key` for `message_id`, or names the message that holds it.
    fn claim(
        &self,
        key: &str,
        message_id: &str,
    ) -> impl Future<Output = Result<Claim, ServiceError>> + Send;
}
