//! Bad input through the real binary: clear errors (exit status 2) that name the file,
//! the byte offset or the line, warnings for partial reads, and never a panic.

use crate::util::{leakypick, of_type, shared_capture, shared_captures};
use std::path::Path;

fn p(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

#[test]
fn missing_file_is_named() {
    let r = leakypick(["analyze", "/nonexistent/capture.pcap"]);
    let err = r.fails();
    assert!(
        err.contains("/nonexistent/capture.pcap") && err.contains("cannot open"),
        "{err}"
    );
}

#[test]
fn garbage_and_empty_files_are_named_with_the_offset() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let garbage = dir.path().join("notes.pcap");
    std::fs::write(&garbage, b"this is a text file, not a capture\n").unwrap_or_default();
    let err = leakypick(["analyze", p(&garbage)]).fails().to_string();
    assert!(
        err.contains("notes.pcap") && err.contains("at byte 0") && err.contains("pcap"),
        "{err}"
    );

    let empty = dir.path().join("empty.pcapng");
    std::fs::write(&empty, b"").unwrap_or_default();
    let err = leakypick(["analyze", p(&empty)]).fails().to_string();
    assert!(
        err.contains("empty.pcapng") && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn a_capture_that_breaks_off_gives_the_packets_before_and_a_warning() {
    // The Echo Dot sample cut at byte 250000, inside a block: tshark reads 1321 packets
    // before the cut ("tshark -r cut.pcap | wc -l" after "head -c 250000").
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cut = dir.path().join("cut.pcap");
    let bytes =
        std::fs::read(shared_capture("smart-speakers/echodot3a_active.pcap")).unwrap_or_default();
    std::fs::write(&cut, &bytes[..250_000]).unwrap_or_default();
    let r = leakypick(["analyze", "--format", "json", p(&cut)]);
    let values = r.json();
    let s = of_type(&values, "summary")[0];
    assert_eq!(s["packets"], 1321);
    let warning = s["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("cut.pcap") && warning.contains("breaks off at byte 249896"),
        "{warning}"
    );
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("249896"),
        "{}",
        r.stderr
    );
    // The upload started before the cut and is still found.
    assert_eq!(of_type(&values, "burst").len(), 1);
}

#[test]
fn every_robustness_file_is_read_without_a_panic() {
    let mut n = 0;
    for sub in [
        "parse-robustness/tcpdump-tests",
        "parse-robustness/rusticata-pcap-parser",
    ] {
        let dir = shared_captures().join(sub);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            let r = leakypick(["analyze", "--format", "json", p(&path)]);
            assert!(
                !r.stderr.contains("panicked"),
                "{}: {}",
                path.display(),
                r.stderr
            );
            match r.status.code() {
                Some(0) => assert_eq!(of_type(&r.json(), "summary").len(), 1),
                Some(2) => assert!(
                    r.stderr.contains(p(&path)),
                    "{}: error must name the file",
                    r.stderr
                ),
                other => panic!("{}: exit status {other:?}: {}", path.display(), r.stderr),
            }
            n += 1;
        }
    }
    assert_eq!(n, 38, "all parse-robustness files");
}

#[test]
fn bad_names_file_is_named_with_the_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let names = dir.path().join("names.txt");
    std::fs::write(&names, "68:db:f5:90:19:64 kitchen\n\n00:11:22:33:44 hall\n")
        .unwrap_or_default();
    let err = leakypick(["analyze", "--names", p(&names)])
        .fails()
        .to_string();
    assert!(
        err.contains("names.txt:3") && err.contains("00:11:22:33:44"),
        "{err}"
    );
    let err = leakypick(["analyze", "--names", "/nonexistent/names.txt"])
        .fails()
        .to_string();
    assert!(err.contains("/nonexistent/names.txt"), "{err}");
}

#[test]
fn bad_detector_options_are_explained() {
    let err = leakypick(["analyze", "--min-windows", "0"])
        .fails()
        .to_string();
    assert!(err.contains("at least 1"), "{err}");
    let err = leakypick(["analyze", "--threshold-kbps", "nan"])
        .fails()
        .to_string();
    assert!(err.contains("threshold"), "{err}");
    // The old spelling `--window` is an alias; the message names the flag as it is now.
    let err = leakypick(["analyze", "--window", "0"]).fails().to_string();
    assert!(err.contains("--burst-window"), "{err}");
}

#[test]
fn help_explains_the_commands() {
    let out = leakypick(["analyze", "--help"]).ok().to_string();
    for needle in [
        "--format",
        "--include-lan",
        "--preset",
        "bundled sample",
        "--names",
    ] {
        assert!(
            out.contains(needle),
            "analyze --help lacks {needle}:\n{out}"
        );
    }
    let out = leakypick(["compare", "--help"]).ok().to_string();
    for needle in [
        "--idle",
        "--probe",
        "--device",
        "--probe-test",
        "--p-threshold",
        "0.42",
    ] {
        assert!(
            out.contains(needle),
            "compare --help lacks {needle}:\n{out}"
        );
    }
}
