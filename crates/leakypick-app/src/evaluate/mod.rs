//! `leakypick evaluate`: scores the detectors against labelled activations.
//!
//! One pass over the captures collects, per device, what every detector configuration
//! needs: the upload bytes per window (one [`UploadSeries`] per window length, replayed
//! through the burst detector for each parameter set) and the frames the device sent
//! ([`DeviceFrames`], sliced into window pairs for statistical probing). The labels are
//! then resolved against the capture (relative times, unknown devices) and every
//! configuration is scored with the rules of [`leakypick_core::eval`]:
//!
//! - burst detection: slot-level confusion and event-level counts, for the named
//!   configurations (`default`, `paper`) and a sweep of `n` × rate threshold;
//! - statistical probing: the paper's window pairs (idle `w_i`, probe `w_{i+1}`), a
//!   confusion per p-value threshold, for each window length and test;
//! - devices with a count label (from a file name) get event-level counts only.
//!
//! Memory grows with the frames of the evaluated devices (the statistical pairs need
//! them), unlike `analyze`: evaluation is a workbench for labelled captures, not the
//! monitor.

pub mod command;
pub mod labels;
pub mod plot;
pub mod render;
pub mod report;

use crate::capture::{read_merged, CaptureError, CaptureSource, CaptureStats};
use crate::evaluate::labels::{CountLabel, LabelError, LabelOrigin, LabelSet};
use crate::timespec::TimeSpec;
use leakypick_core::eval::pairs::PairSet;
use leakypick_core::eval::{
    count_clusters, match_events, slot_confusion, threshold_grid, window_pairs, Activation,
    Confusion, Detection, DeviceFrames, EventCounts, Interval, MatchRule, PairGrid, SlotGrid,
    UploadSeries,
};
use leakypick_core::probe::{ProbeConfig, ProbeTest};
use leakypick_core::{is_upload, BurstConfig, DestinationScope, DeviceKey, Packet, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const SEC: i64 = Timestamp::NANOS_PER_SEC;

/// A statistical-probing configuration: window length `d` and the test with its
/// threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatConfig {
    pub window_nanos: i64,
    pub probe: ProbeConfig,
}

impl StatConfig {
    /// The paper's: 60-second windows (section 4.1.2 fixes `d = 60`) and its t-test with
    /// threshold 0.42 on the packet-size p-value.
    pub fn paper() -> StatConfig {
        StatConfig {
            window_nanos: 60 * SEC,
            probe: ProbeConfig::paper(),
        }
    }
}

/// The burst parameters swept for ROC curves: every `min_windows` × threshold, one window.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstSweep {
    pub window_nanos: i64,
    pub thresholds_bps: Vec<f64>,
    pub min_windows: Vec<u32>,
}

impl Default for BurstSweep {
    /// The paper's ROC (figure 3) varies `n` from 1 to 8 at 1 s and 23 kbit/s; the rate
    /// thresholds around it show how much the threshold matters.
    fn default() -> Self {
        BurstSweep {
            window_nanos: SEC,
            thresholds_bps: vec![
                5_000.0, 10_000.0, 15_000.0, 23_000.0, 30_000.0, 50_000.0, 100_000.0,
            ],
            min_windows: (1..=8).collect(),
        }
    }
}

/// The statistical-probing parameters swept for ROC curves.
#[derive(Debug, Clone, PartialEq)]
pub struct StatSweep {
    pub windows_nanos: Vec<i64>,
    pub tests: Vec<ProbeTest>,
    /// Thresholds `t` (a pair is predicted positive when `p < t`).
    pub thresholds: Vec<f64>,
}

impl Default for StatSweep {
    /// The paper's window lengths (30 s in figure 5, 60 s in section 4.1.2, and 10 s,
    /// its probing interval) with every test, `t` from 0 to 1 in steps of 0.01.
    fn default() -> Self {
        StatSweep {
            windows_nanos: vec![10 * SEC, 30 * SEC, 60 * SEC],
            tests: ProbeTest::ALL.to_vec(),
            thresholds: threshold_grid(0.01),
        }
    }
}

/// Which devices are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSelection {
    /// Devices the labels mention (with activations, a count, or declared idle). A
    /// device the labels do not mention is not assumed idle.
    #[default]
    Labelled,
    /// Every device that sent a frame; those the labels do not mention count as never
    /// activated, so each of their detections is a false alarm.
    AllSeen,
}

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    pub burst: bool,
    pub stat: bool,
    /// Tolerance around each activation.
    pub rule: MatchRule,
    /// Slot length of slot-level scoring.
    pub slot_nanos: i64,
    /// Burst configurations reported by name (and listed as detections).
    pub burst_named: Vec<(String, BurstConfig)>,
    pub burst_sweep: Option<BurstSweep>,
    pub stat_named: Vec<(String, StatConfig)>,
    pub stat_sweep: Option<StatSweep>,
    /// Which uploads count for burst detection (cloud only by default, as in `analyze`).
    pub upload_scope: DestinationScope,
    /// Which frames count for statistical probing (every frame by default, as in
    /// `compare` and the paper).
    pub stat_scope: DestinationScope,
    pub devices: DeviceSelection,
    /// At most this many points per device in the rate timelines.
    pub rate_points: usize,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            burst: true,
            stat: true,
            rule: MatchRule::default(),
            slot_nanos: 10 * SEC,
            burst_named: vec![
                ("default".to_string(), BurstConfig::product_default()),
                ("paper".to_string(), BurstConfig::paper()),
            ],
            burst_sweep: Some(BurstSweep::default()),
            stat_named: vec![("paper".to_string(), StatConfig::paper())],
            stat_sweep: Some(StatSweep::default()),
            upload_scope: DestinationScope::Cloud,
            stat_scope: DestinationScope::All,
            devices: DeviceSelection::Labelled,
            rate_points: 2000,
        }
    }
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Labels(#[from] LabelError),
    #[error("{0}")]
    Options(String),
}

/// A labelled activation with the label line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledActivation {
    pub activation: Activation,
    pub origin: LabelOrigin,
}

/// A count label resolved to its device.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedCount {
    pub count: u32,
    /// Detections starting within this many nanoseconds of the previous group's end
    /// join it (half the nominal spacing, or 10 s without one).
    pub gap_nanos: i64,
    pub label: CountLabel,
}

/// One scored device.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalDevice {
    pub key: DeviceKey,
    /// First and last frame it sent or received.
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub activations: Vec<LabelledActivation>,
    /// Set for a device labelled by count (then `activations` is empty).
    pub count: Option<ResolvedCount>,
}

impl EvalDevice {
    fn span(&self) -> Interval {
        Interval::new(
            self.first_seen,
            Timestamp(self.last_seen.0.saturating_add(1)),
        )
    }

    fn intervals(&self) -> Vec<Interval> {
        self.activations
            .iter()
            .map(|a| a.activation.interval())
            .collect()
    }
}

/// A detector with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DetectorParams {
    Burst(BurstConfig),
    Stat(StatConfig),
}

impl DetectorParams {
    /// `burst` or `stat`, as in `--detector`.
    pub fn detector(&self) -> &'static str {
        match self {
            DetectorParams::Burst(_) => "burst",
            DetectorParams::Stat(_) => "stat",
        }
    }

    /// A short description for people, like `1 s, 23 kbit/s, n=2`.
    pub fn describe(&self) -> String {
        match self {
            DetectorParams::Burst(c) => {
                let mut s = format!(
                    "{} s, {} kbit/s, n={}",
                    c.window_secs(),
                    c.threshold_bps / 1000.0,
                    c.min_windows
                );
                if c.baseline.is_some() {
                    s.push_str(", adaptive");
                }
                s
            }
            DetectorParams::Stat(c) => format!(
                "d={} s, {}, t={}",
                c.window_nanos as f64 / 1e9,
                c.probe.test.name(),
                c.probe.threshold
            ),
        }
    }
}

/// What is counted in a confusion: slots (burst) or window pairs (statistical probing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Slot,
    Pair,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Slot => "slot",
            Unit::Pair => "pair",
        }
    }
}

/// The score of one configuration on one device, or overall.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    /// `None` for a device labelled by count (no intervals to score).
    pub confusion: Option<Confusion>,
    pub events: EventCounts,
}

/// One configuration's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigResult {
    pub params: DetectorParams,
    /// The name of a named configuration (`default`, `paper`); `None` for sweep points.
    pub name: Option<String>,
    pub unit: Unit,
    pub devices: Vec<(DeviceKey, Score)>,
    /// Confusions and events summed over the devices (pooled).
    pub overall: Score,
    /// The mean of the per-device rates, over the devices where the rate exists: the
    /// paper reports rates "averaged over all devices".
    pub macro_tpr: Option<f64>,
    pub macro_fpr: Option<f64>,
}

/// One curve of a ROC plot: the results of one parameter varied with the others fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// The parameters of the first point (the fixed ones are the same for every point).
    pub params: DetectorParams,
    /// The varied parameter: `min_windows` (burst) or `threshold` (stat).
    pub varied: &'static str,
    /// `(value of the varied parameter, index into EvaluationReport::results)`.
    pub points: Vec<(f64, usize)>,
    /// Area under the pooled curve.
    pub auc: Option<f64>,
}

/// The window pairs of one device for one window length and test, for p-value plots
/// (the paper's figure 6).
#[derive(Debug, Clone, PartialEq)]
pub struct PValueSeries {
    pub device: DeviceKey,
    pub config: StatConfig,
    pub pairs: PairSet,
}

/// A device's upload rate over time, for timelines.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSeries {
    pub device: DeviceKey,
    pub window_nanos: i64,
    /// The step of the points (a multiple of the window when a long capture was shrunk).
    pub step_nanos: i64,
    /// `(step start, highest window rate in bit/s)`; steps without upload are left out.
    pub points: Vec<(Timestamp, f64)>,
}

/// A detection of a named configuration, with whether it matched a labelled activation.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionRecord {
    pub config: String,
    pub params: DetectorParams,
    pub detection: Detection,
    /// `None` for devices labelled by count, whose detections have no times to match.
    pub matched: Option<bool>,
}

/// Everything `evaluate` found.
#[derive(Debug, Clone)]
pub struct EvaluationReport {
    pub capture: CaptureStats,
    /// The first packet: origin of slots, burst windows and window pairs.
    pub origin: Option<Timestamp>,
    pub rule: MatchRule,
    pub slot_nanos: i64,
    pub devices: Vec<EvalDevice>,
    /// Every configuration evaluated: named ones first, then sweep points.
    pub results: Vec<ConfigResult>,
    pub roc: Vec<RocCurve>,
    pub pvalues: Vec<PValueSeries>,
    pub rates: Vec<RateSeries>,
    pub detections: Vec<DetectionRecord>,
    /// Decisions the user should know about (from the label importers and from here).
    pub notes: Vec<String>,
}

impl EvaluationReport {
    /// The result of a named configuration of a detector (`"burst"`, `"default"`).
    pub fn named(&self, detector: &str, name: &str) -> Option<&ConfigResult> {
        self.results
            .iter()
            .find(|r| r.params.detector() == detector && r.name.as_deref() == Some(name))
    }

    /// The score of `device` in a result.
    pub fn device_score(result: &ConfigResult, device: DeviceKey) -> Option<Score> {
        result
            .devices
            .iter()
            .find(|(d, _)| *d == device)
            .map(|(_, s)| *s)
    }
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    first: Timestamp,
    last: Timestamp,
    upload_bytes: u64,
}

fn check_options(opts: &EvaluateOptions) -> Result<(), EvalError> {
    let bad = |m: String| Err(EvalError::Options(m));
    if opts.slot_nanos < 1_000 {
        return bad("the slot must be at least 1 microsecond".into());
    }
    for (name, c) in &opts.burst_named {
        c.validate()
            .map_err(|e| EvalError::Options(format!("burst configuration '{name}': {e}")))?;
    }
    if let Some(s) = &opts.burst_sweep {
        if s.window_nanos < 1_000 || s.min_windows.contains(&0) {
            return bad(
                "the burst sweep needs a window of at least 1 microsecond and n >= 1".into(),
            );
        }
        if s.thresholds_bps
            .iter()
            .any(|t| !(t.is_finite() && *t >= 0.0))
        {
            return bad("the burst sweep thresholds must be non-negative rates".into());
        }
    }
    let windows = opts
        .stat_named
        .iter()
        .map(|(_, c)| c.window_nanos)
        .chain(opts.stat_sweep.iter().flat_map(|s| s.windows_nanos.clone()));
    for w in windows {
        if w < 1_000 {
            return bad("statistical windows must be at least 1 microsecond".into());
        }
    }
    Ok(())
}

/// Reads the captures once and scores every configuration against the labels.
pub fn evaluate(
    sources: Vec<CaptureSource>,
    labels: &LabelSet,
    opts: &EvaluateOptions,
) -> Result<EvaluationReport, EvalError> {
    check_options(opts)?;
    if labels.is_empty() && opts.devices == DeviceSelection::Labelled {
        return Err(EvalError::Options(
            "the labels hold no activation, count or device: nothing to evaluate".into(),
        ));
    }
    // Devices whose series and frames are needed. A count label without a device, or
    // scoring every device, needs all of them.
    let all_devices = opts.devices == DeviceSelection::AllSeen
        || labels.counts.iter().any(|c| c.device.is_none());
    let wanted: BTreeSet<DeviceKey> = labels
        .intervals
        .iter()
        .map(|l| l.device)
        .chain(labels.idle_devices.iter().map(|(d, _)| *d))
        .chain(labels.counts.iter().filter_map(|c| c.device))
        .collect();
    let mut series_windows: BTreeSet<i64> = BTreeSet::new();
    if opts.burst {
        series_windows.extend(opts.burst_named.iter().map(|(_, c)| c.window_nanos));
        series_windows.extend(opts.burst_sweep.iter().map(|s| s.window_nanos));
    }
    let rate_window = opts
        .burst_named
        .first()
        .map_or(SEC, |(_, c)| c.window_nanos);
    series_windows.insert(rate_window);
    let need_frames = opts.stat;

    let mut origin: Option<Timestamp> = None;
    let mut seen: HashMap<DeviceKey, Seen> = HashMap::new();
    let mut series: HashMap<(DeviceKey, i64), UploadSeries> = HashMap::new();
    let mut frames: HashMap<DeviceKey, DeviceFrames> = HashMap::new();
    let upload_scope = opts.upload_scope;
    let stat_scope = opts.stat_scope;
    let capture = read_merged(sources, |p: &Packet| {
        let o = *origin.get_or_insert(p.ts);
        let mut touch = |key: DeviceKey, upload: u64| {
            let s = seen.entry(key).or_insert(Seen {
                first: p.ts,
                last: p.ts,
                upload_bytes: 0,
            });
            s.first = s.first.min(p.ts);
            s.last = s.last.max(p.ts);
            s.upload_bytes += upload;
        };
        if let Some(r) = DeviceKey::receiver(&p.meta) {
            touch(r, 0);
        }
        let Some(sender) = DeviceKey::sender(&p.meta) else {
            return;
        };
        let upload = is_upload(&p.meta, upload_scope);
        let len = u64::from(p.wire_len);
        touch(sender, if upload { len } else { 0 });
        if !all_devices && !wanted.contains(&sender) {
            return;
        }
        if upload {
            for &w in &series_windows {
                series
                    .entry((sender, w))
                    .or_insert_with(|| UploadSeries::new(o, w))
                    .add(p.ts, len);
            }
        }
        if need_frames
            && (stat_scope == DestinationScope::All || is_upload(&p.meta, DestinationScope::Cloud))
        {
            frames.entry(sender).or_default().push(p.ts, p.wire_len);
        }
    })?;
    for f in frames.values_mut() {
        f.sort();
    }
    let Some(origin) = origin else {
        return Err(EvalError::Options(
            "the captures hold no packet: nothing to evaluate".into(),
        ));
    };
    let capture_end = Timestamp(capture.last.unwrap_or(origin).0.saturating_add(1));
    let mut notes = labels.notes.clone();
    let devices = resolve_devices(labels, opts, origin, &seen, &mut notes)?;

    let ctx = Ctx {
        devices: &devices,
        rule: opts.rule,
        grid: SlotGrid {
            origin,
            slot_nanos: opts.slot_nanos,
        },
    };

    let mut results: Vec<ConfigResult> = Vec::new();
    let mut roc: Vec<RocCurve> = Vec::new();
    let mut detections: Vec<DetectionRecord> = Vec::new();
    if opts.burst {
        for (name, config) in &opts.burst_named {
            let dets = burst_detections(&devices, *config, &series);
            detections.extend(ctx.records(name, DetectorParams::Burst(*config), &dets));
            let mut r = ctx.score(DetectorParams::Burst(*config), Unit::Slot, &dets);
            r.name = Some(name.clone());
            results.push(r);
        }
    }
    // Stat pairs are computed once per (window, test) and reused by every threshold.
    let mut pvalues: Vec<PValueSeries> = Vec::new();
    if opts.stat {
        for (name, config) in &opts.stat_named {
            let sets = ctx.pair_sets(&frames, *config, origin, capture_end);
            let dets = stat_detections(&devices, &sets, *config);
            detections.extend(ctx.records(name, DetectorParams::Stat(*config), &dets));
            let mut r = ctx.score_pairs(*config, &sets, &dets);
            r.name = Some(name.clone());
            results.push(r);
        }
    }
    if opts.burst {
        if let Some(sweep) = &opts.burst_sweep {
            for &thr in &sweep.thresholds_bps {
                let mut curve = RocCurve {
                    params: DetectorParams::Burst(BurstConfig {
                        window_nanos: sweep.window_nanos,
                        threshold_bps: thr,
                        min_windows: sweep.min_windows.first().copied().unwrap_or(1),
                        baseline: None,
                    }),
                    varied: "min_windows",
                    points: Vec::new(),
                    auc: None,
                };
                for &n in &sweep.min_windows {
                    let config = BurstConfig {
                        window_nanos: sweep.window_nanos,
                        threshold_bps: thr,
                        min_windows: n,
                        baseline: None,
                    };
                    let dets = burst_detections(&devices, config, &series);
                    curve.points.push((f64::from(n), results.len()));
                    results.push(ctx.score(DetectorParams::Burst(config), Unit::Slot, &dets));
                }
                curve.auc = curve_auc(&curve, &results);
                roc.push(curve);
            }
        }
    }
    if opts.stat {
        let mut combos: Vec<StatConfig> = Vec::new();
        if let Some(sweep) = &opts.stat_sweep {
            for &w in &sweep.windows_nanos {
                for &test in &sweep.tests {
                    combos.push(StatConfig {
                        window_nanos: w,
                        probe: ProbeConfig {
                            test,
                            ..ProbeConfig::paper()
                        },
                    });
                }
            }
        }
        for (_, c) in &opts.stat_named {
            if !combos
                .iter()
                .any(|x| x.window_nanos == c.window_nanos && same_test(x.probe, c.probe))
            {
                combos.push(*c);
            }
        }
        let thresholds = opts
            .stat_sweep
            .as_ref()
            .map_or_else(|| threshold_grid(0.01), |s| s.thresholds.clone());
        for base in combos {
            let sets = ctx.pair_sets(&frames, base, origin, capture_end);
            let mut curve = RocCurve {
                params: DetectorParams::Stat(base),
                varied: "threshold",
                points: Vec::new(),
                auc: None,
            };
            if opts.stat_sweep.is_some() {
                for &t in &thresholds {
                    let config = StatConfig {
                        probe: ProbeConfig {
                            threshold: t,
                            ..base.probe
                        },
                        ..base
                    };
                    let dets = stat_detections(&devices, &sets, config);
                    curve.points.push((t, results.len()));
                    results.push(ctx.score_pairs(config, &sets, &dets));
                }
                curve.auc = curve_auc(&curve, &results);
                roc.push(curve);
            }
            for (device, set) in sets {
                pvalues.push(PValueSeries {
                    device,
                    config: base,
                    pairs: set,
                });
            }
        }
    }
    let rates = devices
        .iter()
        .map(|d| {
            let (step_nanos, points) = series
                .get(&(d.key, rate_window))
                .map_or((rate_window, Vec::new()), |s| {
                    s.rate_points(opts.rate_points)
                });
            RateSeries {
                device: d.key,
                window_nanos: rate_window,
                step_nanos,
                points,
            }
        })
        .collect();
    Ok(EvaluationReport {
        capture,
        origin: Some(origin),
        rule: opts.rule,
        slot_nanos: opts.slot_nanos,
        devices,
        results,
        roc,
        pvalues,
        rates,
        detections,
        notes,
    })
}

fn same_test(a: ProbeConfig, b: ProbeConfig) -> bool {
    a.test == b.test && a.decision == b.decision && a.bin_rule == b.bin_rule
}

fn curve_auc(curve: &RocCurve, results: &[ConfigResult]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = curve
        .points
        .iter()
        .filter_map(|&(_, i)| {
            let c = results.get(i)?.overall.confusion?;
            Some((c.fpr()?, c.tpr()?))
        })
        .collect();
    leakypick_core::eval::roc_auc(&pts)
}

/// Resolves the labels against the capture: relative times, unknown devices, end before
/// start, count labels without a device; returns the devices to score.
fn resolve_devices(
    labels: &LabelSet,
    opts: &EvaluateOptions,
    origin: Timestamp,
    seen: &HashMap<DeviceKey, Seen>,
    notes: &mut Vec<String>,
) -> Result<Vec<EvalDevice>, EvalError> {
    // Labels hold no time ago (refused when read): the clock is never needed.
    let resolve = |t: TimeSpec, at: &LabelOrigin| {
        t.resolve(Some(origin), None)
            .map_err(|e| LabelError::new(at.clone(), e.to_string()))
    };
    let unknown = |device: DeviceKey, origin: &LabelOrigin| {
        LabelError::new(
            origin.clone(),
            format!("the device {device} is not in the capture (it sent and received no frame)"),
        )
    };
    let mut devices: BTreeMap<DeviceKey, EvalDevice> = BTreeMap::new();
    let entry = |key: DeviceKey, s: &Seen| -> EvalDevice {
        EvalDevice {
            key,
            first_seen: s.first,
            last_seen: s.last,
            activations: Vec::new(),
            count: None,
        }
    };
    for l in &labels.intervals {
        let s = seen
            .get(&l.device)
            .ok_or_else(|| unknown(l.device, &l.origin))?;
        let (start, end) = (resolve(l.start, &l.origin)?, resolve(l.end, &l.origin)?);
        if end < start {
            return Err(LabelError::new(
                l.origin.clone(),
                format!(
                    "the end ({}) is before the start ({}) once relative times are resolved against the first packet ({})",
                    end, start, origin
                ),
            )
            .into());
        }
        let d = devices
            .entry(l.device)
            .or_insert_with(|| entry(l.device, s));
        let activation = Activation {
            device: l.device,
            start,
            end,
            kind: l.kind.clone(),
        };
        if !opts.rule.widen(activation.interval()).overlaps(&d.span()) {
            notes.push(format!(
                "{}: the activation {start}..{end} lies outside the time the device was seen ({}..{}) and is not scored",
                l.origin, d.first_seen, d.last_seen
            ));
            continue;
        }
        d.activations.push(LabelledActivation {
            activation,
            origin: l.origin.clone(),
        });
    }
    for (device, origin) in &labels.idle_devices {
        let s = seen.get(device).ok_or_else(|| unknown(*device, origin))?;
        devices.entry(*device).or_insert_with(|| entry(*device, s));
    }
    for c in &labels.counts {
        let device = match c.device {
            Some(d) => d,
            None => {
                let top = seen
                    .iter()
                    .filter(|(_, s)| s.upload_bytes > 0)
                    .max_by_key(|(k, s)| (s.upload_bytes, std::cmp::Reverse(**k)))
                    .map(|(k, _)| *k)
                    .ok_or_else(|| {
                        LabelError::new(
                            c.origin.clone(),
                            "no device in the capture uploads to the cloud, so the count label has no device",
                        )
                    })?;
                notes.push(format!(
                    "{}: the count label is for {top}, the device that uploaded the most bytes to the cloud",
                    c.origin
                ));
                top
            }
        };
        let s = seen
            .get(&device)
            .ok_or_else(|| unknown(device, &c.origin))?;
        let d = devices.entry(device).or_insert_with(|| entry(device, s));
        if !d.activations.is_empty() || d.count.is_some() {
            return Err(LabelError::new(
                c.origin.clone(),
                format!(
                    "the device {device} already has labels; a count label must be its only label"
                ),
            )
            .into());
        }
        d.count = Some(ResolvedCount {
            count: c.count,
            gap_nanos: c.spacing_nanos.map_or(10 * SEC, |s| s / 2),
            label: c.clone(),
        });
    }
    if opts.devices == DeviceSelection::AllSeen {
        for (key, s) in seen {
            devices.entry(*key).or_insert_with(|| entry(*key, s));
        }
    }
    for d in devices.values_mut() {
        d.activations
            .sort_by_key(|a| (a.activation.start, a.activation.end));
    }
    Ok(devices.into_values().collect())
}

fn burst_detections(
    devices: &[EvalDevice],
    config: BurstConfig,
    series: &HashMap<(DeviceKey, i64), UploadSeries>,
) -> Vec<Vec<Detection>> {
    let label = DetectorParams::Burst(config).describe();
    devices
        .iter()
        .map(|d| {
            let Some(s) = series.get(&(d.key, config.window_nanos)) else {
                return Vec::new(); // the device uploaded nothing
            };
            s.bursts(d.key, config)
                .into_iter()
                .map(|b| Detection {
                    device: d.key,
                    start: b.start,
                    end: b.end,
                    label: format!("burst {label}"),
                    score: None,
                })
                .collect()
        })
        .collect()
}

fn stat_detections(
    devices: &[EvalDevice],
    sets: &[(DeviceKey, PairSet)],
    config: StatConfig,
) -> Vec<Vec<Detection>> {
    let label = DetectorParams::Stat(config).describe();
    devices
        .iter()
        .map(|d| {
            let Some((_, set)) = sets.iter().find(|(k, _)| *k == d.key) else {
                return Vec::new();
            };
            set.pairs
                .iter()
                .filter(|p| {
                    p.label != leakypick_core::eval::PairLabel::Skipped
                        && p.score.is_some_and(|s| s < config.probe.threshold)
                })
                .map(|p| Detection {
                    device: d.key,
                    start: p.probe.start,
                    end: p.probe.end,
                    label: format!("stat {label}"),
                    score: p.score,
                })
                .collect()
        })
        .collect()
}

struct Ctx<'a> {
    devices: &'a [EvalDevice],
    rule: MatchRule,
    grid: SlotGrid,
}

impl Ctx<'_> {
    /// Event-level counts of one device's detections.
    fn events(&self, d: &EvalDevice, dets: &[Interval]) -> EventCounts {
        match &d.count {
            Some(c) => EventCounts::from_count(
                u64::from(c.count),
                dets.len() as u64,
                count_clusters(dets, c.gap_nanos),
            ),
            None => match_events(&d.intervals(), dets, self.rule).counts,
        }
    }

    /// Scores slot-level detections (burst).
    fn score(&self, params: DetectorParams, unit: Unit, dets: &[Vec<Detection>]) -> ConfigResult {
        let devices =
            self.devices
                .iter()
                .zip(dets)
                .map(|(d, ds)| {
                    let iv: Vec<Interval> = ds.iter().map(Detection::interval).collect();
                    let confusion = d.count.is_none().then(|| {
                        slot_confusion(self.grid, d.span(), &d.intervals(), &iv, self.rule)
                    });
                    (
                        d.key,
                        Score {
                            confusion,
                            events: self.events(d, &iv),
                        },
                    )
                })
                .collect();
        finish(params, unit, devices)
    }

    /// Scores window pairs (statistical probing) at the config's threshold.
    fn score_pairs(
        &self,
        config: StatConfig,
        sets: &[(DeviceKey, PairSet)],
        dets: &[Vec<Detection>],
    ) -> ConfigResult {
        let devices = self
            .devices
            .iter()
            .zip(dets)
            .map(|(d, ds)| {
                let iv: Vec<Interval> = ds.iter().map(Detection::interval).collect();
                let confusion = if d.count.is_some() {
                    None
                } else {
                    Some(
                        sets.iter()
                            .find(|(k, _)| *k == d.key)
                            .map(|(_, s)| s.confusion_at(config.probe.threshold))
                            .unwrap_or_default(),
                    )
                };
                (
                    d.key,
                    Score {
                        confusion,
                        events: self.events(d, &iv),
                    },
                )
            })
            .collect();
        finish(DetectorParams::Stat(config), Unit::Pair, devices)
    }

    fn pair_sets(
        &self,
        frames: &HashMap<DeviceKey, DeviceFrames>,
        config: StatConfig,
        origin: Timestamp,
        capture_end: Timestamp,
    ) -> Vec<(DeviceKey, PairSet)> {
        let empty = DeviceFrames::new();
        self.devices
            .iter()
            .map(|d| {
                let grid = PairGrid {
                    origin,
                    window_nanos: config.window_nanos,
                    device_span: d.span(),
                    capture_end,
                };
                let f = frames.get(&d.key).unwrap_or(&empty);
                (
                    d.key,
                    window_pairs(f, &d.intervals(), self.rule, grid, config.probe),
                )
            })
            .collect()
    }

    fn records(
        &self,
        name: &str,
        params: DetectorParams,
        dets: &[Vec<Detection>],
    ) -> Vec<DetectionRecord> {
        let mut out = Vec::new();
        for (d, ds) in self.devices.iter().zip(dets) {
            let iv: Vec<Interval> = ds.iter().map(Detection::interval).collect();
            let matched = if d.count.is_some() {
                vec![None; ds.len()]
            } else {
                match_events(&d.intervals(), &iv, self.rule)
                    .matched
                    .into_iter()
                    .map(Some)
                    .collect()
            };
            for (det, m) in ds.iter().zip(matched) {
                out.push(DetectionRecord {
                    config: name.to_string(),
                    params,
                    detection: det.clone(),
                    matched: m,
                });
            }
        }
        out
    }
}

fn finish(params: DetectorParams, unit: Unit, devices: Vec<(DeviceKey, Score)>) -> ConfigResult {
    let mut overall = Score::default();
    let (mut tprs, mut fprs) = (Vec::new(), Vec::new());
    for (_, s) in &devices {
        overall.events += s.events;
        if let Some(c) = s.confusion {
            overall.confusion = Some(overall.confusion.unwrap_or_default() + c);
            tprs.extend(c.tpr());
            fprs.extend(c.fpr());
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    ConfigResult {
        params,
        name: None,
        unit,
        macro_tpr: mean(&tprs),
        macro_fpr: mean(&fprs),
        devices,
        overall,
    }
}
