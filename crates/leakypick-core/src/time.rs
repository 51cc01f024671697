//! Timestamps: nanoseconds since the Unix epoch, taken from the capture, never from a clock.

use std::fmt;

/// A point in time as nanoseconds since the Unix epoch (1970-01-01T00:00:00Z).
///
/// An `i64` of nanoseconds covers the years 1678 to 2262, which includes pcapng
/// timestamps past 2106 that overflow 32-bit seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;

    /// Builds a timestamp from whole seconds and nanoseconds, or `None` on overflow.
    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Option<Timestamp> {
        secs.checked_mul(Self::NANOS_PER_SEC)
            .and_then(|s| s.checked_add(nanos))
            .map(Timestamp)
    }

    /// Builds a timestamp from (possibly fractional) seconds since the epoch.
    /// Returns `None` for NaN, infinities and values outside the representable range.
    pub fn from_secs_f64(secs: f64) -> Option<Timestamp> {
        let nanos = (secs * 1e9).round();
        if nanos.is_finite() && nanos >= i64::MIN as f64 && nanos <= i64::MAX as f64 {
            Some(Timestamp(nanos as i64))
        } else {
            None
        }
    }

    /// Seconds since the epoch as a float, the unit of every timestamp leakypick prints.
    pub fn as_secs_f64(self) -> f64 {
        let secs = self.0.div_euclid(Self::NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(Self::NANOS_PER_SEC);
        secs as f64 + nanos as f64 / 1e9
    }

    /// `self - earlier` in seconds.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0 as i128 - earlier.0 as i128) as f64 / 1e9
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_seconds() {
        let t = Timestamp::from_secs_nanos(1_600_000_000, 123_456_789).unwrap();
        assert_eq!(t.0, 1_600_000_000_123_456_789);
        assert!((t.as_secs_f64() - 1.600_000_000_123_456_8e9).abs() < 1e-6);
        assert_eq!(
            Timestamp::from_secs_f64(1.5),
            Some(Timestamp(1_500_000_000))
        );
        assert_eq!(Timestamp::from_secs_f64(f64::NAN), None);
        assert_eq!(Timestamp::from_secs_nanos(i64::MAX, 0), None);
    }

    #[test]
    fn negative_times_split_correctly() {
        assert!((Timestamp(-1).as_secs_f64() + 1e-9).abs() < 1e-15);
    }
}
