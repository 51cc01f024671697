//! The distribution of the two-sided one-sample Kolmogorov–Smirnov statistic
//! (scipy's `kstwo`), which `ks_2samp` uses for large samples.
//!
//! This follows scipy's `scipy/stats/_ksstats.py` (Simard and L'Ecuyer's choice
//! of algorithm by `n` and `n x^2`: Ruben–Gambino closed forms, Durbin's matrix
//! (Marsaglia–Tsang–Wang), Pomeranz's recursion, the Pelz–Good expansion, and
//! twice the one-sided Smirnov tail) branch by branch, so each input takes the
//! same algorithm as in scipy. The one-sided Smirnov tail is summed in
//! double-double arithmetic like scipy's C implementation, because its terms are
//! powers up to `n`.

// Coefficients are kept digit for digit as scipy publishes them.
#![allow(clippy::excessive_precision)]

use super::special::ldexp;
use std::f64::consts::PI;

const E128: i64 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128

/// `scipy.stats.kstwo.sf(d, n)`: `P(D_n > d)` for a sample of `n` values.
///
/// `n` must be a whole number >= 1 (it is the rounded effective size of the two
/// samples); `d` any number. Below the support (`d <= 1/(2n)`) the answer is 1,
/// at or above 1 it is 0.
pub(crate) fn kstwo_sf(d: f64, n: f64) -> f64 {
    if n.is_nan() || n < 1.0 || d.is_nan() {
        return 1.0;
    }
    if d <= 0.5 / n {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    // n is at most a few times 10^18 here (sample sizes fit in memory).
    kolmogn_sf(n as u64, d)
}

/// scipy's `_kolmogn(n, x, cdf=False)` for `1/(2n) < x < 1`.
fn kolmogn_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            // np.prod(np.arange(1, n+1) * (1.0/n) * (2*t - 1))
            let mut p = 1.0;
            for i in 1..=n {
                p *= (i as f64 * (1.0 / nf)) * (2.0 * t - 1.0);
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - dmtw_cdf(n, x));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x).unwrap_or_else(|| pelz_good_cdf(nf, x)));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        dmtw_cdf(n, x)
    } else {
        pelz_good_cdf(nf, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    if p.is_nan() {
        return 1.0;
    }
    p.clamp(0.0, 1.0)
}

/// `log(n! / n^n)` by Stirling's series (scipy's `_log_nfactorial_div_n_pow_n`).
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const COEFFS: [f64; 8] = [
        -2.955_065_359_477_124_183e-2,
        6.410_256_410_256_410_256_4e-3,
        -1.917_526_917_526_917_526_9e-3,
        8.417_508_417_508_417_508_4e-4,
        -5.952_380_952_380_952_381e-4,
        7.936_507_936_507_936_507_9e-4,
        -2.777_777_777_777_777_777_8e-3,
        8.333_333_333_333_333_333_3e-2,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = COEFFS.iter().fold(0.0, |acc, &c| acc * x + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * poly
}

/// Durbin's matrix method as arranged by Marsaglia, Tsang and Wang
/// (scipy's `_kolmogn_DMTW`): `P(D_n <= d)`.
fn dmtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powf(j as f64)).collect();
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powf(m as f64) - 2.0 * h.powf(m as f64);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pwr = vec![0.0f64; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i64 = 0;
    let mut h_expnt: i64 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            for v in hm.iter_mut() {
                *v /= EP128;
            }
            h_expnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    clip(p)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                c[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    c
}

/// scipy's `_pomeranz_compute_j1j2`: the column range of row `i`.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let ip1div2 = (i + 1) / 2;
        if (i + 1) % 2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Python slice bounds `[start:stop]` on a sequence of length `len`.
fn py_slice(len: usize, start: i64, stop: i64) -> (usize, usize) {
    let len_i = len as i64;
    let norm = |v: i64| -> usize {
        let v = if v < 0 { v + len_i } else { v };
        v.clamp(0, len_i) as usize
    };
    let s = norm(start);
    let e = norm(stop).max(s);
    (s, e)
}

/// Full discrete convolution (numpy's `np.convolve(a, v)`, mode `'full'`).
fn convolve(a: &[f64], v: &[f64]) -> Vec<f64> {
    if a.is_empty() || v.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + v.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in v.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// Pomeranz's recursion (scipy's `_kolmogn_Pomeranz`): `P(D_n <= x)`, or `None`
/// if the recursion's index bookkeeping leaves its arrays (scipy would raise).
fn pomeranz_cdf(n: u64, x: f64) -> Option<f64> {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = usize::try_from(2 * (ll + 1)).ok()?;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i64 = 0;
    let g_over_n = g / nf;
    let two_g_over_n = 2.0 * g / nf;
    let one_minus_two_g_over_n = (1.0 - 2.0 * g) / nf;
    for m in 1..npwrs {
        let mf = m as f64;
        gpower[m] = gpower[m - 1] * g_over_n / mf;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / mf;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / mf;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|v| *v = 0.0);
        let (new_j1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = new_j1;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let (s, e) = py_slice(npwrs, k1 - v0s, k1 - v0s + ln2);
            let (ps, pe) = py_slice(npwrs, 0, ln2);
            let conv = convolve(&v0[s..e], &pwrs[ps..pe]);
            let conv_start = j1 - k1;
            let conv_len = j2 - j1 + 1;
            let (cs, ce) = py_slice(conv.len(), conv_start, conv_start + conv_len);
            let (ds, de) = py_slice(npwrs, 0, conv_len);
            if ce - cs != de - ds {
                return None;
            }
            v1[ds..de].copy_from_slice(&conv[cs..ce]);
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < EM128 {
                v1.iter_mut().for_each(|v| *v *= EP128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = *v1.get(usize::try_from(ni - v1s).ok()?)?;
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    Some(clip(ans))
}

/// The Pelz–Good asymptotic expansion (scipy's `_kolmogn_PelzGood`):
/// `P(D_n <= x)`.
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let pi2 = PI.powf(2.0);
    let pi4 = PI.powf(4.0);
    let pi6 = PI.powf(6.0);
    let sqrt2pi = (2.0 * PI).sqrt();
    let z = n.sqrt() * x;
    let zsquared = z.powf(2.0);
    let zthree = z.powf(3.0);
    let zfour = z.powf(4.0);
    let zsix = z.powf(6.0);
    let qlog = -pi2 / 8.0 / zsquared;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -zsquared;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = pi4 * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = pi2 * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powf(8.0);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (msq, mfour, msix) = (m * m, m.powf(4.0), m.powf(6.0));
        let qpower = q.powf((8 * k) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * msq,
            k2a + k2b * msq + k2c * mfour,
            k3a + k3b * msq + k3c * mfour + k3d * msix,
        ];
        for (acc, c) in kk.iter_mut().zip(coeffs) {
            *acc = *acc * qpower + c;
        }
    }
    let div = [z, 6.0 * zfour, 72.0 * z.powf(7.0), 6480.0 * z.powf(10.0)];
    for (acc, dv) in kk.iter_mut().zip(div) {
        *acc = *acc * q * sqrt2pi / dv;
    }
    let q = (-pi2 / 2.0 / zsquared).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for k in (1..=maxk).rev() {
        let ksq = (k * k) as f64;
        let kspi = PI * k as f64;
        let qp = q.powf(ksq);
        k2extra += ksq * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
    }
    kk[2] += k2extra * (pi2 * sqrt2pi / (-36.0 * zthree));
    kk[3] += k3extra * (pi2 * sqrt2pi / (216.0 * zsix));
    let powers = [1.0, n.powf(0.5), n, n.powf(1.5)];
    kk.iter().zip(powers).map(|(k, p)| k / p).sum()
}

/// A double-double number: `hi + lo` with `|lo| <= ulp(hi) / 2`, about 32 digits.
#[derive(Debug, Clone, Copy)]
struct Dd {
    hi: f64,
    lo: f64,
}

impl Dd {
    fn new(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        let e = (a - (s - bb)) + (b - bb);
        Dd { hi: s, lo: e }
    }

    fn renorm(hi: f64, lo: f64) -> Dd {
        let s = hi + lo;
        Dd {
            hi: s,
            lo: lo - (s - hi),
        }
    }

    fn add(self, o: Dd) -> Dd {
        let s = Dd::two_sum(self.hi, o.hi);
        let t = Dd::two_sum(self.lo, o.lo);
        let r = Dd::renorm(s.hi, s.lo + t.hi);
        Dd::renorm(r.hi, r.lo + t.lo)
    }

    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    fn mul(self, o: Dd) -> Dd {
        let p = self.hi * o.hi;
        let e = self.hi.mul_add(o.hi, -p);
        Dd::renorm(p, e + (self.hi * o.lo + self.lo * o.hi))
    }

    fn div(self, o: Dd) -> Dd {
        let q1 = self.hi / o.hi;
        let r = self.add(o.mul(Dd::new(q1)).neg());
        let q2 = r.hi / o.hi;
        let r = r.add(o.mul(Dd::new(q2)).neg());
        let q3 = r.hi / o.hi;
        Dd::renorm(q1, q2).add(Dd::new(q3))
    }

    fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    /// `self * 2^e`.
    fn scale(self, e: i64) -> Dd {
        Dd {
            hi: ldexp(self.hi, e),
            lo: ldexp(self.lo, e),
        }
    }

    /// Splits into a mantissa with `|hi|` in [0.5, 1) and a power of two.
    fn frexp(self) -> (Dd, i64) {
        if self.hi == 0.0 || !self.hi.is_finite() {
            return (self, 0);
        }
        let e = frexp_exp(self.hi);
        (self.scale(-e), e)
    }
}

/// The exponent `e` with `x = m * 2^e`, `0.5 <= |m| < 1`, for finite non-zero `x`.
fn frexp_exp(x: f64) -> i64 {
    let bits = x.to_bits();
    let raw = ((bits >> 52) & 0x7ff) as i64;
    if raw == 0 {
        // Subnormal: scale into the normal range first.
        return frexp_exp(x * 2f64.powi(64)) - 64;
    }
    raw - 1022
}

/// A positive number as a double-double mantissa times a power of two, so that
/// powers like `(1 - x)^n` for `n` in the millions neither underflow nor lose
/// digits.
#[derive(Debug, Clone, Copy)]
struct Scaled {
    man: Dd,
    exp: i64,
}

impl Scaled {
    const ONE: Scaled = Scaled {
        man: Dd { hi: 0.5, lo: 0.0 },
        exp: 1,
    };

    fn from_dd(x: Dd) -> Scaled {
        let (man, exp) = x.frexp();
        Scaled { man, exp }
    }

    fn mul(self, o: Scaled) -> Scaled {
        let (man, e) = self.man.mul(o.man).frexp();
        Scaled {
            man,
            exp: self.exp + o.exp + e,
        }
    }

    fn div(self, o: Scaled) -> Scaled {
        let (man, e) = self.man.div(o.man).frexp();
        Scaled {
            man,
            exp: self.exp - o.exp + e,
        }
    }

    /// The sum of two non-negative scaled numbers.
    fn add(self, o: Scaled) -> Scaled {
        if self.man.hi == 0.0 {
            return o;
        }
        if o.man.hi == 0.0 {
            return self;
        }
        let e = self.exp.max(o.exp);
        let a = self.man.scale(self.exp - e);
        let b = o.man.scale(o.exp - e);
        let (man, k) = a.add(b).frexp();
        Scaled { man, exp: e + k }
    }

    /// `self / o` as an f64 (0 when it underflows).
    fn ratio(self, o: Scaled) -> f64 {
        ldexp(self.man.hi / o.man.hi, self.exp - o.exp)
    }

    /// `base^m` for a positive `base`, like scipy's `pow2Scaled_D`: the leading
    /// double is raised by binary powering with the exponent kept aside (so
    /// nothing underflows, at most ~2 log2(m) roundings), and the low part enters
    /// as the factor `(1 + lo/hi)^m`.
    fn powi(base: Dd, m: u64) -> Scaled {
        if m == 0 || base.hi == 0.0 {
            return if m == 0 {
                Scaled::ONE
            } else {
                Scaled {
                    man: Dd::new(0.0),
                    exp: 0,
                }
            };
        }
        let (man, e) = base.frexp();
        let (mut res, mut res_e) = (1.0f64, 0i64);
        let (mut b, mut b_e) = (man.hi, 0i64);
        let mut k = m;
        while k > 0 {
            if k & 1 == 1 {
                res *= b;
                res_e += b_e;
                let s = frexp_exp(res);
                res = ldexp(res, -s);
                res_e += s;
            }
            k >>= 1;
            if k > 0 {
                b *= b;
                b_e *= 2;
                let s = frexp_exp(b);
                b = ldexp(b, -s);
                b_e += s;
            }
        }
        // (1 + r)^m - 1 for r = lo/hi, as in scipy's pow_D.
        let r = man.lo / man.hi;
        let mf = m as f64;
        let mut adj = mf * r;
        if adj.abs() > 1e-8 {
            if adj.abs() < 1e-4 {
                adj += (mf * r) * ((mf - 1.0) / 2.0 * r);
            } else {
                adj = (mf * r.ln_1p()).exp_m1();
            }
        }
        let (man, s) = Dd::two_sum(res, res * adj).frexp();
        // m <= 2^63 and |e| <= 1100, so the exponent cannot overflow an i128;
        // saturate rather than wrap in the i64 we keep.
        let exp = i128::from(e) * i128::from(m) + i128::from(res_e) + i128::from(s);
        let exp = i64::try_from(exp).unwrap_or(if exp < 0 { i64::MIN / 4 } else { i64::MAX / 4 });
        Scaled { man, exp }
    }

    fn to_dd(self) -> Dd {
        let s = ldexp(1.0, self.exp);
        if s == 0.0 || s.is_infinite() {
            // Split the scaling so that the mantissa's digits are kept as long
            // as the result is representable.
            let hi = ldexp(self.man.hi, self.exp);
            let lo = ldexp(self.man.lo, self.exp);
            return Dd { hi, lo };
        }
        Dd {
            hi: self.man.hi * s,
            lo: self.man.lo * s,
        }
    }
}

/// scipy's `smirnov(n, x)`: the one-sided tail `P(D_n^+ > x)` (cephes
/// `_smirnov`), by the Birnbaum–Tingey sum in double-double arithmetic.
pub(crate) fn smirnov_sf(n: u64, x: f64) -> f64 {
    const MINLOG: f64 = -7.083_964_185_322_641e2;
    if x.is_nan() || !(0.0..=1.0).contains(&x) || n == 0 {
        return 1.0;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    // floor(n x) and its remainder, exactly.
    let nx = Dd::renorm(nf * x, nf.mul_add(x, -(nf * x)));
    let mut fl = Dd::new(nx.hi.floor());
    if fl.hi == nx.hi {
        fl = Dd::renorm(fl.hi, nx.lo.floor());
    }
    let mut alpha = nx.add(fl.neg()).hi;
    let mut nxfl = fl.to_f64() as i64;
    if alpha == 1.0 {
        nxfl += 1;
        alpha = 0.0;
    }
    let ni = n as i64;
    let mut n1mxfl = ni - nxfl - if alpha == 0.0 { 0 } else { 1 };
    if alpha == 0.0 {
        n1mxfl -= 1;
    }
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let t = Scaled::powi(Dd::new(1.0).add(Dd::new(x)), n - 1)
            .to_dd()
            .to_f64();
        return 1.0 - x * t;
    }
    if -2.0 * nf * x * x < MINLOG {
        return 0.0;
    }
    if nxfl >= ni - 1 {
        return Scaled::powi(Dd::new(1.0).add(Dd::new(-x)), n)
            .to_dd()
            .to_f64();
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powf(2.0) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 + logp.exp_m1()
        };
    }
    // Lower sum: P = x * sum_{v=0}^{n1mxfl} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
    // With nx = n x every term is n^-(n-1) C(n,v) (n-v-nx)^(n-v) (v+nx)^(v-1), so
    // the sum is taken without the common factor and with exact bases.
    let n_terms = n1mxfl + 1;
    let mut c = Scaled::ONE; // C(n, v)
    let mut sum = Scaled::powi(Dd::new(nf).add(nx.neg()), n).div(Scaled::from_dd(nx));
    for v in 1..n_terms {
        // C(n, v) = C(n, v-1) * (n - v + 1) / v
        c = c
            .mul(Scaled::from_dd(Dd::new((ni - v + 1) as f64)))
            .div(Scaled::from_dd(Dd::new(v as f64)));
        let base2 = Dd::new((ni - v) as f64).add(nx.neg());
        let base1 = Dd::new(v as f64).add(nx);
        let term = c
            .mul(Scaled::powi(base2, (ni - v) as u64))
            .mul(Scaled::powi(base1, (v - 1) as u64));
        sum = sum.add(term);
        // scipy's early exit: the remaining terms cannot reach an ulp of the sum.
        let ratio = term.ratio(sum);
        if 4.0 * (n_terms - v) as f64 * ratio < f64::EPSILON && v != n_terms - 1 {
            break;
        }
    }
    let scale = Scaled::powi(Dd::new(nf), n - 1);
    Scaled::from_dd(Dd::new(x))
        .mul(sum)
        .div(scale)
        .to_dd()
        .to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smirnov_small_exact_values() {
        // smirnov(2, 0.6): P(D+ > 0.6) for n = 2 is (1-x)^2 = 0.16 (x >= 1 - 1/n).
        assert!((smirnov_sf(2, 0.6) - 0.16).abs() < 1e-16);
        // scipy.special.smirnov(5, 0.3) = 0.34282
        let p = smirnov_sf(5, 0.3);
        assert!((p - 0.342_82).abs() < 1e-15, "{p}");
    }

    #[test]
    fn support_edges() {
        assert_eq!(kstwo_sf(0.0, 10.0), 1.0);
        assert_eq!(kstwo_sf(1.0, 10.0), 0.0);
    }

    #[test]
    fn double_double_division() {
        let q = Dd::new(1.0).div(Dd::new(3.0));
        let back = q.mul(Dd::new(3.0));
        assert!((back.hi - 1.0).abs() < 1e-30 || (back.to_f64() - 1.0).abs() < 1e-30);
    }
}
