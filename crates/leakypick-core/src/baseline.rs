//! A device's learned idle upload rate, for burst detection with a per-device threshold.
//!
//! The paper uses one rate threshold for every device (23 kbit/s). A device that is
//! silent when idle could be caught at a lower rate (a low-bitrate codec), and a chatty
//! one (a camera's keep-alives) needs a higher one. [`RateBaseline`] learns, per device,
//! a high quantile of the upload rate of its *idle* windows (windows that are not part
//! of a burst), forgetting old windows with a half-life, and the burst detector then
//! uses `max(floor, factor × quantile)` as that device's threshold.
//!
//! Memory is fixed: a histogram of 4 buckets per octave of rate (bits per second) from
//! 1 bit/s to 2^40 bit/s, plus one bucket for empty windows. Decay is applied lazily, so
//! a run of empty windows costs one update.

/// Parameters of the per-device threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineConfig {
    /// The threshold never goes below this rate (bits per second).
    pub floor_bps: f64,
    /// The threshold is this many times the baseline quantile.
    pub factor: f64,
    /// Which quantile of the idle window rates is the baseline (0.99: the rate that
    /// 99% of idle windows stay under).
    pub quantile: f64,
    /// Idle windows a device needs before its learned threshold is used; until then
    /// the static threshold of the `BurstConfig` applies.
    pub warmup_windows: u32,
    /// Windows after which an observation's weight has halved.
    pub half_life_windows: f64,
}

impl BaselineConfig {
    /// The values measured in `docs/evaluation.md`.
    pub fn product_default() -> BaselineConfig {
        BaselineConfig {
            floor_bps: 8_000.0,
            factor: 4.0,
            quantile: 0.99,
            warmup_windows: 300,
            half_life_windows: 86_400.0,
        }
    }

    /// Checks that the parameters make sense, naming the one that does not.
    pub fn validate(&self) -> Result<(), BaselineConfigError> {
        if !(self.floor_bps.is_finite() && self.floor_bps >= 0.0) {
            return Err(BaselineConfigError::Floor);
        }
        if !(self.factor.is_finite() && self.factor > 0.0) {
            return Err(BaselineConfigError::Factor);
        }
        if !(self.quantile > 0.0 && self.quantile < 1.0) {
            return Err(BaselineConfigError::Quantile);
        }
        if !(self.half_life_windows.is_finite() && self.half_life_windows > 0.0) {
            return Err(BaselineConfigError::HalfLife);
        }
        Ok(())
    }
}

/// Which baseline parameter is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BaselineConfigError {
    #[error("the baseline floor must be a non-negative rate")]
    Floor,
    #[error("the baseline factor must be a positive number")]
    Factor,
    #[error("the baseline quantile must be between 0 and 1")]
    Quantile,
    #[error("the baseline half-life must be a positive number of windows")]
    HalfLife,
}

const BUCKETS_PER_OCTAVE: f64 = 4.0;
const OCTAVES: usize = 40;
/// Bucket 0 holds empty windows; bucket i ≥ 1 holds rates in [2^((i-1)/4), 2^(i/4)).
const BUCKETS: usize = 1 + OCTAVES * 4;

/// The learned distribution of one device's idle window rates.
#[derive(Debug, Clone)]
pub struct RateBaseline {
    weights: Box<[f64; BUCKETS]>,
    total: f64,
    observed: u64,
    decay: f64,
}

impl RateBaseline {
    pub fn new(config: &BaselineConfig) -> RateBaseline {
        RateBaseline {
            weights: Box::new([0.0; BUCKETS]),
            total: 0.0,
            observed: 0,
            decay: 0.5f64.powf(1.0 / config.half_life_windows),
        }
    }

    fn bucket(rate_bps: f64) -> usize {
        if rate_bps.is_nan() || rate_bps < 1.0 {
            return 0;
        }
        let i = (rate_bps.log2() * BUCKETS_PER_OCTAVE).floor() as usize + 1;
        i.min(BUCKETS - 1)
    }

    /// Upper bound of bucket `i`'s rates.
    fn bucket_top(i: usize) -> f64 {
        if i == 0 {
            0.0
        } else {
            (i as f64 / BUCKETS_PER_OCTAVE).exp2()
        }
    }

    /// Adds `count` idle windows of `rate_bps` each (older windows lose weight).
    pub fn observe(&mut self, rate_bps: f64, count: u64) {
        if count == 0 {
            return;
        }
        // Decay everything by decay^count, then add the geometric sum of the new weights
        // (the newest window has weight 1, the one before it `decay`, ...).
        let k = count.min(i32::MAX as u64) as i32;
        let shrink = self.decay.powi(k);
        for w in self.weights.iter_mut() {
            *w *= shrink;
        }
        let added = if self.decay < 1.0 {
            (1.0 - shrink) / (1.0 - self.decay)
        } else {
            count as f64
        };
        self.weights[Self::bucket(rate_bps)] += added;
        self.total = self.total * shrink + added;
        self.observed = self.observed.saturating_add(count);
    }

    /// Idle windows seen so far.
    pub fn observed(&self) -> u64 {
        self.observed
    }

    /// The rate (upper bucket bound) below which `q` of the weighted idle windows fall.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        let target = q * self.total;
        let mut acc = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if acc >= target {
                return Self::bucket_top(i);
            }
        }
        Self::bucket_top(BUCKETS - 1)
    }

    /// The learned state as one line of text, to be kept across restarts:
    /// `v1 <observed> <total> <bucket>:<weight> ...` with only non-empty buckets. The
    /// decay is not part of it: it comes from the configuration in use when restored.
    pub fn to_state(&self) -> String {
        let mut out = format!("v1 {} {:e}", self.observed, self.total);
        for (i, w) in self.weights.iter().enumerate() {
            if *w > 0.0 {
                out.push_str(&format!(" {i}:{w:e}"));
            }
        }
        out
    }

    /// Restores a state written by [`to_state`](Self::to_state), with the decay of
    /// `config`. Refuses text that is not such a state (names what is wrong).
    pub fn from_state(
        config: &BaselineConfig,
        text: &str,
    ) -> Result<RateBaseline, BaselineStateError> {
        let mut parts = text.split_ascii_whitespace();
        if parts.next() != Some("v1") {
            return Err(BaselineStateError::Version);
        }
        let observed: u64 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or(BaselineStateError::Observed)?;
        let total: f64 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or(BaselineStateError::Total)?;
        let mut b = RateBaseline::new(config);
        b.observed = observed;
        b.total = total;
        for p in parts {
            let (i, w) = p
                .split_once(':')
                .ok_or_else(|| BaselineStateError::Bucket(p.to_string()))?;
            let i: usize = i
                .parse()
                .ok()
                .filter(|i| *i < BUCKETS)
                .ok_or_else(|| BaselineStateError::BucketIndex(i.to_string()))?;
            let w: f64 = w
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                .ok_or_else(|| BaselineStateError::BucketWeight(w.to_string()))?;
            b.weights[i] = w;
        }
        Ok(b)
    }

    /// The threshold for this device, or `None` while it is still warming up.
    pub fn threshold_bps(&self, config: &BaselineConfig) -> Option<f64> {
        if self.observed < u64::from(config.warmup_windows) {
            return None;
        }
        Some((config.factor * self.quantile(config.quantile)).max(config.floor_bps))
    }
}

/// Why a text is not a baseline state written by [`RateBaseline::to_state`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineStateError {
    #[error("not a baseline state (expected it to start with `v1`)")]
    Version,
    #[error("the count of observed windows is missing or not a number")]
    Observed,
    #[error("the total weight is missing or not a non-negative number")]
    Total,
    #[error("bucket `{0}` is not `index:weight`")]
    Bucket(String),
    #[error("bucket index `{0}` is out of range")]
    BucketIndex(String),
    #[error("bucket weight `{0}` is not a non-negative number")]
    BucketWeight(String),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_garbage_is_refused() {
        let c = cfg();
        let mut b = RateBaseline::new(&c);
        b.observe(0.0, 50);
        b.observe(12_345.0, 7);
        b.observe(900.0, 3);
        let text = b.to_state();
        let r = RateBaseline::from_state(&c, &text).unwrap();
        assert_eq!(r.observed(), b.observed());
        assert_eq!(r.quantile(0.99), b.quantile(0.99));
        assert_eq!(r.quantile(0.5), b.quantile(0.5));
        assert_eq!(r.to_state(), text);
        for bad in [
            "",
            "v2 1 1",
            "v1 x 1",
            "v1 1 -1",
            "v1 1 1 999:1",
            "v1 1 1 3",
            "v1 1 1 3:nan",
        ] {
            assert!(RateBaseline::from_state(&c, bad).is_err(), "{bad:?}");
        }
    }

    fn cfg() -> BaselineConfig {
        BaselineConfig {
            warmup_windows: 10,
            ..BaselineConfig::product_default()
        }
    }

    #[test]
    fn silent_device_gets_the_floor() {
        let mut b = RateBaseline::new(&cfg());
        b.observe(0.0, 9);
        assert_eq!(b.threshold_bps(&cfg()), None, "still warming up");
        b.observe(0.0, 1000);
        assert_eq!(b.quantile(0.99), 0.0);
        assert_eq!(b.threshold_bps(&cfg()), Some(8_000.0));
    }

    #[test]
    fn chatty_device_gets_a_higher_threshold() {
        let mut b = RateBaseline::new(&cfg());
        // 98% of idle windows at 1 kbit/s, 2% at 10 kbit/s: the 99th percentile is the
        // top of 10 kbit/s's bucket (2^(54/4) = 11 585 bit/s), and 4x that is the threshold.
        for _ in 0..50 {
            b.observe(1_000.0, 49);
            b.observe(10_000.0, 1);
        }
        let q = b.quantile(0.99);
        assert!((10_000.0..=11_586.0).contains(&q), "{q}");
        let t = b.threshold_bps(&cfg()).unwrap();
        assert!((40_000.0..=46_341.0).contains(&t), "{t}");
        // The median is 1 kbit/s's bucket top (2^(40/4) = 1024).
        assert_eq!(b.quantile(0.5), 1024.0);
    }

    #[test]
    fn old_windows_are_forgotten() {
        let c = BaselineConfig {
            half_life_windows: 100.0,
            ..cfg()
        };
        let mut b = RateBaseline::new(&c);
        b.observe(50_000.0, 1000);
        b.observe(0.0, 2000);
        // After 20 half-lives the loud past weighs 2^-20 of the quiet present.
        assert_eq!(b.quantile(0.99), 0.0);
    }

    #[test]
    fn invalid_configs_are_named() {
        let mut c = cfg();
        c.quantile = 1.0;
        assert_eq!(c.validate(), Err(BaselineConfigError::Quantile));
        assert!(c.validate().unwrap_err().to_string().contains("quantile"));
        assert!(cfg().validate().is_ok());
    }
}
