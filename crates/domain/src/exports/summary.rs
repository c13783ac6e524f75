//! One export request's summary (`EXPORT#<id>`, `SUMMARY`): every status alert of it merged,
//! in any order, into when its last run was initiated and completed, how long it took, when the
//! next run is due, and which overdue and missed alerts were raised for it.

use serde_json::{json, Map, Value};
use time::Duration;

use super::frequency::Frequency;
use super::{export_pk, ExportLimits, SUMMARY_KIND, SUMMARY_SK};
use crate::normalize::put_opt;
use crate::{ExportStatusAlert, Row, Timestamp};

/// The raised alerts a summary remembers (each names its run, so older ones only stop a run's
/// alert being raised twice; the newest are kept).
pub const MAX_RAISED: usize = 32;

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    Initiated,
    Completed,
    /// Initiated, and not completed within `EXPORT_COMPLETION_HOURS`.
    Overdue,
    /// Recurring, and no new run within its interval and `EXPORT_GRACE_MINUTES`.
    Missed,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Initiated => "initiated",
            ExportState::Completed => "completed",
            ExportState::Overdue => "overdue",
            ExportState::Missed => "missed",
        }
    }
}

/// An overdue or missed export: what the check raises, once per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub state: ExportState,
    /// When it became overdue or missed: the `ALERT#<time>` row's time.
    pub due_at: Timestamp,
    /// The run it is about: the initiation that did not complete, or the run that did not come.
    pub run_at: Timestamp,
}

impl Due {
    /// What the summary remembers of it, so it is raised once: `overdue@<run>`, `missed@<run>`.
    pub fn mark(&self) -> String {
        format!("{}@{}", self.state.as_str(), self.run_at.canonical())
    }
}

/// The merged alerts of one export request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportSummary {
    pub export_request_id: String,
    pub partner: Option<String>,
    pub export_type: Option<String>,
    /// `Frequency` as the newest alert sent it.
    pub frequency: Option<String>,
    /// The newest `Initiated` alert's time.
    pub initiated_at: Option<Timestamp>,
    /// The newest `Completed` alert's time.
    pub completed_at: Option<Timestamp>,
    /// The newest alert, `(time, message id)`: its status, partner, type and frequency are the
    /// summary's, whatever order alerts are processed in.
    pub newest: Option<(Timestamp, String)>,
    /// The newest alert's `Status` as sent.
    pub last_status: Option<String>,
    /// The overdue and missed alerts raised ([`Due::mark`]), newest last.
    pub raised: Vec<String>,
    /// Which alert `partner`, `type` and `frequency` came from ([`order_key`]): the newest that
    /// sent each, so an alert without one never hides an older one's.
    pub field_keys: [Option<String>; 3],
}

/// An alert's place in time as text, `<at>#<message id>`: fixed-width times and ULIDs, so the
/// text sorts as the alerts do.
pub fn order_key(at: Timestamp, message_id: &str) -> String {
    format!("{}#{message_id}", at.canonical())
}

const FIELD_KEYS: [&str; 3] = ["partner_from", "type_from", "frequency_from"];

impl ExportSummary {
    pub fn new(export_request_id: &str) -> Self {
        ExportSummary {
            export_request_id: export_request_id.to_owned(),
            ..Default::default()
        }
    }

    /// Merges one alert (the message `message_id`'s); `false` when it changes nothing (a
    /// redelivery). Commutative: any order of the same alerts gives the same summary.
    pub fn apply(&mut self, alert: &ExportStatusAlert, message_id: &str) -> bool {
        let before = self.clone();
        let at = alert.at;
        match alert.status.trim().to_ascii_lowercase().as_str() {
            "initiated" => self.initiated_at = self.initiated_at.max(Some(at)),
            "completed" => self.completed_at = self.completed_at.max(Some(at)),
            _ => {}
        }
        let order = (at, message_id.to_owned());
        if self.newest.as_ref().is_none_or(|n| order > *n) {
            self.newest = Some(order);
            self.last_status = Some(alert.status.clone());
        }
        let key = order_key(at, message_id);
        let [pk, tk, fk] = &mut self.field_keys;
        for (field, field_key, sent) in [
            (&mut self.partner, pk, &alert.partner),
            (&mut self.export_type, tk, &alert.export_type),
            (&mut self.frequency, fk, &alert.frequency),
        ] {
            if sent.is_some() && field_key.as_deref().is_none_or(|k| key.as_str() > k) {
                field.clone_from(sent);
                *field_key = Some(key.clone());
            }
        }
        *self != before
    }

    /// The run's time from initiation to completion, in seconds, once it completed (a newer
    /// initiation starts a run without one).
    pub fn duration_s(&self) -> Option<i64> {
        match (self.initiated_at, self.completed_at) {
            (Some(i), Some(c)) if c >= i => Some(seconds(c, i)),
            _ => None,
        }
    }

    /// How often it runs; an unknown `Frequency` counts as one time.
    pub fn frequency(&self) -> Frequency {
        self.frequency
            .as_deref()
            .and_then(Frequency::parse)
            .unwrap_or(Frequency::OneTime)
    }

    /// Whether its `Frequency` was sent and is not one [`Frequency::parse`] knows.
    pub fn frequency_unknown(&self) -> bool {
        self.frequency
            .as_deref()
            .is_some_and(|f| Frequency::parse(f).is_none())
    }

    /// When the last run started: its initiation, or its completion when no initiation of it
    /// was seen (a completion more than an interval after the last initiation is a later run's).
    fn last_run_at(&self, interval: Duration) -> Option<Timestamp> {
        match (self.initiated_at, self.completed_at) {
            (Some(i), Some(c)) if later_than(c, i, interval) => Some(c),
            (Some(i), _) => Some(i),
            (None, c) => c,
        }
    }

    /// When a recurring export's next run should start.
    pub fn next_expected_at(&self) -> Option<Timestamp> {
        let interval = self.frequency().interval()?;
        add(self.last_run_at(interval)?, interval)
    }

    /// Initiated or completed, from the alerts alone.
    fn reported(&self) -> ExportState {
        match (self.initiated_at, self.completed_at) {
            (Some(i), Some(c)) if c >= i => ExportState::Completed,
            (None, Some(_)) => ExportState::Completed,
            _ => ExportState::Initiated,
        }
    }

    /// When it becomes overdue (an initiated run not completed) and missed (a recurring
    /// export's next run not started), under `limits`.
    pub fn deadlines(&self, limits: &ExportLimits) -> [Option<Due>; 2] {
        let overdue = match (self.reported(), self.initiated_at) {
            (ExportState::Initiated, Some(run_at)) => {
                add(run_at, limits.completion).map(|due_at| Due {
                    state: ExportState::Overdue,
                    due_at,
                    run_at,
                })
            }
            _ => None,
        };
        let missed = self.next_expected_at().and_then(|run_at| {
            add(run_at, limits.grace).map(|due_at| Due {
                state: ExportState::Missed,
                due_at,
                run_at,
            })
        });
        // Both at one instant (an interval of exactly the completion limit less the grace):
        // one alert, missed, as an `ALERT#<time>` item holds one.
        match (overdue, missed) {
            (Some(o), Some(m)) if o.due_at == m.due_at => [None, Some(m)],
            (o, m) => [o, m],
        }
    }

    /// What is overdue or missed at `now` under `limits`, raised or not.
    pub fn due(&self, now: Timestamp, limits: &ExportLimits) -> Vec<Due> {
        self.deadlines(limits)
            .into_iter()
            .flatten()
            .filter(|d| now >= d.due_at)
            .collect()
    }

    /// What is overdue or missed at `now` and not raised yet: what a check raises.
    pub fn newly_due(&self, now: Timestamp, limits: &ExportLimits) -> Vec<Due> {
        let mut due = self.due(now, limits);
        due.retain(|d| !self.raised.contains(&d.mark()));
        due
    }

    /// Remembers `due` as raised.
    pub fn raise(&mut self, due: &Due) {
        let mark = due.mark();
        if !self.raised.contains(&mark) {
            self.raised.push(mark);
        }
        let over = self.raised.len().saturating_sub(MAX_RAISED);
        self.raised.drain(..over);
    }

    /// Where it stands as of the alerts and the alerts raised for its current run.
    pub fn raised_state(&self, limits: &ExportLimits) -> ExportState {
        let raised = self
            .deadlines(limits)
            .into_iter()
            .flatten()
            .filter(|d| self.raised.contains(&d.mark()))
            .map(|d| d.state);
        self.worst_of(raised)
    }

    /// Missed over overdue over what the alerts report.
    fn worst_of(&self, due: impl IntoIterator<Item = ExportState>) -> ExportState {
        let due: Vec<ExportState> = due.into_iter().collect();
        [ExportState::Missed, ExportState::Overdue]
            .into_iter()
            .find(|s| due.contains(s))
            .unwrap_or_else(|| self.reported())
    }

    /// The summary's item (`EXPORT#<id>`, `SUMMARY`), its `status` as of the raised alerts.
    /// Its revision is the writer's to add.
    pub fn to_row(&self, limits: &ExportLimits) -> Row {
        let mut a = Map::new();
        a.insert("kind".into(), json!(SUMMARY_KIND));
        a.insert("export_request_id".into(), json!(self.export_request_id));
        a.insert("status".into(), json!(self.raised_state(limits).as_str()));
        put_opt(&mut a, "partner", self.partner.clone());
        put_opt(&mut a, "type", self.export_type.clone());
        put_opt(&mut a, "frequency", self.frequency.clone());
        let interval = self.frequency().interval().map(|d| d.whole_seconds());
        put_opt(&mut a, "interval_s", interval);
        put_opt(&mut a, "last_status", self.last_status.clone());
        let time = |t: Option<Timestamp>| t.map(|t| t.canonical());
        put_opt(&mut a, "initiated_at", time(self.initiated_at));
        put_opt(&mut a, "completed_at", time(self.completed_at));
        put_opt(&mut a, "duration_s", self.duration_s());
        put_opt(&mut a, "next_expected_at", time(self.next_expected_at()));
        let [overdue, missed] = self.deadlines(limits);
        put_opt(&mut a, "overdue_at", overdue.map(|d| d.due_at.canonical()));
        put_opt(&mut a, "missed_at", missed.map(|d| d.due_at.canonical()));
        if let Some((at, message_id)) = &self.newest {
            a.insert("newest_at".into(), json!(at.canonical()));
            a.insert("newest_message_id".into(), json!(message_id));
        }
        if !self.raised.is_empty() {
            a.insert("raised".into(), json!(self.raised));
        }
        for (name, key) in FIELD_KEYS.iter().zip(&self.field_keys) {
            put_opt(&mut a, name, key.clone());
        }
        Row {
            pk: export_pk(&self.export_request_id),
            sk: SUMMARY_SK.to_owned(),
            attrs: a,
        }
    }

    /// A summary item read back; `None` when it is not one (no `export_request_id`). Fields it
    /// cannot read are absent, so the next alert fills them again.
    pub fn from_item(item: &Map<String, Value>) -> Option<Self> {
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
        let time = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .and_then(|t| Timestamp::parse_rfc3339(t).ok())
        };
        Some(ExportSummary {
            export_request_id: text("export_request_id")?,
            partner: text("partner"),
            export_type: text("type"),
            frequency: text("frequency"),
            initiated_at: time("initiated_at"),
            completed_at: time("completed_at"),
            newest: time("newest_at").zip(text("newest_message_id")),
            last_status: text("last_status"),
            raised: item
                .get("raised")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            field_keys: FIELD_KEYS.map(text),
        })
    }

    /// The `hookloop exports list --json` line of a summary item at `now`: every field present,
    /// `null` when unknown; the status from the deadlines the item was written with
    /// (`overdue_at`, `missed_at`: the function's limits, whatever the reader's).
    pub fn listing(item: &Map<String, Value>, now: Timestamp) -> Option<Value> {
        let s = ExportSummary::from_item(item)?;
        let passed = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .and_then(|t| Timestamp::parse_rfc3339(t).ok())
                .is_some_and(|t| now >= t)
        };
        let status = s.worst_of(
            [
                (passed("missed_at"), ExportState::Missed),
                (passed("overdue_at"), ExportState::Overdue),
            ]
            .into_iter()
            .filter_map(|(due, state)| due.then_some(state)),
        );
        let time = |t: Option<Timestamp>| t.map(|t| t.canonical());
        Some(json!({
            "export_request_id": s.export_request_id,
            "partner": s.partner,
            "type": s.export_type,
            "frequency": s.frequency,
            "status": status.as_str(),
            "initiated_at": time(s.initiated_at),
            "completed_at": time(s.completed_at),
            "duration_s": s.duration_s(),
            "next_expected_at": time(s.next_expected_at()),
        }))
    }
}

fn add(t: Timestamp, d: Duration) -> Option<Timestamp> {
    Timestamp::checked(t.as_offset_date_time().checked_add(d)?)
}

fn seconds(later: Timestamp, earlier: Timestamp) -> i64 {
    (later.as_offset_date_time() - earlier.as_offset_date_time()).whole_seconds()
}

/// `a` is more than `d` after `b`.
fn later_than(a: Timestamp, b: Timestamp, d: Duration) -> bool {
    add(b, d).is_some_and(|limit| a > limit)
}
