//! Rows to Arrow record batches to Parquet bytes.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use hookloop_domain::{Row, Timestamp};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use crate::tables::{Column, Kind, Table, OCCURRENCES, PROFILE_KEY};
use crate::CuratedError;

/// A column's value in `row`, when the row has one.
fn value<'a>(row: &'a Row, column: &Column) -> Option<Cow<'a, Value>> {
    match column.name {
        PROFILE_KEY => row
            .pk
            .strip_prefix("CT#")
            .map(|k| Cow::Owned(Value::String(k.to_owned()))),
        OCCURRENCES => {
            let earlier = row
                .attrs
                .get("earlier_occurrences")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            Some(Cow::Owned(Value::from(1 + earlier as i64)))
        }
        name => row
            .attrs
            .get(name)
            .filter(|v| !v.is_null())
            .map(Cow::Borrowed),
    }
}

fn millis(v: &Value) -> Option<i64> {
    let t = Timestamp::parse_rfc3339(v.as_str()?).ok()?;
    i64::try_from(t.as_offset_date_time().unix_timestamp_nanos() / 1_000_000).ok()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `rows` (all of `table`) as one record batch of the table's schema. A required column a row
/// lacks is an error naming the table, column and message: the rows come from the processor's
/// own code, so it means the two disagree, and writing nulls would hide it.
pub fn record_batch(table: Table, rows: &[Row]) -> Result<RecordBatch, CuratedError> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(table.columns().len());
    for column in table.columns() {
        let values: Vec<Option<Cow<'_, Value>>> = rows.iter().map(|r| value(r, column)).collect();
        let values: Vec<Option<&Value>> = values.iter().map(|v| v.as_deref()).collect();
        let (array, missing) = column_array(column.kind, &values);
        if let Some(i) = missing.filter(|_| !column.nullable) {
            return Err(CuratedError::MissingColumn {
                table: table.name(),
                column: column.name,
                message_id: rows[i]
                    .attrs
                    .get("message_id")
                    .map(text)
                    .unwrap_or_default(),
            });
        }
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(table.schema(), arrays)?)
}

/// One column's array, and the first row without a value.
fn column_array(kind: Kind, values: &[Option<&Value>]) -> (ArrayRef, Option<usize>) {
    fn build<T, A: Array + 'static>(
        values: &[Option<&Value>],
        cell: impl Fn(&Value) -> Option<T>,
        array: impl FnOnce(Vec<Option<T>>) -> A,
    ) -> (ArrayRef, Option<usize>) {
        let cells: Vec<Option<T>> = values.iter().map(|v| v.and_then(&cell)).collect();
        let missing = cells.iter().position(Option::is_none);
        (Arc::new(array(cells)), missing)
    }
    match kind {
        Kind::Text => build(values, |v| Some(text(v)), StringArray::from),
        Kind::Json => build(values, |v| Some(v.to_string()), StringArray::from),
        Kind::Float => build(values, Value::as_f64, Float64Array::from),
        Kind::Int => build(values, Value::as_i64, Int64Array::from),
        Kind::Bool => build(values, Value::as_bool, BooleanArray::from),
        Kind::Time => build(values, millis, |c| {
            TimestampMillisecondArray::from(c).with_timezone("UTC")
        }),
    }
}

/// One Parquet file (Snappy) holding `batch`. The same batch always gives the same bytes.
pub fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, CuratedError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))?;
    writer.write(batch)?;
    Ok(writer.into_inner()?)
}
