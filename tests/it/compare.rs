//! `leakypick compare` on real captures, against numpy/scipy.
//!
//! Expected p-values come from `scripts/reference_compare.py` (tshark for the frames,
//! numpy and scipy for the statistics, nothing shared with leakypick), run once:
//!
//! ```text
//! python3 scripts/reference_compare.py CAPTURE MAC IDLE_START IDLE_END PROBE_START PROBE_END
//! ```
//!
//! numpy's bins='auto' is taken as it was before numpy 2.3 (what the paper used; the
//! script rebuilds it from 'sturges' and 'fd').

use crate::util::{leakypick, of_type, shared_capture};
use serde_json::Value;

fn close(got: &Value, want: f64, what: &str) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    let rel = ((g - want) / want).abs();
    assert!(
        rel <= 1e-9,
        "{what}: got {g}, numpy/scipy {want} (relative error {rel:e})"
    );
}

fn compare(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["compare", "--format", "json", "--test", "all"];
    all.extend_from_slice(args);
    let values = leakypick(all).json();
    assert_eq!(
        of_type(&values, "comparison").len(),
        5,
        "one object per test"
    );
    values
}

fn test<'a>(values: &'a [Value], name: &str) -> &'a Value {
    values
        .iter()
        .find(|v| v["test"] == name)
        .unwrap_or_else(|| panic!("no {name} result"))
}

struct Expected {
    idle: u64,
    probe: u64,
    bins: u64,
    paper: [f64; 3],
    welch: f64,
    mann_whitney: f64,
    ks: f64,
}

fn check(values: &[Value], e: &Expected) {
    let paper = test(values, "paper");
    assert_eq!(paper["idle_packets"], e.idle);
    assert_eq!(paper["probe_packets"], e.probe);
    assert_eq!(paper["bins"], e.bins);
    close(&paper["p_size"], e.paper[0], "paper p_size");
    close(&paper["p_iat"], e.paper[1], "paper p_iat");
    close(&paper["p_combined"], e.paper[2], "paper p_combined");
    assert_eq!(paper["reacted"], e.paper[0] < 0.42);
    close(&test(values, "welch")["p_size"], e.welch, "welch p_size");
    close(
        &test(values, "mann-whitney")["p_size"],
        e.mann_whitney,
        "mann-whitney p_size",
    );
    close(&test(values, "ks")["p_size"], e.ks, "ks p_size");
}

#[test]
fn echo_dot_idle_versus_activation_on_the_bundled_sample() {
    // reference_compare.py echodot3a_active.pcap 68:db:f5:90:19:64 0 19 19 38
    let values = compare(&[
        "--device",
        "68:db:f5:90:19:64",
        "--idle",
        "+0,+19",
        "--probe",
        "+19,+38",
    ]);
    check(
        &values,
        &Expected {
            idle: 449,
            probe: 670,
            bins: 12,
            paper: [0.7389517547470151, 0.5652500038057854, 0.7823421149237133],
            welch: 5.023691536487896e-48,
            mann_whitney: 4.0459267290645685e-40,
            ks: 1.1512713160937653e-26,
        },
    );
    // The paper's test misses this activation (its t-test on bin counts mostly compares
    // how many frames each window has); the raw-sample tests do not.
    assert_eq!(test(&values, "paper")["reacted"], false);
    assert_eq!(test(&values, "welch")["reacted"], true);
}

#[test]
fn echo_idle_versus_a_voice_command() {
    // reference_compare.py haipeng_li__alexa_5_30s.pcap c4:95:00:e3:93:2f 14 29 29 44
    let path = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let values = compare(&[
        path.to_str().unwrap_or_default(),
        "--device",
        "c4:95:00:e3:93:2f",
        "--idle",
        "+14,+29",
        "--probe",
        "+29,+44",
    ]);
    check(
        &values,
        &Expected {
            idle: 3,
            probe: 145,
            bins: 9,
            paper: [
                0.26856775339615724,
                0.012518716790207138,
                0.022510031274296915,
            ],
            welch: 4.081635464006827e-16,
            mann_whitney: 7.648352669652747e-06,
            ks: 0.00031734278309620753,
        },
    );
    assert_eq!(test(&values, "paper")["reacted"], true);
}

#[test]
fn two_idle_windows_of_different_lengths_fool_the_paper_test() {
    // reference_compare.py echodot3a_active.pcap 68:db:f5:90:19:64 0 10 10 11
    let values = compare(&[
        "--device",
        "68:db:f5:90:19:64",
        "--idle",
        "+0,+10",
        "--probe",
        "+10,+11",
    ]);
    check(
        &values,
        &Expected {
            idle: 237,
            probe: 23,
            bins: 10,
            paper: [
                0.37631559150061367,
                0.005484542640441363,
                0.014825436463090175,
            ],
            welch: 0.2443865115248315,
            mann_whitney: 0.8628852808937886,
            ks: 1.0,
        },
    );
}

#[test]
fn a_window_without_frames_gives_no_p_value_and_says_why() {
    // 18:74:2e:41:4d:35 is first seen 8.4 s after the first packet (tshark).
    let values = compare(&[
        "--device",
        "18:74:2e:41:4d:35",
        "--idle",
        "+0,+5",
        "--probe",
        "+5,+40",
    ]);
    for v in of_type(&values, "comparison") {
        assert_eq!(v["idle_packets"], 0);
        assert!(v["p_size"].is_null() && v["p_iat"].is_null() && v["p_combined"].is_null());
        assert!(v["reacted"].is_null());
        let why = v["missing"]["p_size"].as_str().unwrap_or_default();
        assert!(why.contains("idle window has 0 packets"), "{why}");
    }
    let table = leakypick([
        "compare",
        "--device",
        "18:74:2e:41:4d:35",
        "--idle",
        "+0,+5",
        "--probe",
        "+5,+40",
    ]);
    assert!(
        table.ok().contains("idle window has 0 packets"),
        "{}",
        table.stdout
    );
}

#[test]
fn bad_arguments_are_explained() {
    let r = leakypick([
        "compare", "--device", "nope", "--idle", "+0,+5", "--probe", "+5,+10",
    ]);
    assert!(
        r.fails().contains("'nope' is neither a MAC address"),
        "{}",
        r.stderr
    );
    let r = leakypick([
        "compare",
        "--device",
        "68:db:f5:90:19:64",
        "--idle",
        "+5,+1",
        "--probe",
        "+5,+10",
    ]);
    assert!(!r.status.success());
    assert!(r.stderr.contains("is not after the start"), "{}", r.stderr);
    let r = leakypick([
        "compare",
        "--device",
        "68:db:f5:90:19:64",
        "--idle",
        "+0,+5",
        "--probe",
        "+5,+10",
        "--threshold",
        "2",
    ]);
    assert!(r.fails().contains("--p-threshold 2"), "{}", r.stderr);
}

#[test]
fn numpy_2_3_binning_on_request() {
    // reference_compare.py echodot3a_active.pcap 68:db:f5:90:19:64 0 19 19 38 --installed-auto
    // with numpy 2.4.6, whose bins='auto' is the 2.3 rule: 67 bins instead of 12.
    let values = compare(&[
        "--device",
        "68:db:f5:90:19:64",
        "--idle",
        "+0,+19",
        "--probe",
        "+19,+38",
        "--bin-rule",
        "numpy-2.3",
    ]);
    let paper = test(&values, "paper");
    assert_eq!(paper["bins"], 67);
    assert_eq!(paper["bin_rule"], "numpy-2.3");
    close(
        &paper["p_size"],
        0.7360978676950981,
        "paper p_size (numpy 2.3 bins)",
    );
    close(
        &paper["p_iat"],
        0.5652500038057854,
        "paper p_iat (numpy 2.3 bins)",
    );
}
