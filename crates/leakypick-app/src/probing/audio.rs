//! Audio probes for active probing (issue 6): the sounds leakypick plays into a room to
//! see which devices react.
//!
//! A probing session first calls [`prepare`], which turns the user's request (wake words
//! to speak, generated sounds, the user's own WAV files) into WAV files, and [`preflight`],
//! which checks that the player and the audio device work. Everything that can go wrong
//! with audio goes wrong there, before the session starts, with an [`AudioError`] that
//! names the word, file or program and says what to do. The session then calls [`play`]
//! for each repetition and gets the wall-clock start and end of the playback.
//!
//! - Speech comes from a text-to-speech program ([`Tts`]: flite or espeak-ng), cached in
//!   [`AudioOptions::cache_dir`] by program, voice and text, written atomically.
//! - The non-speech probes ([`generated_sounds`]: `bark`, `glass`) are synthesized here,
//!   deterministically (a fixed-seed xorshift), as loud 16-bit mono 16 kHz WAV files.
//! - The known wake words ship in `data/wake-words.txt` ([`wake_words`]).
//! - Playback runs an external program ([`Player`]: paplay, aplay or any command).
//!
//! Every program is looked up in the `PATH` of [`AudioOptions::env`] if it sets one,
//! else in the process's `PATH`, and runs with `env` added to its environment.
//! The user guide is `docs/probes.md`.

use leakypick_core::time::Timestamp;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The shipped list of wake words and control words.
static WAKE_WORDS_TXT: &str = include_str!("../../../../data/wake-words.txt");

/// Sample rate of the generated sounds (the rate the testbed's devices record at).
const RATE: u32 = 16_000;

/// The longest user probe file accepted, in seconds.
pub const MAX_FILE_SECONDS: f64 = 60.0;

/// The highest `volume_percent` accepted for paplay. Above 100 % PulseAudio amplifies in
/// software, and loud probes clip.
pub const MAX_VOLUME_PERCENT: u32 = 150;

/// How long a helper program (pactl, aplay -L, a TTS) may take before it counts as hung.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// A wake word or phrase from the shipped list (`data/wake-words.txt`, embedded with
/// `include_str!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WakeWord {
    /// The text as it is spoken, e.g. `"Hey Google"`.
    pub text: &'static str,
    /// The assistant it wakes: a short id such as `"alexa"`, `"google"`, `"siri"`; `"none"`
    /// for a neutral control word (the paper's "major").
    pub assistant: &'static str,
}

/// The shipped wake words and control words, in the file's order.
///
/// Alexa, Amazon, Echo, Computer, Ziggy (`alexa`); Hey Google, OK Google (`google`); Hey
/// Siri, Siri (`siri`); Hey Portal; Hey Bixby, Hi Bixby; Cortana, Hey Cortana; Hey
/// Mycroft; Hey Sonos; Okay Nabu, Hey Jarvis (`home-assistant`); Hey Snips; and the
/// controls Major and Window (`none`).
pub fn wake_words() -> Vec<WakeWord> {
    WAKE_WORDS_TXT.lines().filter_map(parse_wake_line).collect()
}

/// The shipped entry whose text is `text`, compared by [`probe_name`] (so case and
/// punctuation do not matter: `"ok google"` finds "OK Google").
pub fn find_wake_word(text: &str) -> Option<WakeWord> {
    let name = probe_name(text);
    wake_words()
        .into_iter()
        .find(|w| probe_name(w.text) == name)
}

fn parse_wake_line(line: &'static str) -> Option<WakeWord> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (assistant, text) = line.split_once(char::is_whitespace)?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(WakeWord { text, assistant })
}

/// A non-speech probe that leakypick synthesizes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratedSound {
    /// The name to ask for (`prepare(.., sounds: &["bark"], ..)`) and the probe's id.
    pub name: &'static str,
    /// One line for help texts.
    pub description: &'static str,
}

const GENERATED: &[GeneratedSound] = &[
    GeneratedSound {
        name: "bark",
        description: "a dog barking three times (1 s, pitched bursts of noise, loud)",
    },
    GeneratedSound {
        name: "glass",
        description: "breaking glass (1 s, a crash, ringing shards and crackle, loud)",
    },
];

/// The sounds [`prepare`] can generate.
pub fn generated_sounds() -> &'static [GeneratedSound] {
    GENERATED
}

/// The stable id of a spoken probe: the text in lower case, runs of anything but ASCII
/// letters and digits replaced by `_` (`"Hey Google"` → `"hey_google"`), at most 40
/// characters; `"speech"` when nothing is left.
pub fn probe_name(text: &str) -> String {
    let s = slug(text, 40);
    if s.is_empty() {
        "speech".to_string()
    } else {
        s
    }
}

fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
        if out.len() >= max {
            break;
        }
    }
    out
}

/// The text-to-speech program that speaks word probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tts {
    /// `flite [-voice V] -t TEXT -o OUT.wav`. `voice: None` means `slt` (a 16 kHz US
    /// English voice) when this flite has it, else flite's own default (`kal`, 8 kHz, which
    /// the testbed's keyword spotter does not understand). A voice is a name from
    /// `flite -lv` or the path of a `.flitevox` file.
    Flite { voice: Option<String> },
    /// `espeak-ng [-v V] -w OUT.wav --stdin` with the text on standard input. A voice is a
    /// language or voice name from `espeak-ng --voices` (e.g. `en-us`); `None` is
    /// espeak-ng's default.
    EspeakNg { voice: Option<String> },
}

impl Default for Tts {
    fn default() -> Self {
        Tts::Flite { voice: None }
    }
}

impl Tts {
    /// The program's name, which is also the cache key's prefix.
    pub fn program(&self) -> &'static str {
        match self {
            Tts::Flite { .. } => "flite",
            Tts::EspeakNg { .. } => "espeak-ng",
        }
    }

    /// The voice asked for, if any.
    pub fn voice(&self) -> Option<&str> {
        match self {
            Tts::Flite { voice } | Tts::EspeakNg { voice } => voice.as_deref(),
        }
    }
}

/// How probes are played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Player {
    /// `paplay [-d DEV] [--volume=N] FILE` (PulseAudio or PipeWire's pulse server).
    /// `device` is a sink name or index from `pactl list short sinks`; `None` is the
    /// default sink. `volume_percent` (1 to [`MAX_VOLUME_PERCENT`]) becomes
    /// `N = percent × 65536 / 100`; PulseAudio's scale is cubic, so 50 % is about -18 dB.
    /// `None` leaves the stream at PulseAudio's default (100 %).
    Paplay {
        device: Option<String>,
        volume_percent: Option<u32>,
    },
    /// `aplay -q [-D DEV] FILE` (ALSA). `device` is a PCM name from `aplay -L`.
    Aplay { device: Option<String> },
    /// Any command: the first element is the program, `{}` in any argument is replaced by
    /// the WAV file's path; without `{}` the path is appended as the last argument.
    Command(Vec<String>),
}

impl Default for Player {
    fn default() -> Self {
        Player::Paplay {
            device: None,
            volume_percent: None,
        }
    }
}

/// What a probe is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// Text spoken by the TTS program.
    Speech { text: String },
    /// A sound generated by leakypick (see [`generated_sounds`]).
    Sound { name: String },
    /// The user's own WAV file.
    File { path: PathBuf },
}

/// One prepared probe: a WAV file ready to play.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSound {
    /// Stable id: [`probe_name`] of the text (`"alexa"`, `"hey_google"`), the generated
    /// sound's name (`"bark"`, `"glass"`), or a user file's stem. Unique within one
    /// [`prepare`] result: a repeated id gets `_2`, `_3`, ... appended.
    pub name: String,
    pub kind: ProbeKind,
    /// Absolute path of the WAV file to play (in the cache for speech and sounds).
    pub wav: PathBuf,
    /// Duration of the WAV file in seconds.
    pub seconds: f64,
}

/// Where and how probes are made and played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioOptions {
    pub tts: Tts,
    /// Where synthesized speech and generated sounds are kept (created if missing).
    pub cache_dir: PathBuf,
    pub player: Player,
    /// Extra environment for every program run here (TTS, player, pactl, aplay), e.g.
    /// `PULSE_SERVER`. A `PATH` given here is also where those programs are looked up.
    pub env: Vec<(String, String)>,
}

/// Why audio cannot be prepared or played. Each message is one sentence that names the
/// word, file or program, followed by what to do.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("nothing to play: give at least one word, generated sound or WAV file")]
    NoProbes,
    #[error("an empty word was given as a probe: remove the empty entry from the word list")]
    EmptyWord,
    #[error("unknown generated sound `{name}`; available: {available}")]
    UnknownSound { name: String, available: String },
    #[error("the {purpose} `{program}` is not installed: {hint}")]
    ProgramMissing {
        program: String,
        purpose: &'static str,
        hint: String,
    },
    #[error("cannot run `{program}`: {io}")]
    Spawn { program: String, io: io::Error },
    #[error("`{program}` did not finish within {seconds} s and was stopped")]
    Timeout { program: String, seconds: u64 },
    #[error("{program} has no voice `{voice}`; available: {available}")]
    UnknownVoice {
        program: String,
        voice: String,
        available: String,
    },
    #[error("{program} could not speak `{text}`: {detail}")]
    Speech {
        program: String,
        text: String,
        detail: String,
    },
    #[error("cannot use the probe cache directory {}: {io} (choose another cache directory)", dir.display())]
    Cache { dir: PathBuf, io: io::Error },
    #[error("cannot read probe file {}: {io}", path.display())]
    FileUnreadable { path: PathBuf, io: io::Error },
    #[error(
        "probe file {} is not a WAV file (RIFF/WAVE header missing): convert it with `ffmpeg -i INPUT {}`",
        path.display(), path.display()
    )]
    NotWav { path: PathBuf },
    #[error(
        "probe file {} is a WAV file leakypick cannot read ({detail}): convert it to 16-bit PCM with `ffmpeg -i {} -c:a pcm_s16le OUT.wav`",
        path.display(), path.display()
    )]
    BadWav { path: PathBuf, detail: String },
    #[error("probe file {} holds no audio (0 samples): use a file with sound in it", path.display())]
    EmptyWav { path: PathBuf },
    #[error(
        "probe file {} lasts {seconds:.1} s, longer than the {max:.0} s limit: cut it with `ffmpeg -i {} -t {max:.0} OUT.wav`",
        path.display(), path.display()
    )]
    TooLong {
        path: PathBuf,
        seconds: f64,
        max: f64,
    },
    #[error("paplay volume {percent} % is out of range: use 1 to {max} % (100 % plays the file as it is)")]
    BadVolume { percent: u32, max: u32 },
    #[error("the player command is empty: give the program and its arguments, with {{}} for the WAV file")]
    EmptyCommand,
    #[error("no audio device: `{check}` failed ({hint}): {detail}")]
    NoAudioDevice {
        check: String,
        hint: &'static str,
        detail: String,
    },
    #[error("sink `{sink}` not found; available: {available} (see `pactl list short sinks`)")]
    SinkNotFound { sink: String, available: String },
    #[error("ALSA device `{device}` cannot be opened ({detail}); available: {available} (see `aplay -L`)")]
    AlsaDevice {
        device: String,
        detail: String,
        available: String,
    },
    #[error("the player `{program}` failed ({status}) playing {}: {stderr}", wav.display())]
    PlayFailed {
        program: String,
        status: String,
        wav: PathBuf,
        stderr: String,
    },
    #[error("the system clock is before 1970 or after 2262: set the clock")]
    Clock,
}

// ---------------------------------------------------------------------------------------
// prepare

/// Turns the user's request into WAV files: speaks each word with the TTS program (cached
/// in `opts.cache_dir` by program, voice and text; a cached file that is not a valid WAV
/// is made again), generates the named sounds (`"bark"`, `"glass"`; case does not
/// matter) and checks the user's files (a readable WAV, not empty, at most
/// [`MAX_FILE_SECONDS`]).
///
/// The result lists the words, then the sounds, then the files, each in the order given.
/// Everything that can fail fails here, before any session starts; checks that need no
/// program run first, so a bad file is reported before anything is synthesized.
pub fn prepare(
    words: &[String],
    sounds: &[String],
    files: &[PathBuf],
    opts: &AudioOptions,
) -> Result<Vec<ProbeSound>, AudioError> {
    if words.is_empty() && sounds.is_empty() && files.is_empty() {
        return Err(AudioError::NoProbes);
    }
    // Cheap checks first.
    let words: Vec<&str> = words.iter().map(|w| w.trim()).collect();
    if words.iter().any(|w| w.is_empty()) {
        return Err(AudioError::EmptyWord);
    }
    let mut sound_names = Vec::new();
    for s in sounds {
        let name = s.trim().to_ascii_lowercase();
        if !GENERATED.iter().any(|g| g.name == name) {
            return Err(AudioError::UnknownSound {
                name: s.clone(),
                available: GENERATED
                    .iter()
                    .map(|g| g.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        sound_names.push(name);
    }
    let mut file_probes = Vec::new();
    for path in files {
        let seconds = check_user_wav(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "file".to_string());
        file_probes.push(ProbeSound {
            name,
            kind: ProbeKind::File { path: path.clone() },
            wav: absolute(path),
            seconds,
        });
    }

    let cache_dir = absolute(&opts.cache_dir);
    fs::create_dir_all(&cache_dir).map_err(|io| AudioError::Cache {
        dir: cache_dir.clone(),
        io,
    })?;

    let mut out = Vec::new();
    if !words.is_empty() {
        let tts = resolve_tts(opts)?;
        for text in &words {
            let (wav, seconds) = speak_cached(&tts, text, 1.0, &cache_dir, opts)?;
            out.push(ProbeSound {
                name: probe_name(text),
                kind: ProbeKind::Speech {
                    text: (*text).to_string(),
                },
                wav,
                seconds,
            });
        }
    }
    for name in sound_names {
        let (wav, seconds) = generate_cached(&name, &cache_dir)?;
        out.push(ProbeSound {
            name: name.clone(),
            kind: ProbeKind::Sound { name },
            wav,
            seconds,
        });
    }
    out.extend(file_probes);
    make_names_unique(&mut out);
    Ok(out)
}

/// Speaks each word at `rate` (1.0 = normal; flite `duration_stretch`, espeak-ng words
/// per minute) into the cache, like [`prepare`] does for words, calling `on_word` after
/// each (for a progress bar). The result has one sound per word, in order, named by
/// [`probe_name`] (not made unique: the caller keys them by word).
pub fn prepare_speech(
    words: &[String],
    rate: f64,
    opts: &AudioOptions,
    on_word: &mut dyn FnMut(),
) -> Result<Vec<ProbeSound>, AudioError> {
    if words.iter().any(|w| w.trim().is_empty()) {
        return Err(AudioError::EmptyWord);
    }
    if words.is_empty() {
        return Err(AudioError::NoProbes);
    }
    let cache_dir = absolute(&opts.cache_dir);
    fs::create_dir_all(&cache_dir).map_err(|io| AudioError::Cache {
        dir: cache_dir.clone(),
        io,
    })?;
    let tts = resolve_tts(opts)?;
    let mut out = Vec::with_capacity(words.len());
    for text in words {
        let text = text.trim();
        let (wav, seconds) = speak_cached(&tts, text, rate, &cache_dir, opts)?;
        out.push(ProbeSound {
            name: probe_name(text),
            kind: ProbeKind::Speech {
                text: text.to_string(),
            },
            wav,
            seconds,
        });
        on_word();
    }
    Ok(out)
}

fn make_names_unique(probes: &mut [ProbeSound]) {
    let mut seen: Vec<String> = Vec::new();
    for p in probes.iter_mut() {
        if seen.contains(&p.name) {
            let mut n = 2;
            while seen.contains(&format!("{}_{n}", p.name)) {
                n += 1;
            }
            p.name = format!("{}_{n}", p.name);
        }
        seen.push(p.name.clone());
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Checks a user's probe file and returns its duration in seconds.
fn check_user_wav(path: &Path) -> Result<f64, AudioError> {
    let unreadable = |io| AudioError::FileUnreadable {
        path: path.to_path_buf(),
        io,
    };
    let meta = fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(unreadable(io::Error::other("not a regular file")));
    }
    let mut head = [0u8; 12];
    let mut f = fs::File::open(path).map_err(unreadable)?;
    let got = read_up_to(&mut f, &mut head).map_err(unreadable)?;
    if got < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(AudioError::NotWav {
            path: path.to_path_buf(),
        });
    }
    let info = wav_info(path).map_err(|e| AudioError::BadWav {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if info.frames == 0 {
        return Err(AudioError::EmptyWav {
            path: path.to_path_buf(),
        });
    }
    if info.seconds > MAX_FILE_SECONDS {
        return Err(AudioError::TooLong {
            path: path.to_path_buf(),
            seconds: info.seconds,
            max: MAX_FILE_SECONDS,
        });
    }
    Ok(info.seconds)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

struct WavInfo {
    frames: u64,
    seconds: f64,
}

/// Why a WAV file cannot be read (the detail of [`AudioError::BadWav`] and
/// [`AudioError::Speech`]).
#[derive(Debug, thiserror::Error)]
enum WavError {
    #[error("{0}")]
    Hound(hound::Error),
    #[error("no channels or a sample rate of 0")]
    NoAudioFormat,
    #[error("damaged after {samples} samples: {error}")]
    Damaged { samples: u64, error: hound::Error },
}

/// Opens a WAV file with hound and reads every sample (so a file cut short is caught).
fn wav_info(path: &Path) -> Result<WavInfo, WavError> {
    let mut reader = hound::WavReader::open(path).map_err(WavError::Hound)?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(WavError::NoAudioFormat);
    }
    let mut samples: u64 = 0;
    match spec.sample_format {
        hound::SampleFormat::Int => {
            for s in reader.samples::<i32>() {
                s.map_err(|error| WavError::Damaged { samples, error })?;
                samples += 1;
            }
        }
        hound::SampleFormat::Float => {
            for s in reader.samples::<f32>() {
                s.map_err(|error| WavError::Damaged { samples, error })?;
                samples += 1;
            }
        }
    }
    let frames = samples / u64::from(spec.channels);
    Ok(WavInfo {
        frames,
        seconds: frames as f64 / f64::from(spec.sample_rate),
    })
}

// ---------------------------------------------------------------------------------------
// text to speech

/// The TTS program resolved: its path and the voice to use (`None`: the program's default).
struct ResolvedTts {
    program: &'static str,
    path: PathBuf,
    voice: Option<String>,
}

fn resolve_tts(opts: &AudioOptions) -> Result<ResolvedTts, AudioError> {
    let program = opts.tts.program();
    let path = find_program(program, &opts.env).ok_or_else(|| AudioError::ProgramMissing {
        program: program.to_string(),
        purpose: "TTS program",
        hint: match opts.tts {
            Tts::Flite { .. } => "apt-get install flite (or choose --tts espeak-ng)".to_string(),
            Tts::EspeakNg { .. } => "apt-get install espeak-ng (or choose --tts flite)".to_string(),
        },
    })?;
    let voice = match &opts.tts {
        Tts::Flite { voice } => {
            let listed = flite_voices(&path, opts)?;
            match voice {
                // A .flitevox file (or a URL) instead of a built-in voice.
                Some(v) if v.contains('/') || v.ends_with(".flitevox") => {
                    if !v.contains("://") && !Path::new(v).is_file() {
                        return Err(AudioError::UnknownVoice {
                            program: program.to_string(),
                            voice: v.clone(),
                            available: format!(
                                "{} (or the path of an existing .flitevox file)",
                                listed.join(", ")
                            ),
                        });
                    }
                    Some(v.clone())
                }
                Some(v) => {
                    // flite falls back to its default voice, silently, for an unknown name.
                    if !listed.iter().any(|l| l == v) {
                        return Err(AudioError::UnknownVoice {
                            program: program.to_string(),
                            voice: v.clone(),
                            available: listed.join(", "),
                        });
                    }
                    Some(v.clone())
                }
                None => listed.iter().any(|l| l == "slt").then(|| "slt".to_string()),
            }
        }
        Tts::EspeakNg { voice } => voice.clone(),
    };
    Ok(ResolvedTts {
        program,
        path,
        voice,
    })
}

/// `flite -lv`: "Voices available: kal awb_time kal16 awb rms slt".
fn flite_voices(path: &Path, opts: &AudioOptions) -> Result<Vec<String>, AudioError> {
    let out = run_helper(path, &["-lv".into()], None, opts)?;
    let text = format!("{}{}", out.stdout, out.stderr);
    let list = text
        .split_once(':')
        .map(|(_, rest)| rest)
        .unwrap_or(&text)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Ok(list)
}

/// `espeak-ng --voices`: the language column of each voice.
fn espeak_voices(path: &Path, opts: &AudioOptions) -> String {
    match run_helper(path, &["--voices".into()], None, opts) {
        Ok(out) => {
            let mut langs: Vec<&str> = Vec::new();
            for l in out.stdout.lines().skip(1) {
                if let Some(lang) = l.split_whitespace().nth(1) {
                    if !langs.contains(&lang) {
                        langs.push(lang);
                    }
                }
            }
            if langs.is_empty() {
                "see `espeak-ng --voices`".to_string()
            } else {
                langs.join(", ")
            }
        }
        Err(_) => "see `espeak-ng --voices`".to_string(),
    }
}

/// Cache file name: program, voice, slug of the text and a 64-bit FNV-1a hash of all three
/// (the slug alone is not unique).
fn speech_cache_name(program: &str, voice: Option<&str>, text: &str) -> String {
    let voice_key = voice.unwrap_or("default");
    let mut key = Vec::new();
    for part in [program, voice_key, text] {
        key.extend_from_slice(part.as_bytes());
        key.push(0);
    }
    let voice_slug = match slug(voice_key, 24) {
        s if s.is_empty() => "voice".to_string(),
        s => s,
    };
    format!(
        "{program}-{voice_slug}-{}-{:016x}.wav",
        probe_name(text).chars().take(32).collect::<String>(),
        fnv1a64(&key)
    )
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Returns the cached WAV of `text`, synthesizing it first when it is missing or invalid.
fn speak_cached(
    tts: &ResolvedTts,
    text: &str,
    rate: f64,
    cache_dir: &Path,
    opts: &AudioOptions,
) -> Result<(PathBuf, f64), AudioError> {
    let name = speech_cache_name(tts.program, tts.voice.as_deref(), text);
    let name = if rate == 1.0 {
        name
    } else {
        // Another rate is another file; the name at rate 1 stays what it always was.
        format!(
            "{}-r{:.0}.wav",
            name.trim_end_matches(".wav"),
            rate * 1000.0
        )
    };
    let wav = cache_dir.join(name);
    if let Ok(info) = wav_info(&wav) {
        if info.frames > 0 {
            return Ok((wav, info.seconds));
        }
    }
    let tmp = temp_path(&wav);
    let result = synthesize(tts, text, rate, &tmp, opts).and_then(|()| {
        let info = wav_info(&tmp).map_err(|detail| AudioError::Speech {
            program: tts.program.to_string(),
            text: text.to_string(),
            detail: format!("it did not write a valid WAV file ({detail})"),
        })?;
        if info.frames == 0 {
            return Err(AudioError::Speech {
                program: tts.program.to_string(),
                text: text.to_string(),
                detail: "it wrote an empty WAV file".to_string(),
            });
        }
        fs::rename(&tmp, &wav).map_err(|io| AudioError::Cache {
            dir: cache_dir.to_path_buf(),
            io,
        })?;
        Ok(info.seconds)
    });
    match result {
        Ok(seconds) => Ok((wav, seconds)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn synthesize(
    tts: &ResolvedTts,
    text: &str,
    rate: f64,
    out: &Path,
    opts: &AudioOptions,
) -> Result<(), AudioError> {
    let mut args: Vec<OsString> = Vec::new();
    let stdin = if tts.program == "flite" {
        if let Some(v) = &tts.voice {
            args.extend(["-voice".into(), v.into()]);
        }
        if rate != 1.0 {
            // flite stretches durations: 2 is half as fast.
            args.extend([
                "--setf".into(),
                format!("duration_stretch={:.3}", 1.0 / rate).into(),
            ]);
        }
        args.extend(["-t".into(), text.into(), "-o".into(), out.into()]);
        None
    } else {
        if let Some(v) = &tts.voice {
            args.extend(["-v".into(), v.into()]);
        }
        if rate != 1.0 {
            // espeak-ng speaks 175 words per minute by default.
            args.extend(["-s".into(), format!("{:.0}", 175.0 * rate).into()]);
        }
        // The text on standard input: a text starting with `-` is not an option.
        args.extend(["-w".into(), out.into(), "--stdin".into()]);
        Some(text.as_bytes())
    };
    let result = run_helper(&tts.path, &args, stdin, opts)?;
    // flite exits 0 even when it fails; the WAV check after this catches that.
    if !result.status.success() {
        let stderr = result.stderr.trim();
        if tts.program == "espeak-ng" && stderr.contains("voice does not exist") {
            return Err(AudioError::UnknownVoice {
                program: tts.program.to_string(),
                voice: tts.voice.clone().unwrap_or_default(),
                available: espeak_voices(&tts.path, opts),
            });
        }
        return Err(AudioError::Speech {
            program: tts.program.to_string(),
            text: text.to_string(),
            detail: format!("it exited with {}: {}", result.status, one_line(stderr)),
        });
    }
    if !out.is_file() {
        return Err(AudioError::Speech {
            program: tts.program.to_string(),
            text: text.to_string(),
            detail: format!("it wrote no file: {}", one_line(result.stderr.trim())),
        });
    }
    Ok(())
}

/// A temporary name beside `path`, unique to this process and call.
fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8], cache_dir: &Path) -> Result<(), AudioError> {
    let tmp = temp_path(path);
    let cache_err = |io| AudioError::Cache {
        dir: cache_dir.to_path_buf(),
        io,
    };
    let result = fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(io) = result {
        let _ = fs::remove_file(&tmp);
        return Err(cache_err(io));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// generated sounds

/// Writes the generated sound `name` into the cache unless an identical file is there.
fn generate_cached(name: &str, cache_dir: &Path) -> Result<(PathBuf, f64), AudioError> {
    let samples = generate(name).unwrap_or_default();
    let bytes = wav_bytes(&samples).map_err(|e| AudioError::Cache {
        dir: cache_dir.to_path_buf(),
        io: io::Error::other(e.to_string()),
    })?;
    let wav = cache_dir.join(format!("sound-{name}.wav"));
    if fs::read(&wav).ok().as_deref() != Some(bytes.as_slice()) {
        write_atomic(&wav, &bytes, cache_dir)?;
    }
    Ok((wav, samples.len() as f64 / f64::from(RATE)))
}

fn wav_bytes(samples: &[i16]) -> Result<Vec<u8>, hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec)?;
        for &s in samples {
            w.write_sample(s)?;
        }
        w.finalize()?;
    }
    Ok(cursor.into_inner())
}

/// The samples (16 kHz mono) of a generated sound, or `None` for an unknown name.
fn generate(name: &str) -> Option<Vec<i16>> {
    let raw = match name {
        "bark" => bark(),
        "glass" => glass(),
        _ => return None,
    };
    Some(to_pcm(&raw))
}

/// xorshift64*: a tiny deterministic generator for the noise of the generated sounds.
struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// A biquad filter (RBJ audio-EQ cookbook), transposed direct form II.
struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
    z1: f64,
    z2: f64,
}

impl Biquad {
    fn new(b: [f64; 3], a: [f64; 3]) -> Biquad {
        Biquad {
            b0: b[0] / a[0],
            b1: b[1] / a[0],
            b2: b[2] / a[0],
            a1: a[1] / a[0],
            a2: a[2] / a[0],
            z1: 0.0,
            z2: 0.0,
        }
    }
    /// Band-pass with 0 dB peak gain.
    fn bandpass(f0: f64, q: f64) -> Biquad {
        let w = 2.0 * std::f64::consts::PI * f0 / f64::from(RATE);
        let alpha = w.sin() / (2.0 * q);
        Biquad::new(
            [alpha, 0.0, -alpha],
            [1.0 + alpha, -2.0 * w.cos(), 1.0 - alpha],
        )
    }
    fn highpass(f0: f64, q: f64) -> Biquad {
        let w = 2.0 * std::f64::consts::PI * f0 / f64::from(RATE);
        let alpha = w.sin() / (2.0 * q);
        let c = w.cos();
        Biquad::new(
            [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }
    fn process(&mut self, x: f64) -> f64 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }
}

fn seconds_to_samples(s: f64) -> usize {
    (s * f64::from(RATE)).round() as usize
}

/// A dog barking three times in one second: each bark is a pitched tone (six harmonics,
/// the fundamental falling from about 750 Hz to 450 Hz) mixed with band-limited noise
/// (around 1.2 kHz), with a 5 ms attack and a fast decay. The gaps between barks are short
/// and the decay tails fill them, so the room stays loud for the whole second.
fn bark() -> Vec<f64> {
    let mut rng = XorShift(0x6261_726b_5eed_0001);
    let n = seconds_to_samples(1.0);
    let mut out = vec![0.0; n];
    // (start s, length s, highest f0, lowest f0)
    let barks = [
        (0.02, 0.24, 760.0, 470.0),
        (0.31, 0.22, 720.0, 440.0),
        (0.60, 0.26, 790.0, 420.0),
    ];
    let rate = f64::from(RATE);
    for &(start, len, f_hi, f_lo) in &barks {
        let s0 = seconds_to_samples(start);
        let m = seconds_to_samples(len);
        let mut noise_bp = Biquad::bandpass(1200.0, 0.8);
        let mut phase = 0.0f64;
        for i in 0..m {
            let Some(slot) = out.get_mut(s0 + i) else {
                break;
            };
            let t = i as f64 / rate;
            let u = t / len;
            // Pitch: a quick rise over the first 12 %, then a fall to f_lo.
            let f0 = if u < 0.12 {
                f_hi * (0.85 + 0.15 * u / 0.12)
            } else {
                f_lo + (f_hi - f_lo) * (1.0 - (u - 0.12) / 0.88).powi(2)
            };
            phase += 2.0 * std::f64::consts::PI * f0 / rate;
            let mut tone = 0.0;
            for k in 1..=6u32 {
                let fk = f0 * f64::from(k);
                if fk < rate / 2.0 - 500.0 {
                    tone += (phase * f64::from(k)).sin() / f64::from(k).powf(0.7);
                }
            }
            let noise = noise_bp.process(rng.signed()) * 3.0;
            // 5 ms attack, decay, and a 25 ms release at the end.
            let attack = 1.0 - (-t / 0.005).exp();
            let decay = (-t / 0.15).exp();
            let release = ((len - t) / 0.025).min(1.0);
            *slot += attack * decay * release * (0.55 * tone / 2.5 + 0.45 * noise);
        }
    }
    normalize(&mut out, 2.2);
    fade(&mut out);
    out
}

/// Breaking glass in one second: a broadband crash (white noise, 4 ms decay), nine
/// inharmonic partials between 3.1 and 6.9 kHz ringing out with decays of 0.15 to 0.5 s,
/// two smaller impacts of falling pieces (at 0.3 and 0.55 s, with their own partials) and
/// crackle: short high-passed clicks, thinning out over time.
fn glass() -> Vec<f64> {
    let mut rng = XorShift(0x676c_6173_735e_ed02);
    let n = seconds_to_samples(1.0);
    let rate = f64::from(RATE);
    let mut out = vec![0.0; n];
    // impacts: (time s, loudness, partials)
    let impacts: [(f64, f64, &[f64]); 3] = [
        (
            0.01,
            1.0,
            &[
                3127.0, 3581.0, 4043.0, 4519.0, 4962.0, 5477.0, 5903.0, 6389.0, 6871.0,
            ],
        ),
        (0.30, 0.6, &[3340.0, 4270.0, 5110.0, 6020.0, 6650.0]),
        (0.55, 0.5, &[3760.0, 4710.0, 5650.0, 6440.0]),
    ];
    for &(at, loud, partials) in &impacts {
        let s0 = seconds_to_samples(at);
        let mut hp = Biquad::highpass(800.0, 0.7);
        // the crash: broadband noise
        for i in 0..seconds_to_samples(0.03) {
            let Some(slot) = out.get_mut(s0 + i) else {
                break;
            };
            let t = i as f64 / rate;
            *slot += loud * 1.6 * (-t / 0.004).exp() * hp.process(rng.signed());
        }
        // the ringing: inharmonic partials
        for &f in partials {
            let amp = loud * rng.range(0.35, 1.0) * 0.55;
            let tau = rng.range(0.15, 0.5);
            let ph = rng.range(0.0, 2.0 * std::f64::consts::PI);
            // slight detuning beat between two close components
            let beat = rng.range(3.0, 9.0);
            for i in 0..(n.saturating_sub(s0)) {
                let Some(slot) = out.get_mut(s0 + i) else {
                    break;
                };
                let t = i as f64 / rate;
                let w = 2.0 * std::f64::consts::PI * f * t + ph;
                let attack = 1.0 - (-t / 0.001).exp();
                *slot += amp
                    * attack
                    * (-t / tau).exp()
                    * w.sin()
                    * (0.75 + 0.25 * (2.0 * std::f64::consts::PI * beat * t).cos());
            }
        }
    }
    // crackle: short clicks of high-passed noise, denser and louder early on
    let clicks = 90;
    for _ in 0..clicks {
        let at = 0.02 + 0.9 * rng.unit().powf(1.6);
        let loud = rng.range(0.15, 0.6) * (-(at - 0.02) / 0.6).exp();
        let len = seconds_to_samples(rng.range(0.002, 0.008));
        let s0 = seconds_to_samples(at);
        let mut hp = Biquad::highpass(2500.0, 0.7);
        for i in 0..len {
            let Some(slot) = out.get_mut(s0 + i) else {
                break;
            };
            let t = i as f64 / rate;
            *slot += loud * (-t / 0.0015).exp() * hp.process(rng.signed());
        }
    }
    normalize(&mut out, 1.6);
    fade(&mut out);
    out
}

/// Soft-clips with `tanh(drive · x)` after scaling to a peak of 1, then scales the peak to
/// 0.97 of full scale: loud, with a high RMS, and no hard clipping.
fn normalize(x: &mut [f64], drive: f64) {
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak <= 0.0 {
        return;
    }
    for v in x.iter_mut() {
        *v = (drive * *v / peak).tanh();
    }
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        for v in x.iter_mut() {
            *v *= 0.97 / peak;
        }
    }
}

/// A 20 ms fade-out so the sound ends at zero (no click).
fn fade(x: &mut [f64]) {
    let n = x.len();
    let f = seconds_to_samples(0.02).min(n);
    for i in 0..f {
        if let Some(v) = x.get_mut(n - f + i) {
            *v *= (f - i) as f64 / f as f64;
        }
    }
}

fn to_pcm(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|v| (v * 32767.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

// ---------------------------------------------------------------------------------------
// preflight and play

/// Checks that the player program exists and the audio device is reachable, without
/// playing anything audible.
///
/// - paplay: `paplay` and `pactl` exist, `pactl info` succeeds, and the sink is listed by
///   `pactl list short sinks` (by name or index; without a device, at least one sink).
/// - aplay: `aplay -L` runs, and a 50 ms silent WAV (written to the cache directory as
///   `silence-50ms.wav`) plays through the device: this opens it, as the probes will.
/// - a command: its program exists. Its device cannot be checked.
pub fn preflight(opts: &AudioOptions) -> Result<(), AudioError> {
    match &opts.player {
        Player::Paplay {
            device,
            volume_percent,
        } => {
            if let Some(p) = *volume_percent {
                if p == 0 || p > MAX_VOLUME_PERCENT {
                    return Err(AudioError::BadVolume {
                        percent: p,
                        max: MAX_VOLUME_PERCENT,
                    });
                }
            }
            require(
                "paplay",
                "audio player",
                "apt-get install pulseaudio-utils (or choose --player aplay)",
                opts,
            )?;
            let pactl = require(
                "pactl",
                "PulseAudio control program",
                "apt-get install pulseaudio-utils",
                opts,
            )?;
            let no_device = |check: &str, detail: String| AudioError::NoAudioDevice {
                check: check.to_string(),
                hint: "is PulseAudio running? set PULSE_SERVER",
                detail,
            };
            let info = run_helper(&pactl, &["info".into()], None, opts)?;
            if !info.status.success() {
                return Err(no_device("pactl info", info.failure()));
            }
            let list = run_helper(
                &pactl,
                &["list".into(), "short".into(), "sinks".into()],
                None,
                opts,
            )?;
            if !list.status.success() {
                return Err(no_device("pactl list short sinks", list.failure()));
            }
            // "0\troom\tmodule-null-sink.c\ts16le 2ch 44100Hz\tSUSPENDED"
            let sinks: Vec<(&str, &str)> = list
                .stdout
                .lines()
                .filter_map(|l| {
                    let mut cols = l.split('\t');
                    Some((cols.next()?.trim(), cols.next()?.trim()))
                })
                .collect();
            match device {
                None if sinks.is_empty() => Err(no_device(
                    "pactl list short sinks",
                    "PulseAudio has no sinks".to_string(),
                )),
                None => Ok(()),
                Some(d) if sinks.iter().any(|(idx, name)| name == d || idx == d) => Ok(()),
                Some(d) => Err(AudioError::SinkNotFound {
                    sink: d.clone(),
                    available: list_or_none(sinks.iter().map(|(_, name)| *name)),
                }),
            }
        }
        Player::Aplay { device } => {
            let aplay = require(
                "aplay",
                "audio player",
                "apt-get install alsa-utils (or choose --player paplay)",
                opts,
            )?;
            let listed = run_helper(&aplay, &["-L".into()], None, opts)?;
            // Names start a line; their descriptions are indented.
            let names: Vec<&str> = listed
                .stdout
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with(char::is_whitespace))
                .collect();
            let dir = absolute(&opts.cache_dir);
            fs::create_dir_all(&dir).map_err(|io| AudioError::Cache {
                dir: dir.clone(),
                io,
            })?;
            let silence = dir.join("silence-50ms.wav");
            let bytes = wav_bytes(&vec![0i16; seconds_to_samples(0.05)]).map_err(|e| {
                AudioError::Cache {
                    dir: dir.clone(),
                    io: io::Error::other(e.to_string()),
                }
            })?;
            if fs::read(&silence).ok().as_deref() != Some(bytes.as_slice()) {
                write_atomic(&silence, &bytes, &dir)?;
            }
            let mut args: Vec<OsString> = vec!["-q".into()];
            if let Some(d) = device {
                args.extend(["-D".into(), d.into()]);
            }
            args.push(silence.into());
            let played = run_helper(&aplay, &args, None, opts)?;
            if played.status.success() {
                return Ok(());
            }
            match device {
                Some(d) => Err(AudioError::AlsaDevice {
                    device: d.clone(),
                    detail: played.failure(),
                    available: list_or_none(names.into_iter()),
                }),
                None => Err(AudioError::NoAudioDevice {
                    check: "aplay (default ALSA device)".to_string(),
                    hint: "no sound card? name a device from `aplay -L`",
                    detail: played.failure(),
                }),
            }
        }
        Player::Command(argv) => {
            let program = argv.first().ok_or(AudioError::EmptyCommand)?;
            require(
                program,
                "player command",
                "check the command's name and PATH",
                opts,
            )?;
            Ok(())
        }
    }
}

fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

fn require(
    program: &str,
    purpose: &'static str,
    hint: &str,
    opts: &AudioOptions,
) -> Result<PathBuf, AudioError> {
    find_program(program, &opts.env).ok_or_else(|| AudioError::ProgramMissing {
        program: program.to_string(),
        purpose,
        hint: hint.to_string(),
    })
}

/// The player's command line for one WAV file: the program's path and its arguments.
fn player_command(
    player: &Player,
    wav: &Path,
    opts: &AudioOptions,
) -> Result<(String, PathBuf, Vec<OsString>), AudioError> {
    match player {
        Player::Paplay {
            device,
            volume_percent,
        } => {
            let path = require(
                "paplay",
                "audio player",
                "apt-get install pulseaudio-utils (or choose --player aplay)",
                opts,
            )?;
            let mut args: Vec<OsString> = Vec::new();
            if let Some(d) = device {
                args.extend(["-d".into(), d.into()]);
            }
            if let Some(p) = *volume_percent {
                if p == 0 || p > MAX_VOLUME_PERCENT {
                    return Err(AudioError::BadVolume {
                        percent: p,
                        max: MAX_VOLUME_PERCENT,
                    });
                }
                args.push(format!("--volume={}", u64::from(p) * 65536 / 100).into());
            }
            args.push(wav.into());
            Ok(("paplay".to_string(), path, args))
        }
        Player::Aplay { device } => {
            let path = require(
                "aplay",
                "audio player",
                "apt-get install alsa-utils (or choose --player paplay)",
                opts,
            )?;
            let mut args: Vec<OsString> = vec!["-q".into()];
            if let Some(d) = device {
                args.extend(["-D".into(), d.into()]);
            }
            args.push(wav.into());
            Ok(("aplay".to_string(), path, args))
        }
        Player::Command(argv) => {
            let (program, rest) = argv.split_first().ok_or(AudioError::EmptyCommand)?;
            let path = require(
                program,
                "player command",
                "check the command's name and PATH",
                opts,
            )?;
            let wav_str = wav.to_string_lossy();
            let mut args: Vec<OsString> = Vec::new();
            let mut placed = false;
            for a in rest {
                if a.contains("{}") {
                    placed = true;
                    args.push(a.replace("{}", &wav_str).into());
                } else {
                    args.push(a.into());
                }
            }
            if !placed {
                args.push(wav.into());
            }
            Ok((program.clone(), path, args))
        }
    }
}

/// Plays one probe and blocks until the player exits. Returns the wall-clock time (from
/// `SystemTime`) just before the player was started and just after it exited.
///
/// The player runs with `opts.env` added. A player that exits non-zero is an error that
/// includes its standard error; one still running 30 s past twice the sound's length is
/// stopped and reported.
///
/// paplay and aplay exit once their audio has drained, so the sound ends within a few
/// tens of milliseconds of `end`. The start includes the player's start-up: about 20 ms
/// on a running PulseAudio sink, but up to about 1 s on an idle null sink (the testbed's
/// room, measured). `end - seconds` is the better estimate of when the sound began; the
/// whole `start..end` interval is when it may have been heard.
pub fn play(sound: &ProbeSound, opts: &AudioOptions) -> Result<(Timestamp, Timestamp), AudioError> {
    let (program, path, args) = player_command(&opts.player, &sound.wav, opts)?;
    let limit = Duration::from_secs_f64(sound.seconds.clamp(0.0, 3600.0) * 2.0 + 30.0);
    let start = now()?;
    let result = run(&path, &args, None, opts, limit, false).map_err(|e| e.into_audio(&program))?;
    let end = now()?;
    if !result.status.success() {
        return Err(AudioError::PlayFailed {
            program,
            status: result.status.to_string(),
            wav: sound.wav.clone(),
            stderr: one_line(result.stderr.trim()),
        });
    }
    Ok((start, end))
}

fn now() -> Result<Timestamp, AudioError> {
    let t = crate::process::wall_clock();
    if t.0 <= 0 || t.0 == i64::MAX {
        return Err(AudioError::Clock);
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// running programs

/// Finds `program` as the shell would: a name with a `/` is taken as a path, any other is
/// looked up in `PATH` (from `env` if it sets one, else this process's). Only executable
/// regular files count.
fn find_program(program: &str, env: &[(String, String)]) -> Option<PathBuf> {
    fn executable(p: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path_var: OsString = match env.iter().rev().find(|(k, _)| k == "PATH") {
        Some((_, v)) => v.into(),
        None => std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
    };
    std::env::split_paths(&path_var)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Finished {
    /// What went wrong, for an error message: standard error, else standard output, else
    /// the exit status.
    fn failure(&self) -> String {
        let s = self.stderr.trim();
        let s = if s.is_empty() { self.stdout.trim() } else { s };
        if s.is_empty() {
            format!("it exited with {}", self.status)
        } else {
            one_line(s)
        }
    }
}

enum RunError {
    Spawn(io::Error),
    Timeout(Duration),
}

impl RunError {
    fn into_audio(self, program: &str) -> AudioError {
        match self {
            RunError::Spawn(io) => AudioError::Spawn {
                program: program.to_string(),
                io,
            },
            RunError::Timeout(d) => AudioError::Timeout {
                program: program.to_string(),
                seconds: d.as_secs(),
            },
        }
    }
}

/// Runs a helper (pactl, aplay -L, the TTS) with [`HELPER_TIMEOUT`].
fn run_helper(
    path: &Path,
    args: &[OsString],
    stdin: Option<&[u8]>,
    opts: &AudioOptions,
) -> Result<Finished, AudioError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    run(path, args, stdin, opts, HELPER_TIMEOUT, true).map_err(|e| e.into_audio(&name))
}

/// Runs a program with `opts.env` added, feeding `stdin`, collecting standard error (and
/// standard output if `capture_stdout`), and killing it after `limit`.
fn run(
    path: &Path,
    args: &[OsString],
    stdin: Option<&[u8]>,
    opts: &AudioOptions,
    limit: Duration,
    capture_stdout: bool,
) -> Result<Finished, RunError> {
    let mut cmd = Command::new(path);
    cmd.args(args)
        .envs(opts.env.iter().map(|(k, v)| (k, v)))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Small texts only; a program that exits early closes the pipe, which is fine.
        let _ = pipe.write_all(data);
    }
    let out_rx = child.stdout.take().map(reader_thread);
    let err_rx = child.stderr.take().map(reader_thread);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(RunError::Spawn(e)),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout(limit));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // A grandchild may keep a pipe open: wait only a moment for the rest of the output.
    let collect = |rx: Option<mpsc::Receiver<String>>| {
        rx.and_then(|rx| rx.recv_timeout(Duration::from_secs(1)).ok())
            .unwrap_or_default()
    };
    Ok(Finished {
        status,
        stdout: collect(out_rx),
        stderr: collect(err_rx),
    })
}

fn reader_thread(mut r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    rx
}

/// A program's message on one line: its last three lines (where programs put the final
/// error, after ALSA's and PulseAudio's chatter), joined, at most 500 characters.
fn one_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let joined = lines[lines.len().saturating_sub(3)..].join("; ");
    if joined.chars().count() > 500 {
        let mut t: String = joined.chars().take(500).collect();
        t.push('…');
        t
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms_db(x: &[i16]) -> f64 {
        if x.is_empty() {
            return -120.0;
        }
        let p = x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64;
        20.0 * (p.sqrt() / 32768.0).max(1e-6).log10()
    }

    #[test]
    fn every_wake_word_line_parses() {
        let lines = WAKE_WORDS_TXT
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
            .count();
        let words = wake_words();
        assert_eq!(words.len(), lines);
        for text in [
            "Alexa",
            "Amazon",
            "Echo",
            "Computer",
            "Ziggy",
            "Hey Google",
            "OK Google",
            "Hey Siri",
            "Hey Portal",
            "Hey Bixby",
            "Cortana",
            "Hey Mycroft",
            "Major",
        ] {
            assert!(words.iter().any(|w| w.text == text), "{text}");
        }
        assert_eq!(
            words
                .iter()
                .find(|w| w.text == "Major")
                .map(|w| w.assistant),
            Some("none")
        );
        assert_eq!(
            words
                .iter()
                .find(|w| w.text == "Hey Google")
                .map(|w| w.assistant),
            Some("google")
        );
        assert_eq!(
            find_wake_word("ok, google").map(|w| (w.text, w.assistant)),
            Some(("OK Google", "google"))
        );
        assert_eq!(find_wake_word("banana"), None);
        let mut names: Vec<String> = words.iter().map(|w| probe_name(w.text)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), words.len(), "probe names are unique");
    }

    #[test]
    fn names_and_cache_keys() {
        assert_eq!(probe_name("Hey Google"), "hey_google");
        assert_eq!(probe_name("  OK, Google!  "), "ok_google");
        assert_eq!(probe_name("Алиса"), "speech");
        let a = speech_cache_name("flite", Some("slt"), "Alexa");
        assert!(
            a.starts_with("flite-slt-alexa-") && a.ends_with(".wav"),
            "{a}"
        );
        assert_ne!(a, speech_cache_name("flite", Some("slt"), "alexa"));
        assert_ne!(a, speech_cache_name("flite", Some("awb"), "Alexa"));
        assert_ne!(a, speech_cache_name("espeak-ng", Some("slt"), "Alexa"));
        assert_eq!(a, speech_cache_name("flite", Some("slt"), "Alexa"));
    }

    #[test]
    fn generated_sounds_are_deterministic_and_loud() {
        for g in generated_sounds() {
            let a = generate(g.name).unwrap();
            let b = generate(g.name).unwrap();
            assert_eq!(a, b);
            assert_eq!(a.len(), RATE as usize);
            let peak = a.iter().map(|s| i32::from(*s).abs()).max().unwrap();
            let chunks: Vec<f64> = a.chunks(1600).map(rms_db).collect();
            println!(
                "{}: peak {peak}, rms {:.1} dBFS, 100 ms chunks {:?}",
                g.name,
                rms_db(&a),
                chunks.iter().map(|c| c.round()).collect::<Vec<_>>()
            );
            assert!(peak > 31000);
            assert!(rms_db(&a) > -16.0);
        }
        assert_eq!(generate("meow"), None);
    }

    #[test]
    fn unique_names() {
        let p = |n: &str| ProbeSound {
            name: n.to_string(),
            kind: ProbeKind::Sound {
                name: n.to_string(),
            },
            wav: PathBuf::new(),
            seconds: 1.0,
        };
        let mut v = vec![p("alexa"), p("alexa"), p("alexa_2"), p("bark")];
        make_names_unique(&mut v);
        let names: Vec<&str> = v.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["alexa", "alexa_2", "alexa_2_2", "bark"]);
    }

    #[test]
    fn command_player_substitutes_the_path() {
        let opts = |argv: &[&str]| AudioOptions {
            tts: Tts::default(),
            cache_dir: PathBuf::from("/tmp"),
            player: Player::Command(argv.iter().map(|s| s.to_string()).collect()),
            env: vec![],
        };
        let o = opts(&["sh", "-c", "cat {} >/dev/null"]);
        let (_, _, args) = player_command(&o.player, Path::new("/x/a.wav"), &o).unwrap();
        assert_eq!(args, ["-c", "cat /x/a.wav >/dev/null"]);
        let o = opts(&["sh", "-c"]);
        let (_, _, args) = player_command(&o.player, Path::new("/x/a.wav"), &o).unwrap();
        assert_eq!(args, ["-c", "/x/a.wav"]);
        let o = opts(&[]);
        assert!(matches!(
            player_command(&o.player, Path::new("/x/a.wav"), &o),
            Err(AudioError::EmptyCommand)
        ));
    }
}
