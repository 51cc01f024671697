//! Audio probes (issue 6, `leakypick_app::probing::audio`): speech from flite and espeak-ng
//! into the cache, the generated bark and glass, bad probe files, missing programs, and
//! real playback through a private PulseAudio null sink, recorded back with parec; the
//! testbed's own devices (`testbed/device.py`) listen to the generated sounds.
//!
//! Needs flite, espeak-ng, pulseaudio, pulseaudio-utils (paplay, parec, pactl), alsa-utils
//! (aplay) with the ALSA pulse plugin (libasound2-plugins), and python3 with pocketsphinx
//! (`testbed/requirements.txt`), as `scripts/test.sh` installs them. A missing tool FAILS
//! the test: a skipped test would let CI pass without checking anything.
//!
//! WAV files are parsed here by hand (`Wav::read`), independently of the library's hound.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_app::probing::audio::{
    self, AudioError, AudioOptions, Player, ProbeKind, ProbeSound, Tts,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn opts(cache: &Path) -> AudioOptions {
    AudioOptions {
        tts: Tts::Flite { voice: None },
        cache_dir: cache.to_path_buf(),
        player: Player::Paplay {
            device: None,
            volume_percent: None,
        },
        env: vec![],
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn require_tool(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is missing: install it (scripts/test.sh does: flite espeak-ng pulseaudio \
         pulseaudio-utils alsa-utils)"
    );
}

/// A 16-bit PCM WAV file read without hound.
struct Wav {
    channels: u16,
    rate: u32,
    bits: u16,
    samples: Vec<i16>,
}

impl Wav {
    fn read(path: &Path) -> Wav {
        let b = std::fs::read(path).unwrap();
        assert!(b.len() >= 12, "{}: too short", path.display());
        assert_eq!(&b[0..4], b"RIFF", "{}", path.display());
        assert_eq!(&b[8..12], b"WAVE", "{}", path.display());
        let u16le = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32le = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let (mut fmt, mut data) = (None, None);
        let mut at = 12;
        while at + 8 <= b.len() {
            let id = &b[at..at + 4];
            let len = u32le(at + 4) as usize;
            let body = at + 8;
            if id == b"fmt " {
                fmt = Some(body);
            } else if id == b"data" {
                data = Some((body, len.min(b.len() - body)));
            }
            at = body + len + (len & 1);
        }
        let fmt = fmt.expect("fmt chunk");
        let (data, len) = data.expect("data chunk");
        let w = Wav {
            channels: u16le(fmt + 2),
            rate: u32le(fmt + 4),
            bits: u16le(fmt + 14),
            samples: b[data..data + len]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect(),
        };
        assert_eq!(u16le(fmt), 1, "{}: PCM", path.display());
        assert_eq!(w.bits, 16, "{}: 16-bit", path.display());
        w
    }

    fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.channels) / f64::from(self.rate)
    }
}

/// RMS level in dBFS.
fn rms_db(x: &[i16]) -> f64 {
    if x.is_empty() {
        return -120.0;
    }
    let p = x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64;
    20.0 * (p.sqrt() / 32768.0).max(1e-6).log10()
}

/// The longest stretch, in seconds, over which every 100 ms window (16 kHz) starting in it
/// is louder than `db`: if it is at least 0.4 s, any grid of 100 ms chunks has three
/// consecutive loud chunks, which is what the testbed's sound device needs (0.3 s).
fn loud_stretch(x: &[i16], db: f64) -> f64 {
    let (win, step) = (1600, 16);
    let (mut best, mut run) = (0usize, 0usize);
    let mut start = 0;
    while start + win <= x.len() {
        if rms_db(&x[start..start + win]) > db {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
        start += step;
    }
    best as f64 * step as f64 / 16000.0
}

/// Most consecutive 100 ms chunks louder than `db` (the sound device's own criterion).
fn loud_chunks(x: &[i16], db: f64) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in x.chunks_exact(1600) {
        if rms_db(c) > db {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn probe_audio_speaks_alexa_with_flite_and_reuses_the_cache() {
    require_tool("flite");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let o = opts(&cache);
    let probes = audio::prepare(&strings(&["Alexa"]), &[], &[], &o).unwrap();
    assert_eq!(probes.len(), 1);
    let p = &probes[0];
    assert_eq!(p.name, "alexa");
    assert_eq!(
        p.kind,
        ProbeKind::Speech {
            text: "Alexa".into()
        }
    );
    assert!(p.wav.starts_with(&cache), "{}", p.wav.display());
    assert!(
        p.wav
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("flite-slt-alexa-"),
        "the default flite voice is slt: {}",
        p.wav.display()
    );
    let wav = Wav::read(&p.wav);
    assert_eq!((wav.channels, wav.rate), (1, 16000), "slt is 16 kHz mono");
    assert!(wav.seconds() > 0.3, "{} s", wav.seconds());
    assert!((wav.seconds() - p.seconds).abs() < 1e-6);
    assert!(rms_db(&wav.samples) > -40.0);
    let t0 = mtime(&p.wav);

    std::thread::sleep(Duration::from_millis(20));
    let again = audio::prepare(&strings(&["Alexa"]), &[], &[], &o).unwrap();
    assert_eq!(again, probes);
    assert_eq!(
        mtime(&p.wav),
        t0,
        "the cached file was reused, not rewritten"
    );
    // no temporary files left behind
    let names: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // another voice or text is another file
    let awb = AudioOptions {
        tts: Tts::Flite {
            voice: Some("awb".into()),
        },
        ..o.clone()
    };
    let other = audio::prepare(&strings(&["Alexa", "Hey Google"]), &[], &[], &awb).unwrap();
    assert_ne!(other[0].wav, p.wav);
    assert_eq!(other[1].name, "hey_google");
    assert!(Wav::read(&other[1].wav).seconds() > 0.3);

    // a damaged cache entry is made again
    std::fs::write(&p.wav, b"not a wav").unwrap();
    let fixed = audio::prepare(&strings(&["Alexa"]), &[], &[], &o).unwrap();
    assert_eq!(fixed[0].wav, p.wav);
    assert!((Wav::read(&p.wav).seconds() - p.seconds).abs() < 1e-6);

    // an unknown flite voice (flite itself would silently use its default)
    let bad = AudioOptions {
        tts: Tts::Flite {
            voice: Some("nosuchvoice".into()),
        },
        ..o.clone()
    };
    let e = audio::prepare(&strings(&["Alexa"]), &[], &[], &bad).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, AudioError::UnknownVoice { .. }), "{msg}");
    assert!(
        msg.contains("flite has no voice `nosuchvoice`") && msg.contains("slt"),
        "{msg}"
    );
}

#[test]
fn probe_audio_speaks_with_espeak_ng() {
    require_tool("espeak-ng");
    let dir = tempfile::tempdir().unwrap();
    let o = AudioOptions {
        tts: Tts::EspeakNg {
            voice: Some("en-us".into()),
        },
        ..opts(dir.path())
    };
    // a text starting with `-` is spoken, not taken for an option
    let probes = audio::prepare(&strings(&["Alexa", "-Major"]), &[], &[], &o).unwrap();
    assert_eq!(probes[0].name, "alexa");
    assert_eq!(probes[1].name, "major");
    for p in &probes {
        assert!(
            p.wav
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("espeak-ng-en_us-"),
            "{}",
            p.wav.display()
        );
        let wav = Wav::read(&p.wav);
        assert!(wav.seconds() > 0.3, "{}: {} s", p.name, wav.seconds());
        assert!(rms_db(&wav.samples) > -40.0);
    }
    let bad = AudioOptions {
        tts: Tts::EspeakNg {
            voice: Some("xx-nosuch".into()),
        },
        ..o
    };
    let msg = audio::prepare(&strings(&["Alexa"]), &[], &[], &bad)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("espeak-ng has no voice `xx-nosuch`") && msg.contains("en-us"),
        "{msg}"
    );
}

#[test]
fn probe_audio_generated_sounds_are_loud_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(&dir.path().join("a"));
    let probes = audio::prepare(&[], &strings(&["bark", "Glass"]), &[], &o).unwrap();
    let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bark", "glass"]);
    for p in &probes {
        assert_eq!(
            p.kind,
            ProbeKind::Sound {
                name: p.name.clone()
            }
        );
        let wav = Wav::read(&p.wav);
        assert_eq!((wav.channels, wav.rate, wav.bits), (1, 16000, 16));
        assert!(
            (wav.seconds() - 1.0).abs() < 0.05,
            "{}: {} s",
            p.name,
            wav.seconds()
        );
        assert!((wav.seconds() - p.seconds).abs() < 1e-6);
        let peak = wav
            .samples
            .iter()
            .map(|s| i32::from(*s).abs())
            .max()
            .unwrap();
        let rms = rms_db(&wav.samples);
        let stretch = loud_stretch(&wav.samples, -24.0);
        println!(
            "{}: peak {peak} ({:.2} dBFS), RMS {rms:.1} dBFS, loud (>-24 dBFS per 100 ms) for {stretch:.2} s",
            p.name,
            20.0 * (f64::from(peak) / 32768.0).log10()
        );
        assert!(
            peak >= 29_490,
            "{}: peak {peak} is below 90 % of full scale",
            p.name
        );
        assert!(rms > -16.0, "{}: RMS {rms:.1} dBFS", p.name);
        // The testbed's sound device triggers at -30 dBFS held for 0.3 s: keep 6 dB and
        // 0.1 s of margin for any chunk alignment.
        assert!(stretch >= 0.5, "{}: loud for only {stretch:.2} s", p.name);
    }
    // The same bytes every time, in another cache too; an unchanged file is not rewritten.
    let t0 = mtime(&probes[0].wav);
    std::thread::sleep(Duration::from_millis(20));
    let again = audio::prepare(&[], &strings(&["bark", "glass"]), &[], &o).unwrap();
    assert_eq!(mtime(&again[0].wav), t0);
    let other = audio::prepare(
        &[],
        &strings(&["bark", "glass"]),
        &[],
        &opts(&dir.path().join("b")),
    )
    .unwrap();
    for (a, b) in probes.iter().zip(&other) {
        assert_eq!(
            std::fs::read(&a.wav).unwrap(),
            std::fs::read(&b.wav).unwrap()
        );
    }
    let msg = audio::prepare(&[], &strings(&["meow"]), &[], &o)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "unknown generated sound `meow`; available: bark, glass"
    );
}

/// A WAV header for 16-bit mono PCM at `rate` claiming `data_len` bytes of samples.
fn wav_header(rate: u32, data_len: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

fn wav_file(path: &Path, rate: u32, samples: usize) {
    let mut b = wav_header(rate, (samples * 2) as u32);
    for i in 0..samples {
        let v = ((i as f64 * 0.1).sin() * 8000.0) as i16;
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn probe_audio_bad_probe_files_are_named_before_anything_is_synthesized() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = opts(&d.join("cache"));
    // `words` with a TTS that cannot run: the file's error must come first.
    let no_tts = AudioOptions {
        env: vec![("PATH".into(), d.join("empty").display().to_string())],
        ..o.clone()
    };
    let check = |file: &Path, wants: &[&str]| {
        let e =
            audio::prepare(&strings(&["Alexa"]), &[], &[file.to_path_buf()], &no_tts).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(&file.display().to_string()), "{msg}");
        for w in wants {
            assert!(msg.contains(w), "{msg:?} lacks {w:?}");
        }
        msg
    };

    let text = d.join("notes.wav");
    std::fs::write(&text, "these are my notes, not audio\n").unwrap();
    let msg = check(
        &text,
        &["is not a WAV file (RIFF/WAVE header missing)", "ffmpeg -i"],
    );
    println!("{msg}");
    check(
        &d.join("missing.wav"),
        &["cannot read probe file", "No such file"],
    );
    check(d, &["cannot read probe file", "not a regular file"]);
    let empty = d.join("empty.wav");
    std::fs::write(&empty, wav_header(16000, 0)).unwrap();
    check(&empty, &["holds no audio"]);
    let long = d.join("long.wav");
    wav_file(&long, 8000, 8000 * 61);
    check(&long, &["lasts 61.0 s, longer than the 60 s limit"]);
    let cut = d.join("cut.wav");
    let mut b = wav_header(16000, 32000);
    b.extend_from_slice(&[1, 0, 2, 0, 3]);
    std::fs::write(&cut, b).unwrap();
    check(&cut, &["a WAV file leakypick cannot read"]);

    // a good file: its stem is its name; with two of the same stem the second gets `_2`
    let good = d.join("dog bark.wav");
    wav_file(&good, 16000, 24000);
    std::fs::create_dir(d.join("sub")).unwrap();
    let good2 = d.join("sub/dog bark.wav");
    wav_file(&good2, 8000, 8000);
    let probes = audio::prepare(&[], &[], &[good.clone(), good2.clone()], &o).unwrap();
    assert_eq!(
        probes[0],
        ProbeSound {
            name: "dog bark".into(),
            kind: ProbeKind::File { path: good.clone() },
            wav: good,
            seconds: 1.5,
        }
    );
    assert_eq!(probes[1].name, "dog bark_2");
    assert_eq!(probes[1].seconds, 1.0);

    let msg = audio::prepare(&[], &[], &[], &o).unwrap_err().to_string();
    assert!(msg.starts_with("nothing to play"), "{msg}");
    let msg = audio::prepare(&strings(&[" "]), &[], &[], &o)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("empty word"), "{msg}");
}

#[test]
fn probe_audio_missing_or_broken_tts_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let path_env = |p: &Path| vec![("PATH".to_string(), p.display().to_string())];
    for (tts, wants) in [
        (
            Tts::Flite { voice: None },
            "the TTS program `flite` is not installed: apt-get install flite (or choose --tts espeak-ng)",
        ),
        (
            Tts::EspeakNg { voice: None },
            "the TTS program `espeak-ng` is not installed: apt-get install espeak-ng",
        ),
    ] {
        let o = AudioOptions {
            tts,
            env: path_env(&empty),
            ..opts(&dir.path().join("cache"))
        };
        let e = audio::prepare(&strings(&["Alexa"]), &[], &[], &o).unwrap_err();
        assert!(matches!(e, AudioError::ProgramMissing { .. }));
        assert!(e.to_string().starts_with(wants), "{e}");
        // generated sounds need no program
        assert_eq!(
            audio::prepare(&[], &strings(&["bark"]), &[], &o)
                .unwrap()
                .len(),
            1
        );
    }

    // a "flite" that writes nothing, and one that writes garbage: caught, nothing cached
    use std::os::unix::fs::PermissionsExt;
    for (body, wants) in [
        ("#!/bin/sh\nexit 0\n", "it wrote no file"),
        (
            "#!/bin/sh\nfor a; do out=\"$a\"; done\necho garbage >\"$out\"\n",
            "it did not write a valid WAV file",
        ),
        (
            "#!/bin/sh\necho 'out of memory' >&2\nexit 3\n",
            "out of memory",
        ),
    ] {
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("flite");
        std::fs::write(&fake, body).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = bin.path().join("cache");
        let o = AudioOptions {
            env: path_env(bin.path()),
            ..opts(&cache)
        };
        let msg = audio::prepare(&strings(&["Alexa"]), &[], &[], &o)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("flite could not speak `Alexa`: ") && msg.contains(wants),
            "{msg}"
        );
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            0,
            "no cache entry"
        );
    }
}

#[test]
fn probe_audio_preflight_without_an_audio_device() {
    require_tool("pactl");
    require_tool("paplay");
    let dir = tempfile::tempdir().unwrap();
    let o = AudioOptions {
        env: vec![(
            "PULSE_SERVER".into(),
            format!("unix:{}/no-such-socket", dir.path().display()),
        )],
        ..opts(dir.path())
    };
    let e = audio::preflight(&o).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "no audio device: `pactl info` failed (is PulseAudio running? set PULSE_SERVER)"
        ),
        "{msg}"
    );

    for percent in [0, 151] {
        let o = AudioOptions {
            player: Player::Paplay {
                device: None,
                volume_percent: Some(percent),
            },
            ..o.clone()
        };
        let msg = audio::preflight(&o).unwrap_err().to_string();
        assert!(msg.contains("out of range: use 1 to 150 %"), "{msg}");
    }
    let missing = AudioOptions {
        env: vec![("PATH".into(), dir.path().join("none").display().to_string())],
        ..o.clone()
    };
    let msg = audio::preflight(&missing).unwrap_err().to_string();
    assert!(
        msg.starts_with(
            "the audio player `paplay` is not installed: apt-get install pulseaudio-utils"
        ),
        "{msg}"
    );
    let cmd = |argv: &[&str]| AudioOptions {
        player: Player::Command(strings(argv)),
        ..o.clone()
    };
    let msg = audio::preflight(&cmd(&[])).unwrap_err().to_string();
    assert!(msg.contains("player command is empty"), "{msg}");
    let msg = audio::preflight(&cmd(&["no-such-player-xyz", "{}"]))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("the player command `no-such-player-xyz` is not installed"),
        "{msg}"
    );
    audio::preflight(&cmd(&["sh", "-c", "true {}"])).unwrap();
}

/// A private PulseAudio daemon with a null sink `room`, as testbed/test_device.sh runs it.
/// Killed when dropped.
struct Pulse {
    child: Child,
    dir: tempfile::TempDir,
}

impl Pulse {
    fn start() -> Pulse {
        require_tool("pulseaudio");
        require_tool("pactl");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["home", "runtime", "xdg"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "--log-target=stderr",
                "--load=module-null-sink sink_name=room sink_properties=device.description=room",
            ])
            .arg(format!(
                "--load=module-native-protocol-unix auth-anonymous=1 socket={}",
                d.join("native").display()
            ))
            .env_remove("PULSE_SERVER")
            .env("HOME", d.join("home"))
            .env("XDG_RUNTIME_DIR", d.join("xdg"))
            .env("PULSE_RUNTIME_PATH", d.join("runtime"))
            .env("PULSE_STATE_PATH", d.join("runtime"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("pulse.log")).unwrap())
            .spawn()
            .expect("cannot start pulseaudio");
        let mut pulse = Pulse { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = Command::new("pactl")
                .args(["list", "short", "sinks"])
                .envs(pulse.env())
                .output()
                .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("room"))
                .unwrap_or(false);
            if ok {
                break;
            }
            if let Ok(Some(status)) = pulse.child.try_wait() {
                panic!("pulseaudio exited ({status}): {}", pulse.log());
            }
            assert!(
                Instant::now() < deadline,
                "pulseaudio did not start: {}",
                pulse.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pulse
    }

    fn server(&self) -> String {
        format!("unix:{}", self.dir.path().join("native").display())
    }

    /// The environment of a client of this daemon.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PULSE_SERVER".into(), self.server()),
            (
                "HOME".into(),
                self.dir.path().join("home").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR".into(),
                self.dir.path().join("xdg").display().to_string(),
            ),
        ]
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulse.log")).unwrap_or_default()
    }

    /// Records the room (16 kHz mono s16le) while `f` runs; returns `f`'s result and the
    /// samples.
    fn record<T>(&self, f: impl FnOnce() -> T) -> (T, Vec<i16>) {
        require_tool("parec");
        let raw = self.dir.path().join("rec.raw");
        let mut parec = Command::new("parec")
            .args([
                "-d",
                "room.monitor",
                "--format=s16le",
                "--rate=16000",
                "--channels=1",
                "--raw",
                "--latency-msec=20",
            ])
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&raw).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start parec");
        std::thread::sleep(Duration::from_millis(500));
        let out = f();
        std::thread::sleep(Duration::from_millis(500));
        parec.kill().unwrap();
        parec.wait().unwrap();
        let mut bytes = Vec::new();
        std::fs::File::open(&raw)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        let samples = bytes
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        (out, samples)
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn probe_audio_plays_through_a_pulseaudio_null_sink() {
    require_tool("paplay");
    let pulse = Pulse::start();
    let dir = tempfile::tempdir().unwrap();
    let room = |volume_percent| AudioOptions {
        player: Player::Paplay {
            device: Some("room".into()),
            volume_percent,
        },
        env: pulse.env(),
        ..opts(dir.path())
    };
    audio::preflight(&room(None)).unwrap();
    audio::preflight(&AudioOptions {
        player: Player::Paplay {
            device: None,
            volume_percent: Some(80),
        },
        ..room(None)
    })
    .unwrap();
    let nosuch = AudioOptions {
        player: Player::Paplay {
            device: Some("kitchen".into()),
            volume_percent: None,
        },
        ..room(None)
    };
    let msg = audio::preflight(&nosuch).unwrap_err().to_string();
    assert!(
        msg.starts_with("sink `kitchen` not found; available: room"),
        "{msg}"
    );

    let probes = audio::prepare(&[], &strings(&["bark", "glass"]), &[], &room(None)).unwrap();
    let mut levels = Vec::new();
    for p in &probes {
        let before = epoch_now();
        let (res, rec) = pulse.record(|| audio::play(p, &room(None)));
        let (start, end) = res.unwrap();
        let elapsed = end.secs_since(start);
        println!(
            "{}: played {elapsed:.3} s for a {:.3} s file; recorded peak chunk {:.1} dBFS, {} loud chunks",
            p.name,
            p.seconds,
            rec.chunks_exact(1600).map(rms_db).fold(-120.0, f64::max),
            loud_chunks(&rec, -30.0)
        );
        assert!(start < end);
        assert!(
            (start.as_secs_f64() - before).abs() < 2.0,
            "start is wall-clock time"
        );
        assert!(
            elapsed > 0.8 * p.seconds && elapsed < p.seconds + 3.0,
            "{}: played {elapsed:.3} s for {:.3} s of audio",
            p.name,
            p.seconds
        );
        // What a device in the room hears: as loud as the file, long enough for the
        // testbed's sound device (three 100 ms chunks above -30 dBFS).
        let file_peak_chunk = Wav::read(&p.wav)
            .samples
            .chunks_exact(1600)
            .map(rms_db)
            .fold(-120.0, f64::max);
        let rec_peak_chunk = rec.chunks_exact(1600).map(rms_db).fold(-120.0, f64::max);
        assert!(
            (rec_peak_chunk - file_peak_chunk).abs() < 3.0,
            "{}: recorded {rec_peak_chunk:.1} dBFS, file {file_peak_chunk:.1} dBFS",
            p.name
        );
        assert!(loud_chunks(&rec, -30.0) >= 4, "{}", p.name);
        levels.push(rec_peak_chunk);
    }

    // --volume: 50 % on PulseAudio's cubic scale is about -18 dB
    let (res, rec) = pulse.record(|| audio::play(&probes[0], &room(Some(50))));
    res.unwrap();
    let quiet = rec.chunks_exact(1600).map(rms_db).fold(-120.0, f64::max);
    println!("bark at 50 %: {quiet:.1} dBFS (100 %: {:.1})", levels[0]);
    assert!(
        (levels[0] - quiet - 18.0).abs() < 4.0,
        "50 % volume: {quiet:.1} dBFS against {:.1} dBFS",
        levels[0]
    );

    // a player that fails: its message is in the error
    let msg = audio::play(&probes[0], &nosuch).unwrap_err().to_string();
    println!("{msg}");
    assert!(msg.starts_with("the player `paplay` failed"), "{msg}");
    assert!(msg.contains("sound-bark.wav"), "{msg}");
    let failing = AudioOptions {
        player: Player::Command(strings(&[
            "sh",
            "-c",
            "echo 'device busy' >&2; exit 3",
            "{}",
        ])),
        ..room(None)
    };
    let msg = audio::play(&probes[0], &failing).unwrap_err().to_string();
    assert!(
        msg.contains("exit status: 3") && msg.contains("device busy"),
        "{msg}"
    );
    // a command player gets the path and the environment
    let out = dir.path().join("cmd.txt");
    let cmd = AudioOptions {
        player: Player::Command(strings(&[
            "sh",
            "-c",
            &format!("echo \"$PULSE_SERVER {{}}\" > {}", out.display()),
        ])),
        ..room(None)
    };
    audio::play(&probes[0], &cmd).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        format!("{} {}", pulse.server(), probes[0].wav.display())
    );

    // aplay through ALSA's pulse plugin into the same room
    require_tool("aplay");
    let alsa = |device: &str| AudioOptions {
        player: Player::Aplay {
            device: Some(device.into()),
        },
        ..room(None)
    };
    audio::preflight(&alsa("pulse")).unwrap();
    let (res, rec) = pulse.record(|| audio::play(&probes[0], &alsa("pulse")));
    let (start, end) = res.unwrap();
    assert!(end.secs_since(start) > 0.8 * probes[0].seconds);
    assert!(loud_chunks(&rec, -30.0) >= 4, "aplay reached the room");
    let msg = audio::preflight(&alsa("nosuchpcm"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("ALSA device `nosuchpcm` cannot be opened") && msg.contains("pulse"),
        "{msg}"
    );
}

fn python() -> String {
    std::env::var("LEAKYPICK_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// The testbed's own devices listen to the probes: the sound-triggered device wakes on
/// every bark and glass; the assistant (pocketsphinx, keyphrase "alexa") wakes on "Alexa"
/// and never on them.
#[test]
fn probe_audio_testbed_devices_hear_the_generated_sounds() {
    require_tool("flite");
    let pulse = Pulse::start();
    let dir = tempfile::tempdir().unwrap();
    let o = AudioOptions {
        player: Player::Paplay {
            device: Some("room".into()),
            volume_percent: None,
        },
        env: pulse.env(),
        ..opts(dir.path())
    };
    let probes =
        audio::prepare(&strings(&["Alexa"]), &strings(&["bark", "glass"]), &[], &o).unwrap();
    let device_py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testbed/device.py");
    let mut devices = Vec::new();
    for (name, kind) in [("cam", "sound"), ("echo", "assistant")] {
        let log = dir.path().join(format!("{name}.log"));
        let child = Command::new(python())
            .arg(&device_py)
            .args(["--name", name, "--kind", kind, "--wake-word", "alexa"])
            .args(["--cloud", "127.0.0.1:1", "--source", "room.monitor"])
            .args(["--heartbeat-small", "0", "--heartbeat-medium", "0"])
            .arg("--log")
            .arg(&log)
            .envs(pulse.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join(format!("{name}.err"))).unwrap())
            .spawn()
            .expect("cannot run testbed/device.py");
        devices.push((name, child, log));
    }
    struct Kill(Vec<Child>);
    impl Drop for Kill {
        fn drop(&mut self) {
            for c in &mut self.0 {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    // wait for both devices to be recording
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new("pactl")
            .args(["list", "short", "source-outputs"])
            .envs(pulse.env())
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).lines().count() >= 2 {
            break;
        }
        for (name, c, _) in &mut devices {
            if let Ok(Some(s)) = c.try_wait() {
                panic!(
                    "testbed device {name} exited ({s}): {}",
                    std::fs::read_to_string(dir.path().join(format!("{name}.err")))
                        .unwrap_or_default()
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "the testbed devices did not start recording"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2)); // the keyword spotter loads

    let order = ["bark", "glass", "alexa", "bark", "glass"];
    let mut windows = Vec::new();
    for name in order {
        let p = probes.iter().find(|p| p.name == name).unwrap();
        let (start, end) = audio::play(p, &o).unwrap();
        windows.push((name, start.as_secs_f64(), end.as_secs_f64() + 2.0));
        std::thread::sleep(Duration::from_secs(4));
    }
    let logs: Vec<(String, PathBuf)> = devices
        .iter()
        .map(|(n, _, l)| (n.to_string(), l.clone()))
        .collect();
    let _kill = Kill(devices.into_iter().map(|(_, c, _)| c).collect());

    // The wake events per probe window (index into `order`); a device whose upload fails
    // (the cloud here is unreachable) may log several wakes for one probe.
    let woke = |device: &str| -> Vec<usize> {
        let log = &logs.iter().find(|(n, _)| n == device).unwrap().1;
        let text = std::fs::read_to_string(log).unwrap();
        let mut per_probe = vec![0; order.len()];
        for e in text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["event"] == "wake")
        {
            let t = e["word_start"].as_f64().or(e["t"].as_f64()).unwrap();
            let i = windows
                .iter()
                .position(|(_, a, b)| *a - 0.5 <= t && t <= *b)
                .unwrap_or_else(|| panic!("{device} woke outside any probe: {e}"));
            per_probe[i] += 1;
        }
        per_probe
    };
    let cam = woke("cam");
    let echo = woke("echo");
    println!("wakes per probe {order:?}: sound device {cam:?}, assistant {echo:?}");
    for (i, name) in order.iter().enumerate() {
        if *name == "alexa" {
            assert!(echo[i] >= 1, "the assistant wakes on Alexa: {echo:?}");
        } else {
            assert!(cam[i] >= 1, "the sound device wakes on {name}: {cam:?}");
            assert_eq!(
                echo[i], 0,
                "the assistant must not wake on {name}: {echo:?}"
            );
        }
    }
}

/// `prepare_speech` (fuzz campaigns): a word at several speaking rates, each its own
/// cached file; rate 1 is the very file `prepare` makes; faster is shorter. For both
/// TTS programs.
#[test]
fn speech_at_several_rates() {
    require_tool("flite");
    require_tool("espeak-ng");
    let dir = tempfile::tempdir().unwrap();
    for tts in [Tts::Flite { voice: None }, Tts::EspeakNg { voice: None }] {
        let o = AudioOptions {
            tts: tts.clone(),
            ..opts(dir.path())
        };
        let words = strings(&["Alexa"]);
        let mut n = 0;
        let at = |rate: f64, n: &mut usize| {
            audio::prepare_speech(&words, rate, &o, &mut || *n += 1)
                .unwrap()
                .remove(0)
        };
        let (slow, normal, fast) = (at(0.5, &mut n), at(1.0, &mut n), at(2.0, &mut n));
        assert_eq!(n, 3);
        assert!(
            slow.seconds > normal.seconds && normal.seconds > fast.seconds,
            "{tts:?}: {} {} {}",
            slow.seconds,
            normal.seconds,
            fast.seconds
        );
        assert!(slow.wav != normal.wav && normal.wav != fast.wav);
        let probe = audio::prepare(&words, &[], &[], &o).unwrap().remove(0);
        assert_eq!(probe.wav, normal.wav, "rate 1 shares probe's cache");
    }
    let e = audio::prepare_speech(&strings(&[" "]), 1.0, &opts(dir.path()), &mut || {});
    assert!(matches!(e, Err(AudioError::EmptyWord)));
}
