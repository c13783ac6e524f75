//! The webhook_export_status route: see `hookloop_fuzz::webhook`.
#![no_main]

use hookloop_domain::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookloop_fuzz::webhook(Source::ClevertapExportStatus, data));
