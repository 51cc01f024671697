//! The simulator's random numbers: xoshiro256** seeded through SplitMix64, and the few
//! distributions the device models need.
//!
//! Written out here rather than taken from a crate so that "same seed, same bytes" holds
//! for good: a dependency update can never change the stream. Every distribution uses
//! only IEEE-754 operations that are exactly rounded (`+ - * /`, `sqrt`, `round`) and
//! the hand-written [`ln`] below, never the platform's `libm`, whose last bits may
//! differ between systems.

/// SplitMix64 (Steele, Lea and Flood 2014), the generator recommended for seeding the
/// xoshiro family: one step of it turns any 64-bit value into a well-mixed one.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman and Vigna 2018): fast, small, statistically sound for
/// simulation, and fully specified by its four words of state.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose stream depends only on `seed` and the `path` words (for example
    /// the device number and the process within the device). Independent streams keep
    /// one device's traffic unchanged when another device is added to the simulation.
    pub(crate) fn stream(seed: u64, path: &[u64]) -> Rng {
        let mut h = SplitMix64::new(seed).next_u64();
        for &w in path {
            h = SplitMix64::new(h ^ w.wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64();
        }
        let mut sm = SplitMix64::new(h);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// A uniform integer in `[0, n)`; `n` must be positive. Lemire's multiply-shift
    /// (without the rejection step: the bias is below 2^-40 for the small `n` used here).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// An exponential variable with the given mean (the gaps of a Poisson process).
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        -mean * ln(1.0 - self.unit())
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice, uniformly.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The natural logarithm of a positive, finite, normal `x`, computed with exactly rounded
/// operations only, so it gives the same bits on every platform. Accurate to a few ulp,
/// far more than a traffic model needs.
pub(crate) fn ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // The mantissa as a float in [1, 2), then moved to [sqrt(1/2), sqrt(2)).
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    if m > SQRT2 {
        m /= 2.0;
        exponent += 1;
    }
    // ln(m) = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.172: the odd series
    // converges fast (s^2 < 0.0295, so 12 terms reach 1e-18).
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..12 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    exponent as f64 * LN2 + 2.0 * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // Reference: Vigna's splitmix64.c seeded with 0.
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(g.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn xoshiro_matches_the_reference_stream() {
        // Reference: Vigna's xoshiro256starstar.c with state {1, 2, 3, 4}.
        let mut g = Rng { s: [1, 2, 3, 4] };
        let got: Vec<u64> = (0..4).map(|_| g.next_u64()).collect();
        assert_eq!(got, vec![11520, 0, 1509978240, 1215971899390074240]);
    }

    #[test]
    fn streams_differ_by_path_and_seed() {
        let a = Rng::stream(1, &[0, 1]).next_u64();
        assert_eq!(a, Rng::stream(1, &[0, 1]).next_u64());
        assert_ne!(a, Rng::stream(1, &[0, 2]).next_u64());
        assert_ne!(a, Rng::stream(2, &[0, 1]).next_u64());
        assert_ne!(a, Rng::stream(1, &[1, 0]).next_u64());
    }

    #[test]
    fn ln_agrees_with_the_platform_logarithm() {
        for &x in &[
            1e-300, 1e-9, 0.1, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            let want = f64::ln(x);
            assert!(
                (ln(x) - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1.0),
                "ln({x}) = {} want {want}",
                ln(x)
            );
        }
    }

    #[test]
    fn distributions_have_the_right_means() {
        let mut g = Rng::stream(7, &[]);
        let n = 200_000;
        let mean_exp: f64 = (0..n).map(|_| g.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((mean_exp - 3.0).abs() < 0.05, "{mean_exp}");
        let mean_u: f64 = (0..n).map(|_| g.uniform(2.0, 4.0)).sum::<f64>() / n as f64;
        assert!((mean_u - 3.0).abs() < 0.01, "{mean_u}");
        let mut counts = [0usize; 5];
        for _ in 0..n {
            counts[g.below(5)] += 1;
        }
        for c in counts {
            assert!((c as f64 / n as f64 - 0.2).abs() < 0.01, "{counts:?}");
        }
    }
}
