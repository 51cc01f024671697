//! The one parser of times and durations given by the user: on the command line
//! (`events --since`, `compare --idle/--probe`, `simulate --start`, `--duration`,
//! `--min-gap`) and in native label files.
//!
//! # Times
//!
//! | form | example | meaning |
//! |------|---------|---------|
//! | epoch seconds | `1700000000`, `1700000000.5` | exact to the nanosecond (no float on the way; more than nine decimals are cut off) |
//! | `+S` | `+20`, `+19.5`, `+2m` | S after the capture's first packet (a duration, seconds without a unit) |
//! | RFC 3339 | `2024-05-01T12:00:00Z`, `2024-05-01T14:00:00+02:00` | the offset is required |
//! | a date | `2024-05-01` | midnight UTC |
//! | a time ago | `90s`, `15m`, `2h`, `3d`, `1w` | now minus that (a unit is required: a bare number is epoch seconds) |
//!
//! [`TimeSpec::parse`] reads any form; [`TimeSpec::parse_as`] refuses the forms that
//! make no sense where the time is used ([`Forms`]), naming the accepted ones. A
//! [`TimeSpec`] becomes an instant by [`TimeSpec::resolve`], given the capture's first
//! packet and the wall clock where there are such things; the clock is passed in (from
//! [`crate::process::wall_clock`]), never read here.
//!
//! # Durations
//!
//! [`parse_duration`]: a non-negative decimal number with an optional unit: `ms`, `s`,
//! `m` or `min`, `h`, `d`, `w`; no unit means seconds (`3600`, `90s`, `1.5h`, `7d`).

use leakypick_core::Timestamp;
use std::fmt;

const SEC: i64 = Timestamp::NANOS_PER_SEC;

/// A time as the user wrote it, before the capture or the clock is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// An instant: epoch seconds, RFC 3339 or a date.
    At(Timestamp),
    /// Nanoseconds after the capture's first packet (`+S`; never negative).
    AfterFirst(i64),
    /// Nanoseconds before now (`2h`; never negative).
    Ago(i64),
}

/// The forms a time may take where it is used. Instants (epoch seconds, RFC 3339, a
/// date) are always accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forms {
    /// `+S`, seconds after the capture's first packet (there is a capture).
    pub after_first: bool,
    /// `2h`, a time ago (the time may depend on when the command runs).
    pub ago: bool,
}

impl Forms {
    /// Every form (`compare --idle/--probe`).
    pub const ANY: Forms = Forms {
        after_first: true,
        ago: true,
    };
    /// No capture to count from (`events --since`).
    pub const NO_CAPTURE: Forms = Forms {
        after_first: false,
        ago: true,
    };
    /// Times in a file next to a capture, which must not depend on the clock (labels).
    pub const IN_CAPTURE: Forms = Forms {
        after_first: true,
        ago: false,
    };
    /// Instants only (`simulate --start`: no capture yet, and runs must repeat).
    pub const INSTANT: Forms = Forms {
        after_first: false,
        ago: false,
    };
}

impl fmt::Display for Forms {
    /// The accepted forms with an example each, e.g. "epoch seconds (1700000000), an RFC
    /// 3339 time (2024-05-01T12:00:00Z) or a date (2024-05-01, midnight UTC)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut forms = vec!["epoch seconds (1700000000)"];
        if self.after_first {
            forms.push("+S seconds after the first packet (+20)");
        }
        forms.push("an RFC 3339 time (2024-05-01T12:00:00Z)");
        forms.push("a date (2024-05-01, midnight UTC)");
        if self.ago {
            forms.push("a time ago (90s, 15m, 2h, 3d, 1w)");
        }
        let (last, rest) = forms.split_last().ok_or(fmt::Error)?;
        write!(f, "{} or {last}", rest.join(", "))
    }
}

/// Why a time or duration cannot be used. Messages quote the text and list the
/// accepted forms; callers put the flag, or the file and line, in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("'{text}' is not a time: expected {forms}")]
    NotATime { text: String, forms: Forms },
    #[error("'{text}' has no UTC offset: write it like {text}Z (UTC) or {text}+02:00")]
    NoOffset { text: String },
    #[error("'{text}' is out of range (times must lie in the years 1678 to 2262)")]
    OutOfRange { text: String },
    #[error(
        "'{text}' counts from the first packet of a capture, and there is none here: \
         expected {forms}"
    )]
    NeedsCapture { text: String, forms: Forms },
    #[error(
        "'{text}' is a time ago, which would change with every run and is not accepted \
         here: expected {forms}"
    )]
    NeedsClock { text: String, forms: Forms },
    /// A `+S` time was resolved without a capture (a caller that skipped [`Forms`]).
    #[error("+{} s after the first packet: there is no packet to count from", secs(*.0))]
    NoFirstPacket(i64),
    /// A time ago was resolved without the clock.
    #[error("{} s ago: the clock is not read here", secs(*.0))]
    NoClock(i64),
    /// A resolved time beyond the years 1678-2262.
    #[error("the time lies outside the years 1678 to 2262")]
    Overflow,
    #[error(
        "'{text}' is not a duration: expected a number with an optional unit \
         (ms, s, m, h, d or w; no unit means seconds), e.g. 3600, 90s, 2h, 7d"
    )]
    NotADuration { text: String },
    #[error(
        "'{text}' is not a duration: unknown unit '{unit}' (use ms, s, m, h, d or w, \
         e.g. 90s, 2h, 7d)"
    )]
    UnknownUnit { text: String, unit: String },
    #[error("'{text}' is too long a duration (at most about 292 years)")]
    TooLong { text: String },
}

/// Nanoseconds as decimal seconds without trailing zeros: `1500000000` is `1.5`.
fn secs(nanos: i64) -> String {
    let abs = nanos.unsigned_abs();
    let sec = abs / SEC.unsigned_abs();
    let frac = abs % SEC.unsigned_abs();
    let s = format!("{}{sec}.{frac:09}", if nanos < 0 { "-" } else { "" });
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for TimeSpec {
    /// The form it was parsed from, normalised: epoch seconds, `+S`, or `Ns` ago, so
    /// that `parse(x.to_string()) == x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::At(t) => f.write_str(&secs(t.0)),
            TimeSpec::AfterFirst(n) => write!(f, "+{}", secs(*n)),
            TimeSpec::Ago(n) => write!(f, "{}s", secs(*n)),
        }
    }
}

impl std::str::FromStr for TimeSpec {
    type Err = TimeError;

    /// Any form; see [`TimeSpec::parse`].
    fn from_str(s: &str) -> Result<TimeSpec, TimeError> {
        TimeSpec::parse(s)
    }
}

impl TimeSpec {
    /// Parses a time in any form (the module documentation).
    pub fn parse(s: &str) -> Result<TimeSpec, TimeError> {
        TimeSpec::parse_as(s, Forms::ANY)
    }

    /// Parses a time in one of `forms`; the error names the form given and the
    /// accepted ones.
    pub fn parse_as(s: &str, forms: Forms) -> Result<TimeSpec, TimeError> {
        let text = s.trim();
        let spec = parse_any(text, forms)?;
        match spec {
            TimeSpec::AfterFirst(_) if !forms.after_first => Err(TimeError::NeedsCapture {
                text: text.to_string(),
                forms,
            }),
            TimeSpec::Ago(_) if !forms.ago => Err(TimeError::NeedsClock {
                text: text.to_string(),
                forms,
            }),
            _ => Ok(spec),
        }
    }

    /// Parses an instant ([`Forms::INSTANT`]: epoch seconds, RFC 3339 or a date), for
    /// times that need neither a capture nor the clock (`simulate --start`).
    pub fn parse_instant(s: &str) -> Result<Timestamp, TimeError> {
        TimeSpec::parse_as(s, Forms::INSTANT)?.resolve(None, None)
    }

    /// The instant: `first_packet` is the capture's first packet (for `+S`), `now` the
    /// wall clock (for a time ago); either is `None` where there is no such thing.
    pub fn resolve(
        self,
        first_packet: Option<Timestamp>,
        now: Option<Timestamp>,
    ) -> Result<Timestamp, TimeError> {
        match self {
            TimeSpec::At(t) => Ok(t),
            TimeSpec::AfterFirst(n) => {
                let first = first_packet.ok_or(TimeError::NoFirstPacket(n))?;
                first
                    .0
                    .checked_add(n)
                    .map(Timestamp)
                    .ok_or(TimeError::Overflow)
            }
            TimeSpec::Ago(n) => {
                let now = now.ok_or(TimeError::NoClock(n))?;
                now.0
                    .checked_sub(n)
                    .map(Timestamp)
                    .ok_or(TimeError::Overflow)
            }
        }
    }

    /// The instant, when it needs neither a capture nor the clock.
    pub fn instant(self) -> Option<Timestamp> {
        match self {
            TimeSpec::At(t) => Some(t),
            TimeSpec::AfterFirst(_) | TimeSpec::Ago(_) => None,
        }
    }
}

fn parse_any(text: &str, forms: Forms) -> Result<TimeSpec, TimeError> {
    let not_a_time = || TimeError::NotATime {
        text: text.to_string(),
        forms,
    };
    if let Some(rest) = text.strip_prefix('+') {
        // `+S`: a duration after the first packet (seconds without a unit).
        return match parse_duration(rest) {
            Ok(n) => Ok(TimeSpec::AfterFirst(n)),
            Err(TimeError::TooLong { .. }) => Err(TimeError::OutOfRange {
                text: text.to_string(),
            }),
            Err(_) => Err(not_a_time()),
        };
    }
    if looks_numeric(text) {
        return match decimal_nanos(text, SEC) {
            Some(n) => Ok(TimeSpec::At(Timestamp(n))),
            None if is_decimal(text.strip_prefix('-').unwrap_or(text)) => {
                Err(TimeError::OutOfRange {
                    text: text.to_string(),
                })
            }
            None => Err(not_a_time()),
        };
    }
    // A time ago: a number with a unit (a bare number was epoch seconds above).
    match parse_duration(text) {
        Ok(n) => return Ok(TimeSpec::Ago(n)),
        Err(e @ TimeError::TooLong { .. }) => return Err(e),
        Err(_) => {}
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        if text.len() <= 10 {
            return date
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .and_then(|z| i64::try_from(z.timestamp().as_nanosecond()).ok())
                .map(|n| TimeSpec::At(Timestamp(n)))
                .ok_or_else(|| TimeError::OutOfRange {
                    text: text.to_string(),
                });
        }
    }
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => i64::try_from(t.as_nanosecond())
            .map(|n| TimeSpec::At(Timestamp(n)))
            .map_err(|_| TimeError::OutOfRange {
                text: text.to_string(),
            }),
        Err(_) if text.parse::<jiff::civil::DateTime>().is_ok() => Err(TimeError::NoOffset {
            text: text.to_string(),
        }),
        Err(_) => Err(not_a_time()),
    }
}

/// Parses a duration: a non-negative number with an optional unit (`ms`, `s`, `m` or
/// `min`, `h`, `d`, `w`; none means seconds), e.g. `3600`, `90s`, `1.5h`, `7d`, into
/// nanoseconds, exactly.
pub fn parse_duration(s: &str) -> Result<i64, TimeError> {
    let text = s.trim();
    let bad = || TimeError::NotADuration {
        text: text.to_string(),
    };
    let (num, unit) = split_unit(text).ok_or_else(bad)?;
    if !is_decimal(num) {
        return Err(bad());
    }
    let unit_ns: i64 = match unit {
        "" | "s" => SEC,
        "ms" => 1_000_000,
        "m" | "min" => 60 * SEC,
        "h" => 3600 * SEC,
        "d" => 86_400 * SEC,
        "w" => 7 * 86_400 * SEC,
        other => {
            return Err(TimeError::UnknownUnit {
                text: text.to_string(),
                unit: other.to_string(),
            })
        }
    };
    decimal_nanos(num, unit_ns).ok_or_else(|| TimeError::TooLong {
        text: text.to_string(),
    })
}

/// Splits `90s` into `("90", "s")` at the first character that is not a digit or a
/// point (spaces between are allowed); `None` for an empty text.
fn split_unit(text: &str) -> Option<(&str, &str)> {
    if text.is_empty() {
        return None;
    }
    let at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(at);
    Some((num, unit.trim()))
}

/// Digits with at most one decimal point, and at least one digit.
fn is_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// A number that can only be meant as epoch seconds: an optional `-`, then digits and
/// points only.
fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// An optionally negative decimal number times `unit_ns`, exactly (decimals below a
/// nanosecond are cut off); `None` when it is not such a number or does not fit.
fn decimal_nanos(s: &str, unit_ns: i64) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if !is_decimal(digits) {
        return None;
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    // Nine decimals of the unit are below a nanosecond for every unit up to a week.
    let frac = &frac[..frac.len().min(18)];
    let frac_val: i128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10i128.pow(frac.len() as u32);
    let unit = i128::from(unit_ns);
    let total = int
        .checked_mul(unit)?
        .checked_add(frac_val * unit / scale)?;
    i64::try_from(if neg { -total } else { total }).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_700_000_000 * SEC);

    fn at(s: &str) -> Timestamp {
        TimeSpec::parse(s)
            .unwrap()
            .resolve(None, Some(NOW))
            .unwrap()
    }

    #[test]
    fn epoch_seconds_are_exact() {
        assert_eq!(at("1700000000"), Timestamp(1_700_000_000 * SEC));
        assert_eq!(at("1700000000.5"), Timestamp(1_700_000_000 * SEC + SEC / 2));
        assert_eq!(at("1.000000001"), Timestamp(SEC + 1));
        assert_eq!(at("1.0000000019"), Timestamp(SEC + 1), "cut, not rounded");
        assert_eq!(at("0"), Timestamp(0));
        assert_eq!(at(".5"), Timestamp(SEC / 2));
        assert_eq!(at("-1.5"), Timestamp(-SEC - SEC / 2));
        assert_eq!(at(" 1700000000 "), Timestamp(1_700_000_000 * SEC));
    }

    #[test]
    fn after_the_first_packet() {
        let first = Timestamp(1_000 * SEC);
        let spec = TimeSpec::parse("+19.5").unwrap();
        assert_eq!(spec, TimeSpec::AfterFirst(19 * SEC + SEC / 2));
        assert_eq!(
            spec.resolve(Some(first), None),
            Ok(Timestamp(1_019 * SEC + SEC / 2))
        );
        assert_eq!(
            TimeSpec::parse("+2m").unwrap(),
            TimeSpec::AfterFirst(120 * SEC)
        );
        assert_eq!(TimeSpec::parse("+0").unwrap(), TimeSpec::AfterFirst(0));
        assert_eq!(
            spec.resolve(None, Some(NOW)),
            Err(TimeError::NoFirstPacket(19 * SEC + SEC / 2))
        );
        assert!(spec
            .resolve(None, None)
            .unwrap_err()
            .to_string()
            .contains("+19.5 s after the first packet"));
    }

    #[test]
    fn rfc3339_with_offsets() {
        assert_eq!(at("2024-05-01T12:00:00Z"), Timestamp(1_714_564_800 * SEC));
        assert_eq!(
            at("2024-05-01T14:00:00+02:00"),
            Timestamp(1_714_564_800 * SEC)
        );
        assert_eq!(
            at("2024-05-01T07:00:00.25-05:00"),
            Timestamp(1_714_564_800 * SEC + SEC / 4)
        );
        let e = TimeSpec::parse("2024-05-01T12:00:00").unwrap_err();
        assert!(matches!(e, TimeError::NoOffset { .. }), "{e}");
        assert!(e.to_string().contains("2024-05-01T12:00:00Z"), "{e}");
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(at("2024-05-01"), Timestamp(1_714_521_600 * SEC));
        assert_eq!(at("1970-01-01"), Timestamp(0));
        assert!(TimeSpec::parse("2024-13-01").is_err());
        assert!(TimeSpec::parse("2024-02-30").is_err());
        assert!(matches!(
            TimeSpec::parse("1600-01-01"),
            Err(TimeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn times_ago_count_back_from_now() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("15min", 900),
            ("2h", 7200),
            ("3d", 3 * 86_400),
            ("1w", 7 * 86_400),
            ("1.5h", 5400),
            ("500ms", 0),
        ] {
            let spec = TimeSpec::parse(text).unwrap();
            assert!(matches!(spec, TimeSpec::Ago(_)), "{text}");
            if secs > 0 {
                assert_eq!(at(text), Timestamp(NOW.0 - secs * SEC), "{text}");
            }
        }
        let spec = TimeSpec::parse("2h").unwrap();
        assert_eq!(
            spec.resolve(Some(Timestamp(0)), None),
            Err(TimeError::NoClock(7200 * SEC))
        );
        assert_eq!(
            TimeSpec::Ago(i64::MAX).resolve(None, Some(Timestamp(-SEC))),
            Err(TimeError::Overflow)
        );
    }

    #[test]
    fn forms_refused_where_they_make_no_sense() {
        let e = TimeSpec::parse_as("+20", Forms::NO_CAPTURE).unwrap_err();
        assert!(matches!(e, TimeError::NeedsCapture { .. }));
        let m = e.to_string();
        assert!(m.starts_with("'+20' counts from the first packet"), "{m}");
        assert!(m.contains("a time ago (90s") && !m.contains("+S"), "{m}");
        let e = TimeSpec::parse_as("2h", Forms::IN_CAPTURE).unwrap_err();
        assert!(matches!(e, TimeError::NeedsClock { .. }));
        assert!(e.to_string().contains("+S seconds after the first packet"));
        assert!(!e.to_string().contains("90s"));
        for text in ["+20", "2h"] {
            assert!(TimeSpec::parse_as(text, Forms::INSTANT).is_err(), "{text}");
            assert!(TimeSpec::parse_as(text, Forms::ANY).is_ok(), "{text}");
        }
        for text in ["1700000000", "2024-05-01", "2024-05-01T12:00:00Z"] {
            assert!(TimeSpec::parse_as(text, Forms::INSTANT).is_ok(), "{text}");
        }
    }

    #[test]
    fn errors_name_the_text_and_the_forms() {
        for bad in [
            "",
            "yesterday",
            "+",
            "+-1",
            "+x",
            "1e3",
            "inf",
            "NaN",
            "1.2.3",
            "2h ago",
            "5 weeks",
            "+1.2.3",
            "--5",
            "-",
            ".",
        ] {
            let e = TimeSpec::parse(bad).unwrap_err();
            let m = e.to_string();
            assert!(m.starts_with(&format!("'{}'", bad.trim())), "{bad:?}: {m}");
            if matches!(e, TimeError::NotATime { .. }) {
                assert!(
                    m.contains("epoch seconds (1700000000)")
                        && m.contains("+S seconds after the first packet")
                        && m.contains("RFC 3339")
                        && m.contains("a date (2024-05-01")
                        && m.contains("a time ago"),
                    "{m}"
                );
            }
        }
        assert!(matches!(
            TimeSpec::parse("99999999999999"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            TimeSpec::parse("+99999999999999"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            TimeSpec::parse("2300-01-01T00:00:00Z"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            TimeSpec::parse("999999999w"),
            Err(TimeError::TooLong { .. })
        ));
    }

    #[test]
    fn display_round_trips() {
        for text in ["1700000000.5", "+19.5", "90s", "+0", "-2", "-1.5"] {
            let spec = TimeSpec::parse(text).unwrap();
            assert_eq!(spec.to_string(), text);
            assert_eq!(TimeSpec::parse(&spec.to_string()), Ok(spec));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600 * SEC));
        assert_eq!(parse_duration("90s"), Ok(90 * SEC));
        assert_eq!(parse_duration("2h"), Ok(7200 * SEC));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400 * SEC));
        assert_eq!(parse_duration("1w"), Ok(7 * 86_400 * SEC));
        assert_eq!(parse_duration("1.5m"), Ok(90 * SEC));
        assert_eq!(parse_duration("2 min"), Ok(120 * SEC));
        assert_eq!(parse_duration("250ms"), Ok(SEC / 4));
        assert_eq!(parse_duration("0.000000001"), Ok(1));
        for bad in ["", "h", "forever", "-5s", "1.2.3s", ".s"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(matches!(e, TimeError::NotADuration { .. }), "{bad:?}: {e}");
            assert!(e.to_string().contains("e.g. 3600, 90s, 2h, 7d"), "{e}");
        }
        assert!(parse_duration("1e3")
            .unwrap_err()
            .to_string()
            .starts_with("'1e3' is not a duration"));
        let e = parse_duration("2 weeks").unwrap_err();
        assert_eq!(
            e,
            TimeError::UnknownUnit {
                text: "2 weeks".into(),
                unit: "weeks".into()
            }
        );
        assert!(e.to_string().contains("unknown unit 'weeks'"), "{e}");
        assert!(matches!(
            parse_duration("99999999999d"),
            Err(TimeError::TooLong { .. })
        ));
    }
}
