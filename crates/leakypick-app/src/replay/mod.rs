//! Sending capture files out of an interface (`leakypick replay`): to feed a monitor
//! with real traffic on a test network, or to measure how fast one keeps up.
//!
//! Frames are sent with libpcap's `pcap_sendpacket`, in file order, files one after the
//! other, the whole list `loops` times. Pacing follows the recorded timestamps (scaled by
//! a speed factor), a fixed bit rate, or none. A frame whose record was cut short by the
//! capture's snap length is padded with zeros to its original length, so the bytes on
//! the wire (what leakypick counts) are the recorded ones.

pub mod render;

use crate::capture::{CaptureSource, CaptureWarning};
use crate::monitor::live::{link_name, pcap_message, LiveOptions, OpenFailure};
use crate::monitor::source::SourceError;
use leakypick_core::decode::LinkType;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The largest frame replay pads a truncated record to (a corrupt original length is
/// not followed further).
const MAX_PADDED: usize = 262_144;

/// How frames are spaced in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// As recorded: the gaps between timestamps divided by `speed` (2.0 plays twice as fast).
    Recorded { speed: f64 },
    /// A constant bit rate in Mbit/s (frame bytes × 8, without preamble or gaps).
    Mbps(f64),
    /// As fast as the interface takes them.
    TopSpeed,
}

/// What to replay where.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// The interface to send on.
    pub interface: String,
    /// Capture files (pcap or pcapng), sent one after the other.
    pub files: Vec<PathBuf>,
    pub pacing: Pacing,
    /// How many times the whole list is sent (at least 1).
    pub loops: u32,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySummary {
    pub interface: String,
    pub files: Vec<String>,
    pub loops: u32,
    /// Frames sent.
    pub frames: u64,
    /// Bytes of the frames sent.
    pub bytes: u64,
    /// Frames the interface refused (too long, interface down, out of buffers).
    pub failed: u64,
    /// Frames padded with zeros to their original length (truncated records).
    pub padded: u64,
    /// From the first frame to the end of the last send.
    pub seconds: f64,
    /// The first send error, with how many frames it concerned in `failed`.
    pub first_error: Option<String>,
    /// Problems met while reading the files (a file cut short, records skipped).
    pub warnings: Vec<CaptureWarning>,
}

impl ReplaySummary {
    /// Achieved rate in Mbit/s (frame bytes only).
    pub fn mbps(&self) -> f64 {
        rate(self.bytes as f64 * 8.0 / 1e6, self.seconds)
    }

    /// Achieved frames per second.
    pub fn frames_per_sec(&self) -> f64 {
        rate(self.frames as f64, self.seconds)
    }
}

fn rate(amount: f64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        amount / seconds
    } else {
        0.0
    }
}

fn usage(interface: &str, message: impl Into<String>) -> SourceError {
    SourceError {
        source_name: interface.to_string(),
        message: message.into(),
        hint: None,
    }
}

/// A capture file problem, named by the file (the message already starts with it).
fn file_error(e: crate::capture::CaptureError) -> SourceError {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((name, rest)) => SourceError {
            source_name: name.to_string(),
            message: rest.to_string(),
            hint: None,
        },
        None => SourceError {
            source_name: "replay".to_string(),
            message: text,
            hint: None,
        },
    }
}

fn mismatch(file: &str, file_link: LinkType, iface: &str, iface_link: LinkType) -> SourceError {
    SourceError {
        source_name: file.to_string(),
        message: format!(
            "its frames are {} but interface '{iface}' sends {}: they cannot be replayed there",
            link_name(file_link),
            link_name(iface_link)
        ),
        hint: Some(
            "replay a capture onto an interface of the same kind (an Ethernet capture onto \
             an Ethernet or veth interface); 802.11 monitor-mode captures cannot be sent \
             on a wired interface"
                .to_string(),
        ),
    }
}

/// Opens the interface for sending. Failures are explained as for capture.
fn open_sender(interface: &str) -> Result<pcap::Capture<pcap::Active>, SourceError> {
    let options = LiveOptions::new(interface);
    let cap = pcap::Capture::from_device(interface)
        .and_then(|c| c.promisc(false).snaplen(128).timeout(100).open())
        .map_err(|e| OpenFailure::classify(&e).into_error(&options))?;
    let mut cap = cap;
    // Sending only: let the kernel discard everything the handle would capture.
    if let Err(e) = cap.filter("less 1", true) {
        log::debug!("{interface}: cannot set the discard filter: {e}");
    }
    Ok(cap)
}

/// Sends the files out of the interface; see the [module documentation](self).
///
/// Errors: bad options, an interface that cannot be opened (with the same hints as a
/// live capture: `setcap`, the interfaces that exist), a file that cannot be read, or
/// whose link type is not the interface's (checked for every file before anything is
/// sent). Frames the interface refuses are counted in [`ReplaySummary::failed`].
pub fn replay(opts: &ReplayOptions) -> Result<ReplaySummary, SourceError> {
    let iface = opts.interface.as_str();
    match opts.pacing {
        Pacing::Recorded { speed } if !(speed.is_finite() && speed > 0.0) => {
            return Err(usage(
                iface,
                format!("speed {speed}: give a factor above 0"),
            ));
        }
        Pacing::Mbps(r) if !(r.is_finite() && r > 0.0) => {
            return Err(usage(
                iface,
                format!("rate {r} Mbit/s: give a rate above 0"),
            ));
        }
        _ => {}
    }
    if opts.loops == 0 {
        return Err(usage(iface, "--loop 0: give at least 1"));
    }
    if opts.files.is_empty() {
        return Err(usage(iface, "no capture file to replay"));
    }
    if opts.files.iter().any(|p| p.as_os_str() == "-") {
        return Err(usage(
            iface,
            "replay reads files, not standard input ('-'): files are checked before sending and read again for every loop",
        ));
    }

    let mut cap = open_sender(iface)?;
    let iface_link =
        LinkType::from_linktype(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));

    // Check every file's link type before sending anything.
    for path in &opts.files {
        let mut src = CaptureSource::open(path).map_err(file_error)?;
        let name = src.name().to_string();
        if let Some(frame) = src.next_frame().map_err(file_error)? {
            if !same_link(frame.link, iface_link) {
                return Err(mismatch(&name, frame.link, iface, iface_link));
            }
        }
    }

    let mut summary = ReplaySummary {
        interface: iface.to_string(),
        files: opts.files.iter().map(|p| p.display().to_string()).collect(),
        loops: opts.loops,
        frames: 0,
        bytes: 0,
        failed: 0,
        padded: 0,
        seconds: 0.0,
        first_error: None,
        warnings: Vec::new(),
    };
    let mut pad = Vec::new();
    let start = Instant::now();
    let mut bits_scheduled: f64 = 0.0;
    for round in 0..opts.loops {
        for path in &opts.files {
            let mut src = CaptureSource::open(path).map_err(file_error)?;
            let name = src.name().to_string();
            // Recorded pacing: the file's first frame goes out now, the others at their
            // offsets from it.
            let mut anchor: Option<(Instant, i64)> = None;
            let mut index: u64 = 0;
            while let Some(frame) = src.next_frame().map_err(file_error)? {
                index += 1;
                if !same_link(frame.link, iface_link) {
                    return Err(SourceError {
                        message: format!(
                            "frame {index}: {}",
                            mismatch(&name, frame.link, iface, iface_link).message
                        ),
                        ..mismatch(&name, frame.link, iface, iface_link)
                    });
                }
                let wire = usize::try_from(frame.wire_len).unwrap_or(usize::MAX);
                let data: &[u8] = if frame.data.len() < wire && frame.data.len() < MAX_PADDED {
                    pad.clear();
                    pad.extend_from_slice(frame.data);
                    pad.resize(wire.min(MAX_PADDED), 0);
                    summary.padded += 1;
                    &pad
                } else {
                    frame.data
                };
                let target = match opts.pacing {
                    Pacing::TopSpeed => None,
                    Pacing::Recorded { speed } => {
                        let (at, first) = *anchor.get_or_insert((Instant::now(), frame.ts.0));
                        let offset_ns = frame.ts.0.saturating_sub(first).max(0) as f64 / speed;
                        Some(at + secs_duration(offset_ns / 1e9))
                    }
                    Pacing::Mbps(r) => {
                        let at = start + secs_duration(bits_scheduled / (r * 1e6));
                        bits_scheduled += data.len() as f64 * 8.0;
                        Some(at)
                    }
                };
                if let Some(t) = target {
                    wait_until(t);
                }
                match cap.sendpacket(data) {
                    Ok(()) => {
                        summary.frames += 1;
                        summary.bytes += data.len() as u64;
                    }
                    Err(e) => {
                        summary.failed += 1;
                        if summary.first_error.is_none() {
                            let msg = format!(
                                "{name} frame {index} ({} bytes, loop {}): {}",
                                data.len(),
                                round + 1,
                                pcap_message(&e)
                            );
                            log::warn!("{iface}: cannot send {msg}");
                            summary.first_error = Some(msg);
                        }
                    }
                }
            }
            if round == 0 {
                summary.warnings.extend(src.warnings());
            }
        }
    }
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Link types that carry the same frames (the raw-IP numbers differ between systems).
fn same_link(a: LinkType, b: LinkType) -> bool {
    LinkType::from_linktype(a.to_linktype()) == LinkType::from_linktype(b.to_linktype())
}

fn secs_duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// Sleeps until `t`. The schedule is absolute, so oversleeping one frame does not delay
/// the ones after it: they go out back to back until the schedule is met again.
fn wait_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        let left = t - now;
        if left >= Duration::from_micros(20) {
            std::thread::sleep(left);
        }
    }
}

/// Runs `replay`: sends the files, prints the summary. Frames the interface refused
/// are a warning; none sent at all is an error.
pub fn run(
    opts: &ReplayOptions,
    format: crate::render::Format,
    out: &mut dyn std::io::Write,
) -> crate::error::Result<()> {
    let summary = replay(opts)?;
    for w in &summary.warnings {
        eprintln!("leakypick: warning: {w}");
    }
    if let Some(first) = &summary.first_error {
        eprintln!(
            "leakypick: warning: {} not be sent; the first: {first}",
            crate::render::count_of(summary.failed, "frame could", "frames could")
        );
    }
    render::write_summary(out, &summary, format)?;
    out.flush()?;
    if summary.frames == 0 && summary.failed > 0 {
        return Err(crate::error::Error::usage(format!(
            "no frame could be sent on {}",
            summary.interface
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::render::{write_summary, CSV_COLUMNS};
    use super::*;
    use crate::render::Format;
    use serde_json::Value;

    fn summary() -> ReplaySummary {
        ReplaySummary {
            interface: "veth0".into(),
            files: vec!["a.pcap".into(), "b.pcap".into()],
            loops: 2,
            frames: 1000,
            bytes: 1_250_000,
            failed: 1,
            padded: 0,
            seconds: 2.0,
            first_error: Some("a.pcap frame 3: Message too long".into()),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn rates() {
        let s = summary();
        assert!((s.mbps() - 5.0).abs() < 1e-9);
        assert!((s.frames_per_sec() - 500.0).abs() < 1e-9);
        let zero = ReplaySummary {
            seconds: 0.0,
            ..summary()
        };
        assert_eq!(zero.mbps(), 0.0);
    }

    #[test]
    fn formats() {
        let s = summary();
        let mut out = Vec::new();
        write_summary(&mut out, &s, Format::Json).unwrap_or_else(|e| panic!("{e}"));
        let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["type"], "replay");
        assert_eq!(v["frames"], 1000);
        assert_eq!(v["mbps"], 5.0);
        // The CSV carries exactly the JSON fields, in order.
        let keys: Vec<&str> = v
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, CSV_COLUMNS);
        let mut out = Vec::new();
        write_summary(&mut out, &s, Format::Csv).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        let row = lines.next().unwrap_or_default();
        assert!(
            row.starts_with("replay,veth0,a.pcap;b.pcap,2,1000,1250000,1,0,2.0,5.0,500.0,"),
            "{row}"
        );
        let mut out = Vec::new();
        write_summary(&mut out, &s, Format::Table).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("FRAMES/S") && text.contains("Replayed 2 files 2 times."),
            "{text}"
        );
    }

    #[test]
    fn raw_ip_numbers_are_the_same_link() {
        assert!(same_link(LinkType::from_linktype(12), LinkType::RawIp));
        assert!(!same_link(LinkType::Ethernet, LinkType::Radiotap));
    }
}
