//! `leakypick simulate`: what the command was asked, checked once, and its run.
//!
//! Both files are written through [`AtomicFile`]s: an existing capture or labels file
//! is replaced only by a complete new one, the two are committed together, and nothing
//! is left behind on failure (a bad path, a full disk, a time pcap cannot store,
//! SIGTERM or Ctrl-C). One file named by both `--out` and `--labels`, under any
//! spelling or link, is refused before anything is created.

use super::{parse_device_spec, parse_duration, render::write_simulation};
use super::{simulate, SimulateOptions};
use crate::error::{Error, Result};
use crate::files::{check_distinct, commit_all, AtomicFile, StopOnSignal};
use crate::process::stop_on_signals;
use crate::render::Format;
use crate::timespec::TimeSpec;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Everything `simulate` was asked, as given.
#[derive(Debug, Clone)]
pub struct SimulateCommand {
    /// `KIND[:COUNT][@SCHEDULE],...`
    pub devices: String,
    /// `3600`, `90s`, `2h`, `7d`.
    pub duration: String,
    pub seed: u64,
    pub start: Option<String>,
    pub snaplen: Option<u32>,
    pub min_gap: Option<String>,
    /// The capture; `-` is standard output.
    pub out: PathBuf,
    /// The labels; default: beside the capture, `.labels.csv`.
    pub labels: Option<PathBuf>,
    pub format: Format,
}

/// Runs `simulate`. The summary goes to `out`, or to `err` when the capture itself
/// goes to standard output.
pub fn run(cmd: &SimulateCommand, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let spec_err = |flag: &str, e: &dyn std::fmt::Display| Error::usage(format!("{flag}: {e}"));
    let mut opts = SimulateOptions {
        devices: parse_device_spec(&cmd.devices).map_err(|e| spec_err("--devices", &e))?,
        duration_ns: parse_duration(&cmd.duration).map_err(|e| spec_err("--duration", &e))?,
        seed: cmd.seed,
        snaplen: cmd.snaplen,
        ..SimulateOptions::default()
    };
    if let Some(start) = &cmd.start {
        opts.start = TimeSpec::parse_instant(start).map_err(|e| spec_err("--start", &e))?;
    }
    if let Some(gap) = &cmd.min_gap {
        opts.min_gap_ns = parse_duration(gap).map_err(|e| spec_err("--min-gap", &e))?;
    }
    let to_stdout = cmd.out.as_os_str() == "-";
    let labels_path = match (&cmd.labels, to_stdout) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            return Err(Error::usage(
                "--labels FILE is needed when the capture goes to standard output",
            ))
        }
        (None, false) => {
            let stem = cmd.out.file_stem().unwrap_or_default().to_string_lossy();
            cmd.out.with_file_name(format!("{stem}.labels.csv"))
        }
    };
    if !to_stdout {
        check_distinct(("--out", &cmd.out), ("--labels", &labels_path))?;
    }
    // A stop request (SIGTERM, Ctrl-C) fails the next write, which ends the run through
    // the error path below: installed before any file exists, so no signal can leave
    // one behind.
    let stop = stop_on_signals()
        .map_err(|e| Error::usage(format!("cannot install the signal handlers: {e}")))?;
    // Both files are created (as temporary files) before any work, so a bad path fails
    // at once; dropping them on any error removes them.
    let labels = AtomicFile::create(&labels_path)?;
    let mut labels_out = StopOnSignal::new(labels.file(), &stop);
    let (summary, files) = if to_stdout {
        let stdout = std::io::stdout();
        let mut pcap_out = StopOnSignal::new(stdout.lock(), &stop);
        let summary = simulate(&opts, &mut pcap_out, &mut labels_out);
        (summary, vec![labels])
    } else {
        let pcap = AtomicFile::create(&cmd.out)?;
        let mut pcap_out = StopOnSignal::new(pcap.file(), &stop);
        let summary = simulate(&opts, &mut pcap_out, &mut labels_out);
        (summary, vec![pcap, labels])
    };
    if stop.load(Ordering::Relaxed) {
        // `files` is dropped: the temporary files are removed.
        return Err(Error::usage(
            "stopped by a signal before the simulation was complete: no file was written",
        ));
    }
    let summary = summary?;
    // Both or neither: an existing capture and labels file are replaced together.
    commit_all(files)?;
    let out_name = if to_stdout {
        "-".to_string()
    } else {
        cmd.out.display().to_string()
    };
    let target: &mut dyn Write = if to_stdout { err } else { out };
    write_simulation(
        target,
        &summary,
        &out_name,
        &labels_path.display().to_string(),
        cmd.format,
    )?;
    Ok(target.flush()?)
}
