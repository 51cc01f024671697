//! The output of probing sessions (`probe`, `analyze --probe-log`) and of `report`:
//! one `verdict` record per device and probe, then a `session` record.

use super::SessionReport;
use crate::oui;
use crate::render::{
    count, human_time, mac_value, new_table, p_value, secs, write_csv_section, write_json_lines,
    Format,
};
use leakypick_core::session::{Decide, DeviceAttempt, ProbeVerdict};
use leakypick_core::time::Timestamp;
use leakypick_core::DeviceKey;
use serde_json::{json, Value};
use std::io::{self, Write};

fn device_label(report: &SessionReport, d: DeviceKey) -> (Option<String>, Option<&'static str>) {
    match d {
        DeviceKey::Mac(m) => (report.names.get(m).map(str::to_string), oui::vendor(m)),
        _ => (None, None),
    }
}

/// JSON object for one device's verdict on one probe.
pub fn verdict_json(report: &SessionReport, v: &ProbeVerdict) -> Value {
    let (name, vendor) = device_label(report, v.device);
    let details: Vec<Value> = report
        .results
        .iter()
        .filter(|r| r.device == v.device && r.probe == v.probe)
        .map(|r| {
            json!({
                "attempt": r.attempt,
                "reacted": r.reacted,
                "by_burst": r.by_burst,
                "by_stat": r.by_stat,
                "p_size": p_value(&r.comparison.p_size),
                "p_iat": p_value(&r.comparison.p_iat),
                "idle_packets": r.comparison.idle_packets,
                "probe_packets": r.comparison.probe_packets,
                "idle_bursts": r.idle_bursts.len(),
                "probe_bursts": r.probe_bursts.iter().map(|b| json!({
                    "start": secs(b.start), "end": secs(b.end), "bytes": b.bytes, "peak_bps": b.peak_bps,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "type": "verdict",
        "mac": mac_value(v.device),
        "id": v.device.to_string(),
        "name": name,
        "vendor": vendor,
        "probe": v.probe,
        "reacted": v.reacted,
        "attempts": v.attempts,
        "positive": v.positive,
        "decide": report.config.decide.name(),
        "test": report.config.probe.test.name(),
        "threshold": report.config.probe.threshold,
        "details": details,
    })
}

/// JSON object summarising a session.
pub fn session_json(report: &SessionReport) -> Value {
    let reacting = report.reacting();
    json!({
        "type": "session",
        "start": report.attempts.first().map(|a| secs(a.idle.start)),
        "end": report.attempts.last().map(|a| secs(a.probe_window.end)),
        "probes": report.attempts.iter().filter(|a| a.attempt == 1).map(|a| a.probe.clone()).collect::<Vec<_>>(),
        "attempts": report.attempts.len(),
        "devices": report.verdicts.iter().map(|v| v.device).collect::<std::collections::BTreeSet<_>>().len(),
        "reacted": reacting.iter().map(|(d, p)| json!({"mac": mac_value(*d), "id": d.to_string(), "probes": p})).collect::<Vec<_>>(),
        "decide": report.config.decide.name(),
    })
}

const VERDICT_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "name",
    "vendor",
    "probe",
    "reacted",
    "attempts",
    "positive",
    "decide",
    "test",
    "threshold",
    "details",
];

const SESSION_COLUMNS: &[&str] = &[
    "type", "start", "end", "probes", "attempts", "devices", "reacted", "decide",
];

/// The columns of a section of `report`'s CSV: `type`, then `session` (the session's
/// number in the history), then the other columns of the record.
fn with_session_column(columns: &[&'static str]) -> Vec<&'static str> {
    let mut out = vec!["type", "session"];
    out.extend(columns.iter().filter(|c| **c != "type"));
    out
}

/// Writes a session's verdicts: one JSON object per device and probe, then a summary.
pub fn write_session(
    out: &mut dyn Write,
    report: &SessionReport,
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Json => {
            for v in &report.verdicts {
                write_json_lines(out, &[verdict_json(report, v)])?;
            }
            write_json_lines(out, &[session_json(report)])
        }
        Format::Csv => {
            write_csv_section(
                out,
                VERDICT_COLUMNS,
                report.verdicts.iter().map(|v| verdict_json(report, v)),
            )?;
            out.write_all(b"\n")?;
            write_csv_section(out, SESSION_COLUMNS, std::iter::once(session_json(report)))
        }
        Format::Table => {
            let mut t = new_table(
                vec![
                    "DEVICE",
                    "NAME OR VENDOR",
                    "PROBE",
                    "REACTED",
                    "ATTEMPTS",
                    "P_SIZE",
                    "BURSTS",
                ],
                &[],
            );
            let mut shown = 0;
            for v in &report.verdicts {
                let rs: Vec<&DeviceAttempt> = report
                    .results
                    .iter()
                    .filter(|r| r.device == v.device && r.probe == v.probe)
                    .collect();
                // Devices that never reacted and sent nothing in a probe window are noise.
                if !v.reacted && rs.iter().all(|r| r.comparison.probe_packets == 0) {
                    continue;
                }
                shown += 1;
                let (name, vendor) = device_label(report, v.device);
                let p = rs
                    .iter()
                    .map(|r| match &r.comparison.p_size {
                        Ok(p) => format!("{p:.3}"),
                        Err(_) => "-".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                let bursts = rs
                    .iter()
                    .map(|r| r.probe_bursts.len().to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                t.add_row(vec![
                    v.device.to_string(),
                    name.or(vendor.map(str::to_string))
                        .unwrap_or_else(|| "-".into()),
                    v.probe.clone(),
                    if v.reacted { "YES".into() } else { "no".into() },
                    format!("{}/{}", v.positive, v.attempts),
                    p,
                    bursts,
                ]);
            }
            let reacting = report.reacting();
            writeln!(
                out,
                "Probing: {}, {}; decided by {} (test {}, p < {}).",
                count(
                    report.attempts.iter().filter(|a| a.attempt == 1).count(),
                    "probe"
                ),
                count(report.attempts.len(), "attempt"),
                report.config.decide.name(),
                report.config.probe.test.name(),
                report.config.probe.threshold
            )?;
            if shown > 0 {
                writeln!(out, "{t}")?;
            }
            if reacting.is_empty() {
                writeln!(out, "No device reacted to the probes.")
            } else {
                for (d, probes) in reacting {
                    let (name, vendor) = device_label(report, d);
                    writeln!(
                        out,
                        "REACTED: {d}{} to {}",
                        name.or(vendor.map(str::to_string))
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        probes.join(", ")
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// The names of a decide rule, for error messages.
pub fn decide_names() -> String {
    Decide::ALL.map(|d| d.name()).join(", ")
}

/// Writes a probing session read back from the history (`leakypick report`): the
/// stored verdict objects, then the session summary, exactly as `probe` printed them.
pub fn write_stored_session(
    out: &mut dyn Write,
    id: i64,
    summary: &Value,
    verdicts: &[Value],
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Json => {
            write_json_lines(out, verdicts)?;
            write_json_lines(out, std::slice::from_ref(summary))
        }
        Format::Csv => {
            // The stored records, each with the session's number beside its type.
            let numbered = |v: &Value, ty: &str| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.entry("type").or_insert_with(|| json!(ty));
                    m.insert("session".to_string(), json!(id));
                }
                v
            };
            write_csv_section(
                out,
                &with_session_column(VERDICT_COLUMNS),
                verdicts.iter().map(|v| numbered(v, "verdict")),
            )?;
            out.write_all(b"\n")?;
            write_csv_section(
                out,
                &with_session_column(SESSION_COLUMNS),
                std::iter::once(numbered(summary, "session")),
            )
        }
        Format::Table => {
            let when = summary["start"]
                .as_f64()
                .and_then(Timestamp::from_secs_f64)
                .map(human_time)
                .unwrap_or_else(|| "-".into());
            writeln!(out, "Probing session {id}, started {when} UTC:")?;
            let mut any = false;
            for v in verdicts.iter().filter(|v| v["reacted"] == true) {
                any = true;
                writeln!(
                    out,
                    "REACTED: {} {} to {} ({} of {})",
                    v["id"].as_str().unwrap_or(""),
                    v["name"]
                        .as_str()
                        .or(v["vendor"].as_str())
                        .map(|n| format!("({n})"))
                        .unwrap_or_default(),
                    v["probe"].as_str().unwrap_or(""),
                    v["positive"],
                    count(v["attempts"].as_u64().unwrap_or(0), "attempt")
                )?;
            }
            if !any {
                writeln!(out, "No device reacted to the probes.")?;
            }
            Ok(())
        }
    }
}
