//! Rendering results: a human table, JSON Lines, or CSV.
//!
//! The JSON shapes are the stable interface that scripts and the web page rely on;
//! they are documented in the README ("Output formats"). Fields are only ever added,
//! never renamed or removed. Core types carry no serialization: the shapes live here.

use crate::analyze::{AnalyzeReport, DeviceReport};
use crate::capture::CaptureStats;
use crate::compare::CompareReport;
use leakypick_core::probe::{Comparison, Decision, NoPValue};
use leakypick_core::{Burst, DestinationScope, DeviceKey, Timestamp};
use serde_json::{json, Value};
use std::collections::HashMap;
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

fn opt_secs(t: Option<Timestamp>) -> Value {
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

/// JSON object for one device.
pub fn device_json(d: &DeviceReport) -> Value {
    let s = &d.stats;
    json!({
        "type": "device",
        "mac": mac_value(s.key),
        "id": s.key.to_string(),
        "vendor": d.vendor,
        "names": d.names,
        "ips": s.ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
        "tx_packets": s.tx_packets,
        "tx_bytes": s.tx_bytes,
        "rx_packets": s.rx_packets,
        "rx_bytes": s.rx_bytes,
        "upload_packets": s.upstream_packets,
        "upload_bytes": s.upstream_bytes,
        "first_seen": secs(s.first_seen),
        "last_seen": secs(s.last_seen),
    })
}

/// JSON object for one burst, with the rule that found it.
pub fn burst_json(b: &Burst, report: &AnalyzeReport) -> Value {
    let c = report.burst_config;
    json!({
        "type": "burst",
        "mac": mac_value(b.device),
        "id": b.device.to_string(),
        "start": secs(b.start),
        "end": secs(b.end),
        "bytes": b.bytes,
        "windows": b.windows,
        "peak_bps": b.peak_bps,
        "rule": if c.baseline.is_some() { "adaptive-burst" } else { "burst" },
        "window_s": c.window_secs(),
        "threshold_bps": b.threshold_bps,
        "min_windows": c.min_windows,
        "destinations": scope_name(report.scope),
    })
}

fn scope_name(scope: DestinationScope) -> &'static str {
    match scope {
        DestinationScope::Cloud => "cloud",
        DestinationScope::All => "all",
    }
}

/// JSON object summarising the input.
pub fn summary_json(c: &CaptureStats, devices: usize, bursts: usize) -> Value {
    json!({
        "type": "summary",
        "files": c.files,
        "packets": c.packets,
        "skipped": c.skipped,
        "first": opt_secs(c.first),
        "last": opt_secs(c.last),
        "devices": devices,
        "bursts": bursts,
        "warnings": c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}

pub(crate) fn p_value(p: &Result<f64, NoPValue>) -> Value {
    match p {
        Ok(v) => json!(v),
        Err(_) => Value::Null,
    }
}

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

fn csv_io(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

fn value_to_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(value_to_cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

const DEVICE_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "vendor",
    "names",
    "ips",
    "tx_packets",
    "tx_bytes",
    "rx_packets",
    "rx_bytes",
    "upload_packets",
    "upload_bytes",
    "first_seen",
    "last_seen",
];
const BURST_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "start",
    "end",
    "bytes",
    "windows",
    "peak_bps",
    "rule",
    "window_s",
    "threshold_bps",
    "min_windows",
    "destinations",
];
const SUMMARY_COLUMNS: &[&str] = &[
    "type", "files", "packets", "skipped", "first", "last", "devices", "bursts", "warnings",
];
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
    "reacted",
    "idle",
    "probe",
];

/// Writes an analysis in the chosen format.
///
/// JSON and CSV are written record by record, so memory does not grow with the number
/// of bursts beyond the report itself.
pub fn write_analysis(
    out: &mut dyn Write,
    report: &AnalyzeReport,
    format: Format,
) -> io::Result<()> {
    let summary = summary_json(&report.capture, report.devices.len(), report.bursts.len());
    match format {
        Format::Json => {
            for d in &report.devices {
                write_json_lines(out, &[device_json(d)])?;
            }
            for b in &report.bursts {
                write_json_lines(out, &[burst_json(b, report)])?;
            }
            write_json_lines(out, &[summary])
        }
        Format::Csv => {
            write_csv_section(out, DEVICE_COLUMNS, report.devices.iter().map(device_json))?;
            out.write_all(b"\n")?;
            write_csv_section(
                out,
                BURST_COLUMNS,
                report.bursts.iter().map(|b| burst_json(b, report)),
            )?;
            out.write_all(b"\n")?;
            write_csv_section(out, SUMMARY_COLUMNS, std::iter::once(summary))
        }
        Format::Table => write_analysis_table(out, report),
    }
}

fn new_table(header: Vec<&str>, right_aligned: &[usize]) -> comfy_table::Table {
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

fn display_name(d: Option<&DeviceReport>) -> String {
    match d {
        Some(d) => match (d.names.first(), d.vendor) {
            (Some(n), _) => n.clone(),
            (None, Some(v)) => v.to_string(),
            (None, None) => String::new(),
        },
        None => String::new(),
    }
}

fn write_analysis_table(out: &mut dyn Write, report: &AnalyzeReport) -> io::Result<()> {
    let first = report.capture.first.unwrap_or_default();
    let mut t = new_table(
        vec![
            "DEVICE",
            "VENDOR",
            "NAMES",
            "IPS",
            "TX PKTS",
            "TX BYTES",
            "UPLOAD BYTES",
            "RX PKTS",
            "RX BYTES",
            "FIRST SEEN (UTC)",
            "LAST SEEN (UTC)",
        ],
        &[4, 5, 6, 7, 8],
    );
    let mut devices: Vec<&DeviceReport> = report.devices.iter().collect();
    devices.sort_by(|a, b| {
        b.stats
            .tx_bytes
            .cmp(&a.stats.tx_bytes)
            .then(a.stats.key.cmp(&b.stats.key))
    });
    for d in &devices {
        let s = &d.stats;
        t.add_row(vec![
            s.key.to_string(),
            d.vendor.unwrap_or("-").to_string(),
            if d.names.is_empty() {
                "-".into()
            } else {
                d.names.join(", ")
            },
            if s.ips.is_empty() {
                "-".into()
            } else {
                s.ips
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            s.tx_packets.to_string(),
            s.tx_bytes.to_string(),
            s.upstream_bytes.to_string(),
            s.rx_packets.to_string(),
            s.rx_bytes.to_string(),
            human_time(s.first_seen),
            human_time(s.last_seen),
        ]);
    }
    writeln!(out, "Devices ({}), by bytes sent:", report.devices.len())?;
    writeln!(out, "{t}")?;
    writeln!(out)?;
    let c = report.burst_config;
    writeln!(
        out,
        "Audio uploads: {} burst{} (rule: {} s windows above {} for at least {} in a row; {} destinations)",
        report.bursts.len(),
        if report.bursts.len() == 1 { "" } else { "s" },
        c.window_secs(),
        match &c.baseline {
            None => format!("{} kbit/s", c.threshold_bps / 1000.0),
            Some(b) => format!(
                "each device's learned threshold ({}x its {} idle rate, at least {} kbit/s; {} kbit/s while learning)",
                b.factor,
                quantile_name(b.quantile),
                b.floor_bps / 1000.0,
                c.threshold_bps / 1000.0
            ),
        },
        c.min_windows,
        match report.scope {
            DestinationScope::Cloud => "cloud",
            DestinationScope::All => "LAN and cloud",
        }
    )?;
    if !report.bursts.is_empty() {
        let by_key: HashMap<DeviceKey, &DeviceReport> =
            report.devices.iter().map(|d| (d.stats.key, d)).collect();
        let mut t = new_table(
            vec![
                "DEVICE",
                "NAME OR VENDOR",
                "START (UTC)",
                "+S",
                "SECONDS",
                "BYTES",
                "PEAK KBIT/S",
            ],
            &[3, 4, 5, 6],
        );
        for b in &report.bursts {
            t.add_row(vec![
                b.device.to_string(),
                display_name(by_key.get(&b.device).copied()),
                human_time(b.start),
                format!("{:.1}", b.start.secs_since(first)),
                format!("{:.1}", b.end.secs_since(b.start)),
                b.bytes.to_string(),
                format!("{:.1}", b.peak_bps / 1000.0),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    writeln!(out)?;
    write_capture_line(out, &report.capture)
}

fn quantile_name(q: f64) -> String {
    format!("p{}", (q * 100.0).round())
}

fn write_capture_line(out: &mut dyn Write, c: &CaptureStats) -> io::Result<()> {
    let span = match (c.first, c.last) {
        (Some(a), Some(b)) => format!(
            ", {} to {} UTC ({:.1} s)",
            human_time(a),
            human_time(b),
            b.secs_since(a)
        ),
        _ => String::new(),
    };
    writeln!(
        out,
        "Read {} packet{} from {} file{}, {} skipped{span}.",
        c.packets,
        if c.packets == 1 { "" } else { "s" },
        c.files,
        if c.files == 1 { "" } else { "s" },
        c.skipped
    )
}

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
                "Device {}: {} packets sent in scope; idle window {} to {}, probe window {} to {} (UTC).",
                report.device,
                report.device_packets,
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

/// Writes the summary of a simulation: one `simulated_device` record per device and a
/// `simulation` record with the totals.
pub fn write_simulation(
    out: &mut dyn Write,
    s: &crate::simulate::SimulateSummary,
    pcap: &str,
    labels: &str,
    format: Format,
) -> io::Result<()> {
    let devices: Vec<Value> = s
        .devices
        .iter()
        .zip(&s.activations_per_device)
        .map(|(d, n)| {
            json!({
                "type": "simulated_device",
                "mac": d.mac.to_string(),
                "kind": d.kind.name(),
                "ip": std::net::Ipv4Addr::from(d.ip).to_string(),
                "activations": n,
            })
        })
        .collect();
    let total = json!({
        "type": "simulation",
        "pcap": pcap,
        "labels": labels,
        "frames": s.frames,
        "wire_bytes": s.wire_bytes,
        "pcap_bytes": s.pcap_bytes,
        "activations": s.activations,
        "first": opt_secs(s.first),
        "last": opt_secs(s.last),
    });
    match format {
        Format::Json => {
            write_json_lines(out, &devices)?;
            write_json_lines(out, &[total])
        }
        Format::Csv => {
            write_csv_section(
                out,
                &["type", "mac", "kind", "ip", "activations"],
                devices.into_iter(),
            )?;
            out.write_all(b"\n")?;
            write_csv_section(
                out,
                &[
                    "type",
                    "pcap",
                    "labels",
                    "frames",
                    "wire_bytes",
                    "pcap_bytes",
                    "activations",
                    "first",
                    "last",
                ],
                std::iter::once(total),
            )
        }
        Format::Table => {
            let mut t = new_table(vec!["DEVICE", "KIND", "IP", "ACTIVATIONS"], &[3]);
            for d in &devices {
                t.add_row(vec![
                    value_to_cell(&d["mac"]),
                    value_to_cell(&d["kind"]),
                    value_to_cell(&d["ip"]),
                    value_to_cell(&d["activations"]),
                ]);
            }
            writeln!(out, "{t}")?;
            writeln!(
                out,
                "Wrote {} frames ({} bytes on the wire) to {pcap} and {} activations to {labels}.",
                s.frames, s.wire_bytes, s.activations
            )
        }
    }
}
