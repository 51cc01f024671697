//! Rendering results: a human table, JSON Lines, or CSV.
//!
//! The JSON shapes are the stable interface that scripts and the web page rely on;
//! they are documented in the README ("Output formats"). Fields are only ever added,
//! never renamed or removed. Core types carry no serialization: the shapes live here.

use leakypick_core::probe::NoPValue;
use leakypick_core::{DestinationScope, DeviceKey, Timestamp};
use serde_json::{json, Value};
use std::io::{self, Write};

/// An output format, chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// A `--format` value that is not a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format '{0}' (choose table, json or csv)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            other => Err(UnknownFormat(other.to_string())),
        }
    }
}

/// Seconds since the epoch, the unit of every time in JSON and CSV.
pub(crate) fn secs(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

pub(crate) fn opt_secs(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(secs(t)))
}

pub(crate) fn mac_value(key: DeviceKey) -> Value {
    match key {
        DeviceKey::Mac(m) => json!(m.to_string()),
        DeviceKey::Ip(_) => Value::Null,
    }
}

/// A UTC time for people: `2019-11-16 08:46:46.279`.
pub fn human_time(t: Timestamp) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(t.0)) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        Err(_) => format!("{:.3}", t.as_secs_f64()),
    }
}

pub(crate) fn scope_name(scope: DestinationScope) -> &'static str {
    match scope {
        DestinationScope::Cloud => "cloud",
        DestinationScope::All => "all",
    }
}

pub(crate) fn p_value(p: &Result<f64, NoPValue>) -> Value {
    match p {
        Ok(v) => json!(v),
        Err(_) => Value::Null,
    }
}

pub(crate) fn write_json_lines(out: &mut dyn Write, values: &[Value]) -> io::Result<()> {
    for v in values {
        serde_json::to_writer(&mut *out, v)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes one CSV section: a header row, then one row per record. The first column of
/// every row is the record type; the caller separates sections with a blank line.
pub(crate) fn write_csv_section(
    out: &mut dyn Write,
    columns: &[&str],
    rows: impl Iterator<Item = Value>,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns).map_err(csv_io)?;
    for v in rows {
        w.write_record(columns.iter().map(|c| value_to_cell(&v[*c])))
            .map_err(csv_io)?;
    }
    w.flush()
}

/// Writes one CSV row (no header) of `v`'s fields `columns`, as [`write_csv_section`]
/// writes its rows: for streams that print the header once, then a row per event.
pub(crate) fn write_csv_row(out: &mut dyn Write, columns: &[&str], v: &Value) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    w.write_record(columns.iter().map(|c| value_to_cell(&v[*c])))
        .map_err(csv_io)?;
    w.flush()
}

fn csv_io(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

pub(crate) fn value_to_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(value_to_cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

pub(crate) fn new_table(header: Vec<&str>, right_aligned: &[usize]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header);
    for &i in right_aligned {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}
