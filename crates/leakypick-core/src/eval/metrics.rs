//! Confusion counts, event matching and slot-level scoring.
//!
//! All functions here work on the intervals of one device; the caller groups by device.

use super::{Interval, MatchRule};
use crate::time::Timestamp;
use std::ops::{Add, AddAssign};

/// True/false positives and negatives, with the rates derived from them.
///
/// A rate whose denominator is zero does not exist and is `None`: a device without any
/// labelled activation has no true-positive rate, and saying 0 or NaN would both lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl Confusion {
    /// Recall: `TP / (TP + FN)`.
    pub fn tpr(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// `FP / (FP + TN)`.
    pub fn fpr(&self) -> Option<f64> {
        ratio(self.fp, self.fp + self.tn)
    }

    /// `TP / (TP + FP)`.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `2 TP / (2 TP + FP + FN)`, the harmonic mean of precision and recall; it exists
    /// whenever anything was labelled or predicted positive.
    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }
}

impl Add for Confusion {
    type Output = Confusion;

    fn add(self, o: Confusion) -> Confusion {
        Confusion {
            tp: self.tp + o.tp,
            fp: self.fp + o.fp,
            fn_: self.fn_ + o.fn_,
            tn: self.tn + o.tn,
        }
    }
}

impl AddAssign for Confusion {
    fn add_assign(&mut self, o: Confusion) {
        *self = *self + o;
    }
}

/// Event-level counts: labelled activations found or missed, and detections that match
/// no activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventCounts {
    pub activations: u64,
    /// Activations matched by at least one detection.
    pub detected: u64,
    pub detections: u64,
    /// Detections that match no activation.
    pub false_alarms: u64,
}

impl EventCounts {
    pub fn missed(&self) -> u64 {
        self.activations - self.detected
    }

    /// Detected activations over all activations (`None` without activations).
    pub fn detection_rate(&self) -> Option<f64> {
        ratio(self.detected, self.activations)
    }

    /// Scores a count label: `expected` activations are known to lie somewhere in the
    /// capture, and the detections formed `clusters` separate groups. The best possible
    /// assignment is assumed: `min(clusters, expected)` activations count as detected,
    /// and clusters beyond `expected` as false alarms. Nothing checks *when* the
    /// clusters happened, which is the weakness of a count label.
    pub fn from_count(expected: u64, detections: u64, clusters: u64) -> EventCounts {
        EventCounts {
            activations: expected,
            detected: clusters.min(expected),
            detections,
            false_alarms: clusters.saturating_sub(expected),
        }
    }
}

impl Add for EventCounts {
    type Output = EventCounts;

    fn add(self, o: EventCounts) -> EventCounts {
        EventCounts {
            activations: self.activations + o.activations,
            detected: self.detected + o.detected,
            detections: self.detections + o.detections,
            false_alarms: self.false_alarms + o.false_alarms,
        }
    }
}

impl AddAssign for EventCounts {
    fn add_assign(&mut self, o: EventCounts) {
        *self = *self + o;
    }
}

/// The outcome of matching one device's detections to its activations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventMatch {
    pub counts: EventCounts,
    /// For each activation, in the order given: was it detected?
    pub detected: Vec<bool>,
    /// For each detection, in the order given: did it match an activation?
    pub matched: Vec<bool>,
}

/// Intervals sorted by start with the running maximum of their ends, so that "does
/// anything overlap `q`?" is a binary search: among the intervals starting before
/// `q.end`, the one ending last must end after `q.start`.
struct OverlapIndex {
    starts: Vec<Timestamp>,
    max_end: Vec<Timestamp>,
}

impl OverlapIndex {
    fn new(intervals: impl Iterator<Item = Interval>) -> OverlapIndex {
        let mut v: Vec<Interval> = intervals.collect();
        v.sort_unstable();
        let mut max_end = Vec::with_capacity(v.len());
        let mut m = Timestamp(i64::MIN);
        for i in &v {
            m = m.max(i.end);
            max_end.push(m);
        }
        OverlapIndex {
            starts: v.iter().map(|i| i.start).collect(),
            max_end,
        }
    }

    fn any_overlaps(&self, q: Interval) -> bool {
        let k = self.starts.partition_point(|&s| s < q.end);
        k > 0 && self.max_end[k - 1] > q.start
    }
}

/// Matches one device's detections to its activations (see the module documentation of
/// [`crate::eval`] for the rule). Runs in `O((A + D) log(A + D))`, so sweeping thousands
/// of thresholds over a week of windows stays fast.
pub fn match_events(
    activations: &[Interval],
    detections: &[Interval],
    rule: MatchRule,
) -> EventMatch {
    let widened: Vec<Interval> = activations.iter().map(|&a| rule.widen(a)).collect();
    let by_activation = OverlapIndex::new(widened.iter().copied());
    let by_detection = OverlapIndex::new(detections.iter().copied());
    let detected: Vec<bool> = widened
        .iter()
        .map(|&a| by_detection.any_overlaps(a))
        .collect();
    let matched: Vec<bool> = detections
        .iter()
        .map(|&d| by_activation.any_overlaps(d))
        .collect();
    let counts = EventCounts {
        activations: activations.len() as u64,
        detected: detected.iter().filter(|&&x| x).count() as u64,
        detections: detections.len() as u64,
        false_alarms: matched.iter().filter(|&&x| !x).count() as u64,
    };
    EventMatch {
        counts,
        detected,
        matched,
    }
}

/// Number of groups the detections form when those starting at most `gap_nanos` after
/// the end of the previous group join it. A voice command, the answer and a follow-up
/// listening window are separate bursts of one activation; grouping them is how a count
/// label ("5 commands in this capture") is compared with detections.
pub fn count_clusters(detections: &[Interval], gap_nanos: i64) -> u64 {
    let mut v = detections.to_vec();
    v.sort_unstable();
    let mut clusters = 0u64;
    let mut end: Option<Timestamp> = None;
    for d in v {
        match end {
            Some(e) if (d.start.0 as i128) - (e.0 as i128) <= gap_nanos as i128 => {
                end = Some(e.max(d.end));
            }
            _ => {
                clusters += 1;
                end = Some(d.end);
            }
        }
    }
    clusters
}

/// The slot grid of slot-level scoring: slots of `slot_nanos`, the first starting at
/// `origin` (the capture's first packet, the same origin as burst windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotGrid {
    pub origin: Timestamp,
    pub slot_nanos: i64,
}

impl SlotGrid {
    /// The index of the slot holding `t`.
    pub fn slot_of(&self, t: Timestamp) -> i64 {
        ((t.0 as i128 - self.origin.0 as i128).div_euclid(self.slot_nanos.max(1) as i128)) as i64
    }

    /// The first and last slot a half-open interval overlaps.
    fn slots_of(&self, i: Interval) -> (i64, i64) {
        (self.slot_of(i.start), self.slot_of(Timestamp(i.end.0 - 1)))
    }
}

/// Sorted, disjoint, inclusive slot ranges: the union of the ranges given, clipped to
/// `[lo, hi]`.
fn slot_set(grid: SlotGrid, intervals: &[Interval], lo: i64, hi: i64) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(i64, i64)> = intervals
        .iter()
        .map(|&i| grid.slots_of(i))
        .map(|(a, b)| (a.max(lo), b.min(hi)))
        .filter(|(a, b)| a <= b)
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

fn set_size(s: &[(i64, i64)]) -> u64 {
    s.iter().map(|(a, b)| (b - a + 1) as u64).sum()
}

fn intersection_size(x: &[(i64, i64)], y: &[(i64, i64)]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0u64);
    while i < x.len() && j < y.len() {
        let lo = x[i].0.max(y[j].0);
        let hi = x[i].1.min(y[j].1);
        if lo <= hi {
            n += (hi - lo + 1) as u64;
        }
        if x[i].1 < y[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    n
}

/// Slot-level confusion of one device.
///
/// `span` is the time the device was observed (its first to last frame); every slot of
/// the grid that overlaps it is scored once, except margin slots. A slot is
/// *positive* when it overlaps an activation, a *margin* slot when it overlaps only the
/// tolerance added around one (the activation widened by `rule`), and *predicted
/// positive* when it overlaps a detection. Margin slots are not scored either way: the
/// tolerance forgives a detection that starts a little early or ends a little late, but
/// never demands that the detector also cover the margin. So
/// `TP = |P ∩ D|`, `FN = |P \ D|`, `FP = |D \ (P ∪ M)|`, `TN = |rest \ D|`.
/// Memory and time depend on the number of intervals, not on the number of slots, so a
/// week of one-second slots costs nothing.
pub fn slot_confusion(
    grid: SlotGrid,
    span: Interval,
    activations: &[Interval],
    detections: &[Interval],
    rule: MatchRule,
) -> Confusion {
    let (lo, hi) = grid.slots_of(span);
    let widened: Vec<Interval> = activations.iter().map(|&a| rule.widen(a)).collect();
    let positive = slot_set(grid, activations, lo, hi);
    let with_margin = slot_set(grid, &widened, lo, hi);
    let predicted = slot_set(grid, detections, lo, hi);
    let total = (hi - lo + 1) as u64;
    let tp = intersection_size(&positive, &predicted);
    let fp = set_size(&predicted) - intersection_size(&with_margin, &predicted);
    Confusion {
        tp,
        fp,
        fn_: set_size(&positive) - tp,
        tn: total - set_size(&with_margin) - fp,
    }
}

/// Area under a ROC curve given as `(fpr, tpr)` points, by the trapezoid rule after
/// sorting and adding the corners `(0, 0)` and `(1, 1)` that every curve passes through
/// (threshold "never" and "always"). `None` without points.
pub fn roc_auc(points: &[(f64, f64)]) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let mut v: Vec<(f64, f64)> = Vec::with_capacity(points.len() + 2);
    v.push((0.0, 0.0));
    v.extend_from_slice(points);
    v.push((1.0, 1.0));
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Some(
        v.windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const S: i64 = Timestamp::NANOS_PER_SEC;

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(Timestamp(a * S), Timestamp(b * S))
    }

    const EXACT: MatchRule = MatchRule { tolerance_nanos: 0 };

    #[test]
    fn rates_by_hand() {
        // TP 3, FP 1, FN 2, TN 14:
        // TPR = 3/5 = 0.6; FPR = 1/15; precision = 3/4; F1 = 6/(6+1+2) = 2/3.
        let c = Confusion {
            tp: 3,
            fp: 1,
            fn_: 2,
            tn: 14,
        };
        assert_eq!(c.tpr(), Some(0.6));
        assert_eq!(c.fpr(), Some(1.0 / 15.0));
        assert_eq!(c.precision(), Some(0.75));
        assert_eq!(c.f1(), Some(2.0 / 3.0));
        // Nothing labelled, nothing predicted: only FPR exists (0 of 10).
        let idle = Confusion {
            tn: 10,
            ..Default::default()
        };
        assert_eq!(
            (idle.tpr(), idle.precision(), idle.f1(), idle.fpr()),
            (None, None, None, Some(0.0))
        );
        assert_eq!((c + idle).tn, 24);
    }

    #[test]
    fn events_by_hand() {
        // Activations [10,20) and [50,55); detections [12,14), [18,25), [30,31), [54,60).
        // Exact matching: A1 by D1 and D2, A2 by D4; D3 matches nothing.
        // => 2 activations, 2 detected, 4 detections, 1 false alarm.
        let acts = [iv(10, 20), iv(50, 55)];
        let dets = [iv(12, 14), iv(18, 25), iv(30, 31), iv(54, 60)];
        let m = match_events(&acts, &dets, EXACT);
        assert_eq!(
            m.counts,
            EventCounts {
                activations: 2,
                detected: 2,
                detections: 4,
                false_alarms: 1
            }
        );
        assert_eq!(m.matched, vec![true, true, false, true]);
        // Detections [20,22) and [45,50) touch the activations only at open ends: both are
        // false alarms and both activations are missed. A tolerance of 1 s fixes both.
        let dets = [iv(20, 22), iv(45, 50)];
        let m = match_events(&acts, &dets, EXACT);
        assert_eq!((m.counts.detected, m.counts.false_alarms), (0, 2));
        let m = match_events(&acts, &dets, MatchRule { tolerance_nanos: S });
        assert_eq!((m.counts.detected, m.counts.false_alarms), (2, 0));
        assert_eq!(m.counts.missed(), 0);
    }

    #[test]
    fn slots_by_hand() {
        // Grid of 10 s slots from t=0; device seen from 3 s to 97 s: slots 0..=9 (10 slots).
        // Activation [20,26) -> slot 2. Detections [25,41) -> slots 2,3,4; [70,71) -> slot 7.
        // Positive {2}; predicted {2,3,4,7}: TP 1, FP 3, FN 0, TN 10 - 4 = 6.
        let grid = SlotGrid {
            origin: Timestamp(0),
            slot_nanos: 10 * S,
        };
        let span = iv(3, 97);
        let c = slot_confusion(grid, span, &[iv(20, 26)], &[iv(25, 41), iv(70, 71)], EXACT);
        assert_eq!(
            c,
            Confusion {
                tp: 1,
                fp: 3,
                fn_: 0,
                tn: 6
            }
        );
        // With 5 s tolerance the activation widens to [15,31): slots 1 and 3 become margin
        // slots, not scored. TP {2} = 1, FN 0, FP {4,7} = 2 (slot 3 is margin),
        // TN = 10 - 3 (positive and margin) - 2 = 5.
        let c = slot_confusion(
            grid,
            span,
            &[iv(20, 26)],
            &[iv(25, 41), iv(70, 71)],
            MatchRule {
                tolerance_nanos: 5 * S,
            },
        );
        assert_eq!(
            c,
            Confusion {
                tp: 1,
                fp: 2,
                fn_: 0,
                tn: 5
            }
        );
        // A detection [20,26) with 2 s tolerance and 1 s slots: activation slots 20..=25
        // are all found (TP 6); margin slots 18, 19, 26, 27 are not scored; the other 84 of
        // the 94 slots (3..=96) are TN.
        let one = SlotGrid {
            origin: Timestamp(0),
            slot_nanos: S,
        };
        let c = slot_confusion(
            one,
            span,
            &[iv(20, 26)],
            &[iv(20, 26)],
            MatchRule {
                tolerance_nanos: 2 * S,
            },
        );
        assert_eq!(
            c,
            Confusion {
                tp: 6,
                fp: 0,
                fn_: 0,
                tn: 84
            }
        );
        // An interval ending exactly on a slot boundary does not reach the next slot:
        // [20,30) is slot 2 only. Intervals outside the span are clipped away.
        let c = slot_confusion(grid, span, &[iv(20, 30)], &[iv(200, 300)], EXACT);
        assert_eq!(
            c,
            Confusion {
                tp: 0,
                fp: 0,
                fn_: 1,
                tn: 9
            }
        );
    }

    #[test]
    fn clusters_and_counts() {
        // Bursts at 18-21, 22-24 (answer), 54-57, 58-60, 89-93: with a 15 s gap, 3 groups.
        let d = [iv(18, 21), iv(22, 24), iv(54, 57), iv(58, 60), iv(89, 93)];
        assert_eq!(count_clusters(&d, 15 * S), 3);
        assert_eq!(count_clusters(&d, 0), 5);
        assert_eq!(count_clusters(&[], S), 0);
        // 5 expected, 3 groups of 5 detections: 3 detected, 2 missed, no false alarm.
        let e = EventCounts::from_count(5, 5, 3);
        assert_eq!((e.detected, e.missed(), e.false_alarms), (3, 2, 0));
        // 5 expected, 7 groups: all 5 detected, 2 false alarms.
        let e = EventCounts::from_count(5, 9, 7);
        assert_eq!((e.detected, e.missed(), e.false_alarms), (5, 0, 2));
    }

    #[test]
    fn auc_by_hand() {
        // The diagonal has area 0.5; the perfect point (0, 1) gives 1.
        assert_eq!(roc_auc(&[(0.5, 0.5)]), Some(0.5));
        assert_eq!(roc_auc(&[(0.0, 1.0)]), Some(1.0));
        // (0.2, 0.6): 0.2*0.6/2 + 0.8*(0.6+1)/2 = 0.06 + 0.64 = 0.70.
        assert!((roc_auc(&[(0.2, 0.6)]).unwrap() - 0.70).abs() < 1e-12);
        assert_eq!(roc_auc(&[]), None);
    }
}
