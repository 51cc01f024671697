//! Chi-square homogeneity of two binned samples, and Fisher's combination of
//! p-values from repeated tests.

use super::special::chi2_sf;
use super::{pairwise_sum, StatsError};

/// Chi-square test that two samples binned on the same edges come from the same
/// distribution: `scipy.stats.chi2_contingency([counts_a, counts_b],
/// correction=False)` after dropping the bins that are empty in both samples.
///
/// Returns the Pearson statistic and its p-value with `K' - 1` degrees of
/// freedom, `K'` being the number of bins left. Unlike the paper's t-test on the
/// two count vectors, this is the textbook test for comparing two histograms.
///
/// Dropping empty bins is what makes the test defined at all (scipy raises on a
/// zero expected frequency), and it does not change the statistic, since such bins
/// contribute nothing. We pass `correction=False`: scipy would otherwise apply
/// Yates' continuity correction when exactly two bins remain, and only then, which
/// makes the statistic jump as the bin count changes.
///
/// Errors: the vectors differ in length ([`StatsError::LengthMismatch`]); one
/// sample has no counts at all ([`StatsError::ZeroCounts`], scipy raises); fewer
/// than two bins remain ([`StatsError::TooFewBins`]; scipy would report
/// `statistic 0, p = 1` for one bin, but one bin cannot show a difference).
pub fn chi2_homogeneity(
    counts_a: &[u64],
    counts_b: &[u64],
) -> Result<super::TestResult, StatsError> {
    if counts_a.len() != counts_b.len() {
        return Err(StatsError::LengthMismatch {
            a: counts_a.len(),
            b: counts_b.len(),
        });
    }
    let (row_a, row_b): (Vec<f64>, Vec<f64>) = counts_a
        .iter()
        .zip(counts_b)
        .filter(|(&x, &y)| x != 0 || y != 0)
        .map(|(&x, &y)| (x as f64, y as f64))
        .unzip();
    let k = row_a.len();
    let sum_a = pairwise_sum(&row_a);
    let sum_b = pairwise_sum(&row_b);
    if sum_a == 0.0 || sum_b == 0.0 {
        return Err(StatsError::ZeroCounts);
    }
    if k < 2 {
        return Err(StatsError::TooFewBins { needed: 2, got: k });
    }
    // scipy `expected_freq`: row margin * column margin / grand total, with the
    // grand total summed over the whole table in row-major order.
    let table: Vec<f64> = row_a.iter().chain(&row_b).copied().collect();
    let total = pairwise_sum(&table);
    let mut terms = Vec::with_capacity(2 * k);
    for (row, sum) in [(&row_a, sum_a), (&row_b, sum_b)] {
        for (j, &obs) in row.iter().enumerate() {
            let col = row_a[j] + row_b[j];
            let expected = sum * col / total;
            terms.push((obs - expected) * (obs - expected) / expected);
        }
    }
    let stat = pairwise_sum(&terms);
    let df = (k - 1) as f64;
    Ok(super::TestResult {
        statistic: stat,
        p_value: chi2_sf(stat, df),
    })
}

/// Fisher's method for combining independent p-values (the paper repeats the
/// test when it fires): `scipy.stats.combine_pvalues(ps, method='fisher')[1]`.
///
/// The statistic `-2 Σ ln p` is chi-square with `2k` degrees of freedom, whose
/// survival function has the closed form `e^{-S} Σ_{i<k} S^i / i!` with
/// `S = -Σ ln p`; it is evaluated in log space so that many small p-values do not
/// underflow before they are summed. A p-value of exactly 0 gives 0. An empty
/// list ([`StatsError::TooFewValues`]) or a p-value outside [0, 1]
/// ([`StatsError::InvalidProbability`]) is an error.
pub fn combine_pvalues_fisher(ps: &[f64]) -> Result<f64, StatsError> {
    if ps.is_empty() {
        return Err(StatsError::TooFewValues { needed: 1, got: 0 });
    }
    if ps.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(StatsError::InvalidProbability);
    }
    if ps.contains(&0.0) {
        return Ok(0.0);
    }
    let logs: Vec<f64> = ps.iter().map(|p| p.ln()).collect();
    // scipy: statistic = -2 * sum(log(p)); the chi-square argument halved is S.
    let s = -pairwise_sum(&logs);
    if s <= 0.0 {
        return Ok(1.0);
    }
    let k = ps.len();
    // ln of the terms e^{-S} S^i / i!, i = 0..k-1, then log-sum-exp.
    let ln_s = s.ln();
    let mut ln_terms = Vec::with_capacity(k);
    let mut ln_fact = 0.0;
    for i in 0..k {
        if i > 0 {
            ln_fact += (i as f64).ln();
        }
        ln_terms.push(-s + i as f64 * ln_s - ln_fact);
    }
    let max = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = ln_terms.iter().map(|t| (t - max).exp()).sum();
    let p = (max + sum.ln()).exp();
    Ok(super::clip01(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_histograms_give_p_one() {
        let r = chi2_homogeneity(&[3, 0, 5], &[3, 0, 5]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            chi2_homogeneity(&[1], &[1, 2]),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert_eq!(
            chi2_homogeneity(&[0, 0], &[1, 2]),
            Err(StatsError::ZeroCounts)
        );
        assert!(matches!(
            chi2_homogeneity(&[4, 0], &[2, 0]),
            Err(StatsError::TooFewBins { .. })
        ));
    }

    #[test]
    fn fisher_single_p_is_identity() {
        let p = combine_pvalues_fisher(&[0.3]).unwrap();
        assert!((p - 0.3).abs() < 1e-15);
        assert_eq!(combine_pvalues_fisher(&[0.0, 0.5]).unwrap(), 0.0);
        assert_eq!(combine_pvalues_fisher(&[1.0, 1.0]).unwrap(), 1.0);
        assert!(combine_pvalues_fisher(&[1.5]).is_err());
    }
}
