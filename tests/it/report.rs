//! The report of `evaluate --out DIR`: `report.md` and its SVG charts, made by the real
//! binary from the bundled Echo Dot capture.

use crate::util::{leakypick, shared_capture};
use std::path::Path;

/// Reads a file the report must have written, failing with its name when it is missing.
fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{name} was not written into {}: {e}", dir.display()))
}

/// Asserts that `name` looks like a complete SVG document whose title contains `title`.
fn assert_svg(dir: &Path, name: &str, title: &str) {
    let svg = read(dir, name);
    assert!(
        svg.starts_with("<?xml") || svg.starts_with("<svg"),
        "{name} does not start like an SVG: {:?}",
        svg.get(..60)
    );
    assert!(svg.contains("<svg "), "{name}: no <svg> element");
    assert!(svg.trim_end().ends_with("</svg>"), "{name}: not closed");
    assert!(
        svg.contains(&format!("<title>{title}")),
        "{name}: the title does not start with {title:?}"
    );
}

#[test]
fn evaluate_out_writes_the_report_and_charts() {
    // The Echo Dot uploads its one voice command 20-26 s after the first packet
    // (tests/it/analyze.rs: the burst +20.0 s, 6.0 s). The capture lasts 47.9 s, so the
    // 10-s slots are 0..4: slot 2 holds the activation (TP), slot 1 holds only the 2-s
    // margin [18, 20) and is not scored, slots 0, 3 and 4 are idle and quiet (TN 3).
    // Both n = 2 (default) and n = 5 (paper) find the 6-window burst: TP 1, FP 0, FN 0.
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "mac,start,end,kind\n68:db:f5:90:19:64,+20,+26,voice\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let capture = shared_capture("smart-speakers/echodot3a_active.pcap");
    leakypick([
        "evaluate".as_ref(),
        capture.as_os_str(),
        "--labels".as_ref(),
        labels.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .ok();

    let md = read(&out, "report.md");
    assert!(md.starts_with("# "), "no title: {:?}", md.get(..40));
    assert!(md.contains("## What was evaluated"));
    assert!(md.contains("2778 packets"));
    assert!(md.contains("1 labelled activation on 1 device"));
    for (name, n) in [("default", 2), ("paper", 5)] {
        let line = format!(
            "| burst | **{name}** | 1 s, 23 kbit/s, n={n} | **overall** | 1 | 0 | 0 | 3 | 100.0% | 0.0% | 100.0% | 1.000 | 1 / 1 | 0 |"
        );
        assert!(md.contains(&line), "missing {line:?} in\n{md}");
    }
    // The paper's operating point beside ours, and the sweep: the burst lasts six 1-s
    // windows above 23 kbit/s, so n = 6 still finds it and n = 7 does not.
    assert!(md.contains("TPR 96%, FPR 4%"));
    assert!(md.contains("| 6 | 100.0% / 0.0% (1/1) |"));
    assert!(md.contains("| 7 | 0.0% / 0.0% (0/1) |"));

    let timeline = "timeline-68-db-f5-90-19-64.svg";
    for (name, title) in [
        ("roc-burst.svg", "Burst detection ROC"),
        ("roc-stat.svg", "Statistical probing ROC"),
        ("pvalues.svg", "Paper t-test p-value per window pair"),
        (timeline, "Upload rate of 68:db:f5:90:19:64"),
    ] {
        assert_svg(&out, name, title);
        assert!(
            md.contains(&format!("]({name})")),
            "report.md does not link {name}"
        );
    }
    let roc = read(&out, "roc-burst.svg");
    assert!(roc.contains("paper n=5: TPR 96%, FPR 4%"));
    assert!(roc.contains("measured default (n=2)"));
    assert!(read(&out, "roc-stat.svg").contains("94%/6% controlled, 93%/7% real world"));
}
