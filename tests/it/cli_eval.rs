//! `leakypick simulate` and `leakypick evaluate` through the real binary: options, output
//! formats, files written, and errors. The engines themselves are tested in
//! `simulate.rs` and `evaluate.rs`.

use crate::util::{leakypick, of_type, shared_capture};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

#[test]
fn simulate_writes_a_capture_and_labels_deterministically() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = dir.path().join("a.pcap");
    let b = dir.path().join("b.pcap");
    for out in [&a, &b] {
        let run = leakypick([
            "simulate",
            "--devices",
            "echo@12/h,plug",
            "--duration",
            "10m",
            "--seed",
            "7",
            "--out",
            s(out),
            "--format",
            "json",
        ]);
        let values = run.json();
        let total = of_type(&values, "simulation")[0].clone();
        assert_eq!(total["pcap"], s(out));
        assert!(total["frames"].as_u64().unwrap_or(0) > 100, "{total}");
        assert_eq!(of_type(&values, "simulated_device").len(), 2);
    }
    let bytes_a = std::fs::read(&a).unwrap_or_default();
    assert!(!bytes_a.is_empty());
    assert_eq!(
        bytes_a,
        std::fs::read(&b).unwrap_or_default(),
        "same seed, same bytes"
    );
    let labels = std::fs::read_to_string(dir.path().join("a.labels.csv")).unwrap_or_default();
    assert!(
        labels.lines().any(|l| l.starts_with("mac,start,end,kind")),
        "{labels}"
    );
    // No partial files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().ends_with(".partial")),
        "{leftovers:?}"
    );

    // The simulated capture and its labels go straight into evaluate: every voice
    // activation is found by the default burst rule.
    let run = leakypick([
        "evaluate",
        s(&a),
        "--labels",
        s(&dir.path().join("a.labels.csv")),
        "--detector",
        "burst",
        "--format",
        "json",
    ]);
    let values = run.json();
    let overall = of_type(&values, "metrics")
        .into_iter()
        .find(|m| m["config"] == "default" && m["mac"].is_null())
        .cloned()
        .unwrap_or_default();
    assert!(
        overall["activations"].as_u64().unwrap_or(0) >= 1,
        "{overall}"
    );
    assert_eq!(overall["activations"], overall["detected"], "{overall}");
    assert_eq!(overall["false_alarms"], 0, "{overall}");
}

#[test]
fn simulate_rejects_bad_specs_without_touching_existing_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("keep.pcap");
    std::fs::write(&out, b"precious").unwrap_or_default();
    let err = leakypick(["simulate", "--devices", "toaster:2", "--out", s(&out)])
        .fails()
        .to_string();
    assert!(err.contains("toaster"), "{err}");
    let err = leakypick(["simulate", "--duration", "soon", "--out", s(&out)])
        .fails()
        .to_string();
    assert!(err.contains("--duration") && err.contains("soon"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap_or_default(), b"precious");
    let err = leakypick(["simulate", "--out", "-"]).fails().to_string();
    assert!(err.contains("--labels"), "{err}");
}

#[test]
fn evaluate_the_bundled_activation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let labels = dir.path().join("echo.csv");
    // The Echo Dot's activation: its upload runs 20-26 s after the first packet
    // (tests/it/analyze.rs, from scripts/reference_bursts.py).
    std::fs::write(
        &labels,
        "mac,start,end,kind\n68:db:f5:90:19:64,+20,+26,voice\n",
    )
    .unwrap_or_default();
    let capture = shared_capture("smart-speakers/echodot3a_active.pcap");
    let out_dir = dir.path().join("report");
    let run = leakypick([
        "evaluate",
        s(&capture),
        "--labels",
        s(&labels),
        "--format",
        "json",
        "--out",
        s(&out_dir),
    ]);
    let values = run.json();
    let metric = |config: &str| {
        of_type(&values, "metrics")
            .into_iter()
            .find(|m| m["detector"] == "burst" && m["config"] == config && m["mac"].is_null())
            .cloned()
            .unwrap_or_default()
    };
    for config in ["default", "paper", "adaptive"] {
        let m = metric(config);
        assert_eq!(
            (m["detected"].as_u64(), m["false_alarms"].as_u64()),
            (Some(1), Some(0)),
            "{config}: {m}"
        );
        assert_eq!(m["fp"], 0, "{config}: {m}");
    }
    assert!(out_dir.join("metrics.csv").is_file());
    assert!(out_dir.join("evaluation.jsonl").is_file());
    let table = leakypick(["evaluate", s(&capture), "--labels", s(&labels)])
        .ok()
        .to_string();
    assert!(
        table.contains("default") && table.contains("68:db:f5:90:19:64"),
        "{table}"
    );
}

#[test]
fn evaluate_errors_name_the_label_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let capture = shared_capture("smart-speakers/echodot3a_active.pcap");
    let cases = [
        (
            "mac,start,end,kind\n68:db:f5:90:19:64,+26,+20,voice\n",
            ":2:",
            "before",
        ),
        (
            "mac,start,end,kind\n68:db:f5:90:19:64,noon,+20,voice\n",
            ":2:",
            "noon",
        ),
        (
            "mac,start,end,kind\n# a comment\n02:00:00:00:00:99,+1,+2,voice\n",
            ":3:",
            "not in the capture",
        ),
    ];
    for (i, (text, line, why)) in cases.iter().enumerate() {
        let labels = dir.path().join(format!("bad{i}.csv"));
        std::fs::write(&labels, text).unwrap_or_default();
        let err = leakypick(["evaluate", s(&capture), "--labels", s(&labels)])
            .fails()
            .to_string();
        assert!(
            err.contains(&format!("bad{i}.csv{line}")) && err.contains(why),
            "{err}"
        );
    }
    let err = leakypick(["evaluate", s(&capture)]).fails().to_string();
    assert!(err.contains("--labels"), "{err}");
    let err = leakypick([
        "evaluate",
        s(&capture),
        "--labels",
        "x.csv",
        "--labels-format",
        "ifttt",
    ])
    .fails()
    .to_string();
    assert!(err.contains("--device-map"), "{err}");
}
