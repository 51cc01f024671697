//! The summary of `simulate`: one `simulated_device` record per device and a
//! `simulation` record with the totals.

use crate::render::{
    count, new_table, opt_secs, value_to_cell, write_csv_section, write_json_lines, Format,
};
use serde_json::{json, Value};
use std::io::{self, Write};

/// Writes the summary of a simulation: one `simulated_device` record per device and a
/// `simulation` record with the totals.
pub fn write_simulation(
    out: &mut dyn Write,
    s: &super::SimulateSummary,
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
                "Wrote {} ({} on the wire) to {pcap} and {} to {labels}.",
                count(s.frames, "frame"),
                count(s.wire_bytes, "byte"),
                count(s.activations, "activation")
            )
        }
    }
}
