//! Where the monitor's frames come from: a live interface ([`crate::live`], with the
//! `live` feature) or a capture file replayed as if it were live ([`FileSource`]).
//!
//! The monitor pulls one [`Pull`] at a time. A live source never ends: when its
//! interface goes away it logs, retries, and meanwhile returns [`Pull::Idle`] so the
//! monitor can flush, prune and notice a shutdown request. Only errors that retrying
//! cannot fix (no permission, a bad filter) are returned as [`SourceError`].

use crate::capture::{CaptureError, CaptureSource, Frame};
use leakypick_core::time::Timestamp;
use std::fmt;

/// One step of a frame source.
#[derive(Debug)]
pub enum Pull<'a> {
    /// A captured frame; its timestamp is the one the kernel (or the file) gave it.
    Frame(Frame<'a>),
    /// Nothing arrived within the source's poll interval (at most about a second), or
    /// the interface is down and being retried. `now` is the wall clock for a live
    /// source (so windows can close while the network is silent), `None` for a file.
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
#[derive(Debug)]
pub struct SourceError {
    /// The interface or file.
    pub source_name: String,
    pub message: String,
    /// What the user can do about it, e.g. the `setcap` command that grants capture rights.
    pub hint: Option<String>,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_name, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

impl From<CaptureError> for SourceError {
    fn from(e: CaptureError) -> SourceError {
        SourceError {
            source_name: String::new(),
            message: e.to_string(),
            hint: None,
        }
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
}

/// A capture file read as if it were live (`leakypick monitor --replay FILE`): frames
/// as fast as they can be read, with their recorded timestamps.
pub struct FileSource {
    name: String,
    capture: CaptureSource,
}

impl FileSource {
    pub fn new(capture: CaptureSource) -> FileSource {
        FileSource {
            name: capture.name().to_string(),
            capture,
        }
    }

    /// Warnings of the underlying reader (truncation, skipped records).
    pub fn warnings(&self) -> Vec<crate::capture::CaptureWarning> {
        self.capture.warnings()
    }
}

impl FrameSource for FileSource {
    fn pull(&mut self) -> Result<Pull<'_>, SourceError> {
        match self.capture.next_frame() {
            Ok(Some(frame)) => Ok(Pull::Frame(frame)),
            Ok(None) => Ok(Pull::End),
            Err(e) => Err(SourceError {
                source_name: self.name.clone(),
                message: e.to_string(),
                hint: None,
            }),
        }
    }

    fn drop_stats(&mut self) -> Option<DropStats> {
        None
    }

    fn name(&self) -> &str {
        &self.name
    }
}
