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
            devices.iter().any(|d| d.device == m.into()),
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
    let echo = devices
        .iter()
        .find(|d| d.device.to_string() == ECHO)
        .unwrap();
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
    // Exactly the JSON fields, `type` first (the project's CSV rule).
    let json = leakypick([
        "monitor",
        "--replay",
        &cap,
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    let first = json_lines(json.ok());
    let keys: Vec<&str> = first[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(lines[0], keys.join(","));
    assert!(
        lines[1].starts_with("detection,started,1,68:db:f5:90:19:64,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("detection,ended,1,68:db:f5:90:19:64,"),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(",1,68:db:f5:90:19:64"), "{}", lines[2]);
    let table = leakypick(["monitor", "--replay", &cap, "--data-dir", data]);
    let text = table.ok();
    assert!(text.contains("STREAMING") && text.contains(ECHO), "{text}");
    assert!(text.contains("615 kbit/s > 23 kbit/s"), "{text}");
}

fn stored_baseline(data: &Path, mac: &str) -> RateBaseline {
    let store = Store::open(data).unwrap();
    let rec = store
        .load_baseline(mac.parse::<Mac>().unwrap())
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
        .device(ECHO.parse::<Mac>().unwrap())
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
        .device(ECHO.parse::<Mac>().unwrap())
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
    assert_eq!(stored[0].device.to_string(), ECHO);
    drop(store);
    // The same history keeps working: replaying the file again completes the
    // detection cut short by the kill (one row, not a second one).
    leakypick(["monitor", "--replay", &echo_capture(), "--data-dir", data]).ok();
    let stored = Store::open(dir.path()).unwrap().detections(None).unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!((stored[0].end.as_secs_f64() - first).round(), 26.0);
    assert_eq!(stored[0].bytes, 224138);
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

/// Retention goes by when rows were written (wall clock), not by packet time: an old
/// capture replayed today stays; rows written more than `retention_days` ago go, devices
/// (and names) stay.
#[test]
fn retention_deletes_what_was_written_long_ago_and_keeps_devices() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let config = dir.path().join("retention.toml");
    std::fs::write(&config, "[history]\nretention_days = 30\n").unwrap();
    let config = config.to_str().unwrap();
    // 2018-10-23: an Echo asked "Alexa" 5 times (5 uploads; see analyze.rs).
    let old = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let replay = |file: &str| {
        leakypick([
            "monitor",
            "--replay",
            file,
            "--data-dir",
            data,
            "--config",
            config,
        ])
        .ok();
    };
    replay(old.to_str().unwrap());
    let old_echo: Mac = "c4:95:00:e3:93:2f".parse().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.detections(None).unwrap().len(), 5);
    let traffic = |store: &Store| {
        store
            .traffic(old_echo, Timestamp(0), Timestamp(i64::MAX))
            .unwrap()
    };
    assert!(!traffic(&store).is_empty());
    drop(store);
    // A 2019 capture (more than 30 days later in packet time) keeps the 2018 rows: they
    // were written just now.
    replay(&echo_capture());
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.detections(None).unwrap().len(), 6);
    assert!(!traffic(&store).is_empty());
    drop(store);
    // As if the 2018 rows had been written 40 days ago: the next run deletes them.
    let db = dir.path().join(leakypick_app::history::FILE_NAME);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let long_ago = leakypick_app::history::wall_clock().0 - 40 * 86_400 * Timestamp::NANOS_PER_SEC;
    for table in ["detections", "traffic_minute"] {
        let n = conn
            .execute(
                &format!("UPDATE {table} SET written = ?1 WHERE device = ?2"),
                rusqlite::params![long_ago, old_echo.to_string()],
            )
            .unwrap();
        assert!(n > 0);
    }
    drop(conn);
    replay(&echo_capture());
    let store = Store::open(dir.path()).unwrap();
    let detections = store.detections(None).unwrap();
    assert_eq!(detections.len(), 1, "{detections:?}");
    assert_eq!(detections[0].device.to_string(), ECHO);
    assert!(traffic(&store).is_empty());
    assert!(
        store.device(old_echo).unwrap().is_some(),
        "devices are kept"
    );
}

const ECHO_IP: &str = "192.168.12.112";

/// The Echo capture without MAC addresses: its Ethernet headers cut off and the link
/// type set to raw IP by editcap (tshark's package), checked by tshark.
fn raw_ip_echo_capture(dir: &Path) -> String {
    let out = dir.join("echodot3a-rawip.pcap");
    let status = Command::new("editcap")
        .args(["-C", "14", "-T", "rawip", &echo_capture()])
        .arg(&out)
        .status()
        .expect("editcap (installed with tshark) is required by this test");
    assert!(status.success(), "editcap failed");
    let out = out.to_str().unwrap().to_string();
    let first = tshark(&[
        "-r", &out, "-c", "1", "-T", "fields", "-e", "ip.src", "-e", "eth.src",
    ]);
    assert_eq!(first.trim(), ECHO_IP, "raw IP, no MAC: {first:?}");
    out
}

/// A webhook configuration file pointing at `url`.
fn hook_config(dir: &Path, url: &str) -> String {
    let config = dir.join("hook.toml");
    std::fs::write(&config, format!("[alerts.webhook]\nurl = \"{url}\"\n")).unwrap();
    config.to_str().unwrap().to_string()
}

/// Bodies received by `http_sink`, `n` of them (or fewer after 10 s of silence).
fn received(rx: &std::sync::mpsc::Receiver<(String, Value)>, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    while got.len() < n {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok((_, body)) => got.push(body),
            Err(_) => break,
        }
    }
    got
}

/// Issue: a capture without MAC addresses (raw IP) was analysed but nothing of it was
/// kept: `monitor` warned "not kept in the history", stored no detection and sent no
/// alert. Such devices are keyed by IP, as `analyze` keys them.
#[test]
fn mac_less_capture_is_kept_in_the_history_and_alerted() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_ip_echo_capture(dir.path());
    let analyzed = leakypick(["analyze", &raw, "--format", "json"]).json();
    let bursts = crate::util::of_type(&analyzed, "burst");
    assert_eq!(bursts.len(), 1, "{bursts:?}");
    let burst = bursts[0].clone();
    assert_eq!(burst["id"], ECHO_IP);
    assert!(burst["mac"].is_null());

    let (url, rx) = http_sink();
    let config = hook_config(dir.path(), &url);
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let run = leakypick([
        "monitor",
        "--replay",
        &raw,
        "--config",
        &config,
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    let events = json_lines(run.ok());
    assert!(!run.stderr.contains("not kept"), "{}", run.stderr);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["started", "ended"], "{events:?}\n{}", run.stderr);
    for e in &events {
        assert!(e["mac"].is_null(), "{e}");
        assert_eq!(e["device"], ECHO_IP);
        assert_eq!(e["start"], burst["start"]);
        assert!(e["id"].as_i64().is_some(), "stored: {e}");
        assert_eq!(e["detection_id"], e["id"]);
    }
    assert_eq!(events[1]["end"], burst["end"]);
    assert_eq!(events[1]["bytes"], burst["bytes"]);

    // Alerted, naming the device by its IP.
    let got = received(&rx, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["event"], "streaming_started");
    assert_eq!(got[1]["event"], "streaming_ended");
    for body in &got {
        assert!(body["mac"].is_null(), "{body}");
        assert_eq!(body["device"], ECHO_IP);
        assert_eq!(body["detection_id"], events[0]["id"]);
    }

    // Kept in the history.
    let stored = leakypick(["events", "--data-dir", data, "--format", "json"]).json();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0]["mac"].is_null());
    assert_eq!(stored[0]["id"], events[0]["id"]);
    assert_eq!(stored[0]["end"], burst["end"]);
    assert_eq!(stored[0]["bytes"], burst["bytes"]);
    let devices = leakypick(["devices", "--data-dir", data, "--format", "json"]).json();
    let echo: Vec<&Value> = devices.iter().filter(|d| d["ips"][0] == ECHO_IP).collect();
    assert_eq!(echo.len(), 1, "{devices:?}");
    assert!(echo[0]["mac"].is_null());
    assert_eq!(echo[0]["id"], ECHO_IP, "as analyze names it");
    assert_eq!(stored[0]["device"], ECHO_IP);

    // Its per-minute traffic adds up to analyze's counters of the device.
    let device = analyzed
        .iter()
        .find(|d| d["type"] == "device" && d["id"] == ECHO_IP)
        .unwrap();
    let store = Store::open_read_only(Path::new(data)).unwrap();
    let key: leakypick_core::DeviceKey = ECHO_IP.parse().unwrap();
    let rows = store
        .traffic(key, Timestamp(0), Timestamp(i64::MAX))
        .unwrap();
    let tx: u64 = rows.iter().map(|r| r.counters.tx_bytes).sum();
    let rx: u64 = rows.iter().map(|r| r.counters.rx_bytes).sum();
    assert_eq!(Some(tx), device["tx_bytes"].as_u64());
    assert_eq!(Some(rx), device["rx_bytes"].as_u64());
    drop(store);

    // It can be named by its IP address.
    leakypick(["name", ECHO_IP, "Kitchen Echo", "--data-dir", data]).ok();
    let devices = leakypick(["devices", "--data-dir", data, "--format", "json"]).json();
    let echo = devices.iter().find(|d| d["id"] == ECHO_IP).unwrap();
    assert_eq!(echo["name"], "Kitchen Echo");
    let again = leakypick(["monitor", "--replay", &raw, "--data-dir", data]);
    assert!(again.ok().contains("Kitchen Echo"), "{}", again.stdout);
}

/// Issue: replaying old captures into one history deleted the earlier ones (retention
/// measured against the newest packet time), and replaying a file twice stored every
/// detection (and every minute of traffic) twice.
#[test]
fn replaying_captures_in_any_order_keeps_every_detection_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let set_volume = shared_capture("smart-speakers/haipeng_li__set_volume_to_five_5_30s.pcap");
    let alexa = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let set_volume = set_volume.to_str().unwrap();
    let alexa = alexa.to_str().unwrap();
    let echo = echo_capture();
    // 2018-10-25, then 2018-10-23, then 2019-11-16, then two of them again.
    let order = [set_volume, alexa, echo.as_str(), alexa, echo.as_str()];
    let mut expected = Vec::new();
    for file in [set_volume, alexa, echo.as_str()] {
        let values = leakypick(["analyze", file, "--format", "json"]).json();
        for b in crate::util::of_type(&values, "burst") {
            expected.push((
                b["id"].as_str().unwrap().to_string(),
                b["start"].as_f64().unwrap().to_string(),
                b["end"].as_f64().unwrap().to_string(),
                b["bytes"].as_u64().unwrap(),
            ));
        }
    }
    expected.sort();
    assert!(expected.len() >= 11, "{expected:?}");
    for file in order {
        leakypick(["monitor", "--replay", file, "--data-dir", data]).ok();
    }
    let stored = leakypick(["events", "--data-dir", data, "--format", "json"]).json();
    let mut got: Vec<(String, String, String, u64)> = stored
        .iter()
        .map(|e| {
            (
                e["device"].as_str().unwrap().to_string(),
                e["start"].as_f64().unwrap().to_string(),
                e["end"].as_f64().unwrap().to_string(),
                e["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected);

    // The Echo's traffic in the minutes of the alexa capture is counted once: it adds
    // up to tshark's totals for that file although the file was replayed twice.
    let old_echo = "c4:95:00:e3:93:2f";
    let totals = tshark_endpoints(alexa)[old_echo];
    let first = Timestamp::from_secs_f64(first_frame_time(alexa)).unwrap();
    let from = leakypick_app::history::minute_start(first);
    let to = Timestamp(from.0 + 10 * 60 * Timestamp::NANOS_PER_SEC);
    let store = Store::open(dir.path()).unwrap();
    let rows = store
        .traffic(old_echo.parse::<Mac>().unwrap(), from, to)
        .unwrap();
    let tx: u64 = rows.iter().map(|r| r.counters.tx_bytes).sum();
    let rx: u64 = rows.iter().map(|r| r.counters.rx_bytes).sum();
    assert_eq!((tx, rx), (totals[1], totals[3]));
}

/// Starts `monitor --replay` of the Echo capture at the recorded pace, printing `format`.
fn spawn_paced(data: &str, format: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args([
            "monitor",
            "--replay",
            &echo_capture(),
            "--replay-speed",
            "1",
        ])
        .args(["--data-dir", data, "--format", format])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The lines of a child's stream, as they come.
fn line_channel(stream: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
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

/// Waits (up to `within`) for a line that satisfies `pred`; returns every line so far.
fn wait_line(
    rx: &std::sync::mpsc::Receiver<String>,
    within: Duration,
    pred: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = pred(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(e) => panic!("no such line within {within:?} ({e}); got {seen:?}"),
        }
    }
}

/// Issue: SIGTERM while a device uploads left its detection open: the JSON stream had
/// `started` but never `ended`. Stopping ends open detections, in every output format,
/// in the history and in the alerts. No timing: the signal is sent once the `started`
/// record is out (the upload goes on for 4 s of recording after that).
#[test]
fn sigterm_during_an_upload_ends_the_detection_in_every_output() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (url, hook) = http_sink();
    let config = hook_config(dirs[0].path(), &url);
    let formats = ["json", "csv", "table"];
    let mut children = Vec::new();
    for (format, dir) in formats.iter().zip(&dirs) {
        let data = dir.path().join("data");
        let extra: &[&str] = if *format == "json" {
            &["--config", &config]
        } else {
            &[]
        };
        let mut child = spawn_paced(data.to_str().unwrap(), format, extra);
        let out = line_channel(child.stdout.take().unwrap());
        children.push((format, child, out, data));
    }
    for (format, child, out, data) in &mut children {
        let started = |l: &str| l.contains("started") || l.contains("STREAMING");
        let mut lines = wait_line(out, Duration::from_secs(90), started);
        // Let the upload go on a little (it lasts 4 s more), so that the window open at
        // the signal is hot. Only makes the old bug show; the checks do not depend on it.
        std::thread::sleep(Duration::from_millis(1500));
        signal(child, "-TERM");
        lines.extend(out.iter());
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{format}: {status:?}\n{stderr}");
        assert!(stderr.contains("stop requested"), "{stderr}");
        let ended: Vec<&String> = lines.iter().filter(|l| l.contains("ended")).collect();
        assert_eq!(
            ended.len(),
            1,
            "{format}: no end after SIGTERM: {lines:?}\n{stderr}"
        );
        let store = Store::open(data).unwrap();
        let stored = store.detections(None).unwrap();
        assert_eq!(stored.len(), 1, "{stored:?}");
        if **format == "json" {
            let records = json_lines(&lines.join("\n"));
            let kinds: Vec<&str> = records
                .iter()
                .map(|e| e["event"].as_str().unwrap())
                .collect();
            assert_eq!(kinds, ["started", "ended"]);
            assert_eq!(records[1]["id"], records[0]["id"]);
            let end = records[1]["end"].as_f64().unwrap();
            assert!(end >= records[0]["end"].as_f64().unwrap(), "{records:?}");
            // The history row carries that end (not the confirmation time).
            assert_eq!(stored[0].end.as_secs_f64(), end);
            assert_eq!(stored[0].bytes, records[1]["bytes"].as_u64().unwrap());
        }
    }
    let got = received(&hook, 2);
    let kinds: Vec<&Value> = got.iter().map(|b| &b["event"]).collect();
    assert_eq!(kinds, ["streaming_started", "streaming_ended"], "{got:?}");
}

/// How many bytes of a pcapng file come before its first packet block (the section
/// header and interface blocks).
fn pcapng_head_len(bytes: &[u8]) -> usize {
    assert_eq!(bytes[..4], [0x0a, 0x0d, 0x0d, 0x0a], "a pcapng file");
    let le = bytes[8..12] == [0x4d, 0x3c, 0x2b, 0x1a];
    let word = |i: usize| {
        let b: [u8; 4] = bytes[i..i + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut at = 0;
    while ![3, 6].contains(&word(at)) {
        at += word(at + 4) as usize;
    }
    at
}

/// Runs a shell script in the mount namespace of process `pid`.
fn in_mount_namespace_of(pid: u32, script: &str, arg: &Path) -> std::process::Output {
    Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "sh", "-c", script, "sh"])
        .arg(arg)
        .output()
        .expect("nsenter (util-linux) is required by this test")
}

/// Issue: on a full disk the monitor dropped detections (while it kept traffic rows for
/// a retry) and logged an error line per failed write. A real full disk: a 1 MiB tmpfs
/// in a private mount namespace (the tests run as root), filled up once the monitor has
/// opened its history, freed once the monitor has printed every detection.
#[test]
fn full_disk_keeps_detections_until_space_returns_and_logs_once() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let saved = dir.path().join("saved");
    std::fs::create_dir(&small).unwrap();
    std::fs::create_dir(&saved).unwrap();
    let cap = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let analyzed = leakypick(["analyze", cap.to_str().unwrap(), "--format", "json"]).json();
    let bursts = crate::util::of_type(&analyzed, "burst");
    assert_eq!(bursts.len(), 5);
    let script = r#"
        mount -t tmpfs -o size=1m tmpfs "$1" || exit 97
        "$2" monitor --replay - --data-dir "$1" --format json
        rc=$?
        cp "$1"/leakypick.sqlite3* "$3"/ || exit 98
        exit $rc
    "#;
    let mut child = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "bash",
            "-c",
            script,
            "bash",
        ])
        .arg(&small)
        .arg(env!("CARGO_BIN_EXE_leakypick"))
        .arg(&saved)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) is required by this test");
    let pid = child.id();
    let out = line_channel(child.stdout.take().unwrap());
    let err = line_channel(child.stderr.take().unwrap());
    // The file's header first: the monitor opens its history once it has read it.
    let bytes = std::fs::read(&cap).unwrap();
    let head = pcapng_head_len(&bytes);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes[..head]).unwrap();
    stdin.flush().unwrap();
    let mut log = wait_line(&err, Duration::from_secs(60), |l| l.contains("monitoring"));
    // Fill the file system up.
    let fill = in_mount_namespace_of(
        pid,
        r#"dd if=/dev/zero of="$1/filler" bs=4096 2>/dev/null; df --output=avail -k "$1" | tail -1"#,
        &small,
    );
    let avail = String::from_utf8_lossy(&fill.stdout);
    assert_eq!(avail.trim(), "0", "the tmpfs is full: {avail}");
    // Feed the packets; keep standard input open until space is back.
    let feeder = std::thread::spawn(move || {
        stdin.write_all(&bytes[head..]).unwrap();
        stdin
    });
    let mut printed = Vec::new();
    for _ in 0..5 {
        printed.extend(wait_line(&out, Duration::from_secs(60), |l| {
            l.contains("\"ended\"")
        }));
    }
    let stdin = feeder.join().unwrap();
    let free = in_mount_namespace_of(pid, r#"rm "$1/filler""#, &small);
    assert!(free.status.success());
    drop(stdin);
    let status = child.wait().unwrap();
    log.extend(err.iter());
    let log = log.join("\n");
    assert!(status.success(), "{status:?}\n{log}");

    // Every detection reached the history once space was back, with its final end.
    let store = Store::open(&saved).unwrap();
    let stored = store.detections(None).unwrap();
    let got: Vec<(f64, u64)> = stored
        .iter()
        .map(|d| (d.end.as_secs_f64(), d.bytes))
        .collect();
    let want: Vec<(f64, u64)> = bursts
        .iter()
        .map(|b| (b["end"].as_f64().unwrap(), b["bytes"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want, "{log}");
    // The outage is logged once when it starts and once when it ends, not per row.
    let errors = log.lines().filter(|l| l.contains(" ERROR ")).count();
    assert!(errors <= 2, "{errors} error lines:\n{log}");
    assert!(log.contains("full"), "{log}");
}
