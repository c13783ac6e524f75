//! CleverTap campaign profiles as table rows (part of `normalize`).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::clevertap::{CampaignProfile, CampaignWebhook};
use crate::envelope::Envelope;
use crate::normalize::{base_attrs, put_opt, Row};

/// One row per profile (`CT#<objectId, else identity>`). A profile named more than once in a
/// broadcast still has one row: its last occurrence, as for every other row, and the earlier
/// ones, each as sent (its own key-values, without the campaign's), in `earlier_occurrences`,
/// oldest first, so no occurrence is dropped.
pub(crate) fn campaign_rows(c: &CampaignWebhook, env: &Envelope, rows: &mut Vec<Row>) {
    let mut occurrences: HashMap<&str, Vec<usize>> = HashMap::with_capacity(c.profiles.len());
    for (i, p) in c.profiles.iter().enumerate() {
        occurrences.entry(p.key.as_str()).or_default().push(i);
    }
    for (i, p) in c.profiles.iter().enumerate() {
        let all = occurrences
            .get(p.key.as_str())
            .map_or(&[][..], Vec::as_slice);
        if all.last().is_some_and(|&last| last != i) {
            continue; // a later occurrence makes this profile's row
        }
        let mut a = base_attrs("campaign_profile", env);
        a.insert("target_id".into(), json!(c.target_id));
        put_opt(&mut a, "object_id", p.object_id.clone());
        put_opt(&mut a, "identity", p.identity.clone());
        put_opt(&mut a, "email", p.email.clone());
        put_opt(&mut a, "name", p.name.clone());
        put_opt(&mut a, "phone", p.phone.clone());
        let mut key_values = c.key_values.clone();
        key_values.extend(p.key_values.clone());
        a.insert("key_values".into(), Value::Object(key_values));
        a.insert("profile_data".into(), Value::Object(p.profile_data.clone()));
        put_opt(
            &mut a,
            "event_properties",
            p.event_properties.clone().map(Value::Object),
        );
        put_opt(&mut a, "all_identities", p.all_identities.clone());
        if all.len() > 1 {
            let earlier = all[..all.len() - 1]
                .iter()
                .map(|&j| occurrence(&c.profiles[j]))
                .collect();
            a.insert("earlier_occurrences".into(), Value::Array(earlier));
        }
        rows.push(Row {
            pk: format!("CT#{}", p.key.as_str()),
            sk: format!("CAMPAIGN#{}#{}", c.target_id, env.id),
            attrs: a,
        });
    }
}

/// A profile as sent, with the attribute names of its row; empty maps left out.
fn occurrence(p: &CampaignProfile) -> Value {
    let mut o = Map::new();
    put_opt(&mut o, "object_id", p.object_id.clone());
    put_opt(&mut o, "identity", p.identity.clone());
    put_opt(&mut o, "email", p.email.clone());
    put_opt(&mut o, "name", p.name.clone());
    put_opt(&mut o, "phone", p.phone.clone());
    let non_empty = |m: &Map<String, Value>| (!m.is_empty()).then(|| Value::Object(m.clone()));
    put_opt(&mut o, "key_values", non_empty(&p.key_values));
    put_opt(&mut o, "profile_data", non_empty(&p.profile_data));
    put_opt(
        &mut o,
        "event_properties",
        p.event_properties.clone().map(Value::Object),
    );
    put_opt(&mut o, "all_identities", p.all_identities.clone());
    Value::Object(o)
}
