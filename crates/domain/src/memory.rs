//! In-memory adapters for the domain's ports ([`ObjectStore`], [`DedupLedger`]), for unit tests
//! of the functions that use them (the domain's, the ingest's and the processor's, feature
//! `memory`): each keeps what it was given, counts its requests, and can be told to fail.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::claim_check::ObjectStore;
use crate::dedup::{Claim, DedupLedger};
use crate::ServiceError;

/// A store shared by the code under test and the test that inspects it.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Arc::new(Mutex::new(value)))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A throttling error: retryable.
pub fn throttled(service: &'static str, operation: &'static str) -> ServiceError {
    ServiceError::local(service, operation, "ThrottlingException", "slow down", true)
}

/// Objects by key, with their content type.
#[derive(Debug, Default)]
pub struct Objects {
    pub objects: BTreeMap<String, (Vec<u8>, &'static str)>,
    pub puts: usize,
    pub fail_puts: Option<ServiceError>,
    pub fail_gets: Option<ServiceError>,
}

impl ObjectStore for Shared<Objects> {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), ServiceError> {
        let mut s = self.lock();
        s.puts += 1;
        if let Some(e) = &s.fail_puts {
            return Err(e.clone());
        }
        s.objects.insert(key.to_owned(), (body, content_type));
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        let s = self.lock();
        if let Some(e) = &s.fail_gets {
            return Err(e.clone());
        }
        Ok(s.objects.get(key).map(|(b, _)| b.clone()))
    }
    fn locate(&self, key: &str) -> String {
        format!("memory://{key}")
    }
}

/// Claims by key, first writer wins, as the table's conditional write.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Key to owning message id.
    pub claims: HashMap<String, String>,
    /// Every request, in order: `owners k1,k2` or `claim k id`.
    pub log: Vec<String>,
    pub reads: usize,
    pub claims_taken: usize,
    /// Every request fails with this.
    pub fail: Option<ServiceError>,
    /// Claims of this key fail with `fail_claim.1`.
    pub fail_claim: Option<(String, ServiceError)>,
}

impl DedupLedger for Shared<Ledger> {
    async fn owners(&self, keys: &[String]) -> Result<HashMap<String, String>, ServiceError> {
        let mut s = self.lock();
        s.reads += 1;
        s.log.push(format!("owners {}", keys.join(",")));
        if let Some(e) = &s.fail {
            return Err(e.clone());
        }
        Ok(keys
            .iter()
            .filter_map(|k| Some((k.clone(), s.claims.get(k)?.clone())))
            .collect())
    }
    async fn claim(&self, key: &str, message_id: &str) -> Result<Claim, ServiceError> {
        let mut s = self.lock();
        s.log.push(format!("claim {key} {message_id}"));
        if let Some(e) = &s.fail {
            return Err(e.clone());
        }
        if let Some((_, e)) = s.fail_claim.as_ref().filter(|(k, _)| k == key) {
            return Err(e.clone());
        }
        s.claims_taken += 1;
        match s.claims.get(key) {
            Some(owner) if owner != message_id => Ok(Claim::Duplicate {
                original: owner.clone(),
            }),
            _ => {
                s.claims.insert(key.to_owned(), message_id.to_owned());
                Ok(Claim::Won)
            }
        }
    }
}
