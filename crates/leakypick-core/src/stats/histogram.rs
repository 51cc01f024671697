//! numpy's `histogram_bin_edges(bins='auto')` and `histogram`, bit for bit.
//!
//! The paper bins the packet sizes of an idle and a probe window with numpy's
//! `auto` rule and compares the count vectors, so the bin edges decide the test's
//! outcome: an edge one ulp off moves a packet into the next bin. Everything here
//! therefore follows numpy's float arithmetic operation by operation (numpy 2.x
//! source: `numpy/lib/_histograms_impl.py`, `np.percentile`'s `_lerp`,
//! `np.linspace`).

use super::{check_finite, StatsError};

/// The most bins the `auto` rule may produce before we refuse.
///
/// numpy has no limit and will try to allocate whatever the Freedman–Diaconis
/// width implies (gigabytes for a few tight clusters far apart, numpy issue
/// #28400); a detector must not, so asking for more is an error.
pub const MAX_BINS: usize = 100_000;

/// Which version of numpy's `auto` bin-width rule to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoBinRule {
    /// numpy before 2.3 (what the paper used): the smaller of the Sturges and
    /// Freedman–Diaconis widths, or Sturges alone when the FD width is zero
    /// (interquartile range of zero).
    #[default]
    Legacy,
    /// numpy 2.3 and later: the FD width is first raised to at least half the
    /// square-root-rule width (`ptp / sqrt(n) / 2`), then the smaller of it and
    /// Sturges is used.
    Numpy23,
}

/// Options of the `auto` binning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AutoBins {
    /// Which numpy version's rule to follow.
    pub rule: AutoBinRule,
    /// Behave as numpy does for an integer array (`np.array([66, 491, 1514])`
    /// rather than floats): a bin width below 1 is raised to 1, so integer data
    /// never gets bins narrower than one unit. Packet sizes are integers in most
    /// Python capture code, so reproducing a published result may need this. All
    /// values must then be whole numbers.
    pub integer_data: bool,
}

/// numpy's `np.histogram_bin_edges(data, bins='auto')` with the paper's rule
/// ([`AutoBinRule::Legacy`], float data).
///
/// Empty or non-finite data is an error (numpy raises for non-finite data and
/// returns the edges `[0, 1]` for empty data, which bin nothing). More than
/// [`MAX_BINS`] bins is an error where numpy would allocate them.
pub fn histogram_bin_edges_auto(data: &[f64]) -> Result<Vec<f64>, StatsError> {
    histogram_bin_edges_auto_with(data, AutoBins::default())
}

/// numpy's `np.histogram_bin_edges(data, bins='auto')` with a chosen rule and
/// data type; see [`AutoBins`].
pub fn histogram_bin_edges_auto_with(data: &[f64], opts: AutoBins) -> Result<Vec<f64>, StatsError> {
    let layout = auto_layout(data, opts)?;
    uniform_edges(&layout)
}

/// numpy's `np.histogram(data, bins=edges)[0]` for an explicit edge array.
///
/// With an array of edges numpy counts by binary search
/// (`np.searchsorted` on the sorted data), so a value `v` falls into bin `i` when
/// `edges[i] <= v < edges[i + 1]`, and the last bin also takes
/// `v == edges[last]`. Values outside the edges, NaN and infinities are not
/// counted, exactly as in numpy, so the counts sum to the number of values within
/// `[edges[0], edges[last]]`. Edges must be at least two finite, non-decreasing
/// numbers (numpy raises for decreasing edges).
pub fn histogram(data: &[f64], edges: &[f64]) -> Result<Vec<u64>, StatsError> {
    if edges.len() < 2
        || edges.iter().any(|e| !e.is_finite())
        || edges.windows(2).any(|w| w[0] > w[1])
    {
        return Err(StatsError::InvalidEdges);
    }
    let k = edges.len() - 1;
    let first = edges[0];
    let last = edges[k];
    let mut counts = vec![0u64; k];
    for &v in data {
        if !(v >= first && v <= last) {
            continue;
        }
        // The bin is the last edge not above v; v == last belongs to the last bin
        // even when the final edges repeat.
        let bin = if v == last {
            k - 1
        } else {
            edges
                .partition_point(|&e| e <= v)
                .saturating_sub(1)
                .min(k - 1)
        };
        counts[bin] += 1;
    }
    Ok(counts)
}

/// numpy's `np.histogram(data, bins='auto')`: the edges and the counts.
///
/// The counts come from numpy's fast path for uniform bins (bin index from
/// `(v - first) / (last - first) * n`, then corrected by one against the actual
/// edges), replicated step by step, so that this also matches numpy when the
/// paper's code binned each sample with its own `bins='auto'`. The correction
/// makes the fast path agree with `histogram(data, &edges)`; the property tests
/// check that they never differ.
pub fn histogram_auto(data: &[f64], opts: AutoBins) -> Result<(Vec<f64>, Vec<u64>), StatsError> {
    let layout = auto_layout(data, opts)?;
    let edges = uniform_edges(&layout)?;
    let n = layout.bins;
    let mut counts = vec![0u64; n];
    let denom = layout.last - layout.first;
    let numer = n as f64;
    for &v in data {
        if !(v >= layout.first && v <= layout.last) {
            continue;
        }
        // `as usize` truncates toward zero like numpy's cast to intp.
        let mut idx = (((v - layout.first) / denom) * numer) as usize;
        if idx >= n {
            idx = n - 1;
        }
        if idx > 0 && v < edges[idx] {
            idx -= 1;
        }
        if idx != n - 1 && v >= edges[idx + 1] {
            idx += 1;
        }
        counts[idx] += 1;
    }
    Ok((edges, counts))
}

/// The outer edges and bin count that numpy's `_get_bin_edges` derives.
struct Layout {
    first: f64,
    last: f64,
    bins: usize,
}

fn auto_layout(data: &[f64], opts: AutoBins) -> Result<Layout, StatsError> {
    if data.is_empty() {
        return Err(StatsError::TooFewValues { needed: 1, got: 0 });
    }
    check_finite(data)?;
    if opts.integer_data
        && data
            .iter()
            .any(|v| v.fract() != 0.0 || v.abs() > 9_007_199_254_740_992.0)
    {
        return Err(StatsError::NotInteger);
    }
    let mut sorted = data.to_vec();
    sorted.sort_by(f64::total_cmp);
    let min = sorted[0];
    let max = sorted[sorted.len() - 1];

    // `_get_outer_edges`: the data's range, widened by 0.5 on each side when empty.
    let (first, last) = if min == max {
        (min - 0.5, max + 0.5)
    } else {
        (min, max)
    };

    let width = auto_width(&sorted, min, max, opts.rule);
    let bins = if width != 0.0 {
        let width = if opts.integer_data && width < 1.0 {
            1.0
        } else {
            width
        };
        let delta = last - first;
        let ratio = (delta / width).ceil();
        if ratio.is_nan() || ratio > MAX_BINS as f64 {
            return Err(StatsError::TooManyBins {
                bins: ratio,
                max: MAX_BINS,
            });
        }
        // ratio is at least 1: width never exceeds the range it divides.
        (ratio as usize).max(1)
    } else {
        // A zero width (no spread) falls back to one bin, as in numpy.
        1
    };
    Ok(Layout { first, last, bins })
}

/// The `auto` bin width of numpy's `_hist_bin_auto` for sorted, finite data.
fn auto_width(sorted: &[f64], min: f64, max: f64, rule: AutoBinRule) -> f64 {
    let n = sorted.len();
    let size = n as f64;
    let ptp = max - min;
    // `_hist_bin_fd`: 2 * IQR * n^(-1/3), IQR from np.percentile(x, [75, 25]).
    let iqr = percentile_linear(sorted, 0.75) - percentile_linear(sorted, 0.25);
    let fd = 2.0 * iqr * size.powf(-1.0 / 3.0);
    // `_hist_bin_sturges`: ptp / (log2(n) + 1).
    let sturges = ptp / (size.log2() + 1.0);
    match rule {
        AutoBinRule::Legacy => {
            if fd != 0.0 {
                py_min(fd, sturges)
            } else {
                sturges
            }
        }
        AutoBinRule::Numpy23 => {
            // `_hist_bin_sqrt`: ptp / sqrt(n).
            let sqrt_bw = ptp / size.sqrt();
            py_min(py_max(fd, sqrt_bw / 2.0), sturges)
        }
    }
}

/// Python's `min(a, b)`: `a` unless `b` is strictly smaller.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)`: `a` unless `b` is strictly larger.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// `np.percentile(sorted, 100 * q, method='linear')` for q in [0, 1] on sorted,
/// non-empty data, with numpy's index arithmetic and `_lerp`.
fn percentile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n - 1) as f64 * q;
    let (prev, next, gamma) = if virtual_index >= (n - 1) as f64 {
        // Above the last index numpy takes the last value for both neighbours
        // (index -1); gamma is computed against that -1.
        (n - 1, n - 1, virtual_index + 1.0)
    } else {
        let floor = virtual_index.floor();
        let prev = floor as usize;
        (prev, prev + 1, virtual_index - floor)
    };
    lerp(sorted[prev], sorted[next], gamma)
}

/// numpy's `_lerp`: `a + (b - a) * t`, or `b - (b - a) * (1 - t)` when `t >= 0.5`,
/// which keeps the result monotonic and exact at both ends.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `np.linspace(first, last, bins + 1, endpoint=True)`, then numpy's check that
/// the edges are strictly increasing.
fn uniform_edges(layout: &Layout) -> Result<Vec<f64>, StatsError> {
    let edges = linspace(layout.first, layout.last, layout.bins + 1);
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(StatsError::BinsTooNarrow { bins: layout.bins });
    }
    Ok(edges)
}

/// numpy's `linspace` with `endpoint=True` for `num >= 2`: `i * step + start`
/// with `step = (stop - start) / (num - 1)` (or `i / div * delta` when the step
/// underflows to zero), and the last value set to `stop` exactly.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut y: Vec<f64> = if step == 0.0 {
        (0..num).map(|i| (i as f64 / div) * delta + start).collect()
    } else {
        (0..num).map(|i| i as f64 * step + start).collect()
    };
    if let Some(end) = y.last_mut() {
        *end = stop;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_data_gets_one_bin_around_the_value() {
        let edges = histogram_bin_edges_auto(&[5.0, 5.0, 5.0]).unwrap();
        assert_eq!(edges, vec![4.5, 5.5]);
        assert_eq!(histogram(&[5.0, 5.0, 5.0], &edges).unwrap(), vec![3]);
    }

    #[test]
    fn last_bin_is_closed_and_outside_values_are_dropped() {
        let edges = [0.0, 1.0, 2.0];
        let counts = histogram(&[-1.0, 0.0, 1.0, 2.0, 3.0, f64::NAN], &edges).unwrap();
        assert_eq!(counts, vec![1, 2]);
    }

    #[test]
    fn bad_edges_are_rejected() {
        assert_eq!(histogram(&[1.0], &[1.0]), Err(StatsError::InvalidEdges));
        assert_eq!(
            histogram(&[1.0], &[2.0, 1.0]),
            Err(StatsError::InvalidEdges)
        );
        assert_eq!(
            histogram(&[1.0], &[0.0, f64::NAN]),
            Err(StatsError::InvalidEdges)
        );
    }

    #[test]
    fn empty_and_non_finite_data_are_errors() {
        assert!(histogram_bin_edges_auto(&[]).is_err());
        assert_eq!(
            histogram_bin_edges_auto(&[1.0, f64::INFINITY]),
            Err(StatsError::NonFinite)
        );
    }

    #[test]
    fn tight_clusters_far_apart_hit_the_bin_cap() {
        // Most values identical, a few far away: the FD width is tiny.
        let mut v = vec![0.0; 10];
        v.extend(std::iter::repeat_n(1e-9, 10));
        v.push(1e6);
        assert!(matches!(
            histogram_bin_edges_auto(&v),
            Err(StatsError::TooManyBins { .. })
        ));
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_linear(&s, 0.75), 3.25);
        assert_eq!(percentile_linear(&s, 0.25), 1.75);
        assert_eq!(percentile_linear(&[7.0], 0.75), 7.0);
    }
}
