//! `leakypick compare`: what the command was asked, checked once, and its run.

use super::{compare_windows, render::write_comparison, CompareOptions, CompareReport, WindowSpec};
use crate::capture::{open_inputs, warn_all};
use crate::error::{Error, Result};
use crate::process::wall_clock;
use crate::progress::Progress;
use crate::render::{human_time, Format};
use crate::settings;
use crate::timespec::TimeSpec;
use leakypick_core::probe::{Decision, ProbeConfig, ProbeTest};
use leakypick_core::stats::AutoBinRule;
use leakypick_core::{DestinationScope, DeviceKey, Timestamp};
use std::io::Write;
use std::path::PathBuf;

/// Everything `compare` was asked, as given.
#[derive(Debug, Clone)]
pub struct CompareCommand {
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub device: DeviceKey,
    pub idle: WindowSpec,
    pub probe: WindowSpec,
    /// The tests to run (`--probe-test`; `all` gives every test).
    pub tests: Vec<ProbeTest>,
    pub p_threshold: f64,
    /// Which p-value decides (`--p-value`).
    pub decision: Decision,
    pub bin_rule: AutoBinRule,
    pub cloud_only: bool,
}

/// Runs `compare`. A window that lies outside the captures is an error (it is almost
/// always a relative time written without its `+`).
pub fn run(cmd: &CompareCommand, out: &mut dyn Write) -> Result<()> {
    let opts = CompareOptions {
        device: cmd.device,
        idle: cmd.idle,
        probe: cmd.probe,
        tests: cmd.tests.clone(),
        config: ProbeConfig {
            threshold: settings::p_threshold(cmd.p_threshold)?,
            decision: cmd.decision,
            bin_rule: cmd.bin_rule,
            ..ProbeConfig::paper()
        },
        scope: if cmd.cloud_only {
            DestinationScope::Cloud
        } else {
            DestinationScope::All
        },
        // Only a bound given as a time ago (`--idle 2h,1h`) uses the clock.
        now: Some(wall_clock()),
    };
    let mut sources = open_inputs(&cmd.files)?;
    let progress = Progress::reading(&mut sources, "comparing");
    let report = compare_windows(sources, &opts)?;
    progress.finish();
    warn_all(&report.capture);
    check_windows(cmd, &report)?;
    if report.device_packets == 0 {
        eprintln!(
            "leakypick: warning: device {} sent no frames in scope in these captures",
            cmd.device
        );
    } else if report.device != report.asked {
        eprintln!(
            "leakypick: {} is the address of device {}; comparing its frames",
            report.asked, report.device
        );
    }
    write_comparison(out, &report, cmd.format)?;
    Ok(out.flush()?)
}

/// A window that lies outside the captures is an error: it is almost always a time
/// after the first packet written without its `+` (`--idle 0,19`). When the window read
/// that way lies in the captures, the message says so.
fn check_windows(cmd: &CompareCommand, report: &CompareReport) -> Result<()> {
    let (Some(first), Some(last)) = (report.capture.first, report.capture.last) else {
        return Ok(());
    };
    let outside = |w: (Timestamp, Timestamp)| w.1 <= first || w.0 > last;
    for (flag, spec, w) in [
        ("--idle", cmd.idle, report.idle),
        ("--probe", cmd.probe, report.probe),
    ] {
        if !outside(w) {
            continue;
        }
        let meant = match (spec.start, spec.end) {
            (TimeSpec::At(a), TimeSpec::At(b))
                if a.0 >= 0
                    && !outside((
                        Timestamp(first.0.saturating_add(a.0)),
                        Timestamp(first.0.saturating_add(b.0)),
                    )) =>
            {
                Some(format!("{flag} +{},+{}", TimeSpec::At(a), TimeSpec::At(b)))
            }
            _ => None,
        };
        let ago = matches!(spec.start, TimeSpec::Ago(_)) || matches!(spec.end, TimeSpec::Ago(_));
        let advice = match meant {
            Some(m) => {
                format!("for seconds after the first packet, write a '+' before each bound: {m}")
            }
            None if ago => "a time ago (like 2h) counts back from now; for times in the \
                            captures write +S seconds after the first packet, e.g. +0,+19"
                .into(),
            None => "times after the first packet are written with a '+', e.g. +0,+19".into(),
        };
        return Err(Error::usage(format!(
            "{flag} window {} to {} UTC lies outside the captures ({} to {} UTC): {advice}",
            human_time(w.0),
            human_time(w.1),
            human_time(first),
            human_time(last)
        )));
    }
    Ok(())
}
