//! Statistics for statistical probing, written to match numpy and scipy exactly.
//!
//! The paper's test bins packet sizes with `numpy.histogram_bin_edges(bins='auto')`,
//! counts each sample with `numpy.histogram` on those edges, and compares the two
//! count vectors with `scipy.stats.ttest_ind` (Student, equal variances). The other
//! tests here work on the raw samples. Every function returns an error instead of
//! NaN when a p-value does not exist, saying why.
//!
//! Reference values come from numpy/scipy via `scripts/gen_stats_fixtures.py`.

use std::fmt;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsError {
    /// A sample has fewer values than the test needs.
    TooFewValues { needed: usize, got: usize },
    /// Both samples have zero variance, so the test statistic is undefined.
    ZeroVariance,
    /// A value is NaN or infinite.
    NonFinite,
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::TooFewValues { needed, got } => {
                write!(f, "needs at least {needed} values per sample, got {got}")
            }
            StatsError::ZeroVariance => {
                write!(f, "both samples have zero variance, so the statistic is undefined")
            }
            StatsError::NonFinite => write!(f, "a value is NaN or infinite"),
        }
    }
}

impl std::error::Error for StatsError {}

/// The outcome of a two-sample test: its statistic and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
}
