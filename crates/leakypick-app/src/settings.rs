//! Settings shared by several commands, validated in one place.
//!
//! The command line (`src/cli/`) and the monitor's configuration file
//! ([`crate::monitor::config`]) hand raw values here; every rule about them (a window
//! is at least a microsecond, a p-value threshold lies in (0, 1], a slot is positive)
//! is checked once, by the functions of this module, and every command that takes the
//! setting gets the same answer. A [`SettingError`] names the setting by its flag; the
//! configuration file maps it to its dotted key.

use leakypick_core::baseline::BaselineConfig;
use leakypick_core::probe::{ProbeConfig, ProbeTest};
use leakypick_core::session::{Decide, SessionConfig};
use leakypick_core::{BurstConfig, DestinationScope, Timestamp};
use serde::Deserialize;

/// A setting whose value is out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{flag} {value}: expected {expected}")]
pub struct SettingError {
    /// The command-line flag, e.g. `--burst-window`.
    pub flag: &'static str,
    /// The value as given.
    pub value: String,
    /// What is expected instead.
    pub expected: String,
}

impl SettingError {
    pub fn new(flag: &'static str, value: impl ToString, expected: impl Into<String>) -> Self {
        SettingError {
            flag,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

/// Burst-detection presets (`--preset`, `detect.preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// 1-second windows, 23 kbit/s, 2 windows: finds short voice commands.
    #[default]
    Default,
    /// The paper's 1-second windows, 23 kbit/s, 5 windows.
    Paper,
    /// The default with a per-device threshold learned from idle traffic.
    Adaptive,
}

impl Preset {
    /// The preset's name, as `--preset` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Paper => "paper",
            Preset::Adaptive => "adaptive",
        }
    }

    /// The preset's burst parameters, before any override.
    pub fn burst_config(self) -> BurstConfig {
        match self {
            Preset::Default => BurstConfig::product_default(),
            Preset::Paper => BurstConfig::paper(),
            Preset::Adaptive => BurstConfig {
                baseline: Some(BaselineConfig::product_default()),
                ..BurstConfig::product_default()
            },
        }
    }
}

/// The burst detector as a user sets it: a preset and overrides of its parameters.
/// `analyze`, `monitor` (flags and `[detect]`), `evaluate` and `probe` all resolve it
/// with [`BurstSettings::resolve`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BurstSettings {
    pub preset: Preset,
    /// Window length in seconds (`--burst-window`).
    pub window_s: Option<f64>,
    /// Upload rate a window must exceed, kbit/s (`--threshold-kbps`).
    pub threshold_kbps: Option<f64>,
    /// Consecutive hot windows that make a burst (`--min-windows`).
    pub min_windows: Option<u32>,
    /// The adaptive preset's learned-threshold parameters (config file only).
    pub baseline: Option<BaselineConfig>,
}

impl BurstSettings {
    /// The preset with the overrides applied, every value checked.
    pub fn resolve(&self) -> Result<BurstConfig, SettingError> {
        let mut burst = self.preset.burst_config();
        if let Some(w) = self.window_s {
            burst.window_nanos = window_nanos(w)?;
        }
        if let Some(k) = self.threshold_kbps {
            if !(k.is_finite() && k >= 0.0) {
                return Err(SettingError::new(
                    "--threshold-kbps",
                    k,
                    "a non-negative rate in kbit/s",
                ));
            }
            burst.threshold_bps = k * 1000.0;
        }
        if let Some(n) = self.min_windows {
            if n == 0 {
                return Err(SettingError::new("--min-windows", n, "at least 1 window"));
            }
            burst.min_windows = n;
        }
        if burst.baseline.is_some() {
            if let Some(b) = self.baseline {
                b.validate().map_err(|e| {
                    SettingError::new(
                        "--preset",
                        "adaptive",
                        format!("valid baseline settings ({e})"),
                    )
                })?;
                burst.baseline = Some(b);
            }
        }
        burst
            .validate()
            .map_err(|e| SettingError::new("--preset", self.preset.name(), e.to_string()))?;
        Ok(burst)
    }
}

/// A burst window in nanoseconds: finite, at least one microsecond.
fn window_nanos(w: f64) -> Result<i64, SettingError> {
    Timestamp::from_secs_f64(w)
        .map(|t| t.0)
        .filter(|&n| w.is_finite() && n >= 1_000)
        .ok_or_else(|| {
            SettingError::new(
                "--burst-window",
                w,
                "a positive number of seconds (at least 0.000001)",
            )
        })
}

/// Which destinations count as uploads: `--include-lan` (or `detect.destinations =
/// "all"`) counts LAN destinations too.
pub fn scope(include_lan: bool) -> DestinationScope {
    if include_lan {
        DestinationScope::All
    } else {
        DestinationScope::Cloud
    }
}

/// A p-value threshold (`--p-threshold`): in (0, 1]. Zero would make every device
/// "not reacting" whatever its traffic, so it is refused like any other value outside.
pub fn p_threshold(p: f64) -> Result<f64, SettingError> {
    if p.is_finite() && p > 0.0 && p <= 1.0 {
        Ok(p)
    } else {
        Err(SettingError::new(
            "--p-threshold",
            p,
            "a p-value above 0 and at most 1 (the paper: 0.42)",
        ))
    }
}

/// A positive duration in seconds, as nanoseconds (at least 1).
pub fn positive_secs(flag: &'static str, v: f64) -> Result<i64, SettingError> {
    Timestamp::from_secs_f64(v)
        .map(|t| t.0)
        .filter(|&n| v.is_finite() && n >= 1)
        .ok_or_else(|| SettingError::new(flag, v, "a positive number of seconds"))
}

/// A duration in seconds that may be zero, as nanoseconds.
pub fn non_negative_secs(flag: &'static str, v: f64) -> Result<i64, SettingError> {
    Timestamp::from_secs_f64(v)
        .map(|t| t.0)
        .filter(|&n| v.is_finite() && n >= 0)
        .ok_or_else(|| SettingError::new(flag, v, "a non-negative number of seconds"))
}

/// How a probing attempt is decided (`--decide-by`, `--probe-test`, `--p-threshold`):
/// shared by `probe` and `analyze --probe-log`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictSettings {
    pub decide_by: Decide,
    pub probe_test: ProbeTest,
    pub p_threshold: f64,
}

impl Default for VerdictSettings {
    fn default() -> Self {
        VerdictSettings {
            decide_by: Decide::Burst,
            probe_test: ProbeTest::Paper,
            p_threshold: ProbeConfig::paper().threshold,
        }
    }
}

impl VerdictSettings {
    /// The session configuration, every value checked.
    pub fn session_config(
        &self,
        burst: BurstConfig,
        scope: DestinationScope,
    ) -> Result<SessionConfig, SettingError> {
        Ok(SessionConfig {
            probe: ProbeConfig {
                test: self.probe_test,
                threshold: p_threshold(self.p_threshold)?,
                ..ProbeConfig::paper()
            },
            burst,
            scope,
            decide: self.decide_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_the_window() {
        let s = |w| BurstSettings {
            window_s: Some(w),
            ..BurstSettings::default()
        };
        assert!(s(0.5).resolve().is_ok());
        assert!(s(0.000_001).resolve().is_ok());
        for bad in [0.0, -1.0, 0.000_000_5, f64::NAN, f64::INFINITY] {
            let e = s(bad).resolve().unwrap_err();
            assert_eq!(e.flag, "--burst-window");
        }
    }

    #[test]
    fn one_rule_for_the_p_threshold() {
        assert_eq!(p_threshold(0.42), Ok(0.42));
        assert_eq!(p_threshold(1.0), Ok(1.0));
        for bad in [0.0, -0.1, 1.01, f64::NAN] {
            assert!(p_threshold(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_map_once() {
        assert_eq!(Preset::Paper.burst_config(), BurstConfig::paper());
        assert_eq!(
            Preset::Default.burst_config(),
            BurstConfig::product_default()
        );
        assert!(Preset::Adaptive.burst_config().baseline.is_some());
        let paper = BurstSettings {
            preset: Preset::Paper,
            min_windows: Some(3),
            ..BurstSettings::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(paper.min_windows, 3);
        assert_eq!(paper.window_nanos, BurstConfig::paper().window_nanos);
    }

    #[test]
    fn slots_must_be_positive() {
        assert!(positive_secs("--slot", 0.0).is_err());
        assert_eq!(positive_secs("--slot", 10.0), Ok(10_000_000_000));
        assert_eq!(non_negative_secs("--tolerance", 0.0), Ok(0));
    }
}
