//! `leakypick probe`: what the command was asked, checked once (everything that can
//! fail fails before the session), and its run. Live capture only.

use super::audio::{self, AudioOptions, Player, Tts};
use super::render::{session_json, verdict_json, write_session};
use super::{run_session, schedule_blocks, DailySpan, SessionEvent, SessionPlan, SessionReport};
use crate::error::{Error, Result};
use crate::history::{default_data_dir, Store};
use crate::names::DeviceNames;
use crate::process::{init_logging, stop_on_signals};
use crate::render::Format;
use crate::settings::{Preset, SettingError, VerdictSettings};
use leakypick_core::{DestinationScope, Timestamp};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Which text-to-speech program speaks the words (`--tts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtsProgram {
    #[default]
    Flite,
    EspeakNg,
}

/// Everything `probe` was asked, as given.
#[derive(Debug, Clone, Default)]
pub struct ProbeCommand {
    pub interface: String,
    pub words: Vec<String>,
    pub sounds: Vec<String>,
    pub files: Vec<PathBuf>,
    pub idle_s: f64,
    pub window_s: f64,
    pub every_s: f64,
    pub settle_s: f64,
    pub retests: u32,
    pub verdict: VerdictSettings,
    pub tts: TtsProgram,
    pub voice: Option<String>,
    /// `paplay`, `aplay`, or a command line with `{}` for the WAV file.
    pub player: String,
    pub audio_device: Option<String>,
    pub volume: Option<u32>,
    pub cache_dir: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub filter: Option<String>,
    pub names: Option<PathBuf>,
    pub no_history: bool,
    pub allowed_hours: Option<DailySpan>,
    pub quiet_hours: Option<DailySpan>,
    pub data_dir: Option<PathBuf>,
    pub format: Format,
}

fn secs(flag: &'static str, v: f64, zero_ok: bool) -> Result<Duration, SettingError> {
    if v == 0.0 && zero_ok {
        return Ok(Duration::ZERO);
    }
    if v.is_finite() && v > 0.0 && v < 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(SettingError::new(
            flag,
            v,
            "a positive number of seconds, less than a day",
        ))
    }
}

/// Runs a probing session: prints the verdicts, stores them in the history and writes
/// the probe log.
pub fn run(cmd: &ProbeCommand, out: &mut dyn Write) -> Result<()> {
    if !cfg!(feature = "live") {
        return Err(Error::usage(
            "this build of leakypick has no live capture, which `probe` needs: rebuild it with \
             `cargo build --release --features live` (needs libpcap-dev); a capture made \
             elsewhere can be analysed with `analyze --probe-log`",
        ));
    }
    init_logging(log::LevelFilter::Info);
    if let Some(why) = schedule_blocks(
        super::local_minute_now(),
        cmd.allowed_hours,
        cmd.quiet_hours,
    ) {
        log::info!("not probing now: {why}");
        return Ok(());
    }
    let plan = SessionPlan {
        idle: secs("--idle-window", cmd.idle_s, false)?,
        window: secs("--probe-window", cmd.window_s, false)?,
        every: secs("--every", cmd.every_s, false)?,
        settle: secs("--settle", cmd.settle_s, true)?,
        retests: cmd.retests,
    };
    let config = cmd
        .verdict
        .session_config(Preset::Default.burst_config(), DestinationScope::Cloud)?;
    let names = match &cmd.names {
        Some(p) => DeviceNames::load(p)?,
        None => DeviceNames::default(),
    };
    let data_dir = cmd.data_dir.clone().or_else(default_data_dir);
    let cache_dir = match (&cmd.cache_dir, &data_dir) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) => d.join("probes"),
        (None, None) => {
            return Err(Error::usage(
                "no cache directory for synthesized probes: set --cache-dir or --data-dir",
            ))
        }
    };
    let tts = match cmd.tts {
        TtsProgram::EspeakNg => Tts::EspeakNg {
            voice: cmd.voice.clone(),
        },
        TtsProgram::Flite => Tts::Flite {
            voice: cmd.voice.clone(),
        },
    };
    let player = match cmd.player.as_str() {
        "paplay" => Player::Paplay {
            device: cmd.audio_device.clone(),
            volume_percent: cmd.volume,
        },
        "aplay" => Player::Aplay {
            device: cmd.audio_device.clone(),
        },
        other => Player::Command(other.split_whitespace().map(str::to_string).collect()),
    };
    let audio = AudioOptions {
        tts,
        cache_dir,
        player,
        env: Vec::new(),
    };
    let words: Vec<String> =
        if cmd.words.is_empty() && cmd.sounds.is_empty() && cmd.files.is_empty() {
            audio::wake_words()
                .into_iter()
                .filter(|w| w.assistant != "none")
                .map(|w| w.text.to_string())
                .collect()
        } else {
            cmd.words
                .iter()
                .filter(|w| !w.trim().is_empty() && w.trim() != "none")
                .cloned()
                .collect()
        };
    // Everything that can fail fails now, before the session.
    let sounds = audio::prepare(&words, &cmd.sounds, &cmd.files, &audio)?;
    audio::preflight(&audio)?;
    let mut live = crate::monitor::config::Config::default();
    live.capture.interface = Some(cmd.interface.clone());
    live.capture.filter = cmd.filter.clone();
    let mut source = crate::monitor::command::open_live(&live)?;
    let store = match (&cmd.no_history, &data_dir) {
        (false, Some(d)) => Some(Store::open(d)?),
        _ => None,
    };
    let mut log_file: Box<dyn Write> = match &cmd.log {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| {
                    Error::usage(format!("cannot open the probe log {}: {e}", p.display()))
                })?,
        )),
        None => Box::new(std::io::sink()),
    };
    let probes: Vec<String> = sounds.iter().map(|s| s.name.clone()).collect();
    let by_name: std::collections::HashMap<String, audio::ProbeSound> =
        sounds.into_iter().map(|s| (s.name.clone(), s)).collect();
    let audio = Arc::new(audio);
    let play_audio = Arc::clone(&audio);
    let play: Arc<super::PlayFn> = Arc::new(move |name: &str| {
        let sound = by_name
            .get(name)
            .ok_or_else(|| super::PlayError::UnknownProbe(name.to_string()))?;
        Ok(audio::play(sound, &play_audio)?)
    });
    let per_probe = plan.settle + plan.idle + plan.window;
    log::info!(
        "probing session: {} ({}), about {:.0} s without re-tests",
        crate::render::count(probes.len(), "probe"),
        probes.join(", "),
        per_probe.as_secs_f64() * probes.len() as f64
    );
    let stop = stop_on_signals()
        .map_err(|e| Error::usage(format!("cannot install the signal handlers: {e}")))?;
    let started = std::time::Instant::now();
    let report = run_session(
        source.as_mut(),
        &probes,
        plan,
        config,
        names,
        play,
        &mut log_file,
        &stop,
        &mut log_event,
    )?;
    log::info!("session done in {:.0} s", started.elapsed().as_secs_f64());
    if let Some(st) = store {
        store_session(st, &report)?;
    }
    write_session(out, &report, cmd.format)?;
    Ok(out.flush()?)
}

fn log_event(e: &SessionEvent) {
    match e {
        SessionEvent::Idle { probe, attempt } => {
            log::info!("{probe} (attempt {attempt}): idle window")
        }
        SessionEvent::Playing { probe, attempt } => {
            log::info!("{probe} (attempt {attempt}): playing")
        }
        SessionEvent::AttemptDone {
            probe,
            attempt,
            reacted,
        } => log::info!(
            "{probe} (attempt {attempt}): {} reacted{}",
            crate::render::count(reacted.len(), "device"),
            if reacted.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    reacted
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
    }
}

/// Keeps a session in the history (`leakypick report` reads it back).
pub fn store_session(mut st: Store, report: &SessionReport) -> Result<()> {
    let summary = session_json(report);
    let verdicts: Vec<(String, String, bool, serde_json::Value)> = report
        .verdicts
        .iter()
        .map(|v| {
            (
                v.device.to_string(),
                v.probe.clone(),
                v.reacted,
                verdict_json(report, v),
            )
        })
        .collect();
    let start = report
        .attempts
        .first()
        .map_or(Timestamp(0), |a| a.idle.start);
    let end = report
        .attempts
        .last()
        .map_or(Timestamp(0), |a| a.probe_window.end);
    st.add_probe_session(start, end, &summary, &verdicts)?;
    st.close()?;
    Ok(())
}
