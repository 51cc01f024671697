//! Special functions behind the p-values, accurate to about 1e-13 relative.
//!
//! statrs' regularized incomplete beta stops after 140 continued-fraction steps and
//! takes `1 - x` itself, which costs up to 1e-8 for the large degrees of freedom a
//! Welch test on thousands of packets has, and its erf is good to only 1e-10; so the
//! Student t tail and the normal CDF are computed here. The chi-square tail uses
//! statrs' incomplete gamma, which is good to 1e-10 relative up to the 10^5 degrees
//! of freedom that [`super::MAX_BINS`] allows (1e-13 below 1000).

// Coefficients are kept digit for digit as cephes publishes them.
#![allow(clippy::excessive_precision)]

use statrs::function::gamma::{checked_gamma_ur, ln_gamma};

/// Two-sided p-value of Student's t: `2 * sf(|t|, df)`, which equals
/// `I_{df/(df+t^2)}(df/2, 1/2)`, the regularized incomplete beta function.
///
/// Requires `df > 0`; `t` may be any non-NaN value.
pub(crate) fn student_t_two_sided(t: f64, df: f64) -> f64 {
    let r = (t * t) / df; // t^2/df; x = 1/(1+r), y = r/(1+r)
    if r == 0.0 {
        return 1.0;
    }
    if r.is_infinite() {
        return 0.0;
    }
    let ln_x = -r.ln_1p();
    let ln_y = if r > 1.0 {
        -(1.0 / r).ln_1p()
    } else {
        r.ln() - r.ln_1p()
    };
    let x = 1.0 / (1.0 + r);
    let y = r / (1.0 + r);
    let a = df / 2.0;
    let b = 0.5;
    if a >= 100.0 {
        // The continued fraction loses up to 1e-9 for df in the millions near its
        // switch-over point; the asymptotic expansion is good to 1e-15 there.
        return super::clip01(inc_beta_large_a_half(a, r));
    }
    let ln_beta = ln_beta_half(a);
    let p = if x < (a + 1.0) / (a + b + 2.0) {
        inc_beta_cf(a, b, x, ln_x, ln_y, ln_beta)
    } else {
        1.0 - inc_beta_cf(b, a, y, ln_y, ln_x, ln_beta)
    };
    super::clip01(p)
}

/// `I_x(a, 1/2)` with `x = 1/(1+r)`, for large `a`, by DiDonato and Morris'
/// asymptotic expansion (ACM TOMS 708, routine BGRAT, eq. 9–9.6; also Boost's
/// `beta_small_b_large_a_series`): the leading term is the incomplete gamma
/// `Q(1/2, u) = erfc(sqrt(u))` with `u = -(a - 1/4) ln x`, and the corrections
/// fall off like `(ln x)^2 / (2a)^2`. The `J_n` of the paper are kept multiplied
/// by `u^b e^-u / Γ(b)`, so nothing divides by a number that may underflow.
fn inc_beta_large_a_half(a: f64, r: f64) -> f64 {
    const LN_GAMMA_HALF: f64 = 0.572_364_942_924_700_1;
    let b = 0.5f64;
    let lx = -r.ln_1p();
    let t = a + (b - 1.0) / 2.0;
    let u = -t * lx;
    // Γ(a+b)/(Γ(a) t^b); ln Γ(a + 1/2) - ln Γ(a) = ln Γ(1/2) - ln B(a, 1/2).
    let scale = ((LN_GAMMA_HALF - ln_beta_half(a)) - b * t.ln()).exp();
    let h = (b * u.ln() - u - LN_GAMMA_HALF).exp();
    let mut big_j = erfc(u.sqrt());
    let mut sum = big_j;
    // (2k+1)! for k = 0..30.
    let mut odd_fact = [1.0f64; 31];
    let mut f = 1.0;
    for (k, slot) in odd_fact.iter_mut().enumerate().skip(1) {
        f *= (2 * k) as f64 * (2 * k + 1) as f64;
        *slot = f;
    }
    let mut p = [0.0f64; 30];
    p[0] = 1.0;
    let lx2 = (lx / 2.0) * (lx / 2.0);
    let mut lxp = 1.0;
    let t4 = 4.0 * t * t;
    let mut b2n = b;
    for n in 1..p.len() {
        let mut pn = 0.0;
        for m in 1..n {
            pn += (m as f64 * b - n as f64) * p[n - m] / odd_fact[m];
        }
        p[n] = pn / n as f64 + (b - 1.0) / odd_fact[n];
        big_j = (b2n * (b2n + 1.0) * big_j + (u + b2n + 1.0) * lxp * h) / t4;
        lxp *= lx2;
        b2n += 2.0;
        let term = p[n] * big_j;
        sum += term;
        if term.abs() <= f64::EPSILON * sum.abs() {
            break;
        }
    }
    scale * sum
}

/// `ln B(a, 1/2)`, accurate even for huge `a` where `ln Γ(a)` and `ln Γ(a + 1/2)`
/// are large and nearly equal.
fn ln_beta_half(a: f64) -> f64 {
    const LN_GAMMA_HALF: f64 = 0.572_364_942_924_700_1; // ln(sqrt(pi))
    if a < 20.0 {
        return ln_gamma(a) + LN_GAMMA_HALF - ln_gamma(a + 0.5);
    }
    // Stirling: ln Γ(z) = (z - 1/2) ln z - z + ln(2π)/2 + ω(z), so
    // ln Γ(a) - ln Γ(a + 1/2) = -ln(a)/2 + (1/2 - a ln(1 + 1/(2a))) + ω(a) - ω(a + 1/2).
    let s = 0.5;
    let core = -s * a.ln() + (s - a * (s / a).ln_1p());
    core + stirling_omega(a) - stirling_omega(a + s) + LN_GAMMA_HALF
}

/// The remainder of Stirling's series for `ln Γ(z)`, good to 1e-17 for `z >= 20`.
fn stirling_omega(z: f64) -> f64 {
    let z2 = z * z;
    (1.0 / 12.0
        - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * z2)) / z2) / z2) / z2)
        / z
}

/// `I_x(a, b)` by the continued fraction (modified Lentz), valid and quickly
/// convergent for `x < (a + 1) / (a + b + 2)`. `ln_x`, `ln_y` are `ln x` and
/// `ln(1 - x)` computed accurately by the caller, and `ln_beta` is `ln B(a, b)`.
fn inc_beta_cf(a: f64, b: f64, x: f64, ln_x: f64, ln_y: f64, ln_beta: f64) -> f64 {
    let front = (a * ln_x + b * ln_y - ln_beta).exp() / a;
    if front == 0.0 {
        return 0.0;
    }
    const TINY: f64 = 1e-300;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..200_000u32 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    front * h
}

/// Survival function of the chi-square distribution with `df` degrees of freedom
/// (scipy's `chdtrc(df, x)`), for `df > 0`.
pub(crate) fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() {
        return 1.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    match checked_gamma_ur(df / 2.0, x / 2.0) {
        Ok(p) if p.is_finite() => super::clip01(p),
        // Unreachable for df > 0 and finite x > 0; a safe answer rather than NaN.
        _ => 1.0,
    }
}

/// The standard normal CDF, as cephes' `ndtr` (used by scipy) computes it: erf
/// near zero, erfc in the tails, so small tail probabilities keep their relative
/// precision.
pub(crate) fn ndtr(a: f64) -> f64 {
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < 1.0 {
        0.5 + 0.5 * erf(x)
    } else {
        let y = 0.5 * erfc(z);
        if x > 0.0 {
            1.0 - y
        } else {
            y
        }
    }
}

// Cephes' rational approximations for erf and erfc (statrs' are only good to
// about 1e-10 relative, too coarse for matching scipy's p-values).
const NDTR_P: [f64; 9] = [
    2.461_969_814_735_305_125_24E-10,
    5.641_895_648_310_688_219_77E-1,
    7.463_210_564_422_699_126_87E0,
    4.863_719_709_856_813_666_14E1,
    1.965_208_329_560_771_982_42E2,
    5.264_451_949_954_773_586_31E2,
    9.345_285_271_719_576_075_40E2,
    1.027_551_886_895_157_102_72E3,
    5.575_353_353_693_993_275_26E2,
];
const NDTR_Q: [f64; 8] = [
    1.322_819_511_547_449_925_08E1,
    8.670_721_408_859_897_423_29E1,
    3.549_377_788_878_198_910_62E2,
    9.757_085_017_432_054_897_53E2,
    1.823_909_166_879_097_362_89E3,
    2.246_337_608_187_109_817_92E3,
    1.656_663_091_941_613_501_82E3,
    5.575_353_408_177_276_755_46E2,
];
const NDTR_R: [f64; 6] = [
    5.641_895_835_477_550_739_84E-1,
    1.275_366_707_599_781_044_16E0,
    5.019_050_422_511_804_774_14E0,
    6.160_210_979_930_535_851_95E0,
    7.409_742_699_504_489_391_60E0,
    2.978_866_653_721_002_406_70E0,
];
const NDTR_S: [f64; 6] = [
    2.260_528_632_201_172_765_90E0,
    9.396_035_249_380_014_346_73E0,
    1.204_895_398_080_966_566_05E1,
    1.708_144_507_475_658_972_22E1,
    9.608_968_090_632_858_781_98E0,
    3.369_076_451_000_815_160_50E0,
];
const NDTR_T: [f64; 5] = [
    9.604_973_739_870_516_387_49E0,
    9.002_601_972_038_426_892_17E1,
    2.232_005_345_946_843_192_26E3,
    7.003_325_141_128_050_754_73E3,
    5.559_230_130_103_949_627_68E4,
];
const NDTR_U: [f64; 5] = [
    3.356_171_416_475_030_996_47E1,
    5.213_579_497_801_526_797_95E2,
    4.594_323_829_709_801_279_87E3,
    2.262_900_006_138_909_342_46E4,
    4.926_739_426_086_359_210_86E4,
];
const MAXLOG: f64 = 7.097_827_128_933_839_968_43E2;

/// Cephes `polevl`: the polynomial with coefficients `c` (highest power first).
fn polevl(x: f64, c: &[f64]) -> f64 {
    c.iter().skip(1).fold(c[0], |acc, &k| acc * x + k)
}

/// Cephes `p1evl`: like [`polevl`] with an implied leading coefficient 1.
fn p1evl(x: f64, c: &[f64]) -> f64 {
    c.iter().skip(1).fold(x + c[0], |acc, &k| acc * x + k)
}

/// The error function (cephes `erf`).
fn erf(x: f64) -> f64 {
    if x < 0.0 {
        return -erf(-x);
    }
    if x > 1.0 {
        return 1.0 - erfc(x);
    }
    let z = x * x;
    x * polevl(z, &NDTR_T) / p1evl(z, &NDTR_U)
}

/// The complementary error function (cephes `erfc`).
fn erfc(a: f64) -> f64 {
    let x = a.abs();
    if x < 1.0 {
        return 1.0 - erf(a);
    }
    let z = -a * a;
    if z < -MAXLOG {
        return if a < 0.0 { 2.0 } else { 0.0 };
    }
    let z = z.exp();
    let (p, q) = if x < 8.0 {
        (polevl(x, &NDTR_P), p1evl(x, &NDTR_Q))
    } else {
        (polevl(x, &NDTR_R), p1evl(x, &NDTR_S))
    };
    let y = (z * p) / q;
    let y = if a < 0.0 { 2.0 - y } else { y };
    if y != 0.0 {
        y
    } else if a < 0.0 {
        2.0
    } else {
        0.0
    }
}

/// scipy's `special.binom(n, k)` for whole `n >= 0` and `0 <= k < 20` (after
/// symmetry), by its product formula, so the rounding is scipy's.
pub(crate) fn scipy_binom_small(n: f64, k: f64) -> f64 {
    let mut kx = k;
    if kx > n / 2.0 && n > 0.0 {
        kx = n - kx;
    }
    let mut num = 1.0;
    let mut den = 1.0;
    let steps = kx as u32;
    for i in 1..=steps {
        num *= f64::from(i) + n - kx;
        den *= f64::from(i);
        if num.abs() > 1e50 {
            num /= den;
            den = 1.0;
        }
    }
    num / den
}

/// `x * 2^e` without overflowing the scale factor, like C's `ldexp` (except that
/// results in the subnormal range may round twice).
pub(crate) fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= pow2(1000);
        e -= 1000;
        if x.is_infinite() || x == 0.0 {
            return x;
        }
    }
    while e < -1000 {
        x *= pow2(-1000);
        e += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * pow2(e)
}

/// `2^e` for `-1022 <= e <= 1023`, built from its bits.
fn pow2(e: i64) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_known_values() {
        // scipy: 2*stdtr(10, -2.0) = 0.07338803477074037
        let p = student_t_two_sided(2.0, 10.0);
        assert!((p - 0.073_388_034_770_740_37).abs() < 1e-15, "{p}");
        assert_eq!(student_t_two_sided(0.0, 3.0), 1.0);
        // df = 1 is the Cauchy distribution: p = 1 - 2 atan(t)/pi.
        let p = student_t_two_sided(1.0, 1.0);
        assert!((p - 0.5).abs() < 1e-15, "{p}");
        // Here scipy's stdtr says 0.9999999905136262, 3e-9 off; the closed form
        // (mpmath) is 0.99999999363380227632.
        let p = student_t_two_sided(1e-8, 1.0);
        assert!((p - 0.999_999_993_633_802_3).abs() < 1e-16, "{p}");
    }

    #[test]
    fn ln_beta_half_is_continuous_at_the_switch() {
        let lo = ln_gamma(20.0) + 0.572_364_942_924_700_1 - ln_gamma(20.5);
        assert!((ln_beta_half(20.0) - lo).abs() < 1e-13);
    }

    #[test]
    fn binom_matches_exact_small_values() {
        assert_eq!(scipy_binom_small(16.0, 8.0), 12870.0);
        assert_eq!(scipy_binom_small(5.0, 0.0), 1.0);
    }

    #[test]
    fn ldexp_handles_large_exponents() {
        assert_eq!(ldexp(1.0, 3), 8.0);
        assert_eq!(ldexp(2f64.powi(600), -1200), 2f64.powi(-600));
    }

    #[test]
    fn ndtr_tails() {
        assert_eq!(ndtr(0.0), 0.5);
        let p = ndtr(-1.959_963_984_540_054);
        assert!((p - 0.025).abs() < 1e-17, "{p}");
        // scipy.special.erfc(10.0) = 2.0884875837625446e-45
        assert!((erfc(10.0) / 2.088_487_583_762_544_6e-45 - 1.0).abs() < 1e-15);
    }
}
