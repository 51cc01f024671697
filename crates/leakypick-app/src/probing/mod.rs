//! Active probing sessions: `leakypick probe` (live) and `leakypick analyze
//! --probe-log` (offline), which give the same verdicts from the same packets.
//!
//! A live session runs, for each probe: an idle window (nothing played), then a probe
//! window in which the probe is played every `every` seconds, and evaluates the attempt
//! for every device at once ([`leakypick_core::session`]). A probe that made any device
//! react is re-tested (a new idle and probe window) up to `retests` times; the verdict
//! for a device is "reacted" only when every attempt of the probe was positive for it.
//!
//! Every attempt is written to the probe log as it ends (JSON Lines, see
//! [`attempt_json`]), so a capture taken elsewhere (tcpdump on the gateway) plus the
//! log can be analysed again offline.

pub mod audio;

use crate::capture::{read_merged, CaptureError, CaptureSource};
use crate::monitor::source::{FrameSource, Pull, SourceError};
use crate::names::DeviceNames;
use crate::oui;
use crate::render::{mac_value, p_value, secs, write_csv_section, write_json_lines, Format};
use leakypick_core::session::{
    verdicts, Attempt, Decide, DeviceAttempt, ProbeVerdict, SessionCollector, SessionConfig, Window,
};
use leakypick_core::time::Timestamp;
use leakypick_core::{decode, DeviceKey, Packet};
use serde_json::{json, Value};
use std::fmt;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The result of a session (live or offline).
#[derive(Debug, Clone)]
pub struct SessionReport {
    pub config: SessionConfig,
    pub attempts: Vec<Attempt>,
    pub results: Vec<DeviceAttempt>,
    pub verdicts: Vec<ProbeVerdict>,
    pub names: DeviceNames,
}

impl SessionReport {
    fn new(config: SessionConfig, collector: SessionCollector, names: DeviceNames) -> Self {
        let attempts = collector.attempts().to_vec();
        let results = collector.finish();
        SessionReport {
            config,
            verdicts: verdicts(&results),
            attempts,
            results,
            names,
        }
    }

    /// Devices that reacted to at least one probe, with the probes.
    pub fn reacting(&self) -> Vec<(DeviceKey, Vec<String>)> {
        let mut out: Vec<(DeviceKey, Vec<String>)> = Vec::new();
        for v in self.verdicts.iter().filter(|v| v.reacted) {
            match out.iter_mut().find(|(d, _)| *d == v.device) {
                Some((_, p)) => p.push(v.probe.clone()),
                None => out.push((v.device, vec![v.probe.clone()])),
            }
        }
        out
    }
}

/// A probe log that cannot be used, with the file and line.
#[derive(Debug)]
pub struct ProbeLogError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ProbeLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

impl std::error::Error for ProbeLogError {}

fn ts(v: f64) -> Option<Timestamp> {
    Timestamp::from_secs_f64(v)
}

/// One attempt as a line of the probe log.
pub fn attempt_json(a: &Attempt, plays: &[(Timestamp, Timestamp)]) -> Value {
    json!({
        "type": "attempt",
        "probe": a.probe,
        "attempt": a.attempt,
        "idle": [secs(a.idle.start), secs(a.idle.end)],
        "window": [secs(a.probe_window.start), secs(a.probe_window.end)],
        "plays": plays.iter().map(|(s, e)| json!([secs(*s), secs(*e)])).collect::<Vec<_>>(),
    })
}

/// Reads the attempts of a probe log (lines of other types are skipped).
pub fn read_probe_log(path: &Path) -> Result<Vec<Attempt>, ProbeLogError> {
    let err = |line: usize, message: String| ProbeLogError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| err(0, format!("cannot open: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in io::BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| err(n, format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(&line).map_err(|e| err(n, format!("not a JSON object: {e}")))?;
        if v["type"] != "attempt" {
            continue;
        }
        let pair = |key: &str| -> Result<Window, ProbeLogError> {
            let a = v[key]
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| err(n, format!("`{key}` must be [start, end] in epoch seconds")))?;
            let (s, e) = (a[0].as_f64().and_then(ts), a[1].as_f64().and_then(ts));
            match (s, e) {
                (Some(start), Some(end)) if end > start => Ok(Window { start, end }),
                _ => Err(err(
                    n,
                    format!("`{key}` must be [start, end] with end after start"),
                )),
            }
        };
        let probe = v["probe"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(n, "`probe` must be a non-empty string".into()))?;
        let attempt = v["attempt"]
            .as_u64()
            .and_then(|a| u32::try_from(a).ok())
            .filter(|a| *a >= 1)
            .ok_or_else(|| err(n, "`attempt` must be a number from 1".into()))?;
        out.push(Attempt {
            probe: probe.to_string(),
            attempt,
            idle: pair("idle")?,
            probe_window: pair("window")?,
        });
    }
    if out.is_empty() {
        return Err(err(
            0,
            "no attempts in the probe log (lines with \"type\":\"attempt\", written by \
             `leakypick probe --log`)"
                .into(),
        ));
    }
    Ok(out)
}

/// Offline: evaluates the attempts of a probe log over capture files.
pub fn evaluate_capture(
    sources: Vec<CaptureSource>,
    attempts: Vec<Attempt>,
    config: SessionConfig,
    names: DeviceNames,
) -> Result<SessionReport, CaptureError> {
    let mut collector = SessionCollector::new(config, attempts);
    read_merged(sources, |p| collector.observe(p))?;
    Ok(SessionReport::new(config, collector, names))
}

/// Timing of a live session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionPlan {
    /// Length of each idle window.
    pub idle: Duration,
    /// Length of each probe window.
    pub window: Duration,
    /// The probe is played at the start of the window and then every `every`.
    pub every: Duration,
    /// Extra attempts for a probe that made a device react.
    pub retests: u32,
    /// Wait after a probe window before the next idle window starts, so that uploads
    /// triggered by the probe do not spill into it.
    pub settle: Duration,
}

impl Default for SessionPlan {
    fn default() -> Self {
        // The paper: 60 s windows, the probe every 10 s.
        SessionPlan {
            idle: Duration::from_secs(60),
            window: Duration::from_secs(60),
            every: Duration::from_secs(10),
            retests: 1,
            settle: Duration::from_secs(5),
        }
    }
}

/// Plays the probe named by the argument; returns its wall-clock start and end.
pub type PlayFn = dyn Fn(&str) -> Result<(Timestamp, Timestamp), String> + Send + Sync;

/// Progress of a live session, for the user and the log.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    Idle {
        probe: String,
        attempt: u32,
    },
    Playing {
        probe: String,
        attempt: u32,
    },
    AttemptDone {
        probe: String,
        attempt: u32,
        reacted: Vec<DeviceKey>,
    },
}

/// Why a live session stopped early.
#[derive(Debug)]
pub enum SessionError {
    Source(SourceError),
    /// Playing a probe failed: the session is abandoned (no verdicts from a probe that
    /// was not heard).
    Play {
        probe: String,
        message: String,
    },
    Log(io::Error),
    Stopped,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Source(e) => write!(f, "capture: {e}"),
            SessionError::Play { probe, message } => {
                write!(
                    f,
                    "playing probe `{probe}` failed: {message}; the session was abandoned"
                )
            }
            SessionError::Log(e) => write!(f, "cannot write the probe log: {e}"),
            SessionError::Stopped => write!(f, "stopped before the session ended"),
        }
    }
}

impl std::error::Error for SessionError {}

fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp(t.0.saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
}

/// Pulls frames until the wall clock (or, for a replay, packet time) reaches `until`,
/// keeping the decoded packets.
fn capture_until(
    source: &mut dyn FrameSource,
    until: Timestamp,
    keep: &mut Vec<Packet>,
    stop: &AtomicBool,
) -> Result<(), SessionError> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(SessionError::Stopped);
        }
        match source.pull().map_err(SessionError::Source)? {
            Pull::Frame(f) => {
                let t = f.ts;
                keep.push(Packet {
                    ts: f.ts,
                    wire_len: f.wire_len,
                    meta: decode(f.link, f.data),
                });
                if t >= until && wall_clock() >= until {
                    return Ok(());
                }
            }
            Pull::Idle { .. } => {}
            Pull::End => return Ok(()),
        }
        if wall_clock() >= until {
            return Ok(());
        }
    }
}

/// Runs a live session: for each probe an idle window, a probe window with the probe
/// played every `plan.every`, re-tests of positive probes; writes each attempt to `log`.
#[allow(clippy::too_many_arguments)]
pub fn run_session(
    source: &mut dyn FrameSource,
    probes: &[String],
    plan: SessionPlan,
    config: SessionConfig,
    names: DeviceNames,
    play: std::sync::Arc<PlayFn>,
    log: &mut dyn Write,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&SessionEvent),
) -> Result<SessionReport, SessionError> {
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut results: Vec<DeviceAttempt> = Vec::new();
    for probe in probes {
        let mut attempt = 1;
        loop {
            on_event(&SessionEvent::Idle {
                probe: probe.clone(),
                attempt,
            });
            let mut packets = Vec::new();
            // Settle: traffic caused by the previous probe is not part of any window.
            let settle_end = plus(wall_clock(), plan.settle);
            capture_until(source, settle_end, &mut Vec::new(), stop)?;
            let idle_start = wall_clock();
            let idle_end = plus(idle_start, plan.idle);
            capture_until(source, idle_end, &mut packets, stop)?;
            on_event(&SessionEvent::Playing {
                probe: probe.clone(),
                attempt,
            });
            let window_start = wall_clock();
            let window_end = plus(window_start, plan.window);
            // The player plays on its own thread while this one keeps capturing.
            let (tx, rx) = mpsc::channel();
            let player = std::sync::Arc::clone(&play);
            let name = probe.clone();
            let every = plan.every.max(Duration::from_millis(100));
            let window = plan.window;
            let handle = std::thread::spawn(move || {
                let mut k: u32 = 0;
                loop {
                    let due = every.saturating_mul(k);
                    if due >= window {
                        break;
                    }
                    let now = std::time::Duration::from_nanos(
                        u64::try_from(wall_clock().0.saturating_sub(window_start.0)).unwrap_or(0),
                    );
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let r = player(&name);
                    let failed = r.is_err();
                    if tx.send(r).is_err() || failed {
                        break;
                    }
                    k += 1;
                }
            });
            capture_until(source, window_end, &mut packets, stop)?;
            let _ = handle.join();
            let mut plays = Vec::new();
            for r in rx.try_iter() {
                match r {
                    Ok(p) => plays.push(p),
                    Err(message) => {
                        return Err(SessionError::Play {
                            probe: probe.clone(),
                            message,
                        })
                    }
                }
            }
            let a = Attempt {
                probe: probe.clone(),
                attempt,
                idle: Window {
                    start: idle_start,
                    end: idle_end,
                },
                probe_window: Window {
                    start: window_start,
                    end: window_end,
                },
            };
            write_json_lines(log, &[attempt_json(&a, &plays)]).map_err(SessionError::Log)?;
            log.flush().map_err(SessionError::Log)?;
            let mut collector = SessionCollector::new(config, vec![a.clone()]);
            packets.sort_by_key(|p| p.ts);
            for p in &packets {
                collector.observe(p);
            }
            let index = attempts.len();
            attempts.push(a);
            let mut these = collector.finish();
            for r in &mut these {
                r.index = index;
            }
            let reacted: Vec<DeviceKey> = these
                .iter()
                .filter(|r| r.reacted)
                .map(|r| r.device)
                .collect();
            results.extend(these);
            on_event(&SessionEvent::AttemptDone {
                probe: probe.clone(),
                attempt,
                reacted: reacted.clone(),
            });
            // Re-test while some device is still positive in every attempt so far.
            let still: Vec<DeviceKey> = verdicts(&results)
                .into_iter()
                .filter(|v| v.probe == *probe && v.reacted)
                .map(|v| v.device)
                .collect();
            if still.is_empty() || attempt > plan.retests {
                break;
            }
            attempt += 1;
        }
    }
    Ok(SessionReport {
        config,
        verdicts: verdicts(&results),
        attempts,
        results,
        names,
    })
}

fn device_label(report: &SessionReport, d: DeviceKey) -> (Option<String>, Option<&'static str>) {
    match d {
        DeviceKey::Mac(m) => (report.names.get(m).map(str::to_string), oui::vendor(m)),
        _ => (None, None),
    }
}

/// JSON object for one device's verdict on one probe.
pub fn verdict_json(report: &SessionReport, v: &ProbeVerdict) -> Value {
    let (name, vendor) = device_label(report, v.device);
    let details: Vec<Value> = report
        .results
        .iter()
        .filter(|r| r.device == v.device && r.probe == v.probe)
        .map(|r| {
            json!({
                "attempt": r.attempt,
                "reacted": r.reacted,
                "by_burst": r.by_burst,
                "by_stat": r.by_stat,
                "p_size": p_value(&r.comparison.p_size),
                "p_iat": p_value(&r.comparison.p_iat),
                "idle_packets": r.comparison.idle_packets,
                "probe_packets": r.comparison.probe_packets,
                "idle_bursts": r.idle_bursts.len(),
                "probe_bursts": r.probe_bursts.iter().map(|b| json!({
                    "start": secs(b.start), "end": secs(b.end), "bytes": b.bytes, "peak_bps": b.peak_bps,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "type": "verdict",
        "mac": mac_value(v.device),
        "id": v.device.to_string(),
        "name": name,
        "vendor": vendor,
        "probe": v.probe,
        "reacted": v.reacted,
        "attempts": v.attempts,
        "positive": v.positive,
        "decide": report.config.decide.name(),
        "test": report.config.probe.test.name(),
        "threshold": report.config.probe.threshold,
        "details": details,
    })
}

/// JSON object summarising a session.
pub fn session_json(report: &SessionReport) -> Value {
    let reacting = report.reacting();
    json!({
        "type": "session",
        "start": report.attempts.first().map(|a| secs(a.idle.start)),
        "end": report.attempts.last().map(|a| secs(a.probe_window.end)),
        "probes": report.attempts.iter().filter(|a| a.attempt == 1).map(|a| a.probe.clone()).collect::<Vec<_>>(),
        "attempts": report.attempts.len(),
        "devices": report.verdicts.iter().map(|v| v.device).collect::<std::collections::BTreeSet<_>>().len(),
        "reacted": reacting.iter().map(|(d, p)| json!({"mac": mac_value(*d), "id": d.to_string(), "probes": p})).collect::<Vec<_>>(),
        "decide": report.config.decide.name(),
    })
}

const VERDICT_COLUMNS: &[&str] = &[
    "type",
    "mac",
    "id",
    "name",
    "vendor",
    "probe",
    "reacted",
    "attempts",
    "positive",
    "decide",
    "test",
    "threshold",
];

/// Writes a session's verdicts: one JSON object per device and probe, then a summary.
pub fn write_session(
    out: &mut dyn Write,
    report: &SessionReport,
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Json => {
            for v in &report.verdicts {
                write_json_lines(out, &[verdict_json(report, v)])?;
            }
            write_json_lines(out, &[session_json(report)])
        }
        Format::Csv => write_csv_section(
            out,
            VERDICT_COLUMNS,
            report.verdicts.iter().map(|v| verdict_json(report, v)),
        ),
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::NOTHING)
                .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
                .set_header(vec![
                    "DEVICE",
                    "NAME OR VENDOR",
                    "PROBE",
                    "REACTED",
                    "ATTEMPTS",
                    "P_SIZE",
                    "BURSTS",
                ]);
            let mut shown = 0;
            for v in &report.verdicts {
                let rs: Vec<&DeviceAttempt> = report
                    .results
                    .iter()
                    .filter(|r| r.device == v.device && r.probe == v.probe)
                    .collect();
                // Devices that never reacted and sent nothing in a probe window are noise.
                if !v.reacted && rs.iter().all(|r| r.comparison.probe_packets == 0) {
                    continue;
                }
                shown += 1;
                let (name, vendor) = device_label(report, v.device);
                let p = rs
                    .iter()
                    .map(|r| match &r.comparison.p_size {
                        Ok(p) => format!("{p:.3}"),
                        Err(_) => "-".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                let bursts = rs
                    .iter()
                    .map(|r| r.probe_bursts.len().to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                t.add_row(vec![
                    v.device.to_string(),
                    name.or(vendor.map(str::to_string))
                        .unwrap_or_else(|| "-".into()),
                    v.probe.clone(),
                    if v.reacted { "YES".into() } else { "no".into() },
                    format!("{}/{}", v.positive, v.attempts),
                    p,
                    bursts,
                ]);
            }
            let reacting = report.reacting();
            writeln!(
                out,
                "Probing: {} probe(s), {} attempt(s); decided by {} (test {}, p < {}).",
                report.attempts.iter().filter(|a| a.attempt == 1).count(),
                report.attempts.len(),
                report.config.decide.name(),
                report.config.probe.test.name(),
                report.config.probe.threshold
            )?;
            if shown > 0 {
                writeln!(out, "{t}")?;
            }
            if reacting.is_empty() {
                writeln!(out, "No device reacted to the probes.")
            } else {
                for (d, probes) in reacting {
                    let (name, vendor) = device_label(report, d);
                    writeln!(
                        out,
                        "REACTED: {d}{} to {}",
                        name.or(vendor.map(str::to_string))
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        probes.join(", ")
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// The names of a decide rule, for error messages.
pub fn decide_names() -> String {
    Decide::ALL.map(|d| d.name()).join(", ")
}

/// A daily span of local time, `HH:MM-HH:MM` (it may wrap midnight: `22:00-07:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpan {
    /// Minutes after midnight.
    pub from: u16,
    pub to: u16,
}

impl std::str::FromStr for DailySpan {
    type Err = String;

    fn from_str(s: &str) -> Result<DailySpan, String> {
        let bad = || format!("`{s}` is not a daily span like 09:00-17:30 (24-hour local time)");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (from, to) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if from == to {
            return Err(format!("`{s}` is empty: start and end are the same"));
        }
        Ok(DailySpan { from, to })
    }
}

impl DailySpan {
    /// Whether `minute` (after local midnight) is inside the span.
    pub fn contains(&self, minute: u16) -> bool {
        if self.from < self.to {
            minute >= self.from && minute < self.to
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

impl fmt::Display for DailySpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.from / 60,
            self.from % 60,
            self.to / 60,
            self.to % 60
        )
    }
}

/// Why a scheduled session must not run now (`None`: it may), given the local minute.
pub fn schedule_blocks(
    minute: u16,
    allowed: Option<DailySpan>,
    quiet: Option<DailySpan>,
) -> Option<String> {
    if let Some(q) = quiet {
        if q.contains(minute) {
            return Some(format!("it is quiet hours ({q})"));
        }
    }
    if let Some(a) = allowed {
        if !a.contains(minute) {
            return Some(format!("probing is allowed only {a}"));
        }
    }
    None
}

/// Minutes after midnight, local time (the system's time zone).
pub fn local_minute_now() -> u16 {
    let now = jiff::Zoned::now();
    u16::try_from(i32::from(now.hour()) * 60 + i32::from(now.minute())).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn daily_spans_parse_wrap_and_block() {
        let day: DailySpan = "09:00-17:30".parse().unwrap();
        assert!(day.contains(9 * 60) && day.contains(17 * 60 + 29) && !day.contains(17 * 60 + 30));
        let night: DailySpan = "22:00-07:00".parse().unwrap();
        assert!(night.contains(23 * 60) && night.contains(3 * 60) && !night.contains(12 * 60));
        for bad in ["9-17", "25:00-01:00", "10:00-10:00", "", "10:61-11:00"] {
            assert!(bad.parse::<DailySpan>().is_err(), "{bad}");
        }
        assert!(schedule_blocks(23 * 60, Some(day), Some(night))
            .unwrap()
            .contains("quiet"));
        assert!(schedule_blocks(8 * 60, Some(day), Some(night))
            .unwrap()
            .contains("allowed only"));
        assert_eq!(schedule_blocks(12 * 60, Some(day), Some(night)), None);
        assert_eq!(schedule_blocks(12 * 60, None, None), None);
    }
}
