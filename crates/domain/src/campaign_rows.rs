//! CleverTap campaign profiles as table rows (part of `normalize`).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::clevertap::{CampaignProfile, CampaignWebhook};
use crate::envelope::Envelope;
use crate::normalize::{base_attrs_with_id, put_opt, Row};

/// One row per profile (`CT#<objectId, else identity>`). A profile named more than once in a
/// broadcast still has one row: its last occurrence, as for every other row, and the earlier
/// ones, each as sent (its own key-values, without the campaign's), in `earlier_occurrences`,
/// oldest first, so no occurrence is dropped.
///
/// Keys are distinct by construction (one row per profile key, one sort key per message), so the
/// rows need no deduplication. `storable::campaign_row_sizes` measures these rows without
/// building them: a change here is a change there.
pub(crate) fn campaign_rows(c: &CampaignWebhook, env: &Envelope, rows: &mut Vec<Row>) {
    let occurrences = Occurrences::of(c);
    let (sk, shared) = shared_attrs(c, env);
    rows.reserve(occurrences.rows());
    for (i, p) in c.profiles.iter().enumerate() {
        if !occurrences.makes_row(i) {
            continue; // a later occurrence makes this profile's row
        }
        let mut a = shared.clone();
        put_opt(&mut a, "object_id", p.object_id.clone());
        put_opt(&mut a, "identity", p.identity.clone());
        put_opt(&mut a, "email", p.email.clone());
        put_opt(&mut a, "name", p.name.clone());
        put_opt(&mut a, "phone", p.phone.clone());
        let mut key_values = c.key_values.clone();
        for (k, v) in &p.key_values {
            key_values.insert(k.clone(), v.clone());
        }
        a.insert("key_values".into(), Value::Object(key_values));
        a.insert("profile_data".into(), Value::Object(p.profile_data.clone()));
        put_opt(
            &mut a,
            "event_properties",
            p.event_properties.clone().map(Value::Object),
        );
        put_opt(&mut a, "all_identities", p.all_identities.clone());
        let earlier = occurrences.earlier(i);
        if !earlier.is_empty() {
            let earlier = earlier
                .iter()
                .map(|&j| occurrence(&c.profiles[j]))
                .collect();
            a.insert("earlier_occurrences".into(), Value::Array(earlier));
        }
        let key = p.key.as_str();
        let mut pk = String::with_capacity("CT#".len() + key.len());
        pk.push_str("CT#");
        pk.push_str(key);
        rows.push(Row {
            pk,
            sk: sk.clone(),
            attrs: a,
        });
    }
}

/// The sort key every row of the message has, and the attributes they share, written once.
pub(crate) fn shared_attrs(c: &CampaignWebhook, env: &Envelope) -> (String, Map<String, Value>) {
    let message_id = env.id().to_string();
    let sk = format!("CAMPAIGN#{}#{message_id}", c.target_id);
    let mut shared = base_attrs_with_id("campaign_profile", env, message_id);
    shared.insert("target_id".into(), Value::String(c.target_id.clone()));
    (sk, shared)
}

/// Where each profile key occurs in a campaign's profiles.
pub(crate) struct Occurrences<'a> {
    profiles: &'a [CampaignProfile],
    /// Each key's last occurrence.
    last: HashMap<&'a str, usize>,
    /// For each profile, the previous occurrence of its key.
    previous: Vec<Option<usize>>,
}

impl<'a> Occurrences<'a> {
    pub(crate) fn of(c: &'a CampaignWebhook) -> Self {
        let mut last = HashMap::with_capacity(c.profiles.len());
        let previous = c
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| last.insert(p.key.as_str(), i))
            .collect();
        Occurrences {
            profiles: &c.profiles,
            last,
            previous,
        }
    }

    /// How many rows the profiles make.
    pub(crate) fn rows(&self) -> usize {
        self.last.len()
    }

    /// Whether profile `i` makes a row: it is the last occurrence of its key.
    pub(crate) fn makes_row(&self, i: usize) -> bool {
        self.profiles
            .get(i)
            .is_some_and(|p| self.last.get(p.key.as_str()) == Some(&i))
    }

    /// The earlier occurrences of profile `i`'s key, oldest first.
    pub(crate) fn earlier(&self, i: usize) -> Vec<usize> {
        let mut earlier = Vec::new();
        let mut j = self.previous.get(i).copied().flatten();
        while let Some(k) = j {
            earlier.push(k);
            j = self.previous.get(k).copied().flatten();
        }
        earlier.reverse();
        earlier
    }
}

/// A profile as sent, with the attribute names of its row; empty maps left out.
pub(crate) fn occurrence(p: &CampaignProfile) -> Value {
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

#[cfg(test)]
mod tests {
    //! The rows against the way they were first written: a map of every key's occurrences, and
    //! each row's attributes built one by one.

    use super::*;
    use crate::clevertap::ProfileKey;
    use crate::source::Source;
    use proptest::prelude::*;
    use serde_json::json;

    fn reference(c: &CampaignWebhook, env: &Envelope) -> Vec<Row> {
        let mut occurrences: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in c.profiles.iter().enumerate() {
            occurrences.entry(p.key.as_str()).or_default().push(i);
        }
        let mut rows = Vec::new();
        for (i, p) in c.profiles.iter().enumerate() {
            let all = occurrences
                .get(p.key.as_str())
                .map_or(&[][..], Vec::as_slice);
            if all.last().is_some_and(|&last| last != i) {
                continue;
            }
            let mut a = Map::new();
            a.insert("kind".into(), json!("campaign_profile"));
            a.insert("message_id".into(), json!(env.id().to_string()));
            a.insert("source".into(), json!(env.source().as_str()));
            a.insert("received_at".into(), json!(env.received_at()));
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
                sk: format!("CAMPAIGN#{}#{}", c.target_id, env.id()),
                attrs: a,
            });
        }
        rows
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-c]{1,2}")
    }

    fn map() -> impl Strategy<Value = Map<String, Value>> {
        let value = prop_oneof![
            "[a-z]{0,3}".prop_map(Value::String),
            any::<i32>().prop_map(Value::from),
            Just(json!({"n": [1, {"m": null}]})),
        ];
        proptest::collection::btree_map("[a-d]{1,2}", value, 0..4)
            .prop_map(|m| m.into_iter().collect())
    }

    fn profile() -> impl Strategy<Value = CampaignProfile> {
        (
            (text(), text(), text(), text(), text()),
            (map(), map(), proptest::option::of(map()), any::<bool>()),
        )
            .prop_map(
                |(
                    (object_id, identity, email, name, phone),
                    (profile_data, key_values, event_properties, ids),
                )| {
                    let key = match (&object_id, &identity) {
                        (Some(o), _) => ProfileKey::ObjectId(o.clone()),
                        (None, Some(i)) => ProfileKey::Identity(i.clone()),
                        (None, None) => ProfileKey::Identity("a".into()),
                    };
                    CampaignProfile {
                        key,
                        object_id,
                        identity,
                        email,
                        name,
                        phone,
                        push_token: None,
                        profile_data,
                        key_values,
                        event_properties,
                        all_identities: ids.then(|| json!(["x", 1])),
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1_000, failure_persistence: None, ..ProptestConfig::default()
        })]

        #[test]
        fn rows_are_those_the_first_way_of_writing_them_gives(
            target_id in "[0-9]{1,4}",
            key_values in map(),
            profiles in proptest::collection::vec(profile(), 0..12),
        ) {
            let c = CampaignWebhook { target_id, key_values, profiles, is_test: false };
            let env = Envelope::received(
                Source::ClevertapWebhook,
                String::new(),
                time::macros::datetime!(2024-05-01 07:08:09.010 UTC),
            );
            let mut rows = Vec::new();
            campaign_rows(&c, &env, &mut rows);
            prop_assert_eq!(&rows, &reference(&c, &env));
            // Measured without building them, the rows have the sizes they have built.
            let measured: Vec<(String, usize)> = crate::storable::campaign_row_sizes(&c)
                .into_iter()
                .map(|(i, size)| (format!("CT#{}", c.profiles[i].key.as_str()), size))
                .collect();
            let built: Vec<(String, usize)> = rows
                .iter()
                .map(|r| (r.pk.clone(), crate::storable::item_size(r)))
                .collect();
            prop_assert_eq!(measured, built);
        }
    }
}
