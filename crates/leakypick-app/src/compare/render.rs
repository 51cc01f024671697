//! The output of `compare`: one `comparison` record per test.

use super::CompareReport;
use crate::capture::render::write_capture_line;
use crate::render::{
    count, human_time, mac_value, new_table, p_value, secs, write_csv_section, write_json_lines,
    Format,
};
use leakypick_core::probe::{Comparison, Decision, NoPValue};
use serde_json::{json, Value};
use std::io::{self, Write};

/// JSON object for one comparison. A missing p-value is `null`, with the reason under
/// `missing`.
pub fn comparison_json(c: &Comparison, r: &CompareReport) -> Value {
    let mut missing = serde_json::Map::new();
    for (name, p) in [
        ("p_size", &c.p_size),
        ("p_iat", &c.p_iat),
        ("p_combined", &c.p_combined),
    ] {
        if let Err(e) = p {
            missing.insert(name.to_string(), json!(e.0));
        }
    }
    json!({
        "type": "comparison",
        "mac": mac_value(r.device),
        "id": r.device.to_string(),
        "test": c.config.test.name(),
        "idle_packets": c.idle_packets,
        "probe_packets": c.probe_packets,
        "bins": c.bins,
        "p_size": p_value(&c.p_size),
        "p_iat": p_value(&c.p_iat),
        "p_combined": p_value(&c.p_combined),
        "threshold": c.config.threshold,
        "decision": decision_name(c.config.decision),
        "bin_rule": match c.config.bin_rule {
            leakypick_core::stats::AutoBinRule::Numpy23 => "numpy-2.3",
            _ => "numpy-legacy",
        },
        "reacted": c.reacted,
        "idle": [secs(r.idle.0), secs(r.idle.1)],
        "probe": [secs(r.probe.0), secs(r.probe.1)],
        "missing": missing,
    })
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Size => "size",
        Decision::Combined => "combined",
    }
}

const COMPARISON_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "test",
    "idle_packets",
    "probe_packets",
    "bins",
    "p_size",
    "p_iat",
    "p_combined",
    "threshold",
    "decision",
    "bin_rule",
    "reacted",
    "idle",
    "probe",
    "missing",
];

/// Writes comparisons in the chosen format.
pub fn write_comparison(
    out: &mut dyn Write,
    report: &CompareReport,
    format: Format,
) -> io::Result<()> {
    let values: Vec<Value> = report
        .comparisons
        .iter()
        .map(|c| comparison_json(c, report))
        .collect();
    match format {
        Format::Json => write_json_lines(out, &values),
        Format::Csv => write_csv_section(out, COMPARISON_COLUMNS, values.into_iter()),
        Format::Table => {
            writeln!(
                out,
                "Device {}: {} sent in scope; idle window {} to {}, probe window {} to {} (UTC).",
                report.device,
                count(report.device_packets, "packet"),
                human_time(report.idle.0),
                human_time(report.idle.1),
                human_time(report.probe.0),
                human_time(report.probe.1)
            )?;
            let mut t = new_table(
                vec![
                    "TEST",
                    "IDLE PKTS",
                    "PROBE PKTS",
                    "BINS",
                    "P SIZE",
                    "P IAT",
                    "P COMBINED",
                    "THRESHOLD",
                    "REACTED",
                ],
                &[1, 2, 3, 4, 5, 6, 7],
            );
            let fmt_p = |p: &Result<f64, NoPValue>| match p {
                Ok(v) => format!("{v:.4}"),
                Err(_) => "-".to_string(),
            };
            let mut notes = Vec::new();
            for c in &report.comparisons {
                t.add_row(vec![
                    c.config.test.name().to_string(),
                    c.idle_packets.to_string(),
                    c.probe_packets.to_string(),
                    c.bins.map_or("-".into(), |b| b.to_string()),
                    fmt_p(&c.p_size),
                    fmt_p(&c.p_iat),
                    fmt_p(&c.p_combined),
                    format!(
                        "{} ({})",
                        c.config.threshold,
                        decision_name(c.config.decision)
                    ),
                    match c.reacted {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "unknown".into(),
                    },
                ]);
                for (name, p) in [("p size", &c.p_size), ("p iat", &c.p_iat)] {
                    if let Err(e) = p {
                        let line = format!("{name}: {e}");
                        if !notes.contains(&line) {
                            notes.push(line);
                        }
                    }
                }
            }
            writeln!(out, "{t}")?;
            for n in notes {
                writeln!(out, "No {n}")?;
            }
            write_capture_line(out, &report.capture)
        }
    }
}
