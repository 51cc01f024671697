//! The summary of `replay`: one `replay` record.

use super::ReplaySummary;
use crate::render::{new_table, write_csv_section, write_json_lines, Format};
use serde_json::{json, Value};
use std::io::{self, Write};

/// The summary as one JSON object (`"type": "replay"`).
pub fn summary_json(s: &ReplaySummary) -> Value {
    json!({
        "type": "replay",
        "interface": s.interface,
        "files": s.files,
        "loops": s.loops,
        "frames": s.frames,
        "bytes": s.bytes,
        "failed": s.failed,
        "padded": s.padded,
        "seconds": round3(s.seconds),
        "mbps": round3(s.mbps()),
        "frames_per_sec": round3(s.frames_per_sec()),
        "first_error": s.first_error,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub(crate) const CSV_COLUMNS: &[&str] = &[
    "type",
    "interface",
    "files",
    "loops",
    "frames",
    "bytes",
    "failed",
    "padded",
    "seconds",
    "mbps",
    "frames_per_sec",
    "first_error",
];

/// Writes the summary as a table, one JSON line, or CSV (header and one row).
pub fn write_summary(out: &mut dyn Write, s: &ReplaySummary, format: Format) -> io::Result<()> {
    let v = summary_json(s);
    match format {
        Format::Json => write_json_lines(out, &[v]),
        Format::Csv => write_csv_section(out, CSV_COLUMNS, std::iter::once(v)),
        Format::Table => {
            let mut t = new_table(
                vec![
                    "INTERFACE",
                    "FRAMES",
                    "BYTES",
                    "SECONDS",
                    "MBIT/S",
                    "FRAMES/S",
                    "FAILED",
                ],
                &[1, 2, 3, 4, 5, 6],
            );
            t.add_row(vec![
                s.interface.clone(),
                s.frames.to_string(),
                s.bytes.to_string(),
                format!("{:.3}", s.seconds),
                format!("{:.3}", s.mbps()),
                format!("{:.0}", s.frames_per_sec()),
                s.failed.to_string(),
            ]);
            writeln!(out, "{t}")?;
            writeln!(
                out,
                "Replayed {} file{} {} time{}{}.",
                s.files.len(),
                if s.files.len() == 1 { "" } else { "s" },
                s.loops,
                if s.loops == 1 { "" } else { "s" },
                if s.padded > 0 {
                    format!(
                        "; {} truncated frames were padded to their original length",
                        s.padded
                    )
                } else {
                    String::new()
                }
            )
        }
    }
}
