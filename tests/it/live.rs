//! Live capture on veth pairs in test-made network namespaces (feature `live`).
//!
//! Every test makes its own two namespaces (`lpkt<pid><tag>a` and `...b`) joined by a veth
//! pair (`lpka` in A, `lpkb` in B; IPv6 off so the kernels send nothing of their own, no
//! addresses, no routes) and deletes them when it ends, also when it fails. The code under
//! test runs inside the namespaces: the `leakypick` binary through `ip netns exec`, and
//! [`LiveSource`](leakypick_app::monitor::live::LiveSource) in the helper program
//! `examples/live_helper.rs` (not a test: built by `cargo test --features live`, found by
//! [`util::helper_program`]), started inside a namespace with the name and parameters of
//! one of its helpers in `LEAKYPICK_LIVE_TEST_INNER`.
//!
//! They need root and `ip` (iproute2); tshark gives the expected numbers. Without them
//! they FAIL: a skipped test would let CI pass without checking anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{self, Run};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Echo Dot of the bundled sample.
const ECHO: &str = "68:db:f5:90:19:64";
/// Carries the name and parameters of a helper of `examples/live_helper.rs` (JSON).
const INNER_ENV: &str = "LEAKYPICK_LIVE_TEST_INNER";
const IFACE_A: &str = "lpka";
const IFACE_B: &str = "lpkb";

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/samples/echodot3a_active.pcap")
}

fn leakypick_bin() -> &'static str {
    env!("CARGO_BIN_EXE_leakypick")
}

/// The helper program that runs [`LiveSource`](leakypick_app::monitor::live::LiveSource)
/// inside the namespaces.
fn live_helper() -> PathBuf {
    util::helper_program("live_helper")
}

/// Runs a command and asserts it succeeded.
fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (these tests need iproute2): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_root() {
    let uid = sh("id", &["-u"]);
    assert_eq!(
        uid.trim(),
        "0",
        "the live-capture tests need root (they create network namespaces)"
    );
    // `ip` must be there too: fail here rather than half-way.
    sh("ip", &["-V"]);
}

/// Two namespaces joined by a veth pair; deleted on drop (also on panic).
struct Net {
    a: String,
    b: String,
}

impl Net {
    fn new(tag: &str) -> Net {
        assert_root();
        let pid = std::process::id();
        let net = Net {
            a: format!("lpkt{pid}{tag}a"),
            b: format!("lpkt{pid}{tag}b"),
        };
        for ns in [&net.a, &net.b] {
            // A namespace left over from a killed run of the same pid is replaced.
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            sh("ip", &["netns", "add", ns]);
            sh(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            );
        }
        net.add_link();
        net
    }

    /// Creates the veth pair (MTU 9000: the sample holds frames of up to 2974 bytes, as
    /// captured with segmentation offload) and brings both ends up.
    fn add_link(&self) {
        sh(
            "ip",
            &[
                "-n", &self.a, "link", "add", IFACE_A, "mtu", "9000", "type", "veth", "peer",
                "name", IFACE_B, "netns", &self.b, "mtu", "9000",
            ],
        );
        sh("ip", &["-n", &self.a, "link", "set", IFACE_A, "up"]);
        sh("ip", &["-n", &self.b, "link", "set", IFACE_B, "up"]);
    }

    /// Deletes the veth pair (both ends go).
    fn del_link(&self) {
        sh("ip", &["-n", &self.a, "link", "del", IFACE_A]);
    }

    /// `leakypick ARGS` inside namespace `ns`.
    fn leakypick(&self, ns: &str, args: &[&str]) -> Run {
        self.leakypick_as(ns, &[], args)
    }

    /// `leakypick ARGS` inside `ns`, run through `prefix` (e.g. setpriv).
    fn leakypick_as(&self, ns: &str, prefix: &[&str], args: &[&str]) -> Run {
        let out = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(prefix)
            .arg(leakypick_bin())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec: {e}"));
        Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts the helper program `live_helper` inside `ns` (through `prefix`, e.g.
    /// setpriv), running its helper `inner` with `params`.
    fn spawn_inner(&self, ns: &str, prefix: &[&str], inner: &str, params: &Value) -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(prefix)
            .arg(live_helper())
            .env(
                INNER_ENV,
                json!({"helper": inner, "params": params}).to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the helper {inner}: {e}"))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Waits for a child and asserts it succeeded; returns its output.
fn finish(child: Child, what: &str) -> String {
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{text}",
        out.status
    );
    text
}

/// Polls `path` (JSON written atomically by a helper) until `ok` holds.
fn wait_for(path: &Path, what: &str, timeout: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < timeout {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                if ok(&v) {
                    return v;
                }
                last = v;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}; last status: {last}");
}

/// Frame lengths of a capture, by tshark (optionally only frames matching a display filter).
fn tshark_lengths(file: &Path, display_filter: Option<&str>) -> Vec<u64> {
    let f = file.to_str().unwrap();
    let mut args = vec!["-r", f];
    if let Some(d) = display_filter {
        args.extend(["-Y", d]);
    }
    args.extend(["-T", "fields", "-e", "frame.len"]);
    util::tshark(&args)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn lengths(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// The tests.

/// The files of one run of the `capture` helper: its status (progress), the stop file
/// the test creates, and its result.
struct Inner {
    dir: tempfile::TempDir,
}

impl Inner {
    fn new() -> Inner {
        let dir = tempfile::tempdir().unwrap();
        Inner { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn params(&self, iface: &str, filter: Option<&str>, expect: usize, immediate: bool) -> Value {
        json!({
            "iface": iface,
            "filter": filter,
            "expect": expect,
            "immediate": immediate,
            "buffer": 32 * 1024 * 1024,
            "status": self.path("status.json"),
            "stop": self.path("stop"),
            "result": self.path("result.json"),
        })
    }
    fn status(&self) -> PathBuf {
        self.path("status.json")
    }
    fn stop(&self) {
        std::fs::write(self.path("stop"), b"stop").unwrap();
    }
    fn result(&self) -> Value {
        let text = std::fs::read_to_string(self.path("result.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Without its environment variable the helper program does nothing: it says what it is
/// and exits with status 2 (so it never passes for a test that checked something).
#[test]
fn the_helper_program_does_nothing_on_its_own() {
    let out = Command::new(live_helper())
        .env_remove(INNER_ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("helper program") && stderr.contains(INNER_ENV),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// A capture on a silent interface stays responsive: `pull` returns `Idle` every poll
/// interval instead of blocking until the next frame.
#[test]
fn silent_interface_gives_idle_within_the_poll_interval() {
    let net = Net::new("i");
    let child = net.spawn_inner(&net.b, &[], "idle", &json!({ "iface": IFACE_B }));
    finish(child, "the idle checks in namespace B");
}

/// The real Echo Dot capture, sent at top speed from namespace A, arrives in namespace B
/// frame for frame: the same count, the same wire lengths in the same order (tshark's),
/// no kernel drops, plausible kernel timestamps.
#[test]
fn replay_at_top_speed_is_captured_frame_for_frame() {
    let net = Net::new("r");
    let sample = sample_path();
    let expected = tshark_lengths(&sample, None);
    assert_eq!(expected.len(), 2778, "the bundled sample changed");
    let inner = Inner::new();
    let child = net.spawn_inner(
        &net.b,
        &[],
        "capture",
        &inner.params(IFACE_B, None, expected.len(), false),
    );
    wait_for(
        &inner.status(),
        "the capture to open",
        Duration::from_secs(20),
        |v| v["ready"] == true,
    );

    let run = net.leakypick(
        &net.a,
        &[
            "replay",
            "-i",
            IFACE_A,
            sample.to_str().unwrap(),
            "--top-speed",
            "--format",
            "json",
        ],
    );
    let summary = &run.json()[0];
    assert_eq!(summary["type"], "replay");
    assert_eq!(summary["frames"], expected.len());
    assert_eq!(summary["bytes"], expected.iter().sum::<u64>());
    assert_eq!(summary["failed"], 0);
    eprintln!("replay: {summary}");
    inner.stop();
    let log = finish(child, "the capture in namespace B");

    let r = inner.result();
    assert_eq!(r["errors"], json!([]), "{log}");
    let got = lengths(&r["lengths"]);
    assert_eq!(got.len(), expected.len(), "frames captured");
    assert_eq!(got, expected, "wire lengths, in order");
    assert_eq!(
        got.iter().sum::<u64>(),
        expected.iter().sum::<u64>(),
        "bytes"
    );
    assert_eq!(r["caplens_ok"], true);
    assert_eq!(r["dropped_kernel"], 0, "kernel drops: {r}");
    assert!(
        r["received"].as_u64().unwrap() >= expected.len() as u64,
        "received: {r}"
    );
    assert_eq!(r["outages"], 0);
    // Kernel timestamps: in order, on the wall clock (nanoseconds since the epoch),
    // after the capture opened and within the (short) replay.
    assert_eq!(r["ts_sorted"], true);
    let opened = r["opened_at"].as_i64().unwrap();
    let first = r["first_ts"].as_i64().unwrap();
    let last = r["last_ts"].as_i64().unwrap();
    assert!(
        first >= opened - 1_000_000_000,
        "first {first} opened {opened}"
    );
    assert!(
        first - opened < 30_000_000_000,
        "first {first} opened {opened}"
    );
    assert!(
        last - first < 10_000_000_000,
        "a top-speed replay spans {} ns",
        last - first
    );
}

/// The interface is deleted during a capture and created again 2 s later: the source
/// never fails, counts one outage, logs a warning and the resumption, and captures what
/// is sent after the new link is up (with a BPF filter on the Echo's MAC).
#[test]
fn capture_survives_the_interface_going_away() {
    let net = Net::new("o");
    let sample = sample_path();
    let filter = format!("ether src {ECHO}");
    let expected = tshark_lengths(&sample, Some(&format!("eth.src == {ECHO}")));
    assert_eq!(expected.len(), 1365, "the bundled sample changed");
    let inner = Inner::new();
    let child = net.spawn_inner(
        &net.b,
        &[],
        "capture",
        &inner.params(IFACE_B, Some(&filter), 2 * expected.len(), true),
    );
    wait_for(
        &inner.status(),
        "the capture to open",
        Duration::from_secs(20),
        |v| v["ready"] == true,
    );
    let replay = |net: &Net| {
        let run = net.leakypick(
            &net.a,
            &[
                "replay",
                "-i",
                IFACE_A,
                sample.to_str().unwrap(),
                "--speed",
                "20",
                "--format",
                "json",
            ],
        );
        assert_eq!(run.json()[0]["failed"], 0, "{}", run.stderr);
    };
    replay(&net);
    let n = expected.len();
    wait_for(
        &inner.status(),
        "the first replay",
        Duration::from_secs(20),
        |v| v["frames"] == n,
    );

    net.del_link();
    wait_for(
        &inner.status(),
        "the outage to be noticed",
        Duration::from_secs(10),
        |v| v["outages"] == 1 && v["down"] == true,
    );
    std::thread::sleep(Duration::from_secs(2));
    net.add_link();
    wait_for(
        &inner.status(),
        "the capture to resume",
        Duration::from_secs(30),
        |v| v["down"] == false,
    );
    replay(&net);
    wait_for(
        &inner.status(),
        "the second replay",
        Duration::from_secs(20),
        |v| v["frames"] == 2 * n,
    );
    inner.stop();
    let log = finish(child, "the capture in namespace B");

    let r = inner.result();
    assert_eq!(r["errors"], json!([]), "the source must never fail: {log}");
    assert_eq!(r["outages"], 1, "{log}");
    assert_eq!(r["before_outage"], n, "frames before the outage");
    let got = lengths(&r["lengths"]);
    assert_eq!(got[..n], expected[..], "frames before the outage");
    assert_eq!(
        got[n..],
        expected[..],
        "frames after the interface came back"
    );
    assert!(r["idles"].as_u64().unwrap() > 0);
    let logs: Vec<String> = r["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    eprintln!("the capture logged: {logs:#?}");
    let warnings: Vec<&String> = logs
        .iter()
        .filter(|l| l.starts_with("WARN") && l.contains(IFACE_B))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning for the outage: {logs:?}");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("INFO") && l.contains("resumed after")),
        "{logs:?}"
    );
    assert_eq!(r["dropped_kernel"], 0, "kernel drops: {r}");
    // The counters add up over both handles (the reopened one starts from zero).
    assert!(
        r["received"].as_u64().unwrap() >= 2 * n as u64,
        "received over both handles: {r}"
    );
}

/// Without capture rights (uid 65534, no capabilities) both the capture and `leakypick
/// replay` fail with the exact setcap command for the program.
#[test]
fn no_permission_names_the_setcap_command() {
    let net = Net::new("p");
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let child = net.spawn_inner(&net.a, &nobody, "no_permission", &json!({}));
    let out = finish(child, "opening a capture as an unprivileged user");
    // The running program is the helper: the hint names its path.
    let helper = live_helper().canonicalize().unwrap();
    assert!(
        out.contains(&format!(
            "sudo setcap cap_net_raw,cap_net_admin+ep {}",
            helper.display()
        )),
        "{out}"
    );

    let sample = sample_path();
    let run = net.leakypick_as(
        &net.a,
        &nobody,
        &["replay", "-i", "lo", sample.to_str().unwrap()],
    );
    let err = run.fails();
    let exe = Path::new(leakypick_bin()).canonicalize().unwrap();
    assert!(
        err.contains(&format!(
            "sudo setcap cap_net_raw,cap_net_admin+ep {}",
            exe.display()
        )),
        "{err}"
    );
    assert!(err.contains("lo: no permission to capture"), "{err}");
}

/// A missing interface is named and the existing ones listed; a bad filter is named with
/// libpcap's message; monitor mode on a veth is refused; a capture of another link type
/// is refused by replay; bad pacing options are refused.
#[test]
fn startup_errors_are_explained() {
    let net = Net::new("e");
    let child = net.spawn_inner(&net.a, &[], "open_errors", &json!({ "iface": IFACE_A }));
    finish(child, "the startup-error checks");

    let sample = sample_path();
    let s = sample.to_str().unwrap();
    let err = net
        .leakypick(&net.a, &["replay", "-i", "lpknosuch0", s])
        .fails()
        .to_string();
    assert!(err.contains("no such interface 'lpknosuch0'"), "{err}");
    assert!(
        err.contains("available interfaces:") && err.contains(IFACE_A),
        "{err}"
    );

    let wifi = util::shared_capture("parse-robustness/tcpdump-tests/ieee802.11_exthdr.pcap");
    let run = net.leakypick(
        &net.a,
        &["replay", "-i", IFACE_A, s, wifi.to_str().unwrap()],
    );
    let err = run.fails();
    assert!(err.contains("ieee802.11_exthdr.pcap"), "{err}");
    assert!(err.contains("cannot be replayed"), "{err}");
    assert!(
        err.contains("(127)") && err.contains("(1)"),
        "link types: {err}"
    );
    // Refused before anything was sent: the sample (first) was not replayed.
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    let err = net
        .leakypick(&net.a, &["replay", "-i", IFACE_A, s, "--speed", "0"])
        .fails()
        .to_string();
    assert!(err.contains("speed 0"), "{err}");
    let err = net
        .leakypick(&net.a, &["replay", "-i", IFACE_A, s, "--loop", "0"])
        .fails()
        .to_string();
    assert!(err.contains("--loop"), "{err}");
}

/// Writes a classic pcap of `n` broadcast Ethernet frames of `len` bytes, `gap_us` apart.
fn write_pcap(path: &Path, n: u32, len: usize, gap_us: u64) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    let t0: u64 = 1_700_000_000_000_000;
    for i in 0..n {
        let t = t0 + u64::from(i) * gap_us;
        out.extend_from_slice(&u32::try_from(t / 1_000_000).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(t % 1_000_000).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(len).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(len).unwrap().to_le_bytes());
        let mut frame = vec![0u8; len];
        frame[..6].copy_from_slice(&[0xff; 6]);
        frame[6..12].copy_from_slice(&[0x02, 0x6c, 0x70, 0x6b, 0x74, 0x01]);
        frame[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental ethertype
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).unwrap();
}

/// Replay paces frames: 3 s of recorded capture take about 3 s at speed 1 and about 1 s
/// at speed 3; 1 Mbit at --mbps 1 takes about 1 s; --loop repeats. Loose bounds (±50%):
/// this checks the pacing exists and is about right, not the scheduler's precision.
#[test]
fn replay_paces_like_the_recording() {
    let net = Net::new("d");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("three_seconds.pcap");
    write_pcap(&file, 31, 100, 100_000); // 0.0 .. 3.0 s
    let f = file.to_str().unwrap();
    let timed = |args: &[&str]| -> (f64, Value) {
        let mut all = vec!["replay", "-i", IFACE_A, "--format", "json"];
        all.extend_from_slice(args);
        let start = Instant::now();
        let run = net.leakypick(&net.a, &all);
        let v = run.json()[0].clone();
        (start.elapsed().as_secs_f64(), v)
    };

    let (wall, s) = timed(&[f]);
    assert_eq!(s["frames"], 31);
    let secs = s["seconds"].as_f64().unwrap();
    assert!(
        (1.5..4.5).contains(&secs),
        "speed 1: {secs} s for 3 s recorded"
    );
    assert!(wall >= 1.5, "speed 1 took {wall} s");

    let (_, s) = timed(&[f, "--speed", "3"]);
    let fast = s["seconds"].as_f64().unwrap();
    assert!(
        (0.5..1.5).contains(&fast),
        "speed 3: {fast} s for 3 s recorded"
    );

    let mbit = dir.path().join("one_megabit.pcap");
    write_pcap(&mbit, 101, 1250, 1); // 100 gaps of 10 000 bits at 1 Mbit/s = 1 s
    let (_, s) = timed(&[mbit.to_str().unwrap(), "--mbps", "1"]);
    let secs = s["seconds"].as_f64().unwrap();
    assert!((0.5..1.5).contains(&secs), "--mbps 1: {secs} s for 1 Mbit");
    let rate = s["mbps"].as_f64().unwrap();
    assert!((0.6..1.6).contains(&rate), "achieved {rate} Mbit/s");

    let (_, s) = timed(&[f, "--top-speed", "--loop", "3"]);
    assert_eq!(s["frames"], 93);
    assert_eq!(s["loops"], 3);
    assert!(s["seconds"].as_f64().unwrap() < 1.0, "top speed: {s}");
}

/// Without the `live` feature, `replay` says how to get it (checked in `--help` here:
/// this module only builds with the feature; the message itself is in src/main.rs).
#[test]
fn replay_is_in_the_help() {
    let run = util::leakypick(["--help"]);
    assert!(run.ok().contains("replay"), "{}", run.stdout);
    let run = util::leakypick(["replay", "--help"]);
    let help = run.ok();
    for opt in [
        "--interface",
        "--speed",
        "--mbps",
        "--top-speed",
        "--loop",
        "--format",
    ] {
        assert!(help.contains(opt), "{opt} missing from:\n{help}");
    }
}
