//! Two-sample t-tests, as `scipy.stats.ttest_ind` computes them.
//!
//! The paper's statistical probing runs the Student version on the two histogram
//! count vectors; Welch's version on the raw samples is the better-founded
//! alternative (it does not assume equal variances).

use super::special::student_t_two_sided;
use super::{check_finite, np_mean, pairwise_sum, StatsError, TestResult};

/// `scipy.stats.ttest_ind(a, b)` (equal variances, two-sided): the t statistic of
/// `a` minus `b` and its p-value.
///
/// Like scipy, a sample of one value is allowed (its variance counts as zero in
/// the pooled variance) as long as the two samples have three values together,
/// so that there is a degree of freedom. Fewer values is
/// [`StatsError::TooFewValues`], where scipy returns NaN.
///
/// When both samples have zero variance the statistic is undefined:
/// [`StatsError::ZeroVariance`]. scipy returns NaN when the means are equal and
/// `t = ±inf, p = 0` when they differ; we return the error in both cases, because
/// an infinite t from two constant samples is not evidence of anything a
/// t-test measures (and would not survive JSON output).
pub fn ttest_ind_student(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_sizes(a, b, 1)?;
    if a.len() + b.len() < 3 {
        return Err(StatsError::TooFewValues {
            needed: 2,
            got: a.len().max(b.len()),
        });
    }
    let (m1, v1) = mean_var(a);
    let (m2, v2) = mean_var(b);
    let n1 = a.len() as f64;
    let n2 = b.len() as f64;
    // scipy `_equal_var_ttest_denom`: a lone value contributes no variance.
    let v1 = if a.len() == 1 { 0.0 } else { v1 };
    let v2 = if b.len() == 1 { 0.0 } else { v2 };
    let df = n1 + n2 - 2.0;
    let svar = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / df;
    let denom = (svar * (1.0 / n1 + 1.0 / n2)).sqrt();
    finish(m1, m2, denom, df)
}

/// `scipy.stats.ttest_ind(a, b, equal_var=False)` (Welch, two-sided): the t
/// statistic of `a` minus `b` and its p-value with the Welch–Satterthwaite degrees
/// of freedom.
///
/// Each sample needs at least two values (scipy returns NaN otherwise). Both
/// samples with zero variance is [`StatsError::ZeroVariance`], as for
/// [`ttest_ind_student`].
pub fn ttest_ind_welch(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_sizes(a, b, 2)?;
    let (m1, v1) = mean_var(a);
    let (m2, v2) = mean_var(b);
    let n1 = a.len() as f64;
    let n2 = b.len() as f64;
    let vn1 = v1 / n1;
    let vn2 = v2 / n2;
    let df = ((vn1 + vn2) * (vn1 + vn2)) / ((vn1 * vn1) / (n1 - 1.0) + (vn2 * vn2) / (n2 - 1.0));
    // scipy: an undefined df (both variances zero) is replaced by 1; the zero
    // denominator below then decides.
    let df = if df.is_nan() { 1.0 } else { df };
    let denom = (vn1 + vn2).sqrt();
    finish(m1, m2, denom, df)
}

fn check_sizes(a: &[f64], b: &[f64], needed: usize) -> Result<(), StatsError> {
    for s in [a, b] {
        if s.len() < needed {
            return Err(StatsError::TooFewValues {
                needed,
                got: s.len(),
            });
        }
    }
    check_finite(a)?;
    check_finite(b)
}

/// Mean and unbiased variance (`ddof=1`) as scipy's `_var` computes them: the mean
/// of squared deviations, times `n / (n - 1)`. For one value the variance is
/// reported as 0 (the callers handle that case).
fn mean_var(x: &[f64]) -> (f64, f64) {
    let m = np_mean(x);
    if x.len() < 2 {
        return (m, 0.0);
    }
    let sq: Vec<f64> = x.iter().map(|v| (v - m) * (v - m)).collect();
    let n = x.len() as f64;
    let var = (pairwise_sum(&sq) / n) * (n / (n - 1.0));
    (m, var)
}

fn finish(m1: f64, m2: f64, denom: f64, df: f64) -> Result<TestResult, StatsError> {
    if denom == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let t = (m1 - m2) / denom;
    if !t.is_finite() || df.is_nan() || df <= 0.0 {
        // Overflowing data (means near f64::MAX) is the only way here.
        return Err(StatsError::NonFinite);
    }
    Ok(TestResult {
        statistic: t,
        p_value: student_t_two_sided(t, df),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_give_p_one() {
        let a = [1.0, 2.0, 3.0];
        let r = ttest_ind_student(&a, &a).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn constant_samples_are_zero_variance() {
        assert_eq!(
            ttest_ind_student(&[1.0, 1.0], &[2.0, 2.0]),
            Err(StatsError::ZeroVariance)
        );
        assert_eq!(
            ttest_ind_welch(&[1.0, 1.0], &[1.0, 1.0]),
            Err(StatsError::ZeroVariance)
        );
    }

    #[test]
    fn too_few_values() {
        assert!(matches!(
            ttest_ind_student(&[1.0], &[2.0]),
            Err(StatsError::TooFewValues { .. })
        ));
        assert!(ttest_ind_student(&[1.0], &[2.0, 3.0]).is_ok());
        assert!(matches!(
            ttest_ind_welch(&[1.0], &[2.0, 3.0]),
            Err(StatsError::TooFewValues { .. })
        ));
        assert!(matches!(
            ttest_ind_welch(&[], &[2.0, 3.0]),
            Err(StatsError::TooFewValues { .. })
        ));
    }
}
