//! Latest-state rows: items that hold the latest state of one thing (a trip's `META`, a user's
//! `PROFILE`) instead of one event. SQS does not keep order and batches run concurrently, so
//! "the last message processed" is not "the newest": such a row carries its [`Version`] (the
//! event time, then a tiebreak) and is written only when its version is at least the one the
//! table holds. The rule ([`Version::replaces`]) is here, once; the table adapters apply it, the
//! DynamoDB one as a condition on its `PutItem`, the in-memory one by comparing.
//!
//! Every kind of latest-state row goes through this type: a new kind is a [`StateKind`] and a
//! constructor call, nothing else.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::envelope::MessageId;
use crate::normalize::Row;
use crate::timestamp::Timestamp;

/// The row's event time, as epoch milliseconds (a DynamoDB number, so it compares as one).
pub const EVENT_TIME_ATTRIBUTE: &str = "event_time_ms";
/// The tiebreak between two versions of equal event time: the message id, a ULID, whose text
/// sorts as the id does. Every row already carries it.
pub const TIEBREAK_ATTRIBUTE: &str = "message_id";

/// What a latest-state row is the state of; its `kind` attribute, and the dimension of the
/// `StaleUpdates` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKind {
    /// `TRIP#<trip id>` | `META`.
    Trip,
    /// `USER#<user id>` | `PROFILE`.
    User,
}

impl StateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Trip => "trip",
            StateKind::User => "user",
        }
    }
}

/// How far after its arrival an event time is believed (clocks drift, and a sender may stamp an
/// event just before sending it): 5 minutes.
pub const MAX_FUTURE_EVENT_TIME_MS: i64 = 5 * 60 * 1000;

/// Where a latest-state row stands in event time: compared by event time, then by tiebreak, so
/// the winner among several versions is the same whatever order they are written in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    event_time_ms: i64,
    tiebreak: String,
}

impl Version {
    /// The version of a row built from message `message_id`: its event time where the webhook
    /// gives one, else the message's arrival time (the time part of its id), with the message
    /// id as tiebreak.
    ///
    /// An event time more than [`MAX_FUTURE_EVENT_TIME_MS`] after the arrival is the arrival
    /// time instead: one sender with a wrong clock (or an attacker) would otherwise pin the row
    /// for good, every later real update refused as stale.
    pub fn new(event_time: Option<Timestamp>, message_id: MessageId) -> Self {
        let arrival_ms = epoch_ms(message_id.received_at());
        let event_time_ms = match event_time.map(epoch_ms) {
            Some(t) if t <= arrival_ms.saturating_add(MAX_FUTURE_EVENT_TIME_MS) => t,
            _ => arrival_ms,
        };
        Version {
            event_time_ms,
            tiebreak: message_id.to_string(),
        }
    }

    /// A version from its parts (tests, and versions read back).
    pub fn from_parts(event_time_ms: i64, tiebreak: impl Into<String>) -> Self {
        Version {
            event_time_ms,
            tiebreak: tiebreak.into(),
        }
    }

    pub fn event_time_ms(&self) -> i64 {
        self.event_time_ms
    }

    pub fn tiebreak(&self) -> &str {
        &self.tiebreak
    }

    /// The version a stored item holds, read back as JSON; `None` for an item without an event
    /// time (one written before rows had versions: any version replaces it). A missing tiebreak
    /// reads as the smallest.
    pub fn stored(item: &Map<String, Value>) -> Option<Version> {
        let event_time_ms = item.get(EVENT_TIME_ATTRIBUTE)?.as_i64()?;
        let tiebreak = item
            .get(TIEBREAK_ATTRIBUTE)
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some(Version::from_parts(event_time_ms, tiebreak))
    }

    /// The rule: a row of this version replaces an item holding `stored` when there is none,
    /// or it is older, or of equal time with a tiebreak not greater than this one (equal
    /// versions: the same message again, which rewrites what it wrote).
    pub fn replaces(&self, stored: Option<&Version>) -> bool {
        stored.is_none_or(|s| self >= s)
    }
}

fn epoch_ms(t: Timestamp) -> i64 {
    (t.as_offset_date_time().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A row holding the latest state of something, with its version in its attributes
/// ([`EVENT_TIME_ATTRIBUTE`], [`TIEBREAK_ATTRIBUTE`]) as well as beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestRow {
    kind: StateKind,
    version: Version,
    row: Row,
}

impl LatestRow {
    /// The row `pk` | `sk` of `kind` with `attrs`, at `version`: its `kind`, event time and
    /// tiebreak attributes are set from them, so the row and its version cannot disagree.
    pub fn new(
        kind: StateKind,
        pk: String,
        sk: String,
        mut attrs: Map<String, Value>,
        version: Version,
    ) -> Self {
        attrs.insert("kind".into(), Value::String(kind.as_str().to_owned()));
        attrs.insert(EVENT_TIME_ATTRIBUTE.into(), version.event_time_ms.into());
        attrs.insert(
            TIEBREAK_ATTRIBUTE.into(),
            Value::String(version.tiebreak.clone()),
        );
        LatestRow {
            kind,
            version,
            row: Row { pk, sk, attrs },
        }
    }

    pub fn kind(&self) -> StateKind {
        self.kind
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    pub fn row(&self) -> &Row {
        &self.row
    }

    pub fn into_row(self) -> Row {
        self.row
    }

    /// The item's key.
    pub fn key(&self) -> (&str, &str) {
        (&self.row.pk, &self.row.sk)
    }

    /// Whether this row is written in place of `other` (same key) when both are at hand: the
    /// same rule as against a stored item, so collapsing first changes no outcome.
    pub fn supersedes(&self, other: &LatestRow) -> bool {
        self.version.replaces(Some(&other.version))
    }
}

/// What a conditional write of a latest-state row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The row is in the table (it was absent, older, or this very version).
    Replaced,
    /// The table held a newer version and kept it: the update is stale, and done.
    Stale,
}

/// One row of several mentions of its key: the mention that is written and who mentioned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Newest<'a, O> {
    /// The version written: the one that [`LatestRow::supersedes`] every other (of equal
    /// versions, the later).
    pub row: &'a LatestRow,
    /// Whose mention that is.
    pub written_by: O,
    /// Everyone who mentioned the key, once each, in order of first mention.
    pub owners: Vec<O>,
}

/// Groups `rows` (each with its owner: a message, a position) by key, in order of first
/// mention, keeping the newest version of each: the one request a key needs, whoever sent it.
pub fn newest_by_key<'a, O: PartialEq + Copy>(
    rows: impl IntoIterator<Item = (&'a LatestRow, O)>,
) -> Vec<Newest<'a, O>> {
    let mut out: Vec<Newest<'a, O>> = Vec::new();
    let mut at: HashMap<(&'a str, &'a str), usize> = HashMap::new();
    for (row, owner) in rows {
        match at.get(&row.key()) {
            Some(&j) => {
                let n = &mut out[j];
                if row.supersedes(n.row) {
                    n.row = row;
                    n.written_by = owner;
                }
                if !n.owners.contains(&owner) {
                    n.owners.push(owner);
                }
            }
            None => {
                at.insert(row.key(), out.len());
                out.push(Newest {
                    row,
                    written_by: owner,
                    owners: vec![owner],
                });
            }
        }
    }
    out
}

/// Keeps, of rows with the same key, the one [`newest_by_key`] writes.
pub(crate) fn collapse(rows: &mut Vec<LatestRow>) {
    let keep: HashSet<usize> = newest_by_key(rows.iter().enumerate().map(|(i, r)| (r, i)))
        .into_iter()
        .map(|n| n.written_by)
        .collect();
    let mut i = 0;
    rows.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
}

#[cfg(test)]
#[path = "latest_tests.rs"]
mod tests;
