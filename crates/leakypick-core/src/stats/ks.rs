//! The two-sample Kolmogorov–Smirnov test, as `scipy.stats.ks_2samp` computes it.
//!
//! It compares the two empirical distribution functions, so it reacts to any
//! change in the distribution of packet sizes or inter-arrival times, not only to
//! a shift of the mean.

use super::kolmogorov::kstwo_sf;
use super::{check_finite, clip01, StatsError, TestResult};

/// How to compute the p-value (scipy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KsMethod {
    /// scipy's `'auto'`: exact when both samples have at most 10 000 values,
    /// asymptotic otherwise.
    #[default]
    Auto,
    /// The exact distribution of the statistic under the null hypothesis
    /// (Hodges' lattice-path counting). Falls back to the asymptotic one, as scipy
    /// does, when the least common multiple of the sizes is too large or the
    /// computation leaves [0, 1].
    Exact,
    /// The distribution of the one-sample statistic for the effective size
    /// `round(n1 * n2 / (n1 + n2))` (scipy's `kstwo`). Needs two values in one
    /// of the samples, so that the effective size is at least 1.
    Asymp,
}

/// scipy's threshold for `'auto'`: exact when `max(n1, n2) <= MAX_AUTO_N`.
const MAX_AUTO_N: usize = 10_000;

/// `scipy.stats.ks_2samp(a, b, alternative='two-sided', method='auto')`: the
/// statistic D (largest distance between the two empirical CDFs) and its
/// two-sided p-value.
///
/// As in scipy, when the exact method is used D is reported as the rational
/// `h / lcm(n1, n2)` it was rounded to. Each sample needs at least one value.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    ks_2samp_with(a, b, KsMethod::Auto)
}

/// [`ks_2samp`] with a chosen p-value method.
pub fn ks_2samp_with(a: &[f64], b: &[f64], method: KsMethod) -> Result<TestResult, StatsError> {
    for s in [a, b] {
        if s.is_empty() {
            return Err(StatsError::TooFewValues { needed: 1, got: 0 });
        }
    }
    check_finite(a)?;
    check_finite(b)?;
    let mut s1 = a.to_vec();
    let mut s2 = b.to_vec();
    s1.sort_by(f64::total_cmp);
    s2.sort_by(f64::total_cmp);
    let n1 = s1.len();
    let n2 = s2.len();
    let mut d = statistic(&s1, &s2);

    let g = gcd(n1 as u64, n2 as u64);
    let n1g = n1 as u64 / g;
    let n2g = n2 as u64 / g;
    let mut asymp = match method {
        KsMethod::Auto => n1.max(n2) > MAX_AUTO_N,
        KsMethod::Asymp => true,
        KsMethod::Exact => n1g as f64 >= f64::from(i32::MAX) / n2g as f64,
    };
    let mut prob = 0.0;
    if !asymp {
        let (d_exact, p) = exact_two_sided(n1 as u64, n2 as u64, g, d);
        d = d_exact;
        match p {
            Some(p) => prob = p,
            None => asymp = true,
        }
    }
    if asymp {
        let (m, n) = if n1 >= n2 {
            (n1 as f64, n2 as f64)
        } else {
            (n2 as f64, n1 as f64)
        };
        let en = (m * n / (m + n)).round_ties_even();
        if en < 1.0 {
            // One value per sample: the effective size rounds to 0 and scipy's
            // p-value is NaN.
            return Err(StatsError::TooFewValues { needed: 2, got: 1 });
        }
        prob = kstwo_sf(d, en);
    }
    Ok(TestResult {
        statistic: d,
        p_value: clip01(prob),
    })
}

/// scipy's D: the largest of `cdf1 - cdf2` and `cdf2 - cdf1` over all data
/// points, with each CDF evaluated as `searchsorted(side='right') / n`.
fn statistic(s1: &[f64], s2: &[f64]) -> f64 {
    let n1 = s1.len() as f64;
    let n2 = s2.len() as f64;
    let mut max_s = f64::NEG_INFINITY;
    let mut min_s = f64::INFINITY;
    for &v in s1.iter().chain(s2) {
        let c1 = s1.partition_point(|&x| x <= v) as f64 / n1;
        let c2 = s2.partition_point(|&x| x <= v) as f64 / n2;
        let diff = c1 - c2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    if min_s > max_s {
        min_s
    } else {
        max_s
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` for the two-sided alternative: D rounded to
/// `h / lcm`, and the p-value, or `None` when the computation fails (scipy then
/// switches to the asymptotic method with the rounded D).
fn exact_two_sided(n1: u64, n2: u64, g: u64, d: f64) -> (f64, Option<f64>) {
    let lcm = (n1 / g) as f64 * n2 as f64;
    let h = (d * lcm).round_ties_even();
    let d = h / lcm;
    if h == 0.0 {
        return (d, Some(1.0));
    }
    // h <= lcm <= 10^8 for the sizes that reach here, so it is a whole i64.
    let h = h as i64;
    let prob = if n1 == n2 {
        prob_outside_square(n1 as i64, h)
    } else {
        outer_prob_inside(n1 as i64, n2 as i64, g as i64, h)
    };
    match prob {
        Some(p) if (0.0..=1.0).contains(&p) => (d, Some(p)),
        _ => (d, None),
    }
}

/// scipy's `_compute_prob_outside_square(n, h)`: `P(D_{n,n} >= h/n)` by the
/// alternating series written in Horner form.
fn prob_outside_square(n: i64, h: i64) -> Option<f64> {
    if h <= 0 {
        return None;
    }
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    Some(2.0 * p)
}

/// scipy's `_compute_outer_prob_inside_method(m, n, g, h)` (Hodges' inside
/// method with Viehmann's recursion for `1 - p`): the proportion of lattice paths
/// from (0, 0) to (m, n) that leave the band `|x/m - y/n| < h / lcm(m, n)`.
fn outer_prob_inside(m: i64, n: i64, g: i64, h: i64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1);
    let len_a = usize::try_from(len_a).ok()?;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(usize::try_from(maxj).ok()?) {
        *v = 0.0;
    }
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        minj = ((((ng * i - h) as f64) / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = ((((ng * i + h) as f64) / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return Some(1.0);
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let src = usize::try_from(jj + minj - lastminj).ok()?;
            let prev = *a.get(src)?;
            val = (prev * i as f64 + val * j as f64) / (i + j) as f64;
            *a.get_mut(usize::try_from(jj).ok()?)? = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = usize::try_from(maxj - minj).ok()?;
            let to = usize::try_from(maxj - minj + (lastlen - curlen)).ok()?;
            // numpy slice assignment clips at the end of the array.
            let to = to.min(a.len());
            for v in a.iter_mut().take(to).skip(from) {
                *v = 1.0;
            }
        }
    }
    a.get(usize::try_from(maxj - minj - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let r = ks_2samp(&a, &a).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn separated_equal_sizes_exact() {
        // scipy: ks_2samp([1,2,3], [4,5,6]) -> D = 1, p = 0.1.
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.p_value - 0.1).abs() < 1e-15, "{}", r.p_value);
    }

    #[test]
    fn empty_sample_is_error() {
        assert!(ks_2samp(&[], &[1.0]).is_err());
    }
}
