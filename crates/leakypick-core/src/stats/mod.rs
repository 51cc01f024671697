//! Statistics for statistical probing, written to match numpy and scipy exactly.
//!
//! The paper's test bins packet sizes with `numpy.histogram_bin_edges(bins='auto')`,
//! counts each sample with `numpy.histogram` on those edges, and compares the two
//! count vectors with `scipy.stats.ttest_ind` (Student, equal variances). The other
//! tests here work on the raw samples (Welch, Mann–Whitney U, Kolmogorov–Smirnov) or
//! on the binned counts (chi-square homogeneity), so that measurements can decide
//! which one detects best. Every function returns an error instead of NaN when a
//! p-value does not exist, saying why, and none of them panics.
//!
//! "Matches" means: bin edges and counts are bit-for-bit numpy's (the float
//! arithmetic of `np.percentile`, `np.linspace` and `np.histogram` is replicated
//! operation by operation), and statistics and p-values agree with scipy to 1e-9
//! relative (p-values below 1e-300 absolutely). Reference values come from
//! numpy/scipy via `scripts/gen_stats_fixtures.py`, and
//! `tests/stats_reference.rs` checks every case. Where we deliberately differ from
//! numpy/scipy, the function's documentation says so.
//!
//! A property of the paper's test worth knowing when reading its p-values: with
//! common edges each count vector sums to its sample's size, so the two means the
//! t-test compares are `n_idle / K` and `n_probe / K`. The test therefore reacts to
//! a difference in the *number* of packets (scaled by how unevenly they spread
//! over the bins), not to where they fall, and gives `t = 0, p = 1` whenever both
//! windows hold the same number of packets.
//!
//! Two choices behind the defaults:
//!
//! - `bins='auto'` changed in numpy 2.3 (a Freedman–Diaconis width of zero used to
//!   fall back to Sturges; now the FD width is floored at half the square-root
//!   width). The paper ran numpy 1.x, so [`histogram_bin_edges_auto`] uses the old
//!   rule and [`AutoBinRule::Numpy23`] gives the new one.
//! - `np.histogram(data, bins=edges)` with an explicit edge array counts by binary
//!   search (not numpy's fast path for uniform bins); [`histogram`] replicates that,
//!   and [`histogram_auto`] replicates the fast path of `np.histogram(data, 'auto')`.

mod chi2;
mod histogram;
mod kolmogorov;
mod ks;
mod mannwhitney;
mod special;
mod ttest;

pub use chi2::{chi2_homogeneity, combine_pvalues_fisher};
pub use histogram::{
    histogram, histogram_auto, histogram_bin_edges_auto, histogram_bin_edges_auto_with,
    AutoBinRule, AutoBins, MAX_BINS,
};
pub use ks::{ks_2samp, ks_2samp_with, KsMethod};
pub use mannwhitney::{mann_whitney_u, mann_whitney_u_with, MwuMethod};
pub use ttest::{ttest_ind_student, ttest_ind_welch};

/// Why a statistic could not be computed.
///
/// It is `non_exhaustive` because new tests may need new reasons; match with a
/// wildcard arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// A sample has fewer values than the test needs.
    #[error("needs at least {needed} values per sample, got {got}")]
    TooFewValues { needed: usize, got: usize },
    /// Both samples have zero variance, so the test statistic is undefined.
    #[error("both samples have zero variance, so the statistic is undefined")]
    ZeroVariance,
    /// A value is NaN or infinite.
    #[error("a value is NaN or infinite")]
    NonFinite,
    /// numpy's `auto` rule asks for more bins than [`MAX_BINS`] (numpy would try
    /// to allocate them; we refuse rather than exhaust memory).
    #[error("the 'auto' bin rule asks for {bins} bins, more than the maximum of {max}")]
    TooManyBins { bins: f64, max: usize },
    /// The data's range is so narrow that neighbouring bin edges would be equal in
    /// floating point (numpy raises "Too many bins for data range").
    #[error("cannot make {bins} bins of distinct floating-point edges over the data's range")]
    BinsTooNarrow { bins: usize },
    /// Bin edges must be at least two finite, non-decreasing numbers.
    #[error("bin edges must be at least two finite, non-decreasing numbers")]
    InvalidEdges,
    /// Integer binning was asked for but a value is not a whole number (or is
    /// beyond 2^53, where f64 stops holding every integer).
    #[error("integer binning needs whole numbers no larger than 2^53")]
    NotInteger,
    /// Two count vectors that must be aligned bin by bin have different lengths.
    #[error("count vectors differ in length ({a} and {b} bins)")]
    LengthMismatch { a: usize, b: usize },
    /// After dropping bins that are empty in both samples, fewer bins remain than
    /// the test needs.
    #[error("needs at least {needed} bins that are non-empty in some sample, got {got}")]
    TooFewBins { needed: usize, got: usize },
    /// A sample's counts are all zero, so its expected frequencies are zero.
    #[error("a sample has no counts, so its expected frequencies are zero")]
    ZeroCounts,
    /// A p-value given as input is outside [0, 1] or NaN.
    #[error("a p-value is outside [0, 1]")]
    InvalidProbability,
}

/// The outcome of a two-sample test: its statistic and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// Fails with [`StatsError::NonFinite`] if any value is NaN or infinite, because
/// every statistic here would otherwise turn into NaN.
fn check_finite(data: &[f64]) -> Result<(), StatsError> {
    if data.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(StatsError::NonFinite)
    }
}

/// Sums like numpy's `np.sum` on a contiguous float64 array (pairwise summation
/// with eight accumulators and blocks of 128), so that means and variances round
/// exactly as numpy's do.
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[full..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// The arithmetic mean as numpy computes it: pairwise sum divided by the count.
fn np_mean(a: &[f64]) -> f64 {
    pairwise_sum(a) / a.len() as f64
}

/// Clamps a probability into [0, 1], as scipy does before returning p-values.
fn clip01(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sum_on_integers() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 500_500.0);
        assert_eq!(pairwise_sum(&[]), 0.0);
        assert_eq!(np_mean(&[1.0, 2.0, 3.0]), 2.0);
    }

    /// The special functions behind the p-values against scipy's, on the grid of
    /// arguments in the fixture's `special` section (written by
    /// `scripts/gen_stats_fixtures.py`); this reaches branches of the Kolmogorov
    /// distribution that whole-test fixtures would need huge samples for.
    #[test]
    fn special_functions_match_scipy() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stats.json");
        let text = std::fs::read_to_string(path).unwrap();
        let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Floats are exact strings, whole numbers plain JSON integers.
        let num = |v: &serde_json::Value| -> f64 {
            match v.as_str() {
                Some(s) => s.parse().unwrap(),
                None => v.as_i64().unwrap() as f64,
            }
        };
        type Func = fn(f64, f64) -> f64;
        let funcs: [(&str, Func); 4] = [
            ("student_t", |df, t| special::student_t_two_sided(t, df)),
            ("chi2_sf", |df, x| special::chi2_sf(x, df)),
            ("kstwo_sf", |n, d| kolmogorov::kstwo_sf(d, n)),
            ("smirnov", |n, x| kolmogorov::smirnov_sf(n as u64, x)),
        ];
        let mut failures = Vec::new();
        for (name, func) in funcs {
            let rows = fx["special"][name].as_array().unwrap();
            assert!(!rows.is_empty());
            for row in rows {
                let (arg, x, want) = (num(&row[0]), num(&row[1]), num(&row[2]));
                let got = func(arg, x);
                let ok = got == want
                    || (got - want).abs() <= 1e-9 * want.abs()
                    || (want < 1e-300 && got < 1e-300);
                if !ok {
                    failures.push(format!("{name}({arg}, {x}) = {got:e}, scipy {want:e}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn errors_explain_themselves() {
        let e = StatsError::TooFewValues { needed: 2, got: 1 };
        assert_eq!(e.to_string(), "needs at least 2 values per sample, got 1");
    }
}
