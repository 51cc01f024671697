//! A deterministic simulator of smart-home traffic with ground-truth labels.
//!
//! # Why
//!
//! Real captures with labelled activations are few and short (the longest labelled Echo
//! capture here is 3 minutes). The detectors need hours and days of traffic with known
//! truth to be evaluated and benchmarked, and tests need captures whose every activation
//! is known. The simulator makes them from device models measured on the real captures
//! ([`model`]; the measurements are in `docs/simulator.md`).
//!
//! # Design
//!
//! - **Pure and reproducible.** No I/O, no clock, no thread-local randomness. All
//!   randomness comes from the xoshiro256** streams of `rng.rs`, derived from the seed, the
//!   device and the process within the device, so the same [`SimConfig`] always gives
//!   the same events, bit for bit, and adding a device leaves the others unchanged.
//! - **Devices are sets of processes.** A device runs a few independent processes
//!   (heartbeats of several periods, DHCP renewals, ARP, NTP, activations). Each
//!   process schedules *episodes*: a heartbeat exchange, a voice interaction, a clip
//!   upload. An episode is expanded into frames only when its start time is reached.
//! - **Streaming.** Each device keeps its expanded but not yet emitted frames in a small
//!   heap; [`Simulation`] merges the devices with a k-way merge on (time, device). Memory
//!   is bounded by the number of devices times the largest episode (a clip upload, about
//!   a thousand frames), never by the length of the simulation: a gigabyte capture is
//!   generated in a few megabytes.
//! - **Frames are rendered late.** A pending frame is a small descriptor; its bytes
//!   (Ethernet, IPv4, TCP or UDP headers with valid checksums, and sequence numbers that
//!   follow on within each connection) are written when it is emitted. Only the
//!   beginning of a frame is produced: the rest, up to its wire length, is zeros.
//! - **Labels come with the traffic.** An activation's label is emitted just before the
//!   first frame the activation caused, so labels come out sorted by start time without
//!   being collected.
//!
//! # Ground truth
//!
//! A label runs from the first frame an activation caused (the wake word's upload for a
//! voice assistant; the camera's wake-up on the LAN for a motion event) to the last
//! frame carrying data that the device uploaded because of it (the audio, the events
//! after the answer, a follow-up upload, the last frame of a clip). Idle bursts are
//! never labelled, even the large ones a burst detector may flag.

mod device;
mod frame;
pub mod model;
mod rng;
#[cfg(test)]
mod tests;

use crate::net::Mac;
use crate::time::Timestamp;
use device::DeviceGen;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

/// The most devices one simulation may hold: each gets one address in 192.168.1.10-249.
pub const MAX_DEVICES: usize = 240;

/// The kinds of simulated devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceKind {
    /// Amazon Echo (Alexa), 491-byte audio frames: [`model::ECHO`].
    Echo,
    /// Amazon Echo Dot, 1116-byte audio frames: [`model::ECHO_DOT`].
    EchoDot,
    /// Blink-like battery camera uploading motion clips: [`model::CAMERA`].
    Camera,
    /// Blink-like security hub, idle only: [`model::HUB`].
    Hub,
    /// Smart plug without microphone, idle only: [`model::PLUG`].
    Plug,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 5] = [
        DeviceKind::Echo,
        DeviceKind::EchoDot,
        DeviceKind::Camera,
        DeviceKind::Hub,
        DeviceKind::Plug,
    ];

    /// The name used in device specs, summaries and host names.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Echo => model::ECHO.name,
            DeviceKind::EchoDot => model::ECHO_DOT.name,
            DeviceKind::Camera => model::CAMERA.name,
            DeviceKind::Hub => model::HUB.name,
            DeviceKind::Plug => model::PLUG.name,
        }
    }

    /// The kind with this name, if any.
    pub fn from_name(name: &str) -> Option<DeviceKind> {
        DeviceKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What an activation of this device is, or `None` for devices that are never
    /// activated (no microphone or camera to trigger them).
    pub fn activation_kind(self) -> Option<ActivationKind> {
        match self {
            DeviceKind::Echo | DeviceKind::EchoDot => Some(ActivationKind::Voice),
            DeviceKind::Camera => Some(ActivationKind::Motion),
            DeviceKind::Hub | DeviceKind::Plug => None,
        }
    }

    /// Activations per hour when a spec gives no schedule: a busy but plausible home.
    pub fn default_rate_per_hour(self) -> f64 {
        match self {
            DeviceKind::Echo | DeviceKind::EchoDot => 4.0,
            DeviceKind::Camera => 2.0,
            DeviceKind::Hub | DeviceKind::Plug => 0.0,
        }
    }

    /// The vendor prefix and the tag octet of this kind's MAC addresses.
    fn mac_prefix(self) -> ([u8; 3], u8) {
        match self {
            DeviceKind::Echo => (model::ECHO.oui, model::ECHO.mac_tag),
            DeviceKind::EchoDot => (model::ECHO_DOT.oui, model::ECHO_DOT.mac_tag),
            DeviceKind::Camera => (model::CAMERA.oui, 0),
            DeviceKind::Hub => (model::HUB.oui, 0),
            DeviceKind::Plug => (model::PLUG.oui, 0),
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When a device is activated.
///
/// Under every schedule, an activation that would not be over before the end of the
/// simulation is left out, so that every label is complete.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// The kind's [`DeviceKind::default_rate_per_hour`].
    Default,
    /// About this many activations per hour, at random (Poisson) times; 0 means never.
    /// Each gap from the end of one activation to the start of the next is the minimum
    /// gap plus an exponential variable with mean `3600 / rate - min_gap` seconds, so the
    /// realised rate is a few per cent lower than asked: the activations' own length
    /// (5-25 s) adds to each gap.
    PerHour(f64),
    /// At these times, nanoseconds after the start of the simulation. A time that falls
    /// while the device is still busy with the previous activation is moved to 1 s after
    /// it ends.
    At(Vec<i64>),
}

/// `count` devices of one kind sharing a schedule (each device draws its own times).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSpec {
    pub kind: DeviceKind,
    pub count: u32,
    pub schedule: Schedule,
}

/// Everything a simulation depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Time of the start of the simulation (no frame is earlier).
    pub start: Timestamp,
    /// Length in nanoseconds (no frame is at or after `start + duration_ns`).
    pub duration_ns: i64,
    pub devices: Vec<DeviceSpec>,
    /// Least time from the end of one activation of a device to the start of its next,
    /// nanoseconds, for rate schedules.
    pub min_gap_ns: i64,
}

impl SimConfig {
    /// 2026-01-01T00:00:00Z: a fixed default start, so that nothing depends on the clock.
    pub const DEFAULT_START: Timestamp = Timestamp(1_767_225_600 * Timestamp::NANOS_PER_SEC);
    /// 30 s: the spacing of the commands in the real Echo captures.
    pub const DEFAULT_MIN_GAP_NS: i64 = 30 * Timestamp::NANOS_PER_SEC;
}

/// What triggered an activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationKind {
    /// A voice assistant heard its wake word and streamed what followed.
    Voice,
    /// A camera saw motion and uploaded a clip (video with sound).
    Motion,
}

impl ActivationKind {
    /// The word used in labels files.
    pub fn name(self) -> &'static str {
        match self {
            ActivationKind::Voice => "voice",
            ActivationKind::Motion => "motion",
        }
    }
}

/// One labelled activation: ground truth for the detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activation {
    pub mac: Mac,
    pub start: Timestamp,
    pub end: Timestamp,
    pub kind: ActivationKind,
}

/// One simulated device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDevice {
    pub kind: DeviceKind,
    pub mac: Mac,
    pub ip: [u8; 4],
}

/// One simulated frame. `prefix` is its beginning (headers, and the body of DHCP and
/// NTP messages); the rest of the frame, up to `wire_len` bytes, is zeros.
#[derive(Debug, Clone, Copy)]
pub struct SimFrame<'a> {
    pub ts: Timestamp,
    pub wire_len: u32,
    pub prefix: &'a [u8],
    /// Index of the sending or receiving device in [`Simulation::devices`].
    pub device: usize,
}

/// The simulator's output, in time order.
#[derive(Debug, Clone, Copy)]
pub enum SimEvent<'a> {
    /// An activation starts with the next frame of its device.
    Activation(Activation),
    Frame(SimFrame<'a>),
}

/// Why a [`SimConfig`] cannot be simulated.
#[derive(Debug, Clone, PartialEq)]
pub enum SimConfigError {
    NoDevices,
    TooManyDevices {
        count: u64,
    },
    BadDuration,
    NotActivatable {
        kind: DeviceKind,
    },
    BadRate {
        kind: DeviceKind,
        per_hour: f64,
    },
    RateTooHigh {
        kind: DeviceKind,
        per_hour: f64,
        min_gap_s: f64,
    },
    TimeOutOfRange {
        kind: DeviceKind,
        at_s: f64,
        duration_s: f64,
    },
}

impl fmt::Display for SimConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimConfigError::NoDevices => write!(f, "no devices to simulate"),
            SimConfigError::TooManyDevices { count } => write!(
                f,
                "{count} devices is too many: at most {MAX_DEVICES} fit in 192.168.1.10-249"
            ),
            SimConfigError::BadDuration => write!(f, "the duration must be positive"),
            SimConfigError::NotActivatable { kind } => write!(
                f,
                "'{kind}' is never activated (it has no microphone or camera): remove its '@' schedule"
            ),
            SimConfigError::BadRate { kind, per_hour } => write!(
                f,
                "'{kind}': the rate {per_hour}/h is not a finite, non-negative number"
            ),
            SimConfigError::RateTooHigh {
                kind,
                per_hour,
                min_gap_s,
            } => write!(
                f,
                "'{kind}': a rate of {per_hour}/h does not fit with at least {min_gap_s} s between activations"
            ),
            SimConfigError::TimeOutOfRange {
                kind,
                at_s,
                duration_s,
            } => write!(
                f,
                "'{kind}': activation time {at_s} s is outside the simulation (0 to {duration_s} s)"
            ),
        }
    }
}

impl std::error::Error for SimConfigError {}

/// A running simulation: call [`next_event`](Self::next_event) until it returns `None`.
pub struct Simulation {
    devices: Vec<DeviceGen>,
    info: Vec<SimDevice>,
    /// (time of the device's next frame, device index) for every device with frames left.
    heads: BinaryHeap<Reverse<(i64, usize)>>,
    buf: Vec<u8>,
    /// A frame already rendered into `buf`, returned after the activation it starts.
    held: Option<(i64, u16, usize)>,
}

impl Simulation {
    /// Checks the configuration and sets up every device.
    pub fn new(config: &SimConfig) -> Result<Simulation, SimConfigError> {
        if config.duration_ns <= 0 {
            return Err(SimConfigError::BadDuration);
        }
        let total: u64 = config.devices.iter().map(|d| u64::from(d.count)).sum();
        if total == 0 {
            return Err(SimConfigError::NoDevices);
        }
        if total > MAX_DEVICES as u64 {
            return Err(SimConfigError::TooManyDevices { count: total });
        }
        for spec in &config.devices {
            check_schedule(spec, config)?;
        }
        let mut devices = Vec::with_capacity(total as usize);
        let mut per_kind = [0u32; DeviceKind::ALL.len()];
        for spec in &config.devices {
            for _ in 0..spec.count {
                let slot = DeviceKind::ALL
                    .iter()
                    .position(|&k| k == spec.kind)
                    .unwrap_or(0);
                per_kind[slot] += 1;
                let number = per_kind[slot];
                let (oui, tag) = spec.kind.mac_prefix();
                let mac = Mac([
                    oui[0],
                    oui[1],
                    oui[2],
                    tag,
                    (number >> 8) as u8,
                    number as u8,
                ]);
                let ip = [192, 168, 1, 10 + devices.len() as u8];
                let info = SimDevice {
                    kind: spec.kind,
                    mac,
                    ip,
                };
                devices.push(DeviceGen::new(info, number, &spec.schedule, config));
            }
        }
        let info = devices.iter().map(|d| d.info.clone()).collect();
        let mut heads = BinaryHeap::with_capacity(devices.len());
        for (i, d) in devices.iter_mut().enumerate() {
            if let Some(ts) = d.peek_ts() {
                heads.push(Reverse((ts, i)));
            }
        }
        Ok(Simulation {
            devices,
            info,
            heads,
            buf: Vec::with_capacity(512),
            held: None,
        })
    }

    /// The simulated devices, in the order of the specs.
    pub fn devices(&self) -> &[SimDevice] {
        &self.info
    }

    /// The next activation or frame, in time order; `None` at the end.
    pub fn next_event(&mut self) -> Option<SimEvent<'_>> {
        if let Some((ts, wire_len, device)) = self.held.take() {
            return Some(SimEvent::Frame(SimFrame {
                ts: Timestamp(ts),
                wire_len: u32::from(wire_len),
                prefix: &self.buf,
                device,
            }));
        }
        let Reverse((_, i)) = self.heads.pop()?;
        let dev = &mut self.devices[i];
        let emitted = dev.pop(&mut self.buf);
        if let Some(ts) = dev.peek_ts() {
            self.heads.push(Reverse((ts, i)));
        }
        let (ts, wire_len, label) = emitted?;
        if let Some(activation) = label {
            self.held = Some((ts, wire_len, i));
            return Some(SimEvent::Activation(activation));
        }
        Some(SimEvent::Frame(SimFrame {
            ts: Timestamp(ts),
            wire_len: u32::from(wire_len),
            prefix: &self.buf,
            device: i,
        }))
    }
}

fn check_schedule(spec: &DeviceSpec, config: &SimConfig) -> Result<(), SimConfigError> {
    let kind = spec.kind;
    let activatable = kind.activation_kind().is_some();
    match &spec.schedule {
        Schedule::Default => Ok(()),
        Schedule::PerHour(r) if !r.is_finite() || *r < 0.0 => {
            Err(SimConfigError::BadRate { kind, per_hour: *r })
        }
        Schedule::PerHour(r) if *r == 0.0 => Ok(()),
        Schedule::PerHour(_) | Schedule::At(_) if !activatable => {
            Err(SimConfigError::NotActivatable { kind })
        }
        Schedule::PerHour(r) => {
            let min_gap_s = config.min_gap_ns as f64 / 1e9;
            if 3600.0 / r <= min_gap_s {
                Err(SimConfigError::RateTooHigh {
                    kind,
                    per_hour: *r,
                    min_gap_s,
                })
            } else {
                Ok(())
            }
        }
        Schedule::At(times) => {
            for &t in times {
                if t < 0 || t >= config.duration_ns {
                    return Err(SimConfigError::TimeOutOfRange {
                        kind,
                        at_s: t as f64 / 1e9,
                        duration_s: config.duration_ns as f64 / 1e9,
                    });
                }
            }
            Ok(())
        }
    }
}
