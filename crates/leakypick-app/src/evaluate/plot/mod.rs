//! Charts for the evaluation report, written as self-contained SVG.
//!
//! The report needs the paper's kinds of figure (§5, figures 3-8): ROC curves with the
//! paper's operating point, p-values per window pair against a threshold, and traffic
//! rates over time with the labelled activations and the detections shaded. This module
//! draws them from plain data ([`Chart`], [`Series`], [`Marker`], [`Band`], [`HLine`]),
//! so callers convert their results into these types and the plotting code depends on
//! nothing else in the crate.
//!
//! # Why a small hand-written SVG emitter, not `plotters`
//!
//! SVG leaves drawing text to the viewer, so an SVG writer needs no font; it only has
//! to estimate how wide a label will be, to size margins and the legend. `plotters`'
//! default features measure text with real fonts (`ttf`, through `font-kit` with
//! FreeType and fontconfig, which breaks the "no system libraries, runs on a clean
//! Debian box and a Raspberry Pi" rule) or with a font file registered through
//! `ab_glyph` (a bundled font and its licence, for text the viewer draws with its own
//! fonts anyway). With neither, `plotters` falls back to a crude guess of about 0.45 em
//! per byte, narrower than common sans-serif fonts, so long labels overlap. And the
//! figures need things `plotters` does not have: min/max downsampling of a week of
//! one-second windows, ticks on round minutes, hours and days, two kinds of shaded
//! interval, a legend that finds a free corner. We would write most of this anyway, so
//! under two thousand lines of plain Rust with no dependency give exactly the charts
//! we want: deterministic bytes, small files and a layout we control. Text widths are
//! estimated from a table of DejaVu Sans advance widths (numbers only, no font data).
//!
//! # Guarantees
//!
//! [`render_svg`] never panics. Non-finite points (and non-positive ones on a log axis)
//! are skipped and break a line; empty series, single points and zero-width ranges give
//! a sensible chart; a series of more than [`DOWNSAMPLE_ABOVE`] points is reduced to a
//! min/max envelope per pixel column, so a week of one-second windows (605,000 points)
//! stays a small file. The same chart always gives the same bytes.

mod render;
mod scale;
mod svg;
#[cfg(test)]
mod tests;

pub use render::render_svg;

/// A series with more valid points than this is drawn as a min/max envelope per pixel
/// column. Below it every point is drawn, so small charts stay exact.
pub const DOWNSAMPLE_ABOVE: usize = 5_000;

/// An sRGB colour. Series without one get a colour from the Okabe–Ito palette, which
/// stays distinguishable for the common forms of colour blindness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SeriesKind {
    /// Straight lines between consecutive points, the default for curves such as ROC.
    #[default]
    Line,
    /// A symbol at each point and no line, for values that are not a continuum.
    Markers,
    /// Lines with a symbol at each point, for short series where each point matters.
    LineMarkers,
    /// Each value holds until the next point, which is what a per-window rate means.
    Step,
}

/// The look of a series. The default is a solid line in the next palette colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Style {
    /// Line, markers, both, or steps.
    pub kind: SeriesKind,
    /// A fixed colour; `None` picks the next palette colour, counting only the series
    /// before this one that have no fixed colour either.
    pub color: Option<Rgb>,
    /// A dashed line, for reference curves that should not look like data.
    pub dashed: bool,
}

impl Style {
    /// A solid line in the next palette colour.
    pub fn line() -> Style {
        Style::default()
    }

    /// Symbols only, in the next palette colour.
    pub fn markers() -> Style {
        Style {
            kind: SeriesKind::Markers,
            ..Style::default()
        }
    }

    /// A line with a symbol at each point, in the next palette colour.
    pub fn line_markers() -> Style {
        Style {
            kind: SeriesKind::LineMarkers,
            ..Style::default()
        }
    }

    /// A step line (each value holds until the next point), in the next palette colour.
    pub fn step() -> Style {
        Style {
            kind: SeriesKind::Step,
            ..Style::default()
        }
    }

    /// The same style with a fixed colour.
    pub fn with_color(self, color: Rgb) -> Style {
        Style {
            color: Some(color),
            ..self
        }
    }

    /// The same style, dashed.
    pub fn dashed(self) -> Style {
        Style {
            dashed: true,
            ..self
        }
    }
}

/// One set of points. Points are drawn in the given order; a non-finite point breaks
/// the line there, so a gap in the data shows as a gap in the chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The legend entry; an empty label keeps the series out of the legend.
    pub label: String,
    /// `(x, y)` in data units.
    pub points: Vec<(f64, f64)>,
    /// How to draw it.
    pub style: Style,
}

impl Series {
    /// A series from its label, points and style.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Series {
        Series {
            label: label.into(),
            points,
            style,
        }
    }
}

/// A single labelled point drawn on top of everything, such as the paper's operating
/// point ("paper n=5") on a ROC curve.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Marker {
    /// Position in data units.
    pub x: f64,
    /// Position in data units.
    pub y: f64,
    /// Text written next to the symbol.
    pub label: String,
}

impl Marker {
    /// A marker from its position and label.
    pub fn new(x: f64, y: f64, label: impl Into<String>) -> Marker {
        Marker {
            x,
            y,
            label: label.into(),
        }
    }
}

/// What a shaded x-interval stands for; the two kinds are shaded differently so that
/// ground truth and detector output can be told apart where they overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BandKind {
    /// A labelled (ground-truth) activation: filled in light orange, with a solid strip
    /// along the top so that intervals narrower than a pixel still show.
    #[default]
    Activation,
    /// A detection by leakypick: hatched in blue, with a solid strip along the bottom,
    /// so that where both kinds overlap each stays visible.
    Detection,
}

impl BandKind {
    /// The legend text for bands of this kind.
    pub fn legend_label(self) -> &'static str {
        match self {
            BandKind::Activation => "labelled activation",
            BandKind::Detection => "detection",
        }
    }
}

/// A shaded x-interval `[start, end]` over the full height of the plot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    /// Start in x data units.
    pub start: f64,
    /// End in x data units.
    pub end: f64,
    /// Written at the top of the band when the band is wide enough, and always kept as
    /// a tooltip; may be empty.
    pub label: String,
    /// Ground truth or detection.
    pub kind: BandKind,
}

impl Band {
    /// A band from its interval, label and kind.
    pub fn new(start: f64, end: f64, label: impl Into<String>, kind: BandKind) -> Band {
        Band {
            start,
            end,
            label: label.into(),
            kind,
        }
    }
}

/// A horizontal reference line across the plot, such as a rate or p-value threshold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HLine {
    /// Position in y data units.
    pub y: f64,
    /// Written above the right end of the line; may be empty.
    pub label: String,
}

impl HLine {
    /// A reference line from its position and label.
    pub fn new(y: f64, label: impl Into<String>) -> HLine {
        HLine {
            y,
            label: label.into(),
        }
    }
}

/// How tick values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TickFormat {
    /// Plain decimals with as many digits as the tick step needs (`0.25`, `1500`).
    #[default]
    Plain,
    /// SI prefixes for large values (`200k`, `1.5M`), for bit rates.
    Si,
    /// Seconds since the start written as a duration (`45s`, `10m`, `2h 30m`,
    /// `1d 12h`); ticks fall on round seconds, minutes, hours or days.
    Duration,
}

/// One axis: its label, range, scale and tick format.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    /// The axis title, with its unit.
    pub label: String,
    /// A fixed range; `None` fits the data (and the y axis is widened to round ticks).
    pub range: Option<(f64, f64)>,
    /// A base-10 logarithmic scale; values that are not positive are skipped.
    pub log: bool,
    /// How tick values are written.
    pub format: TickFormat,
    /// Whether a fitted range must include zero, as rates and counts should, so that
    /// the height of a curve is not exaggerated.
    pub include_zero: bool,
}

impl Axis {
    /// A linear axis with plain ticks, fitted to the data.
    pub fn new(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            ..Axis::default()
        }
    }

    /// The same axis with a fixed range.
    pub fn with_range(self, lo: f64, hi: f64) -> Axis {
        Axis {
            range: Some((lo, hi)),
            ..self
        }
    }

    /// The same axis with a tick format.
    pub fn with_format(self, format: TickFormat) -> Axis {
        Axis { format, ..self }
    }

    /// The same axis on a logarithmic scale.
    pub fn logarithmic(self) -> Axis {
        Axis { log: true, ..self }
    }

    /// The same axis, with zero always in the fitted range.
    pub fn from_zero(self) -> Axis {
        Axis {
            include_zero: true,
            ..self
        }
    }
}

/// Everything one chart shows. Drawing order is bands, grid, reference lines, series
/// (in order), markers, then axes and the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Written above the plot and as the SVG's `<title>`; may be empty.
    pub title: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The data.
    pub series: Vec<Series>,
    /// Labelled single points.
    pub markers: Vec<Marker>,
    /// Shaded x-intervals.
    pub bands: Vec<Band>,
    /// Horizontal reference lines.
    pub hlines: Vec<HLine>,
    /// Size in pixels (clamped to 160..=20,000; 0 means the default 800).
    pub width: u32,
    /// Size in pixels (clamped to 120..=20,000; 0 means the default 450).
    pub height: u32,
}

impl Chart {
    /// An empty 800×450 chart with linear axes fitted to the data.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Chart {
        Chart {
            title: title.into(),
            x: Axis::new(x_label),
            y: Axis::new(y_label),
            series: Vec::new(),
            markers: Vec::new(),
            bands: Vec::new(),
            hlines: Vec::new(),
            width: 800,
            height: 450,
        }
    }
}

/// A ROC chart (paper figures 3, 5 and 8): false positive rate against true positive
/// rate, both from 0 to 1, with the diagonal of a random guess for reference.
///
/// Each curve is one [`Series`] of `(FPR, TPR)` points, usually one per device or
/// detector; `operating_points` mark chosen thresholds, such as the paper's
/// `Marker::new(0.04, 0.96, "paper n=5")`.
pub fn roc_chart(title: &str, curves: Vec<Series>, operating_points: Vec<Marker>) -> Chart {
    let mut series = curves;
    series.push(Series::new(
        "random guess",
        vec![(0.0, 0.0), (1.0, 1.0)],
        Style::line().with_color(Rgb(0x99, 0x99, 0x99)).dashed(),
    ));
    Chart {
        x: Axis::new("false positive rate").with_range(0.0, 1.0),
        y: Axis::new("true positive rate").with_range(0.0, 1.0),
        series,
        markers: operating_points,
        ..Chart::new(title, "", "")
    }
}

/// A p-value chart (paper figures 4, 6 and 7): one p-value per consecutive window pair,
/// on a 0 to 1 scale, with the decision threshold as a dashed line.
///
/// The x values are whatever identifies a window pair (its index, or its start in
/// seconds); a caller wanting a log scale for tiny p-values sets `chart.y` afterwards.
pub fn pvalue_chart(title: &str, pvalues: Vec<Series>, threshold: f64) -> Chart {
    let hlines = if threshold.is_finite() {
        vec![HLine::new(
            threshold,
            format!("threshold p = {}", trim_number(threshold)),
        )]
    } else {
        Vec::new()
    };
    Chart {
        x: Axis::new("window pair"),
        y: Axis::new("p-value").with_range(0.0, 1.0),
        series: pvalues,
        hlines,
        ..Chart::new(title, "", "")
    }
}

/// A timeline of one device's upload rate per window (bit/s) over seconds since the
/// start, with the rate threshold, labelled activations (filled) and detections
/// (hatched) as shaded intervals.
///
/// Intervals are `(start, end)` in seconds since the start, like the rate's x values.
/// The x ticks fall on round seconds, minutes, hours or days, so a week-long capture
/// reads as `1d`, `1d 12h`, `2d`; the y axis starts at zero so rates are not
/// exaggerated.
pub fn timeline_chart(
    title: &str,
    rate_bps: Series,
    threshold_bps: f64,
    activations: Vec<(f64, f64)>,
    detections: Vec<(f64, f64)>,
) -> Chart {
    let bands = activations
        .into_iter()
        .map(|(s, e)| Band::new(s, e, "", BandKind::Activation))
        .chain(
            detections
                .into_iter()
                .map(|(s, e)| Band::new(s, e, "", BandKind::Detection)),
        )
        .collect();
    let hlines = if threshold_bps.is_finite() {
        vec![HLine::new(
            threshold_bps,
            format!("threshold {}bit/s", scale::si_label(threshold_bps)),
        )]
    } else {
        Vec::new()
    };
    Chart {
        x: Axis::new("time since start")
            .with_format(TickFormat::Duration)
            .from_zero(),
        y: Axis::new("upload rate (bit/s)")
            .with_format(TickFormat::Si)
            .from_zero(),
        series: vec![rate_bps],
        bands,
        hlines,
        ..Chart::new(title, "", "")
    }
}

/// A number written as briefly as it reads: `0.42`, `5`, `1e-6`; used in labels the
/// builders make, where a fixed number of decimals would print `0.420000`.
fn trim_number(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:e}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}
