//! The statistics module against numpy and scipy.
//!
//! `tests/fixtures/stats.json` is written by `scripts/gen_stats_fixtures.py` from
//! numpy/scipy runs; every case there is checked here. Bin edges and counts must be
//! bit-identical; statistics and p-values must agree to 1e-9 relative (1e-300
//! absolute for p-values that small). Where numpy/scipy fail or give NaN, or where
//! leakypick deliberately refuses, the fixture names the `StatsError` expected.
//! Property tests at the end check what no fixture can: no panic, no NaN, counts
//! that add up, p-values in [0, 1].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_core::stats::{
    self, AutoBinRule, AutoBins, KsMethod, MwuMethod, StatsError, TestResult,
};
use proptest::prelude::*;
use serde_json::Value;

const REL_TOL: f64 = 1e-9;
const ABS_FLOOR: f64 = 1e-300;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stats.json");
    let text = std::fs::read_to_string(path).expect("run scripts/gen_stats_fixtures.py");
    serde_json::from_str(&text).unwrap()
}

/// A float from the fixture: a string (Python's exact repr) or an integer.
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("bad float {s:?}")),
        Value::Number(n) => {
            let i = n
                .as_i64()
                .unwrap_or_else(|| panic!("non-integer JSON number {n}"));
            let f = i as f64;
            assert_eq!(f as i64, i, "integer {i} is not exact in f64");
            f
        }
        other => panic!("expected a number, got {other}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

fn name(v: &Value) -> String {
    v["name"].as_str().unwrap_or("").to_string()
}

fn variant(e: &StatsError) -> &'static str {
    match e {
        StatsError::TooFewValues { .. } => "TooFewValues",
        StatsError::ZeroVariance => "ZeroVariance",
        StatsError::NonFinite => "NonFinite",
        StatsError::TooManyBins { .. } => "TooManyBins",
        StatsError::BinsTooNarrow { .. } => "BinsTooNarrow",
        StatsError::InvalidEdges => "InvalidEdges",
        StatsError::NotInteger => "NotInteger",
        StatsError::LengthMismatch { .. } => "LengthMismatch",
        StatsError::TooFewBins { .. } => "TooFewBins",
        StatsError::ZeroCounts => "ZeroCounts",
        StatsError::InvalidProbability => "InvalidProbability",
        _ => "unknown",
    }
}

fn close(got: f64, want: f64) -> bool {
    if got == want {
        return true;
    }
    let diff = (got - want).abs();
    diff <= REL_TOL * want.abs() || (want.abs() < ABS_FLOOR && diff < ABS_FLOOR)
}

/// Collects mismatches so that one run reports all of them.
#[derive(Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
    worst: (f64, String),
}

impl Report {
    fn value(&mut self, what: &str, got: f64, want: f64) {
        self.checked += 1;
        if got != want && want.abs() >= ABS_FLOOR {
            let rel = ((got - want) / want).abs();
            if rel > self.worst.0 {
                self.worst = (rel, what.to_string());
            }
        }
        if !close(got, want) {
            let rel = ((got - want) / want).abs();
            self.failures.push(format!(
                "{what}: got {got:e}, want {want:e} (rel {rel:.1e})"
            ));
        }
    }

    fn test(&mut self, what: &str, got: Result<TestResult, StatsError>, want: &Value) {
        self.checked += 1;
        match (got, want.get("error")) {
            (Ok(r), None) => {
                self.value(
                    &format!("{what} statistic"),
                    r.statistic,
                    num(&want["statistic"]),
                );
                self.value(&format!("{what} p"), r.p_value, num(&want["pvalue"]));
            }
            (Err(e), Some(w)) if variant(&e) == w.as_str().unwrap() => {}
            (got, _) => self
                .failures
                .push(format!("{what}: got {got:?}, want {want}")),
        }
    }

    fn exact<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        self.checked += 1;
        if got != want {
            self.failures
                .push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }

    fn finish(self, section: &str) {
        assert!(self.checked > 0, "{section}: no cases");
        eprintln!(
            "{section}: {} checks, largest relative difference {:.1e} ({})",
            self.checked, self.worst.0, self.worst.1
        );
        assert!(
            self.failures.is_empty(),
            "{section}: {} of {} checks failed:\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
    }
}

fn bins_opts(case: &Value) -> AutoBins {
    let rule = match case["rule"].as_str().unwrap() {
        "legacy" => AutoBinRule::Legacy,
        "numpy23" => AutoBinRule::Numpy23,
        r => panic!("unknown rule {r}"),
    };
    AutoBins {
        rule,
        integer_data: case["integer"].as_bool().unwrap(),
    }
}

/// Edges compared bit for bit (with -0.0 == 0.0, as numpy compares).
fn same_edges(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(a, b)| a == b)
}

#[test]
fn auto_bin_edges_and_counts_match_numpy() {
    let fx = fixtures();
    let mut rep = Report::default();
    for case in fx["histograms"].as_array().unwrap() {
        let what = format!("{} [{}]", name(case), case["rule"]);
        let data = floats(&case["data"]);
        let opts = bins_opts(case);
        let got = stats::histogram_bin_edges_auto_with(&data, opts);
        match (&got, case.get("error")) {
            (Ok(edges), None) => {
                let want = floats(&case["edges"]);
                rep.checked += 1;
                if !same_edges(edges, &want) {
                    rep.failures
                        .push(format!("{what}: edges {edges:?} != numpy {want:?}"));
                }
                let want_counts = counts(&case["auto_counts"]);
                let (e2, c2) = stats::histogram_auto(&data, opts).unwrap();
                rep.exact(&format!("{what} histogram_auto edges"), &e2, edges);
                rep.exact(&format!("{what} histogram_auto counts"), &c2, &want_counts);
                let c3 = stats::histogram(&data, edges).unwrap();
                rep.exact(&format!("{what} histogram counts"), &c3, &want_counts);
            }
            (Err(e), Some(w)) => rep.exact(&what, variant(e), w.as_str().unwrap()),
            _ => rep
                .failures
                .push(format!("{what}: got {got:?}, want {case}")),
        }
        if opts.rule == AutoBinRule::Legacy && !opts.integer_data {
            // The default entry point is the paper's rule on float data.
            rep.exact(
                &format!("{what} default"),
                stats::histogram_bin_edges_auto(&data),
                got,
            );
        }
    }
    rep.finish("histograms");
}

#[test]
fn explicit_edge_histograms_match_numpy() {
    let fx = fixtures();
    let mut rep = Report::default();
    for case in fx["explicit_histograms"].as_array().unwrap() {
        let got = stats::histogram(&floats(&case["data"]), &floats(&case["edges"])).unwrap();
        rep.exact(&name(case), got, counts(&case["counts"]));
    }
    rep.finish("explicit histograms");
}

/// The paper's statistical probing end to end: common `auto` edges over both
/// samples, a histogram of each, Student's t-test on the two count vectors (and
/// the chi-square test on the same counts).
#[test]
fn paper_pipeline_matches_numpy_and_scipy() {
    let fx = fixtures();
    let mut rep = Report::default();
    for case in fx["pipeline"].as_array().unwrap() {
        let idle = floats(&case["idle"]);
        let probe = floats(&case["probe"]);
        let all: Vec<f64> = idle.iter().chain(&probe).copied().collect();
        for var in case["variants"].as_array().unwrap() {
            let what = format!("{} [{} int={}]", name(case), var["rule"], var["integer"]);
            let edges = match (
                stats::histogram_bin_edges_auto_with(&all, bins_opts(var)),
                var.get("error"),
            ) {
                (Ok(e), None) => e,
                (Err(e), Some(w)) => {
                    rep.exact(&what, variant(&e), w.as_str().unwrap());
                    continue;
                }
                (got, _) => {
                    rep.failures.push(format!("{what}: got {got:?}"));
                    continue;
                }
            };
            rep.exact(
                &format!("{what} edges"),
                edges.clone(),
                floats(&var["edges"]),
            );
            let fi = stats::histogram(&idle, &edges).unwrap();
            let fp = stats::histogram(&probe, &edges).unwrap();
            rep.exact(
                &format!("{what} idle counts"),
                &fi,
                &counts(&var["counts_idle"]),
            );
            rep.exact(
                &format!("{what} probe counts"),
                &fp,
                &counts(&var["counts_probe"]),
            );
            let a: Vec<f64> = fi.iter().map(|&c| c as f64).collect();
            let b: Vec<f64> = fp.iter().map(|&c| c as f64).collect();
            rep.test(
                &format!("{what} ttest"),
                stats::ttest_ind_student(&a, &b),
                &var["ttest_counts"],
            );
            rep.test(
                &format!("{what} chi2"),
                stats::chi2_homogeneity(&fi, &fp),
                &var["chi2_counts"],
            );
        }
    }
    rep.finish("pipeline");
}

#[test]
fn two_sample_tests_match_scipy() {
    let fx = fixtures();
    let mut rep = Report::default();
    for case in fx["two_sample"].as_array().unwrap() {
        let what = name(case);
        let a = floats(&case["a"]);
        let b = floats(&case["b"]);
        rep.test(
            &format!("{what} student"),
            stats::ttest_ind_student(&a, &b),
            &case["student"],
        );
        rep.test(
            &format!("{what} welch"),
            stats::ttest_ind_welch(&a, &b),
            &case["welch"],
        );
        rep.test(
            &format!("{what} mwu auto"),
            stats::mann_whitney_u(&a, &b),
            &case["mwu_auto"],
        );
        rep.test(
            &format!("{what} mwu asymptotic"),
            stats::mann_whitney_u_with(&a, &b, MwuMethod::Asymptotic),
            &case["mwu_asymptotic"],
        );
        rep.test(
            &format!("{what} ks auto"),
            stats::ks_2samp(&a, &b),
            &case["ks_auto"],
        );
        rep.test(
            &format!("{what} ks asymp"),
            stats::ks_2samp_with(&a, &b, KsMethod::Asymp),
            &case["ks_asymp"],
        );
        rep.test(
            &format!("{what} ks exact"),
            stats::ks_2samp_with(&a, &b, KsMethod::Exact),
            &case["ks_exact"],
        );
    }
    rep.finish("two-sample tests");
}

#[test]
fn chi2_homogeneity_matches_scipy() {
    let fx = fixtures();
    let mut rep = Report::default();
    for case in fx["chi2"].as_array().unwrap() {
        let got = stats::chi2_homogeneity(&counts(&case["counts_a"]), &counts(&case["counts_b"]));
        rep.test(&name(case), got, &case["result"]);
    }
    rep.finish("chi2");
}

#[test]
fn fisher_combination_matches_scipy() {
    let fx = fixtures();
    let mut rep = Report::default();
    for case in fx["fisher"].as_array().unwrap() {
        let ps = floats(&case["ps"]);
        let what = format!(
            "fisher over {} p-values starting {:?}",
            ps.len(),
            &ps[..ps.len().min(3)]
        );
        match (
            stats::combine_pvalues_fisher(&ps),
            case["result"].get("error"),
        ) {
            (Ok(p), None) => rep.value(&what, p, num(&case["result"]["pvalue"])),
            (Err(e), Some(w)) => rep.exact(&what, variant(&e), w.as_str().unwrap()),
            (got, _) => rep
                .failures
                .push(format!("{what}: got {got:?}, want {}", case["result"])),
        }
    }
    rep.finish("fisher");
}

fn finite_vec(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    // Mix integers (ties, like packet sizes) with wide-ranging floats.
    let value = prop_oneof![
        (0u32..2000).prop_map(f64::from),
        -1e6f64..1e6,
        (1e-9f64..1e3).prop_map(|v| v * 1e-3),
        Just(0.0),
    ];
    prop::collection::vec(value, 0..max_len)
}

fn p_ok(r: &Result<TestResult, StatsError>) -> bool {
    match r {
        Ok(r) => r.p_value.is_finite() && (0.0..=1.0).contains(&r.p_value) && !r.statistic.is_nan(),
        Err(_) => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn binning_never_panics_and_counts_add_up(data in finite_vec(300), legacy in any::<bool>()) {
        let rule = if legacy { AutoBinRule::Legacy } else { AutoBinRule::Numpy23 };
        let opts = AutoBins { rule, integer_data: false };
        if let Ok(edges) = stats::histogram_bin_edges_auto_with(&data, opts) {
            prop_assert!(edges.len() >= 2 && edges.len() <= stats::MAX_BINS + 1);
            prop_assert!(edges.windows(2).all(|w| w[0] < w[1]));
            let c = stats::histogram(&data, &edges).unwrap();
            prop_assert_eq!(c.iter().sum::<u64>(), data.len() as u64);
            let (e2, c2) = stats::histogram_auto(&data, opts).unwrap();
            prop_assert_eq!(e2, edges);
            prop_assert_eq!(c2, c);
        } else {
            prop_assert!(data.is_empty() || data.len() > 2);
        }
    }

    #[test]
    fn tests_never_panic_or_return_nan(a in finite_vec(60), b in finite_vec(60)) {
        prop_assert!(p_ok(&stats::ttest_ind_student(&a, &b)));
        prop_assert!(p_ok(&stats::ttest_ind_welch(&a, &b)));
        prop_assert!(p_ok(&stats::mann_whitney_u(&a, &b)));
        prop_assert!(p_ok(&stats::mann_whitney_u_with(&a, &b, MwuMethod::Exact)));
        prop_assert!(p_ok(&stats::ks_2samp(&a, &b)));
        prop_assert!(p_ok(&stats::ks_2samp_with(&a, &b, KsMethod::Asymp)));
    }

    #[test]
    fn binned_tests_never_panic(a in prop::collection::vec(0u64..50, 0..30), b in prop::collection::vec(0u64..50, 0..30)) {
        prop_assert!(p_ok(&stats::chi2_homogeneity(&a, &b)));
        let n = a.len().min(b.len());
        prop_assert!(p_ok(&stats::chi2_homogeneity(&a[..n], &b[..n])));
    }

    #[test]
    fn fisher_is_a_probability(ps in prop::collection::vec(0.0f64..=1.0, 0..50)) {
        match stats::combine_pvalues_fisher(&ps) {
            Ok(p) => prop_assert!((0.0..=1.0).contains(&p)),
            Err(_) => prop_assert!(ps.is_empty()),
        }
    }

    #[test]
    fn non_finite_input_is_an_error_not_nan(mut a in finite_vec(20), b in finite_vec(20), which in 0usize..3) {
        a.push([f64::NAN, f64::INFINITY, f64::NEG_INFINITY][which]);
        prop_assert!(stats::histogram_bin_edges_auto(&a).is_err());
        prop_assert!(stats::ttest_ind_welch(&a, &b).is_err());
        prop_assert!(stats::mann_whitney_u(&a, &b).is_err());
        prop_assert!(stats::ks_2samp(&a, &b).is_err());
    }
}
