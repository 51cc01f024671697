//! `leakypick monitor` on real captures replayed as if live (`--replay`): the history
//! it keeps, what it prints, baselines across restarts, stopping (SIGTERM, kill -9),
//! config errors, and a webhook alert received by a test HTTP server.
//!
//! Expected values are the independent ones of `analyze.rs`: the Echo Dot's burst from
//! `scripts/reference_bursts.py --n 2` (tshark fields + plain Python windowing), and
//! per-device byte counts from `tshark -z endpoints,eth`, run by the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::analyze::tshark_endpoints;
use crate::util::{leakypick, shared_capture, tshark};
use leakypick_app::history::Store;
use leakypick_core::baseline::{BaselineConfig, RateBaseline};
use leakypick_core::time::Timestamp;
use leakypick_core::Mac;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ECHO: &str = "68:db:f5:90:19:64";

fn echo_capture() -> String {
    shared_capture("smart-speakers/echodot3a_active.pcap")
        .to_str()
        .unwrap()
        .to_string()
}

/// Epoch seconds of a capture's first frame, read by tshark.
fn first_frame_time(path: &str) -> f64 {
    tshark(&[
        "-r",
        path,
        "-c",
        "1",
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
    ])
    .trim()
    .parse()
    .unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn replay_detects_the_echo_upload_and_keeps_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let cap = echo_capture();
    let run = leakypick([
        "monitor",
        "--replay",
        &cap,
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    let events = json_lines(run.ok());
    let first = first_frame_time(&cap);
    // One upload, started and ended, by the Echo Dot: 20-26 s after the first frame,
    // 224138 bytes, peak 615464 bit/s (reference_bursts.py --n 2).
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["started", "ended"], "{events:?}");
    for e in &events {
        assert_eq!(e["mac"], ECHO);
        assert_eq!(e["rule"], "burst");
        assert_eq!((e["start"].as_f64().unwrap() - first).round(), 20.0);
    }
    // Confirmed at the end of its 2nd hot window (the default preset needs 2).
    assert_eq!((events[0]["end"].as_f64().unwrap() - first).round(), 22.0);
    assert_eq!((events[1]["end"].as_f64().unwrap() - first).round(), 26.0);
    assert_eq!(events[1]["bytes"], 224138);
    assert_eq!(events[1]["peak_bps"], 615464.0);
    assert_eq!(events[0]["params"]["min_windows"], 2);
    assert!(events[0]["vendor"].as_str().unwrap().contains("Amazon"));
    assert_eq!(events[0]["id"], events[1]["id"]);

    // The history holds the finished detection (the row written at the onset is updated).
    let stored = leakypick(["events", "--data-dir", data, "--format", "json"]);
    let stored = json_lines(stored.ok());
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["mac"], ECHO);
    assert_eq!(stored[0]["bytes"], 224138);
    assert_eq!(stored[0]["end"], events[1]["end"]);

    // Per-minute traffic adds up to tshark's per-MAC totals, for every device.
    let expected = tshark_endpoints(&cap);
    let store = Store::open(dir.path()).unwrap();
    let devices = store.devices().unwrap();
    for (mac, [tx_p, tx_b, rx_p, rx_b]) in &expected {
        let m: Mac = mac.parse().unwrap();
        if m.0[0] & 1 == 1 {
            continue; // multicast/broadcast destinations are not devices
        }
        assert!(
            devices.iter().any(|d| d.mac == m),
            "device {mac} not stored"
        );
        let rows = store.traffic(m, Timestamp(0), Timestamp(i64::MAX)).unwrap();
        let sum = |f: fn(&leakypick_app::history::TrafficMinute) -> u64| -> u64 {
            rows.iter().map(f).sum()
        };
        assert_eq!(sum(|r| r.counters.tx_packets), *tx_p, "{mac} tx packets");
        assert_eq!(sum(|r| r.counters.tx_bytes), *tx_b, "{mac} tx bytes");
        assert_eq!(sum(|r| r.counters.rx_packets), *rx_p, "{mac} rx packets");
        assert_eq!(sum(|r| r.counters.rx_bytes), *rx_b, "{mac} rx bytes");
    }
    let echo = devices.iter().find(|d| d.mac.to_string() == ECHO).unwrap();
    assert!(echo.vendor.as_deref().unwrap_or("").contains("Amazon"));
    store.close().unwrap();

    // Naming the device while the history exists shows the name in later runs.
    leakypick(["name", ECHO, "Kitchen Echo", "--data-dir", data]).ok();
    let again = leakypick(["monitor", "--replay", &cap, "--data-dir", data]);
    assert!(again.ok().contains("Kitchen Echo"), "{}", again.stdout);
}

#[test]
fn csv_and_table_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let cap = echo_capture();
    let csv = leakypick([
        "monitor",
        "--replay",
        &cap,
        "--data-dir",
        data,
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = csv.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("event,id,mac,name,vendor,start,end,rule"));
    assert!(lines[1].starts_with("started,1,68:db:f5:90:19:64,"));
    assert!(lines[2].starts_with("ended,1,68:db:f5:90:19:64,"));
    let table = leakypick(["monitor", "--replay", &cap, "--data-dir", data]);
    let text = table.ok();
    assert!(text.contains("STREAMING") && text.contains(ECHO), "{text}");
    assert!(text.contains("615 kbit/s > 23 kbit/s"), "{text}");
}

fn stored_baseline(data: &Path, mac: &str) -> RateBaseline {
    let store = Store::open(data).unwrap();
    let rec = store
        .load_baseline(mac.parse().unwrap())
        .unwrap()
        .expect("a stored baseline");
    RateBaseline::from_state(&BaselineConfig::product_default(), &rec.state).unwrap()
}

#[test]
fn learned_baselines_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let cap = echo_capture();
    let args = [
        "monitor",
        "--replay",
        &cap,
        "--data-dir",
        data,
        "--preset",
        "adaptive",
    ];
    leakypick(args).ok();
    let first = stored_baseline(dir.path(), ECHO).observed();
    assert!(first > 10, "the Echo's idle windows were learned: {first}");
    // The same capture again: windows are aligned to its first frame both times, so
    // the restored baseline learns exactly as many idle windows again.
    leakypick(args).ok();
    assert_eq!(stored_baseline(dir.path(), ECHO).observed(), 2 * first);
}

/// Starts a paced replay of the Echo capture in the background.
fn spawn_monitor(data: &str, extra: &[&str]) -> std::process::Child {
    let cap = echo_capture();
    Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args([
            "monitor",
            "--replay",
            &cap,
            "--data-dir",
            data,
            "--format",
            "json",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

#[test]
fn sigterm_flushes_and_closes_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // 48 s of capture at 4x: about 12 s; stopped after ~7 s, i.e. ~28 s into the
    // recording, after the upload at 20-26 s.
    let mut child = spawn_monitor(data, &["--replay-speed", "4"]);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    // Wait for the end of the upload, then stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("\"ended\"")) {
        let left = deadline.saturating_duration_since(Instant::now());
        seen.push(rx.recv_timeout(left).expect("the ended event within 60 s"));
    }
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    assert!(stderr.contains("stop requested"), "{stderr}");
    // Closed cleanly: the write-ahead log was checkpointed into the database.
    let wal = dir.path().join("leakypick.sqlite3-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL left behind"
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.detections(None).unwrap().len(), 1);
    let echo = store
        .device(ECHO.parse().unwrap())
        .unwrap()
        .expect("Echo stored");
    let first = first_frame_time(&echo_capture());
    let last_seen = echo.last_seen.as_secs_f64() - first;
    assert!(
        last_seen > 26.0 && last_seen < 48.0,
        "stopped mid-capture: {last_seen}"
    );
}

#[test]
fn kill_9_loses_at_most_the_last_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let config = dir.path().join("fast-flush.toml");
    std::fs::write(&config, "[history]\nflush_interval_s = 1\n").unwrap();
    let mut child = spawn_monitor(
        data,
        &["--replay-speed", "4", "--config", config.to_str().unwrap()],
    );
    // Killed ~7 s in, i.e. ~28 s into the recording: after the upload was confirmed
    // (22 s) and before it ended in the file (26 s) had been long flushed.
    std::thread::sleep(Duration::from_secs(7));
    signal(&child, "-KILL");
    let _ = child.wait();
    // The database opens and checks fine, and holds what was flushed before the kill:
    // frames up to at most a couple of seconds (flush interval + poll) before it.
    let store = Store::open(dir.path()).unwrap();
    let echo = store
        .device(ECHO.parse().unwrap())
        .unwrap()
        .expect("Echo stored");
    let first = first_frame_time(&echo_capture());
    let seen = echo.last_seen.as_secs_f64() - first;
    // 7 s of wall time at 4x is ~28 s of capture; allow for start-up and the flush
    // interval (1 s = 4 s of capture).
    assert!(seen > 18.0, "only {seen} s of capture were kept");
    // The detection was written when it was confirmed, not at a later flush.
    let stored = store.detections(None).unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].mac.to_string(), ECHO);
    drop(store);
    // The same history keeps working: a new monitor adds to it.
    leakypick(["monitor", "--replay", &echo_capture(), "--data-dir", data]).ok();
    assert_eq!(
        Store::open(dir.path())
            .unwrap()
            .detections(None)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn bad_config_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[capture]\nsnaplen = 256\n\n[history]\nflush_interval_s = \"often\"\n",
    )
    .unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let err = run.fails();
    assert!(err.contains("bad.toml:5:"), "{err}");
    assert!(err.contains("history.flush_interval_s"), "{err}");
    // Nothing was created: the config is checked before the history is opened.
    assert!(!dir.path().join("leakypick.sqlite3").exists());

    std::fs::write(&config, "[alerts.webhook]\nurl = \"ftp://x\"\n").unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let err = run.fails();
    assert!(err.contains("alerts.webhook.url"), "{err}");
}

#[test]
fn missing_replay_file_and_unknown_interface_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let err = leakypick([
        "monitor",
        "--replay",
        "/nonexistent.pcap",
        "--data-dir",
        data,
    ]);
    assert!(err.fails().contains("/nonexistent.pcap"), "{}", err.stderr);
    // An interface that does not exist is named (a build without live capture says it
    // has none, also naming the interface asked for).
    let err = leakypick(["monitor", "-i", "lpk-no-such0", "--data-dir", data]);
    assert!(err.fails().contains("lpk-no-such0"), "{}", err.stderr);
    assert!(
        !dir.path().join("leakypick.sqlite3").exists(),
        "nothing is created before the capture opens"
    );
}

/// A one-shot HTTP server on loopback that records request bodies.
fn http_sink() -> (String, std::sync::mpsc::Receiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = conn.write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            let _ = tx.send((
                request_line.trim().to_string(),
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            ));
        }
    });
    (url, rx)
}

#[test]
fn webhook_receives_the_detection() {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = http_sink();
    let config = dir.path().join("hook.toml");
    std::fs::write(&config, format!("[alerts.webhook]\nurl = \"{url}\"\n")).unwrap();
    leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ])
    .ok();
    let mut got = Vec::new();
    while let Ok(r) = rx.recv_timeout(Duration::from_secs(10)) {
        got.push(r);
        if got.len() == 2 {
            break;
        }
    }
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "POST /hook HTTP/1.1");
    assert_eq!(got[0].1["event"], "streaming_started");
    assert_eq!(got[1].1["event"], "streaming_ended");
    for (_, body) in &got {
        assert_eq!(body["mac"], ECHO);
        assert_eq!(body["rule"], "burst");
    }
    assert_eq!(got[1].1["bytes"], 224138);
}

#[test]
fn retention_prunes_by_packet_time_and_keeps_devices() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let config = dir.path().join("retention.toml");
    std::fs::write(&config, "[history]\nretention_days = 30\n").unwrap();
    let config = config.to_str().unwrap();
    // 2018-10-23: an Echo asked "Alexa" 5 times (5 uploads; see analyze.rs).
    let old = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    leakypick([
        "monitor",
        "--replay",
        old.to_str().unwrap(),
        "--data-dir",
        data,
        "--config",
        config,
    ])
    .ok();
    let old_echo: Mac = "c4:95:00:e3:93:2f".parse().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.detections(None).unwrap().len(), 5);
    assert!(!store
        .traffic(old_echo, Timestamp(0), Timestamp(i64::MAX))
        .unwrap()
        .is_empty());
    drop(store);
    // 2019-11-16: more than 30 days later in packet time, so the 2018 traffic and
    // detections go; the devices (and any names) stay.
    leakypick([
        "monitor",
        "--replay",
        &echo_capture(),
        "--data-dir",
        data,
        "--config",
        config,
    ])
    .ok();
    let store = Store::open(dir.path()).unwrap();
    let detections = store.detections(None).unwrap();
    assert_eq!(detections.len(), 1, "{detections:?}");
    assert_eq!(detections[0].mac.to_string(), ECHO);
    assert!(store
        .traffic(old_echo, Timestamp(0), Timestamp(i64::MAX))
        .unwrap()
        .is_empty());
    assert!(
        store.device(old_echo).unwrap().is_some(),
        "devices are kept"
    );
}
