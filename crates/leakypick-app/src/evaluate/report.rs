//! The human-readable evaluation report: `report.md` and its SVG charts.
//!
//! `evaluate --out DIR` writes machine-readable files (CSV, JSON Lines) for tools; people
//! want what a paper shows instead: what was evaluated, a table of the named
//! configurations, the sweeps, and the figures of the LeakyPick paper's section 5 drawn
//! from our own measurements, with the paper's operating points marked so that the two
//! can be compared at a glance. This module turns an [`EvaluationReport`] into exactly
//! that, using the dependency-free [`crate::evaluate::plot`] module for the charts:
//!
//! - `roc-burst.svg`: burst detection, one curve per rate threshold, `n` = 1..8 (figure 3);
//! - `roc-stat.svg`: statistical probing over the p-value threshold (figures 5 and 8);
//! - `pvalues.svg`: the paper's t-test p-value of every window pair (figure 6);
//! - `timeline-<device>.svg`: a device's upload rate with its activations and detections;
//! - `report.md`: the text, the tables and links to the charts.
//!
//! A chart is written for every detector that was evaluated, even when no point could
//! be scored (ROC curves of a capture labelled only by counts, window pairs of a capture
//! shorter than two windows): its title and the report then say so, so that links and
//! scripts can rely on the files while an empty chart never pretends to be a result.

use crate::evaluate::plot::{
    pvalue_chart, render_svg, roc_chart, timeline_chart, Band, BandKind, Chart, Marker, Rgb,
    Series, Style, TickFormat,
};
use crate::evaluate::{
    ConfigResult, DetectorParams, EvalDevice, EvaluationReport, RocCurve, Score, StatConfig,
};
use crate::render::human_time;
use leakypick_core::eval::Interval;
use leakypick_core::probe::ProbeTest;
use leakypick_core::{DeviceKey, Timestamp};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// At most this many devices get a timeline chart (and a series in the p-value chart):
/// a report of a busy home would otherwise become a wall of near-identical figures.
pub const MAX_DEVICE_CHARTS: usize = 12;

/// The paper's operating point of burst detection (section 5.2.1, figure 3: `n` = 5,
/// averaged over the devices of its controlled data set).
pub const PAPER_BURST_POINT: (f64, f64) = (0.04, 0.96);
/// The paper's operating point of statistical probing on its controlled data set
/// (section 5.2.2, figure 5: `t` = 0.42-0.43, 30-s windows).
pub const PAPER_STAT_CONTROLLED: (f64, f64) = (0.06, 0.94);
/// The paper's operating point of statistical probing on its real-world data set
/// (section 5.4.2, figure 8: `t` = 0.43).
pub const PAPER_STAT_REAL_WORLD: (f64, f64) = (0.07, 0.93);

/// The p-value threshold the paper uses (section 4.1.2: 0.42-0.43), the reference
/// column of the statistical-probing table.
const PAPER_THRESHOLD: f64 = 0.42;

/// Writes `report.md` and the SVG charts into `dir` (which must exist) and returns the
/// paths written, charts first.
///
/// `title` becomes the Markdown heading; the charts carry their own titles so that each
/// still reads on its own when copied elsewhere.
pub fn write_report(
    dir: &Path,
    report: &EvaluationReport,
    title: &str,
) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut charts = Charts::default();

    let mut svg = |name: &str, text: String| -> io::Result<String> {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
        Ok(name.to_string())
    };

    if let Some(chart) = burst_roc(report) {
        charts.roc_burst = Some(svg("roc-burst.svg", render_svg(&chart))?);
    }
    if let Some(chart) = stat_roc(report) {
        charts.roc_stat = Some(svg("roc-stat.svg", render_svg(&chart))?);
    }
    if let Some((chart, window)) = pvalues(report) {
        charts.pvalues = Some((svg("pvalues.svg", render_svg(&chart))?, window));
    }
    for d in timeline_devices(report) {
        let chart = timeline(report, d);
        let name = format!("timeline-{}.svg", file_part(d.key));
        charts
            .timelines
            .push((d.key, svg(&name, render_svg(&chart))?));
    }

    let md = markdown(report, title, &charts);
    let path = dir.join("report.md");
    std::fs::write(&path, md)?;
    written.push(path);
    Ok(written)
}

/// A heading for a report whose caller gave none: what was read and when, which is
/// what tells two reports apart when nothing else does.
pub fn default_title(report: &EvaluationReport) -> String {
    let files = report.capture.files;
    let when = match (report.capture.first, report.capture.last) {
        (Some(a), Some(b)) => format!(
            ", {} to {} UTC",
            human_time(a).get(..16).unwrap_or_default(),
            human_time(b).get(..16).unwrap_or_default()
        ),
        _ => String::new(),
    };
    format!(
        "Evaluation of {files} capture file{}{when}",
        if files == 1 { "" } else { "s" }
    )
}

/// The charts that were written, by file name, for the Markdown to link.
#[derive(Default)]
struct Charts {
    roc_burst: Option<String>,
    roc_stat: Option<String>,
    /// The file and the window length (seconds) of the pairs shown.
    pvalues: Option<(String, f64)>,
    timelines: Vec<(DeviceKey, String)>,
}

/// A device key usable in a file name on every system: colons (MACs, IPv6) and dots
/// (IPv4) become dashes.
fn file_part(key: DeviceKey) -> String {
    key.to_string().replace([':', '.'], "-")
}

fn secs_since(origin: Option<Timestamp>, t: Timestamp) -> f64 {
    origin.map_or(t.as_secs_f64(), |o| t.secs_since(o))
}

fn nanos_secs(n: i64) -> f64 {
    n as f64 / 1e9
}

/// A rate as a percentage with one decimal, or a dash when it does not exist (a zero
/// denominator), never `NaN`.
fn pct(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn num(x: Option<f64>, decimals: usize) -> String {
    x.map_or("–".to_string(), |v| format!("{v:.decimals$}"))
}

/// `(FPR, TPR)` of a score, when both rates exist.
fn rates(s: &Score) -> Option<(f64, f64)> {
    let c = s.confusion?;
    Some((c.fpr()?, c.tpr()?))
}

/// A duration for people: `47.9 s`, `12.5 min`, `9.0 h`, `7.0 days`.
fn human_duration(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 7200.0 {
        format!("{:.1} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / 86_400.0)
    }
}

fn burst_curves(r: &EvaluationReport) -> Vec<&RocCurve> {
    r.roc
        .iter()
        .filter(|c| matches!(c.params, DetectorParams::Burst(_)))
        .collect()
}

fn stat_curves(r: &EvaluationReport) -> Vec<(&RocCurve, StatConfig)> {
    r.roc
        .iter()
        .filter_map(|c| match c.params {
            DetectorParams::Stat(s) => Some((c, s)),
            DetectorParams::Burst(_) => None,
        })
        .collect()
}

/// The pooled `(FPR, TPR)` points of a curve in the order of its varied parameter.
fn curve_points(r: &EvaluationReport, c: &RocCurve) -> Vec<(f64, f64)> {
    c.points
        .iter()
        .filter_map(|&(_, i)| r.results.get(i).and_then(|x| rates(&x.overall)))
        .collect()
}

/// Points of a curve sorted by FPR (then TPR) with the corners (0, 0) and (1, 1), the
/// same polygon whose area is the reported AUC, so the line and the number agree.
fn with_corners(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = vec![(0.0, 0.0)];
    out.extend(pts);
    out.push((1.0, 1.0));
    out
}

fn named_results<'a>(r: &'a EvaluationReport, detector: &str) -> Vec<&'a ConfigResult> {
    r.results
        .iter()
        .filter(|x| x.name.is_some() && x.params.detector() == detector)
        .collect()
}

/// Measured operating points of named configurations as one-point legend series.
/// Configurations at the same point share one entry, and the labels go into the legend
/// rather than next to the symbol, because measured points often coincide with or sit
/// right beside the paper's marker and their texts would overlap.
fn measured_points(
    results: &[&ConfigResult],
    describe: impl Fn(&ConfigResult) -> String,
) -> Vec<Series> {
    let mut groups: Vec<((f64, f64), Vec<String>)> = Vec::new();
    for x in results {
        let Some(p) = rates(&x.overall) else { continue };
        let text = describe(x);
        match groups
            .iter_mut()
            .find(|(q, _)| (q.0 - p.0).abs() < 1e-9 && (q.1 - p.1).abs() < 1e-9)
        {
            Some((_, names)) => names.push(text),
            None => groups.push((p, vec![text])),
        }
    }
    let colors = [
        Rgb(0xd5, 0x5e, 0x00),
        Rgb(0x00, 0x00, 0x00),
        Rgb(0xcc, 0x79, 0xa7),
    ];
    groups
        .into_iter()
        .enumerate()
        .map(|(k, (p, names))| {
            Series::new(
                format!(
                    "measured {}: TPR {}, FPR {}",
                    names.join(", "),
                    pct(Some(p.1)),
                    pct(Some(p.0))
                ),
                vec![p],
                Style::markers().with_color(colors[k % colors.len()]),
            )
        })
        .collect()
}

/// Figure 3 of the paper from our data: one ROC curve per rate threshold, varying `n`,
/// with slot-level rates pooled over the devices.
fn burst_roc(r: &EvaluationReport) -> Option<Chart> {
    let mut curves = Vec::new();
    for c in burst_curves(r) {
        let DetectorParams::Burst(b) = c.params else {
            continue;
        };
        let pts = curve_points(r, c);
        if pts.is_empty() {
            continue;
        }
        curves.push(Series::new(
            format!(
                "{} kbit/s, n = 1…8 (AUC {})",
                b.threshold_bps / 1000.0,
                num(c.auc, 3)
            ),
            with_corners(pts),
            Style::line_markers(),
        ));
    }
    if burst_curves(r).is_empty() {
        return None;
    }
    let title = if curves.is_empty() {
        "Burst detection ROC: no slot-level rates on this data (count labels give event counts only)"
    } else {
        "Burst detection ROC, 1-s windows, n = 1…8 consecutive hot windows (slot level, all devices)"
    };
    curves.extend(measured_points(&named_results(r, "burst"), |x| {
        let n = match x.params {
            DetectorParams::Burst(b) => b.min_windows,
            DetectorParams::Stat(_) => 0,
        };
        format!("{} (n={n})", x.name.as_deref().unwrap_or_default())
    }));
    Some(roc_chart(
        title,
        curves,
        vec![Marker::new(
            PAPER_BURST_POINT.0,
            PAPER_BURST_POINT.1,
            "paper n=5: TPR 96%, FPR 4%",
        )],
    ))
}

/// The statistical-probing curves worth drawing: the paper's test at every window
/// length (the paper's method, for comparison) and the three other (test, window)
/// curves with the largest AUC (the best alternatives); fifteen curves would be
/// unreadable.
fn stat_curve_selection(r: &EvaluationReport) -> Vec<(&RocCurve, StatConfig)> {
    let all: Vec<_> = stat_curves(r)
        .into_iter()
        .filter(|(c, _)| !curve_points(r, c).is_empty())
        .collect();
    let mut chosen: Vec<_> = all
        .iter()
        .filter(|(_, s)| s.probe.test == ProbeTest::Paper)
        .copied()
        .collect();
    let mut others: Vec<_> = all
        .iter()
        .filter(|(c, s)| s.probe.test != ProbeTest::Paper && c.auc.is_some())
        .copied()
        .collect();
    others.sort_by(|a, b| {
        b.0.auc
            .unwrap_or(0.0)
            .total_cmp(&a.0.auc.unwrap_or(0.0))
            .then(a.1.window_nanos.cmp(&b.1.window_nanos))
    });
    chosen.extend(others.into_iter().take(3));
    chosen
}

fn test_label(test: ProbeTest) -> &'static str {
    match test {
        ProbeTest::Paper => "paper t-test",
        ProbeTest::Welch => "Welch",
        ProbeTest::MannWhitney => "Mann-Whitney",
        ProbeTest::KolmogorovSmirnov => "KS",
        ProbeTest::ChiSquare => "chi²",
    }
}

/// Figures 5 and 8 of the paper from our data: ROC curves over the p-value threshold.
fn stat_roc(r: &EvaluationReport) -> Option<Chart> {
    let mut curves: Vec<Series> = stat_curve_selection(r)
        .into_iter()
        .map(|(c, s)| {
            let style = if s.probe.test == ProbeTest::Paper {
                Style::line()
            } else {
                Style::line().dashed()
            };
            Series::new(
                format!(
                    "{}, d = {} s (AUC {})",
                    test_label(s.probe.test),
                    nanos_secs(s.window_nanos),
                    num(c.auc, 3)
                ),
                with_corners(curve_points(r, c)),
                style,
            )
        })
        .collect();
    if stat_curves(r).is_empty() {
        return None;
    }
    let title = if curves.is_empty() {
        "Statistical probing ROC: no window pair could be scored on this data"
    } else {
        "Statistical probing ROC over the p-value threshold (window pairs, all devices)"
    };
    curves.extend(measured_points(&named_results(r, "stat"), |x| {
        format!(
            "{} ({})",
            x.name.as_deref().unwrap_or_default(),
            x.params.describe()
        )
    }));
    Some(roc_chart(
        title,
        curves,
        vec![
            Marker::new(
                PAPER_STAT_CONTROLLED.0,
                PAPER_STAT_CONTROLLED.1,
                "paper t=0.42: 94%/6% controlled, 93%/7% real world",
            ),
            Marker::new(PAPER_STAT_REAL_WORLD.0, PAPER_STAT_REAL_WORLD.1, ""),
        ],
    ))
}

/// The window length of the p-value chart: the named paper configuration's (60 s, as
/// in figure 6) when it has pairs, else the longest window that has any, so that short
/// captures still get a chart.
fn pvalue_window(r: &EvaluationReport) -> Option<i64> {
    let has = |w: i64| {
        r.pvalues.iter().any(|s| {
            s.config.probe.test == ProbeTest::Paper
                && s.config.window_nanos == w
                && s.pairs.pairs.iter().any(|p| p.score.is_some())
        })
    };
    let preferred = named_results(r, "stat")
        .iter()
        .find_map(|x| match x.params {
            DetectorParams::Stat(s) if s.probe.test == ProbeTest::Paper => Some(s.window_nanos),
            _ => None,
        });
    if let Some(w) = preferred.filter(|w| has(*w)) {
        return Some(w);
    }
    r.pvalues
        .iter()
        .filter(|s| s.config.probe.test == ProbeTest::Paper)
        .map(|s| s.config.window_nanos)
        .filter(|w| has(*w))
        .max()
}

/// Figure 6 of the paper from our data: the paper test's p-value of every window pair,
/// one series per device, with the probe windows that hold a labelled activation shaded.
fn pvalues(r: &EvaluationReport) -> Option<(Chart, f64)> {
    let w = pvalue_window(r)?;
    let threshold = named_results(r, "stat")
        .iter()
        .find_map(|x| match x.params {
            DetectorParams::Stat(s) if s.probe.test == ProbeTest::Paper => Some(s.probe.threshold),
            _ => None,
        })
        .unwrap_or(PAPER_THRESHOLD);
    let mut series = Vec::new();
    let mut bands = Vec::new();
    for s in r
        .pvalues
        .iter()
        .filter(|s| s.config.probe.test == ProbeTest::Paper && s.config.window_nanos == w)
        .take(MAX_DEVICE_CHARTS)
    {
        let acts: Vec<Interval> = r
            .devices
            .iter()
            .filter(|d| d.key == s.device)
            .flat_map(|d| d.activations.iter().map(|a| a.activation.interval()))
            .collect();
        let mut pts = Vec::new();
        for p in &s.pairs.pairs {
            let x = secs_since(r.origin, p.probe.start);
            if let Some(v) = p.score {
                pts.push((x, v));
            }
            if acts.iter().any(|a| a.overlaps(&p.probe)) {
                bands.push(Band::new(
                    x,
                    secs_since(r.origin, p.probe.end),
                    String::new(),
                    BandKind::Activation,
                ));
            }
        }
        series.push(Series::new(s.device.to_string(), pts, Style::markers()));
    }
    let mut chart = pvalue_chart(
        &format!(
            "Paper t-test p-value per window pair (idle w_i vs probe w_i+1, d = {} s); shaded: probe window holds an activation",
            nanos_secs(w)
        ),
        series,
        threshold,
    );
    chart.x.label = "start of the probe window (time since start)".to_string();
    chart.x.format = TickFormat::Duration;
    chart.bands = bands;
    Some((chart, nanos_secs(w)))
}

/// The devices that get a timeline: active ones first (labelled activations or
/// detections), then the rest, in report order, at most [`MAX_DEVICE_CHARTS`].
fn timeline_devices(r: &EvaluationReport) -> Vec<&EvalDevice> {
    let detected: BTreeSet<DeviceKey> = r.detections.iter().map(|d| d.detection.device).collect();
    let mut ds: Vec<&EvalDevice> = r.devices.iter().collect();
    ds.sort_by_key(|d| {
        let active = !d.activations.is_empty() || d.count.is_some() || detected.contains(&d.key);
        !active
    });
    ds.truncate(MAX_DEVICE_CHARTS);
    ds
}

/// The burst configuration whose detections and threshold the timelines show: the
/// named `default` when present (the product's), else the first named burst one.
fn timeline_config(r: &EvaluationReport) -> Option<(&str, f64)> {
    let named = named_results(r, "burst");
    let pick = named
        .iter()
        .find(|x| x.name.as_deref() == Some("default"))
        .or_else(|| named.first())?;
    match pick.params {
        DetectorParams::Burst(b) => {
            Some((pick.name.as_deref().unwrap_or_default(), b.threshold_bps))
        }
        DetectorParams::Stat(_) => None,
    }
}

/// A device's upload rate per window with the zeros put back: the report leaves out
/// windows without upload, and a step line would otherwise hold the last rate across
/// the silence.
fn rate_steps(r: &EvaluationReport, d: &EvalDevice) -> (Vec<(f64, f64)>, String) {
    let Some(rs) = r.rates.iter().find(|x| x.device == d.key) else {
        return (Vec::new(), "no upload".to_string());
    };
    let step = nanos_secs(rs.step_nanos);
    let start = secs_since(r.origin, d.first_seen);
    let end = secs_since(r.origin, d.last_seen);
    let first_x = rs
        .points
        .first()
        .map_or(start, |p| secs_since(r.origin, p.0));
    let mut pts = vec![(start.min(first_x), 0.0)];
    let mut prev_end: Option<f64> = None;
    for &(t, bps) in &rs.points {
        let x = secs_since(r.origin, t);
        if let Some(pe) = prev_end {
            if pe < x - 1e-9 {
                pts.push((pe, 0.0));
            }
        }
        pts.push((x, bps));
        prev_end = Some(x + step);
    }
    if let Some(pe) = prev_end {
        pts.push((pe, 0.0));
    }
    if end > pts.last().map_or(0.0, |p| p.0) {
        pts.push((end, 0.0));
    }
    let what = if rs.step_nanos > rs.window_nanos {
        format!(
            "{}-s windows, highest per {} s",
            nanos_secs(rs.window_nanos),
            step
        )
    } else {
        format!("{}-s windows", nanos_secs(rs.window_nanos))
    };
    (pts, what)
}

fn timeline(r: &EvaluationReport, d: &EvalDevice) -> Chart {
    let (config, threshold) = timeline_config(r).unwrap_or(("default", 23_000.0));
    let (pts, what) = rate_steps(r, d);
    let acts = d
        .activations
        .iter()
        .map(|a| {
            (
                secs_since(r.origin, a.activation.start),
                secs_since(r.origin, a.activation.end),
            )
        })
        .collect();
    let dets = r
        .detections
        .iter()
        .filter(|x| {
            x.config == config && x.params.detector() == "burst" && x.detection.device == d.key
        })
        .map(|x| {
            (
                secs_since(r.origin, x.detection.start),
                secs_since(r.origin, x.detection.end),
            )
        })
        .collect();
    let mut label = String::from("upload rate");
    if let Some(c) = &d.count {
        let _ = write!(
            label,
            " ({} by count, times unknown)",
            crate::render::count(c.count, "activation")
        );
    }
    timeline_chart(
        &format!(
            "Upload rate of {} ({what}); filled: labelled activations, hatched: '{config}' detections",
            d.key
        ),
        Series::new(label, pts, Style::step()),
        threshold,
        acts,
        dets,
    )
}

/// Escapes the characters that would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// One Markdown table row.
fn row(out: &mut String, cells: &[String]) {
    out.push('|');
    for c in cells {
        out.push(' ');
        out.push_str(&cell(c));
        out.push_str(" |");
    }
    out.push('\n');
}

/// A Markdown table header with its alignment row (`right_from` and later columns are
/// right-aligned, as numbers should be).
fn header(out: &mut String, names: &[&str], right_from: usize) {
    row(
        out,
        &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    out.push('|');
    for k in 0..names.len() {
        out.push_str(if k >= right_from { "---:|" } else { "---|" });
    }
    out.push('\n');
}

fn score_cells(s: &Score) -> Vec<String> {
    let c = s.confusion;
    let count = |f: fn(&leakypick_core::eval::Confusion) -> u64| {
        c.as_ref().map_or("–".to_string(), |c| f(c).to_string())
    };
    vec![
        count(|c| c.tp),
        count(|c| c.fp),
        count(|c| c.fn_),
        count(|c| c.tn),
        pct(c.and_then(|c| c.tpr())),
        pct(c.and_then(|c| c.fpr())),
        pct(c.and_then(|c| c.precision())),
        num(c.and_then(|c| c.f1()), 3),
        format!("{} / {}", s.events.detected, s.events.activations),
        s.events.false_alarms.to_string(),
    ]
}

fn markdown(r: &EvaluationReport, title: &str, charts: &Charts) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {title}\n");
    let _ = writeln!(
        o,
        "Written by `leakypick evaluate --out`, which also writes every number below, and \
         every sweep point, to `metrics.csv`, `roc.csv` and `evaluation.jsonl`; \
         `docs/evaluation-format.md` defines the matching rule and the metrics.\n"
    );
    evaluated_section(&mut o, r);
    paper_section(&mut o, r);
    named_section(&mut o, r);
    burst_section(&mut o, r, charts);
    stat_section(&mut o, r, charts);
    timeline_section(&mut o, r, charts);
    notes_section(&mut o, r);
    o
}

fn evaluated_section(o: &mut String, r: &EvaluationReport) {
    let _ = writeln!(o, "## What was evaluated\n");
    let c = &r.capture;
    let span = match (c.first, c.last) {
        (Some(a), Some(b)) => format!(
            ", {} to {} UTC ({})",
            human_time(a),
            human_time(b),
            human_duration(b.secs_since(a))
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "- **Captures:** {}, {} ({} skipped){span}.",
        crate::render::count(c.files, "file"),
        crate::render::count(c.packets, "packet"),
        crate::render::count(c.skipped, "record")
    );
    let sources: BTreeSet<String> = r
        .devices
        .iter()
        .flat_map(|d| {
            d.activations
                .iter()
                .map(|a| a.origin.file.clone())
                .chain(d.count.iter().map(|c| c.label.origin.file.clone()))
        })
        .collect();
    let acts: usize = r.devices.iter().map(|d| d.activations.len()).sum();
    let counted: Vec<&EvalDevice> = r.devices.iter().filter(|d| d.count.is_some()).collect();
    let idle = r
        .devices
        .iter()
        .filter(|d| d.activations.is_empty() && d.count.is_none())
        .count();
    let mut labels = format!(
        "- **Labels:** {acts} labelled activation{} on {} device{}",
        if acts == 1 { "" } else { "s" },
        r.devices.len(),
        if r.devices.len() == 1 { "" } else { "s" }
    );
    if idle > 0 {
        let _ = write!(labels, " ({idle} declared never activated)");
    }
    if !counted.is_empty() {
        let n: u32 = counted
            .iter()
            .filter_map(|d| d.count.as_ref())
            .map(|c| c.count)
            .sum();
        let _ = write!(
            labels,
            "; {} known only by count (from the file name; no times, so no \
             slot-level rates and no window pairs)",
            crate::render::count(n, "activation")
        );
    }
    if !sources.is_empty() {
        let list: Vec<String> = sources.iter().map(|s| format!("`{s}`")).collect();
        let _ = write!(labels, "; from {}", list.join(", "));
    }
    let _ = writeln!(o, "{labels}.");
    let _ = writeln!(
        o,
        "- **Matching:** each activation is widened by {} s on both sides; a detection \
         that overlaps the widened activation of its device detects it, a detection that \
         overlaps none is a false alarm.",
        r.rule.tolerance_secs()
    );
    let _ = writeln!(
        o,
        "- **Burst detection** is scored per {}-s slot of each device's observed span \
         (a slot is positive when it overlaps an activation; slots touching only the \
         widened margin are not scored), pooled over the devices.",
        nanos_secs(r.slot_nanos)
    );
    let _ = writeln!(
        o,
        "- **Statistical probing** is scored per pair of consecutive windows (idle `w_i`, \
         probe `w_i+1`), as in the paper's section 5.2.2: positive when the probe window \
         holds an activation and the idle window none, negative when neither does.\n"
    );
    let _ = writeln!(
        o,
        "| device | activations | first seen (UTC) | last seen (UTC) |"
    );
    let _ = writeln!(o, "|---|---:|---|---|");
    for d in &r.devices {
        let acts = match &d.count {
            Some(c) => format!("{} (count, `{}`)", c.count, c.label.origin),
            None => d.activations.len().to_string(),
        };
        row(
            o,
            &[
                format!("`{}`", d.key),
                acts,
                human_time(d.first_seen),
                human_time(d.last_seen),
            ],
        );
    }
    o.push('\n');
}

/// The value at a threshold of a stat curve, by the varied parameter.
fn at_threshold<'a>(r: &'a EvaluationReport, c: &RocCurve, t: f64) -> Option<&'a ConfigResult> {
    c.points
        .iter()
        .find(|p| (p.0 - t).abs() < 1e-9)
        .and_then(|&(_, i)| r.results.get(i))
}

fn paper_section(o: &mut String, r: &EvaluationReport) {
    let _ = writeln!(o, "## Compared with the paper\n");
    let _ = writeln!(
        o,
        "The paper reports rates averaged over its devices; here they are pooled over the \
         devices (the per-device rows are below, `metrics.csv` has the macro averages).\n"
    );
    header(o, &["method", "paper", "this evaluation"], 3);
    let burst = |name: &str| -> Option<String> {
        let x = r.named("burst", name)?;
        Some(format!(
            "TPR {}, FPR {}; {} of {} activations detected, false alarms: {}",
            pct(x.overall.confusion.and_then(|c| c.tpr())),
            pct(x.overall.confusion.and_then(|c| c.fpr())),
            x.overall.events.detected,
            x.overall.events.activations,
            x.overall.events.false_alarms
        ))
    };
    if let Some(ours) = burst("paper") {
        row(
            o,
            &[
                "burst detection, 1 s, 23 kbit/s, n = 5 (`paper`)".into(),
                "TPR 96%, FPR 4% (controlled data, figure 3)".into(),
                ours,
            ],
        );
    }
    if let Some(ours) = burst("default") {
        row(
            o,
            &[
                "burst detection, n = 2 (`default`)".into(),
                "–".into(),
                ours,
            ],
        );
    }
    for (c, s) in stat_curves(r) {
        if s.probe.test != ProbeTest::Paper {
            continue;
        }
        let Some(x) = at_threshold(r, c, PAPER_THRESHOLD) else {
            continue;
        };
        let Some(conf) = x.overall.confusion else {
            continue;
        };
        if conf.total() == 0 {
            continue;
        }
        let w = nanos_secs(s.window_nanos);
        let paper = if (w - 30.0).abs() < 1e-9 {
            "TPR 94%, FPR 6% (controlled, d = 30 s, figure 5)"
        } else if (w - 60.0).abs() < 1e-9 {
            "TPR 93%, FPR 7% (real world, t = 0.43, figure 8); d = 60 s in section 4.1.2"
        } else {
            "–"
        };
        row(
            o,
            &[
                format!("statistical probing, t-test, d = {w} s, t = 0.42"),
                paper.into(),
                format!(
                    "TPR {}, FPR {} ({} positive and {} negative pairs)",
                    pct(conf.tpr()),
                    pct(conf.fpr()),
                    conf.tp + conf.fn_,
                    conf.fp + conf.tn
                ),
            ],
        );
    }
    o.push('\n');
}

fn named_section(o: &mut String, r: &EvaluationReport) {
    let named: Vec<&ConfigResult> = r.results.iter().filter(|x| x.name.is_some()).collect();
    if named.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Named configurations\n");
    let _ = writeln!(
        o,
        "Burst detection counts 10-s slots (or the slot length above), statistical probing \
         window pairs; *detected* counts labelled activations with a matching detection, \
         *false alarms* detections matching none.\n"
    );
    let cols = [
        "detector",
        "config",
        "parameters",
        "device",
        "TP",
        "FP",
        "FN",
        "TN",
        "TPR",
        "FPR",
        "precision",
        "F1",
        "detected",
        "false alarms",
    ];
    header(o, &cols, 4);
    for x in &named {
        let mut cells = vec![
            x.params.detector().to_string(),
            format!("**{}**", x.name.as_deref().unwrap_or_default()),
            x.params.describe(),
            "**overall**".to_string(),
        ];
        cells.extend(score_cells(&x.overall));
        row(o, &cells);
    }
    if r.devices.len() > 1 || named.iter().any(|x| x.devices.len() > 1) {
        o.push('\n');
        let _ = writeln!(o, "Per device:\n");
        header(o, &cols, 4);
        for x in &named {
            for (key, s) in &x.devices {
                let mut cells = vec![
                    x.params.detector().to_string(),
                    x.name.clone().unwrap_or_default(),
                    x.params.describe(),
                    format!("`{key}`"),
                ];
                cells.extend(score_cells(s));
                row(o, &cells);
            }
        }
    }
    o.push('\n');
}

fn burst_section(o: &mut String, r: &EvaluationReport, charts: &Charts) {
    let curves = burst_curves(r);
    if curves.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Burst detection sweep\n");
    let _ = writeln!(
        o,
        "Slot-level TPR / FPR pooled over the devices and, in brackets, labelled \
         activations detected, by the number `n` of consecutive hot 1-s windows (rows) and \
         the rate threshold (columns). The last row is the area under each threshold's \
         curve.\n"
    );
    let mut names = vec!["n".to_string()];
    for c in &curves {
        if let DetectorParams::Burst(b) = c.params {
            names.push(format!("{} kbit/s", b.threshold_bps / 1000.0));
        }
    }
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    header(o, &name_refs, 1);
    let ns: Vec<f64> = curves[0].points.iter().map(|p| p.0).collect();
    for (k, n) in ns.iter().enumerate() {
        let mut cells = vec![format!("{n}")];
        for c in &curves {
            let v =
                c.points
                    .get(k)
                    .and_then(|&(_, i)| r.results.get(i))
                    .map_or(String::new(), |x| {
                        let conf = x.overall.confusion;
                        format!(
                            "{} / {} ({}/{})",
                            pct(conf.and_then(|c| c.tpr())),
                            pct(conf.and_then(|c| c.fpr())),
                            x.overall.events.detected,
                            x.overall.events.activations
                        )
                    });
            cells.push(v);
        }
        row(o, &cells);
    }
    let mut cells = vec!["AUC".to_string()];
    cells.extend(curves.iter().map(|c| num(c.auc, 3)));
    row(o, &cells);
    o.push('\n');
    if !curves.iter().any(|c| !curve_points(r, c).is_empty()) {
        let _ = writeln!(
            o,
            "No sweep point has both a TPR and an FPR (count labels give event counts \
             only), so the ROC chart shows only the paper's operating point.\n"
        );
    }
    if let Some(f) = &charts.roc_burst {
        let _ = writeln!(
            o,
            "![Burst detection ROC]({f})\n\n*Figure: burst detection ROC like the paper's \
             figure 3 (one curve per rate threshold, n = 8 at the lower left to n = 1; \
             the diamond is the paper's operating point, the coloured dots our named \
             configurations).*\n"
        );
    }
}

fn stat_section(o: &mut String, r: &EvaluationReport, charts: &Charts) {
    let curves = stat_curves(r);
    if curves.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Statistical probing\n");
    let _ = writeln!(
        o,
        "Pooled over the devices; *pairs +/−* are the positive and negative window pairs \
         scored. *Best t* maximises TPR − FPR (Youden's J) on this data, so it is \
         optimistic.\n"
    );
    header(
        o,
        &[
            "window",
            "test",
            "pairs +/−",
            "AUC",
            "TPR at 0.42",
            "FPR at 0.42",
            "best t",
            "TPR",
            "FPR",
        ],
        2,
    );
    for (c, s) in &curves {
        let first = c.points.first().and_then(|&(_, i)| r.results.get(i));
        let (pos, neg) = first
            .and_then(|x| x.overall.confusion)
            .map_or((0, 0), |k| (k.tp + k.fn_, k.fp + k.tn));
        let at = at_threshold(r, c, PAPER_THRESHOLD).and_then(|x| x.overall.confusion);
        let best = c
            .points
            .iter()
            .filter_map(|&(t, i)| {
                let (f, tp) = rates(&r.results.get(i)?.overall)?;
                Some((t, tp, f))
            })
            .fold(None::<(f64, f64, f64)>, |acc, p| match acc {
                Some(a) if a.1 - a.2 >= p.1 - p.2 => Some(a),
                _ => Some(p),
            });
        row(
            o,
            &[
                format!("{} s", nanos_secs(s.window_nanos)),
                test_label(s.probe.test).to_string(),
                format!("{pos}/{neg}"),
                num(c.auc, 3),
                pct(at.and_then(|k| k.tpr())),
                pct(at.and_then(|k| k.fpr())),
                best.map_or("–".into(), |b| format!("{:.2}", b.0)),
                pct(best.map(|b| b.1)),
                pct(best.map(|b| b.2)),
            ],
        );
    }
    o.push('\n');
    if !curves.iter().any(|(c, _)| !curve_points(r, c).is_empty()) {
        let _ = writeln!(
            o,
            "No window pair could be scored (a capture shorter than two windows, or \
             activations too close to every idle window), so the ROC chart shows only the \
             paper's operating points.\n"
        );
    }
    if let Some(f) = &charts.roc_stat {
        let _ = writeln!(
            o,
            "![Statistical probing ROC]({f})\n\n*Figure: statistical probing ROC over the \
             p-value threshold like the paper's figures 5 and 8 (solid: the paper's \
             t-test per window length; dashed: the three other curves with the largest \
             AUC; the diamonds are the paper's operating points).*\n"
        );
    }
    if let Some((f, w)) = &charts.pvalues {
        let _ = writeln!(
            o,
            "![p-values per window pair]({f})\n\n*Figure: the paper test's p-value of every \
             window pair with d = {w} s, like the paper's figure 6; the dashed line is the \
             threshold, shaded probe windows hold a labelled activation.*\n"
        );
    }
}

fn timeline_section(o: &mut String, r: &EvaluationReport, charts: &Charts) {
    if charts.timelines.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Timelines\n");
    let config = timeline_config(r).map_or("default", |c| c.0);
    let _ = writeln!(
        o,
        "Upload rate to the cloud per window, the rate threshold, labelled activations \
         (filled) and the detections of the `{config}` burst configuration (hatched).\n"
    );
    for (key, f) in &charts.timelines {
        let _ = writeln!(o, "![Upload timeline of {key}]({f})\n");
    }
    if r.devices.len() > charts.timelines.len() {
        let _ = writeln!(
            o,
            "{} more scored devices have no timeline here (at most {MAX_DEVICE_CHARTS}).\n",
            r.devices.len() - charts.timelines.len()
        );
    }
}

fn notes_section(o: &mut String, r: &EvaluationReport) {
    if r.notes.is_empty() && r.capture.warnings.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Notes\n");
    for n in &r.notes {
        let _ = writeln!(o, "- {n}");
    }
    for w in &r.capture.warnings {
        let _ = writeln!(o, "- warning: {w}");
    }
    o.push('\n');
}
