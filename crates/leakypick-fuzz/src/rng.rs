//! A small seeded generator (xoshiro256**, seeded through SplitMix64): the campaign
//! must be reproducible from `--seed` alone, with no dependency and no clock.

/// xoshiro256**: fast, good enough for choosing mutations, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for `seed`; every seed, zero included, gives a usable state.
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The generator of one input of a campaign: input `i` of seed `seed` is the same
    /// whatever ran before it, so one finding can be replayed alone.
    pub fn for_input(seed: u64, i: u64) -> Rng {
        Rng::new(seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(17))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A number in `1..=max` with every power of two about as likely as the next:
    /// mostly small, sometimes huge (block floods).
    pub fn log_uniform(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.max(1).leading_zeros();
        let b = self.below(bits as usize + 1) as u32;
        let hi = 1usize.checked_shl(b).unwrap_or(usize::MAX).min(max.max(1));
        1 + self.below(hi)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r = Rng::for_input(1, 2);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let n = r.log_uniform(1000);
            assert!((1..=1000).contains(&n));
        }
        assert_eq!(r.below(0), 0);
        assert_ne!(
            Rng::for_input(1, 2).next_u64(),
            Rng::for_input(1, 3).next_u64()
        );
    }
}
