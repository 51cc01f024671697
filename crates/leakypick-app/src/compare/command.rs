//! `leakypick compare`: what the command was asked, checked once, and its run.

use super::{compare_windows, render::write_comparison, CompareOptions, CompareReport, WindowSpec};
use crate::capture::{open_inputs, warn_all};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::render::{human_time, Format};
use crate::settings;
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
    };
    let mut sources = open_inputs(&cmd.files)?;
    let progress = Progress::reading(&mut sources, "comparing");
    let report = compare_windows(sources, &opts)?;
    progress.finish();
    warn_all(&report.capture);
    check_windows(&report)?;
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

fn check_windows(report: &CompareReport) -> Result<()> {
    let (Some(first), Some(last)) = (report.capture.first, report.capture.last) else {
        return Ok(());
    };
    let outside = |w: (Timestamp, Timestamp)| w.1 <= first || w.0 > last;
    for (flag, w) in [("--idle", report.idle), ("--probe", report.probe)] {
        if outside(w) {
            return Err(Error::usage(format!(
                "{flag} window {} to {} UTC lies outside the captures ({} to {} UTC): \
                 times after the first packet are written with a '+', e.g. +0,+19",
                human_time(w.0),
                human_time(w.1),
                human_time(first),
                human_time(last)
            )));
        }
    }
    Ok(())
}
