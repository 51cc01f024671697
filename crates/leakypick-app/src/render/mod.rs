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

/// A table for people: no borders, some columns right-aligned (see [`new_table`]).
///
/// When standard output is a terminal, the table fits its width: columns wrap between
/// words (comfy-table's dynamic arrangement, which reads the width), and a word (a MAC
/// address, a number, a date) is never cut; a table whose words alone are wider than
/// the terminal still overflows. Otherwise (a pipe, a file, the tests) the table is laid
/// out at its natural width: the same bytes whatever the terminal.
#[derive(Debug, Clone)]
pub(crate) struct Table(comfy_table::Table);

impl std::ops::Deref for Table {
    type Target = comfy_table::Table;

    fn deref(&self) -> &comfy_table::Table {
        &self.0
    }
}

impl std::ops::DerefMut for Table {
    fn deref_mut(&mut self) -> &mut comfy_table::Table {
        &mut self.0
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.width().is_none() {
            // Not a terminal: no width, no constraints, the natural layout.
            return write!(f, "{}", self.0);
        }
        let mut t = self.0.clone();
        keep_words_whole(&mut t);
        write!(f, "{t}")
    }
}

/// Gives every column at least the width of its longest word, so that wrapping happens
/// only between words.
fn keep_words_whole(t: &mut comfy_table::Table) {
    let longest_word = |cell: &comfy_table::Cell| {
        cell.content()
            .split_whitespace()
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0)
    };
    let mut widths: Vec<usize> = Vec::new();
    for row in t.header().into_iter().chain(t.row_iter()) {
        for (i, cell) in row.cell_iter().enumerate() {
            if widths.len() <= i {
                widths.resize(i + 1, 0);
            }
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(longest_word(cell));
            }
        }
    }
    for (i, w) in widths.into_iter().enumerate() {
        if let Some(c) = t.column_mut(i) {
            let width = u16::try_from(w)
                .unwrap_or(u16::MAX)
                .saturating_add(c.padding_width());
            c.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
                comfy_table::Width::Fixed(width),
            ));
        }
    }
}

/// A table for people with these headers, the given columns right-aligned: see [`Table`].
pub(crate) fn new_table(header: Vec<&str>, right_aligned: &[usize]) -> Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(header);
    for &i in right_aligned {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    Table(t)
}

/// [`new_table`] for a table written into a file: never fitted to a terminal.
pub(crate) fn fixed_width(mut t: Table) -> Table {
    t.0.force_no_tty();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> Table {
        let mut t = new_table(
            vec!["DEVICE", "VENDOR", "FIRST SEEN (UTC)", "TX BYTES"],
            &[3],
        );
        t.add_row(vec![
            "68:db:f5:90:19:64",
            "Amazon Technologies Inc.",
            "2019-11-16 08:46:46.279",
            "285368",
        ]);
        t
    }

    #[test]
    fn a_table_without_a_terminal_keeps_its_natural_width() {
        let text = fixed_width(devices()).to_string();
        assert_eq!(
            text,
            " DEVICE             VENDOR                    FIRST SEEN (UTC)         TX BYTES \n \
             68:db:f5:90:19:64  Amazon Technologies Inc.  2019-11-16 08:46:46.279    285368 "
        );
    }

    #[test]
    fn a_narrow_terminal_wraps_between_words_never_inside_one() {
        let mut t = devices();
        t.set_width(60);
        let text = t.to_string();
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        for word in [
            "68:db:f5:90:19:64",
            "Technologies",
            "08:46:46.279",
            "285368",
        ] {
            assert!(text.contains(word), "{word} was cut:\n{text}");
        }
        assert!(text.lines().count() > 2, "nothing wrapped:\n{text}");
    }

    #[test]
    fn csv_cells() {
        assert_eq!(value_to_cell(&json!(null)), "");
        assert_eq!(value_to_cell(&json!([1.5, 2.0])), "1.5;2.0");
        assert_eq!(value_to_cell(&json!(["a", "b"])), "a;b");
        assert_eq!(
            value_to_cell(&json!({"p_size": "too few; at least 2"})),
            r#"{"p_size":"too few; at least 2"}"#
        );
        assert_eq!(value_to_cell(&json!([{"a": 1}])), r#"[{"a":1}]"#);
        assert_eq!(
            pairs_cell(&json!({"window_s": 1.0, "adaptive": false})),
            "window_s=1.0;adaptive=false"
        );
        assert_eq!(count(1u64, "burst"), "1 burst");
        assert_eq!(count(0usize, "burst"), "0 bursts");
        assert_eq!(count_of(2u32, "series", "series"), "2 series");
    }
}
