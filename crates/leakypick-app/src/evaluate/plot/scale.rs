//! Axes: fitting a range to the data, mapping data to pixels, and choosing ticks at
//! round numbers with labels that carry exactly the digits the step needs.

use super::{Axis, TickFormat};

/// Pixel coordinates are clamped this far outside the plot. Points beyond a fixed
/// range are clipped anyway; clamping keeps numbers such as 1e300 out of the file
/// while moving the visible part of a line by at most a hair.
const PX_CLAMP: f64 = 100_000.0;

/// Data values are clamped to this magnitude when fitting a range, so that the span
/// of a range is always finite.
const MAX_MAGNITUDE: f64 = 1e300;

/// The most ticks an axis ever gets, whatever the caller's size.
const MAX_TICKS: i64 = 200;

/// A linear or base-10 logarithmic map from a data range to a pixel range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    /// Pixel of `lo`.
    pub px_lo: f64,
    /// Pixel of `hi`.
    pub px_hi: f64,
}

impl Scale {
    /// Whether `v` can be placed on this axis at all.
    pub fn valid(&self, v: f64) -> bool {
        valid(v, self.log)
    }

    /// The range position of `v` as a fraction (0 at `lo`, 1 at `hi`), unclamped.
    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            let (a, b) = (self.lo.log10(), self.hi.log10());
            (v.log10() - a) / (b - a)
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// The pixel of a valid value, clamped to a band around the plot.
    pub fn map(&self, v: f64) -> f64 {
        let p = self.px_lo + self.fraction(v) * (self.px_hi - self.px_lo);
        let (a, b) = if self.px_lo <= self.px_hi {
            (self.px_lo, self.px_hi)
        } else {
            (self.px_hi, self.px_lo)
        };
        if p.is_nan() {
            a
        } else {
            p.clamp(a - PX_CLAMP, b + PX_CLAMP)
        }
    }
}

/// Whether `v` can be placed on an axis: finite, and positive on a log axis.
pub(crate) fn valid(v: f64, log: bool) -> bool {
    v.is_finite() && (!log || v > 0.0)
}

/// The data range of an axis: the caller's fixed range if it is usable, else the
/// extent of `values` (the valid ones), widened to include zero when asked and to a
/// non-zero width. Returns the range and whether it was fixed by the caller.
pub(crate) fn fit(axis: &Axis, values: impl Iterator<Item = f64>) -> ((f64, f64), bool) {
    if let Some((a, b)) = axis.range {
        if valid(a, axis.log) && valid(b, axis.log) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            return (widen(lo, hi, axis.log), true);
        }
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| valid(*v, axis.log)) {
        let v = v.clamp(-MAX_MAGNITUDE, MAX_MAGNITUDE);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (if axis.log { (1.0, 10.0) } else { (0.0, 1.0) }, false);
    }
    if axis.include_zero && !axis.log {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    (widen(lo, hi, axis.log), false)
}

/// A range of zero width made wide enough to draw: a decade each way on a log axis,
/// 10% of the value (or 1 around zero) on a linear one.
fn widen(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if lo < hi {
        return (lo, hi);
    }
    if log {
        (lo / 10.0, hi * 10.0)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        let d = lo.abs() * 0.1;
        (lo - d, hi + d)
    }
}

/// A fitted range grown outwards to whole tick steps (whole decades on a log axis), so
/// that the axis begins and ends on a labelled tick. Returns the range and the ticks,
/// computed from the same step: recomputing the step from the grown range could
/// pick a coarser one and leave the ends unlabelled.
pub(crate) fn nice_range(
    lo: f64,
    hi: f64,
    log: bool,
    format: TickFormat,
    target: f64,
) -> ((f64, f64), (Vec<f64>, f64)) {
    if log {
        let a = 10f64.powf((lo.log10() + 1e-9).floor());
        let b = 10f64.powf((hi.log10() - 1e-9).ceil());
        let range = if a < b && a > 0.0 && b.is_finite() {
            (a, b)
        } else {
            (lo, hi)
        };
        return (range, ticks(range.0, range.1, log, format, target));
    }
    let step = tick_step(hi - lo, target, format);
    let a = (lo / step + 1e-9).floor() * step;
    let b = (hi / step - 1e-9).ceil() * step;
    if a < b && a.is_finite() && b.is_finite() {
        ((a, b), (linear_ticks(a, b, step), step))
    } else {
        ((lo, hi), ticks(lo, hi, log, format, target))
    }
}

/// The smallest of 1, 2, 2.5, 5 (times a power of ten) that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Round durations for time axes: seconds, minutes, hours that divide a day, then
/// whole days.
const DURATION_STEPS: [f64; 18] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0, 86400.0,
];

/// The tick step for a span and a wanted number of ticks.
pub(crate) fn tick_step(span: f64, target: f64, format: TickFormat) -> f64 {
    let raw = span / target.max(1.0);
    if format == TickFormat::Duration && raw >= 1.0 {
        if let Some(s) = DURATION_STEPS.iter().find(|s| **s >= raw) {
            return *s;
        }
        return 86400.0 * nice_step(raw / 86400.0).max(1.0);
    }
    nice_step(raw)
}

/// Tick positions inside `[lo, hi]`, about `target` of them, and the step used for
/// labelling (0 on a log axis, whose labels do not need it).
pub(crate) fn ticks(
    lo: f64,
    hi: f64,
    log: bool,
    format: TickFormat,
    target: f64,
) -> (Vec<f64>, f64) {
    if log {
        let ticks = log_ticks(lo, hi, target);
        if ticks.len() >= 2 {
            return (ticks, 0.0);
        }
    }
    let step = tick_step(hi - lo, target, format);
    let ticks = linear_ticks(lo, hi, step)
        .into_iter()
        .filter(|v| !log || *v > 0.0)
        .collect();
    (ticks, step)
}

/// The multiples of `step` inside `[lo, hi]`, at most [`MAX_TICKS`] of them, with
/// values within rounding error of zero written as zero.
fn linear_ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let k0 = (lo / step - 1e-9).ceil();
    let k1 = (hi / step + 1e-9).floor();
    if !(k0.is_finite() && k1.is_finite()) || k1 < k0 {
        return Vec::new();
    }
    let n = ((k1 - k0) as i64).min(MAX_TICKS);
    (0..=n)
        .map(|i| {
            let v = (k0 + i as f64) * step;
            if v.abs() < step * 1e-9 {
                0.0
            } else {
                v
            }
        })
        .collect()
}

/// Decades, thinned to about `target`; within less than two decades, 1, 2 and 5 times
/// each power of ten.
fn log_ticks(lo: f64, hi: f64, target: f64) -> Vec<f64> {
    let d0 = (lo.log10() - 1e-9).ceil();
    let d1 = (hi.log10() + 1e-9).floor();
    if !(d0.is_finite() && d1.is_finite()) {
        return Vec::new();
    }
    let n = (d1 - d0) as i64 + 1;
    if n >= 2 {
        let stride = ((n as f64 / target.max(1.0)).ceil() as i64).max(1);
        return (0..n.min(10 * MAX_TICKS))
            .filter(|i| i % stride == 0)
            .map(|i| 10f64.powf(d0 + i as f64))
            .collect();
    }
    let mut out = Vec::new();
    let first = (lo.log10() - 1e-9).floor();
    for d in 0..3 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powf(first + f64::from(d));
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    out
}

/// The fewest decimals (up to 12) that write multiples of `step` exactly.
fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    for d in 0..=12 {
        let scaled = step * 10f64.powi(d as i32);
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0) {
            return d;
        }
    }
    12
}

/// `-0`, `-0.00` and the like written without the sign.
fn no_negative_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// The label of the tick at `v`, given the tick step (0 on a log axis) and the largest
/// magnitude on the axis.
pub(crate) fn tick_label(v: f64, step: f64, format: TickFormat, max_abs: f64) -> String {
    if step == 0.0 {
        return log_label(v);
    }
    let s = match format {
        TickFormat::Plain => plain_label(v, step, max_abs),
        TickFormat::Si => si_tick(v, step, max_abs),
        TickFormat::Duration => duration_label(v, step, max_abs),
    };
    no_negative_zero(s)
}

/// Decimals for ordinary magnitudes, mantissa and exponent for huge or tiny ones.
fn plain_label(v: f64, step: f64, max_abs: f64) -> String {
    if max_abs >= 1e7 || (max_abs > 0.0 && max_abs < 1e-4) {
        if v == 0.0 {
            return "0".to_string();
        }
        let e = max_abs.log10().floor() as i32;
        let scale = 10f64.powi(e);
        let d = decimals_for(step / scale);
        return format!("{:.*}e{}", d, v / scale, e);
    }
    format!("{:.*}", decimals_for(step), v)
}

/// A tick on a log axis: plain decimals from 0.0001 to 100,000, else `1e-7`.
fn log_label(v: f64) -> String {
    let e = v.log10().floor();
    if (-4.0..6.0).contains(&e) {
        let d = if e < 0.0 { (-e) as usize } else { 0 };
        format!("{v:.d$}")
    } else {
        let m = v / 10f64.powf(e);
        if (m - 1.0).abs() < 1e-6 {
            format!("1e{}", e as i64)
        } else {
            format!("{:.0}e{}", m, e as i64)
        }
    }
}

/// The SI prefix for a magnitude, as divisor and symbol.
fn si_prefix(max_abs: f64) -> (f64, &'static str) {
    if max_abs >= 1e9 {
        (1e9, "G")
    } else if max_abs >= 1e6 {
        (1e6, "M")
    } else if max_abs >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    }
}

/// `0`, `200k`, `1.5M`: one prefix for the whole axis, chosen by its largest value.
fn si_tick(v: f64, step: f64, max_abs: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let (div, sym) = si_prefix(max_abs);
    format!("{:.*}{}", decimals_for(step / div), v / div, sym)
}

/// A value with an SI prefix and at most three decimals, for labels such as
/// "23 k" in "threshold 23 kbit/s".
pub(crate) fn si_label(v: f64) -> String {
    let (div, sym) = si_prefix(v.abs());
    let s = format!("{:.3}", v / div);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{} {}", no_negative_zero(s.to_string()), sym)
}

/// Seconds since the start as a duration: `45s` on short axes, else the non-zero
/// parts of `1d 2h 30m 15s`.
fn duration_label(v: f64, step: f64, max_abs: f64) -> String {
    if step < 1.0 || max_abs < 120.0 {
        return format!("{:.*}s", decimals_for(step), v);
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let t = v.abs().round().min(9.0e15) as u64;
    let (d, h, m, s) = (t / 86400, t % 86400 / 3600, t % 3600 / 60, t % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 {
        parts.push(format!("{s}s"));
    }
    if parts.is_empty() {
        return "0".to_string();
    }
    format!("{sign}{}", parts.join(" "))
}
