//! Active probing sessions (LeakyPick paper, sections 3, 4.1.2 and 4.3): which devices
//! react to a played probe?
//!
//! A session is a list of [`Attempt`]s: for one probe, an idle window (nothing played)
//! followed by a probe window (the probe played, in the paper every 10 s for 60 s). For
//! every device that sent anything, an attempt gives a [`DeviceAttempt`]: the
//! statistical comparison of the device's frames in the two windows
//! ([`crate::probe::compare`]) and the upload bursts ([`crate::burst`]) in each window.
//! A device reacted in an attempt according to the [`Decide`] rule. A positive attempt
//! is re-tested (the paper repeats the probe to rule out background traffic): the
//! verdict for a device and a probe is "reacted" only when every attempt of that probe
//! was positive for it ([`verdicts`]).
//!
//! The collector is fed packets in time order (live or from a file) and needs the
//! attempts' windows up front; a live prober evaluates each attempt after it ends.

use crate::burst::{Burst, BurstConfig, BurstDetector};
use crate::inventory::{is_upload, DestinationScope, DeviceKey};
use crate::probe::{compare, Comparison, ProbeConfig, WindowSample};
use crate::time::Timestamp;
use crate::Packet;
use std::collections::BTreeMap;

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t < self.end
    }

    pub fn secs(&self) -> f64 {
        self.end.secs_since(self.start)
    }
}

/// One idle window and one probe window for one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The probe's stable name ("alexa", "bark", a file stem).
    pub probe: String,
    /// 1 for the first test, 2.. for re-tests.
    pub attempt: u32,
    pub idle: Window,
    pub probe_window: Window,
}

/// How the two detectors decide that a device reacted in one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decide {
    /// An upload burst in the probe window and none in the idle window.
    #[default]
    Burst,
    /// The statistical test's deciding p-value is below its threshold.
    Stat,
    /// Either of the two.
    Either,
    /// Both of the two.
    Both,
}

impl Decide {
    pub const ALL: [Decide; 4] = [Decide::Burst, Decide::Stat, Decide::Either, Decide::Both];

    pub fn name(self) -> &'static str {
        match self {
            Decide::Burst => "burst",
            Decide::Stat => "stat",
            Decide::Either => "either",
            Decide::Both => "both",
        }
    }

    pub fn from_name(s: &str) -> Option<Decide> {
        Decide::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// Parameters of a session's evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionConfig {
    pub probe: ProbeConfig,
    pub burst: BurstConfig,
    pub scope: DestinationScope,
    pub decide: Decide,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            probe: ProbeConfig::paper(),
            burst: BurstConfig::product_default(),
            scope: DestinationScope::Cloud,
            decide: Decide::Burst,
        }
    }
}

/// What one device did in one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAttempt {
    pub device: DeviceKey,
    /// Index into the attempts the collector was given.
    pub index: usize,
    pub probe: String,
    pub attempt: u32,
    pub comparison: Comparison,
    pub idle_bursts: Vec<Burst>,
    pub probe_bursts: Vec<Burst>,
    pub by_burst: bool,
    /// `None` when the test gave no p-value (too few frames).
    pub by_stat: Option<bool>,
    pub reacted: bool,
}

#[derive(Debug, Default)]
struct PerAttempt {
    idle: WindowSample,
    probe: WindowSample,
    idle_bursts: Vec<Burst>,
    probe_bursts: Vec<Burst>,
}

/// Collects, per device and attempt, the frames and bursts of the idle and probe windows.
#[derive(Debug)]
pub struct SessionCollector {
    config: SessionConfig,
    attempts: Vec<Attempt>,
    devices: BTreeMap<DeviceKey, Vec<PerAttempt>>,
    /// One burst detector per attempt and window kind (0 idle, 1 probe), aligned to the
    /// window's start.
    detectors: Vec<[BurstDetector; 2]>,
}

impl SessionCollector {
    pub fn new(config: SessionConfig, attempts: Vec<Attempt>) -> SessionCollector {
        let detectors = attempts
            .iter()
            .map(|a| {
                [
                    BurstDetector::new(config.burst, a.idle.start),
                    BurstDetector::new(config.burst, a.probe_window.start),
                ]
            })
            .collect();
        SessionCollector {
            config,
            attempts,
            devices: BTreeMap::new(),
            detectors,
        }
    }

    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Adds one packet (in time order).
    pub fn observe(&mut self, p: &Packet) {
        let Some(device) = DeviceKey::sender(&p.meta) else {
            return;
        };
        let upload = is_upload(&p.meta, self.config.scope);
        let n = self.attempts.len();
        for (i, a) in self.attempts.iter().enumerate() {
            let kind = if a.idle.contains(p.ts) {
                0
            } else if a.probe_window.contains(p.ts) {
                1
            } else {
                continue;
            };
            let per = self
                .devices
                .entry(device)
                .or_insert_with(|| (0..n).map(|_| PerAttempt::default()).collect());
            let slot = &mut per[i];
            if kind == 0 {
                slot.idle.push(p.ts, p.wire_len);
            } else {
                slot.probe.push(p.ts, p.wire_len);
            }
            if upload {
                if let Some(b) =
                    self.detectors[i][kind].observe(device, p.ts, u64::from(p.wire_len))
                {
                    push_burst(slot, kind, b);
                }
            }
        }
    }

    /// Closes every window and evaluates every device in every attempt.
    pub fn finish(mut self) -> Vec<DeviceAttempt> {
        for (i, a) in self.attempts.iter().enumerate() {
            let [idle, probe] = &mut self.detectors[i];
            for (kind, d, end) in [(0, idle, a.idle.end), (1, probe, a.probe_window.end)] {
                for b in d.advance(end) {
                    if let Some(per) = self.devices.get_mut(&b.device) {
                        push_burst(&mut per[i], kind, b);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (device, per) in self.devices {
            for (i, slot) in per.into_iter().enumerate() {
                let a = &self.attempts[i];
                let comparison = compare(&slot.idle, &slot.probe, self.config.probe);
                let by_burst = !slot.probe_bursts.is_empty() && slot.idle_bursts.is_empty();
                let by_stat = comparison.reacted;
                let stat = by_stat.unwrap_or(false);
                let reacted = match self.config.decide {
                    Decide::Burst => by_burst,
                    Decide::Stat => stat,
                    Decide::Either => by_burst || stat,
                    Decide::Both => by_burst && stat,
                };
                out.push(DeviceAttempt {
                    device,
                    index: i,
                    probe: a.probe.clone(),
                    attempt: a.attempt,
                    comparison,
                    idle_bursts: slot.idle_bursts,
                    probe_bursts: slot.probe_bursts,
                    by_burst,
                    by_stat,
                    reacted,
                });
            }
        }
        out
    }
}

/// A burst belongs to the window it started in (a detector's window may close late).
fn push_burst(slot: &mut PerAttempt, kind: usize, b: Burst) {
    if kind == 0 {
        slot.idle_bursts.push(b);
    } else {
        slot.probe_bursts.push(b);
    }
}

/// The verdict for one device and one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeVerdict {
    pub device: DeviceKey,
    pub probe: String,
    /// Positive in every attempt of this probe.
    pub reacted: bool,
    /// Attempts of this probe, and how many were positive for the device.
    pub attempts: u32,
    pub positive: u32,
}

/// Folds attempts into one verdict per device and probe: reacted when every attempt
/// of the probe was positive (a single positive attempt that was never re-tested also
/// counts, so that a session without re-tests still gives verdicts).
pub fn verdicts(results: &[DeviceAttempt]) -> Vec<ProbeVerdict> {
    let mut map: BTreeMap<(DeviceKey, String), (u32, u32)> = BTreeMap::new();
    for r in results {
        let e = map.entry((r.device, r.probe.clone())).or_default();
        e.0 += 1;
        if r.reacted {
            e.1 += 1;
        }
    }
    map.into_iter()
        .map(|((device, probe), (attempts, positive))| ProbeVerdict {
            device,
            probe,
            reacted: attempts > 0 && positive == attempts,
            attempts,
            positive,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::decode::PacketMeta;
    use crate::net::Mac;
    use std::net::{IpAddr, Ipv4Addr};

    const SEC: i64 = Timestamp::NANOS_PER_SEC;

    fn upload(mac: u8, t_ms: i64, len: u32) -> Packet {
        let meta = PacketMeta {
            src_mac: Some(Mac([2, 0, 0, 0, 0, mac])),
            dst_mac: Some(Mac([2, 0, 0, 0, 0, 0xfe])),
            src_ip: Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, mac))),
            dst_ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10))),
            ..PacketMeta::default()
        };
        Packet {
            ts: Timestamp(t_ms * SEC / 1000),
            wire_len: len,
            meta,
        }
    }

    fn window(a: i64, b: i64) -> Window {
        Window {
            start: Timestamp(a * SEC),
            end: Timestamp(b * SEC),
        }
    }

    #[test]
    fn a_device_streaming_only_in_the_probe_window_reacted() {
        let attempts = vec![
            Attempt {
                probe: "alexa".into(),
                attempt: 1,
                idle: window(0, 10),
                probe_window: window(10, 20),
            },
            Attempt {
                probe: "major".into(),
                attempt: 1,
                idle: window(20, 30),
                probe_window: window(30, 40),
            },
        ];
        let mut c = SessionCollector::new(SessionConfig::default(), attempts);
        // Device 1: a heartbeat every 2 s throughout, and 4 s of audio at 12-16 s.
        // Device 2: heartbeats only.
        let mut packets = Vec::new();
        for s in 0..40 {
            if s % 2 == 0 {
                packets.push(upload(1, s * 1000, 120));
                packets.push(upload(2, s * 1000 + 500, 120));
            }
        }
        for ms in (12_000..16_000).step_by(40) {
            packets.push(upload(1, ms, 491));
        }
        packets.sort_by_key(|p| p.ts);
        for p in &packets {
            c.observe(p);
        }
        let r = c.finish();
        let get = |mac: u8, probe: &str| {
            r.iter()
                .find(|d| d.device == DeviceKey::Mac(Mac([2, 0, 0, 0, 0, mac])) && d.probe == probe)
                .unwrap()
        };
        assert!(get(1, "alexa").reacted);
        assert_eq!(get(1, "alexa").probe_bursts.len(), 1);
        assert_eq!(get(1, "alexa").comparison.reacted, Some(true));
        assert!(!get(1, "major").reacted);
        assert!(!get(2, "alexa").reacted);
        assert!(!get(2, "major").reacted);
        let v = verdicts(&r);
        assert_eq!(v.iter().filter(|v| v.reacted).count(), 1);
    }

    #[test]
    fn verdict_needs_every_attempt_positive() {
        let mk = |attempt, reacted| DeviceAttempt {
            device: DeviceKey::Mac(Mac([2, 0, 0, 0, 0, 1])),
            index: 0,
            probe: "alexa".into(),
            attempt,
            comparison: compare(
                &WindowSample::default(),
                &WindowSample::default(),
                ProbeConfig::paper(),
            ),
            idle_bursts: vec![],
            probe_bursts: vec![],
            by_burst: reacted,
            by_stat: None,
            reacted,
        };
        assert!(verdicts(&[mk(1, true)])[0].reacted);
        assert!(verdicts(&[mk(1, true), mk(2, true)])[0].reacted);
        let v = verdicts(&[mk(1, true), mk(2, false)]);
        assert!(!v[0].reacted);
        assert_eq!((v[0].attempts, v[0].positive), (2, 1));
        assert!(!verdicts(&[mk(1, false)])[0].reacted);
    }
}
