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

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown format '{other}' (choose table, json or csv)"
            )),
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

/// The CSV columns whose objects are written as `key=value` pairs joined with `;`: the
/// parameters of a detector configuration (`params`, and a ROC curve's fixed parameters
/// `curve`), whose values are numbers, booleans and names.
const PAIR_COLUMNS: &[&str] = &["params", "curve"];

/// Writes one CSV section: a header row, then one row per record. The first column of
/// every row is the record type; the caller separates sections with a blank line.
/// Each cell is [`value_to_cell`] of the record's field (the columns in
/// [`PAIR_COLUMNS`]: [`pairs_cell`]).
pub(crate) fn write_csv_section(
    out: &mut dyn Write,
    columns: &[&str],
    rows: impl Iterator<Item = Value>,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns).map_err(csv_io)?;
    for v in rows {
        w.write_record(columns.iter().map(|c| {
            if PAIR_COLUMNS.contains(c) {
                pairs_cell(&v[*c])
            } else {
                value_to_cell(&v[*c])
            }
        }))
        .map_err(csv_io)?;
    }
    w.flush()
}

fn csv_io(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// One JSON value as a CSV cell (documented in the README, "Output formats"): `null` is
/// empty, a string is itself, a number or boolean its JSON text, a list of such values
/// its items joined with `;`; an object, or a list holding objects or lists, is its
/// compact JSON text (`{"p_size":"the idle window has 1 packet ..."}`).
pub(crate) fn value_to_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(is_scalar) => {
            a.iter().map(value_to_cell).collect::<Vec<_>>().join(";")
        }
        other => other.to_string(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// A parameter object as a CSV cell: `key=value` pairs joined with `;`
/// (`window_s=1.0;threshold_bps=23000.0;min_windows=2;adaptive=false`); any other value
/// as [`value_to_cell`].
pub(crate) fn pairs_cell(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", value_to_cell(v)))
            .collect::<Vec<_>>()
            .join(";"),
        other => value_to_cell(other),
    }
}

/// A table for people: no borders, the given columns right-aligned. When standard
/// output is a terminal, long columns wrap to fit its width (comfy-table's dynamic
/// arrangement, which reads the width); otherwise (a pipe, a file, the tests) the table
/// is laid out at its natural width, the same bytes whatever the terminal.
pub(crate) fn new_table(header: Vec<&str>, right_aligned: &[usize]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(header);
    for &i in right_aligned {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}

/// [`new_table`] for a table written into a file: never wrapped to a terminal's width.
pub(crate) fn fixed_width(mut t: comfy_table::Table) -> comfy_table::Table {
    t.force_no_tty();
    t
}

/// `n` and the noun, in the plural (an `s` added) unless `n` is 1: `1 activation`,
/// `2 activations`, `0 activations`.
pub(crate) fn count<N: std::fmt::Display + PartialEq + From<u8>>(n: N, noun: &str) -> String {
    if n == N::from(1) {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// [`count`] for a noun whose plural is not made with an `s`.
pub(crate) fn count_of<N: std::fmt::Display + PartialEq + From<u8>>(
    n: N,
    singular: &str,
    plural: &str,
) -> String {
    if n == N::from(1) {
        format!("{n} {singular}")
    } else {
        format!("{n} {plural}")
    }
}
