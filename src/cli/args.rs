//! The clap definitions of every command, and their plain mapping onto the
//! application's command structs.

use clap::{Args, Parser, Subcommand, ValueEnum};
use leakypick_app::analyze::command::AnalyzeCommand;
use leakypick_app::campaign::command::{DesignName, FuzzCommand, FuzzReportCommand};
use leakypick_app::compare::command::CompareCommand;
use leakypick_app::compare::WindowSpec;
use leakypick_app::evaluate::command::{Detectors, EvaluateCommand, LabelsFormat};
use leakypick_app::monitor::command::MonitorCommand;
use leakypick_app::monitor::config::LogLevel;
use leakypick_app::phonetic::command::PhoneticCommand;
use leakypick_app::probing::command::{ProbeCommand, TtsProgram};
use leakypick_app::probing::DailySpan;
use leakypick_app::render::Format;
use leakypick_app::settings::{BurstSettings, Preset, VerdictSettings};
use leakypick_app::simulate::command::SimulateCommand;
use leakypick_app::timespec::{Forms, TimeError, TimeSpec};
use leakypick_core::probe::{Decision, ProbeTest};
use leakypick_core::session::Decide;
use leakypick_core::stats::AutoBinRule;
use leakypick_core::DeviceKey;
use std::path::PathBuf;

/// Find the smart-home devices that send what they hear to the cloud.
///
/// leakypick implements LeakyPick (Mitev et al.): it watches each device's encrypted
/// traffic and finds audio uploads by their rate (burst detection) and by comparing
/// idle and probe windows (statistical probing).
#[derive(Parser, Debug)]
#[command(
    name = "leakypick",
    version,
    max_term_width = 100,
    after_help = "Examples:\n  \
        leakypick analyze                          # the bundled sample capture\n  \
        leakypick analyze home.pcap --format json  # one JSON object per device and burst\n  \
        leakypick monitor -i eth0 --data-dir /var/lib/leakypick"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Per-device traffic and detected audio uploads in capture files.
    ///
    /// Reads pcap and pcapng files (Ethernet, 802.11 monitor mode, Linux cooked, raw
    /// IP, loopback), merged by time. Without FILE, analyses the bundled sample (an
    /// Echo Dot activated once). Prints one row per device (by MAC address; by IP for
    /// captures without MACs) and the upload bursts: runs of at least N windows whose
    /// upload rate is above the threshold.
    #[command(after_help = "Examples:\n  \
        leakypick analyze\n  \
        leakypick analyze a.pcap b.pcapng --preset paper --format csv\n  \
        leakypick analyze gateway.pcap --probe-log probes.jsonl --decide-by either")]
    Analyze(AnalyzeArgs),
    /// Statistical probing: did a device's traffic change between an idle and a probe window?
    ///
    /// Compares the frames the device sent in the two windows with the paper's test
    /// (Student's t-test on numpy 'auto'-binned counts of frame lengths and of
    /// inter-arrival times) or better-founded tests on the raw samples. A p-value below
    /// the threshold means the device reacted. Without FILE, uses the bundled sample.
    #[command(after_help = "Examples:\n  \
        leakypick compare --device 68:db:f5:90:19:64 --idle +0,+19 --probe +19,+38\n  \
        leakypick compare cap.pcap --device 192.168.12.112 --idle +0,+19 --probe +19,+38 --probe-test all\n  \
        leakypick compare cap.pcap --device 68:db:f5:90:19:64 --idle 2019-11-16T08:46:30Z,+19 --probe +19,+38")]
    Compare(CompareArgs),
    /// Write a realistic simulated capture of a smart home, with its ground-truth labels.
    ///
    /// Device models come from measurements of real captures (docs/simulator.md): Echo
    /// voice assistants (idle heartbeats, audio uploads of measured frame sizes and
    /// rates), a Blink-like camera (motion clips), an idle hub and plugs without a
    /// microphone. The same seed gives the same bytes. The labels file lists every
    /// activation in the native labels format (docs/evaluation-format.md).
    #[command(after_help = "Examples:\n  \
        leakypick simulate --out home.pcap\n  \
        leakypick simulate --devices echo:2@6/h,camera@2/h,hub,plug:2 --duration 6h --seed 1 --out home.pcap\n  \
        leakypick simulate --duration 10m --out - --labels home.labels.csv | leakypick analyze -")]
    Simulate(SimulateArgs),
    /// Score the detectors against labelled activations: TP/FP/FN/TN, TPR, FPR,
    /// precision, F1, per device and overall, for named configurations and sweeps.
    ///
    /// Labels: the native CSV (mac,start,end,kind; times in epoch seconds, +S after the
    /// first packet, RFC 3339 or a date), an IFTTT event log (--labels-format ifttt with --device-map
    /// and --tz), or counts encoded in the capture's file name (--labels-format
    /// filename, e.g. haipeng_li__alexa_5_30s.pcap). How detections are matched to
    /// activations is documented in docs/evaluation-format.md. With --out DIR, a report
    /// with ROC curves, p-value charts and per-device timelines is written there.
    #[command(after_help = "Examples:\n  \
        leakypick evaluate home.pcap --labels home.labels.csv\n  \
        leakypick evaluate haipeng_li__alexa_5_30s.pcap --labels-format filename --full\n  \
        leakypick evaluate cam.pcap --labels ifttt.csv --labels-format ifttt --device-map blink-cam-01=f4:b8:5e:ff:2b:1b --tz America/New_York --out report/")]
    Evaluate(EvaluateArgs),
    /// Devices in the history database: first/last seen, vendor, hostnames, user name.
    ///
    /// Reads the history a monitor keeps (also while it runs); never changes it.
    #[command(after_help = "Examples:\n  \
        leakypick devices --data-dir /var/lib/leakypick\n  \
        leakypick devices --format json")]
    Devices(DevicesArgs),
    /// Detections in the history database, oldest first.
    ///
    /// JSON prints one object per detection: mac, start, end (epoch seconds), the rule
    /// that fired, its parameters and numbers. Reads the history; never changes it.
    #[command(after_help = "Examples:\n  \
        leakypick events --since 2h\n  \
        leakypick events --since 2024-05-01 --format csv")]
    Events(EventsArgs),
    /// Give a device in the history a name (an empty NAME removes it).
    #[command(after_help = "Examples:\n  \
        leakypick name 68:db:f5:90:19:64 \"kitchen echo\"\n  \
        leakypick name 68:db:f5:90:19:64 \"\"     # remove the name")]
    Name(NameArgs),
    /// Watch a network live: detect uploads as they happen, keep the history, alert.
    ///
    /// Captures from an interface (-i, or capture.interface in the config; needs a
    /// build with the `live` feature) or replays a capture file as if it were live
    /// (--replay). Runs the same detector as `analyze`, with time taken from the packets.
    /// Prints each detection when it is confirmed (STREAMING) and when it ends; writes
    /// devices, per-minute traffic, detections and learned baselines to the history
    /// (--data-dir) and sends alerts (log, webhook, MQTT with Home Assistant discovery)
    /// as configured. Stops cleanly on SIGTERM or Ctrl-C. Settings: --config FILE (TOML;
    /// every key in docs/leakypick.example.toml); options given here override the file.
    #[command(after_help = "Examples:\n  \
        leakypick monitor -i eth0 --config /etc/leakypick/leakypick.toml\n  \
        leakypick monitor --replay home.pcap --data-dir ./history --format json\n  \
        leakypick monitor -i wlan0mon --monitor-mode --preset adaptive")]
    Monitor(Box<MonitorArgs>),
    /// Active probing: play wake words and sounds, find the devices that react.
    ///
    /// For each probe: an idle window (nothing played), then a probe window in which the
    /// probe is played every --every seconds; every device's traffic in the two windows is
    /// compared (upload bursts, and the paper's statistical test). A probe that made a
    /// device react is played again (--retests) to rule out chance; a device reacted only
    /// if every attempt was positive. Everything that can fail (TTS program, probe files,
    /// audio device, capture rights) is checked before the session starts. The verdicts
    /// are printed, stored in the history (`leakypick report`), and each attempt is
    /// written to --log for `analyze --probe-log`.
    #[command(after_help = "Examples:\n  \
        leakypick probe -i eth0\n  \
        leakypick probe -i eth0 --words \"Alexa,Hey Google\" --sound bark --log probes.jsonl\n  \
        leakypick probe -i eth0 --allowed-hours 09:00-17:00 --quiet-hours 22:00-07:00")]
    Probe(Box<ProbeArgs>),
    /// Wake-word fuzzing: find the words that wake a voice assistant (false wake words).
    ///
    /// Speaks candidate words into the room (TTS and player as for `probe`) and judges
    /// each attempt from the device's uploads alone: did an upload start within a short
    /// wait after the word? The wait ends as soon as the traffic decides. The default
    /// design (adaptive) screens each word a few times (--screen, from --min-probability
    /// and --recall: 5 by default) and re-tests only the words that woke the device until
    /// the confidence interval of their activation probability is narrower than
    /// --precision; --design paper plays every word 10 times like the paper. First the
    /// real wake word is played --calibrate times to measure the device's latency.
    /// Every attempt is stored in the history as it ends: `fuzz --resume` continues an
    /// interrupted campaign, `fuzz report` shows the words found. Needs a build with the
    /// `live` feature and capture rights, like `probe`.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  \
        leakypick fuzz --device 68:db:f5:90:19:64 -i eth0 --wake-word alexa --dry-run\n  \
        leakypick fuzz --device 68:db:f5:90:19:64 -i eth0 --candidates dict,simple --random 200\n  \
        leakypick fuzz --device 192.168.1.20 -i br0 --candidates words.txt --design paper\n  \
        leakypick fuzz --resume -i eth0\n  \
        leakypick fuzz report --format json --attempts\n  \
        leakypick fuzz report --campaign 2 --plot words.svg"
    )]
    Fuzz(Box<FuzzArgs>),
    /// The last probing session's verdicts, from the history.
    #[command(after_help = "Examples:\n  \
        leakypick report\n  \
        leakypick report --data-dir /var/lib/leakypick --format json")]
    Report(ReportArgs),
    /// Send capture files out of an interface, paced like the recording (for test networks).
    ///
    /// Feeds a monitor on another interface with real traffic, or measures how fast one
    /// keeps up. Frames go out with libpcap in file order, the files one after the other;
    /// --loop repeats the list. Pacing: the recorded gaps divided by --speed (default),
    /// a constant --mbps, or --top-speed. A capture whose link type is not the
    /// interface's is refused; frames the interface refuses (e.g. longer than its MTU)
    /// are counted as failed. Needs a build with the `live` feature and capture rights
    /// (root, or `setcap cap_net_raw,cap_net_admin+ep` on the binary). See
    /// docs/live-capture.md.
    #[command(after_help = "Examples:\n  \
        leakypick replay -i veth0 home.pcap\n  \
        leakypick replay -i veth0 home.pcap --speed 10 --loop 3\n  \
        leakypick replay -i veth0 home.pcap --top-speed --format json")]
    Replay(ReplayArgs),
    /// Phonetic distance of words to a wake word (Double Metaphone + Levenshtein).
    ///
    /// Prints each word's primary Double Metaphone code and the Levenshtein distance
    /// between that code and the wake word's: the measure the LeakyPick paper used for
    /// the false wake words it found. Words are letters a-z only; with their phoneme
    /// count from the embedded CMU Pronouncing Dictionary (docs/wake-fuzzing.md).
    #[command(after_help = "Examples:\n  \
        leakypick phonetic --to alexa alita lexus election\n  \
        leakypick phonetic --to computer --file words.txt --format json\n  \
        printf 'elixir\\nmixer\\n' | leakypick phonetic --to alexa --file - --format csv")]
    Phonetic(PhoneticArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  \
        leakypick completions bash > /etc/bash_completion.d/leakypick\n  \
        leakypick completions zsh > \"${fpath[1]}/_leakypick\"")]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    #[command(after_help = "Examples:\n  \
        leakypick man | man -l -\n  \
        leakypick man --out /usr/share/man/man1")]
    Man(ManArgs),
}

/// `--format`: how a command prints.
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq, Default)]
pub enum FormatArg {
    /// Human tables.
    #[default]
    Table,
    /// JSON Lines: one object per line (shapes documented in the README).
    Json,
    /// CSV sections: exactly the JSON fields, the first column `type`.
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
        }
    }
}

#[derive(Args, Debug)]
pub struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct DataDirArgs {
    /// Directory of the history database (leakypick.sqlite3). Default:
    /// $LEAKYPICK_DATA_DIR, else $XDG_DATA_HOME/leakypick, else ~/.local/share/leakypick.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Capture files (pcap or pcapng, decided by content).
#[derive(Args, Debug)]
pub struct InputArgs {
    /// Capture files (pcap or pcapng, decided by content); '-' reads standard input.
    /// Several files are merged by timestamp.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum PresetArg {
    /// 1 s windows, 23 kbit/s, 2 windows in a row: finds short voice commands (measured on real captures).
    Default,
    /// The paper's parameters: 1 s windows, 23 kbit/s, 5 windows in a row.
    Paper,
    /// Like default, but each device's threshold is learned from its own idle traffic:
    /// 4x the 99th percentile of its idle window rates, at least 8 kbit/s (23 kbit/s while
    /// it learns, for its first 300 windows).
    Adaptive,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::Default => Preset::Default,
            PresetArg::Paper => Preset::Paper,
            PresetArg::Adaptive => Preset::Adaptive,
        }
    }
}

/// The burst detector: a preset and overrides (same flags in `analyze` and `monitor`).
#[derive(Args, Debug)]
pub struct BurstArgs {
    /// Burst-detection parameters to start from (default: default); the options below
    /// override them.
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Burst window length in seconds.
    #[arg(long, value_name = "SECONDS", alias = "window")]
    pub burst_window: Option<f64>,
    /// Upload rate a window must exceed, in kbit/s.
    #[arg(long, value_name = "KBIT/S")]
    pub threshold_kbps: Option<f64>,
    /// Number of consecutive windows above the threshold that make a burst.
    #[arg(long, value_name = "N")]
    pub min_windows: Option<u32>,
    /// Count uploads to LAN destinations too (by default only frames to addresses
    /// outside the local network count: not RFC 1918, ULA, link-local, multicast or broadcast).
    #[arg(long)]
    pub include_lan: bool,
}

impl BurstArgs {
    fn settings(&self) -> BurstSettings {
        BurstSettings {
            preset: self.preset.map(Preset::from).unwrap_or_default(),
            window_s: self.burst_window,
            threshold_kbps: self.threshold_kbps,
            min_windows: self.min_windows,
            baseline: None,
        }
    }
}

/// One statistical test (`--probe-test` where one test decides).
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum TestArg {
    /// The paper's: Student's t-test on auto-binned counts.
    Paper,
    /// Welch's t-test on the raw values.
    Welch,
    /// Mann-Whitney U on the raw values.
    MannWhitney,
    /// Two-sample Kolmogorov-Smirnov on the raw values.
    Ks,
    /// Chi-square homogeneity test on the auto-binned counts.
    Chi2,
}

impl From<TestArg> for ProbeTest {
    fn from(t: TestArg) -> ProbeTest {
        match t {
            TestArg::Paper => ProbeTest::Paper,
            TestArg::Welch => ProbeTest::Welch,
            TestArg::MannWhitney => ProbeTest::MannWhitney,
            TestArg::Ks => ProbeTest::KolmogorovSmirnov,
            TestArg::Chi2 => ProbeTest::ChiSquare,
        }
    }
}

/// The tests `compare` runs (`--probe-test`, where `all` runs each).
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum TestsArg {
    /// The paper's: Student's t-test on auto-binned counts.
    Paper,
    /// Welch's t-test on the raw values.
    Welch,
    /// Mann-Whitney U on the raw values.
    MannWhitney,
    /// Two-sample Kolmogorov-Smirnov on the raw values.
    Ks,
    /// Chi-square homogeneity test on the auto-binned counts.
    Chi2,
    /// Every test above.
    All,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum DecideArg {
    /// An upload burst in the probe window and none in the idle window.
    Burst,
    /// The statistical test's p-value is below the threshold.
    Stat,
    /// Either of the two.
    Either,
    /// Both of the two.
    Both,
}

/// How a probing attempt is decided (shared by `probe` and `analyze --probe-log`).
#[derive(Args, Debug, Clone)]
pub struct VerdictArgs {
    /// What makes a device count as reacting in one attempt.
    #[arg(long, value_enum, value_name = "RULE", default_value_t = DecideArg::Burst)]
    pub decide_by: DecideArg,
    /// The statistical test comparing idle and probe windows.
    #[arg(long, value_enum, default_value_t = TestArg::Paper)]
    pub probe_test: TestArg,
    /// P-value threshold of that test, above 0 and at most 1 (the paper: 0.42).
    #[arg(long, value_name = "P", default_value_t = 0.42)]
    pub p_threshold: f64,
}

impl VerdictArgs {
    fn settings(&self) -> VerdictSettings {
        VerdictSettings {
            decide_by: match self.decide_by {
                DecideArg::Burst => Decide::Burst,
                DecideArg::Stat => Decide::Stat,
                DecideArg::Either => Decide::Either,
                DecideArg::Both => Decide::Both,
            },
            probe_test: self.probe_test.into(),
            p_threshold: self.p_threshold,
        }
    }
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Device names: a text file with one 'MAC NAME' per line ('#' starts a comment).
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    #[command(flatten)]
    pub burst: BurstArgs,
    /// A probe log written by `leakypick probe --log` (or by hand: JSON Lines with
    /// {"type":"attempt","probe":..,"attempt":N,"idle":[T,T],"window":[T,T]}): prints the
    /// probing verdicts for the captured traffic instead of the device table.
    #[arg(long, value_name = "FILE")]
    pub probe_log: Option<PathBuf>,
    #[command(flatten)]
    pub verdict: VerdictArgs,
}

impl AnalyzeArgs {
    pub fn command(self) -> AnalyzeCommand {
        AnalyzeCommand {
            files: self.input.files,
            format: self.format.format.into(),
            names: self.names,
            burst: self.burst.settings(),
            include_lan: self.burst.include_lan,
            probe_log: self.probe_log,
            verdict: self.verdict.settings(),
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum PValueArg {
    /// The packet-size p-value decides (the paper found it sufficient).
    Size,
    /// Fisher's combination of the size and inter-arrival p-values decides.
    Combined,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum BinRuleArg {
    /// numpy before 2.3: the smaller of the Sturges and Freedman-Diaconis widths.
    NumpyLegacy,
    /// numpy 2.3 and later: the Freedman-Diaconis width is first bounded below.
    #[value(name = "numpy-2.3")]
    Numpy23,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// The device: its MAC address, or an IP address it used (as `analyze` lists it).
    #[arg(long, value_name = "MAC|IP", value_parser = leakypick_app::evaluate::labels::parse_device)]
    pub device: DeviceKey,
    /// The idle window: START,END, each +S seconds after the first packet (+0,+19), epoch
    /// seconds, an RFC 3339 time, a date or a time ago (2h).
    #[arg(long, value_name = "START,END", allow_hyphen_values = true)]
    pub idle: WindowSpec,
    /// The probe window, in the same form as --idle.
    #[arg(long, value_name = "START,END", allow_hyphen_values = true)]
    pub probe: WindowSpec,
    /// The test to run, or all of them.
    #[arg(long, value_enum, alias = "test", default_value_t = TestsArg::Paper)]
    pub probe_test: TestsArg,
    /// P-value threshold, above 0 and at most 1: below it the device reacted. The paper
    /// uses 0.42.
    #[arg(long, value_name = "P", alias = "threshold", default_value_t = 0.42)]
    pub p_threshold: f64,
    /// Which p-value is compared with the threshold.
    #[arg(long, value_enum, alias = "decide", default_value_t = PValueArg::Size)]
    pub p_value: PValueArg,
    /// Which numpy version's bins='auto' rule bins the samples for the binned tests:
    /// the one the paper used (before numpy 2.3), or numpy 2.3's.
    #[arg(long, value_enum, default_value_t = BinRuleArg::NumpyLegacy)]
    pub bin_rule: BinRuleArg,
    /// Use only the frames the device sent to the cloud (by default every frame it sent
    /// counts, as in the paper).
    #[arg(long)]
    pub cloud_only: bool,
}

impl CompareArgs {
    pub fn command(self) -> CompareCommand {
        CompareCommand {
            files: self.input.files,
            format: self.format.format.into(),
            device: self.device,
            idle: self.idle,
            probe: self.probe,
            tests: match self.probe_test {
                TestsArg::All => ProbeTest::ALL.to_vec(),
                TestsArg::Paper => vec![ProbeTest::Paper],
                TestsArg::Welch => vec![ProbeTest::Welch],
                TestsArg::MannWhitney => vec![ProbeTest::MannWhitney],
                TestsArg::Ks => vec![ProbeTest::KolmogorovSmirnov],
                TestsArg::Chi2 => vec![ProbeTest::ChiSquare],
            },
            p_threshold: self.p_threshold,
            decision: match self.p_value {
                PValueArg::Size => Decision::Size,
                PValueArg::Combined => Decision::Combined,
            },
            bin_rule: match self.bin_rule {
                BinRuleArg::NumpyLegacy => AutoBinRule::Legacy,
                BinRuleArg::Numpy23 => AutoBinRule::Numpy23,
            },
            cloud_only: self.cloud_only,
        }
    }
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Devices: KIND[:COUNT][@SCHEDULE],... with KIND echo|echodot|camera|hub|plug and
    /// SCHEDULE a rate (6/h) or times (90s+10m). Example: echo:2@6/h,camera@2/h,hub,plug:3
    #[arg(long, default_value = leakypick_app::simulate::DEFAULT_DEVICES)]
    pub devices: String,
    /// How long the capture lasts: seconds (3600) or a number with a unit (ms, s, m, h,
    /// d, w): 90s, 2h, 7d.
    #[arg(long, default_value = "1h")]
    pub duration: String,
    /// Seed of the random generator: the same seed gives the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Time of the first packet: epoch seconds, an RFC 3339 time or a date (default
    /// 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "T")]
    pub start: Option<String>,
    /// Cut each record to this many captured bytes (the original length stays the whole frame).
    #[arg(long)]
    pub snaplen: Option<u32>,
    /// Least time between the end of a device's activation and its next: 30s, 2m.
    #[arg(long)]
    pub min_gap: Option<String>,
    /// The capture to write (pcap); '-' writes it to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The labels to write (CSV); default: the --out path with .labels.csv.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Format of the summary (on standard output, or standard error with --out -).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

impl SimulateArgs {
    pub fn command(self) -> SimulateCommand {
        SimulateCommand {
            devices: self.devices,
            duration: self.duration,
            seed: self.seed,
            start: self.start,
            snaplen: self.snaplen,
            min_gap: self.min_gap,
            out: self.out,
            labels: self.labels,
            format: self.format.into(),
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LabelsFormatArg {
    /// leakypick's labels CSV (what `simulate` writes).
    Native,
    /// An IFTTT event log: "March 08, 2021 at 01:05PM","NAME","event_motion".
    Ifttt,
    /// Counts from the capture's file name: NAME_N_Ss.pcap = N activations about S s apart.
    Filename,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum DetectorArg {
    Burst,
    Stat,
    All,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Label file(s); may be repeated. Not needed with --labels-format filename.
    #[arg(long, value_name = "FILE")]
    pub labels: Vec<PathBuf>,
    /// How the labels are written.
    #[arg(long, value_enum, default_value_t = LabelsFormatArg::Native)]
    pub labels_format: LabelsFormatArg,
    /// For IFTTT logs: device names to MACs, 'NAME=MAC,NAME=MAC' or a file of such lines.
    #[arg(long, value_name = "MAP")]
    pub device_map: Option<String>,
    /// For IFTTT logs: the time zone of the log (IANA name like America/New_York, or -05:00).
    #[arg(long, default_value = "UTC", allow_hyphen_values = true)]
    pub tz: String,
    /// For file-name labels: the device the counts belong to (default: the device that
    /// uploaded the most to the cloud).
    #[arg(long, value_name = "MAC|IP", alias = "label-device", value_parser = leakypick_app::evaluate::labels::parse_device)]
    pub device: Option<DeviceKey>,
    /// Which detectors to score.
    #[arg(long, value_enum, default_value_t = DetectorArg::All)]
    pub detector: DetectorArg,
    /// Seconds a detection may start before or end after an activation and still match it.
    #[arg(long, value_name = "S", default_value_t = 2.0)]
    pub tolerance: f64,
    /// Slot length in seconds for slot-level scoring (TN and FPR need slots).
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub slot: f64,
    /// Score every device seen; devices the labels do not mention count as never activated.
    #[arg(long)]
    pub all_devices: bool,
    /// Also print the metrics of every sweep point, the ROC points and the p-values.
    #[arg(long)]
    pub full: bool,
    /// Write the report (Markdown, SVG charts, CSV and JSON Lines) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl EvaluateArgs {
    pub fn command(self) -> EvaluateCommand {
        EvaluateCommand {
            files: self.input.files,
            format: self.format.format.into(),
            labels: self.labels,
            labels_format: match self.labels_format {
                LabelsFormatArg::Native => LabelsFormat::Native,
                LabelsFormatArg::Ifttt => LabelsFormat::Ifttt,
                LabelsFormatArg::Filename => LabelsFormat::Filename,
            },
            device_map: self.device_map,
            tz: self.tz,
            label_device: self.device,
            detector: match self.detector {
                DetectorArg::Burst => Detectors::Burst,
                DetectorArg::Stat => Detectors::Stat,
                DetectorArg::All => Detectors::All,
            },
            tolerance_s: self.tolerance,
            slot_s: self.slot,
            all_devices: self.all_devices,
            full: self.full,
            out_dir: self.out,
        }
    }
}

#[derive(Args, Debug)]
pub struct DevicesArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Only detections that ended at or after T: epoch seconds, an RFC 3339 time
    /// (2024-05-01T12:00:00Z), a date (2024-05-01, midnight UTC) or a time ago (90s,
    /// 15m, 2h, 3d, 1w).
    #[arg(long, value_name = "T", value_parser = parse_since)]
    pub since: Option<TimeSpec>,
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `--since`: there is no capture to count `+S` from.
fn parse_since(s: &str) -> Result<TimeSpec, TimeError> {
    TimeSpec::parse_as(s, Forms::NO_CAPTURE)
}

#[derive(Args, Debug)]
pub struct NameArgs {
    /// The device, as `leakypick devices` lists it: its MAC address, or its IP address
    /// for a device seen in a capture without MAC addresses.
    #[arg(value_name = "DEVICE", value_parser = leakypick_app::evaluate::labels::parse_device)]
    pub device: DeviceKey,
    /// The name; an empty string removes the name.
    pub name: String,
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LogLevelArg {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Network interface to capture on (overrides capture.interface).
    #[arg(short = 'i', long, value_name = "IFACE", conflicts_with = "replay")]
    pub interface: Option<String>,
    /// Read this capture file as if it were live, then stop (tests a configuration;
    /// needs no privileges).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Pace the --replay like the recording, this many times faster (1 = real time).
    /// Default: as fast as the file can be read.
    #[arg(long, value_name = "X", requires = "replay")]
    pub replay_speed: Option<f64>,
    /// The configuration file (TOML). Default: none (every setting at its default).
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// BPF filter for the capture (overrides capture.filter).
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Capture 802.11 frames in monitor mode (overrides capture.monitor_mode).
    #[arg(long)]
    pub monitor_mode: bool,
    /// Device names: a text file with one 'MAC NAME' per line (added to [names]).
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    #[command(flatten)]
    pub burst: BurstArgs,
    /// Log level on stderr (overrides logging.level).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevelArg>,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// How detections are printed on stdout: text lines, one JSON object per line, or CSV.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

impl MonitorArgs {
    pub fn command(self) -> MonitorCommand {
        MonitorCommand {
            config: self.config,
            interface: self.interface,
            replay: self.replay,
            replay_speed: self.replay_speed,
            filter: self.filter,
            monitor_mode: self.monitor_mode,
            preset: self.burst.preset.map(Preset::from),
            burst_window_s: self.burst.burst_window,
            threshold_kbps: self.burst.threshold_kbps,
            min_windows: self.burst.min_windows,
            include_lan: self.burst.include_lan,
            names: self.names,
            log_level: self.log_level.map(|l| match l {
                LogLevelArg::Error => LogLevel::Error,
                LogLevelArg::Warn => LogLevel::Warn,
                LogLevelArg::Info => LogLevel::Info,
                LogLevelArg::Debug => LogLevel::Debug,
                LogLevelArg::Trace => LogLevel::Trace,
            }),
            data_dir: self.data.data_dir,
            format: self.format.into(),
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum TtsArg {
    Flite,
    EspeakNg,
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Network interface to capture on (live builds; needs the same rights as `monitor`).
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: String,
    /// Wake words or phrases to speak, comma-separated (default: the shipped list, see
    /// docs/probes.md). "none" speaks no word.
    #[arg(long, value_name = "WORDS", value_delimiter = ',')]
    pub words: Vec<String>,
    /// Generated non-speech probes, comma-separated: bark, glass.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub sound: Vec<String>,
    /// Your own probe recordings (WAV), each a probe named after the file.
    #[arg(long = "file", value_name = "FILE.wav")]
    pub files: Vec<PathBuf>,
    /// Seconds of each idle window (the paper: 60).
    #[arg(long, value_name = "S", alias = "idle", default_value_t = 60.0)]
    pub idle_window: f64,
    /// Seconds of each probe window (the paper: 60).
    #[arg(long, value_name = "S", alias = "window", default_value_t = 60.0)]
    pub probe_window: f64,
    /// Play the probe every S seconds during its window (the paper: 10).
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub every: f64,
    /// Seconds to wait after a probe window before the next idle window (0: none).
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub settle: f64,
    /// Re-tests of a probe that made a device react (each a new idle and probe window).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub retests: u32,
    #[command(flatten)]
    pub verdict: VerdictArgs,
    /// Text to speech program.
    #[arg(long, value_enum, default_value_t = TtsArg::Flite)]
    pub tts: TtsArg,
    /// Voice of the TTS program (`flite -lv`, `espeak-ng --voices`).
    #[arg(long, value_name = "VOICE")]
    pub voice: Option<String>,
    /// How to play: paplay (PulseAudio), aplay (ALSA), or a command line in which {}
    /// is replaced by the WAV file.
    #[arg(long, value_name = "PLAYER", default_value = "paplay")]
    pub player: String,
    /// Audio device for paplay (a sink name) or aplay (an ALSA device).
    #[arg(long, value_name = "DEVICE")]
    pub audio_device: Option<String>,
    /// Playback volume in percent (paplay only).
    #[arg(long, value_name = "PCT")]
    pub volume: Option<u32>,
    /// Where synthesized probes are cached (default: <data dir>/probes).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Write the probe log (JSON Lines, one line per attempt) to FILE, for
    /// `analyze --probe-log` on a capture made elsewhere.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// BPF filter for the capture.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Device names: a text file with one 'MAC NAME' per line.
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    /// Do not store the session in the history.
    #[arg(long)]
    pub no_history: bool,
    /// Only probe within these local hours (e.g. 09:00-17:00, when nobody is home);
    /// outside them, say so and exit successfully without probing (for timers).
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = clap::value_parser!(DailySpan))]
    pub allowed_hours: Option<DailySpan>,
    /// Never probe within these local hours (e.g. 22:00-07:00).
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = clap::value_parser!(DailySpan))]
    pub quiet_hours: Option<DailySpan>,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Output format of the verdicts. JSON prints one object per device and probe, then
    /// a session summary.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

impl ProbeArgs {
    pub fn command(self) -> ProbeCommand {
        ProbeCommand {
            interface: self.interface,
            words: self.words,
            sounds: self.sound,
            files: self.files,
            idle_s: self.idle_window,
            window_s: self.probe_window,
            every_s: self.every,
            settle_s: self.settle,
            retests: self.retests,
            verdict: self.verdict.settings(),
            tts: match self.tts {
                TtsArg::Flite => TtsProgram::Flite,
                TtsArg::EspeakNg => TtsProgram::EspeakNg,
            },
            voice: self.voice,
            player: self.player,
            audio_device: self.audio_device,
            volume: self.volume,
            cache_dir: self.cache_dir,
            log: self.log,
            filter: self.filter,
            names: self.names,
            no_history: self.no_history,
            allowed_hours: self.allowed_hours,
            quiet_hours: self.quiet_hours,
            data_dir: self.data.data_dir,
            format: self.format.into(),
        }
    }
}

#[derive(Args, Debug)]
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub struct ReplayArgs {
    /// The interface to send on; its link type must be the captures' (Ethernet for a veth).
    #[arg(short, long, value_name = "IFACE")]
    pub interface: String,
    /// Capture files (pcap or pcapng), sent one after the other.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Pace as recorded, X times faster (2: twice as fast, 0.5: half as fast).
    #[arg(long, value_name = "X", default_value_t = 1.0, conflicts_with_all = ["mbps", "top_speed"])]
    pub speed: f64,
    /// Send at a constant rate of R Mbit/s (frame bytes) instead of the recorded pace.
    #[arg(long, value_name = "R", conflicts_with = "top_speed")]
    pub mbps: Option<f64>,
    /// Send as fast as the interface takes the frames.
    #[arg(long)]
    pub top_speed: bool,
    /// Send the whole list of files N times.
    #[arg(long = "loop", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub loops: u32,
    /// Format of the summary (frames, bytes, seconds, achieved Mbit/s and frames/s,
    /// frames that could not be sent). JSON prints one object.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write leakypick.1 and one page per command (leakypick-analyze.1, ...) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `--design`: how often each word is spoken.
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum DesignArg {
    /// Screen every word, re-test only the words that woke the device (the default).
    Adaptive,
    /// Every word --max-attempts times (10), as in the paper.
    Paper,
}

#[derive(Args, Debug)]
pub struct FuzzArgs {
    #[command(subcommand)]
    pub report: Option<FuzzSub>,
    /// The device to fuzz: its MAC address (or IP address), as `leakypick devices` lists it.
    #[arg(long, value_name = "MAC|IP")]
    pub device: Option<DeviceKey>,
    /// Network interface to capture on (live builds; needs the same rights as `monitor`).
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// The device's wake word [default: alexa].
    #[arg(long, value_name = "WORD")]
    pub wake_word: Option<String>,
    /// Candidate sources, comma-separated: dict (CMU dictionary words with a phoneme
    /// count near the wake word's), common, simple (random simple English words), or a
    /// file with one word per line [default: dict, unless --words is given].
    #[arg(long, value_name = "SOURCES", value_delimiter = ',')]
    pub candidates: Option<Vec<String>>,
    /// Words to try, comma-separated (before the --candidates selection).
    #[arg(long, value_name = "WORDS", value_delimiter = ',')]
    pub words: Option<Vec<String>>,
    /// Phoneme-count window around the wake word's for dict (1: the same count ±1) [default: 1].
    #[arg(long, value_name = "N")]
    pub phonemes: Option<u32>,
    /// How many random words the simple source gives [default: 100].
    #[arg(long, value_name = "N")]
    pub random: Option<usize>,
    /// Seed of the random choice [default: 0].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// At most N candidates in all.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// TTS voices rotated across the attempts of a word, comma-separated
    /// [default: slt,rms,awb for flite, the default voice for espeak-ng].
    #[arg(long, value_name = "VOICES", value_delimiter = ',')]
    pub voices: Option<Vec<String>>,
    /// Speaking rates rotated with the voices, comma-separated, 1 = normal [default: 1.0].
    #[arg(long, value_name = "RATES", value_delimiter = ',')]
    pub rates: Option<Vec<f64>>,
    /// How often each word is spoken [default: adaptive].
    #[arg(long, value_enum)]
    pub design: Option<DesignArg>,
    /// Adaptive: screening attempts per word [default: the smallest n with
    /// (1 - min-probability)^n <= 1 - recall, 5].
    #[arg(long, value_name = "N")]
    pub screen: Option<u32>,
    /// Adaptive: the smallest activation probability screening must find [default: 0.5].
    #[arg(long, value_name = "P")]
    pub min_probability: Option<f64>,
    /// Adaptive: the share of such words screening must find [default: 0.95].
    #[arg(long, value_name = "R")]
    pub recall: Option<f64>,
    /// Adaptive: re-test a word until the half-width of its 95 % Clopper-Pearson
    /// interval is at most X [default: 0.15].
    #[arg(long, value_name = "X")]
    pub precision: Option<f64>,
    /// Most attempts per word [default: 20 adaptive, 10 paper].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Seconds after the word an upload may start and still count [default: the largest
    /// calibrated latency (from the end of playback) + 1.5 s, at least 1.5 s; 4 s
    /// without calibration].
    #[arg(long, value_name = "S")]
    pub max_latency: Option<f64>,
    /// Plays of the real wake word before the campaign, to measure the latency; the
    /// campaign refuses to run if none wakes the device (0: none) [default: 3].
    #[arg(long, value_name = "N")]
    pub calibrate: Option<u32>,
    /// Seconds of quiet (no upload stream) before each word is played [default: 1].
    #[arg(long, value_name = "S")]
    pub settle: Option<f64>,
    /// Seconds to wait for the device to show up on the interface [default: 30].
    #[arg(long, value_name = "S")]
    pub seen_wait: Option<f64>,
    /// Text to speech program [default: flite].
    #[arg(long, value_enum)]
    pub tts: Option<TtsArg>,
    /// How to play: paplay (PulseAudio), aplay (ALSA), or a command line in which {}
    /// is replaced by the WAV file.
    #[arg(long, value_name = "PLAYER", default_value = "paplay")]
    pub player: String,
    /// Audio device for paplay (a sink name) or aplay (an ALSA device).
    #[arg(long, value_name = "DEVICE")]
    pub audio_device: Option<String>,
    /// Playback volume in percent (paplay only).
    #[arg(long, value_name = "PCT")]
    pub volume: Option<u32>,
    /// Where synthesized words are cached (default: <data dir>/probes).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// BPF filter for the capture.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Only play within these local hours; outside them the campaign pauses.
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = clap::value_parser!(DailySpan))]
    pub allowed_hours: Option<DailySpan>,
    /// Never play within these local hours (the campaign pauses).
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = clap::value_parser!(DailySpan))]
    pub quiet_hours: Option<DailySpan>,
    /// Continue the latest unfinished campaign (parameters given must match its own).
    #[arg(long)]
    pub resume: bool,
    /// Continue this campaign (see `fuzz report`).
    #[arg(long, value_name = "ID")]
    pub campaign: Option<i64>,
    /// Print the candidates, the plan and the estimated duration; play and capture nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Output format of the plan and the final report.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Subcommand, Debug)]
pub enum FuzzSub {
    /// The words a campaign found: per word, grouped like the paper's Table 5, the
    /// phonetic distances; read from the history (never written).
    #[command(after_help = "Examples:\n  \
        leakypick fuzz report\n  \
        leakypick fuzz report --campaign 2 --format json --attempts\n  \
        leakypick fuzz report --plot words.svg")]
    Report(FuzzReportArgs),
}

#[derive(Args, Debug)]
pub struct FuzzReportArgs {
    /// The campaign [default: the latest].
    #[arg(long, value_name = "ID")]
    pub campaign: Option<i64>,
    /// Also every attempt (word, voice, verdict, latency, upload).
    #[arg(long)]
    pub attempts: bool,
    /// Write the chart of activation probability against phonetic distance (SVG).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

impl FuzzReportArgs {
    pub fn command(self) -> FuzzReportCommand {
        FuzzReportCommand {
            campaign: self.campaign,
            data_dir: self.data.data_dir,
            format: self.format.format.into(),
            plot: self.plot,
            attempts: self.attempts,
        }
    }
}

impl FuzzArgs {
    pub fn command(self) -> FuzzCommand {
        FuzzCommand {
            interface: self.interface,
            device: self.device,
            wake_word: self.wake_word,
            candidates: self.candidates,
            words: self.words,
            phonemes: self.phonemes,
            random: self.random,
            limit: self.limit,
            seed: self.seed,
            voices: self.voices,
            rates: self.rates,
            design: self.design.map(|d| match d {
                DesignArg::Adaptive => DesignName::Adaptive,
                DesignArg::Paper => DesignName::Paper,
            }),
            screen: self.screen,
            min_probability: self.min_probability,
            recall: self.recall,
            precision: self.precision,
            max_attempts: self.max_attempts,
            max_latency: self.max_latency,
            calibrate: self.calibrate,
            settle: self.settle,
            seen_wait: self.seen_wait,
            tts: self.tts.map(|t| match t {
                TtsArg::Flite => TtsProgram::Flite,
                TtsArg::EspeakNg => TtsProgram::EspeakNg,
            }),
            player: self.player,
            audio_device: self.audio_device,
            volume: self.volume,
            cache_dir: self.cache_dir,
            filter: self.filter,
            allowed_hours: self.allowed_hours,
            quiet_hours: self.quiet_hours,
            data_dir: self.data.data_dir,
            resume: self.resume,
            campaign: self.campaign,
            dry_run: self.dry_run,
            format: self.format.into(),
        }
    }
}

#[derive(Args, Debug)]
pub struct PhoneticArgs {
    /// The wake word (or phrase, e.g. "hey siri") to measure the distance to.
    #[arg(long, value_name = "WAKEWORD")]
    pub to: String,
    /// Words to compare with the wake word (letters a-z).
    #[arg(value_name = "WORD")]
    pub words: Vec<String>,
    /// Also the words of FILE, one per line ('#' starts a comment); '-' reads standard input.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArgs,
}

impl PhoneticArgs {
    pub fn command(self) -> PhoneticCommand {
        PhoneticCommand {
            to: self.to,
            words: self.words,
            file: self.file,
            format: self.format.format.into(),
        }
    }
}
