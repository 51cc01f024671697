//! Regression tests for data-loss paths, each written to fail on the code that had the
//! bug:
//!
//! - `simulate` given one file for `--out` and `--labels` (also spelled differently, or
//!   through a symbolic or hard link) destroyed it; a failed run (an output that is a
//!   directory, a directory that cannot hold the labels, a start time pcap cannot store,
//!   a full disk, a stop signal) left `*.partial` files behind. Now the directory holds
//!   exactly what it held before.
//! - `monitor --replay` ignored `--filter` (an invalid filter exited 0) and said nothing
//!   about a capture that breaks off, where `analyze` warns.
//! - the example config, copied as the README says, posted alerts to example.com with a
//!   placeholder token; now its alerts are off, and a placeholder URL or token is
//!   refused at load, naming the file, line and key.
//! - `monitor --replay` of a capture that is missing or not a capture: a clear error,
//!   and no history created.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{leakypick, shared_capture, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// ---------------------------------------------------------------------------------
// Helpers

/// Everything under `dir`: each path (relative) with its size and a hash of its bytes, a symbolic link's
/// target, or a directory marker. Two equal snapshots: nothing was added, removed or
/// changed.
fn contents(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("symlink to {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, "directory".to_string());
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                let mut h = std::hash::DefaultHasher::new();
                std::hash::Hash::hash(&bytes, &mut h);
                let hash = std::hash::Hasher::finish(&h);
                out.insert(rel, format!("{} bytes, hash {hash:016x}", bytes.len()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs the binary in `cwd` (so that relative paths mean what a user's would).
fn leakypick_in(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A short simulation: a few minutes of one Echo, some activations.
const SIM: [&str; 7] = [
    "simulate",
    "--devices",
    "echo@30/h,plug",
    "--duration",
    "10m",
    "--seed",
    "1",
];

/// A directory with an existing capture and labels file whose bytes must survive.
fn home_with_old_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cap.pcap"), b"the user's old capture").unwrap();
    std::fs::write(dir.path().join("cap.labels.csv"), b"the user's old labels").unwrap();
    dir
}

fn echo_capture() -> String {
    shared_capture("smart-speakers/echodot3a_active.pcap")
        .to_str()
        .unwrap()
        .to_string()
}

/// The events a replay printed with `--format json`.
fn events(run: &Run) -> Vec<String> {
    run.ok()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                v["event"].as_str().unwrap(),
                v["mac"].as_str().unwrap()
            )
        })
        .collect()
}

/// The frame count of the monitor's closing log line (`stopped: N frames, ...`).
fn frames_seen(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("stopped: "))
        .unwrap_or_else(|| panic!("no 'stopped' line in:\n{stderr}"));
    let n = line.split("stopped: ").nth(1).unwrap();
    n.split(' ').next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------
// 4. simulate: one file for --out and --labels; cleaning up after every failure

#[test]
fn simulate_refuses_one_file_for_out_and_labels_and_keeps_it() {
    let dir = home_with_old_files();
    let d = dir.path();
    std::os::unix::fs::symlink("cap.pcap", d.join("link.pcap")).unwrap();
    std::fs::hard_link(d.join("cap.pcap"), d.join("hard.pcap")).unwrap();
    let before = contents(d);
    let cases: [(&str, &str); 6] = [
        ("cap.pcap", "cap.pcap"),
        ("cap.pcap", "./cap.pcap"),
        ("./cap.pcap", "../{dir}/cap.pcap"),
        ("cap.pcap", "link.pcap"),
        ("link.pcap", "cap.pcap"),
        ("cap.pcap", "hard.pcap"),
    ];
    let dir_name = d.file_name().unwrap().to_str().unwrap();
    for (out, labels) in cases {
        let labels = labels.replace("{dir}", dir_name);
        let mut args = SIM.to_vec();
        args.extend(["--out", out, "--labels", &labels]);
        let run = leakypick_in(d, &args);
        let err = run.fails();
        assert!(
            err.contains("--out") && err.contains("--labels") && err.contains("same file"),
            "--out {out} --labels {labels}: {err}"
        );
        assert_eq!(
            contents(d),
            before,
            "--out {out} --labels {labels} changed the directory"
        );
    }
    // Two different files are fine.
    let mut args = SIM.to_vec();
    args.extend(["--out", "new.pcap", "--labels", "new.csv"]);
    leakypick_in(d, &args).ok();
    assert_eq!(
        std::fs::read(d.join("cap.pcap")).unwrap(),
        b"the user's old capture"
    );
}

#[test]
fn simulate_failures_leave_the_directory_as_it_was() {
    let dir = home_with_old_files();
    let d = dir.path();
    std::fs::create_dir(d.join("subdir")).unwrap();
    std::fs::write(d.join("subdir/keep.txt"), b"keep").unwrap();
    let before = contents(d);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        // The capture named as a directory; its default labels file beside it.
        ("a directory", vec!["--out", "subdir"]),
        ("a directory with a slash", vec!["--out", "subdir/"]),
        // The labels into a directory that cannot hold them (it does not exist; a
        // file stands where its directory should be): the capture is created first?
        // No matter the order, nothing stays.
        (
            "labels in a missing directory",
            vec!["--out", "cap.pcap", "--labels", "missing/cap.csv"],
        ),
        (
            "labels under a file",
            vec!["--out", "cap.pcap", "--labels", "cap.labels.csv/x.csv"],
        ),
        // The capture into a directory that cannot hold it, after the labels file
        // was created.
        (
            "capture in a missing directory",
            vec!["--out", "missing/cap.pcap", "--labels", "cap.labels.csv"],
        ),
        (
            "capture under a file",
            vec!["--out", "cap.pcap/x.pcap", "--labels", "cap.labels.csv"],
        ),
        // A start time that parses but that classic pcap cannot store: found after
        // both files were created.
        (
            "a start pcap cannot store",
            vec!["--out", "cap.pcap", "--start", "2106-03-01T00:00:00Z"],
        ),
        (
            "a zero snap length",
            vec!["--out", "cap.pcap", "--snaplen", "0"],
        ),
    ];
    for (what, extra) in cases {
        let mut args = SIM.to_vec();
        args.extend(extra.iter().copied());
        let run = leakypick_in(d, &args);
        run.fails();
        assert_eq!(contents(d), before, "{what}: the directory changed");
    }
}

/// A full disk: the file-size limit (`ulimit -f`, with SIGXFSZ ignored so that writes
/// fail with EFBIG as they would with ENOSPC) stops the capture part way.
#[test]
fn simulate_on_a_full_disk_leaves_the_directory_as_it_was() {
    let dir = home_with_old_files();
    let d = dir.path();
    let before = contents(d);
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 64; exec "$@""#)
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_leakypick"))
        .args([
            "simulate",
            "--devices",
            "echo:2@6/h,camera,hub",
            "--duration",
            "2h",
            "--out",
            "cap.pcap",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("too large"), "{stderr}");
    assert_eq!(contents(d), before);
}

/// Stopped by SIGTERM or Ctrl-C part way through a long simulation.
#[test]
fn simulate_stopped_by_a_signal_leaves_the_directory_as_it_was() {
    let dir = home_with_old_files();
    let d = dir.path();
    let before = contents(d);
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args([
            "simulate",
            "--devices",
            "echo:20,camera:20",
            "--duration",
            "30d",
            "--out",
            "cap.pcap",
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has created its temporary files, then stop it.
    let names = || std::fs::read_dir(d).unwrap().count();
    while names() == before.len() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status:?}");
    assert_eq!(contents(d), before);
}

/// `simulate --out - | head -c 100`: the reader leaving early is not a failure (exit 0,
/// no error message), and the labels of an unfinished capture are not written.
#[test]
fn simulate_to_a_pipe_that_closes_early_succeeds_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args(["simulate", "--duration", "30d", "--out", "-", "--labels"])
        .arg(dir.path().join("cap.labels.csv"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The pcap magic number (nanosecond, little-endian), then the reader goes away (the pipe closes on drop).
    assert_eq!(&head[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("cap.labels.csv").exists());
}

// ---------------------------------------------------------------------------------
// 5. monitor --replay: --filter, and a capture that breaks off

/// The Echo Dot's upload goes to 52.94.233.109 (PROVENANCE.md); tshark confirms it
/// carries the upload, and that no other cloud destination gets more than a few kB.
#[cfg(feature = "live")]
#[test]
fn replay_applies_the_filter() {
    use crate::util::tshark;
    let cap = echo_capture();
    let bytes_to = |display_filter: &str| -> u64 {
        tshark(&[
            "-r",
            &cap,
            "-Y",
            display_filter,
            "-T",
            "fields",
            "-e",
            "frame.len",
        ])
        .lines()
        .map(|l| l.trim().parse::<u64>().unwrap())
        .sum()
    };
    let upload = bytes_to("eth.src == 68:db:f5:90:19:64 && ip.dst == 52.94.233.109");
    assert!(upload > 200_000, "{upload}");
    let other_cloud = bytes_to(
        "eth.src == 68:db:f5:90:19:64 && !(ip.dst == 52.94.233.109) && \
         !(ip.dst == 192.168.0.0/16) && !(ip.dst == 224.0.0.0/4) && !(ip.dst == 255.255.255.255)",
    );
    assert!(other_cloud < 5_000, "{other_cloud}");
    let kept = tshark(&[
        "-r",
        &cap,
        "-Y",
        "!(ip.addr == 52.94.233.109)",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ])
    .lines()
    .count() as u64;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        &cap,
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    assert_eq!(
        events(&run),
        ["started 68:db:f5:90:19:64", "ended 68:db:f5:90:19:64"]
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        &cap,
        "--filter",
        "not host 52.94.233.109",
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    assert_eq!(events(&run), Vec::<String>::new(), "{}", run.stderr);
    // The frames the filter kept are the ones tshark keeps.
    assert_eq!(frames_seen(&run.stderr), kept, "{}", run.stderr);

    // The same filter from the config file.
    let config = dir.path().join("filter.toml");
    std::fs::write(&config, "[capture]\nfilter = \"not host 52.94.233.109\"\n").unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        &cap,
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    assert_eq!(events(&run), Vec::<String>::new(), "{}", run.stderr);
}

#[cfg(feature = "live")]
#[test]
fn replay_refuses_an_invalid_filter_before_creating_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("history");
    let run = leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--filter",
        "host 52.94.233.109 andd port 443",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let err = run.fails();
    assert!(err.contains("'host 52.94.233.109 andd port 443'"), "{err}");
    // libpcap's own message.
    assert!(err.contains("syntax error"), "{err}");
    assert!(!data.exists(), "the history was created");
}

/// Without live capture there is no libpcap to compile a filter: refused, not ignored.
#[cfg(not(feature = "live"))]
#[test]
fn replay_refuses_a_filter_without_live_capture() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("history");
    let run = leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--filter",
        "not host 52.94.233.109",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let err = run.fails();
    assert!(err.contains("--filter"), "{err}");
    assert!(err.contains("--features live"), "{err}");
    assert!(!data.exists(), "the history was created");
}

/// A copy of the Echo capture cut in the middle of a record, after the upload started:
/// `monitor --replay` warns exactly as `analyze` does, and the frames before the break
/// are processed (the upload is detected).
#[test]
fn replay_warns_about_a_capture_that_breaks_off_like_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    let bytes = std::fs::read(echo_capture()).unwrap();
    std::fs::write(&cut, &bytes[..300_000]).unwrap();
    let cut = cut.to_str().unwrap();

    let analyze = leakypick(["analyze", cut]);
    analyze.ok();
    let warning = |stderr: &str| -> String {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("breaks off"))
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        lines[0].to_string()
    };
    let expected = warning(&analyze.stderr);
    assert!(
        expected.starts_with(&format!(
            "leakypick: warning: {cut}: capture breaks off at byte "
        )),
        "{expected}"
    );
    // Cut inside a record: some of it is there.
    assert!(!expected.contains(", 0 left"), "{expected}");
    let before: u64 = expected
        .split("; ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(before > 1000, "{expected}");

    let data = dir.path().join("history");
    let run = leakypick([
        "monitor",
        "--replay",
        cut,
        "--data-dir",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(warning(&run.stderr), expected);
    assert_eq!(frames_seen(&run.stderr), before, "{}", run.stderr);
    assert_eq!(events(&run)[0], "started 68:db:f5:90:19:64");
}

// ---------------------------------------------------------------------------------
// 7. the example config: no alerts until a real URL is set

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/leakypick.example.toml")
}

#[test]
fn the_example_config_copied_as_the_readme_says_sends_no_alerts() {
    // The README's step: install (copy) the example as the config, unchanged.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains("install -m 644 docs/leakypick.example.toml /etc/leakypick/leakypick.toml"),
        "the README no longer says how to install the example config"
    );
    assert!(
        readme.contains("cp docs/leakypick.example.toml leakypick.toml"),
        "the README no longer says how to try the example config"
    );
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("leakypick.toml");
    std::fs::copy(example_config(), &copy).unwrap();

    // Checked before anything runs: the copy configures no alert channel at all, so
    // the monitor cannot even try to reach example.com (or an MQTT broker).
    let config = leakypick_app::monitor::config::Config::load(&copy).unwrap();
    assert_eq!(config.alerts.webhook, None, "the example posts alerts");
    assert_eq!(config.alerts.mqtt, None, "the example publishes alerts");

    let data = dir.path().join("history");
    let run = leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--config",
        copy.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        events(&run),
        ["started 68:db:f5:90:19:64", "ended 68:db:f5:90:19:64"]
    );
    for word in ["example.com", "webhook", "mqtt", "MQTT"] {
        assert!(!run.stderr.contains(word), "{word}: {}", run.stderr);
    }
}

/// Uncomments the example's `[alerts.webhook]` section (lines `#[alerts.webhook...`
/// and the `#key = ...` lines under them).
fn with_webhook_uncommented(text: &str) -> String {
    let mut out = String::new();
    let mut in_section = false;
    for line in text.lines() {
        if line.starts_with("#[") {
            in_section = line.starts_with("#[alerts.webhook");
        } else if line.starts_with('[') || line.trim().is_empty() {
            in_section = false;
        }
        let uncomment = in_section && line.starts_with('#') && !line.starts_with("# ");
        out.push_str(if uncomment { &line[1..] } else { line });
        out.push('\n');
    }
    out
}

#[test]
fn a_placeholder_webhook_is_refused_naming_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("history");
    let copy = dir.path().join("leakypick.toml");
    let example = std::fs::read_to_string(example_config()).unwrap();
    let text = with_webhook_uncommented(&example);
    assert_ne!(
        text, example,
        "the example has no commented-out [alerts.webhook]"
    );
    std::fs::write(&copy, &text).unwrap();
    let url_line = text
        .lines()
        .position(|l| l.starts_with("url = ") && l.contains("example.com"))
        .expect("the uncommented example URL")
        + 1;
    let monitor = |config: &Path| {
        leakypick([
            "monitor",
            "--replay",
            &echo_capture(),
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ])
    };
    let run = monitor(&copy);
    let err = run.fails();
    assert!(
        err.contains(&format!("leakypick.toml:{url_line}:")),
        "line {url_line}: {err}"
    );
    assert!(err.contains("`alerts.webhook.url`"), "{err}");
    assert!(err.contains("example"), "{err}");
    assert!(err.contains("set"), "{err}");
    assert!(!data.exists(), "the history was created");

    // Other placeholder hosts, and a real URL with the example's token.
    for (url, header, key) in [
        ("https://example.org/hook", "", "alerts.webhook.url"),
        ("http://hooks.EXAMPLE.net./x", "", "alerts.webhook.url"),
        (
            "http://127.0.0.1:9/hook",
            "[alerts.webhook.headers]\nAuthorization = \"Bearer change-me\"\n",
            "alerts.webhook.headers.Authorization",
        ),
    ] {
        let config = dir.path().join("other.toml");
        std::fs::write(
            &config,
            format!("[alerts.webhook]\nurl = \"{url}\"\n{header}"),
        )
        .unwrap();
        let run = monitor(&config);
        let err = run.fails();
        assert!(err.contains(&format!("`{key}`")), "{url}: {err}");
        assert!(err.contains("other.toml:"), "{err}");
        assert!(!data.exists(), "the history was created");
    }
}

// ---------------------------------------------------------------------------------
// monitor --replay of a capture that is missing or not a capture

#[test]
fn replay_of_a_missing_or_garbage_capture_creates_no_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("history");
    let garbage = dir.path().join("garbage.pcap");
    std::fs::write(&garbage, b"this is a text file, not a capture\n".repeat(20)).unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let short = dir.path().join("short.pcap");
    let bytes = std::fs::read(echo_capture()).unwrap();
    std::fs::write(&short, &bytes[..10]).unwrap();
    let missing = dir.path().join("missing.pcap");
    let a_dir = dir.path().join("a-directory");
    std::fs::create_dir(&a_dir).unwrap();
    for file in [&garbage, &empty, &short, &missing, &a_dir] {
        let run = leakypick([
            "monitor",
            "--replay",
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ]);
        let err = run.fails();
        assert!(err.contains(file.to_str().unwrap()), "{err}");
        assert!(
            !data.exists(),
            "{}: the history was created",
            file.display()
        );
    }
    // An existing history directory is left as it was.
    std::fs::create_dir(&data).unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        garbage.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    run.fails();
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}
