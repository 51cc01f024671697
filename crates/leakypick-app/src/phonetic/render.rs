//! The output of `phonetic`: one `phonetic` record per word.

use super::PhoneticReport;
use crate::render::{new_table, write_csv_section, write_json_lines, Format};
use serde_json::{json, Value};
use std::io::{self, Write};

const COLUMNS: &[&str] = &[
    "type", "word", "code", "distance", "to", "to_code", "phonemes",
];

/// The JSON records, one per word: `type`, `word`, `code`, `distance` first, then the
/// wake word and its code, and the word's phoneme count from the dictionary (`null`
/// when the dictionary lacks it).
pub fn phonetic_json(report: &PhoneticReport) -> Vec<Value> {
    report
        .rows
        .iter()
        .map(|r| {
            json!({
                "type": "phonetic",
                "word": r.word,
                "code": r.code,
                "distance": r.distance,
                "to": report.to,
                "to_code": report.to_code,
                "phonemes": r.phonemes,
            })
        })
        .collect()
}

/// Writes the report in the chosen format.
pub fn write_phonetic(
    out: &mut dyn Write,
    report: &PhoneticReport,
    format: Format,
) -> io::Result<()> {
    let values = phonetic_json(report);
    match format {
        Format::Json => write_json_lines(out, &values),
        Format::Csv => write_csv_section(out, COLUMNS, values.into_iter()),
        Format::Table => {
            let how = if report.to_phonemes.estimated {
                "estimated: not all in the CMU dictionary"
            } else {
                "CMU dictionary"
            };
            writeln!(
                out,
                "Wake word {:?}: Double Metaphone {}, {} phonemes ({how}).",
                report.to, report.to_code, report.to_phonemes.count
            )?;
            let mut t = new_table(vec!["WORD", "CODE", "DISTANCE", "PHONEMES"], &[2, 3]);
            for r in &report.rows {
                t.add_row(vec![
                    r.word.clone(),
                    r.code.clone(),
                    r.distance.to_string(),
                    r.phonemes
                        .map_or_else(|| "-".to_string(), |n| n.to_string()),
                ]);
            }
            writeln!(out, "{t}")
        }
    }
}
