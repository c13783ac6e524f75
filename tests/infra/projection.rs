//! Athena's partition projection as the tables declare it (their TBLPROPERTIES): the S3 prefix
//! of a partition, and the partition a key lies under if the projection admits it. The raw table
//! is partitioned by (source, dt, hour) ([`Projection`]), each curated table by `dt`
//! ([`DayProjection`]). Shared by tests/infra (the template) and tests/deployed (the tables the
//! stack created).

use serde_json::{Map, Value};
use time::macros::format_description;

/// The projection of a table partitioned by `source` (enum), `dt` (date) and `hour` (integer).
#[derive(Debug)]
pub struct Projection {
    template: String,
    sources: Vec<String>,
    hours: (u32, u32),
    hour_digits: usize,
}

impl Projection {
    /// Reads the table's parameters; panics naming the property that is missing or not what
    /// a raw-archive table needs.
    pub fn from_parameters(p: &Map<String, Value>) -> Projection {
        let get = |k: &str| property(p, k);
        assert_eq!(get("projection.enabled"), "true");
        assert_eq!(get("projection.source.type"), "enum");
        assert_eq!(get("projection.dt.type"), "date");
        assert_eq!(get("projection.dt.format"), "yyyy-MM-dd");
        assert_eq!(get("projection.hour.type"), "integer");
        let range = get("projection.hour.range");
        let (lo, hi) = range
            .split_once(',')
            .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
            .unwrap_or_else(|| panic!("projection.hour.range {range:?}"));
        Projection {
            template: get("storage.location.template"),
            sources: get("projection.source.values")
                .split(',')
                .map(str::to_owned)
                .collect(),
            hours: (lo, hi),
            hour_digits: get("projection.hour.digits").parse().unwrap_or(0),
        }
    }

    /// The enum's values, in order.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The S3 prefix Athena reads for one partition.
    pub fn location(&self, source: &str, dt: &str, hour: u32) -> String {
        self.template
            .replace("${source}", source)
            .replace("${dt}", dt)
            .replace(
                "${hour}",
                &format!("{hour:0width$}", width = self.hour_digits),
            )
    }

    /// The partition (source, dt, hour) whose location `url` lies under, if the projection
    /// projects it: a source of the enum, a real date, an hour in range written with its digits.
    pub fn partition_of(&self, url: &str) -> Option<(String, String, u32)> {
        let (source, dt, hour) = self.captures(url)?;
        let hour_n: u32 = hour.parse().ok()?;
        let admitted = self.sources.contains(&source)
            && time::Date::parse(&dt, format_description!("[year]-[month]-[day]")).is_ok()
            && hour.len() == self.hour_digits.max(1)
            && (self.hours.0..=self.hours.1).contains(&hour_n);
        (admitted && url.starts_with(&self.location(&source, &dt, hour_n)))
            .then_some((source, dt, hour_n))
    }

    /// The values the template's placeholders take in `url`.
    fn captures(&self, url: &str) -> Option<(String, String, String)> {
        let mut values = captures(&self.template, url)?;
        let mut take = |name: &str| values.remove(name);
        Some((take("source")?, take("dt")?, take("hour")?))
    }
}

/// The projection of a table partitioned by `dt` (date) only: the curated tables.
#[derive(Debug)]
pub struct DayProjection {
    template: String,
}

impl DayProjection {
    /// Reads the table's parameters; panics naming the property that is missing or not what a
    /// curated table needs.
    pub fn from_parameters(p: &Map<String, Value>) -> DayProjection {
        let get = |k: &str| property(p, k);
        assert_eq!(get("projection.enabled"), "true");
        assert_eq!(get("projection.dt.type"), "date");
        assert_eq!(get("projection.dt.format"), "yyyy-MM-dd");
        DayProjection {
            template: get("storage.location.template"),
        }
    }

    /// The S3 prefix Athena reads for one day.
    pub fn location(&self, dt: &str) -> String {
        self.template.replace("${dt}", dt)
    }

    /// The day whose location `url` lies under, if the projection projects it (a real date).
    pub fn partition_of(&self, url: &str) -> Option<String> {
        let dt = captures(&self.template, url)?.remove("dt")?;
        let admitted = time::Date::parse(&dt, format_description!("[year]-[month]-[day]")).is_ok();
        (admitted && url.starts_with(&self.location(&dt))).then_some(dt)
    }
}

/// A table property's text; panics naming it when it is missing.
fn property(p: &Map<String, Value>, k: &str) -> String {
    p.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("table property {k} missing: {p:?}"))
        .to_owned()
}

/// The values a location template's placeholders take in `url` (each, the text up to the
/// literal that follows it), by name.
fn captures(template: &str, url: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let mut rest = url;
    let mut tpl = template;
    let mut values = std::collections::BTreeMap::new();
    while let Some(start) = tpl.find("${") {
        rest = rest.strip_prefix(&tpl[..start])?;
        let end = tpl[start..].find('}')? + start;
        let name = &tpl[start + 2..end];
        tpl = &tpl[end + 1..];
        let next = tpl.find("${").unwrap_or(tpl.len());
        let literal = &tpl[..next];
        let cut = if literal.is_empty() {
            rest.len()
        } else {
            rest.find(literal)?
        };
        values.insert(name.to_owned(), rest[..cut].to_owned());
        rest = &rest[cut..];
    }
    rest.strip_prefix(tpl)?;
    Some(values)
}
