//! `leakypick simulate`: writes a simulated capture (classic pcap) and its ground-truth
//! labels (native labels CSV) from the core's device models
//! ([`leakypick_core::sim`]).
//!
//! The core yields a time-ordered stream of frames and activations; this module only
//! parses the user's device spec and durations, and writes the two files as the stream
//! goes by. Nothing is held in memory but the core's per-device state and two write
//! buffers, so the capture's size is limited only by the disk.
//!
//! # Device spec
//!
//! ```text
//! SPEC     = ITEM *( "," ITEM )              e.g.  echo:2@6/h,camera@2/h,hub,plug:3
//! ITEM     = KIND [ ":" COUNT ] [ "@" SCHEDULE ]
//! KIND     = echo | echodot | camera | hub | plug
//! COUNT    = a whole number, 1 or more (default 1)
//! SCHEDULE = RATE | TIMES
//! RATE     = NUMBER "/" ( s | min | h | d )  activations per unit, each device on its own
//!                                            (Poisson, at least the minimum gap apart)
//! TIMES    = DURATION *( "+" DURATION )      times after the start, e.g. 90s+10m+1h
//! DURATION = NUMBER [ ms | s | m | min | h | d | w ]   (no unit: seconds; see
//!                                                      crate::timespec::parse_duration)
//! ```
//!
//! Without a schedule, `echo` and `echodot` are activated 4 times an hour and `camera`
//! twice; `hub` and `plug` are never activated and refuse a schedule. `@0/h` keeps a
//! voice assistant or camera idle.
//!
//! # Files
//!
//! The capture is classic pcap with nanosecond timestamps (magic `0xa1b23c4d`, written
//! little-endian) and `LINKTYPE_ETHERNET`. Each record's original length is the frame's
//! full wire length; with a snap length, the captured part is cut to it, as `tcpdump -s`
//! would. Payload bytes are zeros.
//!
//! The labels file is the native labels CSV: a comment, a provenance comment, the header
//! `mac,start,end,kind`, one line per activation sorted by start (epoch seconds with nine
//! decimals), then one `mac,,,` line for each simulated device that was never activated,
//! which tells `evaluate` that the device was watched and any detection on it is a false
//! alarm.

pub mod command;
pub mod render;
use leakypick_core::sim::{DeviceKind, SimConfig, SimConfigError, SimDevice, SimEvent, Simulation};
pub use leakypick_core::sim::{DeviceSpec, Schedule};
use leakypick_core::Timestamp;
use std::io::{self, BufWriter, Write};

pub use crate::timespec::parse_duration;
use crate::timespec::TimeError;

/// The devices simulated when none are given: two Echos, a camera, a hub and two plugs.
pub const DEFAULT_DEVICES: &str = "echo:2,camera,hub,plug:2";

/// The duration simulated when none is given: one hour.
pub const DEFAULT_DURATION_NS: i64 = 3600 * Timestamp::NANOS_PER_SEC;

/// What to simulate and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateOptions {
    pub devices: Vec<DeviceSpec>,
    /// Nanoseconds.
    pub duration_ns: i64,
    pub seed: u64,
    /// The time of the start of the capture: never the clock, so runs repeat.
    pub start: Timestamp,
    /// Cut each record's captured bytes to this many (the original length stays the
    /// full frame); `None` writes full frames.
    pub snaplen: Option<u32>,
    /// Least time between the end of one activation of a device and its next, ns.
    pub min_gap_ns: i64,
}

impl Default for SimulateOptions {
    fn default() -> SimulateOptions {
        SimulateOptions {
            devices: parse_device_spec(DEFAULT_DEVICES).unwrap_or_default(),
            duration_ns: DEFAULT_DURATION_NS,
            seed: 0,
            start: SimConfig::DEFAULT_START,
            snaplen: None,
            min_gap_ns: SimConfig::DEFAULT_MIN_GAP_NS,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateSummary {
    pub devices: Vec<SimDevice>,
    /// Activations of each device, in the order of `devices`.
    pub activations_per_device: Vec<u64>,
    pub frames: u64,
    /// Sum of the frames' wire lengths.
    pub wire_bytes: u64,
    /// Bytes of the pcap file.
    pub pcap_bytes: u64,
    pub activations: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Why a simulation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Config(#[from] SimConfigError),
    /// The capture would need times classic pcap cannot store (32-bit seconds).
    #[error(
        "the simulation runs from {start} to {end_secs} s after the epoch: classic pcap stores \
         32-bit seconds, so it must lie between 1970 and 2106"
    )]
    TimeRange { start: Timestamp, end_secs: i64 },
    /// The snap length is zero.
    #[error("the snap length must be at least 1 byte")]
    Snaplen,
    #[error("writing the capture: {0}")]
    Pcap(io::Error),
    #[error("writing the labels: {0}")]
    Labels(io::Error),
}

/// Simulates and writes the capture to `pcap_out` and the labels to `labels_out`.
///
/// Both writers are buffered here; pass files or sinks directly. The same options
/// always give the same bytes.
pub fn simulate(
    opts: &SimulateOptions,
    pcap_out: &mut dyn Write,
    labels_out: &mut dyn Write,
) -> Result<SimulateSummary, SimError> {
    let end_secs = opts.start.0.saturating_add(opts.duration_ns) / Timestamp::NANOS_PER_SEC;
    if opts.start.0 < 0 || end_secs > i64::from(u32::MAX) {
        return Err(SimError::TimeRange {
            start: opts.start,
            end_secs,
        });
    }
    if opts.snaplen == Some(0) {
        return Err(SimError::Snaplen);
    }
    let config = SimConfig {
        seed: opts.seed,
        start: opts.start,
        duration_ns: opts.duration_ns,
        devices: opts.devices.clone(),
        min_gap_ns: opts.min_gap_ns,
    };
    let mut sim = Simulation::new(&config)?;
    let devices = sim.devices().to_vec();
    let mut pcap = BufWriter::with_capacity(1 << 20, pcap_out);
    let mut labels = BufWriter::with_capacity(1 << 16, labels_out);

    let snaplen = opts.snaplen.unwrap_or(SNAPLEN_FULL);
    write_pcap_header(&mut pcap, snaplen).map_err(SimError::Pcap)?;
    write_labels_header(&mut labels, opts).map_err(SimError::Labels)?;

    let mut summary = SimulateSummary {
        activations_per_device: vec![0; devices.len()],
        devices,
        frames: 0,
        wire_bytes: 0,
        pcap_bytes: PCAP_HEADER_LEN,
        activations: 0,
        first: None,
        last: None,
    };
    // Progress by simulated time, on a terminal only (see `crate::progress`).
    let progress = crate::progress::Progress::simulated_time(opts.duration_ns.max(0) as u64);
    let mut events: u32 = 0;
    while let Some(event) = sim.next_event() {
        events = events.wrapping_add(1);
        if events % 4096 == 0 {
            if let Some(t) = summary.last {
                progress.set_position(t.0.saturating_sub(opts.start.0).max(0) as u64);
            }
        }
        match event {
            SimEvent::Activation(a) => {
                writeln!(
                    labels,
                    "{},{},{},{}",
                    a.mac,
                    epoch(a.start),
                    epoch(a.end),
                    a.kind.name()
                )
                .map_err(SimError::Labels)?;
                summary.activations += 1;
                if let Some(i) = summary.devices.iter().position(|d| d.mac == a.mac) {
                    summary.activations_per_device[i] += 1;
                }
            }
            SimEvent::Frame(f) => {
                let captured = f.wire_len.min(snaplen);
                write_record(&mut pcap, f.ts, f.wire_len, captured, f.prefix)
                    .map_err(SimError::Pcap)?;
                summary.frames += 1;
                summary.wire_bytes += u64::from(f.wire_len);
                summary.pcap_bytes += RECORD_HEADER_LEN + u64::from(captured);
                summary.first.get_or_insert(f.ts);
                summary.last = Some(f.ts);
            }
        }
    }
    // Devices that were watched and never activated: their detections are false alarms.
    for (d, &n) in summary.devices.iter().zip(&summary.activations_per_device) {
        if n == 0 {
            writeln!(labels, "{},,,", d.mac).map_err(SimError::Labels)?;
        }
    }
    pcap.flush().map_err(SimError::Pcap)?;
    labels.flush().map_err(SimError::Labels)?;
    progress.finish();
    Ok(summary)
}

/// The snap length written in the header when frames are not cut: the usual maximum.
const SNAPLEN_FULL: u32 = 262_144;
const PCAP_HEADER_LEN: u64 = 24;
const RECORD_HEADER_LEN: u64 = 16;
/// The zero bytes that follow each frame's prefix; longer than any simulated frame.
static ZEROS: [u8; 2048] = [0; 2048];

fn write_pcap_header(w: &mut impl Write, snaplen: u32) -> io::Result<()> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond timestamps
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    w.write_all(&h)
}

fn write_record(
    w: &mut impl Write,
    ts: Timestamp,
    wire_len: u32,
    captured: u32,
    prefix: &[u8],
) -> io::Result<()> {
    let secs = ts.0.div_euclid(Timestamp::NANOS_PER_SEC) as u32;
    let nanos = ts.0.rem_euclid(Timestamp::NANOS_PER_SEC) as u32;
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&secs.to_le_bytes());
    h[4..8].copy_from_slice(&nanos.to_le_bytes());
    h[8..12].copy_from_slice(&captured.to_le_bytes());
    h[12..16].copy_from_slice(&wire_len.to_le_bytes());
    w.write_all(&h)?;
    let captured = captured as usize;
    let head = prefix.len().min(captured);
    w.write_all(&prefix[..head])?;
    let mut zeros = captured - head;
    while zeros > 0 {
        let n = zeros.min(ZEROS.len());
        w.write_all(&ZEROS[..n])?;
        zeros -= n;
    }
    Ok(())
}

fn write_labels_header(w: &mut impl Write, opts: &SimulateOptions) -> io::Result<()> {
    writeln!(w, "# leakypick labels v1: one labelled activation per line")?;
    writeln!(
        w,
        "# leakypick simulate --devices {} --duration {}s --seed {} --start {} --min-gap {}s",
        format_device_spec(&opts.devices),
        decimal(opts.duration_ns),
        opts.seed,
        epoch(opts.start),
        decimal(opts.min_gap_ns),
    )?;
    writeln!(w, "mac,start,end,kind")
}

/// Epoch seconds with nine decimals, exactly (no float on the way).
fn epoch(t: Timestamp) -> String {
    let secs = t.0.div_euclid(Timestamp::NANOS_PER_SEC);
    let nanos = t.0.rem_euclid(Timestamp::NANOS_PER_SEC);
    format!("{secs}.{nanos:09}")
}

/// Nanoseconds as seconds, without trailing zeros: `90000000000` is `90`, `1500000000`
/// is `1.5`.
fn decimal(ns: i64) -> String {
    let s = epoch(Timestamp(ns));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Why a device spec cannot be used; the message names the bad item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the device spec is empty: expected items like {DEFAULT_DEVICES}")]
    Empty,
    #[error("device spec item '{item}': {problem}")]
    Item { item: String, problem: ItemError },
}

/// What is wrong with one item of a device spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("empty item (two commas in a row, or a comma at an end)")]
    Empty,
    #[error("unknown device kind '{name}' (known: {known})")]
    UnknownKind { name: String, known: String },
    #[error("the count '{count}' is not a whole number from 1 to {max}")]
    Count { count: String, max: usize },
    #[error("nothing after '@' (expected a rate like 6/h or times like 90s+10m)")]
    NoSchedule,
    #[error("unknown rate unit '/{unit}' in '{schedule}' (use /s, /min, /h or /d)")]
    RateUnit { unit: String, schedule: String },
    #[error("the rate '{rate}' in '{schedule}' is not a non-negative number")]
    Rate { rate: String, schedule: String },
    #[error("activation time: {0}")]
    Time(TimeError),
    #[error("a {kind} has no microphone or camera and is never activated: drop '@{schedule}'")]
    NeverActivated { kind: DeviceKind, schedule: String },
}

/// Parses a device spec such as `echo:2@6/h,camera@2/h,hub,plug:3` (grammar in the
/// module documentation).
pub fn parse_device_spec(s: &str) -> Result<Vec<DeviceSpec>, SpecError> {
    if s.trim().is_empty() {
        return Err(SpecError::Empty);
    }
    s.split(',').map(parse_item).collect()
}

fn parse_item(raw: &str) -> Result<DeviceSpec, SpecError> {
    let item = raw.trim();
    let err = |problem: ItemError| SpecError::Item {
        item: item.to_string(),
        problem,
    };
    if item.is_empty() {
        return Err(err(ItemError::Empty));
    }
    let (head, schedule) = match item.split_once('@') {
        Some((h, s)) => (h, Some(s)),
        None => (item, None),
    };
    let (name, count) = match head.split_once(':') {
        Some((n, c)) => (n.trim(), Some(c.trim())),
        None => (head.trim(), None),
    };
    let kind = DeviceKind::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
        let known: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.name()).collect();
        err(ItemError::UnknownKind {
            name: name.to_string(),
            known: known.join(", "),
        })
    })?;
    let count = match count {
        None => 1,
        Some(c) => match c.parse::<u32>() {
            Ok(n) if n >= 1 && n as usize <= leakypick_core::sim::MAX_DEVICES => n,
            _ => {
                return Err(err(ItemError::Count {
                    count: c.to_string(),
                    max: leakypick_core::sim::MAX_DEVICES,
                }))
            }
        },
    };
    let schedule = match schedule.map(str::trim) {
        None => Schedule::Default,
        Some("") => return Err(err(ItemError::NoSchedule)),
        Some(s) => {
            let schedule = parse_schedule(s).map_err(err)?;
            if kind.activation_kind().is_none() && schedule != Schedule::PerHour(0.0) {
                return Err(err(ItemError::NeverActivated {
                    kind,
                    schedule: s.to_string(),
                }));
            }
            schedule
        }
    };
    Ok(DeviceSpec {
        kind,
        count,
        schedule,
    })
}

fn parse_schedule(s: &str) -> Result<Schedule, ItemError> {
    if let Some((num, unit)) = s.split_once('/') {
        let per: f64 = match unit.trim() {
            "s" => 3600.0,
            "m" | "min" => 60.0,
            "h" => 1.0,
            "d" => 1.0 / 24.0,
            other => {
                return Err(ItemError::RateUnit {
                    unit: other.to_string(),
                    schedule: s.to_string(),
                })
            }
        };
        let n: f64 = num
            .trim()
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| ItemError::Rate {
                rate: num.trim().to_string(),
                schedule: s.to_string(),
            })?;
        return Ok(Schedule::PerHour(n * per));
    }
    let mut times = Vec::new();
    for part in s.split('+') {
        let t = parse_duration(part).map_err(ItemError::Time)?;
        times.push(t);
    }
    Ok(Schedule::At(times))
}

/// Writes device specs back in the spec grammar, so that a labels file says how it was
/// made. `parse_device_spec(&format_device_spec(x)) == x` for parsed specs (rates are
/// written per hour).
pub fn format_device_spec(specs: &[DeviceSpec]) -> String {
    let items: Vec<String> = specs
        .iter()
        .map(|d| {
            let mut s = d.kind.name().to_string();
            if d.count != 1 {
                s.push_str(&format!(":{}", d.count));
            }
            match &d.schedule {
                Schedule::Default => {}
                Schedule::PerHour(r) => s.push_str(&format!("@{r}/h")),
                Schedule::At(times) => {
                    let t: Vec<String> =
                        times.iter().map(|&t| format!("{}s", decimal(t))).collect();
                    s.push('@');
                    s.push_str(&t.join("+"));
                }
            }
            s
        })
        .collect();
    items.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(opts: &SimulateOptions) -> (Vec<u8>, String, SimulateSummary) {
        let mut pcap = Vec::new();
        let mut labels = Vec::new();
        let s = simulate(opts, &mut pcap, &mut labels).unwrap();
        (pcap, String::from_utf8(labels).unwrap(), s)
    }

    fn short(seed: u64) -> SimulateOptions {
        SimulateOptions {
            devices: parse_device_spec("echo@30/h,plug").unwrap(),
            duration_ns: parse_duration("20m").unwrap(),
            seed,
            ..SimulateOptions::default()
        }
    }

    #[test]
    fn specs_parse_with_defaults_and_round_trip() {
        let s = Timestamp::NANOS_PER_SEC;
        let specs =
            parse_device_spec("echo:2@6/h, camera@2/h,hub,plug:3,echodot@90s+10m+1.5h").unwrap();
        assert_eq!(
            specs,
            vec![
                DeviceSpec {
                    kind: DeviceKind::Echo,
                    count: 2,
                    schedule: Schedule::PerHour(6.0)
                },
                DeviceSpec {
                    kind: DeviceKind::Camera,
                    count: 1,
                    schedule: Schedule::PerHour(2.0)
                },
                DeviceSpec {
                    kind: DeviceKind::Hub,
                    count: 1,
                    schedule: Schedule::Default
                },
                DeviceSpec {
                    kind: DeviceKind::Plug,
                    count: 3,
                    schedule: Schedule::Default
                },
                DeviceSpec {
                    kind: DeviceKind::EchoDot,
                    count: 1,
                    schedule: Schedule::At(vec![90 * s, 600 * s, 5400 * s])
                },
            ]
        );
        assert_eq!(
            parse_device_spec(&format_device_spec(&specs)).unwrap(),
            specs
        );
        assert_eq!(
            parse_device_spec("echo@1/min").unwrap()[0].schedule,
            Schedule::PerHour(60.0)
        );
        assert_eq!(
            parse_device_spec("camera@12/d").unwrap()[0].schedule,
            Schedule::PerHour(0.5)
        );
        assert_eq!(
            parse_device_spec("plug@0/h").unwrap()[0].schedule,
            Schedule::PerHour(0.0)
        );
    }

    #[test]
    fn bad_specs_name_the_bad_part() {
        let cases = [
            ("", "empty"),
            ("echo,,plug", "empty item"),
            ("echo:2,toaster", "unknown device kind 'toaster'"),
            ("echo:0", "count '0'"),
            ("echo:two", "count 'two'"),
            ("echo:999", "count '999'"),
            ("echo@6/hour", "unknown rate unit '/hour'"),
            ("echo@fast/h", "rate 'fast'"),
            ("echo@-1/h", "rate '-1'"),
            ("echo@", "nothing after '@'"),
            ("echo@10x", "unknown unit 'x'"),
            ("echo@10s+", "activation time"),
            ("plug@2/h", "a plug has no microphone"),
            ("hub@60s", "a hub has no microphone"),
        ];
        for (spec, want) in cases {
            let got = parse_device_spec(spec).unwrap_err().to_string();
            assert!(got.contains(want), "{spec:?}: {got}");
        }
        let e = parse_device_spec("echo:2,toaster").unwrap_err().to_string();
        assert!(e.contains("item 'toaster'"), "{e}");
    }

    #[test]
    fn durations_and_start_times() {
        let s = Timestamp::NANOS_PER_SEC;
        assert_eq!(parse_duration("3600"), Ok(3600 * s));
        assert_eq!(parse_duration("90s"), Ok(90 * s));
        assert_eq!(parse_duration("2h"), Ok(7200 * s));
        assert_eq!(parse_duration("7d"), Ok(7 * 86400 * s));
        assert_eq!(parse_duration("1.5m"), Ok(90 * s));
        assert_eq!(parse_duration("250ms"), Ok(s / 4));
        assert_eq!(parse_duration("0.000000001"), Ok(1));
        for bad in ["", "h", "2 weeks", "1e3", "-5s", "1.2.3s", "99999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("2 weeks")
            .unwrap_err()
            .to_string()
            .contains("unknown unit 'weeks'"));
        // `--start` takes instants only (simulate/command.rs).
        let parse_start = crate::timespec::TimeSpec::parse_instant;
        assert_eq!(parse_start("1767225600"), Ok(SimConfig::DEFAULT_START));
        assert_eq!(
            parse_start("2026-01-01T00:00:00Z"),
            Ok(SimConfig::DEFAULT_START)
        );
        assert_eq!(parse_start("2026-01-01"), Ok(SimConfig::DEFAULT_START));
        assert_eq!(
            parse_start("1767225600.25"),
            Ok(Timestamp(SimConfig::DEFAULT_START.0 + s / 4))
        );
        assert!(parse_start("yesterday").is_err());
        assert!(parse_start("+20").is_err());
        assert!(parse_start("2h").is_err());
    }

    #[test]
    fn same_options_same_bytes_other_seed_other_bytes() {
        let (p1, l1, s1) = run(&short(7));
        let (p2, l2, _) = run(&short(7));
        let (p3, l3, _) = run(&short(8));
        assert_eq!(p1, p2);
        assert_eq!(l1, l2);
        assert_ne!(p1, p3);
        assert_ne!(l1, l3);
        assert_eq!(s1.pcap_bytes, p1.len() as u64);
        assert!(s1.activations >= 3, "{}", s1.activations);
    }

    #[test]
    fn pcap_layout_and_snaplen() {
        let mut opts = short(1);
        let (full, _, s) = run(&opts);
        assert_eq!(&full[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(full[20..24].try_into().unwrap()), 1);
        // First record: seconds at or after the start, original = captured.
        let secs = u32::from_le_bytes(full[24..28].try_into().unwrap());
        assert!(i64::from(secs) >= SimConfig::DEFAULT_START.0 / Timestamp::NANOS_PER_SEC);
        let incl = u32::from_le_bytes(full[32..36].try_into().unwrap());
        let orig = u32::from_le_bytes(full[36..40].try_into().unwrap());
        assert_eq!(incl, orig);
        opts.snaplen = Some(64);
        let (cut, _, t) = run(&opts);
        assert_eq!(t.frames, s.frames);
        assert_eq!(t.wire_bytes, s.wire_bytes);
        assert!(cut.len() < full.len());
        assert_eq!(u32::from_le_bytes(cut[16..20].try_into().unwrap()), 64);
        assert_eq!(t.pcap_bytes, cut.len() as u64);
        opts.snaplen = Some(0);
        assert!(matches!(
            simulate(&opts, &mut Vec::new(), &mut Vec::new()),
            Err(SimError::Snaplen)
        ));
    }

    #[test]
    fn labels_file_has_the_native_format() {
        let (_, labels, s) = run(&short(3));
        let lines: Vec<&str> = labels.lines().collect();
        assert_eq!(
            lines[0],
            "# leakypick labels v1: one labelled activation per line"
        );
        assert!(lines[1].starts_with(
            "# leakypick simulate --devices echo@30/h,plug --duration 1200s --seed 3"
        ));
        assert_eq!(lines[2], "mac,start,end,kind");
        let body = &lines[3..];
        assert_eq!(
            body.len() as u64,
            s.activations + 1,
            "activations + the idle plug"
        );
        let mut prev = String::new();
        for l in &body[..body.len() - 1] {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4);
            assert_eq!(f[0], "68:db:f5:00:00:01");
            assert_eq!(f[3], "voice");
            assert_eq!(f[1].split('.').nth(1).map(str::len), Some(9));
            assert!(f[1] < f[2] && prev.as_str() <= f[1], "{l}");
            prev = f[1].to_string();
        }
        assert_eq!(body[body.len() - 1], "50:c7:bf:00:00:01,,,");
    }

    #[test]
    fn times_that_pcap_cannot_hold_are_refused() {
        let mut opts = short(1);
        opts.start = crate::timespec::TimeSpec::parse_instant("2106-03-01").unwrap();
        let e = simulate(&opts, &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("32-bit seconds"), "{e}");
        opts.start = Timestamp(-5);
        assert!(simulate(&opts, &mut Vec::new(), &mut Vec::new()).is_err());
    }
}
