//! Where the monitor's frames come from: a live interface ([`crate::monitor::live`], with the
//! `live` feature) or a capture file replayed as if it were live ([`FileSource`]).
//!
//! The monitor pulls one [`Pull`] at a time. A live source never ends: when its
//! interface goes away it logs, retries, and meanwhile returns [`Pull::Idle`] so the
//! monitor can flush, prune and notice a shutdown request. Only errors that retrying
//! cannot fix (no permission, a bad filter) are returned as [`SourceError`].

use crate::capture::{CaptureError, CaptureSource, Frame};
use leakypick_core::time::Timestamp;
use leakypick_core::LinkType;
use std::time::{Duration, Instant};

/// One step of a frame source.
#[derive(Debug)]
pub enum Pull<'a> {
    /// A captured frame; its timestamp is the one the kernel (or the file) gave it.
    Frame(Frame<'a>),
    /// Nothing arrived within the source's poll interval (at most about a second), or
    /// the interface is down and being retried. `now` is the wall clock for a live
    /// source (so windows can close while the network is silent), the recording's
    /// clock for a paced replay, `None` when unknown.
    Idle { now: Option<Timestamp> },
    /// The source has ended (the end of a file). Live sources never end.
    End,
}

/// Packet counters of a live capture, as libpcap reports them (totals since opening;
/// a reopened interface starts again from zero, which the source accounts for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropStats {
    /// Packets the kernel's filter passed.
    pub received: u64,
    /// Packets dropped because the capture buffer was full (the monitor was too slow).
    pub dropped_kernel: u64,
    /// Packets dropped by the interface or its driver.
    pub dropped_interface: u64,
}

/// A failure that retrying cannot fix: the monitor stops with this message.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}{}", hint_line(.hint))]
pub struct SourceError {
    /// The interface or file.
    pub source_name: String,
    pub message: String,
    /// What the user can do about it, e.g. the `setcap` command that grants capture rights.
    pub hint: Option<String>,
}

/// The hint of a [`SourceError`] on its own line, or nothing.
fn hint_line(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!("\n  hint: {h}"))
        .unwrap_or_default()
}

fn read_error(name: &str, e: CaptureError) -> SourceError {
    SourceError {
        source_name: name.to_string(),
        message: e.to_string(),
        hint: None,
    }
}

/// A source of frames for the monitor.
pub trait FrameSource {
    /// The next step; see [`Pull`].
    fn pull(&mut self) -> Result<Pull<'_>, SourceError>;
    /// Counters of a live capture (`None` for a file).
    fn drop_stats(&mut self) -> Option<DropStats>;
    /// The interface or file name, for messages.
    fn name(&self) -> &str;
    /// Whether the frames are a recording (a replayed file: the same file replayed
    /// again gives the same frames) rather than a live link.
    fn is_recording(&self) -> bool {
        false
    }
}

/// A capture file read as if it were live (`leakypick monitor --replay FILE`): frames
/// with their recorded timestamps, as fast as they can be read or paced like the
/// recording ([`FileSource::paced`]).
pub struct FileSource {
    name: String,
    capture: CaptureSource,
    pace: Option<Pace>,
}

/// Pacing of a replayed file: frame `f` is handed out when `(f.ts - first) / speed`
/// of wall time has passed since the first frame.
struct Pace {
    speed: f64,
    /// The first frame's timestamp and the wall clock when it was handed out.
    origin: Option<(Timestamp, Instant)>,
    /// A frame read but not yet due (owned: the reader's buffer moves on).
    held: Option<Held>,
    /// The frame handed out last, owned so that `Pull::Frame` can borrow it.
    out: Held,
}

struct Held {
    ts: Timestamp,
    wire_len: u32,
    link: LinkType,
    data: Vec<u8>,
}

impl Default for Held {
    fn default() -> Self {
        Held {
            ts: Timestamp(0),
            wire_len: 0,
            link: LinkType::Ethernet,
            data: Vec::new(),
        }
    }
}

/// Longest sleep in one `pull`, so that a stop request is noticed quickly.
const PACE_POLL: Duration = Duration::from_millis(200);

impl FileSource {
    pub fn new(capture: CaptureSource) -> FileSource {
        FileSource {
            name: capture.name().to_string(),
            capture,
            pace: None,
        }
    }

    /// Replays at the recorded pace times `speed` (2.0: twice as fast). The frames keep
    /// their recorded timestamps; only the wall-clock pace changes.
    pub fn paced(capture: CaptureSource, speed: f64) -> FileSource {
        let mut s = FileSource::new(capture);
        if speed.is_finite() && speed > 0.0 {
            s.pace = Some(Pace {
                speed,
                origin: None,
                held: None,
                out: Held::default(),
            });
        }
        s
    }

    /// Warnings of the underlying reader (truncation, skipped records).
    pub fn warnings(&self) -> Vec<crate::capture::CaptureWarning> {
        self.capture.warnings()
    }
}

impl FrameSource for FileSource {
    fn pull(&mut self) -> Result<Pull<'_>, SourceError> {
        let Some(pace) = &mut self.pace else {
            return match self.capture.next_frame() {
                Ok(Some(frame)) => Ok(Pull::Frame(frame)),
                Ok(None) => Ok(Pull::End),
                Err(e) => Err(read_error(&self.name, e)),
            };
        };
        if pace.held.is_none() {
            match self.capture.next_frame() {
                Ok(Some(f)) => {
                    pace.held = Some(Held {
                        ts: f.ts,
                        wire_len: f.wire_len,
                        link: f.link,
                        data: f.data.to_vec(),
                    })
                }
                Ok(None) => return Ok(Pull::End),
                Err(e) => return Err(read_error(&self.name, e)),
            }
        }
        let Some(held) = pace.held.take() else {
            return Ok(Pull::End);
        };
        let (first, started) = *pace.origin.get_or_insert((held.ts, Instant::now()));
        let offset = held.ts.secs_since(first).max(0.0) / pace.speed;
        let due = started + Duration::from_secs_f64(offset.min(1e9));
        let now = Instant::now();
        if due > now {
            let wait = due - now;
            if wait > PACE_POLL {
                std::thread::sleep(PACE_POLL);
                pace.held = Some(held);
                // The replay's own clock: the recording's time that has "passed".
                let played = started.elapsed().as_secs_f64() * pace.speed;
                let now = Timestamp(first.0.saturating_add((played * 1e9) as i64));
                return Ok(Pull::Idle { now: Some(now) });
            }
            std::thread::sleep(wait);
        }
        pace.out = held;
        Ok(Pull::Frame(Frame {
            ts: pace.out.ts,
            wire_len: pace.out.wire_len,
            link: pace.out.link,
            data: &pace.out.data,
        }))
    }

    fn drop_stats(&mut self) -> Option<DropStats> {
        None
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn is_recording(&self) -> bool {
        true
    }
}
