//! The paper's evaluation of statistical probing (section 5.2.2): consecutive windows
//! of `d` seconds, each pair compared as idle (`w_i`) against probe (`w_{i+1}`).
//!
//! Windows are aligned to the capture's first packet and slide by one window, so every
//! window is the probe of one pair and the idle window of the next. A pair is labelled
//!
//! - **positive** when the probe window overlaps an activation and the idle window
//!   does not overlap it even widened by the tolerance: the situation probing is built
//!   for, sound played after silence;
//! - **negative** when neither window overlaps a widened activation: both are idle, and
//!   a low p-value would be a false alarm;
//! - **skipped** otherwise: the idle window overlaps a widened activation, or the probe
//!   window overlaps only the tolerance margin around one. A pair whose idle window holds
//!   audio compares audio with something else, which is not what a probe does
//!   (LeakyPick records its idle sample while it plays nothing), so it is neither right
//!   nor wrong to flag it; and a probe window that merely touches the margin is, like a
//!   margin slot, forgiven but not demanded.
//!
//! The pair's score is the deciding p-value of [`crate::probe::compare`]; a threshold
//! `t` predicts "reacted" when `p < t`, which gives one ROC point per `t`. A pair without
//! a p-value (fewer than two frames in a window) is predicted negative at every
//! threshold: a prober that cannot compute a p-value reports no reaction.

use super::{Confusion, Interval, MatchRule};
use crate::probe::{compare, Decision, ProbeConfig, WindowSample};
use crate::time::Timestamp;

/// The frames one device sent: `(time, wire length)`, kept once and sliced into windows
/// of every length a sweep asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceFrames {
    times: Vec<Timestamp>,
    lens: Vec<u32>,
    sorted: bool,
}

impl Default for DeviceFrames {
    fn default() -> Self {
        DeviceFrames::new()
    }
}

impl DeviceFrames {
    pub fn new() -> DeviceFrames {
        DeviceFrames {
            times: Vec::new(),
            lens: Vec::new(),
            sorted: true,
        }
    }

    pub fn push(&mut self, ts: Timestamp, wire_len: u32) {
        if self.times.last().is_some_and(|&last| ts < last) {
            self.sorted = false;
        }
        self.times.push(ts);
        self.lens.push(wire_len);
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Sorts the frames by time if they were pushed out of order (a capture is not
    /// always in time order); needed before [`window_pairs`].
    pub fn sort(&mut self) {
        if self.sorted {
            return;
        }
        let mut v: Vec<(Timestamp, u32)> = self
            .times
            .iter()
            .copied()
            .zip(self.lens.iter().copied())
            .collect();
        v.sort_by_key(|&(t, _)| t);
        self.times = v.iter().map(|&(t, _)| t).collect();
        self.lens = v.iter().map(|&(_, l)| l).collect();
        self.sorted = true;
    }

    /// The frames in `[w.start, w.end)`.
    fn sample(&self, w: Interval) -> WindowSample {
        let a = self.times.partition_point(|&t| t < w.start);
        let b = self.times.partition_point(|&t| t < w.end);
        let mut s = WindowSample::default();
        for k in a..b {
            s.push(self.times[k], self.lens[k]);
        }
        s
    }
}

/// How a window pair is labelled (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairLabel {
    Positive,
    Negative,
    Skipped,
}

impl PairLabel {
    pub fn name(self) -> &'static str {
        match self {
            PairLabel::Positive => "positive",
            PairLabel::Negative => "negative",
            PairLabel::Skipped => "skipped",
        }
    }
}

/// One compared pair of windows.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPair {
    pub idle: Interval,
    pub probe: Interval,
    pub label: PairLabel,
    pub idle_packets: usize,
    pub probe_packets: usize,
    pub p_size: Option<f64>,
    pub p_iat: Option<f64>,
    pub p_combined: Option<f64>,
    /// The deciding p-value (size or combined, as the configuration says).
    pub score: Option<f64>,
}

/// The pairs of one device for one window length and test.
///
/// Pairs in which the device sent nothing in either window are only counted, not
/// listed: on a week-long capture of a camera that sleeps between motion events they
/// are nearly all of them, and they carry no p-value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PairSet {
    /// Pairs in which the device sent at least one frame, in time order.
    pub pairs: Vec<WindowPair>,
    /// Silent pairs by label: positive, negative, skipped.
    pub silent_positive: u64,
    pub silent_negative: u64,
    pub silent_skipped: u64,
    /// Steps [`window_pairs`] took: listed pairs plus runs of silent pairs counted at
    /// once. It grows with the frames and activations, never with the time span; it is
    /// here so tests can check that.
    pub steps: u64,
}

impl PairSet {
    /// Pair-level confusion at threshold `t` (`p < t` is predicted positive); skipped
    /// pairs are left out.
    pub fn confusion_at(&self, t: f64) -> Confusion {
        let mut c = Confusion {
            fn_: self.silent_positive,
            tn: self.silent_negative,
            ..Default::default()
        };
        for p in &self.pairs {
            let predicted = p.score.is_some_and(|s| s < t);
            match (p.label, predicted) {
                (PairLabel::Positive, true) => c.tp += 1,
                (PairLabel::Positive, false) => c.fn_ += 1,
                (PairLabel::Negative, true) => c.fp += 1,
                (PairLabel::Negative, false) => c.tn += 1,
                (PairLabel::Skipped, _) => {}
            }
        }
        c
    }

    /// The probe windows flagged at threshold `t`, for event-level matching. Skipped
    /// pairs are left out here too: right after an activation, the pair (audio, silence)
    /// differs as much as (silence, audio) does, and counting its probe window as a false
    /// alarm would punish the detector for a comparison a prober never makes.
    pub fn detections_at(&self, t: f64) -> Vec<Interval> {
        self.pairs
            .iter()
            .filter(|p| p.label != PairLabel::Skipped && p.score.is_some_and(|s| s < t))
            .map(|p| p.probe)
            .collect()
    }

    /// Number of pairs per label, silent ones included.
    pub fn label_counts(&self) -> (u64, u64, u64) {
        let mut n = (
            self.silent_positive,
            self.silent_negative,
            self.silent_skipped,
        );
        for p in &self.pairs {
            match p.label {
                PairLabel::Positive => n.0 += 1,
                PairLabel::Negative => n.1 += 1,
                PairLabel::Skipped => n.2 += 1,
            }
        }
        n
    }
}

/// Where the pairs of one device are taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairGrid {
    /// Windows start at `origin + i × window_nanos` (the capture's first packet).
    pub origin: Timestamp,
    pub window_nanos: i64,
    /// When the device was seen (first to last frame it sent or received): both windows
    /// of a pair must overlap it.
    pub device_span: Interval,
    /// The end of the capture (just after its last packet): a probe window that runs
    /// past it is incomplete and not used, since a short window holds fewer frames and
    /// the paper's test reacts to frame counts.
    pub capture_end: Timestamp,
}

/// Compares every pair of consecutive windows of one device (see the module
/// documentation for the labels). `activations` are the device's labelled activations,
/// widened by `rule` before labelling.
///
/// The work grows with the frames and activations, never with the time they span: only
/// pairs with a frame in either window are compared one by one. The silent pairs in
/// between are counted a run at a time, since their label can only change where a
/// window starts or stops overlapping an activation, so a capture in which one
/// timestamp says 1970 costs no more than one that does not. [`PairSet::steps`] counts
/// the pairs and runs visited.
pub fn window_pairs(
    frames: &DeviceFrames,
    activations: &[Interval],
    rule: MatchRule,
    grid: PairGrid,
    config: ProbeConfig,
) -> PairSet {
    let d = grid.window_nanos.max(1) as i128;
    let o = grid.origin.0 as i128;
    let index = |t: Timestamp| (t.0 as i128 - o).div_euclid(d);
    let window = |i: i128| {
        let clamp = |n: i128| Timestamp(n.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
        Interval::new(clamp(o + i * d), clamp(o + (i + 1) * d))
    };
    let widened: Vec<Interval> = activations.iter().map(|&a| rule.widen(a)).collect();
    let hit = |w: Interval| widened.iter().any(|a| a.overlaps(&w));
    let hit_raw = |w: Interval| activations.iter().any(|a| a.overlaps(&w));
    // The pair (w_i, w_i+1) and its label.
    let pair = |i: i128| {
        let (idle, probe) = (window(i), window(i + 1));
        let label = match (hit(idle), hit_raw(probe), hit(probe)) {
            (true, _, _) | (false, false, true) => PairLabel::Skipped,
            (false, true, _) => PairLabel::Positive,
            (false, false, false) => PairLabel::Negative,
        };
        (idle, probe, label)
    };
    let first = index(grid.device_span.start);
    let last_seen = index(Timestamp(grid.device_span.end.0 - 1));
    // The last complete window ends at or before the capture's end.
    let last_complete = (grid.capture_end.0 as i128 - o).div_euclid(d) - 1;
    let last_probe = last_seen.min(last_complete);
    let mut set = PairSet::default();
    if first >= last_probe {
        return set;
    }
    // The pairs i in [first, last_probe) with a frame in either window: (w-1, w) and
    // (w, w+1) for every window w holding a frame. In order, as the frames are sorted.
    let mut listed: Vec<i128> = Vec::new();
    for &t in &frames.times {
        let w = index(t);
        for i in [w - 1, w] {
            if (first..last_probe).contains(&i) && listed.last().is_none_or(|&l| l < i) {
                listed.push(i);
            }
        }
    }
    if !frames.sorted {
        listed.sort_unstable();
        listed.dedup();
    }
    // Where a label may change: where an idle window (i) or a probe window (i + 1)
    // starts or stops overlapping an activation, raw or widened. Between two such
    // points every pair has the label of the first one. The ends of the range and
    // their neighbours are added too (a clamped first window stays alone).
    let mut cuts: Vec<i128> = vec![first, first + 1, last_probe - 1, last_probe];
    for a in activations.iter().chain(&widened) {
        if a.end <= a.start {
            continue; // saturated to nothing: overlaps no window
        }
        let (lo, hi) = (index(a.start), index(Timestamp(a.end.0 - 1)));
        cuts.extend([lo - 1, lo, hi, hi + 1]);
    }
    cuts.retain(|c| (first..=last_probe).contains(c));
    cuts.sort_unstable();
    cuts.dedup();
    let mut next_listed = listed.iter().copied().peekable();
    for run in cuts.windows(2) {
        let (start, end) = (run[0], run[1]);
        set.steps += 1;
        let mut silent = end - start;
        while let Some(i) = next_listed.next_if(|&i| i < end) {
            set.steps += 1;
            silent -= 1;
            let (idle, probe, label) = pair(i);
            let (a, b) = (frames.sample(idle), frames.sample(probe));
            let c = compare(&a, &b, config);
            let p_size = c.p_size.ok();
            let p_combined = c.p_combined.ok();
            set.pairs.push(WindowPair {
                idle,
                probe,
                label,
                idle_packets: c.idle_packets,
                probe_packets: c.probe_packets,
                p_size,
                p_iat: c.p_iat.ok(),
                p_combined,
                score: match config.decision {
                    Decision::Size => p_size,
                    Decision::Combined => p_combined,
                },
            });
        }
        if silent > 0 {
            let n = u64::try_from(silent).unwrap_or(u64::MAX);
            match pair(start).2 {
                PairLabel::Positive => set.silent_positive += n,
                PairLabel::Negative => set.silent_negative += n,
                PairLabel::Skipped => set.silent_skipped += n,
            }
        }
    }
    set
}

/// The thresholds of a ROC sweep: `0, step, 2 step, ...` up to 1 inclusive.
pub fn threshold_grid(step: f64) -> Vec<f64> {
    if !(step > 0.0 && step <= 1.0) {
        return vec![0.0, 1.0];
    }
    let n = (1.0 / step).round() as usize;
    (0..=n).map(|k| k as f64 / n as f64).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const S: i64 = Timestamp::NANOS_PER_SEC;

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(Timestamp(a * S), Timestamp(b * S))
    }

    /// Idle traffic: one 100-byte frame per second; an activation [20, 26) adds ten
    /// 500-byte frames per second.
    fn frames(end: i64) -> DeviceFrames {
        let mut f = DeviceFrames::new();
        for s in 0..end {
            f.push(Timestamp(s * S + S / 2), 100);
            if (20..26).contains(&s) {
                for k in 0..10 {
                    f.push(Timestamp(s * S + k * S / 10), 500);
                }
            }
        }
        f.sort();
        f
    }

    #[test]
    fn pairs_are_labelled_by_hand() {
        // 48 s capture, windows of 10 s: w0..w3 complete ([40, 50) runs past 48 s).
        // Activation [20, 26) is in w2. Pairs: (w0,w1) negative, (w1,w2) positive,
        // (w2,w3) skipped (idle window holds the activation).
        let grid = PairGrid {
            origin: Timestamp(0),
            window_nanos: 10 * S,
            device_span: iv(0, 48),
            capture_end: Timestamp(48 * S),
        };
        let set = window_pairs(
            &frames(48),
            &[iv(20, 26)],
            MatchRule { tolerance_nanos: 0 },
            grid,
            ProbeConfig {
                test: crate::probe::ProbeTest::Welch,
                ..ProbeConfig::paper()
            },
        );
        let labels: Vec<PairLabel> = set.pairs.iter().map(|p| p.label).collect();
        assert_eq!(
            labels,
            vec![PairLabel::Negative, PairLabel::Positive, PairLabel::Skipped]
        );
        assert_eq!(set.pairs[1].probe, iv(20, 30));
        assert_eq!(
            (set.pairs[1].idle_packets, set.pairs[1].probe_packets),
            (10, 70)
        );
        // Idle vs idle: identical sizes, Welch has no variance to work with -> no p-value
        // -> negative at every threshold. Idle vs audio: tiny p.
        assert_eq!(set.pairs[0].score, None);
        assert!(set.pairs[1].score.unwrap() < 1e-6);
        // At t = 0.42: TP 1, TN 1, the skipped pair left out.
        assert_eq!(
            set.confusion_at(0.42),
            Confusion {
                tp: 1,
                fp: 0,
                fn_: 0,
                tn: 1
            }
        );
        // At t = 0 nothing is positive.
        assert_eq!(set.confusion_at(0.0).fn_, 1);
        assert_eq!(set.detections_at(0.42), vec![iv(20, 30)]);
        assert_eq!(set.label_counts(), (1, 1, 1));
    }

    #[test]
    fn silent_pairs_are_counted_not_listed() {
        let mut f = DeviceFrames::new();
        f.push(Timestamp(S), 100);
        f.push(Timestamp(2 * S), 100);
        // 100 s, windows of 10 s: 9 pairs; only (w0, w1) has frames.
        let grid = PairGrid {
            origin: Timestamp(0),
            window_nanos: 10 * S,
            device_span: iv(0, 100),
            capture_end: Timestamp(100 * S),
        };
        let set = window_pairs(
            &f,
            &[iv(55, 56)],
            MatchRule { tolerance_nanos: 0 },
            grid,
            ProbeConfig::paper(),
        );
        assert_eq!(set.pairs.len(), 1);
        // (w4,w5) positive, (w5,w6) skipped, six negative pairs silent + 1 listed.
        assert_eq!(
            (set.silent_positive, set.silent_negative, set.silent_skipped),
            (1, 6, 1)
        );
        let c = set.confusion_at(1.0);
        assert_eq!((c.tp, c.fn_, c.tn + c.fp), (0, 1, 7));
    }

    /// Issue 8: the work of `window_pairs` grows with the frames and activations, not
    /// with the time between them. Two frames a million windows apart (a timestamp
    /// rewritten to 0 gives fifty years) take a handful of steps, and the million silent
    /// pairs are still counted, each under its label.
    #[test]
    fn work_does_not_grow_with_the_time_span() {
        let mut f = DeviceFrames::new();
        f.push(Timestamp(S), 100);
        let far = 10_000_000; // seconds: a million 10-second windows
        f.push(Timestamp((far - 5) * S), 100);
        let grid = PairGrid {
            origin: Timestamp(0),
            window_nanos: 10 * S,
            device_span: iv(1, far),
            capture_end: Timestamp(far * S),
        };
        // An activation [5003, 5006), widened by 2 s to [5001, 5008): inside w500.
        let rule = MatchRule {
            tolerance_nanos: 2 * S,
        };
        let set = window_pairs(&f, &[iv(5003, 5006)], rule, grid, ProbeConfig::paper());
        assert!(set.steps <= 32, "{} steps for 2 frames", set.steps);
        // Windows w0..w999_999: 999_999 pairs. Listed: (w0, w1) and (w999_998, w999_999),
        // whose windows hold the frames.
        // The activation is in w500: (w499, w500) positive, (w500, w501) skipped.
        assert_eq!(set.pairs.len(), 2);
        assert_eq!(
            (set.silent_positive, set.silent_negative, set.silent_skipped),
            (1, 999_995, 1)
        );
        assert_eq!(set.label_counts(), (1, 999_997, 1));
    }

    /// The pairs as they were computed before issue 8, window by window over the whole
    /// span: the reference the sparse walk must equal.
    fn dense(
        frames: &DeviceFrames,
        activations: &[Interval],
        rule: MatchRule,
        grid: PairGrid,
        config: ProbeConfig,
    ) -> PairSet {
        let d = grid.window_nanos.max(1) as i128;
        let o = grid.origin.0 as i128;
        let index = |t: Timestamp| (t.0 as i128 - o).div_euclid(d);
        let window = |i: i128| {
            let clamp = |n: i128| Timestamp(n.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
            Interval::new(clamp(o + i * d), clamp(o + (i + 1) * d))
        };
        let count = |w: Interval| {
            let a = frames.times.partition_point(|&t| t < w.start);
            frames.times.partition_point(|&t| t < w.end) - a
        };
        let widened: Vec<Interval> = activations.iter().map(|&a| rule.widen(a)).collect();
        let hit = |w: Interval| widened.iter().any(|a| a.overlaps(&w));
        let hit_raw = |w: Interval| activations.iter().any(|a| a.overlaps(&w));
        let first = index(grid.device_span.start);
        let last_seen = index(Timestamp(grid.device_span.end.0 - 1));
        let last_complete = (grid.capture_end.0 as i128 - o).div_euclid(d) - 1;
        let mut set = PairSet::default();
        for i in first..last_seen.min(last_complete) {
            let (idle, probe) = (window(i), window(i + 1));
            let label = match (hit(idle), hit_raw(probe), hit(probe)) {
                (true, _, _) | (false, false, true) => PairLabel::Skipped,
                (false, true, _) => PairLabel::Positive,
                (false, false, false) => PairLabel::Negative,
            };
            if count(idle) == 0 && count(probe) == 0 {
                match label {
                    PairLabel::Positive => set.silent_positive += 1,
                    PairLabel::Negative => set.silent_negative += 1,
                    PairLabel::Skipped => set.silent_skipped += 1,
                }
                continue;
            }
            let c = compare(&frames.sample(idle), &frames.sample(probe), config);
            let (p_size, p_combined) = (c.p_size.ok(), c.p_combined.ok());
            set.pairs.push(WindowPair {
                idle,
                probe,
                label,
                idle_packets: c.idle_packets,
                probe_packets: c.probe_packets,
                p_size,
                p_iat: c.p_iat.ok(),
                p_combined,
                score: match config.decision {
                    Decision::Size => p_size,
                    Decision::Combined => p_combined,
                },
            });
        }
        set
    }

    proptest::proptest! {
        /// The sparse walk gives exactly the pairs and silent counts of the dense one,
        /// wherever the frames, activations, tolerance, origin and span fall.
        #[test]
        fn sparse_walk_equals_the_dense_one(
            times in proptest::collection::vec((0i64..400, 1u32..1500), 0..40),
            acts in proptest::collection::vec((0i64..420, 0i64..30), 0..5),
            window in 1i64..40,
            tolerance in 0i64..15,
            origin in -20i64..20,
            span in (0i64..60, 300i64..440),
            end in 250i64..450,
        ) {
            // Units of 100 ms, so windows, frames and activations meet on boundaries.
            let u = S / 10;
            let mut f = DeviceFrames::new();
            for &(t, len) in &times {
                f.push(Timestamp(t * u), len);
            }
            f.sort();
            let activations: Vec<Interval> = acts
                .iter()
                .map(|&(a, l)| Interval::new(Timestamp(a * u), Timestamp((a + l) * u)))
                .collect();
            let rule = MatchRule { tolerance_nanos: tolerance * u };
            let grid = PairGrid {
                origin: Timestamp(origin * u),
                window_nanos: window * u,
                device_span: Interval::new(Timestamp(span.0 * u), Timestamp(span.1 * u)),
                capture_end: Timestamp(end * u),
            };
            let config = ProbeConfig::paper();
            let mut sparse = window_pairs(&f, &activations, rule, grid, config);
            proptest::prop_assert!(sparse.steps <= 2 * times.len() as u64 + 8 * acts.len() as u64 + 4);
            sparse.steps = 0;
            proptest::prop_assert_eq!(sparse, dense(&f, &activations, rule, grid, config));
        }
    }

    #[test]
    fn thresholds() {
        let g = threshold_grid(0.01);
        assert_eq!(g.len(), 101);
        assert_eq!((g[0], g[42], g[100]), (0.0, 0.42, 1.0));
    }
}
