//! `leakypick compare`: statistical probing between an idle and a probe window of a capture.

pub mod command;
pub mod render;
use crate::capture::{read_merged, CaptureError, CaptureSource, CaptureStats};
use crate::render::human_time;
use crate::timespec::{Forms, TimeError, TimeSpec};
use leakypick_core::probe::{compare, Comparison, ProbeConfig, ProbeTest, WindowSample};
use leakypick_core::{is_upload, DestinationScope, DeviceKey, Packet, Timestamp};

/// A half-open time window `[start, end)`; each bound any form of [`TimeSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub start: TimeSpec,
    pub end: TimeSpec,
}

/// Why a window argument (`START,END`) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowSpecError {
    #[error(
        "'{text}' is not a window: expected START,END, e.g. +0,+19, each bound {}",
        Forms::ANY
    )]
    NoComma { text: String },
    #[error("'{text}' is not a window: its {which}: {error}")]
    Bound {
        text: String,
        which: &'static str,
        error: TimeError,
    },
    #[error(
        "'{text}' is not a window: the end '{end}' is not after the start '{start}' \
         (expected START,END, e.g. +0,+19)"
    )]
    Backwards {
        text: String,
        start: String,
        end: String,
    },
}

impl std::str::FromStr for WindowSpec {
    type Err = WindowSpecError;

    /// Parses `START,END`, each bound any form of [`TimeSpec`]: epoch seconds
    /// (`1573893986.5`), `+S` after the first packet (`+20`), RFC 3339, a date, or a
    /// time ago (`2h`).
    fn from_str(s: &str) -> Result<WindowSpec, WindowSpecError> {
        let text = s.trim();
        let (a, b) = text
            .split_once(',')
            .ok_or_else(|| WindowSpecError::NoComma {
                text: text.to_string(),
            })?;
        let bound = |which: &'static str, t: &str| {
            TimeSpec::parse(t).map_err(|error| WindowSpecError::Bound {
                text: text.to_string(),
                which,
                error,
            })
        };
        let spec = WindowSpec {
            start: bound("start", a)?,
            end: bound("end", b)?,
        };
        // Bounds of the same form can be checked now; mixed ones once resolved.
        let ordered = match (spec.start, spec.end) {
            (TimeSpec::At(x), TimeSpec::At(y)) => x < y,
            (TimeSpec::AfterFirst(x), TimeSpec::AfterFirst(y)) => x < y,
            (TimeSpec::Ago(x), TimeSpec::Ago(y)) => x > y,
            _ => true,
        };
        if !ordered {
            return Err(WindowSpecError::Backwards {
                text: text.to_string(),
                start: a.trim().to_string(),
                end: b.trim().to_string(),
            });
        }
        Ok(spec)
    }
}

impl WindowSpec {
    /// The window's instants, given the capture's first packet and the wall clock.
    pub fn resolve(
        self,
        first_packet: Option<Timestamp>,
        now: Option<Timestamp>,
    ) -> Result<(Timestamp, Timestamp), TimeError> {
        Ok((
            self.start.resolve(first_packet, now)?,
            self.end.resolve(first_packet, now)?,
        ))
    }
}

/// Why `compare` could not run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A window that cannot be resolved (a time out of range, or a time ago without
    /// the clock).
    #[error("the {flag} window {window}: {error}")]
    Window {
        flag: &'static str,
        window: String,
        error: TimeError,
    },
    /// Bounds of different forms that, resolved, give an empty window.
    #[error(
        "the {flag} window {window} is empty: resolved, it runs from {} to {} UTC; give an \
         end after the start",
        human_time(*start),
        human_time(*end)
    )]
    Empty {
        flag: &'static str,
        window: String,
        start: Timestamp,
        end: Timestamp,
    },
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    pub device: DeviceKey,
    pub idle: WindowSpec,
    pub probe: WindowSpec,
    pub tests: Vec<ProbeTest>,
    pub config: ProbeConfig,
    /// Which of the device's frames count. `All` (the default) takes every frame the
    /// device sent, whatever its destination or protocol, as the paper does; `Cloud`
    /// keeps only its uploads to the cloud.
    pub scope: DestinationScope,
    /// The wall clock, for bounds given as a time ago (`None`: such bounds fail).
    pub now: Option<Timestamp>,
}

/// The result of `compare`: one comparison per requested test.
#[derive(Debug, Clone)]
pub struct CompareReport {
    /// The device compared: as asked, or the MAC that sent from the IP address asked for.
    pub device: DeviceKey,
    /// The device as given on the command line.
    pub asked: DeviceKey,
    /// The resolved windows.
    pub idle: (Timestamp, Timestamp),
    pub probe: (Timestamp, Timestamp),
    pub comparisons: Vec<Comparison>,
    pub capture: CaptureStats,
    /// Frames the device sent anywhere in the captures (in scope).
    pub device_packets: u64,
}

/// Collects the device's frames in both windows and runs the tests. Bounds after the
/// first packet count from the first packet of the merged captures (from the epoch when
/// there is none).
pub fn compare_windows(
    sources: Vec<CaptureSource>,
    opts: &CompareOptions,
) -> Result<CompareReport, CompareError> {
    type Windows = ((Timestamp, Timestamp), (Timestamp, Timestamp));
    let resolve = |first: Timestamp| -> Result<Windows, CompareError> {
        let one = |flag: &'static str, w: WindowSpec| {
            let window = format!("{},{}", w.start, w.end);
            match w.resolve(Some(first), opts.now) {
                Ok((start, end)) if end <= start => Err(CompareError::Empty {
                    flag,
                    window,
                    start,
                    end,
                }),
                Ok(resolved) => Ok(resolved),
                Err(error) => Err(CompareError::Window {
                    flag,
                    window,
                    error,
                }),
            }
        };
        Ok((one("--idle", opts.idle)?, one("--probe", opts.probe)?))
    };
    let mut windows: Option<Result<Windows, CompareError>> = None;
    let mut idle = WindowSample::default();
    let mut probe = WindowSample::default();
    let mut device_packets = 0u64;
    // A device given by IP address on a capture with MAC addresses is the device (by
    // MAC) that sends from that address, as `analyze` lists it.
    let mut resolved: Option<DeviceKey> = None;
    let capture = read_merged(sources, |p: &Packet| {
        let Ok(((is, ie), (ps, pe))) = windows.get_or_insert_with(|| resolve(p.ts)) else {
            return;
        };
        let ((is, ie), (ps, pe)) = ((*is, *ie), (*ps, *pe));
        let sender = DeviceKey::sender(&p.meta);
        if let (DeviceKey::Ip(ip), None, Some(key @ DeviceKey::Mac(_))) =
            (opts.device, resolved, sender)
        {
            if p.meta.src_ip == Some(ip) {
                resolved = Some(key);
            }
        }
        if sender.is_none() || (sender != Some(opts.device) && sender != resolved) {
            return;
        }
        if opts.scope == DestinationScope::Cloud && !is_upload(&p.meta, DestinationScope::Cloud) {
            return;
        }
        device_packets += 1;
        if p.ts >= is && p.ts < ie {
            idle.push(p.ts, p.wire_len);
        }
        if p.ts >= ps && p.ts < pe {
            probe.push(p.ts, p.wire_len);
        }
    })?;
    let (idle_w, probe_w) = windows.unwrap_or_else(|| resolve(Timestamp(0)))?;
    let comparisons = opts
        .tests
        .iter()
        .map(|&test| {
            compare(
                &idle,
                &probe,
                ProbeConfig {
                    test,
                    ..opts.config
                },
            )
        })
        .collect();
    Ok(CompareReport {
        device: resolved.unwrap_or(opts.device),
        asked: opts.device,
        idle: idle_w,
        probe: probe_w,
        comparisons,
        capture,
        device_packets,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows() {
        let w: WindowSpec = "+0,+19.5".parse().unwrap();
        assert_eq!(w.start, TimeSpec::AfterFirst(0));
        assert_eq!(w.end, TimeSpec::AfterFirst(19_500_000_000));
        let w: WindowSpec = "1573893986,1573894000".parse().unwrap();
        assert_eq!(w.start, TimeSpec::At(Timestamp(1_573_893_986_000_000_000)));
        let w: WindowSpec = "2019-11-16T08:46:30Z, +19".parse().unwrap();
        assert_eq!(w.start, TimeSpec::At(Timestamp(1_573_893_990_000_000_000)));
        assert_eq!(w.end, TimeSpec::AfterFirst(19_000_000_000));
        let w: WindowSpec = "2h,1h".parse().unwrap();
        let now = Timestamp(10_000_000_000_000);
        assert_eq!(
            w.resolve(None, Some(now)),
            Ok((
                Timestamp(now.0 - 7_200_000_000_000),
                Timestamp(now.0 - 3_600_000_000_000)
            ))
        );
        for bad in [
            "", "+5", "+5,+2", "a,b", "+1,+inf", "+-1,+2", "10,5", "1h,2h",
        ] {
            assert!(bad.parse::<WindowSpec>().is_err(), "{bad} should fail");
        }
        let e = "+5".parse::<WindowSpec>().unwrap_err().to_string();
        assert!(e.contains("expected START,END, e.g. +0,+19"), "{e}");
        let e = "+0,soon".parse::<WindowSpec>().unwrap_err().to_string();
        assert!(
            e.starts_with("'+0,soon' is not a window: its end: 'soon' is not a time"),
            "{e}"
        );
        let e = "10,5".parse::<WindowSpec>().unwrap_err().to_string();
        assert!(e.contains("the end '5' is not after the start '10'"), "{e}");
    }
}
