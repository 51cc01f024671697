//! The testbed end to end (issue 4): an emulated home in network namespaces whose devices
//! really listen (`testbed/testbed.py`, `testbed/device.py`). The test brings it up, speaks
//! "Alexa" and a neutral word into the room, captures on the gateway, and checks FROM THE
//! CAPTURE, with the built `leakypick analyze`, that only the right devices uploaded.
//!
//! It needs root (network namespaces) and the packages `scripts/test.sh` installs
//! (iproute2, pulseaudio, pulseaudio-utils, flite, tcpdump, openssl, pocketsphinx). Without
//! them it FAILS: a skipped test would let CI pass without checking anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::of_type;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub(crate) const ASSISTANT: &str = "68:db:f5:77:00:01";
pub(crate) const MUTED: &str = "68:db:f5:77:00:02";
pub(crate) const HUB: &str = "02:6c:70:77:00:03";
pub(crate) const PLUG: &str = "02:6c:70:77:00:04";

/// The home under test: an assistant, a muted assistant, a sound-triggered hub (the
/// control: it reacts to any sound, so it proves each probe was really played and heard)
/// and a plug.
pub(crate) const CONFIG: &str = r#"
[defaults]
bitrate = 88000
frame = 491
tail = 1.5
preroll = 0.0

[[device]]
name = "echo1"
kind = "assistant"
wake_word = "alexa"
mac = "68:db:f5:77:00:01"

[[device]]
name = "echo_muted"
kind = "muted"
wake_word = "alexa"
mac = "68:db:f5:77:00:02"

[[device]]
name = "hub"
kind = "sound"
mac = "02:6c:70:77:00:03"

[[device]]
name = "plug"
kind = "plug"
mac = "02:6c:70:77:00:04"
"#;

/// Seconds left after each probe for the device to spot the word and finish its upload
/// (speech + 1.5 s tail, at 88 kbit/s).
const AFTER_PROBE: Duration = Duration::from_secs(10);

pub(crate) fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testbed/testbed.py")
}

pub(crate) fn python() -> String {
    std::env::var("LEAKYPICK_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// A running testbed in its own state directory and namespace prefix; dropping it
/// (also when an assertion fails) runs `down`.
pub(crate) struct Testbed {
    pub(crate) state: tempfile::TempDir,
    pub(crate) prefix: String,
}

impl Testbed {
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let state = self.state.path().to_str().unwrap();
        Command::new(python())
            .arg(script())
            .args(args)
            .args(["--state", state, "--prefix", &self.prefix])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python(), script().display()))
    }

    /// Runs a testbed command, asserts success and returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "testbed.py {args:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Speaks `word` into the room; returns (start, end) of the playback, epoch seconds.
    fn play(&self, word: &str) -> (f64, f64) {
        let out = self.ok(&["play", word]);
        let rec: Value = serde_json::from_str(out.trim()).unwrap();
        (rec["t"].as_f64().unwrap(), rec["t_end"].as_f64().unwrap())
    }

    pub(crate) fn state(&self) -> &Path {
        self.state.path()
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let out = self.run(&["down"]);
        if !out.status.success() {
            eprintln!(
                "testbed down failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn namespaces_with_prefix(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|ns| ns.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

fn bursts_of<'a>(records: &'a [Value], mac: &str) -> Vec<&'a Value> {
    of_type(records, "burst")
        .into_iter()
        .filter(|b| b["mac"] == mac)
        .collect()
}

fn describe(bursts: &[&Value]) -> String {
    bursts
        .iter()
        .map(|b| format!("{}..{} {} B", b["start"], b["end"], b["bytes"]))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn testbed_only_the_assistant_uploads_after_its_wake_word() {
    let tb = Testbed {
        state: tempfile::Builder::new()
            .prefix("lpk-testbed-")
            .tempdir()
            .unwrap(),
        prefix: format!("lpk-t{}-", std::process::id()),
    };
    // Root, the tools and the Python packages: missing ones fail the test, by name.
    let check = tb.run(&["check"]);
    assert!(
        check.status.success(),
        "the testbed cannot run here (scripts/test.sh installs what it needs; CI runs as root):\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let config = tb.state().join("home.toml");
    std::fs::write(&config, CONFIG).unwrap();
    tb.ok(&["up", "--config", config.to_str().unwrap()]);
    std::thread::sleep(Duration::from_secs(3)); // idle traffic before the first probe

    let alexa = tb.play("Alexa");
    std::thread::sleep(AFTER_PROBE);
    let major = tb.play("major");
    std::thread::sleep(AFTER_PROBE);
    tb.ok(&["stop-capture"]);

    // Everything below is read from the gateway capture by leakypick itself.
    let pcap = tb.state().join("gateway.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .arg("analyze")
        .arg(&pcap)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "leakypick analyze failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let devices: Vec<&str> = of_type(&records, "device")
        .iter()
        .filter_map(|d| d["mac"].as_str())
        .collect();
    for mac in [ASSISTANT, MUTED, HUB, PLUG] {
        assert!(
            devices.contains(&mac),
            "device {mac} not in the capture: {devices:?}"
        );
    }
    let logs = || {
        std::fs::read_dir(tb.state().join("devices"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| {
                        format!(
                            "--- {}\n{}",
                            e.path().display(),
                            std::fs::read_to_string(e.path()).unwrap_or_default()
                        )
                    })
                    .collect::<String>()
            })
            .unwrap_or_default()
    };

    // A burst's start is the start of its first 1 s window, so up to one window before
    // the upload began, and the upload begins after the word was played.
    let window = 1.0;
    let after = |b: &&Value, (start, end): (f64, f64)| {
        let t = b["start"].as_f64().unwrap();
        t >= start - window - 0.5 && t <= end + AFTER_PROBE.as_secs_f64()
    };

    let assistant = bursts_of(&records, ASSISTANT);
    assert!(
        assistant.iter().any(|b| after(b, alexa)),
        "no upload burst from the assistant after \"Alexa\" at {alexa:?}; its bursts: [{}]\n{}",
        describe(&assistant),
        logs()
    );
    assert!(
        !assistant
            .iter()
            .any(|b| b["start"].as_f64().unwrap() >= major.0 - window - 0.5),
        "the assistant uploaded after the neutral word at {major:?}: [{}]\n{}",
        describe(&assistant),
        logs()
    );
    let hub = bursts_of(&records, HUB);
    assert!(
        hub.iter().any(|b| after(b, major)),
        "control: the sound-triggered hub did not upload after \"major\" at {major:?} \
         (was the word played?): [{}]\n{}",
        describe(&hub),
        logs()
    );
    for (mac, what) in [(MUTED, "muted assistant"), (PLUG, "plug")] {
        let b = bursts_of(&records, mac);
        assert!(
            b.is_empty(),
            "the {what} ({mac}) uploaded: [{}]\n{}",
            describe(&b),
            logs()
        );
    }

    // Down removes everything; the guard's own down afterwards is then a no-op.
    tb.ok(&["down"]);
    let left = namespaces_with_prefix(&tb.prefix);
    assert!(left.is_empty(), "namespaces left after down: {left:?}");
    let state = tb.state().to_str().unwrap().to_string() + "/";
    let procs: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&state))
        .collect();
    assert!(procs.is_empty(), "processes left after down: {procs:?}");
}
