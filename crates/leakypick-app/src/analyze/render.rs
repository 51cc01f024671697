//! The output of `analyze`: one `device` record per device, one `burst` record per
//! upload burst and a `summary` record (JSON Lines, CSV sections, or tables).

use super::{AnalyzeReport, DeviceReport};
use crate::capture::render::write_capture_line;
use crate::capture::CaptureStats;
use crate::render::{
    human_time, mac_value, new_table, opt_secs, scope_name, secs, write_csv_section,
    write_json_lines, Format,
};
use leakypick_core::{Burst, DestinationScope, DeviceKey};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Write};

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
