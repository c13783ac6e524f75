use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

use super::*;

fn id(ms: u64, random: u128) -> MessageId {
    ulid::Ulid::from_parts(ms, random)
        .to_string()
        .parse()
        .expect("a ULID")
}

fn row(time_ms: i64, tiebreak: &str, tag: &str) -> LatestRow {
    let attrs = json!({"tag": tag}).as_object().cloned().unwrap_or_default();
    LatestRow::new(
        StateKind::Trip,
        "TRIP#t".into(),
        "META".into(),
        attrs,
        Version::from_parts(time_ms, tiebreak),
    )
}

#[test]
fn the_event_time_is_the_webhooks_else_the_arrival_time_of_the_message() {
    let message = id(1_714_565_000_123, 7);
    let updated = Timestamp::parse_rfc3339("2024-05-01T12:05:30.250Z").unwrap();
    let v = Version::new(Some(updated), message);
    assert_eq!(v.event_time_ms(), 1_714_565_130_250);
    assert_eq!(v.tiebreak(), message.to_string());
    let v = Version::new(None, message);
    assert_eq!(v.event_time_ms(), 1_714_565_000_123, "the time in the ULID");
}

#[test]
fn an_event_time_far_in_the_future_is_the_arrival_time_so_it_cannot_pin_the_row() {
    let arrival_ms = 1_714_565_000_123;
    let message = id(arrival_ms as u64, 7);
    let at = |ms: i64| {
        Timestamp::from_offset_date_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap(),
        )
    };
    let skewed = arrival_ms + MAX_FUTURE_EVENT_TIME_MS;
    assert_eq!(
        Version::new(Some(at(skewed)), message).event_time_ms(),
        skewed,
        "a slow clock is believed"
    );
    assert_eq!(
        Version::new(Some(at(skewed + 1)), message).event_time_ms(),
        arrival_ms,
        "past the limit: the arrival time"
    );
    let year_9999 = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap();
    assert_eq!(
        Version::new(Some(year_9999), message).event_time_ms(),
        arrival_ms
    );
}

#[test]
fn a_version_replaces_none_an_older_one_an_equal_time_with_a_smaller_tiebreak_and_itself() {
    let v = Version::from_parts(1000, "01B");
    assert!(v.replaces(None), "no item yet (or one without a version)");
    assert!(v.replaces(Some(&Version::from_parts(999, "01Z"))), "older");
    assert!(
        !v.replaces(Some(&Version::from_parts(1001, "01A"))),
        "newer"
    );
    assert!(
        v.replaces(Some(&Version::from_parts(1000, "01A"))),
        "tie, smaller id"
    );
    assert!(
        !v.replaces(Some(&Version::from_parts(1000, "01C"))),
        "tie, larger id"
    );
    assert!(v.replaces(Some(&v.clone())), "the same message again");
}

#[test]
fn a_latest_row_carries_its_kind_and_version_in_its_attributes() {
    let message = id(1, 2);
    let r = LatestRow::new(
        StateKind::User,
        "USER#u".into(),
        "PROFILE".into(),
        json!({"kind": "other", "message_id": "other", "x": 1})
            .as_object()
            .cloned()
            .unwrap(),
        Version::new(
            Some(Timestamp::parse_rfc3339("1970-01-01T00:00:01Z").unwrap()),
            message,
        ),
    );
    assert_eq!(r.kind(), StateKind::User);
    assert_eq!(r.key(), ("USER#u", "PROFILE"));
    let attrs = &r.row().attrs;
    assert_eq!(attrs["kind"], json!("user"));
    assert_eq!(attrs[EVENT_TIME_ATTRIBUTE], json!(1000));
    assert_eq!(attrs[TIEBREAK_ATTRIBUTE], json!(message.to_string()));
    assert_eq!(attrs["x"], json!(1));
    assert_eq!(Version::stored(attrs).as_ref(), Some(r.version()));
}

#[test]
fn an_item_without_an_event_time_holds_no_version() {
    let item = json!({"message_id": "01A"}).as_object().cloned().unwrap();
    assert_eq!(Version::stored(&item), None);
    let item = json!({"event_time_ms": 5}).as_object().cloned().unwrap();
    assert_eq!(Version::stored(&item), Some(Version::from_parts(5, "")));
}

#[test]
fn collapsing_keeps_the_newest_version_of_each_key_and_the_later_of_equal_ones() {
    let mut rows = vec![
        row(2, "01B", "newest"),
        row(1, "01C", "older"),
        row(2, "01A", "tie, smaller id"),
    ];
    let other = LatestRow::new(
        StateKind::User,
        "USER#u".into(),
        "PROFILE".into(),
        Map::new(),
        Version::from_parts(0, "01A"),
    );
    rows.insert(1, other.clone());
    collapse(&mut rows);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].row().attrs["tag"], json!("newest"));
    assert_eq!(rows[1], other);

    let mut same = vec![row(2, "01B", "first"), row(2, "01B", "second")];
    collapse(&mut same);
    assert_eq!(
        same[0].row().attrs["tag"],
        json!("second"),
        "of equal versions, the later"
    );
}

#[test]
fn arrival_times_stand_in_for_missing_event_times_before_the_epoch_too() {
    let t = Timestamp::from_offset_date_time(datetime!(1969-12-31 23:59:59.500 UTC));
    assert_eq!(Version::new(Some(t), id(0, 0)).event_time_ms(), -500);
}

proptest! {
    /// Whatever order versions of one row come in, writing each in turn by the rule (as the
    /// table does) and collapsing them first (as a batch does) leave the same row: the newest.
    #[test]
    fn any_order_of_writes_leaves_the_newest_version(
        versions in prop::collection::vec((0i64..5, 0u8..4), 1..12),
    ) {
        // The generated order is the delivery order: any order at all.
        let rows: Vec<LatestRow> = versions
            .iter()
            .map(|(t, m)| row(*t, &format!("01{m}"), &format!("{t}-{m}")))
            .collect();
        let newest = rows.iter().map(|r| r.version().clone()).max();
        let mut stored: Option<LatestRow> = None;
        for r in &rows {
            if r.version().replaces(stored.as_ref().map(LatestRow::version)) {
                stored = Some(r.clone());
            }
        }
        prop_assert_eq!(stored.map(|r| r.version().clone()), newest.clone());
        let mut collapsed = rows;
        collapse(&mut collapsed);
        prop_assert_eq!(collapsed.len(), 1);
        prop_assert_eq!(Some(collapsed[0].version().clone()), newest);
    }
}

#[test]
fn grouping_by_key_names_every_owner_once_and_who_wrote_the_newest() {
    let (a, b, c) = (row(1, "01A", "a"), row(3, "01A", "b"), row(2, "01A", "c"));
    let groups = newest_by_key([(&a, 7), (&b, 8), (&c, 7)]);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].row, &b);
    assert_eq!(groups[0].written_by, 8);
    assert_eq!(groups[0].owners, vec![7, 8]);
}
