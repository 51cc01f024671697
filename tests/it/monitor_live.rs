//! `leakypick monitor -i` end to end on a live interface: a real capture is replayed
//! (`leakypick replay`) from one test-made network namespace into another over a veth
//! pair, where the monitor captures with libpcap. The veth pair is then deleted and
//! re-created while the monitor runs, and a second replay must be detected too.
//!
//! Expected values: the Echo Dot's upload is at 20-26 s of the capture (6 one-second
//! windows, 224138 bytes; `scripts/reference_bursts.py --n 2`, see analyze.rs). Only
//! 15-31 s of the capture are replayed (cut with tshark), in real time, so the upload
//! starts ~5 s into each replay. Live timestamps carry the replay's jitter and windows
//! are aligned to the first live frame, so the numbers are checked with a tolerance.
//!
//! Needs root (namespaces, capture); fails, never skips, without it. Networks: only the
//! namespaces made here, joined by one veth pair, no addresses, no routes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{shared_capture, tshark};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const ECHO: &str = "68:db:f5:90:19:64";

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("`ip` (iproute2) is required by this test; scripts/test.sh installs it");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces and the veth pair between them; removed on drop (also on panic).
struct Net {
    a: String,
    b: String,
}

impl Net {
    fn new() -> Net {
        let uid = Command::new("id").arg("-u").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "this test needs root (network namespaces, live capture); run scripts/test.sh as root"
        );
        // Unique per test: tests of one process run in parallel.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        let net = Net {
            a: format!("lpkm{pid}n{n}a"),
            b: format!("lpkm{pid}n{n}b"),
        };
        ip(&["netns", "add", &net.a]);
        ip(&["netns", "add", &net.b]);
        net.link();
        net
    }

    /// Creates the veth pair `va` (in a) – `vb` (in b), up, IPv6 off (no chatter), with
    /// an MTU that fits the capture's largest frames (2974 bytes: offloaded segments).
    fn link(&self) {
        ip(&[
            "-n", &self.a, "link", "add", "va", "mtu", "9000", "type", "veth", "peer", "name",
            "vb", "mtu", "9000", "netns", &self.b,
        ]);
        for (ns, dev) in [(&self.a, "va"), (&self.b, "vb")] {
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw"])
                .arg(format!("net.ipv6.conf.{dev}.disable_ipv6=1"))
                .status();
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
    }

    fn unlink(&self) {
        ip(&["-n", &self.a, "link", "del", "va"]);
    }

    fn exec(&self, ns: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_leakypick")]);
        c
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Lines of a child's stream, as they come.
fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &Receiver<String>, what: &str, within: Duration, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(what) {
                    return line;
                }
            }
            Err(_) => panic!(
                "no line with {what:?} within {within:?}; seen:\n{}",
                seen.join("\n")
            ),
        }
    }
}

fn replay(net: &Net, file: &str) {
    let out = net
        .exec(&net.a)
        .args(["replay", "-i", "va", file, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Seconds 15-31 of the Echo Dot capture (its upload is at 20-26 s), cut with tshark.
fn cut_echo_upload(out: &std::path::Path) {
    tshark(&[
        "-r",
        shared_capture("smart-speakers/echodot3a_active.pcap")
            .to_str()
            .unwrap(),
        "-Y",
        "frame.time_relative >= 15 && frame.time_relative <= 31",
        "-F",
        "pcap",
        "-w",
        out.to_str().unwrap(),
    ]);
}

struct Monitor(Child);

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn live_monitor_detects_replayed_uploads_and_survives_the_interface_going_away() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("echo-15-31s.pcap");
    cut_echo_upload(&cut);
    let cut = cut.to_str().unwrap();
    let data = dir.path().join("history");
    let net = Net::new();
    let mut child = net
        .exec(&net.b)
        .args(["monitor", "-i", "vb", "--format", "json", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    let mut monitor = Monitor(child);
    let mut log = Vec::new();
    wait_for(&err, "monitoring vb", Duration::from_secs(20), &mut log);

    let mut events = Vec::new();
    for round in 0..2 {
        if round == 1 {
            // Unplug: the interface disappears under the running capture, comes back.
            net.unlink();
            wait_for(&err, "interrupted", Duration::from_secs(20), &mut log);
            std::thread::sleep(Duration::from_secs(2));
            net.link();
            wait_for(&err, "resumed", Duration::from_secs(30), &mut log);
        }
        replay(&net, cut);
        // The burst ends while the network is silent: the monitor's clock closes it.
        for kind in ["\"started\"", "\"ended\""] {
            let line = wait_for(&out, kind, Duration::from_secs(30), &mut events);
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["mac"], ECHO, "{line}");
        }
    }
    let detections: Vec<Value> = events
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        detections.len(),
        4,
        "only the Echo's two uploads: {events:?}"
    );
    for ended in detections.iter().filter(|v| v["event"] == "ended") {
        let secs = ended["end"].as_f64().unwrap() - ended["start"].as_f64().unwrap();
        assert!((5.0..=7.0).contains(&secs), "about 6 s: {ended}");
        let bytes = ended["bytes"].as_f64().unwrap();
        assert!(
            (bytes - 224138.0).abs() < 0.05 * 224138.0,
            "about 224138 bytes: {ended}"
        );
    }

    // SIGTERM: clean stop with the drop counters reported, history readable.
    let pid = monitor.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = monitor.0.wait().unwrap();
    let rest: Vec<String> = err.try_iter().collect();
    log.extend(rest);
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    let text = log.join("\n");
    assert!(
        text.contains("stopped:") && text.contains("kernel dropped 0"),
        "{text}"
    );
    let stored = Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args(["events", "--format", "json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let stored = String::from_utf8_lossy(&stored.stdout);
    assert_eq!(stored.lines().count(), 2, "{stored}");
    assert!(stored.lines().all(|l| l.contains(ECHO)));
}

/// Least privilege: the monitor captures as an unprivileged user when the binary has
/// the two file capabilities, and without them says which command grants them.
#[test]
fn monitor_runs_unprivileged_with_file_capabilities() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let plain = dir.path().join("leakypick-plain");
    let capped = dir.path().join("leakypick");
    std::fs::copy(env!("CARGO_BIN_EXE_leakypick"), &plain).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_leakypick"), &capped).unwrap();
    let setcap = Command::new("setcap")
        .args(["cap_net_raw,cap_net_admin+ep"])
        .arg(&capped)
        .output()
        .expect("setcap (libcap2-bin) is required by this test; scripts/test.sh installs it");
    assert!(
        setcap.status.success(),
        "{}",
        String::from_utf8_lossy(&setcap.stderr)
    );
    let data = dir.path().join("history");
    std::fs::create_dir(&data).unwrap();
    let chown = Command::new("chown")
        .arg("65534:65534")
        .arg(&data)
        .status()
        .unwrap();
    assert!(chown.success());
    let net = Net::new();
    let as_nobody = |bin: &std::path::Path| {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &net.b,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(bin)
        .args(["monitor", "-i", "vb", "--format", "json", "--data-dir"])
        .arg(&data);
        c
    };

    // Without the capabilities: a clear error with the exact command, nothing stored.
    let out = as_nobody(&plain).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("setcap cap_net_raw,cap_net_admin+ep"), "{err}");
    assert!(err.contains("leakypick-plain"), "names this binary: {err}");
    assert!(!data.join("leakypick.sqlite3").exists());

    // With them: it captures and detects, as uid 65534.
    let mut child = as_nobody(&capped)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    let mut monitor = Monitor(child);
    let mut log = Vec::new();
    wait_for(&err, "monitoring vb", Duration::from_secs(20), &mut log);
    let cut = dir.path().join("echo-15-31s.pcap");
    cut_echo_upload(&cut);
    replay(&net, cut.to_str().unwrap());
    let mut events = Vec::new();
    let line = wait_for(&out, "\"started\"", Duration::from_secs(30), &mut events);
    assert!(line.contains(ECHO), "{line}");
    let pid = monitor.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(monitor.0.wait().unwrap().success());
    // The history belongs to the unprivileged user.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(data.join("leakypick.sqlite3"))
            .unwrap()
            .uid(),
        65534
    );
}
