//! What `monitor` prints on stdout: one `detection` record per event (`started` when a
//! burst is confirmed, `ended` when it ends) as JSON Lines, CSV rows or text lines.

use super::{Detection, MonitorEvent};
use serde_json::{json, Value};

/// The JSON object printed by `monitor --format json` (see the README): the fields
/// of `events --format json` plus the event kind and the device's names. `id` is the
/// detection's id (as in `events`; also `detection_id`), `device` the device's id
/// (the MAC, or the IP), `mac` is `null` for a device known only by IP address.
pub fn detection_json(d: &Detection, event: &str) -> Value {
    json!({
        "type": "detection",
        "event": event,
        "id": d.id,
        "mac": crate::render::mac_value(d.device),
        "name": d.name,
        "vendor": d.vendor,
        "start": d.start.as_secs_f64(),
        "end": d.end.as_secs_f64(),
        "rule": d.rule,
        "params": d.params,
        "bytes": d.bytes,
        "peak_bps": d.peak_bps,
        "threshold_bps": d.threshold_bps,
        "detection_id": d.id,
        "device": d.device.to_string(),
    })
}

/// Columns of `monitor --format csv`: the fields of [`detection_json`], in order.
pub const CSV_COLUMNS: &[&str] = &[
    "type",
    "event",
    "id",
    "mac",
    "name",
    "vendor",
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

/// The header row of `monitor --format csv` (printed once, before the first event):
/// [`CSV_COLUMNS`] joined with commas.
pub const CSV_HEADER: &str = "type,event,id,mac,name,vendor,start,end,rule,params,bytes,\
                              peak_bps,threshold_bps,detection_id,device";

/// Writes one event as the monitor prints it: a JSON object per line, a CSV row (the
/// JSON fields, as [`CSV_COLUMNS`] lists them), or a line of text for the terminal.
pub fn write_event(
    out: &mut dyn std::io::Write,
    event: &MonitorEvent,
    format: crate::render::Format,
) -> std::io::Result<()> {
    use crate::render::{human_time, Format};
    let (kind, d) = match event {
        MonitorEvent::Started(d) => ("started", d),
        MonitorEvent::Ended(d) => ("ended", d),
    };
    match format {
        Format::Json => writeln!(out, "{}", detection_json(d, kind)),
        Format::Csv => crate::render::write_csv_row(out, CSV_COLUMNS, &detection_json(d, kind)),
        Format::Table => {
            let who = match (&d.name, d.vendor) {
                (Some(n), _) => format!("{} ({n})", d.device),
                (None, Some(v)) => format!("{} ({v})", d.device),
                (None, None) => d.device.to_string(),
            };
            match event {
                MonitorEvent::Started(_) => writeln!(
                    out,
                    "{}  STREAMING  {who}: {} kbit/s > {} kbit/s since {} (rule {})",
                    human_time(d.end),
                    (d.peak_bps / 1000.0).round(),
                    (d.threshold_bps / 1000.0).round(),
                    human_time(d.start),
                    d.rule
                ),
                MonitorEvent::Ended(_) => writeln!(
                    out,
                    "{}  ended      {who}: {:.1} s, {} bytes, peak {} kbit/s",
                    human_time(d.end),
                    d.end.secs_since(d.start),
                    d.bytes,
                    (d.peak_bps / 1000.0).round()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Detection, MonitorEvent};
    use leakypick_core::{DeviceKey, Timestamp};
    use serde_json::json;

    #[test]
    fn csv_header_is_the_columns() {
        assert_eq!(CSV_HEADER, CSV_COLUMNS.join(","));
    }

    #[test]
    fn csv_rows_carry_the_json_fields() {
        let d = Detection {
            id: None,
            device: DeviceKey::Ip(
                "192.168.12.112"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([0; 4])),
            ),
            name: None,
            vendor: None,
            start: Timestamp(1_000_000_000),
            end: Timestamp(3_000_000_000),
            rule: "burst".into(),
            params: json!({"window_s": 1.0}),
            bytes: 5,
            peak_bps: 8.5,
            threshold_bps: 23000.0,
        };
        let mut out = Vec::new();
        write_event(
            &mut out,
            &MonitorEvent::Ended(d),
            crate::render::Format::Csv,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "detection,ended,,,,,1.0,3.0,burst,\"{\"\"window_s\"\":1.0}\",5,8.5,23000.0,,192.168.12.112\n"
        );
    }
}
