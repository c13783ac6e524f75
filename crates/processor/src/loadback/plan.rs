//! Plan: the records the rules make of each stored message, and the upload requests they go in
//! (one account and one record type per request, at most 1,000 records), leaving out what an
//! earlier delivery already got accepted.

use std::collections::{BTreeMap, HashMap, HashSet};

use hookloop_clevertap::{Planned, RecordType, Rules, MAX_RECORDS_PER_REQUEST};
use serde_json::{Map, Value};

use crate::failure::{Failure, Stage};
use crate::state::Stored;

/// A record on its way, with the message it belongs to.
pub(super) struct Entry<'a> {
    pub message: usize,
    pub planned: &'a Planned,
    pub fingerprint: String,
}

/// The records still to send, by account and record type.
pub(super) type Groups<'a> = BTreeMap<(String, RecordType), Vec<Entry<'a>>>;

/// The records of each message; a message whose items cannot all become valid records sends
/// nothing and fails for good.
pub(super) fn records(rules: &Rules, messages: &[&Stored]) -> Vec<Result<Vec<Planned>, Failure>> {
    messages
        .iter()
        .map(|m| {
            let items: Vec<&Map<String, Value>> = m.rows.iter().map(|r| &r.attrs).collect();
            rules.records(m.source, &items).map_err(|e| {
                let code = e.code.map_or("record_invalid".to_owned(), |c| {
                    format!("record_invalid:{c}")
                });
                Failure::permanent(Stage::Clevertap, code, e.to_string())
            })
        })
        .collect()
}

/// The records still to send, grouped by account and record type in order, and per message how
/// many were skipped as already accepted.
pub(super) fn group<'a>(
    planned: &'a [Result<Vec<Planned>, Failure>],
    with_records: &[usize],
    previously: &HashMap<usize, Vec<String>>,
) -> (Groups<'a>, HashMap<usize, usize>) {
    let mut groups: Groups<'a> = BTreeMap::new();
    let mut skipped: HashMap<usize, usize> = HashMap::new();
    for &i in with_records {
        let Some(Ok(records)) = planned.get(i) else {
            continue;
        };
        let done: HashSet<&str> = previously
            .get(&i)
            .map(|p| p.iter().map(String::as_str).collect())
            .unwrap_or_default();
        for p in records {
            let fingerprint = p.record.fingerprint(&p.account);
            if done.contains(fingerprint.as_str()) {
                *skipped.entry(i).or_default() += 1;
                continue;
            }
            groups
                .entry((p.account.clone(), p.record.record_type()))
                .or_default()
                .push(Entry {
                    message: i,
                    planned: p,
                    fingerprint,
                });
        }
    }
    (groups, skipped)
}

/// The requests: each group cut into chunks of at most [`MAX_RECORDS_PER_REQUEST`].
pub(super) fn requests<'g, 'a>(groups: &'g Groups<'a>) -> Vec<(&'g str, &'g [Entry<'a>])> {
    groups
        .iter()
        .flat_map(|((account, _), entries)| {
            entries
                .chunks(MAX_RECORDS_PER_REQUEST)
                .map(move |c| (account.as_str(), c))
        })
        .collect()
}
