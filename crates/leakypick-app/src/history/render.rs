//! Rendering the history for `leakypick devices` and `leakypick events`: JSON Lines
//! (one object per device or detection), CSV, or a table. Times are epoch seconds in
//! JSON and CSV, like everywhere else in leakypick.

use std::io::{self, Write};

use leakypick_core::time::Timestamp;
use serde_json::{json, Value};

use super::{DetectionRecord, DeviceRecord};
use crate::render::Format;

fn secs(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

/// JSON object for one stored device (the field names of `analyze`'s device objects).
pub fn device_json(d: &DeviceRecord) -> Value {
    json!({
        "type": "device",
        "mac": d.mac.to_string(),
        "name": d.user_name,
        "vendor": d.vendor,
        "names": d.hostnames,
        "ips": d.ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
        "first_seen": secs(d.first_seen),
        "last_seen": secs(d.last_seen),
    })
}

/// JSON object for one stored detection.
pub fn event_json(d: &DetectionRecord) -> Value {
    json!({
        "type": "event",
        "id": d.id,
        "mac": d.mac.to_string(),
        "start": secs(d.start),
        "end": secs(d.end),
        "rule": d.rule,
        "params": d.params,
        "bytes": d.bytes,
        "peak_bps": d.peak_bps,
        "threshold_bps": d.threshold_bps,
    })
}

fn human(t: Timestamp) -> String {
    crate::render::human_time(t)
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> crate::render::Table {
    // Fits the terminal when stdout is one (see `render::Table`).
    let mut t = crate::render::new_table(header.to_vec(), &[]);
    for r in rows {
        t.add_row(r);
    }
    t
}

fn lines(out: &mut dyn Write, values: impl Iterator<Item = Value>) -> io::Result<()> {
    for v in values {
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn csv_rows(out: &mut dyn Write, header: &[&str], rows: Vec<Vec<String>>) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.flush()
}

/// Writes the stored devices in `format`.
pub fn write_devices(
    out: &mut dyn Write,
    devices: &[DeviceRecord],
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Json => lines(out, devices.iter().map(device_json)),
        Format::Csv => csv_rows(
            out,
            &[
                "mac",
                "name",
                "vendor",
                "names",
                "ips",
                "first_seen",
                "last_seen",
            ],
            devices
                .iter()
                .map(|d| {
                    vec![
                        d.mac.to_string(),
                        d.user_name.clone().unwrap_or_default(),
                        d.vendor.clone().unwrap_or_default(),
                        d.hostnames.join(" "),
                        d.ips
                            .iter()
                            .map(|ip| ip.to_string())
                            .collect::<Vec<_>>()
                            .join(" "),
                        secs(d.first_seen).to_string(),
                        secs(d.last_seen).to_string(),
                    ]
                })
                .collect(),
        ),
        Format::Table => {
            if devices.is_empty() {
                return writeln!(out, "no devices in the history yet");
            }
            let rows = devices
                .iter()
                .map(|d| {
                    vec![
                        d.mac.to_string(),
                        opt(&d.user_name),
                        opt(&d.vendor),
                        if d.hostnames.is_empty() {
                            "-".into()
                        } else {
                            d.hostnames.join(", ")
                        },
                        human(d.first_seen),
                        human(d.last_seen),
                    ]
                })
                .collect();
            let t = table(
                &[
                    "MAC",
                    "NAME",
                    "VENDOR",
                    "HOSTNAMES",
                    "FIRST SEEN",
                    "LAST SEEN",
                ],
                rows,
            );
            writeln!(out, "{t}")
        }
    }
}

/// Writes the stored detections in `format`.
pub fn write_events(
    out: &mut dyn Write,
    events: &[DetectionRecord],
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Json => lines(out, events.iter().map(event_json)),
        Format::Csv => csv_rows(
            out,
            &[
                "mac",
                "start",
                "end",
                "rule",
                "params",
                "bytes",
                "peak_bps",
                "threshold_bps",
            ],
            events
                .iter()
                .map(|d| {
                    vec![
                        d.mac.to_string(),
                        secs(d.start).to_string(),
                        secs(d.end).to_string(),
                        d.rule.clone(),
                        d.params.to_string(),
                        d.bytes.to_string(),
                        d.peak_bps.to_string(),
                        d.threshold_bps.to_string(),
                    ]
                })
                .collect(),
        ),
        Format::Table => {
            if events.is_empty() {
                return writeln!(out, "no detections in the history");
            }
            let rows = events
                .iter()
                .map(|d| {
                    vec![
                        d.mac.to_string(),
                        human(d.start),
                        format!("{:.1}", d.end.secs_since(d.start)),
                        d.rule.clone(),
                        d.bytes.to_string(),
                        format!("{:.0}", d.peak_bps),
                        format!("{:.0}", d.threshold_bps),
                    ]
                })
                .collect();
            let t = table(
                &[
                    "MAC",
                    "START",
                    "SECONDS",
                    "RULE",
                    "BYTES",
                    "PEAK B/S",
                    "THRESHOLD B/S",
                ],
                rows,
            );
            writeln!(out, "{t}")
        }
    }
}
