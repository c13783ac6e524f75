//! Any rules file: checked rules or an error naming the rule and field, never a panic; checked
//! rules applied to an arbitrary item never panic either.
#![no_main]

use hookloop_clevertap::{Accounts, Rules};
use hookloop_domain::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(accounts) = Accounts::single("A".into(), "p".into(), Some("in1"), None, 3) else {
        return;
    };
    if let Ok(rules) = Rules::parse(text, &accounts) {
        let item = serde_json::json!({"kind": "location", "user_id": "u", "received_at": "2024-05-01T00:00:00.000Z",
                                      "event_type": "user.entered_geofence", "key_values": {"a": 1}});
        if let Some(map) = item.as_object() {
            for source in Source::ALL {
                let _ = rules.records(source, &[map]);
            }
        }
    }
});
