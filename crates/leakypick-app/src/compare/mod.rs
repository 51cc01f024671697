//! `leakypick compare`: statistical probing between an idle and a probe window of a capture.

pub mod command;
pub mod render;
use crate::capture::{read_merged, CaptureError, CaptureSource, CaptureStats};
use leakypick_core::probe::{compare, Comparison, ProbeConfig, ProbeTest, WindowSample};
use leakypick_core::{is_upload, DestinationScope, DeviceKey, Packet, Timestamp};
use std::fmt;

/// One end of a window: an absolute time, or an offset from the capture's first packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Absolute(Timestamp),
    /// Nanoseconds after the first packet.
    Relative(i64),
}

impl Bound {
    fn resolve(self, first: Timestamp) -> Timestamp {
        match self {
            Bound::Absolute(t) => t,
            Bound::Relative(n) => Timestamp(first.0.saturating_add(n)),
        }
    }
}

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    pub start: Bound,
    pub end: Bound,
}

/// Why a window argument cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpecError(pub String);

impl fmt::Display for WindowSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WindowSpecError {}

impl std::str::FromStr for WindowSpec {
    type Err = WindowSpecError;

    /// Parses `START,END`, each either epoch seconds (`1573893986.5`) or `+S`, seconds
    /// after the first packet (`+20`).
    fn from_str(s: &str) -> Result<WindowSpec, WindowSpecError> {
        let err = |why: &str| {
            WindowSpecError(format!(
                "'{s}' is not a window: {why} (expected START,END in epoch seconds, or +S seconds after the first packet, e.g. +0,+19)"
            ))
        };
        let (a, b) = s.split_once(',').ok_or_else(|| err("no comma"))?;
        let parse = |t: &str| -> Result<Bound, WindowSpecError> {
            let t = t.trim();
            let (rel, num) = match t.strip_prefix('+') {
                Some(rest) => (true, rest),
                None => (false, t),
            };
            let secs: f64 = num
                .parse()
                .map_err(|_| err(&format!("'{t}' is not a number")))?;
            let ts = Timestamp::from_secs_f64(secs)
                .filter(|_| secs.is_finite())
                .ok_or_else(|| err(&format!("'{t}' is out of range")))?;
            if rel {
                if secs < 0.0 {
                    return Err(err("a relative time cannot be negative"));
                }
                Ok(Bound::Relative(ts.0))
            } else {
                Ok(Bound::Absolute(ts))
            }
        };
        let spec = WindowSpec {
            start: parse(a)?,
            end: parse(b)?,
        };
        let ordered = match (spec.start, spec.end) {
            (Bound::Absolute(x), Bound::Absolute(y)) => x < y,
            (Bound::Relative(x), Bound::Relative(y)) => x < y,
            _ => true,
        };
        if !ordered {
            return Err(err("the end is not after the start"));
        }
        Ok(spec)
    }
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

/// Collects the device's frames in both windows and runs the tests.
pub fn compare_windows(
    sources: Vec<CaptureSource>,
    opts: &CompareOptions,
) -> Result<CompareReport, CaptureError> {
    let mut first: Option<Timestamp> = None;
    let mut windows: Option<((Timestamp, Timestamp), (Timestamp, Timestamp))> = None;
    let mut idle = WindowSample::default();
    let mut probe = WindowSample::default();
    let mut device_packets = 0u64;
    // A device given by IP address on a capture with MAC addresses is the device (by
    // MAC) that sends from that address, as `analyze` lists it.
    let mut resolved: Option<DeviceKey> = None;
    let capture = read_merged(sources, |p: &Packet| {
        let f = *first.get_or_insert(p.ts);
        let ((is, ie), (ps, pe)) = *windows.get_or_insert_with(|| {
            (
                (opts.idle.start.resolve(f), opts.idle.end.resolve(f)),
                (opts.probe.start.resolve(f), opts.probe.end.resolve(f)),
            )
        });
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
    let (idle_w, probe_w) = windows.unwrap_or_else(|| {
        let f = Timestamp(0);
        (
            (opts.idle.start.resolve(f), opts.idle.end.resolve(f)),
            (opts.probe.start.resolve(f), opts.probe.end.resolve(f)),
        )
    });
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
        assert_eq!(w.start, Bound::Relative(0));
        assert_eq!(w.end, Bound::Relative(19_500_000_000));
        let w: WindowSpec = "1573893986,1573894000".parse().unwrap();
        assert_eq!(
            w.start,
            Bound::Absolute(Timestamp(1_573_893_986_000_000_000))
        );
        for bad in ["", "+5", "+5,+2", "a,b", "+1,+inf", "+-1,+2", "10,5"] {
            assert!(bad.parse::<WindowSpec>().is_err(), "{bad} should fail");
        }
    }
}
