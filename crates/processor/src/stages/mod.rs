//! The stages a batch goes through, in order. Each takes the states of the whole batch
//! ([`crate::state::State`]) and the ports it needs, and returns them moved on.

pub(crate) mod claim_check;
pub(crate) mod decode;
pub(crate) mod dedup;
pub(crate) mod geofence;
pub(crate) mod load_back;
pub(crate) mod parse;
pub(crate) mod settle;
pub(crate) mod write;
