//! `leakypick fuzz` and `leakypick fuzz report`: what was asked, checked once, and the
//! runs. Everything that can fail fails before the first word is played: the
//! parameters (and, on `--resume`, that none given differs from the stored ones), the
//! candidates, every word synthesized, the player, the capture, the device seen on the
//! interface. A campaign is stored only once all of that passed.

use super::render::{
    json_text, params_json, parse_params, parse_words, words_json, write_plan, Plan,
};
use super::report::CampaignReport;
use super::{
    candidates, Campaign, CampaignError, CampaignEvent, Io, Params, RunEnd, SelectionParams, Sound,
    SoundBook, Speaker, WallClock, Word,
};
use crate::error::{Error, Result};
use crate::history::command::open_for_reading;
use crate::history::{CampaignRow, Store};
use crate::probing::audio::{self, AudioOptions, Player, Tts};
use crate::probing::command::TtsProgram;
use crate::probing::DailySpan;
use crate::process::{init_logging, stop_on_signals, wall_clock};
use crate::progress::Progress;
use crate::render::Format;
use leakypick_core::phonetic::phonetic_distance;
use leakypick_core::wakefuzz::{screen_attempts, Design, JudgeConfig};
use leakypick_core::{DeviceKey, Timestamp};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

/// The design asked for (`--design`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignName {
    Adaptive,
    Paper,
}

/// Everything `fuzz` was asked. `None` is "not given": a new campaign takes the
/// default, a resumed one its stored value.
#[derive(Debug, Clone, Default)]
pub struct FuzzCommand {
    pub interface: Option<String>,
    pub device: Option<DeviceKey>,
    pub wake_word: Option<String>,
    pub candidates: Option<Vec<String>>,
    pub words: Option<Vec<String>>,
    pub phonemes: Option<u32>,
    pub random: Option<usize>,
    pub limit: Option<usize>,
    pub seed: Option<u64>,
    pub voices: Option<Vec<String>>,
    pub rates: Option<Vec<f64>>,
    pub design: Option<DesignName>,
    pub screen: Option<u32>,
    pub min_probability: Option<f64>,
    pub recall: Option<f64>,
    pub precision: Option<f64>,
    pub max_attempts: Option<u32>,
    pub max_latency: Option<f64>,
    pub calibrate: Option<u32>,
    pub settle: Option<f64>,
    pub seen_wait: Option<f64>,
    pub tts: Option<TtsProgram>,
    pub player: String,
    pub audio_device: Option<String>,
    pub volume: Option<u32>,
    pub cache_dir: Option<PathBuf>,
    pub filter: Option<String>,
    pub allowed_hours: Option<DailySpan>,
    pub quiet_hours: Option<DailySpan>,
    pub data_dir: Option<PathBuf>,
    pub resume: bool,
    pub campaign: Option<i64>,
    pub dry_run: bool,
    pub format: Format,
}

/// Everything `fuzz report` was asked.
#[derive(Debug, Clone, Default)]
pub struct FuzzReportCommand {
    pub campaign: Option<i64>,
    pub data_dir: Option<PathBuf>,
    pub format: Format,
    pub plot: Option<PathBuf>,
    pub attempts: bool,
}

/// The voices rotated by default: flite's 16 kHz US English voices.
pub const DEFAULT_FLITE_VOICES: &[&str] = &["slt", "rms", "awb"];

fn bad(flag: &str, value: impl std::fmt::Display, expected: &str) -> Error {
    Error::usage(format!("{flag} {value}: expected {expected}"))
}

fn check_secs(flag: &str, v: f64, zero_ok: bool) -> Result<f64> {
    if v.is_finite() && (v > 0.0 || (zero_ok && v == 0.0)) && v <= 3600.0 {
        Ok(v)
    } else {
        Err(bad(flag, v, "a number of seconds above 0, at most 3600"))
    }
}

fn check_fraction(flag: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(bad(flag, v, "a number between 0 and 1 (both excluded)"))
    }
}

/// A given value that differs from the stored one refuses the resume.
fn same<T: PartialEq + std::fmt::Debug>(flag: &str, given: Option<T>, stored: T) -> Result<T> {
    match given {
        Some(g) if g != stored => Err(Error::usage(format!(
            "{flag} {g:?} differs from the resumed campaign's {stored:?}: a campaign keeps its \
             parameters; leave {flag} out to resume it, or start a new campaign without --resume"
        ))),
        _ => Ok(stored),
    }
}

impl FuzzCommand {
    /// The parameters of a new campaign: the given values, checked, else the defaults.
    fn new_params(&self) -> Result<Params> {
        let device = self.device.ok_or_else(|| {
            Error::usage(
                "--device is needed: the MAC (or IP) address of the device to fuzz, as \
                 `leakypick devices` lists it",
            )
        })?;
        let wake_word = self
            .wake_word
            .clone()
            .unwrap_or_else(|| "alexa".to_string())
            .trim()
            .to_string();
        if wake_word.is_empty() {
            return Err(bad(
                "--wake-word",
                "''",
                "the device's wake word, e.g. alexa",
            ));
        }
        let design_name = self.design.unwrap_or(DesignName::Adaptive);
        let design = match design_name {
            DesignName::Paper => {
                for (flag, given) in [
                    ("--screen", self.screen.is_some()),
                    ("--precision", self.precision.is_some()),
                    ("--min-probability", self.min_probability.is_some()),
                    ("--recall", self.recall.is_some()),
                ] {
                    if given {
                        return Err(Error::usage(format!(
                            "{flag} belongs to --design adaptive; the paper's design plays \
                             every word --max-attempts times (default 10)"
                        )));
                    }
                }
                let tries = self.max_attempts.unwrap_or(10);
                if tries == 0 || tries > 1000 {
                    return Err(bad("--max-attempts", tries, "1 to 1000 attempts"));
                }
                Design::Fixed { tries }
            }
            DesignName::Adaptive => {
                let p_min =
                    check_fraction("--min-probability", self.min_probability.unwrap_or(0.5))?;
                let recall = check_fraction("--recall", self.recall.unwrap_or(0.95))?;
                let screen = self
                    .screen
                    .unwrap_or_else(|| screen_attempts(p_min, recall));
                if screen == 0 || screen > 1000 {
                    return Err(bad("--screen", screen, "1 to 1000 attempts"));
                }
                let precision = self.precision.unwrap_or(0.15);
                if !(precision.is_finite() && precision > 0.0 && precision <= 0.5) {
                    return Err(bad(
                        "--precision",
                        precision,
                        "a half-width above 0 and at most 0.5 (e.g. 0.15)",
                    ));
                }
                let max = self.max_attempts.unwrap_or(20);
                if max < screen || max > 1000 {
                    return Err(bad(
                        "--max-attempts",
                        max,
                        &format!("at least --screen ({screen}) and at most 1000"),
                    ));
                }
                Design::Sequential {
                    screen,
                    precision,
                    max,
                    confidence: 0.95,
                }
            }
        };
        let tts = self.tts.unwrap_or_default();
        let voices: Vec<String> = match &self.voices {
            Some(v) => v
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            None if tts == TtsProgram::Flite => {
                DEFAULT_FLITE_VOICES.iter().map(|s| s.to_string()).collect()
            }
            None => Vec::new(),
        };
        let rates = self.rates.clone().unwrap_or_else(|| vec![1.0]);
        for r in &rates {
            if !(r.is_finite() && *r >= 0.25 && *r <= 4.0) {
                return Err(bad(
                    "--rates",
                    r,
                    "speaking rates from 0.25 to 4 (1 = normal)",
                ));
            }
        }
        let calibrate = self.calibrate.unwrap_or(3);
        if calibrate > 100 {
            return Err(bad(
                "--calibrate",
                calibrate,
                "0 to 100 plays of the wake word",
            ));
        }
        let max_latency = self
            .max_latency
            .map(|m| check_secs("--max-latency", m, false))
            .transpose()?;
        Ok(Params {
            device,
            wake_word,
            design,
            judge: JudgeConfig::default(),
            max_latency_given: max_latency,
            latency_margin_s: 1.5,
            calibrate,
            voices,
            rates,
            settle_s: check_secs("--settle", self.settle.unwrap_or(1.0), true)?,
            quiet_wait_s: 60.0,
            max_stream_s: 30.0,
            seen_wait_s: check_secs("--seen-wait", self.seen_wait.unwrap_or(30.0), false)?,
            tts: tts_name(tts).to_string(),
            selection: SelectionParams {
                candidates: self.candidates.clone().unwrap_or_else(|| {
                    if self.words.is_some() {
                        Vec::new()
                    } else {
                        vec!["dict".to_string()]
                    }
                }),
                words: self.words.clone().unwrap_or_default(),
                phonemes: self.phonemes.unwrap_or(1),
                random: self.random.unwrap_or(100),
                limit: self.limit,
                seed: self.seed.unwrap_or(0),
            },
        })
    }

    /// The stored parameters, refusing every given value that differs (named by flag).
    fn resumed_params(&self, stored: &Params) -> Result<Params> {
        let s = stored.clone();
        let given_design = self.design.map(|d| match d {
            DesignName::Adaptive => "adaptive",
            DesignName::Paper => "paper",
        });
        same("--device", self.device, s.device)?;
        same("--wake-word", self.wake_word.clone(), s.wake_word.clone())?;
        same("--design", given_design, s.design.name())?;
        match s.design {
            Design::Fixed { tries } => {
                same("--max-attempts", self.max_attempts, tries)?;
            }
            Design::Sequential {
                screen,
                precision,
                max,
                ..
            } => {
                same("--screen", self.screen, screen)?;
                same("--precision", self.precision, precision)?;
                same("--max-attempts", self.max_attempts, max)?;
                if (self.min_probability.is_some() || self.recall.is_some())
                    && self.screen.is_none()
                {
                    let p = self.min_probability.unwrap_or(0.5);
                    let r = self.recall.unwrap_or(0.95);
                    same(
                        "--min-probability/--recall",
                        Some(screen_attempts(p, r)),
                        screen,
                    )?;
                }
            }
        }
        same(
            "--max-latency",
            self.max_latency.map(Some),
            s.max_latency_given,
        )?;
        same("--calibrate", self.calibrate, s.calibrate)?;
        same("--voices", self.voices.clone(), s.voices.clone())?;
        same("--rates", self.rates.clone(), s.rates.clone())?;
        same("--settle", self.settle, s.settle_s)?;
        same("--seen-wait", self.seen_wait, s.seen_wait_s)?;
        same(
            "--tts",
            self.tts.map(|t| tts_name(t).to_string()),
            s.tts.clone(),
        )?;
        same(
            "--candidates",
            self.candidates.clone(),
            s.selection.candidates.clone(),
        )?;
        same("--words", self.words.clone(), s.selection.words.clone())?;
        same("--phonemes", self.phonemes, s.selection.phonemes)?;
        same("--random", self.random, s.selection.random)?;
        same("--limit", self.limit.map(Some), s.selection.limit)?;
        same("--seed", self.seed, s.selection.seed)?;
        Ok(s)
    }
}

fn tts_name(t: TtsProgram) -> &'static str {
    match t {
        TtsProgram::Flite => "flite",
        TtsProgram::EspeakNg => "espeak-ng",
    }
}

/// The candidate words of a new campaign: `--words` as given, then the selection of
/// `--candidates` (the candidates module), without repeats.
fn select_words(p: &Params) -> Result<Vec<Word>> {
    let mut words: Vec<Word> = Vec::new();
    let mut push = |w: Word| {
        if !words.iter().any(|o| o.word.eq_ignore_ascii_case(&w.word)) {
            words.push(w);
        }
    };
    for w in &p.selection.words {
        let w = w.trim();
        if w.is_empty() {
            continue;
        }
        push(Word {
            word: w.to_string(),
            phonemes: None,
            source: "words".to_string(),
            distance: phonetic_distance(w, &p.wake_word),
        });
    }
    if !p.selection.candidates.is_empty() {
        let sources = p
            .selection
            .candidates
            .iter()
            .map(|c| match c.as_str() {
                "dict" => candidates::CandidateSource::Dict,
                "simple" => candidates::CandidateSource::Simple,
                "common" => candidates::CandidateSource::Common,
                file => candidates::CandidateSource::File(PathBuf::from(file)),
            })
            .collect();
        let sel = candidates::Selection {
            sources,
            wake_word: p.wake_word.clone(),
            phonemes: p.selection.phonemes,
            random: p.selection.random,
            seed: p.selection.seed,
            limit: p.selection.limit,
        };
        let chosen =
            candidates::select(&sel).map_err(|e| Error::usage(format!("--candidates: {e}")))?;
        for c in chosen {
            push(Word {
                word: c.word,
                phonemes: c.phonemes,
                source: c.source.to_string(),
                distance: c.distance,
            });
        }
    }
    if let Some(limit) = p.selection.limit {
        words.truncate(limit);
    }
    if words.is_empty() {
        return Err(Error::usage(
            "the candidate selection gives no word: give words with --words, or other \
             --candidates (dict, common, simple, or a file with one word per line)",
        ));
    }
    Ok(words)
}

/// The speaker of a live campaign: `probe`'s player on a thread of its own, so that the
/// capture goes on while a word plays.
struct ThreadSpeaker {
    audio: Arc<AudioOptions>,
    rx: Option<mpsc::Receiver<std::result::Result<(Timestamp, Timestamp), String>>>,
    word: String,
}

impl Speaker for ThreadSpeaker {
    fn start(&mut self, sound: &Sound) -> std::result::Result<(), CampaignError> {
        let (tx, rx) = mpsc::channel();
        let audio = Arc::clone(&self.audio);
        let probe = audio::ProbeSound {
            name: audio::probe_name(&sound.word),
            kind: audio::ProbeKind::Speech {
                text: sound.word.clone(),
            },
            wav: sound.wav.clone(),
            seconds: sound.seconds,
        };
        std::thread::Builder::new()
            .name("player".into())
            .spawn(move || {
                let _ = tx.send(audio::play(&probe, &audio).map_err(|e| e.to_string()));
            })
            .map_err(|e| CampaignError::Play {
                word: sound.word.clone(),
                detail: format!("cannot start the player thread: {e}"),
            })?;
        self.rx = Some(rx);
        self.word = sound.word.clone();
        Ok(())
    }

    fn poll(&mut self) -> Option<std::result::Result<(Timestamp, Timestamp), CampaignError>> {
        let rx = self.rx.as_ref()?;
        let r = match rx.try_recv() {
            Ok(r) => r,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err("the player thread ended".to_string()),
        };
        self.rx = None;
        Some(r.map_err(|detail| CampaignError::Play {
            word: self.word.clone(),
            detail,
        }))
    }
}

fn audio_options(cmd: &FuzzCommand, p: &Params, data: Option<&Path>) -> Result<AudioOptions> {
    let cache_dir = match (&cmd.cache_dir, data) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) => d.join("probes"),
        (None, None) => {
            return Err(Error::usage(
                "no cache directory for synthesized words: set --cache-dir or --data-dir",
            ))
        }
    };
    let player = match cmd.player.as_str() {
        "paplay" | "" => Player::Paplay {
            device: cmd.audio_device.clone(),
            volume_percent: cmd.volume,
        },
        "aplay" => Player::Aplay {
            device: cmd.audio_device.clone(),
        },
        other => Player::Command(other.split_whitespace().map(str::to_string).collect()),
    };
    let tts = if p.tts == "espeak-ng" {
        Tts::EspeakNg { voice: None }
    } else {
        Tts::Flite { voice: None }
    };
    Ok(AudioOptions {
        tts,
        cache_dir,
        player,
        env: Vec::new(),
    })
}

/// Every word (and the wake word, to calibrate) in every voicing, synthesized into the
/// cache before anything is played.
fn prepare_sounds(audio: &AudioOptions, p: &Params, words: &[Word]) -> Result<SoundBook> {
    let mut texts: Vec<String> = words.iter().map(|w| w.word.clone()).collect();
    if p.calibrate > 0 && !texts.iter().any(|t| t == &p.wake_word) {
        texts.push(p.wake_word.clone());
    }
    let voicings = p.voicings();
    let progress = Progress::items((texts.len() * voicings.len()) as u64, "synthesizing words");
    let mut book = SoundBook::default();
    for (i, v) in voicings.iter().enumerate() {
        let mut opts = audio.clone();
        opts.tts = match opts.tts {
            Tts::Flite { .. } => Tts::Flite {
                voice: v.voice.clone(),
            },
            Tts::EspeakNg { .. } => Tts::EspeakNg {
                voice: v.voice.clone(),
            },
        };
        let sounds = audio::prepare_speech(&texts, v.rate, &opts, &mut || progress.inc(1))?;
        for (text, s) in texts.iter().zip(sounds) {
            book.insert(Sound {
                word: text.clone(),
                voicing: i,
                wav: s.wav,
                seconds: s.seconds,
            });
        }
    }
    progress.finish();
    Ok(book)
}

fn plan(c: &Campaign, id: Option<i64>, resumed: bool, word_s: f64) -> Plan {
    let max_latency = c.max_latency_s();
    let attempt_s = c.params.attempt_seconds(word_s, max_latency);
    Plan {
        campaign: id,
        resumed,
        params: c.params.clone(),
        words: c.words.clone(),
        done_attempts: c.attempts(),
        remaining_screening: c.remaining_screening(),
        remaining_at_most: c.remaining_at_most(),
        attempt_s,
        paper_s: c.words.len() as f64 * 10.0 * 7.0,
    }
}

/// Runs `leakypick fuzz`.
pub fn run(cmd: &FuzzCommand, out: &mut dyn Write) -> Result<()> {
    init_logging(log::LevelFilter::Info);
    let resuming = cmd.resume || cmd.campaign.is_some();
    let data = cmd
        .data_dir
        .clone()
        .or_else(crate::history::default_data_dir);
    // The campaign: stored (resume) or new.
    let (mut campaign, stored_id) = if resuming {
        let st = open_for_reading(cmd.data_dir.as_deref())?;
        let row = match cmd.campaign {
            Some(id) => st.campaign(id)?.ok_or_else(|| {
                Error::usage(format!(
                    "--campaign {id}: no such campaign in {} (see `leakypick fuzz report`)",
                    st.path().display()
                ))
            })?,
            None => st.latest_campaign(true)?.ok_or_else(|| {
                Error::usage(format!(
                    "--resume: no unfinished campaign in {}; start one with `leakypick fuzz \
                     --device MAC -i IFACE`",
                    st.path().display()
                ))
            })?,
        };
        if row.state == "done" {
            return Err(Error::usage(format!(
                "--campaign {}: the campaign is done (see `leakypick fuzz report --campaign {}`); \
                 start a new one without --resume",
                row.id, row.id
            )));
        }
        let stored = parse_params(&row.params).ok_or_else(|| {
            Error::usage(format!(
                "campaign {} in {} has parameters this leakypick cannot read; start a new campaign",
                row.id,
                st.path().display()
            ))
        })?;
        let words = parse_words(&row.candidates).ok_or_else(|| {
            Error::usage(format!(
                "campaign {} in {} has a candidate list this leakypick cannot read; start a new campaign",
                row.id,
                st.path().display()
            ))
        })?;
        let params = cmd.resumed_params(&stored)?;
        let rows = st.campaign_attempts(row.id)?;
        (
            Campaign::rebuild(row.id, params, words, &rows),
            Some(row.id),
        )
    } else {
        let params = cmd.new_params()?;
        let words = select_words(&params)?;
        (Campaign::rebuild(0, params, words, &[]), None)
    };
    campaign.allowed_hours = cmd.allowed_hours;
    campaign.quiet_hours = cmd.quiet_hours;
    if cmd.dry_run {
        write_plan(out, &plan(&campaign, stored_id, resuming, 0.8), cmd.format)?;
        return Ok(out.flush()?);
    }
    if !cfg!(feature = "live") {
        return Err(Error::usage(
            "this build of leakypick has no live capture, which `fuzz` needs: rebuild it with \
             `cargo build --release --features live` (needs libpcap-dev); `fuzz --dry-run` \
             and `fuzz report` work without it",
        ));
    }
    let interface = cmd.interface.clone().ok_or_else(|| {
        Error::usage("-i/--interface is needed: the interface the device's traffic passes")
    })?;
    let data = data.ok_or_else(|| {
        Error::usage("no data directory: set --data-dir, LEAKYPICK_DATA_DIR, XDG_DATA_HOME or HOME")
    })?;
    // Everything that can fail fails now, before anything is played.
    let audio_opts = audio_options(cmd, &campaign.params, Some(&data))?;
    let sounds = prepare_sounds(&audio_opts, &campaign.params, &campaign.words)?;
    audio::preflight(&audio_opts)?;
    let mut live = crate::monitor::config::Config::default();
    live.capture.interface = Some(interface);
    live.capture.filter = cmd.filter.clone();
    // Frames as they arrive: an attempt is decided within a fraction of a second.
    live.capture.immediate = true;
    let mut source = crate::monitor::command::open_live(&live)?;
    let mut speaker = ThreadSpeaker {
        audio: Arc::new(audio_opts),
        rx: None,
        word: String::new(),
    };
    let clock = WallClock;
    let mut io = Io {
        source: source.as_mut(),
        speaker: &mut speaker,
        clock: &clock,
    };
    log::info!(
        "waiting up to {:.0} s for {} on {}",
        campaign.params.seen_wait_s,
        campaign.params.device,
        io.source.name()
    );
    super::check_seen(&mut io, &campaign.params).map_err(campaign_error)?;
    let mut store = Store::open(&data)?;
    let id = match stored_id {
        Some(id) => {
            store.set_campaign_state(id, "running")?;
            id
        }
        None => {
            let now = wall_clock();
            store.create_campaign(&CampaignRow {
                id: 0,
                device: campaign.params.device.to_string(),
                wake_word: campaign.params.wake_word.clone(),
                design: campaign.params.design.name().to_string(),
                params: json_text(&params_json(&campaign.params)),
                candidates: json_text(&words_json(&campaign.words)),
                created: now,
                updated: now,
                state: "running".to_string(),
            })?
        }
    };
    campaign.id = id;
    let p = plan(&campaign, Some(id), resuming, sounds.mean_seconds());
    // The plan first (stdout, in the format asked), then the log while it runs, then
    // the report.
    write_plan(out, &p, cmd.format)?;
    if cmd.format == Format::Csv {
        writeln!(out)?;
    }
    out.flush()?;
    let stop = stop_on_signals()
        .map_err(|e| Error::usage(format!("cannot install the signal handlers: {e}")))?;
    let progress = Progress::items(p.remaining_screening.max(1), "fuzzing");
    let done_before = campaign.attempts() as u64;
    let mut on_event = |e: &CampaignEvent| log_event(e, &progress, &campaign_found(e), done_before);
    let result = super::run(
        &mut io,
        &mut store,
        &mut campaign,
        &sounds,
        &stop,
        &mut on_event,
    );
    progress.finish();
    let state = match &result {
        Ok(RunEnd::Done) => "done",
        _ => "stopped",
    };
    store.set_campaign_state(id, state)?;
    match result {
        Ok(RunEnd::Done) => log::info!("campaign {id} done"),
        Ok(RunEnd::Stopped) => {
            log::info!("campaign {id} stopped; continue it with `leakypick fuzz --resume -i IFACE`")
        }
        Err(e) => {
            store.close()?;
            return Err(campaign_error(e));
        }
    }
    let row = store.campaign(id)?;
    let rows = store.campaign_attempts(id)?;
    store.close()?;
    if let Some(row) = row {
        super::render::write_report(out, &CampaignReport::new(row, rows), false, cmd.format)?;
    }
    Ok(out.flush()?)
}

fn campaign_found(e: &CampaignEvent) -> String {
    match e {
        CampaignEvent::Attempt { found, .. } => format!(
            "fuzzing: {}",
            crate::render::count(*found, "word") + " found"
        ),
        _ => String::new(),
    }
}

fn campaign_error(e: CampaignError) -> Error {
    match e {
        CampaignError::Store(s) => Error::Store(s),
        other => Error::usage(other.to_string()),
    }
}

fn log_event(e: &CampaignEvent, progress: &Progress, message: &str, done_before: u64) {
    match e {
        CampaignEvent::Calibrated {
            latencies,
            max_latency_s,
        } => log::info!(
            "calibrated: latencies {} s; waiting {max_latency_s:.1} s for an onset after each word",
            latencies
                .iter()
                .map(|l| format!("{l:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CampaignEvent::NotQuiet { word } => {
            log::warn!("the device did not become quiet before `{word}`; playing it anyway")
        }
        CampaignEvent::Attempt {
            row,
            found,
            done,
            remaining,
        } => {
            // This run's attempts so far and those still to come.
            progress.set_length((*done as u64).saturating_sub(done_before) + remaining);
            progress.inc(1);
            progress.say(message.to_string());
            if !progress.is_active() {
                log::info!(
                    "{} #{} ({}, voice {}): {}{} — {} found after {} attempts",
                    row.word,
                    row.attempt,
                    row.phase,
                    row.voice.as_deref().unwrap_or("default"),
                    row.verdict,
                    row.latency
                        .map(|l| format!(" after {:.2} s", l as f64 / 1e9))
                        .unwrap_or_default(),
                    found,
                    done
                );
            }
        }
        CampaignEvent::Paused { why } => log::info!("paused: {why}"),
        CampaignEvent::Resumed => log::info!("the schedule allows playing again"),
    }
}

/// Runs `leakypick fuzz report`: reads the history (read-only, never written).
pub fn report(cmd: &FuzzReportCommand, out: &mut dyn Write) -> Result<()> {
    let st = open_for_reading(cmd.data_dir.as_deref())?;
    let row = match cmd.campaign {
        Some(id) => st.campaign(id)?.ok_or_else(|| {
            Error::usage(format!(
                "--campaign {id}: no such campaign in {}",
                st.path().display()
            ))
        })?,
        None => st.latest_campaign(false)?.ok_or_else(|| {
            Error::usage(format!(
                "no fuzz campaign in {} yet: run `leakypick fuzz --device MAC -i IFACE` first",
                st.path().display()
            ))
        })?,
    };
    let rows = st.campaign_attempts(row.id)?;
    let report = CampaignReport::new(row, rows);
    if let Some(path) = &cmd.plot {
        let file = crate::files::AtomicFile::create(path)?;
        let mut w = std::io::BufWriter::new(file.file());
        w.write_all(report.plot_svg().as_bytes())
            .and_then(|()| w.flush())
            .map_err(|e| Error::usage(format!("--plot: cannot write {}: {e}", path.display())))?;
        drop(w);
        file.commit()?;
    }
    super::render::write_report(out, &report, cmd.attempts, cmd.format)?;
    Ok(out.flush()?)
}
