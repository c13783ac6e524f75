//! The fixed mixed corpus: per ten webhooks, four Radar geofence entries and two exits
//! (location, each one geofence event), three CleverTap campaign webhooks with two profiles each,
//! and one export status alert. Every body is distinct, so none is a duplicate.

use hookloop_domain::Source;
use serde_json::json;

pub struct Webhook {
    pub source: Source,
    pub body: Vec<u8>,
}

pub fn corpus(n: usize) -> Vec<Webhook> {
    (0..n).map(webhook).collect()
}

fn webhook(i: usize) -> Webhook {
    match i % 10 {
        0..=5 => {
            let kind = if i % 10 < 4 { "user.entered_geofence" } else { "user.exited_geofence" };
            location(i, kind)
        }
        6..=8 => Webhook {
            source: Source::ClevertapWebhook,
            body: json!({
                "targetId": 5000 + i,
                "key_values": {"coupon": format!("SPRING-{i}"), "discount": 20},
                "profiles": [
                    {"objectId": format!("obj-{i}-a"), "identity": format!("cust-{i}-a"), "email": format!("a{i}@example.com")},
                    {"objectId": format!("obj-{i}-b"), "identity": format!("cust-{i}-b")}
                ]
            })
            .to_string()
            .into_bytes(),
        },
        _ => Webhook {
            source: Source::ClevertapExportStatus,
            body: json!({"Export Request Id": 1_690_000_000 + i, "Partner": "Amazon S3",
                "Type": "Events", "Status": "Completed", "Frequency": "One Time",
                "Date and Time": "25/07/2023 4:50:52 PM"})
            .to_string()
            .into_bytes(),
        },
    }
}

fn location(i: usize, kind: &str) -> Webhook {
    Webhook {
        source: Source::Location,
        body: json!({
            "event": {"_id": format!("evt-{i:06}"), "type": kind,
                      "createdAt": "2024-05-01T12:10:00.000Z",
                      "location": {"type": "Point", "coordinates": [-73.9857, 40.7484]},
                      "geofence": {"_id": "g1", "tag": "store", "externalId": "store-42"}},
            "user": {"userId": format!("user-{i:06}")}
        })
        .to_string()
        .into_bytes(),
    }
}
