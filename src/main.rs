//! The `leakypick` command line: argument parsing and glue only. The work happens in
//! `leakypick-app` (I/O, rendering) and `leakypick-core` (decoding, detectors).

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use leakypick_app::analyze::render::write_analysis;
use leakypick_app::analyze::{analyze, AnalyzeOptions};
use leakypick_app::capture::sample;
use leakypick_app::capture::CaptureSource;
use leakypick_app::compare::render::write_comparison;
use leakypick_app::compare::{compare_windows, CompareOptions, WindowSpec};
use leakypick_app::history::{self, Store};
use leakypick_app::names::DeviceNames;
use leakypick_app::render::Format;
use leakypick_core::baseline::BaselineConfig;
use leakypick_core::probe::{Decision, ProbeConfig, ProbeTest};
use leakypick_core::stats::AutoBinRule;
use leakypick_core::{BurstConfig, DestinationScope, DeviceKey, Mac, Timestamp};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Find the smart-home devices that send what they hear to the cloud.
///
/// leakypick implements LeakyPick (Mitev et al.): it watches each device's encrypted
/// traffic and finds audio uploads by their rate (burst detection) and by comparing
/// idle and probe windows (statistical probing).
#[derive(Parser, Debug)]
#[command(name = "leakypick", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Per-device traffic and detected audio uploads in capture files.
    ///
    /// Reads pcap and pcapng files (Ethernet, 802.11 monitor mode, Linux cooked, raw
    /// IP, loopback), merged by time. Without FILE, analyses the bundled sample (an
    /// Echo Dot activated once). Prints one row per device (by MAC address) and the
    /// upload bursts: runs of at least N windows whose upload rate is above the
    /// threshold.
    Analyze(AnalyzeArgs),
    /// Statistical probing: did a device's traffic change between an idle and a probe window?
    ///
    /// Compares the frames the device sent in the two windows with the paper's test
    /// (Student's t-test on numpy 'auto'-binned counts of frame lengths and of
    /// inter-arrival times) or better-founded tests on the raw samples. A p-value below
    /// the threshold means the device reacted. Without FILE, uses the bundled sample.
    Compare(CompareArgs),
    /// Write a realistic simulated capture of a smart home, with its ground-truth labels.
    ///
    /// Device models come from measurements of real captures (docs/simulator.md): Echo
    /// voice assistants (idle heartbeats, audio uploads of measured frame sizes and
    /// rates), a Blink-like camera (motion clips), an idle hub and plugs without a
    /// microphone. The same seed gives the same bytes. The labels file lists every
    /// activation in the native labels format (docs/evaluation-format.md).
    Simulate(SimulateArgs),
    /// Score the detectors against labelled activations: TP/FP/FN/TN, TPR, FPR,
    /// precision, F1, per device and overall, for named configurations and sweeps.
    ///
    /// Labels: the native CSV (mac,start,end,kind; times in epoch seconds or +S after
    /// the first packet), an IFTTT event log (--labels-format ifttt with --device-map
    /// and --tz), or counts encoded in the capture's file name (--labels-format
    /// filename, e.g. haipeng_li__alexa_5_30s.pcap). How detections are matched to
    /// activations is documented in docs/evaluation-format.md. With --out DIR, a report
    /// with ROC curves, p-value charts and per-device timelines is written there.
    Evaluate(EvaluateArgs),
    /// Devices in the history database: first/last seen, vendor, hostnames, user name.
    ///
    /// Reads the history a monitor keeps (also while it runs).
    Devices(DevicesArgs),
    /// Detections in the history database, oldest first.
    ///
    /// JSON prints one object per detection: mac, start, end (epoch seconds), the rule
    /// that fired, its parameters and numbers.
    Events(EventsArgs),
    /// Give a device in the history a name (an empty NAME removes it).
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
    Monitor(MonitorArgs),
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
    Probe(Box<ProbeArgs>),
    /// The last probing session's verdicts, from the history.
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
    Replay(ReplayArgs),
}

#[derive(clap::Args, Debug)]
struct DataDirArgs {
    /// Directory of the history database (leakypick.sqlite3). Default:
    /// $LEAKYPICK_DATA_DIR, else $XDG_DATA_HOME/leakypick, else ~/.local/share/leakypick.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct DevicesArgs {
    #[command(flatten)]
    data: DataDirArgs,
    /// Output format. JSON prints one object per line.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(clap::Args, Debug)]
struct EventsArgs {
    /// Only detections that ended at or after T (epoch seconds or RFC 3339, e.g.
    /// 2024-05-01T12:00:00Z).
    #[arg(long, value_name = "T", value_parser = leakypick_app::history::parse_time)]
    since: Option<Timestamp>,
    #[command(flatten)]
    data: DataDirArgs,
    /// Output format. JSON prints one object per line.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(clap::Args, Debug)]
struct MonitorArgs {
    /// Network interface to capture on (overrides capture.interface).
    #[arg(short = 'i', long, value_name = "IFACE", conflicts_with = "replay")]
    interface: Option<String>,
    /// Read this capture file as if it were live, then stop (tests a configuration;
    /// needs no privileges).
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Pace the --replay like the recording, this many times faster (1 = real time).
    /// Default: as fast as the file can be read.
    #[arg(long, value_name = "X", requires = "replay")]
    replay_speed: Option<f64>,
    /// The configuration file (TOML). Default: none (every setting at its default).
    #[arg(short = 'c', long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// BPF filter for the live capture (overrides capture.filter).
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Detector preset (overrides detect.preset).
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Capture 802.11 frames in monitor mode (overrides capture.monitor_mode).
    #[arg(long)]
    monitor_mode: bool,
    /// Log level on stderr (overrides logging.level).
    #[arg(long, value_enum, value_name = "LEVEL")]
    log_level: Option<LogLevelArg>,
    #[command(flatten)]
    data: DataDirArgs,
    /// How detections are printed on stdout: text lines, one JSON object per line, or CSV.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum LogLevelArg {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(clap::Args, Debug)]
struct NameArgs {
    /// The device's MAC address (or IP address, for a device seen without one), as
    /// `leakypick devices` lists it.
    mac: leakypick_core::DeviceKey,
    /// The name; an empty string removes the name.
    name: String,
    #[command(flatten)]
    data: DataDirArgs,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum LabelsFormatArg {
    /// leakypick's labels CSV (what `simulate` writes).
    Native,
    /// An IFTTT event log: "March 08, 2021 at 01:05PM","NAME","event_motion".
    Ifttt,
    /// Counts from the capture's file name: NAME_N_Ss.pcap = N activations about S s apart.
    Filename,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
enum DetectorArg {
    Burst,
    Stat,
    All,
}

#[derive(clap::Args, Debug)]
struct EvaluateArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Label file(s); may be repeated. Not needed with --labels-format filename.
    #[arg(long, value_name = "FILE")]
    labels: Vec<PathBuf>,
    /// How the labels are written.
    #[arg(long, value_enum, default_value_t = LabelsFormatArg::Native)]
    labels_format: LabelsFormatArg,
    /// For IFTTT logs: device names to MACs, 'NAME=MAC,NAME=MAC' or a file of such lines.
    #[arg(long, value_name = "MAP")]
    device_map: Option<String>,
    /// For IFTTT logs: the time zone of the log (IANA name like America/New_York, or -05:00).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// For file-name labels: the device the counts belong to (default: the device that
    /// uploaded the most to the cloud).
    #[arg(long, value_name = "MAC")]
    label_device: Option<String>,
    /// Which detectors to score.
    #[arg(long, value_enum, default_value_t = DetectorArg::All)]
    detector: DetectorArg,
    /// Seconds a detection may start before or end after an activation and still match it.
    #[arg(long, default_value_t = 2.0)]
    tolerance: f64,
    /// Slot length in seconds for slot-level scoring (TN and FPR need slots).
    #[arg(long, default_value_t = 10.0)]
    slot: f64,
    /// Score every device seen; devices the labels do not mention count as never activated.
    #[arg(long)]
    all_devices: bool,
    /// Also print the metrics of every sweep point, the ROC points and the p-values.
    #[arg(long)]
    full: bool,
    /// Write the report (Markdown, SVG charts, CSV and JSON Lines) into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct InputArgs {
    /// Capture files (pcap or pcapng, decided by content); '-' reads standard input.
    /// Several files are merged by timestamp.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output format. JSON prints one object per line; the shapes are documented in the README.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Csv,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum PresetArg {
    /// 1 s windows, 23 kbit/s, 2 windows in a row: finds short voice commands (measured on real captures).
    Default,
    /// The paper's parameters: 1 s windows, 23 kbit/s, 5 windows in a row.
    Paper,
    /// Like default, but each device's threshold is learned from its own idle traffic:
    /// 4x the 99th percentile of its idle window rates, at least 8 kbit/s (23 kbit/s while
    /// it learns, for its first 300 windows).
    Adaptive,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Device names: a text file with one 'MAC NAME' per line ('#' starts a comment).
    #[arg(long, value_name = "FILE")]
    names: Option<PathBuf>,
    /// Burst-detection parameters to start from; the options below override them.
    #[arg(long, value_enum, default_value_t = PresetArg::Default)]
    preset: PresetArg,
    /// Window length in seconds.
    #[arg(long, value_name = "SECONDS")]
    window: Option<f64>,
    /// Upload rate a window must exceed, in kbit/s.
    #[arg(long, value_name = "KBIT/S")]
    threshold_kbps: Option<f64>,
    /// Number of consecutive windows above the threshold that make a burst.
    #[arg(long, value_name = "N")]
    min_windows: Option<u32>,
    /// Count uploads to LAN destinations too (by default only frames to addresses
    /// outside the local network count: not RFC 1918, ULA, link-local, multicast or broadcast).
    #[arg(long)]
    include_lan: bool,
    /// A probe log written by `leakypick probe --log` (or by hand: JSON Lines with
    /// {"type":"attempt","probe":..,"attempt":N,"idle":[T,T],"window":[T,T]}): prints the
    /// probing verdicts for the captured traffic instead of the device table.
    #[arg(long, value_name = "FILE")]
    probe_log: Option<PathBuf>,
    #[command(flatten)]
    verdict: VerdictArgs,
}

/// How a probing attempt is decided (shared by `probe` and `analyze --probe-log`).
#[derive(clap::Args, Debug, Clone)]
struct VerdictArgs {
    /// What makes a device count as reacting in one attempt: an upload burst in the probe
    /// window and none in the idle window (burst), the statistical test (stat), either
    /// of them, or both.
    #[arg(long = "decide-by", value_name = "RULE", default_value = "burst",
          value_parser = ["burst", "stat", "either", "both"])]
    decide_by: String,
    /// The statistical test comparing idle and probe windows.
    #[arg(long = "probe-test", value_enum, default_value_t = TestArg::Paper)]
    probe_test: TestArg,
    /// P-value threshold of that test (the paper: 0.42).
    #[arg(long = "p-threshold", value_name = "P", default_value_t = 0.42)]
    p_threshold: f64,
}

impl VerdictArgs {
    fn session_config(
        &self,
        burst: BurstConfig,
        scope: DestinationScope,
    ) -> Result<leakypick_core::session::SessionConfig> {
        let test = match self.probe_test {
            TestArg::Paper => ProbeTest::Paper,
            TestArg::Welch => ProbeTest::Welch,
            TestArg::MannWhitney => ProbeTest::MannWhitney,
            TestArg::Ks => ProbeTest::KolmogorovSmirnov,
            TestArg::Chi2 => ProbeTest::ChiSquare,
            TestArg::All => bail!("--probe-test all is not possible here: choose one test"),
        };
        if !(self.p_threshold > 0.0 && self.p_threshold <= 1.0) {
            bail!(
                "--p-threshold {}: give a p-value between 0 and 1",
                self.p_threshold
            );
        }
        let decide =
            leakypick_core::session::Decide::from_name(&self.decide_by).with_context(|| {
                format!(
                    "--decide-by {}: one of {}",
                    self.decide_by,
                    leakypick_app::probing::decide_names()
                )
            })?;
        Ok(leakypick_core::session::SessionConfig {
            probe: ProbeConfig {
                test,
                threshold: self.p_threshold,
                ..ProbeConfig::paper()
            },
            burst,
            scope,
            decide,
        })
    }
}

#[derive(clap::Args, Debug)]
struct ProbeArgs {
    /// Network interface to capture on (live builds; needs the same rights as `monitor`).
    #[arg(short = 'i', long, value_name = "IFACE")]
    interface: String,
    /// Wake words or phrases to speak, comma-separated (default: the shipped list, see
    /// docs/probes.md). "none" speaks no word.
    #[arg(long, value_name = "WORDS", value_delimiter = ',')]
    words: Vec<String>,
    /// Generated non-speech probes, comma-separated: bark, glass.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    sound: Vec<String>,
    /// Your own probe recordings (WAV), each a probe named after the file.
    #[arg(long = "file", value_name = "FILE.wav")]
    files: Vec<PathBuf>,
    /// Seconds of each idle window (the paper: 60).
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    idle: f64,
    /// Seconds of each probe window (the paper: 60).
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    window: f64,
    /// Play the probe every S seconds during its window (the paper: 10).
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    every: f64,
    /// Seconds to wait after a probe window before the next idle window.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    settle: f64,
    /// Re-tests of a probe that made a device react (each a new idle and probe window).
    #[arg(long, value_name = "N", default_value_t = 1)]
    retests: u32,
    #[command(flatten)]
    verdict: VerdictArgs,
    /// Text to speech program.
    #[arg(long, value_parser = ["flite", "espeak-ng"], default_value = "flite")]
    tts: String,
    /// Voice of the TTS program (`flite -lv`, `espeak-ng --voices`).
    #[arg(long, value_name = "VOICE")]
    voice: Option<String>,
    /// How to play: paplay (PulseAudio), aplay (ALSA), or a command line in which {}
    /// is replaced by the WAV file.
    #[arg(long, value_name = "PLAYER", default_value = "paplay")]
    player: String,
    /// Audio device for paplay (a sink name) or aplay (an ALSA device).
    #[arg(long, value_name = "DEVICE")]
    audio_device: Option<String>,
    /// Playback volume in percent (paplay only).
    #[arg(long, value_name = "PCT")]
    volume: Option<u32>,
    /// Where synthesized probes are cached (default: <data dir>/probes).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Write the probe log (JSON Lines, one line per attempt) to FILE, for
    /// `analyze --probe-log` on a capture made elsewhere.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// BPF filter for the capture.
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Device names: a text file with one 'MAC NAME' per line.
    #[arg(long, value_name = "FILE")]
    names: Option<PathBuf>,
    /// Do not store the session in the history.
    #[arg(long)]
    no_history: bool,
    /// Only probe within these local hours (e.g. 09:00-17:00, when nobody is home);
    /// outside them, say so and exit successfully without probing (for timers).
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = clap::value_parser!(leakypick_app::probing::DailySpan))]
    allowed_hours: Option<leakypick_app::probing::DailySpan>,
    /// Never probe within these local hours (e.g. 22:00-07:00).
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = clap::value_parser!(leakypick_app::probing::DailySpan))]
    quiet_hours: Option<leakypick_app::probing::DailySpan>,
    #[command(flatten)]
    data: DataDirArgs,
    /// Output format of the verdicts. JSON prints one object per device and probe, then
    /// a session summary.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    #[command(flatten)]
    data: DataDirArgs,
    /// Output format. JSON prints the stored verdict objects, then the session summary.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
enum TestArg {
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

#[derive(Copy, Clone, Debug, ValueEnum)]
enum DecideArg {
    /// The packet-size p-value decides (the paper found it sufficient).
    Size,
    /// Fisher's combination of the size and inter-arrival p-values decides.
    Combined,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum BinRuleArg {
    /// numpy before 2.3: the smaller of the Sturges and Freedman-Diaconis widths.
    NumpyLegacy,
    /// numpy 2.3 and later: the Freedman-Diaconis width is first bounded below.
    #[value(name = "numpy-2.3")]
    Numpy23,
}

#[derive(clap::Args, Debug)]
struct CompareArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The device: its MAC address (or its IP address for captures without MACs).
    #[arg(long, value_name = "MAC")]
    device: String,
    /// The idle window: START,END in epoch seconds, or +S,+S seconds after the first packet.
    #[arg(long, value_name = "START,END", allow_hyphen_values = true)]
    idle: WindowSpec,
    /// The probe window, in the same form as --idle.
    #[arg(long, value_name = "START,END", allow_hyphen_values = true)]
    probe: WindowSpec,
    /// The test to run.
    #[arg(long, value_enum, default_value_t = TestArg::Paper)]
    test: TestArg,
    /// P-value threshold: below it the device reacted. The paper uses 0.42.
    #[arg(long, default_value_t = 0.42)]
    threshold: f64,
    /// Which p-value decides.
    #[arg(long, value_enum, default_value_t = DecideArg::Size)]
    decide: DecideArg,
    /// Which numpy version's bins='auto' rule bins the samples for the binned tests:
    /// the one the paper used (before numpy 2.3), or numpy 2.3's.
    #[arg(long, value_enum, default_value_t = BinRuleArg::NumpyLegacy)]
    bin_rule: BinRuleArg,
    /// Use only the frames the device sent to the cloud (by default every frame it sent counts, as in the paper).
    #[arg(long)]
    cloud_only: bool,
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    /// Devices: KIND[:COUNT][@SCHEDULE],... with KIND echo|echodot|camera|hub|plug and
    /// SCHEDULE a rate (6/h) or times (90s+10m). Example: echo:2@6/h,camera@2/h,hub,plug:3
    #[arg(long, default_value = leakypick_app::simulate::DEFAULT_DEVICES)]
    devices: String,
    /// How long the capture lasts: 3600, 90s, 2h, 7d.
    #[arg(long, default_value = "1h")]
    duration: String,
    /// Seed of the random generator: the same seed gives the same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Time of the first packet: epoch seconds or RFC 3339 (default 2026-01-01T00:00:00Z).
    #[arg(long)]
    start: Option<String>,
    /// Cut each record to this many captured bytes (the original length stays the whole frame).
    #[arg(long)]
    snaplen: Option<u32>,
    /// Least time between the end of a device's activation and its next: 30s, 2m.
    #[arg(long)]
    min_gap: Option<String>,
    /// The capture to write (pcap); '-' writes it to standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The labels to write (CSV); default: the --out path with .labels.csv.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Format of the summary (on standard output, or standard error with --out -).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(clap::Args, Debug)]
#[cfg_attr(not(feature = "live"), allow(dead_code))]
struct ReplayArgs {
    /// The interface to send on; its link type must be the captures' (Ethernet for a veth).
    #[arg(short, long, value_name = "IFACE")]
    interface: String,
    /// Capture files (pcap or pcapng), sent one after the other.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Pace as recorded, X times faster (2: twice as fast, 0.5: half as fast).
    #[arg(long, value_name = "X", default_value_t = 1.0, conflicts_with_all = ["mbps", "top_speed"])]
    speed: f64,
    /// Send at a constant rate of R Mbit/s (frame bytes) instead of the recorded pace.
    #[arg(long, value_name = "R", conflicts_with = "top_speed")]
    mbps: Option<f64>,
    /// Send as fast as the interface takes the frames.
    #[arg(long)]
    top_speed: bool,
    /// Send the whole list of files N times.
    #[arg(long = "loop", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    loops: u32,
    /// Format of the summary (frames, bytes, seconds, achieved Mbit/s and frames/s,
    /// frames that could not be sent). JSON prints one object.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[cfg(not(feature = "live"))]
fn run_replay(_args: ReplayArgs) -> Result<()> {
    bail!(
        "this build of leakypick has no live capture, which `replay` needs: rebuild it with \
         `cargo build --release --features live` (needs libpcap-dev)"
    )
}

#[cfg(feature = "live")]
fn run_replay(args: ReplayArgs) -> Result<()> {
    use leakypick_app::monitor::live::replay::{self, Pacing, ReplayOptions};
    let pacing = match (args.top_speed, args.mbps) {
        (true, _) => Pacing::TopSpeed,
        (false, Some(r)) => Pacing::Mbps(r),
        (false, None) => Pacing::Recorded { speed: args.speed },
    };
    let summary = replay::replay(&ReplayOptions {
        interface: args.interface,
        files: args.files,
        pacing,
        loops: args.loops,
    })?;
    for w in &summary.warnings {
        eprintln!("leakypick: warning: {w}");
    }
    if let Some(first) = &summary.first_error {
        eprintln!(
            "leakypick: warning: {} frame(s) could not be sent; the first: {first}",
            summary.failed
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    replay::write_summary(&mut out, &summary, format_of(args.format))?;
    out.flush()?;
    if summary.frames == 0 && summary.failed > 0 {
        bail!("no frame could be sent on {}", summary.interface);
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (e.g. `leakypick analyze | head`) is not an error.
            if let Some(io) = err.root_cause().downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("leakypick: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Analyze(args) => run_analyze(args),
        Command::Compare(args) => run_compare(args),
        Command::Simulate(args) => run_simulate(args),
        Command::Evaluate(args) => run_evaluate(args),
        Command::Devices(args) => run_devices(args),
        Command::Events(args) => run_events(args),
        Command::Name(args) => run_name(args),
        Command::Monitor(args) => run_monitor(args),
        Command::Probe(args) => run_probe(*args),
        Command::Report(args) => run_report(args),
        Command::Replay(args) => run_replay(args),
    }
}

fn open_store(args: &DataDirArgs) -> Result<Store> {
    open_store_as(args, history::OpenMode::Create)
}

fn open_store_as(args: &DataDirArgs, mode: history::OpenMode) -> Result<Store> {
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => history::default_data_dir().context(
            "no data directory: set --data-dir, LEAKYPICK_DATA_DIR, XDG_DATA_HOME or HOME",
        )?,
    };
    Ok(Store::open_with(&dir, mode)?)
}

fn run_devices(args: DevicesArgs) -> Result<()> {
    let devices = open_store_as(&args.data, history::OpenMode::ReadOnly)?.devices()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    history::render::write_devices(&mut out, &devices, format_of(args.format))?;
    out.flush()?;
    Ok(())
}

fn run_events(args: EventsArgs) -> Result<()> {
    let events = open_store_as(&args.data, history::OpenMode::ReadOnly)?.detections(args.since)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    history::render::write_events(&mut out, &events, format_of(args.format))?;
    out.flush()?;
    Ok(())
}

fn run_name(args: NameArgs) -> Result<()> {
    let mut st = open_store_as(&args.data, history::OpenMode::Existing)?;
    if !st.set_name(args.mac, Some(&args.name))? {
        bail!(
            "unknown device {} in {}: only devices in the history can be named (see `leakypick devices`)",
            args.mac,
            st.path().display()
        );
    }
    Ok(())
}

/// Log records on stderr: `TIME LEVEL message` (UTC). Under systemd they go to the journal.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
            .unwrap_or(Timestamp(0));
        eprintln!(
            "{} {:<5} {}",
            leakypick_app::render::human_time(now),
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

fn init_logging(level: log::LevelFilter) {
    // Only the first call installs the logger; a second one changes nothing.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

fn run_monitor(args: MonitorArgs) -> Result<()> {
    use leakypick_app::monitor::alert::Alerter;
    use leakypick_app::monitor::config::{Config, LogLevel, Preset};
    use leakypick_app::monitor::source::{FileSource, FrameSource};
    use leakypick_app::monitor::{write_event, Monitor, MonitorOptions, CSV_HEADER};

    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(p) = args.preset {
        config.detect.preset = match p {
            PresetArg::Default => Preset::Default,
            PresetArg::Paper => Preset::Paper,
            PresetArg::Adaptive => Preset::Adaptive,
        };
    }
    let level = match (args.log_level, config.logging.level) {
        (Some(LogLevelArg::Error), _) | (None, LogLevel::Error) => log::LevelFilter::Error,
        (Some(LogLevelArg::Warn), _) | (None, LogLevel::Warn) => log::LevelFilter::Warn,
        (Some(LogLevelArg::Info), _) | (None, LogLevel::Info) => log::LevelFilter::Info,
        (Some(LogLevelArg::Debug), _) | (None, LogLevel::Debug) => log::LevelFilter::Debug,
        (Some(LogLevelArg::Trace), _) | (None, LogLevel::Trace) => log::LevelFilter::Trace,
    };
    init_logging(level);
    let burst = config.burst_config().map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}",
            args.config
                .as_ref()
                .map_or("the settings".to_string(), |p| p.display().to_string())
        )
    })?;
    let data_dir = args
        .data
        .data_dir
        .clone()
        .or_else(|| config.history.data_dir.clone());
    let format = format_of(args.format);

    // Check everything that can be wrong before touching the history or the network.
    let mut source: Box<dyn FrameSource> = match &args.replay {
        Some(file) => {
            let capture = CaptureSource::open(file)?;
            match args.replay_speed {
                Some(x) if x.is_finite() && x > 0.0 => Box::new(FileSource::paced(capture, x)),
                Some(x) => bail!("--replay-speed must be a positive number, not {x}"),
                None => Box::new(FileSource::new(capture)),
            }
        }
        None => {
            let interface = args
                .interface
                .clone()
                .or_else(|| config.capture.interface.clone());
            open_live(
                interface,
                args.filter
                    .clone()
                    .or_else(|| config.capture.filter.clone()),
                &config,
                args.monitor_mode,
            )?
        }
    };
    let alerter = Alerter::new(&config.alerts)?;
    let store = open_store(&DataDirArgs { data_dir })?;
    log::info!(
        "monitoring {}; history in {}",
        source.name(),
        store.path().display()
    );
    let preset = match config.detect.preset {
        Preset::Default => "default",
        Preset::Paper => "paper",
        Preset::Adaptive => "adaptive",
    };
    let opts = MonitorOptions {
        burst,
        preset: preset.into(),
        scope: config.scope(),
        limits: leakypick_core::InventoryLimits {
            max_devices: config.limits.max_devices,
            ..Default::default()
        },
        names: config.names(),
        flush_interval: std::time::Duration::from_secs(u64::from(
            config.history.flush_interval_s.max(1),
        )),
        retention_days: (config.history.retention_days > 0)
            .then_some(config.history.retention_days),
        ..MonitorOptions::default()
    };
    let monitor = Monitor::new(opts, store, alerter)?;

    let stop = stop_on_signals()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if matches!(format, Format::Csv) {
        writeln!(out, "{CSV_HEADER}")?;
        out.flush()?;
    }
    let mut write_error: Option<std::io::Error> = None;
    let summary = monitor.run(source.as_mut(), &stop, &mut |event| {
        if write_error.is_none() {
            let r = write_event(&mut out, event, format).and_then(|()| out.flush());
            if let Err(e) = r {
                write_error = Some(e);
            }
        }
    })?;
    log::info!(
        "stopped: {} frames, {} devices, {} detections{}",
        summary.frames,
        summary.devices,
        summary.detections,
        summary.drops.map_or(String::new(), |d| format!(
            "; kernel dropped {} and the interface {} of {} packets",
            d.dropped_kernel, d.dropped_interface, d.received
        ))
    );
    match write_error {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::from(e).context("cannot write to standard output"))
        }
        _ => Ok(()),
    }
}

#[cfg(not(feature = "live"))]
fn open_live(
    interface: Option<String>,
    _filter: Option<String>,
    _config: &leakypick_app::monitor::config::Config,
    _monitor_mode: bool,
) -> Result<Box<dyn leakypick_app::monitor::source::FrameSource>> {
    bail!(
        "this build of leakypick has no live capture{}: rebuild it with `cargo build --release \
         --features live` (needs libpcap-dev), or use --replay FILE",
        interface.map_or(String::new(), |i| format!(" (asked for interface {i})"))
    )
}

#[cfg(feature = "live")]
fn open_live(
    interface: Option<String>,
    filter: Option<String>,
    config: &leakypick_app::monitor::config::Config,
    monitor_mode: bool,
) -> Result<Box<dyn leakypick_app::monitor::source::FrameSource>> {
    use leakypick_app::monitor::live::{LiveOptions, LiveSource};
    let interface = match interface {
        Some(i) => i,
        None => {
            let i = leakypick_app::monitor::live::default_interface()?;
            log::info!("no interface given (-i or capture.interface): using {i}");
            i
        }
    };
    let opts = LiveOptions {
        filter,
        immediate: config.capture.immediate,
        monitor_mode: monitor_mode || config.capture.monitor_mode,
        snaplen: config.capture.snaplen,
        buffer_bytes: Some(config.capture.buffer_mb.saturating_mul(1024 * 1024)),
        ..LiveOptions::new(interface)
    };
    Ok(Box::new(LiveSource::open(opts)?))
}

fn run_report(args: ReportArgs) -> Result<()> {
    let st = open_store_as(&args.data, history::OpenMode::ReadOnly)?;
    let Some((id, summary, verdicts)) = st.last_probe_session()? else {
        bail!(
            "no probing session in {} yet: run `leakypick probe -i IFACE` first",
            st.path().display()
        );
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format_of(args.format) {
        Format::Json => {
            for v in &verdicts {
                writeln!(out, "{v}")?;
            }
            writeln!(out, "{summary}")?;
        }
        Format::Csv => {
            writeln!(out, "session,mac,probe,reacted,attempts,positive,decide")?;
            for v in &verdicts {
                writeln!(
                    out,
                    "{id},{},{},{},{},{},{}",
                    v["id"].as_str().unwrap_or(""),
                    v["probe"].as_str().unwrap_or(""),
                    v["reacted"],
                    v["attempts"],
                    v["positive"],
                    v["decide"].as_str().unwrap_or("")
                )?;
            }
        }
        Format::Table => {
            let when = summary["start"]
                .as_f64()
                .and_then(Timestamp::from_secs_f64)
                .map(leakypick_app::render::human_time)
                .unwrap_or_else(|| "-".into());
            writeln!(out, "Probing session {id}, started {when} UTC:")?;
            let mut any = false;
            for v in verdicts.iter().filter(|v| v["reacted"] == true) {
                any = true;
                writeln!(
                    out,
                    "REACTED: {} {} to {} ({}/{} attempts)",
                    v["id"].as_str().unwrap_or(""),
                    v["name"]
                        .as_str()
                        .or(v["vendor"].as_str())
                        .map(|n| format!("({n})"))
                        .unwrap_or_default(),
                    v["probe"].as_str().unwrap_or(""),
                    v["positive"],
                    v["attempts"]
                )?;
            }
            if !any {
                writeln!(out, "No device reacted to the probes.")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(not(feature = "live"))]
fn run_probe(_args: ProbeArgs) -> Result<()> {
    bail!(
        "this build of leakypick has no live capture, which `probe` needs: rebuild it with \
         `cargo build --release --features live` (needs libpcap-dev); a capture made \
         elsewhere can be analysed with `analyze --probe-log`"
    )
}

#[cfg(feature = "live")]
fn run_probe(args: ProbeArgs) -> Result<()> {
    use leakypick_app::probing::audio::{self, AudioOptions, Player, Tts};
    use leakypick_app::probing::{run_session, write_session, SessionEvent, SessionPlan};
    use std::sync::Arc;
    init_logging(log::LevelFilter::Info);
    if let Some(why) = leakypick_app::probing::schedule_blocks(
        leakypick_app::probing::local_minute_now(),
        args.allowed_hours,
        args.quiet_hours,
    ) {
        log::info!("not probing now: {why}");
        return Ok(());
    }
    let secs = |name: &str, v: f64| -> Result<std::time::Duration> {
        if v.is_finite() && v > 0.0 && v < 86_400.0 {
            Ok(std::time::Duration::from_secs_f64(v))
        } else {
            bail!("--{name} {v}: give a positive number of seconds")
        }
    };
    let plan = SessionPlan {
        idle: secs("idle", args.idle)?,
        window: secs("window", args.window)?,
        every: secs("every", args.every)?,
        settle: if args.settle == 0.0 {
            std::time::Duration::ZERO
        } else {
            secs("settle", args.settle)?
        },
        retests: args.retests,
    };
    let config = args
        .verdict
        .session_config(BurstConfig::product_default(), DestinationScope::Cloud)?;
    let names = match &args.names {
        Some(p) => DeviceNames::load(p)?,
        None => DeviceNames::default(),
    };
    let data_dir = match &args.data.data_dir {
        Some(d) => Some(d.clone()),
        None => history::default_data_dir(),
    };
    let cache_dir = match (&args.cache_dir, &data_dir) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) => d.join("probes"),
        (None, None) => {
            bail!("no cache directory for synthesized probes: set --cache-dir or --data-dir")
        }
    };
    let tts = match args.tts.as_str() {
        "espeak-ng" => Tts::EspeakNg {
            voice: args.voice.clone(),
        },
        _ => Tts::Flite {
            voice: args.voice.clone(),
        },
    };
    let player = match args.player.as_str() {
        "paplay" => Player::Paplay {
            device: args.audio_device.clone(),
            volume_percent: args.volume,
        },
        "aplay" => Player::Aplay {
            device: args.audio_device.clone(),
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
        if args.words.is_empty() && args.sound.is_empty() && args.files.is_empty() {
            audio::wake_words()
                .into_iter()
                .filter(|w| w.assistant != "none")
                .map(|w| w.text.to_string())
                .collect()
        } else {
            args.words
                .iter()
                .filter(|w| !w.trim().is_empty() && w.trim() != "none")
                .cloned()
                .collect()
        };
    // Everything that can fail fails now, before the session.
    let sounds = audio::prepare(&words, &args.sound, &args.files, &audio)?;
    audio::preflight(&audio)?;
    let mut source = open_live(
        Some(args.interface.clone()),
        args.filter.clone(),
        &leakypick_app::monitor::config::Config::default(),
        false,
    )?;
    let store = match (&args.no_history, &data_dir) {
        (false, Some(d)) => Some(Store::open(d)?),
        _ => None,
    };
    let mut log_file: Box<dyn std::io::Write> = match &args.log {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot open the probe log {}", p.display()))?,
        )),
        None => Box::new(std::io::sink()),
    };
    let probes: Vec<String> = sounds.iter().map(|s| s.name.clone()).collect();
    let by_name: std::collections::HashMap<String, audio::ProbeSound> =
        sounds.into_iter().map(|s| (s.name.clone(), s)).collect();
    let audio = Arc::new(audio);
    let play_audio = Arc::clone(&audio);
    let play: Arc<leakypick_app::probing::PlayFn> = Arc::new(move |name: &str| {
        let sound = by_name
            .get(name)
            .ok_or_else(|| format!("unknown probe {name}"))?;
        audio::play(sound, &play_audio).map_err(|e| e.to_string())
    });
    let per_probe = plan.settle + plan.idle + plan.window;
    log::info!(
        "probing session: {} probe(s) ({}), about {:.0} s without re-tests",
        probes.len(),
        probes.join(", "),
        per_probe.as_secs_f64() * probes.len() as f64
    );
    let stop = stop_on_signals()?;
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
        &mut |e| match e {
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
                "{probe} (attempt {attempt}): {} device(s) reacted{}",
                reacted.len(),
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
        },
    )?;
    log::info!("session done in {:.0} s", started.elapsed().as_secs_f64());
    if let Some(mut st) = store {
        let summary = leakypick_app::probing::session_json(&report);
        let verdicts: Vec<(String, String, bool, serde_json::Value)> = report
            .verdicts
            .iter()
            .map(|v| {
                (
                    v.device.to_string(),
                    v.probe.clone(),
                    v.reacted,
                    leakypick_app::probing::verdict_json(&report, v),
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
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_session(&mut out, &report, format_of(args.format))?;
    out.flush()?;
    Ok(())
}

/// A flag set by SIGTERM or SIGINT (a second one while stopping exits at once).
fn stop_on_signals() -> Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use std::sync::{atomic::AtomicBool, Arc};
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    Ok(stop)
}

fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
    }
}

/// Opens the input files, or the bundled sample when there are none.
fn open_sources(input: &InputArgs) -> Result<Vec<CaptureSource>> {
    if input.files.is_empty() {
        let note = format!(
            "leakypick: no capture given; using the {}",
            sample::SAMPLE_DESCRIPTION
        );
        eprintln!("{note}");
        return Ok(vec![CaptureSource::from_bytes(
            sample::SAMPLE_NAME,
            sample::SAMPLE_BYTES,
        )?]);
    }
    let stdin_count = input.files.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        bail!("standard input ('-') can be read only once");
    }
    input
        .files
        .iter()
        .map(|p| CaptureSource::open(p).map_err(anyhow::Error::from))
        .collect()
}

fn run_analyze(args: AnalyzeArgs) -> Result<()> {
    let mut burst = match args.preset {
        PresetArg::Default => BurstConfig::product_default(),
        PresetArg::Paper => BurstConfig::paper(),
        PresetArg::Adaptive => BurstConfig {
            baseline: Some(BaselineConfig::product_default()),
            ..BurstConfig::product_default()
        },
    };
    if let Some(w) = args.window {
        burst.window_nanos = Timestamp::from_secs_f64(w)
            .map(|t| t.0)
            .filter(|_| w.is_finite() && w > 0.0)
            .with_context(|| format!("--window {w}: give a positive number of seconds"))?;
    }
    if let Some(k) = args.threshold_kbps {
        burst.threshold_bps = k * 1000.0;
    }
    if let Some(n) = args.min_windows {
        burst.min_windows = n;
    }
    burst
        .validate()
        .context("invalid burst-detection options")?;
    let names = match &args.names {
        Some(p) => DeviceNames::load(p)?,
        None => DeviceNames::default(),
    };
    let opts = AnalyzeOptions {
        burst,
        scope: if args.include_lan {
            DestinationScope::All
        } else {
            DestinationScope::Cloud
        },
        names,
        ..AnalyzeOptions::default()
    };
    let sources = open_sources(&args.input)?;
    if let Some(log) = &args.probe_log {
        let attempts = leakypick_app::probing::read_probe_log(log)?;
        let config = args.verdict.session_config(opts.burst, opts.scope)?;
        let report =
            leakypick_app::probing::evaluate_capture(sources, attempts, config, opts.names)?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        leakypick_app::probing::write_session(&mut out, &report, format_of(args.input.format))?;
        out.flush()?;
        return Ok(());
    }
    let report = analyze(sources, &opts)?;
    for w in &report.capture.warnings {
        eprintln!("leakypick: warning: {w}");
    }
    if report.overflow_frames > 0 {
        eprintln!(
            "leakypick: warning: more than {} devices; {} frames of further devices were not counted",
            opts.limits.max_devices, report.overflow_frames
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_analysis(&mut out, &report, format_of(args.input.format))?;
    out.flush()?;
    Ok(())
}

fn parse_device(s: &str) -> Result<DeviceKey> {
    if let Ok(mac) = s.parse::<Mac>() {
        return Ok(DeviceKey::Mac(mac));
    }
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(DeviceKey::Ip(ip));
    }
    bail!("--device '{s}' is neither a MAC address (like 68:db:f5:90:19:64) nor an IP address")
}

fn run_compare(args: CompareArgs) -> Result<()> {
    let device = parse_device(&args.device)?;
    if !(args.threshold.is_finite() && (0.0..=1.0).contains(&args.threshold)) {
        bail!(
            "--threshold {}: give a p-value between 0 and 1",
            args.threshold
        );
    }
    let tests = match args.test {
        TestArg::All => ProbeTest::ALL.to_vec(),
        TestArg::Paper => vec![ProbeTest::Paper],
        TestArg::Welch => vec![ProbeTest::Welch],
        TestArg::MannWhitney => vec![ProbeTest::MannWhitney],
        TestArg::Ks => vec![ProbeTest::KolmogorovSmirnov],
        TestArg::Chi2 => vec![ProbeTest::ChiSquare],
    };
    let opts = CompareOptions {
        device,
        idle: args.idle,
        probe: args.probe,
        tests,
        config: ProbeConfig {
            threshold: args.threshold,
            decision: match args.decide {
                DecideArg::Size => Decision::Size,
                DecideArg::Combined => Decision::Combined,
            },
            bin_rule: match args.bin_rule {
                BinRuleArg::NumpyLegacy => AutoBinRule::Legacy,
                BinRuleArg::Numpy23 => AutoBinRule::Numpy23,
            },
            ..ProbeConfig::paper()
        },
        scope: if args.cloud_only {
            DestinationScope::Cloud
        } else {
            DestinationScope::All
        },
    };
    let sources = open_sources(&args.input)?;
    let report = compare_windows(sources, &opts)?;
    for w in &report.capture.warnings {
        eprintln!("leakypick: warning: {w}");
    }
    if report.device_packets == 0 {
        eprintln!("leakypick: warning: device {device} sent no frames in scope in these captures");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_comparison(&mut out, &report, format_of(args.input.format))?;
    out.flush()?;
    Ok(())
}

/// Writes `path` through a temporary file beside it, renamed into place only when
/// complete, so an existing file is never left half-overwritten.
struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: std::fs::File,
}

impl AtomicFile {
    fn create(path: &std::path::Path) -> Result<AtomicFile> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let tmp = path.with_file_name(name);
        let file = std::fs::File::create(&tmp).with_context(|| {
            format!(
                "cannot create {} (is the directory writable?)",
                tmp.display()
            )
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file,
        })
    }

    fn commit(self) -> Result<()> {
        self.file
            .sync_all()
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        std::fs::rename(&self.tmp, &self.path).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.tmp.display(),
                self.path.display()
            )
        })
    }

    fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn run_simulate(args: SimulateArgs) -> Result<()> {
    use leakypick_app::simulate::{self as sim, SimulateOptions};
    let mut opts = SimulateOptions {
        devices: sim::parse_device_spec(&args.devices).context("--devices")?,
        duration_ns: sim::parse_duration(&args.duration).context("--duration")?,
        seed: args.seed,
        snaplen: args.snaplen,
        ..SimulateOptions::default()
    };
    if let Some(start) = &args.start {
        opts.start = sim::parse_start(start).context("--start")?;
    }
    if let Some(gap) = &args.min_gap {
        opts.min_gap_ns = sim::parse_duration(gap).context("--min-gap")?;
    }
    let to_stdout = args.out.as_os_str() == "-";
    let labels_path = match (&args.labels, to_stdout) {
        (Some(p), _) => p.clone(),
        (None, true) => bail!("--labels FILE is needed when the capture goes to standard output"),
        (None, false) => {
            let stem = args
                .out
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            args.out.with_file_name(format!("{stem}.labels.csv"))
        }
    };
    let labels = AtomicFile::create(&labels_path)?;
    let summary = if to_stdout {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        sim::simulate(&opts, &mut lock, &mut &labels.file)
    } else {
        let pcap = AtomicFile::create(&args.out)?;
        match sim::simulate(&opts, &mut &pcap.file, &mut &labels.file) {
            Ok(s) => {
                pcap.commit()?;
                Ok(s)
            }
            Err(e) => {
                pcap.abandon();
                Err(e)
            }
        }
    };
    let summary = match summary {
        Ok(s) => {
            labels.commit()?;
            s
        }
        Err(e) => {
            labels.abandon();
            return Err(e.into());
        }
    };
    let out_name = if to_stdout {
        "-".to_string()
    } else {
        args.out.display().to_string()
    };
    let mut text = Vec::new();
    leakypick_app::simulate::render::write_simulation(
        &mut text,
        &summary,
        &out_name,
        &labels_path.display().to_string(),
        format_of(args.format),
    )?;
    if to_stdout {
        std::io::stderr().write_all(&text)?;
    } else {
        std::io::stdout().write_all(&text)?;
    }
    Ok(())
}

fn positive_secs(v: f64, what: &str) -> Result<i64> {
    if !(v.is_finite() && v >= 0.0) {
        bail!("{what} {v}: give a non-negative number of seconds");
    }
    Timestamp::from_secs_f64(v)
        .map(|t| t.0)
        .with_context(|| format!("{what} {v} is out of range"))
}

fn run_evaluate(args: EvaluateArgs) -> Result<()> {
    use leakypick_app::evaluate::labels::{self, DeviceMap, LabelSet};
    use leakypick_app::evaluate::{evaluate, DeviceSelection, EvaluateOptions};
    use leakypick_core::eval::MatchRule;

    let mut labels = LabelSet::default();
    match args.labels_format {
        LabelsFormatArg::Native => {
            if args.labels.is_empty() {
                bail!("--labels FILE is needed (or --labels-format filename)");
            }
            for p in &args.labels {
                labels.extend(labels::read_native(p)?);
            }
        }
        LabelsFormatArg::Ifttt => {
            if args.labels.is_empty() {
                bail!("--labels FILE is needed for an IFTTT log");
            }
            let map_text = args
                .device_map
                .as_deref()
                .context("--device-map NAME=MAC is needed for an IFTTT log (e.g. blink-cam-01=f4:b8:5e:ff:2b:1b)")?;
            let map_path = std::path::Path::new(map_text);
            let map = if map_path.is_file() {
                DeviceMap::load(map_path)
            } else {
                DeviceMap::parse(map_text)
            }
            .map_err(|e| anyhow::anyhow!("--device-map: {e}"))?;
            let tz = labels::time_zone(&args.tz).map_err(|e| anyhow::anyhow!("--tz: {e}"))?;
            for p in &args.labels {
                labels.extend(labels::read_ifttt(p, &map, &tz)?);
            }
        }
        LabelsFormatArg::Filename => {
            let device = args.label_device.as_deref().map(parse_device).transpose()?;
            if args.input.files.is_empty() {
                bail!("--labels-format filename needs capture files whose names encode the utterances");
            }
            for f in &args.input.files {
                labels.extend(labels::from_file_name(&f.display().to_string(), device)?);
            }
        }
    }
    let mut opts = EvaluateOptions {
        burst: args.detector != DetectorArg::Stat,
        stat: args.detector != DetectorArg::Burst,
        rule: MatchRule::with_tolerance_secs(args.tolerance).with_context(|| {
            format!(
                "--tolerance {}: give a non-negative number of seconds",
                args.tolerance
            )
        })?,
        slot_nanos: positive_secs(args.slot, "--slot")?.max(1),
        devices: if args.all_devices {
            DeviceSelection::AllSeen
        } else {
            DeviceSelection::Labelled
        },
        ..EvaluateOptions::default()
    };
    opts.burst_named.push((
        "adaptive".to_string(),
        BurstConfig {
            baseline: Some(BaselineConfig::product_default()),
            ..BurstConfig::product_default()
        },
    ));
    let sources = open_sources(&args.input)?;
    let report = evaluate(sources, &labels, &opts)?;
    for w in &report.capture.warnings {
        eprintln!("leakypick: warning: {w}");
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let written = leakypick_app::evaluate::render::write_out_dir(dir, &report)
            .with_context(|| format!("writing the report into {}", dir.display()))?;
        eprintln!(
            "leakypick: wrote {} files into {}",
            written.len(),
            dir.display()
        );
    }
    let format = format_of(args.input.format);
    let full = args.full;
    let sections = leakypick_app::evaluate::render::EvalSections {
        labels: format != Format::Table || full,
        sweep_metrics: full,
        roc: full,
        detections: true,
        pvalues: full,
        rates: full && format != Format::Table,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    leakypick_app::evaluate::render::write_evaluation(&mut out, &report, format, sections)?;
    out.flush()?;
    Ok(())
}
