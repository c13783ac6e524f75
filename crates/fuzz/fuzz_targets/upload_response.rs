//! Any Upload API answer: parsed or refused, and every unprocessed entry located or not, never
//! a panic.
#![no_main]

use hookloop_clevertap::{locate_unprocessed, UploadResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<UploadResponse>(data) {
        let a = serde_json::json!({"type": "event", "evtName": "A"});
        let b = serde_json::json!({"type": "event", "evtName": "B"});
        for u in &r.unprocessed {
            if let Some(i) = locate_unprocessed(&[&a, &b], u) {
                assert!(i < 2);
            }
        }
    }
});
