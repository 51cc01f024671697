//! Wake-word fuzzing campaigns (`leakypick fuzz`, issue 11).
//!
//! A campaign speaks candidate words into the room, one attempt at a time, and judges
//! each attempt from the device's uploads alone ([`leakypick_core::wakefuzz`]): before
//! playing it waits until the device is quiet, then plays the word on the speaker while
//! it keeps capturing, and stops waiting as soon as the traffic decides. Every finished
//! attempt is committed to the history at once ([`crate::history::Store`], schema 4), so
//! a campaign survives a crash and resumes from its stored attempts; which word comes
//! next depends only on those ([`leakypick_core::wakefuzz::next_word`]).
//!
//! The outside world reaches the engine through one seam, [`Io`]: the frame source, the
//! speaker and the clock. `command.rs` fills it with the live capture, the player of
//! `probe` on a thread and the wall clock; tests fill it with [`simroom`], a simulated
//! device in virtual time, so a whole campaign runs in milliseconds.

pub mod candidates;
pub mod command;
pub mod render;
pub mod report;
pub mod simroom;

use crate::history::{AttemptRow, Store, StoreError};
use crate::monitor::source::{FrameSource, Pull, SourceError};
use crate::probing::schedule::{schedule_blocks, DailySpan};
use leakypick_core::wakefuzz::{
    next_word, AttemptJudge, Design, JudgeConfig, Phase, Verdict, WordRecord,
};
use leakypick_core::{decode, DeviceKey, Packet, Timestamp};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// One candidate word of a campaign, as stored with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub word: String,
    /// Phoneme count from the dictionary, if known.
    pub phonemes: Option<u32>,
    /// `dict`, `simple`, `common`, `file` or `words`.
    pub source: String,
    /// Phonetic distance to the wake word (Double Metaphone + Levenshtein).
    pub distance: usize,
}

/// A voice and a speaking rate; attempt `i` of a word uses voicing `i mod n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Voicing {
    /// The TTS voice (`None`: the TTS program's default).
    pub voice: Option<String>,
    /// Speaking rate, 1.0 = normal.
    pub rate: f64,
}

/// Every parameter of a campaign (stored with it as JSON; a resumed campaign keeps
/// them).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub device: DeviceKey,
    pub wake_word: String,
    pub design: Design,
    /// Threshold, slots, scope of the judge; its `max_latency_nanos` is the one given
    /// (or the default before calibration).
    pub judge: JudgeConfig,
    /// `--max-latency` as given; `None`: from the calibration.
    pub max_latency_given: Option<f64>,
    /// Margin added to the largest calibrated latency.
    pub latency_margin_s: f64,
    /// Plays of the real wake word before the campaign (0: none).
    pub calibrate: u32,
    /// TTS voices (empty: the program's default voice) and speaking rates; attempt `i`
    /// of a word uses [`Params::voicings`]`[i mod n]` (voices rotate fastest).
    pub voices: Vec<String>,
    pub rates: Vec<f64>,
    /// Seconds of quiet the device must show before a word is played.
    pub settle_s: f64,
    /// Longest wait for that quiet before playing anyway.
    pub quiet_wait_s: f64,
    /// Longest time an upload is measured after its onset.
    pub max_stream_s: f64,
    /// How long to wait for the device to show up on the interface.
    pub seen_wait_s: f64,
    /// The TTS program, for the record (`flite`, `espeak-ng`).
    pub tts: String,
    /// The candidate selection, for the record (`--candidates`, `--phonemes`, ...).
    pub selection: SelectionParams,
}

/// What the candidates were selected by.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectionParams {
    pub candidates: Vec<String>,
    pub words: Vec<String>,
    pub phonemes: u32,
    pub random: usize,
    pub limit: Option<usize>,
    pub seed: u64,
}

impl Params {
    /// Every voice at every rate: the voices first, then the rates.
    pub fn voicings(&self) -> Vec<Voicing> {
        let voices: Vec<Option<String>> = if self.voices.is_empty() {
            vec![None]
        } else {
            self.voices.iter().cloned().map(Some).collect()
        };
        let rates = if self.rates.is_empty() {
            vec![1.0]
        } else {
            self.rates.clone()
        };
        let mut out = Vec::new();
        for rate in &rates {
            for voice in &voices {
                out.push(Voicing {
                    voice: voice.clone(),
                    rate: *rate,
                });
            }
        }
        out
    }

    fn duration(secs: f64) -> Duration {
        Duration::from_secs_f64(secs.clamp(0.0, 86_400.0))
    }

    fn nanos(secs: f64) -> i64 {
        (secs.clamp(0.0, 86_400.0) * 1e9).round() as i64
    }

    /// Seconds one attempt takes about, for a word of `word_s` seconds that does not
    /// wake the device: the quiet before, the word, the wait for an onset.
    pub fn attempt_seconds(&self, word_s: f64, max_latency_s: f64) -> f64 {
        self.settle_s + word_s + max_latency_s + 0.5
    }
}

/// A prepared sound: one word in one voicing.
#[derive(Debug, Clone, PartialEq)]
pub struct Sound {
    pub word: String,
    pub voicing: usize,
    pub wav: PathBuf,
    pub seconds: f64,
}

/// The sounds of a campaign, by word and voicing.
#[derive(Debug, Clone, Default)]
pub struct SoundBook {
    map: HashMap<(String, usize), Sound>,
}

impl SoundBook {
    pub fn insert(&mut self, s: Sound) {
        self.map.insert((s.word.clone(), s.voicing), s);
    }

    pub fn get(&self, word: &str, voicing: usize) -> Option<&Sound> {
        self.map.get(&(word.to_string(), voicing))
    }

    /// Mean length of the sounds, in seconds (1 s when there are none).
    pub fn mean_seconds(&self) -> f64 {
        if self.map.is_empty() {
            return 1.0;
        }
        self.map.values().map(|s| s.seconds).sum::<f64>() / self.map.len() as f64
    }
}

/// The clock of a campaign: the wall clock live, virtual time in tests.
pub trait Clock {
    fn now(&self) -> Timestamp;
    /// Waits (while paused by the schedule).
    fn sleep(&self, d: Duration);
    /// Minutes after local midnight, for `--allowed-hours` and `--quiet-hours`.
    fn local_minute(&self) -> u16;
}

/// The wall clock.
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        crate::process::wall_clock()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn local_minute(&self) -> u16 {
        crate::probing::local_minute_now()
    }
}

/// Plays sounds into the room without blocking the capture.
pub trait Speaker {
    /// Starts playing `sound`.
    fn start(&mut self, sound: &Sound) -> Result<(), CampaignError>;
    /// `Some` once the sound finished: its start and end (wall clock), or the error.
    fn poll(&mut self) -> Option<Result<(Timestamp, Timestamp), CampaignError>>;
}

/// The engine's seam to the outside world.
pub struct Io<'a> {
    pub source: &'a mut dyn FrameSource,
    pub speaker: &'a mut dyn Speaker,
    pub clock: &'a dyn Clock,
}

/// Why a campaign could not run or go on.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("capture: {0}")]
    Source(#[from] SourceError),
    #[error("the capture on {0} ended; a campaign needs a live interface")]
    SourceEnded(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("playing `{word}` failed: {detail}; the campaign stopped and can be resumed with `leakypick fuzz --resume` once the player works")]
    Play { word: String, detail: String },
    #[error(
        "the device {device} was not seen on {interface} within {seconds:.0} s: check the \
         MAC or IP address given with --device (`leakypick devices` lists the devices \
         seen), the interface given with -i, and that the device is on; --seen-wait S \
         waits longer"
    )]
    NotSeen {
        device: DeviceKey,
        interface: String,
        seconds: f64,
    },
    #[error(
        "the device {device} never reacted to its own wake word `{wake}` in {tries} \
         calibration plays (no upload within {seconds:.0} s of the word): check the \
         volume (--volume), the audio device (--audio-device), the wake word \
         (--wake-word) and that the device's microphone is on, then continue with `leakypick fuzz \
         --resume` (it calibrates again first)"
    )]
    NeverWoke {
        device: DeviceKey,
        wake: String,
        tries: u32,
        seconds: f64,
    },
    #[error("no sound prepared for `{0}` (voicing {1})")]
    NoSound(String, usize),
}

/// Progress of a campaign, for the log and the progress bar.
#[derive(Debug, Clone)]
pub enum CampaignEvent {
    /// The calibration measured these latencies (seconds) and chose this wait.
    Calibrated {
        latencies: Vec<f64>,
        max_latency_s: f64,
    },
    /// The device was not quiet within the wait; the word is played anyway.
    NotQuiet { word: String },
    /// One attempt ended and is stored.
    Attempt {
        row: AttemptRow,
        /// Words that woke the device at least once so far.
        found: usize,
        /// Attempts of the campaign so far (calibration excluded).
        done: usize,
        /// Attempts still to come if no further word wakes the device.
        remaining: u64,
    },
    /// The schedule blocks playing; waiting.
    Paused { why: String },
    /// The schedule allows playing again.
    Resumed,
}

/// How a run of the engine ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every word is done.
    Done,
    /// Stopped by a signal (after the attempt in flight was stored).
    Stopped,
}

/// A campaign in progress: its words, their records so far, the stored calibration.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: i64,
    pub params: Params,
    pub words: Vec<Word>,
    pub records: Vec<WordRecord>,
    /// Latencies (seconds) of the calibration plays that woke the device, and how many
    /// calibration plays were made.
    pub calibration: Vec<Option<f64>>,
    /// `allowed`/`quiet` hours (not stored: a resumed campaign may change them).
    pub allowed_hours: Option<DailySpan>,
    pub quiet_hours: Option<DailySpan>,
}

impl Campaign {
    /// A campaign rebuilt from its stored attempts (an empty list for a new one).
    pub fn rebuild(id: i64, params: Params, words: Vec<Word>, rows: &[AttemptRow]) -> Campaign {
        let mut records = vec![WordRecord::default(); words.len()];
        let index: HashMap<&str, usize> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.word.as_str(), i))
            .collect();
        let mut calibration = Vec::new();
        for r in rows {
            let woke = r.verdict == "woke";
            if r.phase == Phase::Calibrate.name() {
                calibration.push(if woke {
                    r.latency.map(|l| l as f64 / 1e9)
                } else {
                    None
                });
            } else if let Some(&i) = index.get(r.word.as_str()) {
                records[i].add(woke);
            }
        }
        Campaign {
            id,
            params,
            words,
            records,
            calibration,
            allowed_hours: None,
            quiet_hours: None,
        }
    }

    /// Words that woke the device at least once.
    pub fn found(&self) -> usize {
        self.records.iter().filter(|r| r.activations > 0).count()
    }

    /// Attempts made (calibration excluded).
    pub fn attempts(&self) -> usize {
        self.records.iter().map(|r| r.attempts as usize).sum()
    }

    /// Whether every word is done.
    pub fn is_done(&self) -> bool {
        next_word(&self.params.design, &self.records).is_none()
    }

    /// The wait for an onset after the word: `--max-latency`, else the largest
    /// calibrated latency plus the margin, else the judge's default.
    pub fn max_latency_s(&self) -> f64 {
        if let Some(m) = self.params.max_latency_given {
            return m;
        }
        let max = self
            .calibration
            .iter()
            .flatten()
            .fold(f64::NEG_INFINITY, |a, b| a.max(*b));
        if max.is_finite() {
            (max + self.params.latency_margin_s).max(self.params.latency_margin_s)
        } else {
            self.params.judge.max_latency_nanos as f64 / 1e9
        }
    }

    /// Attempts still to come at most (calibration excluded).
    pub fn remaining_at_most(&self) -> u64 {
        let d = &self.params.design;
        self.records
            .iter()
            .map(|r| match d.next_phase(*r) {
                None => 0,
                Some(_) => u64::from(d.max_attempts().saturating_sub(r.attempts)),
            })
            .sum()
    }

    /// Attempts still to come if no further word wakes the device: the screening left.
    pub fn remaining_screening(&self) -> u64 {
        let d = &self.params.design;
        self.records
            .iter()
            .map(|r| match (d, d.next_phase(*r)) {
                (_, None) => 0,
                (Design::Fixed { tries }, Some(_)) => u64::from(tries.saturating_sub(r.attempts)),
                (Design::Sequential { screen, .. }, Some(Phase::Screen)) => {
                    u64::from(screen.saturating_sub(r.attempts))
                }
                (Design::Sequential { max, .. }, Some(_)) => {
                    u64::from(max.saturating_sub(r.attempts))
                }
            })
            .sum()
    }
}

/// Waits until a frame sent or received by the campaign's device is seen on the source,
/// or fails after `seen_wait_s` ([`CampaignError::NotSeen`]). Nothing is played.
pub fn check_seen(io: &mut Io<'_>, params: &Params) -> Result<(), CampaignError> {
    Engine { io }.wait_seen(params)
}

/// Runs a campaign until every word is done or `stop` is raised (checked between
/// attempts): calibrates if asked (and not done already), then plays the words the
/// design asks for. [`check_seen`] comes first.
pub fn run(
    io: &mut Io<'_>,
    store: &mut Store,
    c: &mut Campaign,
    sounds: &SoundBook,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&CampaignEvent),
) -> Result<RunEnd, CampaignError> {
    let mut engine = Engine { io };
    // Calibration: the real wake word, to measure the latency and to make sure the
    // device reacts at all.
    let wanted = c.params.calibrate as usize;
    // Plays still owed: the rest of the calibration; or, when no stored play woke the
    // device (a campaign stopped by a deaf device, resumed after fixing the volume), a
    // new round of `wanted` plays (the rest of an interrupted one).
    let woke_before = c.calibration.iter().any(Option::is_some);
    let owed = if woke_before || wanted == 0 {
        wanted.saturating_sub(c.calibration.len())
    } else {
        wanted - c.calibration.len() % wanted
    };
    if owed > 0 {
        for _ in 0..owed {
            if stop.load(Ordering::Relaxed) || !engine.wait_schedule(c, stop, on_event) {
                return Ok(RunEnd::Stopped);
            }
            let wake = c.params.wake_word.clone();
            let n = c.calibration.len();
            let voicing = n % c.params.voicings().len();
            let sound = sounds
                .get(&wake, voicing)
                .ok_or_else(|| CampaignError::NoSound(wake.clone(), voicing))?;
            let row = engine.attempt(
                &c.params,
                sound,
                Phase::Calibrate,
                u32::try_from(n + 1).unwrap_or(u32::MAX),
                CALIBRATION_WAIT_S,
                on_event,
            )?;
            store.add_campaign_attempt(c.id, &row)?;
            c.calibration.push(if row.verdict == "woke" {
                row.latency.map(|l| l as f64 / 1e9)
            } else {
                None
            });
        }
        let latencies: Vec<f64> = c.calibration.iter().flatten().copied().collect();
        if latencies.is_empty() {
            return Err(CampaignError::NeverWoke {
                device: c.params.device,
                wake: c.params.wake_word.clone(),
                tries: c.params.calibrate,
                seconds: CALIBRATION_WAIT_S,
            });
        }
        on_event(&CampaignEvent::Calibrated {
            latencies,
            max_latency_s: c.max_latency_s(),
        });
    }
    let max_latency = c.max_latency_s();
    while let Some((i, phase)) = next_word(&c.params.design, &c.records) {
        if stop.load(Ordering::Relaxed) {
            return Ok(RunEnd::Stopped);
        }
        if !engine.wait_schedule(c, stop, on_event) {
            return Ok(RunEnd::Stopped);
        }
        let word = c.words[i].word.clone();
        let n = c.records[i].attempts;
        let voicing = (n as usize) % c.params.voicings().len();
        let sound = sounds
            .get(&word, voicing)
            .ok_or_else(|| CampaignError::NoSound(word.clone(), voicing))?;
        let row = engine.attempt(&c.params, sound, phase, n + 1, max_latency, on_event)?;
        store.add_campaign_attempt(c.id, &row)?;
        c.records[i].add(row.verdict == "woke");
        on_event(&CampaignEvent::Attempt {
            row,
            found: c.found(),
            done: c.attempts(),
            remaining: c.remaining_screening(),
        });
    }
    Ok(RunEnd::Done)
}

/// The wait after the wake word during calibration: generous, since the latency is
/// what is measured.
pub const CALIBRATION_WAIT_S: f64 = 10.0;

/// How far behind the clock the traffic is judged: a live capture hands frames over a
/// little after their kernel timestamps, and a slot must not be closed before its last
/// frame arrived.
pub const DELIVERY_LAG: Duration = Duration::from_millis(300);

struct Engine<'e, 'a> {
    io: &'e mut Io<'a>,
}

impl Engine<'_, '_> {
    /// The time up to which the traffic is complete ([`DELIVERY_LAG`] ago).
    fn judged_now(&self) -> Timestamp {
        let now = self.io.clock.now();
        Timestamp(
            now.0
                .saturating_sub(Params::nanos(DELIVERY_LAG.as_secs_f64())),
        )
    }

    /// Pulls one step of the source into `judge`.
    fn pump(&mut self, judge: &mut AttemptJudge) -> Result<(), CampaignError> {
        match self.io.source.pull()? {
            Pull::Frame(f) => {
                let p = Packet {
                    ts: f.ts,
                    wire_len: f.wire_len,
                    meta: decode(f.link, f.data),
                };
                judge.observe(&p);
            }
            Pull::Idle { .. } => {}
            Pull::End => {
                return Err(CampaignError::SourceEnded(
                    self.io.source.name().to_string(),
                ))
            }
        }
        Ok(())
    }

    /// Waits until a frame of the device is seen, or fails after `seen_wait_s`.
    fn wait_seen(&mut self, params: &Params) -> Result<(), CampaignError> {
        let start = self.io.clock.now();
        let until = plus(start, Params::duration(params.seen_wait_s));
        let mut judge = AttemptJudge::new(params.judge, params.device, start);
        while !judge.device_seen() {
            if self.io.clock.now() >= until {
                return Err(CampaignError::NotSeen {
                    device: params.device,
                    interface: self.io.source.name().to_string(),
                    seconds: params.seen_wait_s,
                });
            }
            self.pump(&mut judge)?;
        }
        Ok(())
    }

    /// Waits while the schedule blocks playing; `false` when stopped meanwhile.
    fn wait_schedule(
        &mut self,
        c: &Campaign,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(&CampaignEvent),
    ) -> bool {
        let mut paused = false;
        while let Some(why) =
            schedule_blocks(self.io.clock.local_minute(), c.allowed_hours, c.quiet_hours)
        {
            if !paused {
                on_event(&CampaignEvent::Paused { why });
                paused = true;
            }
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            self.io.clock.sleep(Duration::from_secs(1));
        }
        if paused {
            on_event(&CampaignEvent::Resumed);
        }
        true
    }

    /// One attempt: quiet, play, judge, measure.
    fn attempt(
        &mut self,
        params: &Params,
        sound: &Sound,
        phase: Phase,
        attempt: u32,
        max_latency_s: f64,
        on_event: &mut dyn FnMut(&CampaignEvent),
    ) -> Result<AttemptRow, CampaignError> {
        let mut cfg = params.judge;
        cfg.max_latency_nanos = Params::nanos(max_latency_s);
        let origin = self.io.clock.now();
        let mut judge = AttemptJudge::new(cfg, params.device, origin);
        // Quiet first: no stream may still run from the previous attempt.
        let settle = Params::nanos(params.settle_s);
        let give_up = plus(origin, Params::duration(params.quiet_wait_s));
        while !judge.quiet_for(self.judged_now(), settle) {
            if self.io.clock.now() >= give_up {
                on_event(&CampaignEvent::NotQuiet {
                    word: sound.word.clone(),
                });
                break;
            }
            self.pump(&mut judge)?;
        }
        let requested = self.io.clock.now();
        judge.set_play_start(requested);
        self.io.speaker.start(sound)?;
        let mut played: Option<(Timestamp, Timestamp)> = None;
        let verdict = loop {
            self.pump(&mut judge)?;
            if played.is_none() {
                if let Some(r) = self.io.speaker.poll() {
                    let (start, end) = r?;
                    // The player's own start, never before the request (a clock step).
                    let start = start.max(requested);
                    judge.set_play_start(start);
                    judge.set_play_end(end.max(start));
                    played = Some((start, end.max(start)));
                }
            }
            match judge.verdict(self.judged_now()) {
                Verdict::Undecided => {}
                v => break v,
            }
        };
        // A woken device: wait for the player, then measure the stream to its end.
        let (onset, latency) = match verdict {
            Verdict::Woke {
                onset,
                latency_nanos,
            } => (Some(onset), Some(latency_nanos)),
            _ => (None, None),
        };
        let until = onset.map(|o| plus(o, Params::duration(params.max_stream_s)));
        loop {
            if played.is_none() {
                if let Some(r) = self.io.speaker.poll() {
                    let (start, end) = r?;
                    let start = start.max(requested);
                    judge.set_play_end(end.max(start));
                    played = Some((start, end.max(start)));
                }
            }
            let now = self.io.clock.now();
            let measured =
                judge.upload(self.judged_now()).end.is_some() || until.is_none_or(|u| now >= u);
            if played.is_some() && measured {
                break;
            }
            self.pump(&mut judge)?;
        }
        let (play_start, play_end) = played.unwrap_or((requested, requested));
        // The latency against the player's real end (known only now when the onset came
        // first).
        let latency = latency.and(onset.map(|o| o.0.saturating_sub(play_end.0)));
        let m = judge.upload(self.judged_now());
        let voicings = params.voicings();
        let voicing = voicings.get(sound.voicing);
        Ok(AttemptRow {
            word: sound.word.clone(),
            attempt,
            phase: phase.name().to_string(),
            voice: voicing.and_then(|v| v.voice.clone()),
            rate: voicing.map_or(1.0, |v| v.rate),
            play_start,
            play_end,
            verdict: if onset.is_some() { "woke" } else { "quiet" }.to_string(),
            onset,
            latency,
            upload_end: m.end,
            bytes: if onset.is_some() { m.bytes } else { 0 },
            packets: if onset.is_some() { m.packets } else { 0 },
        })
    }
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp(t.0.saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests;
