//! Snapshots (insta) of what every command prints, in every format: the command line,
//! the exit code, standard output and standard error of the real binary, one file per
//! case under `tests/it/snapshots/NAME.snap`. They pin the user-visible behaviour so a
//! refactor proves it changed nothing; review changes to them like code.
//!
//! Refresh them after an intended change, then read the diff before committing:
//!
//! ```text
//! INSTA_UPDATE=always cargo test --test it snapshots
//! git diff tests/it/snapshots/
//! ```
//!
//! (`cargo insta test --review` works too if cargo-insta is installed; it is not needed.)
//! A renamed or removed case leaves its old `.snap` behind: delete it by hand (or find
//! them all with `cargo insta test --unreferenced=reject`).
//! Without `INSTA_UPDATE=always` a mismatch or a missing snapshot FAILS the test: with
//! `CI` set or `INSTA_UPDATE=no` (what scripts/test.sh sets) insta writes nothing;
//! otherwise it also leaves the new output in `NAME.snap.new` beside the old one.
//!
//! What keeps the output deterministic:
//! - commands run in the shared captures directory and name captures by relative paths,
//!   so where the captures live never shows;
//! - temporary directories (made by [`Tmp`]) print as `[TMP]` ([`redact_tmp`], done
//!   before snapshotting and before hashing a digest);
//! - the environment is cleared and `COLUMNS=100` set: with stdout not a terminal, clap
//!   wraps `--help` at $COLUMNS (capped at 100 by the CLI). Tables wrap to the
//!   terminal's width only when stdout is a terminal (comfy-table's dynamic
//!   arrangement); here it is a pipe, so they are laid out at their natural width;
//! - progress bars are drawn only when stderr is a terminal: never here;
//! - the only wall-clock times printed are the log lines `monitor` writes on stderr
//!   (`2026-01-01 12:00:00.000 INFO  ...`): an insta filter turns their time into `[NOW]`.
//!   Every other time printed is a packet time, and the simulator is seeded;
//! - outputs of megabytes (`evaluate --full` in JSON and CSV) are kept as a digest
//!   ([`digest`]): long runs of records of one type are cut to their first and last
//!   lines, and the length and FNV-1a hash of the whole output are kept, so a change to
//!   any byte still fails.
//!
//! `probe` and `replay` need a live network: only their help and argument errors are here.
//! Nothing here depends on the `live` feature (CI builds with it, `cargo test` without).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{shared_capture, shared_captures};
use leakypick_app::history::Store;
use leakypick_core::Timestamp;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FORMATS: [&str; 3] = ["table", "json", "csv"];
const ECHO: &str = "68:db:f5:90:19:64";
const ECHO_CAPTURE: &str = "smart-speakers/echodot3a_active.pcap";
const HAIPENG: &str = "smart-speakers/haipeng_li__alexa_5_30s.pcap";
/// A small simulated home with activations at known times (2 minutes, seed 1).
const SIM_DEVICES: &str = "echo@20s+80s,echodot@50s,camera@100s,hub,plug";
/// Prefix of the temporary directories, which the snapshots show as `[TMP]`.
const TMP_PREFIX: &str = "leakypick-snap-";

/// What one run of the binary printed.
struct Output {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `leakypick ARGS` in the shared captures directory, with a cleared environment.
fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leakypick"));
    cmd.args(args)
        .current_dir(shared_captures())
        .env_clear()
        .env("COLUMNS", "100")
        .env("LINES", "50")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Coverage builds: the profile must not go into the (read-only) working directory.
    if let Some(p) = std::env::var_os("LLVM_PROFILE_FILE") {
        cmd.env("LLVM_PROFILE_FILE", p);
    }
    let mut child = cmd.spawn().expect("cannot run leakypick");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "leakypick {args:?} panicked:\n{stderr}"
    );
    Output {
        code: out.status.code(),
        stdout: out.stdout,
        stderr,
    }
}

/// How stdout goes into a snapshot.
#[derive(Clone, Copy, PartialEq)]
enum Stdout {
    /// As printed (bytes that are not text: their length and hash).
    Whole,
    /// As a [`digest`], for outputs of megabytes.
    Digest,
}

/// Runs `leakypick ARGS` and snapshots it as `NAME`.
fn check(name: &str, args: &[&str]) {
    snapshot(name, &render(args, &run(args, None), Stdout::Whole));
}

/// [`check`] for outputs too long to keep whole.
fn check_digest(name: &str, args: &[&str]) {
    snapshot(name, &render(args, &run(args, None), Stdout::Digest));
}

/// [`check`] with bytes on standard input.
fn check_stdin(name: &str, args: &[&str], stdin: &[u8]) {
    snapshot(name, &render(args, &run(args, Some(stdin)), Stdout::Whole));
}

/// The text of a snapshot: command line, exit code, stdout, stderr.
fn render(args: &[&str], out: &Output, mode: Stdout) -> String {
    let mut s = format!("$ leakypick {}", shell_line(args))
        .trim_end()
        .to_string()
        + "\n";
    match out.code {
        Some(c) => s.push_str(&format!("exit code: {c}\n")),
        None => s.push_str("exit code: none (killed by a signal)\n"),
    }
    let stdout = match std::str::from_utf8(&out.stdout) {
        Ok(text) if !text.contains('\0') => match mode {
            Stdout::Whole => text.to_string(),
            // Redacted before hashing: the hash must not see the temporary paths.
            Stdout::Digest => digest(&redact_tmp(text)),
        },
        _ => format!("{}\n", bytes_digest(&out.stdout)),
    };
    for (what, text) in [("stdout", stdout.as_str()), ("stderr", out.stderr.as_str())] {
        if text.is_empty() {
            s.push_str(&format!("----- {what}: empty\n"));
        } else {
            s.push_str(&format!("----- {what}\n{text}"));
            if !text.ends_with('\n') {
                s.push_str("\n[no newline at the end]\n");
            }
        }
    }
    s
}

/// Arguments as one would type them (single quotes where needed).
fn shell_line(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:,+=@%".contains(c));
            if plain {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts `text` against the snapshot `NAME`, with temporary paths and wall-clock log
/// times redacted.
fn snapshot(name: &str, text: &str) {
    let text = redact_tmp(text);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // `monitor`'s log lines on stderr start with the wall-clock time (src/main.rs
    // StderrLogger); packet times in its stdout are never followed by a log level.
    settings.add_filter(
        r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (ERROR|WARN |INFO |DEBUG|TRACE) ",
        "[NOW] $1 ",
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// `text` with the paths of the [`Tmp`] directories replaced by `[TMP]`.
fn redact_tmp(text: &str) -> String {
    let prefix = std::env::temp_dir().join(TMP_PREFIX);
    let prefix = prefix.to_str().unwrap();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at]);
        out.push_str("[TMP]");
        rest = rest[at + prefix.len()..].trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    }
    out.push_str(rest);
    out
}

/// FNV-1a, 64 bits: a fixed, dependency-free hash for digests of bytes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn bytes_digest(bytes: &[u8]) -> String {
    format!("[{} bytes, FNV-1a 64 {:016x}]", bytes.len(), fnv1a64(bytes))
}

/// A long text cut for a snapshot: each run of more than 8 lines of one record type (a
/// JSON line's `type`, a CSV row's first field) keeps its first 3 and last line; the
/// line count, length and hash of the whole text follow.
fn digest(text: &str) -> String {
    fn kind(line: &str) -> String {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => v["type"].as_str().unwrap_or("").to_string(),
            Err(_) => line.split(',').next().unwrap_or("").to_string(),
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let k = kind(lines[i]);
        let mut j = i + 1;
        while j < lines.len() && kind(lines[j]) == k {
            j += 1;
        }
        let run = &lines[i..j];
        if run.len() > 8 {
            for l in &run[..3] {
                out.push_str(&format!("{l}\n"));
            }
            out.push_str(&format!("[... {} more `{k}` lines ...]\n", run.len() - 4));
            out.push_str(&format!("{}\n", run[run.len() - 1]));
        } else {
            for l in run {
                out.push_str(&format!("{l}\n"));
            }
        }
        i = j;
    }
    out.push_str(&format!(
        "[whole stdout: {} lines, {}]\n",
        lines.len(),
        bytes_digest(text.as_bytes())
    ));
    out
}

/// A temporary directory for the files a case writes or reads (shown as `[TMP]`).
struct Tmp(tempfile::TempDir);

impl Tmp {
    fn new() -> Tmp {
        Tmp(tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempdir()
            .unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// The path of `name` in this directory, as an argument.
    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    /// Writes `name` and returns its path as an argument.
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.path(name), bytes).unwrap();
        self.arg(name)
    }
}

#[test]
fn help_of_every_command() {
    check("help", &["--help"]);
    check("help-short", &["-h"]);
    check("no-command", &[]);
    for cmd in [
        "analyze", "compare", "simulate", "evaluate", "devices", "events", "name", "monitor",
        "probe", "report", "replay", "phonetic", "fuzz",
    ] {
        check(&format!("help-{cmd}"), &[cmd, "--help"]);
    }
    check("help-fuzz-report", &["fuzz", "report", "--help"]);
}

/// `fuzz report` on campaigns of the simulated engine (`examples/fuzz_history.rs`, in
/// virtual time from a fixed start, seeded: the same bytes every run), and the plan of
/// `fuzz --dry-run`.
#[test]
fn fuzz_report_of_simulated_campaigns() {
    let tmp = Tmp::new();
    check(
        "fuzz-report-no-history",
        &["fuzz", "report", "--data-dir", &tmp.arg("none")],
    );
    for (design, seed) in [("adaptive", 1), ("paper", 2)] {
        let dir = tmp.arg(design);
        let out = Command::new(crate::util::helper_program("fuzz_history"))
            .env(
                "LEAKYPICK_TEST_FUZZ_HISTORY",
                format!("{dir},{design},{seed}"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for f in FORMATS {
            check(
                &format!("fuzz-report-{design}-{f}"),
                &["fuzz", "report", "--data-dir", &dir, "--format", f],
            );
        }
    }
    let dir = tmp.arg("adaptive");
    check(
        "fuzz-report-attempts-table",
        &["fuzz", "report", "--data-dir", &dir, "--attempts"],
    );
    check(
        "fuzz-report-unknown-campaign",
        &["fuzz", "report", "--data-dir", &dir, "--campaign", "7"],
    );
    for f in FORMATS {
        check(
            &format!("fuzz-dry-run-{f}"),
            &[
                "fuzz",
                "--device",
                ECHO,
                "--words",
                "elixir,mixer,lecture,table",
                "--dry-run",
                "--data-dir",
                &tmp.arg("dry"),
                "--format",
                f,
            ],
        );
    }
}

#[test]
fn analyze_the_bundled_sample() {
    let tmp = Tmp::new();
    let names = tmp.write(
        "names.txt",
        format!("# kitchen\n{ECHO} Kitchen Echo\nfc:65:de:5f:15:0a other-echo\n").as_bytes(),
    );
    for f in FORMATS {
        check(&format!("analyze-sample-{f}"), &["analyze", "--format", f]);
        check(
            &format!("analyze-sample-paper-{f}"),
            &["analyze", "--preset", "paper", "--format", f],
        );
        check(
            &format!("analyze-sample-include-lan-{f}"),
            &["analyze", "--include-lan", "--format", f],
        );
        check(
            &format!("analyze-sample-names-{f}"),
            &["analyze", "--names", &names, "--format", f],
        );
    }
    check(
        "analyze-sample-adaptive-table",
        &["analyze", "--preset", "adaptive"],
    );
    check(
        "analyze-sample-options-table",
        &[
            "analyze",
            "--window",
            "0.5",
            "--threshold-kbps",
            "100",
            "--min-windows",
            "3",
        ],
    );
}

#[test]
fn analyze_real_captures() {
    for (name, file) in [
        ("echodot", ECHO_CAPTURE),
        ("haipeng-alexa", HAIPENG),
        ("sean-help", "smart-speakers/sean_kennedy__help_5_30s.pcap"),
        (
            "blink-hub-9h",
            "negatives/blink-security-hub_2019-04-25_idle.pcap",
        ),
        (
            "radiotap-htc",
            "parse-robustness/tcpdump-tests/ieee802.11_htc.pcap",
        ),
        (
            "radiotap-exthdr",
            "parse-robustness/tcpdump-tests/ieee802.11_exthdr.pcap",
        ),
        (
            "raw-80211",
            "parse-robustness/tcpdump-tests/ieee802.11_tim_ie_oobr.pcap",
        ),
        (
            "raw-ipv4",
            "parse-robustness/tcpdump-tests/LINKTYPE_RAW_ipv4.pcap",
        ),
        (
            "raw-ipv6",
            "parse-robustness/tcpdump-tests/LINKTYPE_IPV6.pcap",
        ),
        (
            "raw-ipv4-invalid",
            "parse-robustness/tcpdump-tests/LINKTYPE_IPV4_invalid.pcap",
        ),
        (
            "cooked-pcapng",
            "parse-robustness/tcpdump-tests/bgp-role.pcapng",
        ),
        (
            "cooked-nanosecond",
            "parse-robustness/tcpdump-tests/tcp-handshake-nano.pcap",
        ),
        (
            "loopback",
            "parse-robustness/tcpdump-tests/dns-badcookie.pcap",
        ),
        (
            "invalid-subsecond",
            "parse-robustness/tcpdump-tests/timestamp_invalid_micro.pcap",
        ),
        (
            "time-2107",
            "parse-robustness/tcpdump-tests/time_2107.pcapng",
        ),
        (
            "pcapng-big-endian",
            "parse-robustness/rusticata-pcap-parser/test001-be.pcapng",
        ),
        (
            "modified-pcap",
            "parse-robustness/rusticata-pcap-parser/modified-format.pcap",
        ),
        (
            "wireshark-sample",
            "parse-robustness/rusticata-pcap-parser/wireshark_samples-test.pcapng",
        ),
    ] {
        shared_capture(file);
        for f in FORMATS {
            check(
                &format!("analyze-{name}-{f}"),
                &["analyze", "--format", f, file],
            );
        }
    }
    check(
        "analyze-echodot-paper-table",
        &["analyze", "--preset", "paper", ECHO_CAPTURE],
    );
    check(
        "analyze-echodot-include-lan-table",
        &["analyze", "--include-lan", ECHO_CAPTURE],
    );
    check(
        "analyze-echodot-names-table",
        &[
            "analyze",
            "--names",
            "smart-speakers/devices.txt",
            ECHO_CAPTURE,
        ],
    );
    check(
        "analyze-two-files-merged-table",
        &[
            "analyze",
            HAIPENG,
            "smart-speakers/haipeng_li__flip_a_coin_5_30s.pcap",
        ],
    );
    let bytes = std::fs::read(shared_capture(HAIPENG)).unwrap();
    check_stdin(
        "analyze-stdin-csv",
        &["analyze", "--format", "csv", "-"],
        &bytes,
    );
}

/// A probe log over the bundled sample (first packet 1573894006.28; the Echo Dot uploads
/// at +20..+26 s): "alexa" with the upload in its probe window, "computer" without.
const PROBE_LOG: &str = r#"{"type":"session","note":"lines of other types are skipped"}
{"type":"attempt","probe":"alexa","attempt":1,"idle":[1573894008,1573894023],"window":[1573894024,1573894039]}

{"type":"attempt","probe":"computer","attempt":1,"idle":[1573894034,1573894044],"window":[1573894044,1573894054]}
"#;

#[test]
fn analyze_with_a_probe_log() {
    let tmp = Tmp::new();
    let log = tmp.write("probe.log", PROBE_LOG.as_bytes());
    for f in FORMATS {
        check(
            &format!("analyze-probe-log-{f}"),
            &["analyze", "--probe-log", &log, "--format", f],
        );
    }
    check(
        "analyze-probe-log-stat-table",
        &["analyze", "--probe-log", &log, "--decide-by", "stat"],
    );
    check(
        "analyze-probe-log-both-welch-table",
        &[
            "analyze",
            "--probe-log",
            &log,
            "--decide-by",
            "both",
            "--probe-test",
            "welch",
            "--p-threshold",
            "0.05",
        ],
    );
    let names = tmp.write("names.txt", format!("{ECHO} Kitchen Echo\n").as_bytes());
    check(
        "analyze-probe-log-names-table",
        &["analyze", "--probe-log", &log, "--names", &names],
    );
}

#[test]
fn compare_windows() {
    let windows = ["--device", ECHO, "--idle", "+0,+15", "--probe", "+18,+33"];
    for f in FORMATS {
        let mut args = vec!["compare", "--format", f];
        args.extend(windows);
        check(&format!("compare-sample-{f}"), &args);
        args.extend(["--test", "all"]);
        check(&format!("compare-sample-all-tests-{f}"), &args);
    }
    let mut args = vec![
        "compare",
        ECHO_CAPTURE,
        "--test",
        "all",
        "--decide",
        "combined",
        "--bin-rule",
        "numpy-2.3",
        "--cloud-only",
        "--threshold",
        "0.05",
    ];
    args.extend(windows);
    check("compare-echodot-options-table", &args);
    // By IP address in a capture with MACs (the device is its MAC: nothing matches, a
    // warning).
    check(
        "compare-haipeng-ip-of-a-mac-device-table",
        &[
            "compare",
            HAIPENG,
            "--device",
            "10.63.7.79",
            "--idle",
            "+0,+5",
            "--probe",
            "+5,+15",
        ],
    );
}

/// Simulates `SIM_DEVICES` into `dir/NAME.pcap` (and `NAME.labels.csv`) without a snapshot.
fn simulate_into(tmp: &Tmp, name: &str) -> (String, String) {
    let pcap = tmp.arg(&format!("{name}.pcap"));
    let out = run(
        &[
            "simulate",
            "--devices",
            SIM_DEVICES,
            "--duration",
            "2m",
            "--seed",
            "1",
            "--out",
            &pcap,
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    (pcap, tmp.arg(&format!("{name}.labels.csv")))
}

#[test]
fn simulate_summary_labels_and_capture() {
    let tmp = Tmp::new();
    for f in FORMATS {
        let out = tmp.arg(&format!("sim-{f}.pcap"));
        check(
            &format!("simulate-{f}"),
            &[
                "simulate",
                "--devices",
                SIM_DEVICES,
                "--duration",
                "2m",
                "--seed",
                "1",
                "--out",
                &out,
                "--format",
                f,
            ],
        );
    }
    let pcap = std::fs::read(tmp.path("sim-table.pcap")).unwrap();
    for f in ["json", "csv"] {
        assert_eq!(
            std::fs::read(tmp.path(&format!("sim-{f}.pcap"))).unwrap(),
            pcap,
            "same seed, same bytes"
        );
    }
    let labels = std::fs::read_to_string(tmp.path("sim-table.labels.csv")).unwrap();
    snapshot("simulate-labels-file", &labels);
    snapshot(
        "simulate-pcap-file",
        &format!(
            "{}\nfirst 40 bytes: {}\n",
            bytes_digest(&pcap),
            pcap[..40]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    );

    // The capture on standard output (the same bytes), the summary on stderr.
    let labels_arg = tmp.arg("stdout.labels.csv");
    let args = [
        "simulate",
        "--devices",
        SIM_DEVICES,
        "--duration",
        "2m",
        "--seed",
        "1",
        "--out",
        "-",
        "--labels",
        &labels_arg,
        "--format",
        "json",
    ];
    let out = run(&args, None);
    assert_eq!(out.stdout, pcap, "--out - writes the same capture");
    snapshot(
        "simulate-to-stdout-json",
        &render(&args, &out, Stdout::Whole),
    );

    // The default devices (no activation in 2 minutes).
    let out = tmp.arg("default.pcap");
    check(
        "simulate-default-devices-table",
        &["simulate", "--duration", "2m", "--seed", "1", "--out", &out],
    );
    let labels = std::fs::read_to_string(tmp.path("default.labels.csv")).unwrap();
    snapshot("simulate-default-devices-labels-file", &labels);
}

#[test]
fn evaluate_a_simulated_capture() {
    let tmp = Tmp::new();
    let (pcap, labels) = simulate_into(&tmp, "sim");
    for f in FORMATS {
        let args = ["evaluate", &pcap, "--labels", &labels, "--format", f];
        check(&format!("evaluate-simulated-{f}"), &args);
        let full = [&args[..], &["--full"]].concat();
        // Today `--full` does not change the table (only JSON and CSV get the sections).
        if f == "table" {
            check(&format!("evaluate-simulated-full-{f}"), &full);
        } else {
            check_digest(&format!("evaluate-simulated-full-{f}"), &full);
        }
    }
    check(
        "evaluate-simulated-options-table",
        &[
            "evaluate",
            &pcap,
            "--labels",
            &labels,
            "--detector",
            "burst",
            "--tolerance",
            "0",
            "--slot",
            "5",
            "--all-devices",
        ],
    );
}

#[test]
fn evaluate_file_name_labels() {
    for f in FORMATS {
        let args = [
            "evaluate",
            "--labels-format",
            "filename",
            HAIPENG,
            "--format",
            f,
        ];
        check(&format!("evaluate-haipeng-{f}"), &args);
        let full = [&args[..], &["--full"]].concat();
        if f == "table" {
            check(&format!("evaluate-haipeng-full-{f}"), &full);
        } else {
            check_digest(&format!("evaluate-haipeng-full-{f}"), &full);
        }
    }
    check(
        "evaluate-haipeng-stat-table",
        &[
            "evaluate",
            "--labels-format",
            "filename",
            "--label-device",
            "c4:95:00:e3:93:2f",
            "--detector",
            "stat",
            HAIPENG,
        ],
    );

    // The report directory: its Markdown whole, every file by length and hash.
    let tmp = Tmp::new();
    let dir = tmp.arg("report");
    let args = [
        "evaluate",
        "--labels-format",
        "filename",
        HAIPENG,
        "--out",
        &dir,
        "--format",
        "json",
    ];
    let out = run(&args, None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot("evaluate-haipeng-out-dir-stderr", &out.stderr);
    let mut files: Vec<PathBuf> = std::fs::read_dir(tmp.path("report"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let manifest: String = files
        .iter()
        .map(|p| {
            format!(
                "{} {}\n",
                p.file_name().unwrap().to_string_lossy(),
                bytes_digest(&std::fs::read(p).unwrap())
            )
        })
        .collect();
    snapshot("evaluate-haipeng-out-dir-files", &manifest);
    snapshot(
        "evaluate-haipeng-out-dir-report-md",
        &std::fs::read_to_string(tmp.path("report/report.md")).unwrap(),
    );
}

/// Stores the probing session that `analyze --probe-log` finds in the sample, the way
/// `probe` stores its sessions (src/main.rs run_probe: the verdict objects and the
/// session summary it prints as JSON), so that `report` has something to show.
fn store_probe_session(data_dir: &Path, log: &str) {
    let out = run(&["analyze", "--probe-log", log, "--format", "json"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let values: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = values.iter().find(|v| v["type"] == "session").unwrap();
    let verdicts: Vec<(String, String, bool, Value)> = values
        .iter()
        .filter(|v| v["type"] == "verdict")
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["probe"].as_str().unwrap().to_string(),
                v["reacted"].as_bool().unwrap(),
                v.clone(),
            )
        })
        .collect();
    let time = |key: &str| Timestamp::from_secs_f64(summary[key].as_f64().unwrap()).unwrap();
    let mut store = Store::open(data_dir).unwrap();
    store
        .add_probe_session(time("start"), time("end"), summary, &verdicts)
        .unwrap();
    store.close().unwrap();
}

#[test]
fn monitor_then_the_history_commands() {
    let tmp = Tmp::new();
    for f in FORMATS {
        let dir = tmp.arg(&format!("history-{f}"));
        check(
            &format!("monitor-replay-{f}"),
            &[
                "monitor",
                "--replay",
                ECHO_CAPTURE,
                "--data-dir",
                &dir,
                "--format",
                f,
            ],
        );
    }
    let dir = tmp.arg("history-table");
    for f in FORMATS {
        check(
            &format!("devices-{f}"),
            &["devices", "--data-dir", &dir, "--format", f],
        );
        check(
            &format!("events-{f}"),
            &["events", "--data-dir", &dir, "--format", f],
        );
    }
    check(
        "events-since-after-the-upload-table",
        &[
            "events",
            "--data-dir",
            &dir,
            "--since",
            "2019-11-16T08:47:13Z",
        ],
    );
    check(
        "events-since-epoch-json",
        &[
            "events",
            "--data-dir",
            &dir,
            "--since",
            "1573894030",
            "--format",
            "json",
        ],
    );
    check("report-no-session", &["report", "--data-dir", &dir]);

    let log = tmp.write("probe.log", PROBE_LOG.as_bytes());
    store_probe_session(&tmp.path("history-table"), &log);
    for f in FORMATS {
        check(
            &format!("report-{f}"),
            &["report", "--data-dir", &dir, "--format", f],
        );
    }

    check(
        "name-set",
        &["name", ECHO, "Kitchen Echo", "--data-dir", &dir],
    );
    for f in FORMATS {
        check(
            &format!("devices-after-name-{f}"),
            &["devices", "--data-dir", &dir, "--format", f],
        );
    }
    check("report-after-name-table", &["report", "--data-dir", &dir]);
    check("name-remove", &["name", ECHO, "", "--data-dir", &dir]);
    check(
        "devices-after-name-removed-table",
        &["devices", "--data-dir", &dir],
    );
    check(
        "name-unknown-device",
        &["name", "00:00:00:00:00:01", "Nobody", "--data-dir", &dir],
    );

    // A second replay into the same history: the devices' spans and the events grow.
    check(
        "monitor-replay-paper-second-capture-table",
        &[
            "monitor",
            "--replay",
            HAIPENG,
            "--data-dir",
            &dir,
            "--preset",
            "paper",
        ],
    );
    check(
        "events-after-second-replay-table",
        &["events", "--data-dir", &dir],
    );

    // An empty history.
    let empty = tmp.arg("empty-history");
    for f in FORMATS {
        check(
            &format!("devices-empty-history-{f}"),
            &["devices", "--data-dir", &empty, "--format", f],
        );
        check(
            &format!("events-empty-history-{f}"),
            &["events", "--data-dir", &empty, "--format", f],
        );
    }
}

/// Bytes that are no capture: a fixed xorshift stream.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

#[test]
fn phonetic_words() {
    for format in FORMATS {
        check(
            &format!("phonetic-alexa-{format}"),
            &[
                "phonetic",
                "--to",
                "alexa",
                "alita",
                "elixir",
                "mixer",
                "walesa",
                "hyper",
                "electrotelegraphic",
                "--format",
                format,
            ],
        );
    }
    check_stdin(
        "phonetic-stdin",
        &[
            "phonetic", "--to", "hey siri", "--file", "-", "--format", "json",
        ],
        b"# words\nhey\nseriously\n",
    );
    check("phonetic-no-words", &["phonetic", "--to", "alexa"]);
    check(
        "phonetic-not-a-letter",
        &["phonetic", "--to", "alexa", "r2d2"],
    );
    check(
        "phonetic-missing-file",
        &["phonetic", "--to", "alexa", "--file", "no-such-words.txt"],
    );
}

#[test]
fn errors() {
    let tmp = Tmp::new();
    let garbage_file = tmp.write("garbage.pcap", &garbage(4096));
    let empty_file = tmp.write("empty.pcap", b"");
    let echo_bytes = std::fs::read(shared_capture(ECHO_CAPTURE)).unwrap();
    let truncated = tmp.write("truncated.pcap", &echo_bytes[..3000]);
    let bad_log = tmp.write(
        "bad-probe.log",
        br#"{"type":"attempt","probe":"alexa","attempt":1,"idle":[1573894023,1573894008],"window":[1573894024,1573894039]}
"#,
    );
    let no_attempts = tmp.write("no-attempts.log", b"{\"type\":\"session\"}\n");
    let log = tmp.write("probe.log", PROBE_LOG.as_bytes());
    let file_in_the_way = tmp.write("not-a-dir", b"");
    // Never the working directory (the shared captures) as output, even by mistake.
    let out = tmp.arg("x.pcap");
    let window = ["--device", ECHO, "--idle", "+0,+15", "--probe", "+18,+33"];
    let compare = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut a = vec!["compare"];
        a.extend(window);
        a.extend(extra);
        a
    };

    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("unknown-command", vec!["frobnicate"]),
        (
            "analyze-missing-file",
            vec!["analyze", "no-such-capture.pcap"],
        ),
        ("analyze-garbage-file", vec!["analyze", &garbage_file]),
        ("analyze-empty-file", vec!["analyze", &empty_file]),
        (
            "analyze-truncated-file",
            vec!["analyze", "--format", "csv", &truncated],
        ),
        (
            "analyze-no-section-header",
            vec![
                "analyze",
                "parse-robustness/rusticata-pcap-parser/err-eof.bin",
            ],
        ),
        ("analyze-window-negative", vec!["analyze", "--window", "-1"]),
        (
            "analyze-window-negative-equals",
            vec!["analyze", "--window=-1"],
        ),
        ("analyze-window-zero", vec!["analyze", "--window", "0"]),
        (
            "analyze-min-windows-zero",
            vec!["analyze", "--min-windows", "0"],
        ),
        ("analyze-bad-format", vec!["analyze", "--format", "xml"]),
        ("analyze-bad-preset", vec!["analyze", "--preset", "loud"]),
        ("analyze-stdin-twice", vec!["analyze", "-", "-"]),
        (
            "analyze-missing-names-file",
            vec!["analyze", "--names", "no-such-names.txt"],
        ),
        (
            "analyze-bad-probe-log",
            vec!["analyze", "--probe-log", &bad_log],
        ),
        (
            "analyze-probe-log-without-attempts",
            vec!["analyze", "--probe-log", &no_attempts],
        ),
        (
            "analyze-probe-log-missing",
            vec!["analyze", "--probe-log", "no-such.log"],
        ),
        (
            "analyze-probe-log-bad-p-threshold",
            vec!["analyze", "--probe-log", &log, "--p-threshold", "2"],
        ),
        (
            "analyze-probe-log-bad-decide-by",
            vec!["analyze", "--probe-log", &log, "--decide-by", "vote"],
        ),
        ("compare-missing-arguments", vec!["compare"]),
        ("compare-threshold-2", compare(&["--threshold", "2"])),
        (
            "compare-bad-device",
            vec![
                "compare", "--device", "kitchen", "--idle", "+0,+15", "--probe", "+18,+33",
            ],
        ),
        (
            "compare-window-backwards",
            vec![
                "compare", "--device", ECHO, "--idle", "15,0", "--probe", "+18,+33",
            ],
        ),
        ("evaluate-no-labels", vec!["evaluate"]),
        (
            "evaluate-name-without-counts",
            vec!["evaluate", "--labels-format", "filename", ECHO_CAPTURE],
        ),
        (
            "evaluate-ifttt-without-device-map",
            vec![
                "evaluate",
                "--labels-format",
                "ifttt",
                "--labels",
                "cameras/ifttt-events.csv",
            ],
        ),
        (
            "evaluate-bad-tolerance",
            vec![
                "evaluate",
                "--labels-format",
                "filename",
                HAIPENG,
                "--tolerance=-1",
            ],
        ),
        (
            "simulate-bad-duration",
            vec!["simulate", "--duration", "forever", "--out", &out],
        ),
        (
            "simulate-bad-devices",
            vec!["simulate", "--devices", "toaster", "--out", &out],
        ),
        (
            "simulate-unwritable",
            vec![
                "simulate",
                "--duration",
                "1m",
                "--out",
                "/nonexistent/dir/x.pcap",
            ],
        ),
        (
            "simulate-stdout-without-labels",
            vec!["simulate", "--duration", "1m", "--out", "-"],
        ),
        (
            "monitor-missing-replay-file",
            vec![
                "monitor",
                "--replay",
                "no-such-capture.pcap",
                "--data-dir",
                &file_in_the_way,
            ],
        ),
        (
            "monitor-bad-replay-speed",
            vec!["monitor", "--replay", ECHO_CAPTURE, "--replay-speed", "0"],
        ),
        (
            "monitor-missing-config",
            vec![
                "monitor",
                "--replay",
                ECHO_CAPTURE,
                "--config",
                "no-such.toml",
            ],
        ),
        (
            "devices-data-dir-is-a-file",
            vec!["devices", "--data-dir", &file_in_the_way],
        ),
        ("events-bad-since", vec!["events", "--since", "yesterday"]),
        ("name-bad-mac", vec!["name", "kitchen", "Kitchen Echo"]),
        (
            "probe-bad-allowed-hours",
            vec!["probe", "-i", "lo", "--allowed-hours", "25:00-26:00"],
        ),
        ("probe-bad-tts", vec!["probe", "-i", "lo", "--tts", "say"]),
        ("probe-missing-interface", vec!["probe"]),
        (
            "replay-loop-zero",
            vec!["replay", "-i", "lo", "--loop", "0", ECHO_CAPTURE],
        ),
        (
            "replay-speed-and-mbps",
            vec![
                "replay",
                "-i",
                "lo",
                "--speed",
                "2",
                "--mbps",
                "10",
                ECHO_CAPTURE,
            ],
        ),
        ("replay-no-files", vec!["replay", "-i", "lo"]),
    ];
    for (name, args) in &cases {
        check(&format!("error-{name}"), args);
    }
}
