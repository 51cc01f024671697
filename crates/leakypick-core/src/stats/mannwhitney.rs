//! The Mann–Whitney U test, as `scipy.stats.mannwhitneyu` computes it.
//!
//! It compares the ranks of the two samples, so it needs no assumption about the
//! shape of packet-size distributions (which are far from normal: a few sizes
//! dominate). Ties are common in packet sizes; the normal approximation corrects
//! the variance for them.

use super::special::{ndtr, scipy_binom_small};
use super::{check_finite, clip01, pairwise_sum, StatsError, TestResult};

/// How to turn U into a p-value (scipy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MwuMethod {
    /// scipy's `'auto'`: exact when a sample has at most 8 values and there are no
    /// ties, asymptotic otherwise.
    #[default]
    Auto,
    /// The normal approximation with continuity and tie correction.
    Asymptotic,
    /// The exact null distribution of U (which assumes no ties; with ties, U is
    /// truncated to a whole number as scipy does).
    Exact,
}

/// Largest U index the exact distribution is computed up to. scipy's exact
/// algorithm is quadratic in it, so scipy itself cannot get anywhere near this;
/// beyond it we use the normal approximation.
const MAX_EXACT_U: u64 = 1_000_000;

/// Bound on the exact computation's work (smaller sample size times `MAX_EXACT_U`
/// steps), so that `Exact` on two large samples falls back quickly instead of
/// spending seconds before the counts overflow.
const MAX_EXACT_WORK: u64 = 50_000_000;

/// `scipy.stats.mannwhitneyu(a, b, alternative='two-sided', use_continuity=True,
/// method='auto')`: U of `a` (`U1`) and the two-sided p-value.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    mann_whitney_u_with(a, b, MwuMethod::Auto)
}

/// [`mann_whitney_u`] with a chosen p-value method.
///
/// The exact method is computed with exact integer counts, so it agrees with
/// scipy's floating-point recursion to about 1e-13. When the exact distribution
/// would need U values beyond 10^6 (a sample of at most 8 values against one of
/// hundreds of thousands, which scipy would take hours for), more than 5·10^7
/// steps, or counts beyond 128-bit integers (the last two only with `Exact` on
/// two large samples), the asymptotic p-value is returned instead.
pub fn mann_whitney_u_with(
    a: &[f64],
    b: &[f64],
    method: MwuMethod,
) -> Result<TestResult, StatsError> {
    for s in [a, b] {
        if s.is_empty() {
            return Err(StatsError::TooFewValues { needed: 1, got: 0 });
        }
    }
    check_finite(a)?;
    check_finite(b)?;
    let n1 = a.len();
    let n2 = b.len();
    let n = n1 + n2;

    // scipy `_rankdata(xy, 'average', return_ties=True)` with a stable argsort.
    let mut order: Vec<(f64, usize)> = a.iter().chain(b).copied().zip(0..n).collect();
    order.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut ranks = vec![0.0; n];
    // Tie counts at the first position of each tie group, in sorted order.
    let mut ties = vec![0.0; n];
    let mut start = 0;
    let mut any_ties = false;
    while start < n {
        let v = order[start].0;
        let mut end = start + 1;
        // -0.0 and 0.0 are one value for numpy's `!=`, so compare with ==.
        while end < n && order[end].0 == v {
            end += 1;
        }
        let count = end - start;
        any_ties |= count > 1;
        let rank = (start + 1) as f64 + (count as f64 - 1.0) / 2.0;
        for &(_, i) in &order[start..end] {
            ranks[i] = rank;
        }
        ties[start] = count as f64;
        start = end;
    }

    let r1 = pairwise_sum(&ranks[..n1]);
    // Products of sizes in f64: exact below 2^53 (as Python's integers are), and
    // no overflow however large the samples.
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u1 = r1 - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1f * n2f - u1;
    let u = if u2 > u1 { u2 } else { u1 };

    let exact = match method {
        MwuMethod::Auto => (n1 <= 8 || n2 <= 8) && !any_ties,
        MwuMethod::Asymptotic => false,
        MwuMethod::Exact => true,
    };
    let p = if exact {
        // scipy casts U to int64 (truncation); U >= 0.
        exact_two_sided(n1 as u64, n2 as u64, u as u64)
    } else {
        None
    };
    let p = match p {
        Some(p) => p,
        None => asymptotic_two_sided(u, n1, n2, &ties),
    };
    Ok(TestResult {
        statistic: u1,
        p_value: clip01(p),
    })
}

/// scipy's `_get_mwu_z` and `2 * ndtr(-z)`.
fn asymptotic_two_sided(u: f64, n1: usize, n2: usize, ties: &[f64]) -> f64 {
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, (n1 + n2) as f64);
    let mu = n1f * n2f / 2.0;
    let terms: Vec<f64> = ties.iter().map(|&t| t * t * t - t).collect();
    let tie_term = pairwise_sum(&terms);
    let s = (n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)))).sqrt();
    let numerator = u - mu - 0.5;
    if s.is_nan() || s <= 0.0 {
        // Every value tied: U equals its mean, so scipy's z is -inf and p clips to 1.
        return 1.0;
    }
    let z = numerator / s;
    2.0 * ndtr(-z)
}

/// Two-sided exact p-value `2 * P(U >= u)` under the null hypothesis, as scipy's
/// `_MWU.sf` computes it, or `None` when too large to compute.
fn exact_two_sided(n1: u64, n2: u64, u: u64) -> Option<f64> {
    let (m, big) = if n1 <= n2 { (n1, n2) } else { (n2, n1) };
    let total_u = m.checked_mul(big)?;
    let kc = total_u.checked_sub(u)?;
    // P(U >= u) is P(U <= n1*n2 - u) by symmetry when u is above the middle;
    // otherwise 1 - P(U <= u) + P(U = u).
    let (max_u, upper) = if u < kc { (u, false) } else { (kc, true) };
    if max_u > MAX_EXACT_U || m.saturating_mul(max_u) > MAX_EXACT_WORK {
        return None;
    }
    let counts = u_counts(m, big, max_u as usize)?;
    let total = scipy_binom_small((m + big) as f64, m as f64);
    // scipy: pmfs = configurations / total; cdf = cumsum(pmfs).
    let mut cdf = 0.0;
    for &c in &counts {
        cdf += c as f64 / total;
    }
    let p = if upper {
        cdf
    } else {
        let pmf_last = *counts.last()? as f64 / total;
        1.0 - cdf + pmf_last
    };
    Some(2.0 * p)
}

/// Number of arrangements of `m` and `big` values with `U = u`, for `u` up to
/// `max_u`: the coefficients of the Gaussian binomial
/// `prod_{i=1..m} (1 - q^(big+i)) / (1 - q^i)`, in exact integers.
fn u_counts(m: u64, big: u64, max_u: usize) -> Option<Vec<i128>> {
    let mut c = vec![0i128; max_u + 1];
    c[0] = 1;
    // Divide by (1 - q^i): a running sum with stride i.
    for i in 1..=m as usize {
        for u in i..=max_u {
            c[u] = c[u].checked_add(c[u - i])?;
        }
    }
    // Multiply by (1 - q^s), s = big + i: subtract the series shifted by s.
    for i in 1..=m {
        let s = usize::try_from(big + i).ok()?;
        if s > max_u {
            continue;
        }
        for u in (s..=max_u).rev() {
            c[u] = c[u].checked_sub(c[u - s])?;
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_to_binomial() {
        // n1 = 3, n2 = 4: U ranges over 0..=12 and the counts sum to C(7, 3) = 35.
        let c = u_counts(3, 4, 12).unwrap();
        assert_eq!(c.iter().sum::<i128>(), 35);
        assert_eq!(c[0], 1);
        assert_eq!(c[12], 1);
        assert_eq!(c[6], 5);
    }

    #[test]
    fn separated_samples_small_exact() {
        // scipy: mannwhitneyu([1,2,3], [4,5,6]) -> U=0, p=0.1 (exact).
        let r = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!((r.p_value - 0.1).abs() < 1e-15, "{}", r.p_value);
    }

    #[test]
    fn all_tied_gives_p_one() {
        let r = mann_whitney_u(&[2.0; 10], &[2.0; 12]).unwrap();
        assert_eq!(r.statistic, 60.0);
        assert_eq!(r.p_value, 1.0);
    }
}
