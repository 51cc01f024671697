//! The flag vocabulary through the real binary: one time parser for every time
//! (`leakypick_app::timespec`), values that start with '-', devices by IP address.

use crate::util::{leakypick, shared_capture, shared_captures};
use serde_json::Value;

const ECHO: &str = "smart-speakers/echodot3a_active.pcap";
const ECHO_MAC: &str = "68:db:f5:90:19:64";
const ECHO_IP: &str = "192.168.12.112";
const BLINK: &str = "f4:b8:5e:ff:2b:1b";

fn capture(rel: &str) -> String {
    shared_capture(rel).display().to_string()
}

fn compare(device: &str, idle: &str, probe: &str) -> crate::util::Run {
    leakypick([
        "compare",
        &capture(ECHO),
        "--device",
        device,
        "--idle",
        idle,
        "--probe",
        probe,
        "--probe-test",
        "all",
        "--format",
        "json",
    ])
}

/// The p-values of every comparison, by test.
fn p_values(run: &crate::util::Run) -> Vec<(String, Value, Value, Value)> {
    run.json()
        .iter()
        .filter(|v| v["type"] == "comparison")
        .map(|v| {
            (
                v["test"].as_str().unwrap_or_default().to_string(),
                v["p_size"].clone(),
                v["p_iat"].clone(),
                v["p_combined"].clone(),
            )
        })
        .collect()
}

#[test]
fn compare_epoch_zero_is_outside_the_capture_and_suggests_the_plus() {
    // `0,19` is 1970-01-01 00:00:00 to 00:00:19, not the capture's first 19 seconds.
    let run = compare(ECHO_MAC, "0,19", "+19,+38");
    let err = run.fails();
    assert!(
        err.contains("--idle window 1970-01-01 00:00:00.000 to 1970-01-01 00:00:19.000 UTC")
            && err.contains("lies outside the captures")
            && err.contains("+0,+19"),
        "{err}"
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // The same for the probe window, and for a window of another day.
    let err = compare(ECHO_MAC, "+0,+19", "19,38").fails().to_string();
    assert!(err.contains("--probe") && err.contains("+19,+38"), "{err}");
    let err = compare(ECHO_MAC, "+0,+19", "1573800000,1573800019")
        .fails()
        .to_string();
    assert!(
        err.contains("--probe window") && err.contains("e.g. +0,+19"),
        "{err}"
    );
}

#[test]
fn compare_by_ip_compares_the_frames_of_the_mac() {
    let by_mac = compare(ECHO_MAC, "+0,+19", "+19,+38");
    let by_ip = compare(ECHO_IP, "+0,+19", "+19,+38");
    let (mac, ip) = (p_values(&by_mac), p_values(&by_ip));
    assert_eq!(mac.len(), 5, "every test: {mac:?}");
    assert_eq!(mac, ip);
    for v in by_ip.json() {
        assert_eq!(v["mac"], ECHO_MAC, "{v}");
    }
    assert!(
        by_ip
            .stderr
            .contains(&format!("{ECHO_IP} is the address of device {ECHO_MAC}")),
        "{}",
        by_ip.stderr
    );
}

#[test]
fn compare_bounds_take_every_time_form() {
    // The capture's first packet is 2019-11-16 08:46:46.279109 UTC (epoch 1573894006.279109):
    // the same windows written as +S, epoch seconds and RFC 3339 with an offset.
    let plus = p_values(&compare(ECHO_MAC, "+0,+19", "+19,+38"));
    let epoch = p_values(&compare(
        ECHO_MAC,
        "1573894006.279109,1573894025.279109",
        "+19,+38",
    ));
    let rfc3339 = p_values(&compare(
        ECHO_MAC,
        "2019-11-16T03:46:46.279109-05:00,+19",
        "2019-11-16T08:47:05.279109Z,1573894044.279109",
    ));
    assert_eq!(plus, epoch);
    assert_eq!(plus, rfc3339);
    // A date is midnight UTC: the idle window then holds every frame before +19.
    let dated = compare(ECHO_MAC, "2019-11-16,+19", "+19,+38").json();
    assert_eq!(dated[0]["idle"][0].as_f64(), Some(1_573_862_400.0));
    // A time ago counts back from now: years after this capture.
    let err = compare(ECHO_MAC, "2h,1h", "+19,+38").fails().to_string();
    assert!(
        err.contains("a time ago (like 2h) counts back from now"),
        "{err}"
    );
    // Bounds of different forms are ordered once resolved.
    let err = compare(ECHO_MAC, "1573894020,+5", "+19,+38")
        .fails()
        .to_string();
    assert!(
        err.contains("the --idle window 1573894020,+5 is empty")
            && err.contains("2019-11-16 08:47:00.000 to 2019-11-16 08:46:51.279 UTC"),
        "{err}"
    );
    // Errors name the bound and list the forms.
    let err = compare(ECHO_MAC, "+0,soon", "+19,+38").fails().to_string();
    assert!(
        err.contains("'+0,soon' is not a window: its end: 'soon' is not a time")
            && err.contains("+S seconds after the first packet (+20)")
            && err.contains("a time ago (90s, 15m, 2h, 3d, 1w)"),
        "{err}"
    );
}

#[test]
fn events_since_takes_dates_and_times_ago_but_no_plus() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().display().to_string();
    // Read commands never create a history: make one first.
    leakypick([
        "monitor",
        "--replay",
        &crate::util::shared_capture("smart-speakers/echodot3a_active.pcap")
            .display()
            .to_string(),
        "--data-dir",
        &data,
    ])
    .ok();
    for since in [
        "2024-05-01",
        "2h",
        "1w",
        "1700000000.5",
        "2024-05-01T12:00:00+02:00",
    ] {
        leakypick(["events", "--data-dir", &data, "--since", since]).ok();
    }
    let err = leakypick(["events", "--data-dir", &data, "--since", "+20"])
        .fails()
        .to_string();
    assert!(
        err.contains("'+20' counts from the first packet of a capture, and there is none here")
            && err.contains("a time ago (90s")
            && !err.contains("+S"),
        "{err}"
    );
    let err = leakypick(["events", "--data-dir", &data, "--since", "2024-05-01T12:00"])
        .fails()
        .to_string();
    assert!(err.contains("has no UTC offset"), "{err}");
}

#[test]
fn simulate_start_takes_instants_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("sim.pcap").display().to_string();
    let run = leakypick([
        "simulate",
        "--duration",
        "1m",
        "--start",
        "2026-02-01",
        "--devices",
        "echo@0/h",
        "--out",
        &out,
        "--format",
        "json",
    ]);
    let values = run.json();
    let v = values
        .iter()
        .find(|v| v["type"] == "simulation")
        .unwrap_or_else(|| panic!("no simulation record: {values:?}"));
    // 2026-02-01T00:00:00Z, the first frame at or after it.
    let first = v["first"].as_f64().unwrap_or_default();
    assert!((1_769_904_000.0..1_769_904_060.0).contains(&first), "{v}");
    let labels = std::fs::read_to_string(dir.path().join("sim.labels.csv")).unwrap_or_default();
    assert!(labels.contains("--start 1769904000.000000000"), "{labels}");
    for (start, why) in [("+20", "counts from the first packet"), ("2h", "time ago")] {
        let err = leakypick(["simulate", "--start", start, "--out", &out])
            .fails()
            .to_string();
        assert!(err.contains("--start") && err.contains(why), "{err}");
    }
}

/// `evaluate` of the Blink camera's week with its IFTTT log: (origin, start) of each label.
fn ifttt_labels(tz: &[&str]) -> Vec<(String, Option<f64>)> {
    let log = shared_captures().join("cameras/ifttt-events.csv");
    let map = format!("blink-cam-01={BLINK}");
    let mut args = vec![
        "evaluate".to_string(),
        capture("cameras/blink-cam-01.pcap"),
        "--labels".into(),
        log.display().to_string(),
        "--labels-format".into(),
        "ifttt".into(),
        "--device-map".into(),
        map,
        "--detector".into(),
        "burst".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(tz.iter().map(|a| a.to_string()));
    leakypick(args)
        .json()
        .into_iter()
        .filter(|v| v["type"] == "label")
        .map(|v| {
            (
                v["origin"].as_str().unwrap_or_default().to_string(),
                v["start"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn evaluate_tz_takes_a_negative_offset() {
    // `--tz -05:00` as two arguments: the value starts with '-', and clap takes it.
    let labels = ifttt_labels(&["--tz", "-05:00"]);
    // "March 08, 2021 at 01:18PM" (line 6) at UTC-5 is 18:18 UTC.
    let line6 = labels
        .iter()
        .find(|(o, _)| o.ends_with("ifttt-events.csv:6"));
    assert_eq!(
        line6.map(|l| l.1),
        Some(Some(1_615_227_480.0)),
        "{labels:?}"
    );
    assert_eq!(labels, ifttt_labels(&["--tz=-05:00"]));
    // The same as a POSIX rule without daylight saving time, and 5 h from UTC.
    assert_eq!(labels, ifttt_labels(&["--tz", "EST5"]));
    let utc: std::collections::HashMap<String, Option<f64>> =
        ifttt_labels(&[]).into_iter().collect();
    let mut both = 0;
    for (origin, start) in &labels {
        if let Some(Some(u)) = utc.get(origin) {
            assert_eq!(start.map(|s| s - u), Some(5.0 * 3600.0), "{origin}");
            both += 1;
        }
    }
    assert!(both > 20, "{both} labels in both runs");
}
