//! Evaluating detectors against labelled activations: matching, metrics, sweeps.
//!
//! A labelled [`Activation`] says "this device was listening and uploading from `start`
//! to `end`"; a [`Detection`] is what a detector reported. Everything here is pure: the
//! application layer reads captures and label files and hands the results in.
//!
//! # The matching rule
//!
//! Labels are never exact (a light sensor lags, an event log has minute resolution, an
//! upload outlasts the utterance), so each activation is widened by a tolerance on both
//! sides before anything is compared ([`MatchRule`]). Intervals are half-open,
//! `[start, end)`; an interval with `end == start` is an instant and is treated as one
//! nanosecond long, so it still overlaps the interval that contains it.
//!
//! - A detection **matches** an activation of the same device when the detection's
//!   interval overlaps the widened activation.
//! - **Event level** ([`match_events`]): an activation is *detected* when at least one
//!   detection matches it, otherwise *missed*; a detection that matches no activation
//!   is a *false alarm*. One long detection can detect several activations, and several
//!   detections can detect the same activation, so the counts are not a confusion matrix:
//!   there is no "true negative" event.
//! - **Slot level** ([`slot_confusion`]): to get true negatives, and so a false-positive
//!   rate, each device's observed span is cut into slots of fixed length aligned to the
//!   capture's first packet. A slot is *positive* when it overlaps an activation and
//!   *predicted positive* when it overlaps a detection; a slot that overlaps only the
//!   tolerance margin around an activation is not scored. That gives TP, FP, FN and TN
//!   and every rate of [`Confusion`]. The tolerance thus only ever forgives: a
//!   detection in the margin is no false alarm, but the margin need not be detected.
//! - **Window pairs** ([`pairs`]): the paper's evaluation of statistical probing, which
//!   labels pairs of consecutive windows instead of slots.
//!
//! Rates are `Option<f64>`: `None` when their denominator is zero, never NaN.

pub mod metrics;
pub mod pairs;
pub mod series;

pub use metrics::{
    count_clusters, match_events, roc_auc, slot_confusion, Confusion, EventCounts, EventMatch,
    SlotGrid,
};
pub use pairs::{
    threshold_grid, window_pairs, DeviceFrames, PairGrid, PairLabel, PairSet, WindowPair,
};
pub use series::UploadSeries;

use crate::inventory::DeviceKey;
use crate::time::Timestamp;

/// A half-open time interval `[start, end)`.
///
/// Constructed with [`Interval::new`], which turns an instant (`end <= start`) into a
/// one-nanosecond interval so that overlap tests stay simple and never lose an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Interval {
    /// The interval `[start, end)`, at least one nanosecond long.
    pub fn new(start: Timestamp, end: Timestamp) -> Interval {
        let min_end = Timestamp(start.0.saturating_add(1));
        Interval {
            start,
            end: end.max(min_end),
        }
    }

    /// True when the two half-open intervals share at least one instant.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One labelled activation: the device was recording and (presumably) uploading.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    pub device: DeviceKey,
    pub start: Timestamp,
    pub end: Timestamp,
    /// What triggered it, free text from the labels (`voice`, `motion`, ...).
    pub kind: String,
}

impl Activation {
    pub fn interval(&self) -> Interval {
        Interval::new(self.start, self.end)
    }
}

/// One thing a detector reported about a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub device: DeviceKey,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Which detector and parameters produced it, for people (`burst 1 s 23 kbit/s n=2`).
    pub label: String,
    /// The detector's score where it has one (the p-value of a window pair); bursts
    /// have none.
    pub score: Option<f64>,
}

impl Detection {
    pub fn interval(&self) -> Interval {
        Interval::new(self.start, self.end)
    }
}

/// How detections are matched to labelled activations: the tolerance by which each
/// activation is widened on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchRule {
    /// Nanoseconds added before the start and after the end of every activation.
    pub tolerance_nanos: i64,
}

impl MatchRule {
    /// A rule with `secs` seconds of tolerance on each side.
    pub fn with_tolerance_secs(secs: f64) -> Option<MatchRule> {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        let nanos = (secs * 1e9).round();
        (nanos <= i64::MAX as f64).then_some(MatchRule {
            tolerance_nanos: nanos as i64,
        })
    }

    pub fn tolerance_secs(&self) -> f64 {
        self.tolerance_nanos as f64 / 1e9
    }

    /// The activation interval widened by the tolerance on both sides.
    pub fn widen(&self, activation: Interval) -> Interval {
        Interval::new(
            Timestamp(activation.start.0.saturating_sub(self.tolerance_nanos)),
            Timestamp(activation.end.0.saturating_add(self.tolerance_nanos)),
        )
    }

    /// True when `detection` matches `activation` (same device, overlapping after
    /// widening the activation).
    pub fn matches(&self, activation: &Activation, detection: &Detection) -> bool {
        activation.device == detection.device
            && self
                .widen(activation.interval())
                .overlaps(&detection.interval())
    }
}

impl Default for MatchRule {
    /// Two seconds: a one-second burst window may start up to a window before the sound,
    /// and upload ends a moment after the device stops listening.
    fn default() -> Self {
        MatchRule {
            tolerance_nanos: 2 * Timestamp::NANOS_PER_SEC,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::net::Mac;

    const S: i64 = Timestamp::NANOS_PER_SEC;

    fn t(secs: i64) -> Timestamp {
        Timestamp(secs * S)
    }

    fn dev(n: u8) -> DeviceKey {
        DeviceKey::Mac(Mac([2, 0, 0, 0, 0, n]))
    }

    #[test]
    fn matching_widens_the_activation_only() {
        let a = Activation {
            device: dev(1),
            start: t(20),
            end: t(26),
            kind: "voice".into(),
        };
        let d = |s, e, n| Detection {
            device: dev(n),
            start: t(s),
            end: t(e),
            label: String::new(),
            score: None,
        };
        let rule = MatchRule::with_tolerance_secs(2.0).unwrap();
        // [27, 30) overlaps [18, 28).
        assert!(rule.matches(&a, &d(27, 30, 1)));
        // [28, 30) touches [18, 28) only at its open end: no match.
        assert!(!rule.matches(&a, &d(28, 30, 1)));
        // [16, 18) ends where [18, 28) starts: no match; [16, 19) does.
        assert!(!rule.matches(&a, &d(16, 18, 1)));
        assert!(rule.matches(&a, &d(16, 19, 1)));
        // Another device never matches.
        assert!(!rule.matches(&a, &d(20, 26, 2)));
        // Without tolerance, [26, 27) is just after [20, 26).
        let exact = MatchRule { tolerance_nanos: 0 };
        assert!(!exact.matches(&a, &d(26, 27, 1)));
        assert!(exact.matches(&a, &d(25, 27, 1)));
    }

    #[test]
    fn instants_are_one_nanosecond_long() {
        let i = Interval::new(t(5), t(5));
        assert_eq!(i.end, Timestamp(5 * S + 1));
        assert!(i.overlaps(&Interval::new(t(4), t(6))));
        assert!(!i.overlaps(&Interval::new(t(6), t(7))));
        assert!(MatchRule::with_tolerance_secs(-1.0).is_none());
        assert!(MatchRule::with_tolerance_secs(f64::NAN).is_none());
    }
}
