//! Rendering an evaluation: JSON Lines, CSV sections, a table, and a directory of files.
//!
//! The JSON shapes are documented in `docs/evaluation-format.md` and, like those of
//! `output.rs`, only grow: fields are added, never renamed or removed. Rates that do not
//! exist (a device without activations has no TPR) are `null`, never NaN.

use crate::evaluate::labels::{native_line, NATIVE_COMMENT, NATIVE_HEADER};
use crate::evaluate::{
    ConfigResult, DetectionRecord, DetectorParams, EvalDevice, EvaluationReport, PValueSeries,
    RateSeries, RocCurve, Score,
};
use crate::render::{
    count as plural, count_of, fixed_width, human_time, new_table, value_to_cell, Format, Table,
};
use leakypick_core::eval::{PairLabel, WindowPair};
use leakypick_core::stats::AutoBinRule;
use leakypick_core::{DeviceKey, Timestamp};
use serde_json::{json, Value};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

fn secs(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

fn nanos_secs(n: i64) -> f64 {
    n as f64 / 1e9
}

fn mac_value(key: Option<DeviceKey>) -> Value {
    match key {
        Some(DeviceKey::Mac(m)) => json!(m.to_string()),
        _ => Value::Null,
    }
}

fn id_value(key: Option<DeviceKey>) -> Value {
    key.map_or(Value::Null, |k| json!(k.to_string()))
}

/// The parameters of a configuration as a JSON object.
pub fn params_json(p: &DetectorParams) -> Value {
    match p {
        DetectorParams::Burst(c) => json!({
            "window_s": c.window_secs(),
            "threshold_bps": c.threshold_bps,
            "min_windows": c.min_windows,
            "adaptive": c.baseline.is_some(),
        }),
        DetectorParams::Stat(c) => json!({
            "window_s": nanos_secs(c.window_nanos),
            "test": c.probe.test.name(),
            "threshold": c.probe.threshold,
            "decision": match c.probe.decision {
                leakypick_core::probe::Decision::Size => "size",
                leakypick_core::probe::Decision::Combined => "combined",
            },
            "bin_rule": match c.probe.bin_rule {
                AutoBinRule::Numpy23 => "numpy-2.3",
                _ => "numpy-legacy",
            },
        }),
    }
}

/// One `metrics` record: a configuration's score on one device (`device` is `None` for
/// the pooled overall score, which also carries the macro averages).
pub fn metrics_json(r: &ConfigResult, device: Option<DeviceKey>, s: &Score) -> Value {
    let c = s.confusion;
    let e = s.events;
    let overall = device.is_none();
    json!({
        "type": "metrics",
        "detector": r.params.detector(),
        "config": r.name,
        "params": params_json(&r.params),
        "unit": r.unit.name(),
        "mac": mac_value(device),
        "id": id_value(device),
        "tp": c.map(|c| c.tp),
        "fp": c.map(|c| c.fp),
        "fn": c.map(|c| c.fn_),
        "tn": c.map(|c| c.tn),
        "tpr": c.and_then(|c| c.tpr()),
        "fpr": c.and_then(|c| c.fpr()),
        "precision": c.and_then(|c| c.precision()),
        "f1": c.and_then(|c| c.f1()),
        "activations": e.activations,
        "detected": e.detected,
        "missed": e.missed(),
        "detections": e.detections,
        "false_alarms": e.false_alarms,
        "detection_rate": e.detection_rate(),
        "macro_tpr": if overall { json!(r.macro_tpr) } else { Value::Null },
        "macro_fpr": if overall { json!(r.macro_fpr) } else { Value::Null },
    })
}

fn curve_json(curve: &RocCurve) -> Value {
    let mut fixed = params_json(&curve.params);
    if let Some(m) = fixed.as_object_mut() {
        m.remove(curve.varied);
    }
    fixed
}

/// One `roc` record: a point of a curve, for one device or pooled (`device` `None`).
pub fn roc_json(
    curve: &RocCurve,
    value: f64,
    r: &ConfigResult,
    device: Option<DeviceKey>,
) -> Value {
    let s = match device {
        None => Some(r.overall),
        Some(d) => EvaluationReport::device_score(r, d),
    }
    .unwrap_or_default();
    let c = s.confusion;
    json!({
        "type": "roc",
        "detector": curve.params.detector(),
        "curve": curve_json(curve),
        "param": curve.varied,
        "value": value,
        "unit": r.unit.name(),
        "mac": mac_value(device),
        "id": id_value(device),
        "tpr": c.and_then(|c| c.tpr()),
        "fpr": c.and_then(|c| c.fpr()),
        "tp": c.map(|c| c.tp),
        "fp": c.map(|c| c.fp),
        "fn": c.map(|c| c.fn_),
        "tn": c.map(|c| c.tn),
        "detection_rate": s.events.detection_rate(),
        "false_alarms": s.events.false_alarms,
    })
}

/// One `auc` record: the area under a pooled curve.
pub fn auc_json(curve: &RocCurve) -> Value {
    json!({
        "type": "auc",
        "detector": curve.params.detector(),
        "curve": curve_json(curve),
        "param": curve.varied,
        "auc": curve.auc,
    })
}

/// The `label` records of one device: its activations, or its count label.
pub fn label_json(d: &EvalDevice) -> Vec<Value> {
    let key = Some(d.key);
    if let Some(c) = &d.count {
        return vec![json!({
            "type": "count_label",
            "mac": mac_value(key),
            "id": id_value(key),
            "count": c.count,
            "spacing_s": c.label.spacing_nanos.map(nanos_secs),
            "group_gap_s": nanos_secs(c.gap_nanos),
            "kind": c.label.kind,
            "origin": c.label.origin.to_string(),
        })];
    }
    d.activations
        .iter()
        .map(|a| {
            json!({
                "type": "label",
                "mac": mac_value(key),
                "id": id_value(key),
                "start": secs(a.activation.start),
                "end": secs(a.activation.end),
                "kind": a.activation.kind,
                "origin": a.origin.to_string(),
            })
        })
        .collect()
}

/// One `detection` record of a named configuration.
pub fn detection_json(r: &DetectionRecord) -> Value {
    let d = &r.detection;
    json!({
        "type": "detection",
        "detector": r.params.detector(),
        "config": r.config,
        "params": params_json(&r.params),
        "mac": mac_value(Some(d.device)),
        "id": d.device.to_string(),
        "start": secs(d.start),
        "end": secs(d.end),
        "score": d.score,
        "matched": r.matched,
    })
}

/// One `pvalue` record: a compared window pair (figure 6 of the paper).
pub fn pvalue_json(s: &PValueSeries, p: &WindowPair) -> Value {
    json!({
        "type": "pvalue",
        "mac": mac_value(Some(s.device)),
        "id": s.device.to_string(),
        "test": s.config.probe.test.name(),
        "window_s": nanos_secs(s.config.window_nanos),
        "idle": [secs(p.idle.start), secs(p.idle.end)],
        "probe": [secs(p.probe.start), secs(p.probe.end)],
        "label": p.label.name(),
        "idle_packets": p.idle_packets,
        "probe_packets": p.probe_packets,
        "p_size": p.p_size,
        "p_iat": p.p_iat,
        "p_combined": p.p_combined,
        "score": p.score,
    })
}

/// One `rate` record: a device's upload-rate timeline.
pub fn rate_json(r: &RateSeries) -> Value {
    json!({
        "type": "rate",
        "mac": mac_value(Some(r.device)),
        "id": r.device.to_string(),
        "window_s": nanos_secs(r.window_nanos),
        "step_s": nanos_secs(r.step_nanos),
        "points": r.points.iter().map(|(t, bps)| json!([secs(*t), bps])).collect::<Vec<_>>(),
    })
}

/// The closing `evaluation` record.
pub fn summary_json(r: &EvaluationReport) -> Value {
    let c = &r.capture;
    json!({
        "type": "evaluation",
        "files": c.files,
        "packets": c.packets,
        "skipped": c.skipped,
        "first": c.first.map(secs),
        "last": c.last.map(secs),
        "devices": r.devices.len(),
        "activations": r.devices.iter().map(|d| d.activations.len()).sum::<usize>(),
        "slot_s": nanos_secs(r.slot_nanos),
        "tolerance_s": r.rule.tolerance_secs(),
        "configurations": r.results.len(),
        "notes": r.notes,
        "warnings": c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}

/// Which parts of an evaluation to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalSections {
    pub labels: bool,
    /// Metrics of sweep points too (named configurations are always written).
    pub sweep_metrics: bool,
    pub roc: bool,
    pub detections: bool,
    pub pvalues: bool,
    pub rates: bool,
}

impl EvalSections {
    /// What the table shows without `--full`: the named configurations, the burst sweep
    /// grid and the ROC summary of statistical probing.
    pub const TABLE: EvalSections = EvalSections {
        labels: false,
        sweep_metrics: false,
        roc: false,
        detections: true,
        pvalues: false,
        rates: false,
    };
}

impl Default for EvalSections {
    fn default() -> Self {
        EvalSections {
            labels: true,
            sweep_metrics: true,
            roc: true,
            detections: true,
            pvalues: true,
            rates: true,
        }
    }
}

fn metrics_rows(r: &EvaluationReport, sweep: bool) -> impl Iterator<Item = Value> + '_ {
    r.results
        .iter()
        .filter(move |res| sweep || res.name.is_some())
        .flat_map(|res| {
            res.devices
                .iter()
                .map(move |(d, s)| metrics_json(res, Some(*d), s))
                .chain(std::iter::once(metrics_json(res, None, &res.overall)))
        })
}

fn roc_rows(r: &EvaluationReport) -> impl Iterator<Item = Value> + '_ {
    r.roc.iter().flat_map(move |curve| {
        curve.points.iter().flat_map(move |&(value, i)| {
            let res = &r.results[i];
            res.devices
                .iter()
                .map(move |(d, _)| roc_json(curve, value, res, Some(*d)))
                .chain(std::iter::once(roc_json(curve, value, res, None)))
        })
    })
}

fn pvalue_rows(r: &EvaluationReport) -> impl Iterator<Item = Value> + '_ {
    r.pvalues
        .iter()
        .flat_map(|s| s.pairs.pairs.iter().map(move |p| pvalue_json(s, p)))
}

fn write_json(out: &mut dyn Write, v: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}

/// Writes an evaluation in the chosen format.
pub fn write_evaluation(
    out: &mut dyn Write,
    r: &EvaluationReport,
    format: Format,
    sections: EvalSections,
) -> io::Result<()> {
    match format {
        Format::Json => {
            if sections.labels {
                for d in &r.devices {
                    for v in label_json(d) {
                        write_json(out, &v)?;
                    }
                }
            }
            for v in metrics_rows(r, sections.sweep_metrics) {
                write_json(out, &v)?;
            }
            if sections.roc {
                for v in roc_rows(r) {
                    write_json(out, &v)?;
                }
                for c in &r.roc {
                    write_json(out, &auc_json(c))?;
                }
            }
            if sections.detections {
                for d in &r.detections {
                    write_json(out, &detection_json(d))?;
                }
            }
            if sections.pvalues {
                for v in pvalue_rows(r) {
                    write_json(out, &v)?;
                }
            }
            if sections.rates {
                for s in &r.rates {
                    write_json(out, &rate_json(s))?;
                }
            }
            write_json(out, &summary_json(r))
        }
        Format::Csv => {
            let mut first = true;
            let mut section = |out: &mut dyn Write,
                               columns: &[&str],
                               rows: &mut dyn Iterator<Item = Value>|
             -> io::Result<()> {
                if !first {
                    out.write_all(b"\n")?;
                }
                first = false;
                write_csv_section(out, columns, rows)
            };
            if sections.labels {
                section(
                    out,
                    LABEL_COLUMNS,
                    &mut r
                        .devices
                        .iter()
                        .flat_map(label_json)
                        .filter(|v| v["type"] == "label"),
                )?;
                section(
                    out,
                    COUNT_LABEL_COLUMNS,
                    &mut r
                        .devices
                        .iter()
                        .flat_map(label_json)
                        .filter(|v| v["type"] == "count_label"),
                )?;
            }
            section(
                out,
                METRICS_COLUMNS,
                &mut metrics_rows(r, sections.sweep_metrics),
            )?;
            if sections.roc {
                section(out, ROC_COLUMNS, &mut roc_rows(r))?;
                section(out, AUC_COLUMNS, &mut r.roc.iter().map(auc_json))?;
            }
            if sections.detections {
                section(
                    out,
                    DETECTION_COLUMNS,
                    &mut r.detections.iter().map(detection_json),
                )?;
            }
            if sections.pvalues {
                section(out, PVALUE_COLUMNS, &mut pvalue_rows(r))?;
            }
            if sections.rates {
                section(
                    out,
                    RATE_POINT_COLUMNS,
                    &mut r.rates.iter().flat_map(|s| {
                        s.points.iter().map(move |(t, bps)| {
                            json!({
                                "type": "rate_point",
                                "mac": mac_value(Some(s.device)),
                                "id": s.device.to_string(),
                                "window_s": nanos_secs(s.window_nanos),
                                "step_s": nanos_secs(s.step_nanos),
                                "t": secs(*t),
                                "bps": bps,
                            })
                        })
                    }),
                )?;
            }
            section(out, SUMMARY_COLUMNS, &mut std::iter::once(summary_json(r)))
        }
        Format::Table => write_table(out, r, sections, false),
    }
}

const LABEL_COLUMNS: &[&str] = &["type", "mac", "id", "start", "end", "kind", "origin"];
const COUNT_LABEL_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "count",
    "spacing_s",
    "group_gap_s",
    "kind",
    "origin",
];
const METRICS_COLUMNS: &[&str] = &[
    "type",
    "detector",
    "config",
    "params",
    "unit",
    "mac",
    "id",
    "tp",
    "fp",
    "fn",
    "tn",
    "tpr",
    "fpr",
    "precision",
    "f1",
    "activations",
    "detected",
    "missed",
    "detections",
    "false_alarms",
    "detection_rate",
    "macro_tpr",
    "macro_fpr",
];
const ROC_COLUMNS: &[&str] = &[
    "type",
    "detector",
    "curve",
    "param",
    "value",
    "unit",
    "mac",
    "id",
    "tpr",
    "fpr",
    "tp",
    "fp",
    "fn",
    "tn",
    "detection_rate",
    "false_alarms",
];
const AUC_COLUMNS: &[&str] = &["type", "detector", "curve", "param", "auc"];
const DETECTION_COLUMNS: &[&str] = &[
    "type", "detector", "config", "params", "mac", "id", "start", "end", "score", "matched",
];
const PVALUE_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "test",
    "window_s",
    "idle",
    "probe",
    "label",
    "idle_packets",
    "probe_packets",
    "p_size",
    "p_iat",
    "p_combined",
    "score",
];
const RATE_POINT_COLUMNS: &[&str] = &["type", "mac", "id", "window_s", "step_s", "t", "bps"];
const SUMMARY_COLUMNS: &[&str] = &[
    "type",
    "files",
    "packets",
    "skipped",
    "first",
    "last",
    "devices",
    "activations",
    "slot_s",
    "tolerance_s",
    "configurations",
    "notes",
    "warnings",
];

fn write_csv_section(
    out: &mut dyn Write,
    columns: &[&str],
    rows: &mut dyn Iterator<Item = Value>,
) -> io::Result<()> {
    crate::render::write_csv_section(out, columns, rows)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// A table whose columns from `right_from` on are right-aligned; `fixed`: never wrapped
/// to the terminal (a file).
fn table(header: Vec<&str>, right_from: usize, fixed: bool) -> Table {
    let right: Vec<usize> = (right_from..header.len()).collect();
    let t = new_table(header, &right);
    if fixed {
        fixed_width(t)
    } else {
        t
    }
}

fn opt_u64(x: Option<u64>) -> String {
    x.map_or("-".to_string(), |v| v.to_string())
}

/// The table for people. Without `--full` (`sections` [`EvalSections::TABLE`]): the
/// labels line, the named configurations, the burst sweep grid and the statistical ROC
/// summary. `--full` adds the labels per device, every burst sweep point, the
/// statistical sweep at a few thresholds, every ROC curve's AUC and a summary of each
/// device's p-values; the complete records are in JSON and CSV. `fixed`: a file, never
/// wrapped to the terminal.
fn write_table(
    out: &mut dyn Write,
    r: &EvaluationReport,
    sections: EvalSections,
    fixed: bool,
) -> io::Result<()> {
    let table = |header: Vec<&str>, right_from: usize| table(header, right_from, fixed);
    let labelled: usize = r.devices.iter().map(|d| d.activations.len()).sum();
    let counts = r.devices.iter().filter(|d| d.count.is_some()).count();
    writeln!(
        out,
        "Labels: {} and {} on {}; slots of {} s, tolerance {} s around each activation",
        plural(labelled, "activation"),
        plural(counts, "count label"),
        plural(r.devices.len(), "device"),
        nanos_secs(r.slot_nanos),
        r.rule.tolerance_secs()
    )?;
    for n in &r.notes {
        writeln!(out, "  note: {n}")?;
    }
    if sections.labels {
        writeln!(out, "{}", labels_table(r, fixed))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Named configurations (burst: per {}-s slot; stat: per window pair), per device and overall:",
        nanos_secs(r.slot_nanos)
    )?;
    let mut t = table(
        vec![
            "DETECTOR",
            "CONFIG",
            "PARAMETERS",
            "DEVICE",
            "TP",
            "FP",
            "FN",
            "TN",
            "TPR",
            "FPR",
            "PRECISION",
            "F1",
            "ACTIVATIONS",
            "DETECTED",
            "FALSE ALARMS",
        ],
        4,
    );
    for res in r.results.iter().filter(|x| x.name.is_some()) {
        let rows = res
            .devices
            .iter()
            .map(|(d, s)| (d.to_string(), *s))
            .chain(std::iter::once(("overall".to_string(), res.overall)));
        for (dev, s) in rows {
            let c = s.confusion;
            t.add_row(vec![
                res.params.detector().to_string(),
                res.name.clone().unwrap_or_default(),
                res.params.describe(),
                dev,
                opt_u64(c.map(|c| c.tp)),
                opt_u64(c.map(|c| c.fp)),
                opt_u64(c.map(|c| c.fn_)),
                opt_u64(c.map(|c| c.tn)),
                pct(c.and_then(|c| c.tpr())),
                pct(c.and_then(|c| c.fpr())),
                pct(c.and_then(|c| c.precision())),
                c.and_then(|c| c.f1())
                    .map_or("-".into(), |f| format!("{f:.3}")),
                s.events.activations.to_string(),
                s.events.detected.to_string(),
                s.events.false_alarms.to_string(),
            ]);
        }
    }
    writeln!(out, "{t}")?;
    let burst_curves: Vec<&RocCurve> = r
        .roc
        .iter()
        .filter(|c| c.params.detector() == "burst")
        .collect();
    if !burst_curves.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Burst sweep, overall: slot TPR / FPR and activations detected, by n (rows) and rate threshold (columns):"
        )?;
        let mut header = vec!["N".to_string()];
        for c in &burst_curves {
            if let DetectorParams::Burst(b) = c.params {
                header.push(format!("{} KBIT/S", b.threshold_bps / 1000.0));
            }
        }
        let mut t = table(header.iter().map(String::as_str).collect(), 1);
        let ns: Vec<f64> = burst_curves[0].points.iter().map(|p| p.0).collect();
        for (k, n) in ns.iter().enumerate() {
            let mut row = vec![format!("{n}")];
            for c in &burst_curves {
                let cellv = c.points.get(k).map_or(String::new(), |&(_, i)| {
                    let s = r.results[i].overall;
                    let conf = s.confusion;
                    format!(
                        "{} / {} ({}/{})",
                        pct(conf.and_then(|c| c.tpr())),
                        pct(conf.and_then(|c| c.fpr())),
                        s.events.detected,
                        s.events.activations
                    )
                });
                row.push(cellv);
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }
    let stat_curves: Vec<&RocCurve> = r
        .roc
        .iter()
        .filter(|c| c.params.detector() == "stat")
        .collect();
    if !stat_curves.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Statistical probing, overall ROC over the p-value threshold (window pairs):"
        )?;
        let mut t = table(
            vec![
                "WINDOW",
                "TEST",
                "PAIRS +/-",
                "AUC",
                "TPR AT 0.42",
                "FPR AT 0.42",
                "BEST T (YOUDEN)",
                "TPR",
                "FPR",
            ],
            2,
        );
        for c in stat_curves {
            let DetectorParams::Stat(sc) = c.params else {
                continue;
            };
            let at = |t: f64| {
                c.points
                    .iter()
                    .find(|p| (p.0 - t).abs() < 1e-9)
                    .and_then(|&(_, i)| r.results[i].overall.confusion)
            };
            let c42 = at(0.42);
            let best = c
                .points
                .iter()
                .filter_map(|&(t, i)| {
                    let conf = r.results[i].overall.confusion?;
                    Some((t, conf.tpr()? - conf.fpr()?, conf))
                })
                .fold(
                    None::<(f64, f64, leakypick_core::eval::Confusion)>,
                    |acc, x| match acc {
                        Some(a) if a.1 >= x.1 => Some(a),
                        _ => Some(x),
                    },
                );
            let pn = c
                .points
                .first()
                .and_then(|&(_, i)| r.results[i].overall.confusion)
                .map_or("-".into(), |k| format!("{}/{}", k.tp + k.fn_, k.fp + k.tn));
            t.add_row(vec![
                format!("{} s", nanos_secs(sc.window_nanos)),
                sc.probe.test.name().to_string(),
                pn,
                c.auc.map_or("-".into(), |a| format!("{a:.3}")),
                pct(c42.and_then(|k| k.tpr())),
                pct(c42.and_then(|k| k.fpr())),
                best.map_or("-".into(), |b| format!("{:.2}", b.0)),
                pct(best.and_then(|b| b.2.tpr())),
                pct(best.and_then(|b| b.2.fpr())),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if sections.sweep_metrics {
        write_sweep_tables(out, r, fixed)?;
    }
    if sections.roc {
        write_auc_table(out, r, fixed)?;
    }
    if sections.pvalues {
        write_pvalue_table(out, r, fixed)?;
    }
    let c = &r.capture;
    writeln!(
        out,
        "\nRead {} from {}, {} skipped; {} evaluated.",
        plural(c.packets, "packet"),
        plural(c.files, "file"),
        c.skipped,
        plural(r.results.len(), "configuration")
    )?;
    for w in &c.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// The thresholds `t` at which `--full` shows the statistical sweep in the table.
const TABLE_THRESHOLDS: [f64; 7] = [0.01, 0.05, 0.1, 0.2, 0.3, 0.42, 0.5];

/// One row per device: its labels, their kinds and when they start and end.
fn labels_table(r: &EvaluationReport, fixed: bool) -> Table {
    let mut t = table(
        vec![
            "DEVICE",
            "LABELS",
            "KINDS",
            "FIRST START (UTC)",
            "LAST END (UTC)",
        ],
        5,
        fixed,
    );
    for d in &r.devices {
        let (labels, kinds) = match &d.count {
            Some(c) => (
                match c.label.spacing_nanos {
                    Some(sp) => format!(
                        "count: {}, {} s apart",
                        plural(c.count, "activation"),
                        nanos_secs(sp)
                    ),
                    None => format!("count: {}", plural(c.count, "activation")),
                },
                c.label.kind.clone(),
            ),
            None if d.activations.is_empty() => ("none (idle)".to_string(), String::new()),
            None => {
                let mut kinds: Vec<&str> = d
                    .activations
                    .iter()
                    .map(|a| a.activation.kind.as_str())
                    .collect();
                kinds.sort_unstable();
                kinds.dedup();
                (plural(d.activations.len(), "activation"), kinds.join(", "))
            }
        };
        let first = d.activations.iter().map(|a| a.activation.start).min();
        let last = d.activations.iter().map(|a| a.activation.end).max();
        t.add_row(vec![
            d.key.to_string(),
            labels,
            if kinds.is_empty() { "-".into() } else { kinds },
            first.map_or("-".into(), human_time),
            last.map_or("-".into(), human_time),
        ]);
    }
    t
}

/// The metric cells of an overall score: TP FP FN TN TPR FPR PRECISION F1.
fn score_cells(s: &Score) -> Vec<String> {
    let c = s.confusion;
    vec![
        opt_u64(c.map(|c| c.tp)),
        opt_u64(c.map(|c| c.fp)),
        opt_u64(c.map(|c| c.fn_)),
        opt_u64(c.map(|c| c.tn)),
        pct(c.and_then(|c| c.tpr())),
        pct(c.and_then(|c| c.fpr())),
        pct(c.and_then(|c| c.precision())),
        c.and_then(|c| c.f1())
            .map_or("-".into(), |f| format!("{f:.3}")),
    ]
}

/// `--full`: every burst sweep point, and the statistical sweep at [`TABLE_THRESHOLDS`],
/// overall.
fn write_sweep_tables(out: &mut dyn Write, r: &EvaluationReport, fixed: bool) -> io::Result<()> {
    let sweep = |detector: &'static str| {
        r.results
            .iter()
            .filter(move |x| x.name.is_none() && x.params.detector() == detector)
    };
    if sweep("burst").next().is_some() {
        writeln!(out)?;
        writeln!(
            out,
            "Burst sweep, every point, overall (per {}-s slot):",
            nanos_secs(r.slot_nanos)
        )?;
        let mut t = table(
            vec![
                "WINDOW",
                "KBIT/S",
                "N",
                "TP",
                "FP",
                "FN",
                "TN",
                "TPR",
                "FPR",
                "PRECISION",
                "F1",
                "ACTIVATIONS DETECTED",
                "FALSE ALARMS",
            ],
            1,
            fixed,
        );
        let mut rows: Vec<&ConfigResult> = sweep("burst").collect();
        rows.sort_by(|a, b| match (a.params, b.params) {
            (DetectorParams::Burst(x), DetectorParams::Burst(y)) => x
                .threshold_bps
                .total_cmp(&y.threshold_bps)
                .then(x.min_windows.cmp(&y.min_windows)),
            _ => std::cmp::Ordering::Equal,
        });
        for res in rows {
            let DetectorParams::Burst(c) = res.params else {
                continue;
            };
            let mut row = vec![
                format!("{} s", c.window_secs()),
                format!("{}", c.threshold_bps / 1000.0),
                c.min_windows.to_string(),
            ];
            row.extend(score_cells(&res.overall));
            row.push(format!(
                "{}/{}",
                res.overall.events.detected, res.overall.events.activations
            ));
            row.push(res.overall.events.false_alarms.to_string());
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }
    if sweep("stat").next().is_some() {
        writeln!(out)?;
        writeln!(
            out,
            "Statistical probing sweep, overall (per window pair), at t = {} (every t from 0 to 1 in JSON and CSV):",
            TABLE_THRESHOLDS.map(|t| t.to_string()).join(", ")
        )?;
        let mut t = table(
            vec![
                "WINDOW",
                "TEST",
                "T",
                "TP",
                "FP",
                "FN",
                "TN",
                "TPR",
                "FPR",
                "PRECISION",
                "F1",
            ],
            2,
            fixed,
        );
        let mut empty: Vec<String> = Vec::new();
        let mut unscored = false;
        for curve in r.roc.iter().filter(|c| c.params.detector() == "stat") {
            let DetectorParams::Stat(c) = curve.params else {
                continue;
            };
            let window = format!("{} s", nanos_secs(c.window_nanos));
            // The shown thresholds; neighbours with the same counts share one row.
            let mut runs: Vec<(f64, f64, &Score)> = Vec::new();
            for &(value, i) in &curve.points {
                if !TABLE_THRESHOLDS.iter().any(|x| (x - value).abs() < 1e-9) {
                    continue;
                }
                let Some(res) = r.results.get(i) else {
                    continue;
                };
                match runs.last_mut() {
                    Some(last) if last.2.confusion == res.overall.confusion => last.1 = value,
                    _ => runs.push((value, value, &res.overall)),
                }
            }
            if runs.iter().all(|run| run.2.confusion.is_none()) {
                unscored = true;
                continue;
            }
            let pairs = |s: &Score| s.confusion.map_or(0, |k| k.tp + k.fp + k.fn_ + k.tn);
            if runs.iter().all(|run| pairs(run.2) == 0) {
                if !empty.contains(&window) {
                    empty.push(window);
                }
                continue;
            }
            for (from, to, score) in runs {
                let mut row = vec![
                    window.clone(),
                    c.probe.test.name().to_string(),
                    if from == to {
                        format!("{from}")
                    } else {
                        format!("{from}..{to}")
                    },
                ];
                row.extend(score_cells(score));
                t.add_row(row);
            }
        }
        if !t.is_empty() {
            writeln!(out, "{t}")?;
        }
        if !empty.is_empty() {
            writeln!(
                out,
                "No window pairs with {} windows (the capture is too short, or no device sent anything in them).",
                empty.join(", ")
            )?;
        }
        if unscored {
            writeln!(
                out,
                "Window pairs are not scored for devices labelled by count: the labels do not say when the activations were (the p-values are below)."
            )?;
        }
    }
    Ok(())
}

/// `--full`: every ROC curve (pooled over devices) with its area.
fn write_auc_table(out: &mut dyn Write, r: &EvaluationReport, fixed: bool) -> io::Result<()> {
    if r.roc.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "ROC curves, overall: the fixed parameters, the varied one and the area under the curve:"
    )?;
    let mut t = table(
        vec!["DETECTOR", "CURVE", "VARIED", "POINTS", "AUC"],
        3,
        fixed,
    );
    for c in &r.roc {
        let curve = match c.params {
            DetectorParams::Burst(b) => format!(
                "{} s, {} kbit/s{}",
                b.window_secs(),
                b.threshold_bps / 1000.0,
                if b.baseline.is_some() {
                    ", adaptive"
                } else {
                    ""
                }
            ),
            DetectorParams::Stat(s) => format!(
                "d={} s, {}",
                nanos_secs(s.window_nanos),
                s.probe.test.name()
            ),
        };
        let varied = match c.varied {
            "min_windows" => "n",
            "threshold" => "t",
            other => other,
        };
        let range = match (c.points.first(), c.points.last()) {
            (Some(a), Some(b)) => format!("{} ({}..{})", c.points.len(), a.0, b.0),
            _ => "0".to_string(),
        };
        t.add_row(vec![
            c.params.detector().to_string(),
            curve,
            varied.to_string(),
            range,
            c.auc.map_or("-".into(), |a| format!("{a:.3}")),
        ]);
    }
    writeln!(out, "{t}")
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0),
    }
}

/// `--full`: per device, window length and test, how many window pairs were compared
/// and the spread of their deciding p-values, split by whether the probe window held
/// an activation.
fn write_pvalue_table(out: &mut dyn Write, r: &EvaluationReport, fixed: bool) -> io::Result<()> {
    if r.pvalues.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "P-values of the window pairs, per device (the deciding p-value; + pairs have an activation in the probe window, - pairs none, skipped pairs are neither and are not scored):"
    )?;
    let fmt = |p: Option<f64>| match p {
        None => "-".to_string(),
        Some(0.0) => "0".to_string(),
        Some(p) if p < 0.001 => format!("{p:.0e}"),
        Some(p) => format!("{p:.3}"),
    };
    let mut t = table(
        vec![
            "DEVICE",
            "WINDOW",
            "TEST",
            "PAIRS +/-/SKIPPED",
            "WITH P",
            "MIN",
            "MEDIAN",
            "MAX",
            "MEDIAN +",
            "MEDIAN -",
        ],
        3,
        fixed,
    );
    let mut without = 0usize;
    // Per device, then window length, then test (as evaluated).
    let mut series: Vec<&PValueSeries> = r.pvalues.iter().collect();
    series.sort_by_key(|s| (s.device, s.config.window_nanos));
    for s in series {
        let set = &s.pairs;
        let mut all: Vec<f64> = set.pairs.iter().filter_map(|p| p.score).collect();
        if all.is_empty() {
            without += 1;
            continue;
        }
        let by_label = |label: PairLabel| {
            let mut v: Vec<f64> = set
                .pairs
                .iter()
                .filter(|p| p.label == label)
                .filter_map(|p| p.score)
                .collect();
            v.sort_by(f64::total_cmp);
            median(&v)
        };
        all.sort_by(f64::total_cmp);
        let count = |label: PairLabel| set.pairs.iter().filter(|p| p.label == label).count();
        let positive = count(PairLabel::Positive) as u64 + set.silent_positive;
        let negative = count(PairLabel::Negative) as u64 + set.silent_negative;
        let skipped = count(PairLabel::Skipped) as u64 + set.silent_skipped;
        t.add_row(vec![
            s.device.to_string(),
            format!("{} s", nanos_secs(s.config.window_nanos)),
            s.config.probe.test.name().to_string(),
            format!("{positive}/{negative}/{skipped}"),
            all.len().to_string(),
            fmt(all.first().copied()),
            fmt(median(&all)),
            fmt(all.last().copied()),
            fmt(by_label(PairLabel::Positive)),
            fmt(by_label(PairLabel::Negative)),
        ]);
    }
    if !t.is_empty() {
        writeln!(out, "{t}")?;
    }
    if without > 0 {
        writeln!(
            out,
            "{} without a p-value (fewer than 2 frames in a window) not shown.",
            count_of(without, "series", "series")
        )?;
    }
    Ok(())
}

/// Writes the evaluation as files in `dir` (created if missing): `evaluation.jsonl`
/// (everything), `metrics.csv`, `roc.csv`, `pvalues.csv`, `detections.csv`, `rates.csv`,
/// `summary.txt` (the table) and `labels.csv` (the resolved activations in the native
/// format, absolute times, so they can be checked and reused). Returns the paths.
pub fn write_out_dir(dir: &Path, r: &EvaluationReport) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut file =
        |name: &str, f: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>| -> io::Result<()> {
            let path = dir.join(name);
            let mut w = io::BufWriter::new(std::fs::File::create(&path)?);
            f(&mut w)?;
            w.flush()?;
            written.push(path);
            Ok(())
        };
    file("evaluation.jsonl", &mut |w| {
        write_evaluation(w, r, Format::Json, EvalSections::default())
    })?;
    file("summary.txt", &mut |w| {
        write_table(w, r, EvalSections::TABLE, true)
    })?;
    file("metrics.csv", &mut |w| {
        write_csv_section(w, METRICS_COLUMNS, &mut metrics_rows(r, true))
    })?;
    file("roc.csv", &mut |w| {
        write_csv_section(w, ROC_COLUMNS, &mut roc_rows(r))
    })?;
    file("pvalues.csv", &mut |w| {
        write_csv_section(w, PVALUE_COLUMNS, &mut pvalue_rows(r))
    })?;
    file("detections.csv", &mut |w| {
        write_csv_section(
            w,
            DETECTION_COLUMNS,
            &mut r.detections.iter().map(detection_json),
        )
    })?;
    file("rates.csv", &mut |w| {
        writeln!(w, "mac,id,window_s,step_s,t,bps")?;
        for s in &r.rates {
            for (t, bps) in &s.points {
                writeln!(
                    w,
                    "{},{},{},{},{},{}",
                    value_to_cell(&mac_value(Some(s.device))),
                    s.device,
                    nanos_secs(s.window_nanos),
                    nanos_secs(s.step_nanos),
                    secs(*t),
                    bps
                )?;
            }
        }
        Ok(())
    })?;
    file("labels.csv", &mut |w| {
        writeln!(w, "{NATIVE_COMMENT}")?;
        writeln!(w, "{NATIVE_HEADER}")?;
        for d in &r.devices {
            if d.activations.is_empty() && d.count.is_none() {
                writeln!(w, "{},,,", d.key)?;
            }
            for a in &d.activations {
                let x = &a.activation;
                writeln!(w, "{}", native_line(x.device, x.start, x.end, &x.kind))?;
            }
        }
        Ok(())
    })?;
    // The human-readable report (Markdown and SVG charts) beside the data it summarises.
    let title = crate::evaluate::report::default_title(r);
    written.extend(crate::evaluate::report::write_report(dir, r, &title)?);
    Ok(written)
}
