//! `leakypick evaluate`: what the command was asked, checked once, and its run.

use super::labels::{self, DeviceMap, LabelSet};
use super::render::{write_evaluation, write_out_dir, EvalSections};
use super::{evaluate, DeviceSelection, EvaluateOptions};
use crate::capture::{open_inputs, warn_all};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::render::Format;
use crate::settings::{self, Preset};
use leakypick_core::eval::MatchRule;
use leakypick_core::DeviceKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How the labels are written (`--labels-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelsFormat {
    /// leakypick's labels CSV (what `simulate` writes).
    #[default]
    Native,
    /// An IFTTT event log, with a device map and a time zone.
    Ifttt,
    /// Counts encoded in the capture files' names.
    Filename,
}

/// Which detectors to score (`--detector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detectors {
    Burst,
    Stat,
    #[default]
    All,
}

/// Everything `evaluate` was asked, as given.
#[derive(Debug, Clone)]
pub struct EvaluateCommand {
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub labels: Vec<PathBuf>,
    pub labels_format: LabelsFormat,
    /// IFTTT: `NAME=MAC,...` or a file of such lines.
    pub device_map: Option<String>,
    /// IFTTT: the log's time zone.
    pub tz: String,
    /// File-name labels: the device the counts belong to.
    pub label_device: Option<DeviceKey>,
    pub detector: Detectors,
    pub tolerance_s: f64,
    pub slot_s: f64,
    pub all_devices: bool,
    /// Print every section (sweeps, ROC, p-values), also in the table.
    pub full: bool,
    /// Write the report into this directory.
    pub out_dir: Option<PathBuf>,
}

/// Reads the labels as `--labels-format` says.
pub fn read_labels(cmd: &EvaluateCommand) -> Result<LabelSet> {
    let mut set = LabelSet::default();
    match cmd.labels_format {
        LabelsFormat::Native => {
            if cmd.labels.is_empty() {
                return Err(Error::usage(
                    "--labels FILE is needed (or --labels-format filename)",
                ));
            }
            for p in &cmd.labels {
                set.extend(labels::read_native(p)?);
            }
        }
        LabelsFormat::Ifttt => {
            if cmd.labels.is_empty() {
                return Err(Error::usage("--labels FILE is needed for an IFTTT log"));
            }
            let map_text = cmd.device_map.as_deref().ok_or_else(|| {
                Error::usage(
                    "--device-map NAME=MAC is needed for an IFTTT log \
                     (e.g. blink-cam-01=f4:b8:5e:ff:2b:1b)",
                )
            })?;
            let map_path = Path::new(map_text);
            let map = if map_path.is_file() {
                DeviceMap::load(map_path)
            } else {
                DeviceMap::parse(map_text)
            }
            .map_err(|e| Error::usage(format!("--device-map: {e}")))?;
            let tz = labels::time_zone(&cmd.tz).map_err(|e| Error::usage(format!("--tz: {e}")))?;
            for p in &cmd.labels {
                set.extend(labels::read_ifttt(p, &map, &tz)?);
            }
        }
        LabelsFormat::Filename => {
            if cmd.files.is_empty() {
                return Err(Error::usage(
                    "--labels-format filename needs capture files whose names encode the utterances",
                ));
            }
            for f in &cmd.files {
                set.extend(labels::from_file_name(
                    &f.display().to_string(),
                    cmd.label_device,
                )?);
            }
        }
    }
    Ok(set)
}

/// Runs `evaluate`: scores, optionally the report directory, then the printed records.
pub fn run(cmd: &EvaluateCommand, out: &mut dyn Write) -> Result<()> {
    let rule = MatchRule::with_tolerance_secs(cmd.tolerance_s).ok_or_else(|| {
        settings::SettingError::new(
            "--tolerance",
            cmd.tolerance_s,
            "a non-negative number of seconds",
        )
    })?;
    let mut opts = EvaluateOptions {
        burst: cmd.detector != Detectors::Stat,
        stat: cmd.detector != Detectors::Burst,
        rule,
        slot_nanos: settings::positive_secs("--slot", cmd.slot_s)?,
        devices: if cmd.all_devices {
            DeviceSelection::AllSeen
        } else {
            DeviceSelection::Labelled
        },
        ..EvaluateOptions::default()
    };
    opts.burst_named
        .push(("adaptive".to_string(), Preset::Adaptive.burst_config()));
    let labels = read_labels(cmd)?;
    let mut sources = open_inputs(&cmd.files)?;
    let progress = Progress::reading(&mut sources, "scoring the configurations");
    let report = evaluate(sources, &labels, &opts)?;
    progress.finish();
    warn_all(&report.capture);
    if let Some(dir) = &cmd.out_dir {
        let written = write_out_dir(dir, &report)
            .map_err(|e| Error::usage(format!("writing the report into {}: {e}", dir.display())))?;
        eprintln!(
            "leakypick: wrote {} into {}",
            crate::render::count(written.len(), "file"),
            dir.display()
        );
    }
    let sections = EvalSections {
        labels: cmd.format != Format::Table || cmd.full,
        sweep_metrics: cmd.full,
        roc: cmd.full,
        detections: true,
        pvalues: cmd.full,
        rates: cmd.full && cmd.format != Format::Table,
    };
    write_evaluation(out, &report, cmd.format, sections)?;
    Ok(out.flush()?)
}
