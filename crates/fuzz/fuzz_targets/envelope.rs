//! Any queue message body: an envelope or an EnvelopeError, never a panic; a decoded envelope
//! encodes and decodes to itself.
#![no_main]

use hookloop_domain::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(e) = Envelope::decode(text) {
            assert_eq!(Envelope::decode(&e.encode()).ok(), Some(e));
        }
    }
});
