//! One device's upload bytes per window, built once and replayed through the burst
//! detector for every parameter set of a sweep.
//!
//! Burst detection only ever looks at the sum of upload bytes per window, so feeding
//! [`BurstDetector`] one aggregated "packet" per non-empty window gives exactly the
//! bursts that feeding it every packet would. A sweep of 56 parameter sets then costs
//! 56 passes over the non-empty windows instead of 56 passes over the capture.

use crate::burst::{Burst, BurstConfig, BurstDetector};
use crate::inventory::DeviceKey;
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// Upload bytes of one device per window of `window_nanos`, aligned to `origin`.
///
/// Only non-empty windows are stored, so a week of one-second windows of a camera that
/// uploads for a few minutes a day stays small.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadSeries {
    origin: Timestamp,
    window_nanos: i64,
    windows: BTreeMap<i64, u64>,
}

impl UploadSeries {
    pub fn new(origin: Timestamp, window_nanos: i64) -> UploadSeries {
        UploadSeries {
            origin,
            window_nanos: window_nanos.max(1),
            windows: BTreeMap::new(),
        }
    }

    pub fn window_nanos(&self) -> i64 {
        self.window_nanos
    }

    fn window_of(&self, ts: Timestamp) -> i64 {
        (ts.0 as i128 - self.origin.0 as i128).div_euclid(self.window_nanos as i128) as i64
    }

    fn window_start(&self, w: i64) -> Timestamp {
        let n = self.origin.0 as i128 + w as i128 * self.window_nanos as i128;
        Timestamp(n.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    /// Adds an upload of `bytes` at `ts`. Order does not matter: a frame that arrives
    /// out of time order still lands in its own window.
    pub fn add(&mut self, ts: Timestamp, bytes: u64) {
        *self.windows.entry(self.window_of(ts)).or_insert(0) += bytes;
    }

    /// Number of non-empty windows.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The bursts [`BurstDetector`] finds for `device` with `config`. The series'
    /// window replaces the config's (build one series per window length you sweep);
    /// everything else, a learned baseline included, works as on packets.
    pub fn bursts(&self, device: DeviceKey, config: BurstConfig) -> Vec<Burst> {
        let config = BurstConfig {
            window_nanos: self.window_nanos,
            ..config
        };
        let mut detector = BurstDetector::new(config, self.origin);
        let mut out = Vec::new();
        for (&w, &bytes) in &self.windows {
            out.extend(detector.observe(device, self.window_start(w), bytes));
        }
        out.extend(detector.finish());
        out
    }

    /// The upload rate over time, for timelines: `(step_nanos, points)` where each point
    /// is the start of a step and the highest rate (bit/s) of a window in it. Steps
    /// without upload are left out (their rate is 0). The step is the window, or a
    /// multiple of it chosen so that there are at most `max_points` points; taking the
    /// maximum keeps every burst visible however far a week-long series is shrunk.
    pub fn rate_points(&self, max_points: usize) -> (i64, Vec<(Timestamp, f64)>) {
        let max_points = max_points.max(1);
        let mut k: i64 = 1;
        loop {
            let mut points: Vec<(i64, u64)> = Vec::new();
            for (&w, &bytes) in &self.windows {
                let step = w.div_euclid(k);
                match points.last_mut() {
                    Some(last) if last.0 == step => last.1 = last.1.max(bytes),
                    _ => points.push((step, bytes)),
                }
                if points.len() > max_points {
                    break;
                }
            }
            if points.len() <= max_points || k > i64::MAX / 4 {
                let secs = self.window_nanos as f64 / 1e9;
                let out = points
                    .into_iter()
                    .map(|(s, b)| {
                        (
                            self.window_start(s.saturating_mul(k)),
                            b as f64 * 8.0 / secs,
                        )
                    })
                    .collect();
                return (self.window_nanos.saturating_mul(k), out);
            }
            k *= 2;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::net::Mac;

    const S: i64 = Timestamp::NANOS_PER_SEC;

    fn dev() -> DeviceKey {
        DeviceKey::Mac(Mac([2, 0, 0, 0, 0, 1]))
    }

    /// The series gives the same bursts as the detector fed packet by packet.
    #[test]
    fn same_bursts_as_packets() {
        let origin = Timestamp(123_456_789);
        // Packets of 300 bytes every 50 ms in [2 s, 6.5 s) and [10 s, 11.2 s) after origin:
        // 20 per second = 6000 B/s = 48 kbit/s.
        let mut packets = Vec::new();
        for ms in (2000..6500).chain(10_000..11_200).step_by(50) {
            packets.push(Timestamp(origin.0 + ms * S / 1000));
        }
        let mut series = UploadSeries::new(origin, S);
        for &t in &packets {
            series.add(t, 300);
        }
        for n in 1..=6 {
            for thr in [5_000.0, 23_000.0, 47_000.0, 100_000.0] {
                let config = BurstConfig {
                    window_nanos: S,
                    threshold_bps: thr,
                    min_windows: n,
                    baseline: None,
                };
                let mut d = BurstDetector::new(config, origin);
                let mut direct = Vec::new();
                for &t in &packets {
                    direct.extend(d.observe(dev(), t, 300));
                }
                direct.extend(d.finish());
                assert_eq!(series.bursts(dev(), config), direct, "n={n} thr={thr}");
            }
        }
        // At 23 kbit/s and n=2: [2,7) (the window [6,7) holds 10 packets, 24 kbit/s) and
        // [10,11) alone is one window (the second holds 4 packets): one burst.
        let b = series.bursts(dev(), BurstConfig::product_default());
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].start, Timestamp(origin.0 + 2 * S));
        assert_eq!(b[0].end, Timestamp(origin.0 + 7 * S));
    }

    #[test]
    fn rate_points_shrink_by_maximum() {
        let mut s = UploadSeries::new(Timestamp(0), S);
        for (w, bytes) in [(0, 100), (1, 300), (2, 200), (7, 50)] {
            s.add(Timestamp(w * S), bytes);
        }
        let (step, p) = s.rate_points(10);
        assert_eq!(step, S);
        assert_eq!(p.len(), 4);
        assert_eq!(p[1], (Timestamp(S), 2400.0));
        // At most 2 points: steps of 4 windows, {0,1,2} -> max 300 B, {7} -> 50 B.
        let (step, p) = s.rate_points(2);
        assert_eq!(step, 4 * S);
        assert_eq!(p, vec![(Timestamp(0), 2400.0), (Timestamp(4 * S), 400.0)]);
    }
}
