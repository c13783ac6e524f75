//! Load-back to CleverTap.
//!
//! - [`rules`]: which records a webhook produces, from a rules file checked at start-up;
//! - [`record`]: Upload API records, built only through CleverTap's documented checks;
//! - [`account`]: the configured accounts, by name, passcodes never printed;
//! - [`client`]: one upload request, the per-account concurrency cap, and the classification
//!   of every answer (`is_retryable`, partial failures mapped back to their records);
//! - `stub` (feature `stub`): a stand-in server for tests and local runs.

pub mod account;
pub mod client;
pub mod document;
pub mod record;
pub mod rules;
#[cfg(feature = "stub")]
pub mod stub;

pub use account::{Account, Accounts, AccountsError, DEFAULT_MAX_CONCURRENCY};
pub use client::{is_retryable, locate_unprocessed, UploadClient, UploadError, UploadResponse};
pub use record::{Record, RecordType, MAX_RECORDS_PER_REQUEST};
pub use rules::{Planned, RuleError, Rules, RulesError};
