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
pub mod command;
pub mod log;
pub mod render;
pub mod schedule;

pub use log::{attempt_json, read_probe_log, ProbeLogError};
pub use schedule::{local_minute_now, schedule_blocks, DailySpan, DailySpanError};

use crate::capture::{read_merged, CaptureError, CaptureSource, CaptureStats};
use crate::monitor::source::{FrameSource, Pull, SourceError};
use crate::names::DeviceNames;
use crate::render::write_json_lines;
use leakypick_core::session::{
    verdicts, Attempt, DeviceAttempt, ProbeVerdict, SessionCollector, SessionConfig, Window,
};
use leakypick_core::time::Timestamp;
use leakypick_core::{decode, DeviceKey, Packet};
use std::io::{self, Write};
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

/// Offline: evaluates the attempts of a probe log over capture files; also returns
/// what was read (for its warnings).
pub fn evaluate_capture(
    sources: Vec<CaptureSource>,
    attempts: Vec<Attempt>,
    config: SessionConfig,
    names: DeviceNames,
) -> Result<(SessionReport, CaptureStats), CaptureError> {
    let mut collector = SessionCollector::new(config, attempts);
    let stats = read_merged(sources, |p| collector.observe(p))?;
    Ok((SessionReport::new(config, collector, names), stats))
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
pub type PlayFn = dyn Fn(&str) -> Result<(Timestamp, Timestamp), PlayError> + Send + Sync;

/// Why a probe could not be played.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// The session asked for a probe the player does not have.
    #[error("unknown probe `{0}`")]
    UnknownProbe(String),
    #[error(transparent)]
    Audio(#[from] audio::AudioError),
}

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
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("capture: {0}")]
    Source(SourceError),
    /// Playing a probe failed: the session is abandoned (no verdicts from a probe that
    /// was not heard).
    #[error("playing probe `{probe}` failed: {error}; the session was abandoned")]
    Play { probe: String, error: PlayError },
    #[error("cannot write the probe log: {0}")]
    Log(io::Error),
    #[error("stopped before the session ended")]
    Stopped,
}

use crate::process::wall_clock;

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
                    Err(error) => {
                        return Err(SessionError::Play {
                            probe: probe.clone(),
                            error,
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
