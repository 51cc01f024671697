//! Rendering the history for `leakypick devices` and `leakypick events`: JSON Lines
//! (one object per device or detection), CSV, or a table. Times are epoch seconds in
//! JSON and CSV, like everywhere else in leakypick. CSV carries exactly the JSON fields,
//! `type` first, lists joined with `;` (the shared [`write_csv_section`]).

use std::io::{self, Write};

use leakypick_core::time::Timestamp;
use leakypick_core::DeviceKey;
use serde_json::{json, Value};

use super::{DetectionRecord, DeviceRecord};
use crate::render::{mac_value, new_table, write_csv_section, write_json_lines, Format};

fn secs(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

/// JSON object for one stored device (the field names of `analyze`'s device objects):
/// `mac` is `null` for a device known only by IP address, `id` is the device's id (the
/// MAC, or the IP) as in every other command.
pub fn device_json(d: &DeviceRecord) -> Value {
    json!({
        "type": "device",
        "mac": mac_value(d.device),
        "name": d.user_name,
        "vendor": d.vendor,
        "names": d.hostnames,
        "ips": d.ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
        "first_seen": secs(d.first_seen),
        "last_seen": secs(d.last_seen),
        "id": d.device.to_string(),
    })
}

/// JSON object for one stored detection. `id` is the detection's id (kept for
/// compatibility; the same as `detection_id`); `device` is the device's id (the MAC, or
/// the IP), which other commands call `id`.
pub fn event_json(d: &DetectionRecord) -> Value {
    json!({
        "type": "event",
        "id": d.id,
        "mac": mac_value(d.device),
        "start": secs(d.start),
        "end": secs(d.end),
        "rule": d.rule,
        "params": d.params,
        "bytes": d.bytes,
        "peak_bps": d.peak_bps,
        "threshold_bps": d.threshold_bps,
        "detection_id": d.id,
        "device": d.device.to_string(),
    })
}

/// Columns of `devices --format csv`: the fields of [`device_json`], in order.
pub const DEVICE_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "name",
    "vendor",
    "names",
    "ips",
    "first_seen",
    "last_seen",
    "id",
];

/// Columns of `events --format csv`: the fields of [`event_json`], in order.
pub const EVENT_COLUMNS: &[&str] = &[
    "type",
    "id",
    "mac",
    "start",
    "end",
    "rule",
    "params",
    "bytes",
    "peak_bps",
    "threshold_bps",
    "detection_id",
    "device",
];

fn human(t: Timestamp) -> String {
    crate::render::human_time(t)
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

/// A rate in bit/s as kbit/s for the table: `615.5`, `23.0`.
fn kbit(bps: f64) -> String {
    format!("{:.1}", bps / 1000.0)
}

/// Writes the stored devices in `format`.
pub fn write_devices(
    out: &mut dyn Write,
    devices: &[DeviceRecord],
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Json => {
            let values: Vec<Value> = devices.iter().map(device_json).collect();
            write_json_lines(out, &values)
        }
        Format::Csv => write_csv_section(out, DEVICE_COLUMNS, devices.iter().map(device_json)),
        Format::Table => {
            if devices.is_empty() {
                return writeln!(out, "no devices in the history yet");
            }
            let mut t = new_table(
                vec![
                    "DEVICE",
                    "NAME",
                    "VENDOR",
                    "HOSTNAMES",
                    "FIRST SEEN (UTC)",
                    "LAST SEEN (UTC)",
                ],
                &[],
            );
            for d in devices {
                t.add_row(vec![
                    d.device.to_string(),
                    opt(&d.user_name),
                    opt(&d.vendor),
                    if d.hostnames.is_empty() {
                        "-".into()
                    } else {
                        d.hostnames.join(", ")
                    },
                    human(d.first_seen),
                    human(d.last_seen),
                ]);
            }
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
        Format::Json => {
            let values: Vec<Value> = events.iter().map(event_json).collect();
            write_json_lines(out, &values)
        }
        Format::Csv => write_csv_section(out, EVENT_COLUMNS, events.iter().map(event_json)),
        Format::Table => {
            if events.is_empty() {
                return writeln!(out, "no detections in the history");
            }
            let mut t = new_table(
                vec![
                    "ID",
                    "DEVICE",
                    "START (UTC)",
                    "SECONDS",
                    "RULE",
                    "BYTES",
                    "PEAK KBIT/S",
                    "THRESHOLD KBIT/S",
                ],
                &[0, 3, 5, 6, 7],
            );
            for d in events {
                t.add_row(vec![
                    d.id.map_or_else(|| "-".into(), |i| i.to_string()),
                    d.device.to_string(),
                    human(d.start),
                    format!("{:.1}", d.end.secs_since(d.start)),
                    d.rule.clone(),
                    d.bytes.to_string(),
                    kbit(d.peak_bps),
                    kbit(d.threshold_bps),
                ]);
            }
            writeln!(out, "{t}")
        }
    }
}

/// What `leakypick name` did: a `device_name` record (`name` is `null` when removed).
pub fn write_device_name(
    out: &mut dyn Write,
    device: DeviceKey,
    name: &str,
    format: Format,
) -> io::Result<()> {
    let record = json!({
        "type": "device_name",
        "mac": mac_value(device),
        "id": device.to_string(),
        "name": if name.is_empty() { None } else { Some(name) },
    });
    match format {
        Format::Json => write_json_lines(out, std::slice::from_ref(&record)),
        Format::Csv => {
            write_csv_section(out, &["type", "mac", "id", "name"], std::iter::once(record))
        }
        Format::Table if name.is_empty() => writeln!(out, "Removed the name of {device}."),
        Format::Table => writeln!(out, "Named {device} \"{name}\"."),
    }
}
