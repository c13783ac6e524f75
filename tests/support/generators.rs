//! Generated hostile webhooks for the property tests: every route's shapes, with valid structure
//! around adversarial leaves (ids with separators, Unicode, control characters and any length;
//! times at the edges of the calendar with offsets; numbers at and past DynamoDB's limits; large
//! and deeply nested values; repeated keys). Shared by `crates/ingest/tests/properties.rs` (the
//! ingest handler and the processor's pure path, in memory) and `tests/properties.rs` (the whole
//! pipeline on the emulator). Strategies list the plain alternatives first, so that proptest
//! shrinks a failing case towards the simplest body that still fails.

use std::fmt;

use proptest::option;
use proptest::prelude::*;

#[path = "generators/leaves.rs"]
pub mod leaves;
#[path = "generators/platforms.rs"]
pub mod platforms;
#[path = "generators/shapes.rs"]
pub mod shapes;

use platforms::{foursquare, hypertrack, roam};
use shapes::{campaign, export_status, platform, radar, structured};
pub use shapes::{event_ids, radar_with_ids};

/// A JSON value kept as the sender wrote it: members in order, repeated keys allowed, numbers
/// as literal text (so `1e400` and 40-digit integers reach the parser unchanged).
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        let string = |out: &mut String, s: &str| {
            out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()))
        };
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => string(out, s),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

pub fn s(text: &str) -> J {
    J::Str(text.to_owned())
}

/// An object of the members that are present.
pub fn obj(members: Vec<(&str, Option<J>)>) -> J {
    J::Obj(
        members
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect(),
    )
}

/// Present three times in four.
pub fn maybe(strategy: impl Strategy<Value = J> + 'static) -> BoxedStrategy<Option<J>> {
    option::weighted(0.75, strategy).boxed()
}

/// The routes and their shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    Radar,
    Structured,
    Platform,
    HyperTrack,
    Roam,
    Foursquare,
    Campaign,
    ExportStatus,
}

impl Shape {
    pub const ALL: [Shape; 8] = [
        Shape::Radar,
        Shape::Structured,
        Shape::Platform,
        Shape::HyperTrack,
        Shape::Roam,
        Shape::Foursquare,
        Shape::Campaign,
        Shape::ExportStatus,
    ];

    pub fn route(self) -> &'static str {
        match self {
            Shape::Radar
            | Shape::Structured
            | Shape::Platform
            | Shape::HyperTrack
            | Shape::Roam
            | Shape::Foursquare => "/webhooks/location",
            Shape::Campaign => "/webhooks/clevertap",
            Shape::ExportStatus => "/webhooks/clevertap/export-status",
        }
    }
}

/// One generated request: a route and a body.
#[derive(Clone, PartialEq)]
pub struct Case {
    pub shape: Shape,
    pub body: String,
}

impl fmt::Debug for Case {
    /// The request as one could replay it; a long run of one character is abbreviated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "POST {} ({:?}, {} bytes) ",
            self.shape.route(),
            self.shape,
            self.body.len()
        )?;
        let mut chars = self.body.chars().peekable();
        let mut shown = 0;
        while let Some(c) = chars.next() {
            let mut run = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                run += 1;
            }
            if shown > 4000 {
                return f.write_str("…");
            }
            if run > 8 {
                write!(f, "{}⟨×{run}⟩", c.escape_debug())?;
            } else {
                for _ in 0..run {
                    write!(f, "{}", c.escape_debug())?;
                }
            }
            shown += run.min(8);
        }
        Ok(())
    }
}

/// A request of the given shape.
pub fn case(shape: Shape) -> BoxedStrategy<Case> {
    let body = match shape {
        Shape::Radar => radar(),
        Shape::Structured => structured(),
        Shape::Platform => platform(),
        Shape::HyperTrack => hypertrack(),
        Shape::Roam => roam(),
        Shape::Foursquare => foursquare(),
        Shape::Campaign => campaign(),
        Shape::ExportStatus => export_status(),
    };
    body.prop_map(move |j| Case {
        shape,
        body: j.text(),
    })
    .boxed()
}

/// A request of any shape.
pub fn any_case() -> BoxedStrategy<Case> {
    prop::sample::select(Shape::ALL.to_vec())
        .prop_flat_map(case)
        .boxed()
}
