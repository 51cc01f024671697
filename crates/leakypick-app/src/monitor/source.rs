//! Where the monitor's frames come from: a live interface ([`crate::monitor::live`], with the
//! `live` feature) or a capture file replayed as if it were live ([`FileSource`]).
//!
//! The monitor pulls one [`Pull`] at a time. A live source never ends: when its
//! interface goes away it logs, retries, and meanwhile returns [`Pull::Idle`] so the
//! monitor can flush, prune and notice a shutdown request. Only errors that retrying
//! cannot fix (no permission, a bad filter) are returned as [`SourceError`].

use crate::capture::{CaptureError, CaptureSource, CaptureWarning, Frame};
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

    /// Problems met reading a file that did not stop it (it breaks off part way,
    /// records skipped), as `analyze` reports them; none for a live source.
    fn warnings(&self) -> Vec<CaptureWarning> {
        Vec::new()
    }
}

/// A capture file read as if it were live (`leakypick monitor --replay FILE`): frames
/// with their recorded timestamps, as fast as they can be read or paced like the
/// recording ([`FileSource::paced`]), optionally through a BPF filter
/// ([`FileSource::with_filter`], with the `live` feature) as a live capture's kernel
/// would apply it.
pub struct FileSource {
    name: String,
    capture: CaptureSource,
    /// Frames the filter refuses are skipped, as the kernel drops them live.
    filter: Option<ReplayFilter>,
    /// The first frame, read (not yet filtered) to compile the filter for its link type.
    peeked: Option<Held>,
    pace: Option<Pace>,
    /// The frame handed out last when frames are copied (filtered or paced), owned so
    /// that `Pull::Frame` can borrow it; its buffer is reused for the next frame.
    out: Held,
}

/// Pacing of a replayed file: frame `f` is handed out when `(f.ts - first) / speed`
/// of wall time has passed since the first frame.
struct Pace {
    speed: f64,
    /// The first frame's timestamp and the wall clock when it was handed out.
    origin: Option<(Timestamp, Instant)>,
    /// A frame read (and kept by the filter) but not yet due.
    held: Option<Held>,
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

impl Held {
    fn frame(&self) -> Frame<'_> {
        Frame {
            ts: self.ts,
            wire_len: self.wire_len,
            link: self.link,
            data: &self.data,
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
            filter: None,
            peeked: None,
            pace: None,
            out: Held::default(),
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
            });
        }
        s
    }

    /// Hands out only the frames that match the BPF filter `expr` (pcap-filter(7)
    /// syntax), as a live capture with that filter would see them. The filter is
    /// compiled by libpcap now, for the link type of the file's first frame (Ethernet
    /// for a file without frames), so a bad filter is refused before anything starts;
    /// frames of another link type (pcapng can mix them) get their own compilation.
    /// Length tests (`greater`, `less`, `len`) see the captured length.
    #[cfg(feature = "live")]
    pub fn with_filter(mut self, expr: &str) -> Result<FileSource, SourceError> {
        self.peeked = match self.capture.next_frame() {
            Ok(Some(f)) => Some(Held {
                ts: f.ts,
                wire_len: f.wire_len,
                link: f.link,
                data: f.data.to_vec(),
            }),
            Ok(None) => None,
            Err(e) => return Err(read_error(&self.name, e)),
        };
        let link = self.peeked.as_ref().map_or(LinkType::Ethernet, |h| h.link);
        let mut filter = ReplayFilter {
            expr: expr.to_string(),
            programs: Vec::new(),
        };
        filter.program(&self.name, link)?;
        self.filter = Some(filter);
        Ok(self)
    }

    /// The next frame the filter keeps, copied into `out`'s reused buffer.
    fn next_kept(&mut self) -> Result<Option<Held>, SourceError> {
        if let Some(h) = self.peeked.take() {
            if self.keeps(h.link, &h.data)? {
                return Ok(Some(h));
            }
        }
        loop {
            let frame = match self.capture.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(None),
                Err(e) => return Err(read_error(&self.name, e)),
            };
            if let Some(filter) = &mut self.filter {
                if !filter.matches(&self.name, frame.link, frame.data)? {
                    continue;
                }
            }
            let mut data = std::mem::take(&mut self.out.data);
            data.clear();
            data.extend_from_slice(frame.data);
            return Ok(Some(Held {
                ts: frame.ts,
                wire_len: frame.wire_len,
                link: frame.link,
                data,
            }));
        }
    }

    fn keeps(&mut self, link: LinkType, data: &[u8]) -> Result<bool, SourceError> {
        match &mut self.filter {
            Some(filter) => filter.matches(&self.name, link, data),
            None => Ok(true),
        }
    }
}

/// A BPF filter compiled by libpcap for replayed frames, once per link type.
#[cfg(feature = "live")]
struct ReplayFilter {
    expr: String,
    programs: Vec<(LinkType, pcap::BpfProgram)>,
}

#[cfg(feature = "live")]
impl ReplayFilter {
    /// The program for `link`, compiled on first use.
    fn program(&mut self, file: &str, link: LinkType) -> Result<&pcap::BpfProgram, SourceError> {
        let i = match self.programs.iter().position(|(l, _)| *l == link) {
            Some(i) => i,
            None => {
                // pcap_open_dead takes a DLT: the link-type numbers leakypick knows are
                // the same, except LINKTYPE_RAW (101), which is DLT_RAW (12 on Linux).
                let dlt = match link {
                    LinkType::RawIp => 12,
                    other => i32::try_from(other.to_linktype()).unwrap_or(i32::MAX),
                };
                let compiled = pcap::Capture::dead(pcap::Linktype(dlt))
                    .and_then(|dead| dead.compile(&self.expr, true))
                    .map_err(|e| SourceError {
                        source_name: file.to_string(),
                        message: format!(
                            "bad capture filter '{}' for its {} frames: {}",
                            self.expr,
                            super::live::link_name(link),
                            super::live::pcap_message(&e)
                        ),
                        hint: Some(format!(
                            "the filter is in pcap-filter(7) syntax, e.g. 'ether host \
                             68:db:f5:90:19:64'; `tcpdump -d '{}'` checks one",
                            self.expr
                        )),
                    })?;
                self.programs.push((link, compiled));
                self.programs.len() - 1
            }
        };
        Ok(&self.programs[i].1)
    }

    fn matches(&mut self, file: &str, link: LinkType, data: &[u8]) -> Result<bool, SourceError> {
        Ok(self.program(file, link)?.filter(data))
    }
}

/// Without the `live` feature there is no libpcap to compile a filter, so a replay
/// never has one (`monitor` refuses `--filter` with `--replay` in such a build).
#[cfg(not(feature = "live"))]
enum ReplayFilter {}

#[cfg(not(feature = "live"))]
impl ReplayFilter {
    fn matches(&mut self, _: &str, _: LinkType, _: &[u8]) -> Result<bool, SourceError> {
        match *self {}
    }
}

impl FrameSource for FileSource {
    fn pull(&mut self) -> Result<Pull<'_>, SourceError> {
        if self.pace.is_none() && self.filter.is_none() && self.peeked.is_none() {
            // Neither filtered nor paced: hand out the reader's buffer, no copy.
            return match self.capture.next_frame() {
                Ok(Some(frame)) => Ok(Pull::Frame(frame)),
                Ok(None) => Ok(Pull::End),
                Err(e) => Err(read_error(&self.name, e)),
            };
        }
        let held = match self.pace.as_mut().and_then(|p| p.held.take()) {
            Some(h) => h,
            None => match self.next_kept()? {
                Some(h) => h,
                None => return Ok(Pull::End),
            },
        };
        if let Some(pace) = &mut self.pace {
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
        }
        self.out = held;
        Ok(Pull::Frame(self.out.frame()))
    }

    /// Warnings of the underlying reader (the file breaks off, records skipped).
    fn warnings(&self) -> Vec<CaptureWarning> {
        self.capture.warnings()
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
