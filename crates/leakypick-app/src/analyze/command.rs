//! `leakypick analyze`: what the command was asked, checked once, and its run.

use super::{analyze, render::write_analysis, AnalyzeOptions};
use crate::capture::{open_inputs, warn_all};
use crate::error::Result;
use crate::names::DeviceNames;
use crate::progress::Progress;
use crate::render::Format;
use crate::settings::{self, BurstSettings, VerdictSettings};
use std::io::Write;
use std::path::PathBuf;

/// Everything `analyze` was asked, as given.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeCommand {
    /// Capture files; none means the bundled sample.
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// A `--names` file.
    pub names: Option<PathBuf>,
    pub burst: BurstSettings,
    pub include_lan: bool,
    /// A probe log: print probing verdicts instead of the device table.
    pub probe_log: Option<PathBuf>,
    pub verdict: VerdictSettings,
}

/// Runs `analyze`: the device table and bursts, or the probing verdicts of a probe log.
pub fn run(cmd: &AnalyzeCommand, out: &mut dyn Write) -> Result<()> {
    let opts = AnalyzeOptions {
        burst: cmd.burst.resolve()?,
        scope: settings::scope(cmd.include_lan),
        names: match &cmd.names {
            Some(p) => DeviceNames::load(p)?,
            None => DeviceNames::default(),
        },
        ..AnalyzeOptions::default()
    };
    let session = match &cmd.probe_log {
        Some(_) => Some(cmd.verdict.session_config(opts.burst, opts.scope)?),
        None => None,
    };
    let mut sources = open_inputs(&cmd.files)?;
    if let (Some(log), Some(config)) = (&cmd.probe_log, session) {
        let attempts = crate::probing::read_probe_log(log)?;
        let progress = Progress::reading(&mut sources, "deciding");
        let (report, capture) =
            crate::probing::evaluate_capture(sources, attempts, config, opts.names)?;
        progress.finish();
        warn_all(&capture);
        crate::probing::render::write_session(out, &report, cmd.format)?;
        return Ok(out.flush()?);
    }
    let progress = Progress::reading(&mut sources, "");
    let report = analyze(sources, &opts)?;
    progress.finish();
    warn_all(&report.capture);
    if report.overflow_frames > 0 {
        eprintln!(
            "leakypick: warning: more than {} devices; {} of further devices not counted",
            opts.limits.max_devices,
            crate::render::count(report.overflow_frames, "frame")
        );
    }
    write_analysis(out, &report, cmd.format)?;
    Ok(out.flush()?)
}
