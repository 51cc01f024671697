//! When probing may run: allowed hours and quiet hours (`--allowed-hours`,
//! `--quiet-hours`), as daily spans of local time.

use std::fmt;

/// A daily span of local time, `HH:MM-HH:MM` (it may wrap midnight: `22:00-07:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpan {
    /// Minutes after midnight.
    pub from: u16,
    pub to: u16,
}

/// Why a text is not a [`DailySpan`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DailySpanError {
    #[error("`{0}` is not a daily span like 09:00-17:30 (24-hour local time)")]
    NotASpan(String),
    #[error("`{0}` is empty: start and end are the same")]
    Empty(String),
}

impl std::str::FromStr for DailySpan {
    type Err = DailySpanError;

    fn from_str(s: &str) -> Result<DailySpan, DailySpanError> {
        let bad = || DailySpanError::NotASpan(s.to_string());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (from, to) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if from == to {
            return Err(DailySpanError::Empty(s.to_string()));
        }
        Ok(DailySpan { from, to })
    }
}

impl DailySpan {
    /// Whether `minute` (after local midnight) is inside the span.
    pub fn contains(&self, minute: u16) -> bool {
        if self.from < self.to {
            minute >= self.from && minute < self.to
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

impl fmt::Display for DailySpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.from / 60,
            self.from % 60,
            self.to / 60,
            self.to % 60
        )
    }
}

/// Why a scheduled session must not run now (`None`: it may), given the local minute.
pub fn schedule_blocks(
    minute: u16,
    allowed: Option<DailySpan>,
    quiet: Option<DailySpan>,
) -> Option<String> {
    if let Some(q) = quiet {
        if q.contains(minute) {
            return Some(format!("it is quiet hours ({q})"));
        }
    }
    if let Some(a) = allowed {
        if !a.contains(minute) {
            return Some(format!("probing is allowed only {a}"));
        }
    }
    None
}

/// Minutes after midnight, local time (the system's time zone).
pub fn local_minute_now() -> u16 {
    let now = jiff::Zoned::now();
    u16::try_from(i32::from(now.hour()) * 60 + i32::from(now.minute())).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn daily_spans_parse_wrap_and_block() {
        let day: DailySpan = "09:00-17:30".parse().unwrap();
        assert!(day.contains(9 * 60) && day.contains(17 * 60 + 29) && !day.contains(17 * 60 + 30));
        let night: DailySpan = "22:00-07:00".parse().unwrap();
        assert!(night.contains(23 * 60) && night.contains(3 * 60) && !night.contains(12 * 60));
        for bad in ["9-17", "25:00-01:00", "10:00-10:00", "", "10:61-11:00"] {
            assert!(bad.parse::<DailySpan>().is_err(), "{bad}");
        }
        assert!(schedule_blocks(23 * 60, Some(day), Some(night))
            .unwrap()
            .contains("quiet"));
        assert!(schedule_blocks(8 * 60, Some(day), Some(night))
            .unwrap()
            .contains("allowed only"));
        assert_eq!(schedule_blocks(12 * 60, Some(day), Some(night)), None);
        assert_eq!(schedule_blocks(12 * 60, None, None), None);
    }
}
