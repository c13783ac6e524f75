//! The leaves of generated webhooks: ids, text, numbers, times, nested values.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::{s, J};

/// Characters that separate parts of keys and lists somewhere in the pipeline.
const SEPARATORS: &[&str] = &["#", ",", ":", "/", "~", "|", " ", "#evt:", "\\", "\""];
const ODD_TEXT: &[&str] = &[
    "\u{FFFF}",
    "\u{FFFE}",
    "\u{202E}rtl",
    "\u{200B}",
    "\u{2028}",
    "é",
    "日本",
    "💥",
    "a\u{301}",
    "\u{7f}",
    "\u{85}",
    "\u{0}",
    "\n",
    "\r\n",
    "\t",
    "</script>",
    "%s%n",
    "${jndi:x}",
];

pub fn unicode_text(max: usize) -> BoxedStrategy<String> {
    vec(
        prop_oneof![
            "[a-z0-9]{1,4}",
            prop::sample::select(SEPARATORS).prop_map(str::to_owned),
            prop::sample::select(ODD_TEXT).prop_map(str::to_owned),
            any::<char>().prop_map(String::from),
        ],
        1..max,
    )
    .prop_map(|parts| parts.concat())
    .boxed()
}

/// A run of `n` characters, some wide, around the key and record limits.
pub fn long_text() -> BoxedStrategy<String> {
    let lengths = prop_oneof![
        prop::sample::select(vec![255usize, 256, 257, 1023, 1024, 1025, 2047, 2048, 2049]),
        1usize..5000,
    ];
    (lengths, prop::sample::select(vec!["x", "é", "日", "💥"]))
        .prop_map(|(n, c)| c.repeat(n))
        .boxed()
}

/// An identifier: sender ids are strings or integers, of any content and length.
pub fn id() -> BoxedStrategy<J> {
    prop_oneof![
        24 => "[a-z0-9]{1,12}".prop_map(J::Str),
        2 => prop::sample::select(vec![0i128, -1, i64::MIN as i128, i64::MAX as i128, u64::MAX as i128, u64::MAX as i128 + 1])
            .prop_map(|n| J::Num(n.to_string())),
        3 => unicode_text(8).prop_map(J::Str),
        1 => long_text().prop_map(J::Str),
        1 => prop_oneof![
            Just(s("")), Just(s("   ")), Just(s("a\u{0}b")), Just(J::Num("1.5".into())), Just(J::Bool(true)),
            Just(J::Null), Just(J::Obj(vec![])), Just(J::Arr(vec![])),
        ],
    ]
    .boxed()
}

/// Free text (event types, statuses, tags, emails).
pub fn text() -> BoxedStrategy<J> {
    prop_oneof![
        16 => "[a-z ._-]{0,16}".prop_map(J::Str),
        3 => unicode_text(10).prop_map(J::Str),
        1 => any::<String>().prop_map(J::Str),
        1 => long_text().prop_map(J::Str),
        1 => prop_oneof![Just(J::Num("7".into())), Just(J::Null), Just(J::Bool(false))],
    ]
    .boxed()
}

/// A number as literal text: ordinary, any f64, and DynamoDB's and f64's edges.
pub fn number() -> BoxedStrategy<J> {
    const EDGES: &[&str] = &[
        "0",
        "-0",
        "0.0",
        "1e-130",
        "-1e-130",
        "1e-131",
        "9.9999999999999999999999999999999999999e125",
        "1e125",
        "1e126",
        "-1e126",
        "1e308",
        "1.7976931348623157e308",
        "1e309",
        "-1e309",
        "5e-324",
        "1e-400",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "12345678901234567890123456789012345678",
        "123456789012345678901234567890123456789012",
        "0.1234567890123456789012345678901234567891",
    ];
    prop_oneof![
        4 => any::<i32>().prop_map(|n| J::Num(n.to_string())),
        2 => "-?[0-9]{1,3}\\.[0-9]{1,4}".prop_map(J::Num),
        2 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| J::Num(serde_json::to_string(&f).unwrap_or_else(|_| "0".into()))),
        3 => prop::sample::select(EDGES).prop_map(|n| J::Num(n.to_owned())),
    ]
    .boxed()
}

/// A latitude (`limit` 90) or longitude (180): in range, at and past its edges, as a number or
/// a numeric string.
pub fn coordinate(limit: f64) -> BoxedStrategy<J> {
    prop_oneof![
        16 => (-limit..=limit).prop_map(|f| J::Num(serde_json::to_string(&f).unwrap_or_else(|_| "0".into()))),
        2 => (-limit..=limit).prop_map(|f| J::Str(format!(" {f} "))),
        2 => prop::sample::select(vec![
            limit.to_string(), (-limit).to_string(), format!("{limit}.0000000001"), "1e-200".into(),
            "-1e-131".into(), "-0".into(), "4.9e-324".into(),
        ]).prop_map(J::Num),
        1 => prop::sample::select(vec!["NaN", "inf", "1e2", "", "0x10", "1e-200"]).prop_map(s),
        1 => number(),
    ]
    .boxed()
}

/// `true`/`false`, or the strings platforms send, or neither.
pub fn flag() -> BoxedStrategy<J> {
    prop_oneof![
        6 => any::<bool>().prop_map(J::Bool),
        2 => prop::sample::select(vec!["TRUE", "false", "True", "maybe", ""]).prop_map(s),
        1 => Just(J::Num("1".into())),
    ]
    .boxed()
}

/// An RFC 3339 time: anywhere in years 0000-9999 with any offset, the calendar's edges (where
/// the offset moves the time out of years 1-9999), invalid fields, other forms.
pub fn rfc3339() -> BoxedStrategy<J> {
    let offset = prop_oneof![
        3 => Just("Z".to_owned()),
        1 => Just("z".to_owned()),
        6 => (prop::bool::ANY, 0u8..=23, 0u8..=59)
            .prop_map(|(plus, h, m)| format!("{}{h:02}:{m:02}", if plus { '+' } else { '-' })),
    ];
    let fraction = option::of(prop_oneof![8 => "[0-9]{1,3}", 1 => "[0-9]{4,12}"])
        .prop_map(|f| f.map(|f| format!(".{f}")).unwrap_or_default());
    let year = prop_oneof![
        prop::sample::select(vec![1u32, 1969, 1970, 2024, 9998, 9999]),
        1u32..=9999,
    ];
    let valid = (
        year,
        1u8..=12,
        1u8..=28,
        0u8..=23,
        0u8..=59,
        0u8..=59,
        fraction,
        offset.clone(),
    )
        .prop_map(|(y, mo, d, h, mi, se, fr, off)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}{fr}{off}")
        });
    // One field at a time past its range, or a form RFC 3339 does not have.
    let invalid = (
        (0u32..=9999, 1u8..=12, 1u8..=31, 0u8..=23),
        prop::sample::select(vec![
            (4usize, "00"),
            (4, "13"),
            (7, "00"),
            (7, "32"),
            (10, " "),
            (10, "t"),
            (13, "24"),
            (16, "60"),
            (19, "+24:00"),
            (19, ""),
            (19, "+0100"),
            (19, " UTC"),
        ]),
    )
        .prop_map(|((y, mo, d, h), (at, with))| {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:30:00Z");
            let end = match at {
                4 | 7 => at + 3,
                10 => 11,
                19 => 20,
                _ => at + 2,
            };
            let at = if at == 4 || at == 7 { at + 1 } else { at };
            format!("{}{with}{}", &text[..at], &text[end.min(text.len())..])
        });
    // Where an offset moves the time out of years 1-9999 (or just inside them).
    let edges = (prop::bool::ANY, 0u8..=23, 0u8..=59).prop_map(|(start, h, m)| {
        if start {
            format!("0001-01-01T00:00:00+{h:02}:{m:02}")
        } else {
            format!("9999-12-31T23:59:59.999-{h:02}:{m:02}")
        }
    });
    prop_oneof![
        30 => valid.prop_map(J::Str),
        3 => edges.prop_map(J::Str),
        3 => invalid.prop_map(J::Str),
        1 => text(),
        1 => Just(J::Num("1714564800".into())),
    ]
    .boxed()
}

/// CleverTap's `DD/MM/YYYY h:mm:ss AM/PM` (or a 24-hour clock), at and past the calendar's edges.
pub fn clevertap_time() -> BoxedStrategy<J> {
    let year = prop_oneof![prop::sample::select(vec![1u32, 2023, 9999]), 1u32..=9999,];
    let clock = prop_oneof![
        (1u8..=12, prop::sample::select(vec![" AM", " PM", " pm"])).prop_map(|(h, p)| (h, p)),
        (0u8..=23).prop_map(|h| (h, "")),
    ];
    let valid = (1u8..=28, 1u8..=12, year, clock, 0u8..=59, 0u8..=59).prop_map(
        |(d, mo, y, (h, p), m, sec)| format!("{d}/{mo:02}/{y:04} {h}:{m:02}:{sec:02}{p}"),
    );
    let invalid = (
        prop_oneof![1u8..=28, Just(0u8), Just(29), Just(31), Just(32)],
        prop_oneof![1u8..=12, Just(0u8), Just(13)],
        prop::sample::select(vec!["0000", "0001", "9999", "-0001", "+10000", "99999"]),
        0u8..=24,
        (0u8..=60, 0u8..=60),
        prop::sample::select(vec![" AM", " PM", "", " XM"]),
    )
        .prop_map(|(d, mo, y, h, (m, sec), p)| format!("{d}/{mo:02}/{y} {h}:{m:02}:{sec:02}{p}"));
    prop_oneof![12 => valid.prop_map(J::Str), 3 => invalid.prop_map(J::Str), 1 => text()].boxed()
}

/// A key of the marketer's own (key_values, profileData): any text, empty, very long.
pub fn key() -> BoxedStrategy<String> {
    prop_oneof![
        6 => "[a-zA-Z_]{1,10}",
        2 => unicode_text(6),
        1 => prop::sample::select(vec!["", "pk", "sk", "kind", "objectId", "__proto__"]).prop_map(str::to_owned),
        1 => (60_000usize..70_000).prop_map(|n| "k".repeat(n)),
    ]
    .boxed()
}

/// Any JSON value: small trees of every type, values nested `depth` deep around DynamoDB's 32
/// and serde_json's 128 levels, and large strings.
pub fn value() -> BoxedStrategy<J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number(),
        text(),
    ];
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(J::Arr),
            vec((key(), inner), 0..4).prop_map(J::Obj),
        ]
    });
    let depths = prop::sample::select(vec![1usize, 2, 30, 31, 32, 33, 40, 126, 127, 128, 129, 200]);
    let deep = (depths, vec(prop::bool::ANY, 1..8), number()).prop_map(|(depth, kinds, leaf)| {
        (0..depth).fold(leaf, |inner, level| {
            if kinds[level % kinds.len()] {
                J::Arr(vec![inner])
            } else {
                J::Obj(vec![("d".into(), inner)])
            }
        })
    });
    let big = prop::sample::select(vec![1_000usize, 100_000, 300_000, 410_000])
        .prop_map(|n| J::Str("b".repeat(n)));
    prop_oneof![8 => tree, 2 => deep, 1 => big].boxed()
}

/// An object of the marketer's own keys and values; sometimes not an object at all.
pub fn key_values() -> BoxedStrategy<J> {
    prop_oneof![
        8 => vec((key(), value()), 0..5).prop_map(J::Obj),
        1 => value(),
    ]
    .boxed()
}

/// Repeats a member of an object now and then (a repeated key).
pub fn with_repeat(strategy: BoxedStrategy<J>) -> BoxedStrategy<J> {
    (
        strategy,
        prop::bool::weighted(0.05),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(j, repeat, at)| match j {
            J::Obj(mut members) if repeat && !members.is_empty() => {
                let m = members[at.index(members.len())].clone();
                members.push(m);
                J::Obj(members)
            }
            other => other,
        })
        .boxed()
}
