//! The library half of the `hookloop` command: what the end-to-end tests and the bench share
//! with it. Neither Lambda depends on this crate.

pub mod provision;
