//! `leakypick monitor`: what the command was asked (flags over the configuration
//! file), checked once before anything is opened, and its run.

use super::alert::Alerter;
use super::config::{Config, Destinations, LogLevel, Preset};
use super::source::{FileSource, FrameSource};
use super::{write_event, Monitor, MonitorOptions, CSV_HEADER};
use crate::capture::CaptureSource;
use crate::error::{Error, Result};
use crate::history::command::open_for_writing;
use crate::names::DeviceNames;
use crate::process::{init_logging, stop_on_signals};
use crate::render::Format;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Everything `monitor` was asked, as given. Every flag that is set overrides the
/// configuration file's key of the same meaning.
#[derive(Debug, Clone, Default)]
pub struct MonitorCommand {
    pub config: Option<PathBuf>,
    pub interface: Option<String>,
    pub replay: Option<PathBuf>,
    pub replay_speed: Option<f64>,
    pub filter: Option<String>,
    pub monitor_mode: bool,
    pub preset: Option<Preset>,
    pub burst_window_s: Option<f64>,
    pub threshold_kbps: Option<f64>,
    pub min_windows: Option<u32>,
    pub include_lan: bool,
    pub names: Option<PathBuf>,
    pub log_level: Option<LogLevel>,
    pub data_dir: Option<PathBuf>,
    pub format: Format,
}

impl MonitorCommand {
    /// The configuration file with the flags applied.
    fn settings(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let d = &mut config.detect;
        if let Some(p) = self.preset {
            d.preset = p;
        }
        if self.burst_window_s.is_some() {
            d.window_s = self.burst_window_s;
        }
        if self.threshold_kbps.is_some() {
            d.threshold_kbps = self.threshold_kbps;
        }
        if self.min_windows.is_some() {
            d.min_windows = self.min_windows;
        }
        if self.include_lan {
            d.destinations = Destinations::All;
        }
        if let Some(l) = self.log_level {
            config.logging.level = l;
        }
        if self.interface.is_some() {
            config.capture.interface = self.interface.clone();
        }
        if self.filter.is_some() {
            config.capture.filter = self.filter.clone();
        }
        config.capture.monitor_mode |= self.monitor_mode;
        if self.data_dir.is_some() {
            config.history.data_dir = self.data_dir.clone();
        }
        Ok(config)
    }
}

fn level_filter(l: LogLevel) -> log::LevelFilter {
    match l {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    }
}

/// Runs the monitor until the source ends (a replay) or SIGTERM/SIGINT.
pub fn run(cmd: &MonitorCommand, out: &mut dyn Write) -> Result<()> {
    let config = cmd.settings()?;
    init_logging(level_filter(config.logging.level));
    let burst = config.burst_config().map_err(|e| {
        Error::usage(format!(
            "{}: {e}",
            cmd.config
                .as_ref()
                .map_or("the settings".to_string(), |p| p.display().to_string())
        ))
    })?;
    let mut names = config.names();
    if let Some(p) = &cmd.names {
        names.merge(DeviceNames::load(p)?);
    }

    // Check everything that can be wrong before touching the history or the network.
    let mut source: Box<dyn FrameSource> = match &cmd.replay {
        Some(file) => Box::new(open_replay(cmd, &config, file)?),
        None => open_live(&config)?,
    };
    let alerter = Alerter::new(&config.alerts)?;
    let store = open_for_writing(config.history.data_dir.as_deref())?;
    log::info!(
        "monitoring {}; history in {}",
        source.name(),
        store.path().display()
    );
    let opts = MonitorOptions {
        burst,
        preset: config.detect.preset.name().into(),
        scope: config.scope(),
        limits: leakypick_core::InventoryLimits {
            max_devices: config.limits.max_devices,
            ..Default::default()
        },
        names,
        flush_interval: std::time::Duration::from_secs(u64::from(
            config.history.flush_interval_s.max(1),
        )),
        retention_days: (config.history.retention_days > 0)
            .then_some(config.history.retention_days),
        ..MonitorOptions::default()
    };
    let monitor = Monitor::new(opts, store, alerter)?;

    let stop = stop_on_signals()
        .map_err(|e| Error::usage(format!("cannot install the signal handlers: {e}")))?;
    if cmd.format == Format::Csv {
        writeln!(out, "{CSV_HEADER}")?;
        out.flush()?;
    }
    let mut write_error: Option<std::io::Error> = None;
    let result = monitor.run(source.as_mut(), &stop, &mut |event| {
        if write_error.is_none() {
            let r = write_event(out, event, cmd.format).and_then(|()| out.flush());
            if let Err(e) = r {
                write_error = Some(e);
            }
        }
    });
    // A replayed file that breaks off or has records skipped: said as `analyze` says it.
    for w in source.warnings() {
        eprintln!("leakypick: warning: {w}");
    }
    let summary = result?;
    log::info!(
        "stopped: {}, {}, {}{}",
        crate::render::count(summary.frames, "frame"),
        crate::render::count(summary.devices, "device"),
        crate::render::count(summary.detections, "detection"),
        summary.drops.map_or(String::new(), |d| format!(
            "; kernel dropped {} and the interface {} of {} packets",
            d.dropped_kernel, d.dropped_interface, d.received
        ))
    );
    match write_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Opens the `--replay` file, paced and filtered as asked. The filter (`--filter`, or
/// `capture.filter` in the config) is applied to every replayed frame as the kernel
/// applies it live; a build without libpcap cannot compile it and refuses it rather than
/// replay frames a live capture would not see.
fn open_replay(cmd: &MonitorCommand, config: &Config, file: &Path) -> Result<FileSource> {
    let speed = match cmd.replay_speed {
        Some(x) if !(x.is_finite() && x > 0.0) => {
            return Err(crate::settings::SettingError::new(
                "--replay-speed",
                x,
                "a positive number",
            )
            .into())
        }
        speed => speed,
    };
    let filter = config.capture.filter.as_deref();
    #[cfg(not(feature = "live"))]
    if let Some(expr) = filter {
        let given = match (&cmd.filter, &cmd.config) {
            (None, Some(path)) => format!("`capture.filter` in {}", path.display()),
            _ => "--filter".to_string(),
        };
        return Err(Error::usage(format!(
            "{given} ('{expr}') cannot be applied to --replay: this build of leakypick has no \
             libpcap to compile filters; rebuild it with `cargo build --release --features \
             live` (needs libpcap-dev), or replay without the filter"
        )));
    }
    let capture = CaptureSource::open(file)?;
    let source = match speed {
        Some(x) => FileSource::paced(capture, x),
        None => FileSource::new(capture),
    };
    #[cfg(feature = "live")]
    if let Some(expr) = filter {
        return Ok(source.with_filter(expr)?);
    }
    Ok(source)
}

/// Opens the live capture the configuration names (or the default interface).
#[cfg(feature = "live")]
pub fn open_live(config: &Config) -> Result<Box<dyn FrameSource>> {
    use super::live::{default_interface, LiveOptions, LiveSource};
    let interface = match &config.capture.interface {
        Some(i) => i.clone(),
        None => {
            let i = default_interface()?;
            log::info!("no interface given (-i or capture.interface): using {i}");
            i
        }
    };
    let opts = LiveOptions {
        filter: config.capture.filter.clone(),
        immediate: config.capture.immediate,
        monitor_mode: config.capture.monitor_mode,
        snaplen: config.capture.snaplen,
        buffer_bytes: Some(config.capture.buffer_mb.saturating_mul(1024 * 1024)),
        ..LiveOptions::new(interface)
    };
    Ok(Box::new(LiveSource::open(opts)?))
}

/// Without the `live` feature there is no live capture: say how to get it.
#[cfg(not(feature = "live"))]
pub fn open_live(config: &Config) -> Result<Box<dyn FrameSource>> {
    Err(Error::usage(format!(
        "this build of leakypick has no live capture{}: rebuild it with `cargo build --release \
         --features live` (needs libpcap-dev), or use --replay FILE",
        config
            .capture
            .interface
            .as_ref()
            .map_or(String::new(), |i| format!(" (asked for interface {i})"))
    )))
}
