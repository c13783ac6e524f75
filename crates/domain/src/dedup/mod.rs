//! Deduplication, in one place for both functions: what makes two deliveries the same webhook
//! ([`dedup_key`]), the ledger that says which message owns a key ([`DedupLedger`], the table in
//! the functions), and the one admission state machine ([`admission`]) that the ingest runs for
//! a webhook it has just queued and the processor runs for a batch it received.

pub mod admission;
mod key;
mod ledger;

pub use admission::Verdict;
pub use key::dedup_key;
pub use ledger::{Claim, DedupLedger};

#[cfg(test)]
mod tests;
