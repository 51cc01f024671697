//! Turning a [`Chart`] into SVG: layout, then one pass per layer.

use super::scale::{self, Scale};
use super::svg::{escape, fnv1a, hex, px, text_width, w};
use super::{BandKind, Chart, Rgb, Series, SeriesKind, TickFormat, DOWNSAMPLE_ABOVE};

/// Fonts any viewer is likely to have; the file names no font it embeds.
const FONT_FAMILY: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
const TICK_FONT: f64 = 12.0;
const LABEL_FONT: f64 = 13.0;
const TITLE_FONT: f64 = 16.0;
const LEGEND_FONT: f64 = 12.0;
const MARKER_FONT: f64 = 12.0;
const BAND_FONT: f64 = 11.0;

const TEXT: &str = "#222222";
const AXIS: &str = "#333333";
const GRID: &str = "#e6e6e6";
const REFERENCE: &str = "#444444";
const MUTED: &str = "#888888";

/// Okabe & Ito's palette, ordered so that the first colours differ most; yellow is
/// last because it is faint on white.
const PALETTE: [Rgb; 8] = [
    Rgb(0x00, 0x72, 0xb2), // blue
    Rgb(0xe6, 0x9f, 0x00), // orange
    Rgb(0x00, 0x9e, 0x73), // bluish green
    Rgb(0xd5, 0x5e, 0x00), // vermillion
    Rgb(0xcc, 0x79, 0xa7), // reddish purple
    Rgb(0x56, 0xb4, 0xe9), // sky blue
    Rgb(0x00, 0x00, 0x00), // black
    Rgb(0xf0, 0xe4, 0x42), // yellow
];
const ACTIVATION: Rgb = Rgb(0xe6, 0x9f, 0x00);
const DETECTION: Rgb = Rgb(0x00, 0x72, 0xb2);

/// Series line width in pixels.
const LINE_WIDTH: f64 = 1.8;
/// Half the size of a series' point symbol.
const SYMBOL_R: f64 = 3.5;
/// Height of the solid strips that mark bands at the top and bottom of the plot.
const STRIP: f64 = 5.0;

/// The plot area in pixels.
#[derive(Debug, Clone, Copy)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Rect {
    fn width(&self) -> f64 {
        self.right - self.left
    }

    fn height(&self) -> f64 {
        self.bottom - self.top
    }

    fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.left && x <= self.right && y >= self.top && y <= self.bottom
    }

    fn intersects(&self, o: &Rect) -> bool {
        self.left < o.right && o.left < self.right && self.top < o.bottom && o.top < self.bottom
    }

    fn inflate(&self, d: f64) -> Rect {
        Rect {
            left: self.left - d,
            top: self.top - d,
            right: self.right + d,
            bottom: self.bottom + d,
        }
    }
}

/// Point symbols, cycled by series so that series differ by shape as well as colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
}

const SHAPES: [Shape; 5] = [
    Shape::Circle,
    Shape::Square,
    Shape::TriangleUp,
    Shape::Diamond,
    Shape::TriangleDown,
];

/// A series' style with the palette colour and symbol decided.
#[derive(Debug, Clone, Copy)]
struct Look {
    color: Rgb,
    kind: SeriesKind,
    dashed: bool,
    shape: Shape,
}

/// What a legend row shows to the left of its text.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Series(Look),
    Band(BandKind),
}

/// A band after merging, in pixels.
#[derive(Debug, Clone)]
struct PxBand {
    kind: BandKind,
    left: f64,
    right: f64,
    label: String,
}

/// The data ranges before layout: fitted to the data or fixed by the caller.
struct Fitted {
    x: (f64, f64),
    x_fixed: bool,
    y: (f64, f64),
    y_fixed: bool,
}

/// Where everything goes, in pixels.
struct Layout {
    plot: Rect,
    xs: Scale,
    ys: Scale,
    x_ticks: Vec<f64>,
    x_labels: Vec<String>,
    y_ticks: Vec<f64>,
    y_labels: Vec<String>,
    title_font: f64,
    /// The top of the legend rows when the legend sits above the plot.
    legend_top: f64,
}

/// Where the legend goes: inside the plot in a corner that hides nothing, or in rows
/// between the title and the plot when no corner is free.
enum LegendPlace {
    Inside { x: f64, y: f64 },
    Above { rows: Vec<Vec<(usize, f64)>> },
}

/// A reference line's label, placed.
struct LineLabel {
    x: f64,
    baseline: f64,
    text: String,
    bounds: Rect,
}

/// A labelled marker, placed: the symbol at `(x, y)` and the label at `(tx, ty)`.
struct MarkerPlace {
    x: f64,
    y: f64,
    tx: f64,
    ty: f64,
    anchor: &'static str,
    text: String,
    bounds: Vec<Rect>,
}

/// Legend row height in pixels.
const LEGEND_ROW: f64 = 18.0;
/// How many drawn points or line samples an inside legend may cover before it moves
/// above the plot.
const LEGEND_TOLERANCE: u64 = 3;

/// Renders a chart as a standalone SVG document.
///
/// The document has a `viewBox` (so it scales), a white background (so it reads on
/// dark pages), and `<title>` set to the chart's title (so screen readers and tooltips
/// have it). It never panics and is byte-for-byte the same for the same chart.
pub fn render_svg(chart: &Chart) -> String {
    let width = dimension(chart.width, 800);
    let height = dimension(chart.height, 450);
    let (wf, hf) = (f64::from(width), f64::from(height));
    let looks = looks(&chart.series);
    let fitted = fit(chart);
    let entries = legend_entries(chart, &looks);

    // Lay out with the legend inside; if no corner of the plot is free for it, lay
    // out again with the legend in rows above the plot.
    let mut lay = layout(chart, &fitted, wf, hf, 0);
    let mut drawn = pixel_series(chart, &lay);
    let mut line_labels = place_line_labels(chart, &lay);
    let mut marker_places = place_markers(chart, &lay);
    let (legend_w, legend_h) = legend_size(&entries);
    let mut legend = None;
    if !entries.is_empty() {
        let fits = legend_h <= lay.plot.height() * 0.6 && legend_w <= lay.plot.width() * 0.45;
        let avoid: Vec<(Rect, u64)> = line_labels
            .iter()
            .map(|l| (l.bounds, 1_000_000))
            .chain(
                marker_places
                    .iter()
                    .flat_map(|m| m.bounds.iter().map(|b| (*b, 1_000_000))),
            )
            .chain(pixel_bands(chart, &lay.xs, &lay.plot).iter().map(|b| {
                let r = Rect {
                    left: b.left,
                    top: lay.plot.top,
                    right: b.right,
                    bottom: lay.plot.bottom,
                };
                (r, 100)
            }))
            .collect();
        let corner = legend_corner(&lay.plot, legend_w, legend_h, &drawn, &avoid);
        legend = Some(match corner {
            Some((x, y, score)) if fits && score <= LEGEND_TOLERANCE => {
                LegendPlace::Inside { x, y }
            }
            _ => {
                let rows = legend_rows(&entries, wf - 20.0);
                lay = layout(chart, &fitted, wf, hf, rows.len());
                drawn = pixel_series(chart, &lay);
                line_labels = place_line_labels(chart, &lay);
                marker_places = place_markers(chart, &lay);
                LegendPlace::Above { rows }
            }
        });
    }

    let plot = lay.plot;
    let id = format!(
        "lp{:08x}",
        fnv1a(&[
            chart.title.as_bytes(),
            &width.to_le_bytes(),
            &height.to_le_bytes(),
            &(chart.series.len() as u64).to_le_bytes(),
        ])
    );
    let bands = pixel_bands(chart, &lay.xs, &plot);

    let mut out = String::with_capacity(16 * 1024);
    w!(
        &mut out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"{FONT_FAMILY}\" font-size=\"{}\">\n",
        px(TICK_FONT)
    );
    w!(&mut out, "<title>{}</title>\n", escape(chart.title.trim()));
    let hatch = chart.bands.iter().any(|b| b.kind == BandKind::Detection);
    defs(&mut out, &id, &plot, hatch);
    w!(
        &mut out,
        "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n"
    );

    draw_bands(&mut out, &id, &bands, &plot);
    draw_grid(&mut out, &lay);
    draw_hlines(&mut out, &id, chart, &lay);
    for ((series, look), segments) in chart.series.iter().zip(&looks).zip(&drawn) {
        draw_series(&mut out, &id, series, look, segments);
    }
    draw_band_strips(&mut out, &id, &bands, &plot);
    draw_markers(&mut out, &id, &marker_places);
    for l in &line_labels {
        boxed_text(&mut out, l.x, l.baseline, "end", TICK_FONT, &l.text);
    }
    draw_axes(&mut out, &lay);
    draw_titles(&mut out, chart, &lay, wf, hf);

    let no_data =
        drawn.iter().all(|s| s.is_empty()) && marker_places.is_empty() && bands.is_empty();
    if no_data {
        w!(
            &mut out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\" font-size=\"{}\">no data</text>\n",
            px((plot.left + plot.right) / 2.0),
            px((plot.top + plot.bottom) / 2.0),
            px(LABEL_FONT)
        );
    }

    match legend {
        Some(LegendPlace::Inside { x, y }) => {
            w!(
                &mut out,
                "<g class=\"legend\">\n<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" \
                 fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\" stroke-width=\"1\"/>\n",
                px(x),
                px(y),
                px(legend_w),
                px(legend_h)
            );
            for (i, entry) in entries.iter().enumerate() {
                legend_entry(
                    &mut out,
                    &id,
                    entry,
                    x + 8.0,
                    y + 4.0 + LEGEND_ROW * (i as f64 + 0.5),
                );
            }
            out.push_str("</g>\n");
        }
        Some(LegendPlace::Above { rows }) => {
            out.push_str("<g class=\"legend\">\n");
            for (r, row) in rows.iter().enumerate() {
                let total: f64 = row.iter().map(|(_, w)| w).sum();
                let mut x = (wf - total) / 2.0;
                let cy = lay.legend_top + LEGEND_ROW * (r as f64 + 0.5);
                for &(i, w) in row {
                    if let Some(entry) = entries.get(i) {
                        legend_entry(&mut out, &id, entry, x, cy);
                    }
                    x += w;
                }
            }
            out.push_str("</g>\n");
        }
        None => {}
    }
    out.push_str("</svg>\n");
    out
}

/// Fits both ranges. The y range is fitted to what is visible in the x range, so a
/// fixed x range zooms in on the y axis too.
fn fit(chart: &Chart) -> Fitted {
    let (xl, yl) = (chart.x.log, chart.y.log);
    let ok = |&(x, y): &(f64, f64)| scale::valid(x, xl) && scale::valid(y, yl);
    let xs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| ok(p)).map(|p| p.0))
        .chain(chart.markers.iter().map(|m| m.x))
        .chain(chart.bands.iter().flat_map(|b| [b.start, b.end]));
    let (x, x_fixed) = scale::fit(&chart.x, xs);
    let in_x = |v: f64| v >= x.0 && v <= x.1;
    let ys = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| ok(p) && in_x(p.0)).map(|p| p.1))
        .chain(chart.markers.iter().map(|m| m.y))
        .chain(chart.hlines.iter().map(|l| l.y));
    let (y, y_fixed) = scale::fit(&chart.y, ys);
    Fitted {
        x,
        x_fixed,
        y,
        y_fixed,
    }
}

/// The layout for a chart with `legend_rows` rows of legend above the plot.
///
/// The vertical layout comes first: it fixes the plot height, which sets the y ticks,
/// whose label widths set the left margin, which sets the plot width and the x ticks.
fn layout(chart: &Chart, fitted: &Fitted, wf: f64, hf: f64, legend_rows: usize) -> Layout {
    let (xl, yl) = (chart.x.log, chart.y.log);
    let title = chart.title.trim();
    let title_font = if title.is_empty() {
        0.0
    } else {
        (TITLE_FONT * (wf - 20.0) / text_width(title, TITLE_FONT, true).max(1.0))
            .clamp(8.0, TITLE_FONT)
    };
    let title_bottom = if title.is_empty() {
        6.0
    } else {
        14.0 + title_font + 6.0
    };
    let legend_h = if legend_rows > 0 {
        legend_rows as f64 * LEGEND_ROW + 6.0
    } else {
        0.0
    };
    // Whole pixels for the plot edges, so that the frame and the data line up.
    let top = (title_bottom + legend_h + 8.0).round();
    let x_label_h = if chart.x.label.trim().is_empty() {
        0.0
    } else {
        LABEL_FONT + 10.0
    };
    let bottom_margin = 6.0 + 4.0 + TICK_FONT + x_label_h + 12.0;
    let plot_h = (hf - top - bottom_margin).max(20.0).round();

    let mut y_target = (plot_h / 55.0).max(2.0);
    let (mut y_range, mut y_ticks, mut y_step);
    loop {
        (y_range, (y_ticks, y_step)) = if fitted.y_fixed {
            let (lo, hi) = fitted.y;
            (fitted.y, scale::ticks(lo, hi, yl, chart.y.format, y_target))
        } else {
            scale::nice_range(fitted.y.0, fitted.y.1, yl, chart.y.format, y_target)
        };
        if y_ticks.len() < 3
            || plot_h / (y_ticks.len() as f64 - 1.0) >= TICK_FONT + 6.0
            || y_target <= 2.0
        {
            break;
        }
        y_target = (y_target * 0.7).max(2.0);
    }
    let y_max_abs = y_range.0.abs().max(y_range.1.abs());
    let y_labels: Vec<String> = y_ticks
        .iter()
        .map(|v| scale::tick_label(*v, y_step, chart.y.format, y_max_abs))
        .collect();
    let y_label_w = y_labels
        .iter()
        .map(|l| text_width(l, TICK_FONT, false))
        .fold(0.0, f64::max);
    let y_title_w = if chart.y.label.trim().is_empty() {
        0.0
    } else {
        LABEL_FONT + 12.0
    };
    let left = (10.0 + y_title_w + y_label_w + 10.0).min(wf * 0.4).round();

    let x_range = if fitted.x_fixed || chart.x.format == TickFormat::Duration {
        fitted.x
    } else {
        let target = ((wf - left - 20.0) / 100.0).max(2.0);
        scale::nice_range(fitted.x.0, fitted.x.1, xl, chart.x.format, target).0
    };
    let x_max_abs = x_range.0.abs().max(x_range.1.abs());
    let x_ticks_for = |plot_w: f64| {
        let mut target = (plot_w / 100.0).max(2.0);
        loop {
            let (t, step) = scale::ticks(x_range.0, x_range.1, xl, chart.x.format, target);
            let labels: Vec<String> = t
                .iter()
                .map(|v| scale::tick_label(*v, step, chart.x.format, x_max_abs))
                .collect();
            let widest = labels
                .iter()
                .map(|l| text_width(l, TICK_FONT, false))
                .fold(0.0, f64::max);
            let spacing = if t.len() > 1 {
                plot_w / (t.len() as f64 - 1.0)
            } else {
                plot_w
            };
            // On a log axis the ticks are not evenly spaced, but thinning decades
            // evens them out; the check is approximate there.
            if t.len() <= 2 || spacing >= widest + 12.0 || target <= 2.0 {
                return (t, labels);
            }
            target = (target * 0.7).max(2.0);
        }
    };
    // The last tick label is centred on its tick and may need more room on the right.
    let mut right_margin = 20.0;
    let (x_ticks, x_labels) = x_ticks_for(wf - left - right_margin);
    if let (Some(&last), Some(label)) = (x_ticks.last(), x_labels.last()) {
        let probe = Scale {
            lo: x_range.0,
            hi: x_range.1,
            log: xl,
            px_lo: 0.0,
            px_hi: 1.0,
        };
        if probe.map(last) > 0.95 {
            right_margin = right_margin.max(text_width(label, TICK_FONT, false) / 2.0 + 6.0);
        }
    }
    let plot_w = (wf - left - right_margin).max(20.0).round();
    let (x_ticks, x_labels) = x_ticks_for(plot_w);

    let plot = Rect {
        left,
        top,
        right: left + plot_w,
        bottom: top + plot_h,
    };
    Layout {
        plot,
        xs: Scale {
            lo: x_range.0,
            hi: x_range.1,
            log: xl,
            px_lo: plot.left,
            px_hi: plot.right,
        },
        ys: Scale {
            lo: y_range.0,
            hi: y_range.1,
            log: yl,
            px_lo: plot.bottom,
            px_hi: plot.top,
        },
        x_ticks,
        x_labels,
        y_ticks,
        y_labels,
        title_font,
        legend_top: title_bottom + 4.0,
    }
}

/// Every series in pixels for a layout; redone when the layout changes because the
/// legend moved above the plot.
fn pixel_series(chart: &Chart, lay: &Layout) -> Vec<Vec<Vec<(f64, f64)>>> {
    chart
        .series
        .iter()
        .map(|s| pixel_segments(s, &lay.xs, &lay.ys, &lay.plot))
        .collect()
}

/// A requested size, or the default for 0, kept within sizes that render.
fn dimension(v: u32, default: u32) -> u32 {
    if v == 0 {
        default
    } else {
        v.clamp(120, 20_000)
    }
}

/// Colours and symbols for each series: fixed colours are kept, the others take
/// palette colours in order.
fn looks(series: &[Series]) -> Vec<Look> {
    let mut next = 0;
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let color = s.style.color.unwrap_or_else(|| {
                let c = PALETTE[next % PALETTE.len()];
                next += 1;
                c
            });
            Look {
                color,
                kind: s.style.kind,
                dashed: s.style.dashed,
                shape: SHAPES[i % SHAPES.len()],
            }
        })
        .collect()
}

/// Legend entries: labelled series (marked when they have nothing to draw), then one
/// per kind of band present.
fn legend_entries(chart: &Chart, looks: &[Look]) -> Vec<(String, Swatch)> {
    let (xl, yl) = (chart.x.log, chart.y.log);
    let ok = |&(x, y): &(f64, f64)| scale::valid(x, xl) && scale::valid(y, yl);
    let mut entries: Vec<(String, Swatch)> = chart
        .series
        .iter()
        .zip(looks)
        .filter(|(s, _)| !s.label.trim().is_empty())
        .map(|(s, look)| {
            let label = if s.points.iter().any(ok) {
                s.label.trim().to_string()
            } else {
                format!("{} (no data)", s.label.trim())
            };
            (label, Swatch::Series(*look))
        })
        .collect();
    for kind in [BandKind::Activation, BandKind::Detection] {
        if chart
            .bands
            .iter()
            .any(|b| b.kind == kind && scale::valid(b.start, xl) && scale::valid(b.end, xl))
        {
            entries.push((kind.legend_label().to_string(), Swatch::Band(kind)));
        }
    }
    entries
}

/// The size of the legend box when it sits inside the plot, one entry per row.
fn legend_size(entries: &[(String, Swatch)]) -> (f64, f64) {
    let text = entries
        .iter()
        .map(|(l, _)| text_width(l, LEGEND_FONT, false))
        .fold(0.0, f64::max);
    (
        8.0 + 26.0 + 6.0 + text + 8.0,
        entries.len() as f64 * LEGEND_ROW + 8.0,
    )
}

/// Legend entries packed into rows no wider than `avail`, as (entry, width) pairs.
fn legend_rows(entries: &[(String, Swatch)], avail: f64) -> Vec<Vec<(usize, f64)>> {
    let mut rows: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut used = 0.0;
    for (i, (label, _)) in entries.iter().enumerate() {
        let w = 26.0 + 6.0 + text_width(label, LEGEND_FONT, false) + 18.0;
        match rows.last_mut() {
            Some(row) if used + w <= avail => {
                row.push((i, w));
                used += w;
            }
            _ => {
                rows.push(vec![(i, w)]);
                used = w;
            }
        }
    }
    rows
}

/// Series points in pixels, split where the data has gaps, with steps expanded and long
/// series reduced to an envelope per pixel column.
fn pixel_segments(series: &Series, xs: &Scale, ys: &Scale, plot: &Rect) -> Vec<Vec<(f64, f64)>> {
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut valid = 0usize;
    for &(x, y) in &series.points {
        if xs.valid(x) && ys.valid(y) {
            current.push((x, y));
            valid += 1;
        } else if !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    let step = series.style.kind == SeriesKind::Step;
    let mut px_segments: Vec<Vec<(f64, f64)>> = segments
        .into_iter()
        .map(|seg| {
            let mut out = Vec::with_capacity(if step { seg.len() * 2 } else { seg.len() });
            for (i, &(x, y)) in seg.iter().enumerate() {
                out.push((xs.map(x), ys.map(y)));
                if step {
                    if let Some(&(nx, _)) = seg.get(i + 1) {
                        out.push((xs.map(nx), ys.map(y)));
                    }
                }
            }
            out
        })
        .collect();
    if valid > DOWNSAMPLE_ABOVE {
        px_segments = downsample(px_segments, plot);
    }
    px_segments
}

/// Reduces segments to at most four points per pixel column (the first, lowest,
/// highest and last, in their original order), which draws the same picture at this
/// size. Gaps narrower than two columns are closed first, since they cannot be seen and
/// would otherwise keep many tiny segments; points are sorted by x within a segment
/// so that an unordered series is bounded too.
fn downsample(segments: Vec<Vec<(f64, f64)>>, plot: &Rect) -> Vec<Vec<(f64, f64)>> {
    let mut joined: Vec<Vec<(f64, f64)>> = Vec::new();
    for seg in segments {
        let close = match (joined.last().and_then(|s| s.last()), seg.first()) {
            (Some(a), Some(b)) => (b.0 - a.0).abs() < 2.0,
            _ => false,
        };
        match joined.last_mut() {
            Some(last) if close => last.extend(seg),
            _ => joined.push(seg),
        }
    }
    let column = |x: f64| x.floor().clamp(plot.left - 2.0, plot.right + 2.0);
    joined
        .into_iter()
        .map(|mut seg| {
            if seg.windows(2).any(|p| p[1].0 < p[0].0) {
                seg.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let mut out = Vec::new();
            let mut i = 0;
            while i < seg.len() {
                let col = column(seg[i].0);
                let (mut lo, mut hi, mut j) = (i, i, i);
                while j < seg.len() && column(seg[j].0) == col {
                    if seg[j].1 < seg[lo].1 {
                        lo = j;
                    }
                    if seg[j].1 > seg[hi].1 {
                        hi = j;
                    }
                    j += 1;
                }
                let mut keep = [i, lo, hi, j - 1];
                keep.sort_unstable();
                let mut prev = None;
                for k in keep {
                    if prev != Some(k) {
                        out.push(seg[k]);
                        prev = Some(k);
                    }
                }
                i = j;
            }
            out
        })
        .collect()
}

/// Bands in pixels, merged per kind where they touch at this scale (so a week of
/// activations does not become thousands of overlapping rectangles), at least one pixel
/// wide so that short intervals stay visible.
fn pixel_bands(chart: &Chart, xs: &Scale, plot: &Rect) -> Vec<PxBand> {
    let mut out = Vec::new();
    for kind in [BandKind::Activation, BandKind::Detection] {
        let mut bands: Vec<(f64, f64, &str)> = chart
            .bands
            .iter()
            .filter(|b| b.kind == kind && xs.valid(b.start) && xs.valid(b.end))
            .map(|b| {
                let (a, c) = (xs.map(b.start), xs.map(b.end));
                let (a, c) = if a <= c { (a, c) } else { (c, a) };
                (
                    a.max(plot.left - 1.0),
                    c.min(plot.right + 1.0),
                    b.label.trim(),
                )
            })
            .filter(|(a, c, _)| c >= &plot.left && a <= &plot.right)
            .collect();
        bands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut merged: Vec<(PxBand, usize)> = Vec::new();
        for (a, c, label) in bands {
            let c = c.max(a + 1.0);
            match merged.last_mut() {
                Some((m, n)) if a <= m.right + 0.5 => {
                    m.right = m.right.max(c);
                    *n += 1;
                }
                _ => merged.push((
                    PxBand {
                        kind,
                        left: a,
                        right: c,
                        label: label.to_string(),
                    },
                    1,
                )),
            }
        }
        out.extend(merged.into_iter().map(|(mut b, n)| {
            if n > 1 && !b.label.is_empty() {
                b.label = format!("{} (+{} more)", b.label, n - 1);
            }
            b
        }));
    }
    out
}

/// Clip paths (the plot, and a slightly larger one so that symbols on the edge are
/// whole) and the hatch pattern for detections.
fn defs(out: &mut String, id: &str, plot: &Rect, hatch: bool) {
    out.push_str("<defs>\n");
    for (suffix, r) in [("clip", *plot), ("mclip", plot.inflate(SYMBOL_R + 3.0))] {
        w!(
            out,
            "<clipPath id=\"{id}-{suffix}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n",
            px(r.left),
            px(r.top),
            px(r.width()),
            px(r.height())
        );
    }
    if hatch {
        w!(
            out,
            "<pattern id=\"{id}-hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" \
             patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"{c}\" fill-opacity=\"0.08\"/>\
             <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"{c}\" stroke-width=\"2\" stroke-opacity=\"0.45\"/></pattern>\n",
            c = hex(DETECTION)
        );
    }
    out.push_str("</defs>\n");
}

/// The full-height shading of bands, under the grid and the data so that neither is
/// hidden; labels are written only where the band is wide enough to hold them.
fn draw_bands(out: &mut String, id: &str, bands: &[PxBand], plot: &Rect) {
    if bands.is_empty() {
        return;
    }
    w!(out, "<g clip-path=\"url(#{id}-clip)\">\n");
    for b in bands {
        let tooltip = if b.label.is_empty() {
            String::new()
        } else {
            format!("<title>{}</title>", escape(&b.label))
        };
        let fill = match b.kind {
            BandKind::Activation => format!("{}\" fill-opacity=\"0.22", hex(ACTIVATION)),
            BandKind::Detection => format!("url(#{id}-hatch)"),
        };
        w!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\">{tooltip}</rect>\n",
            px(b.left),
            px(plot.top),
            px(b.right - b.left),
            px(plot.height()),
        );
        if !b.label.is_empty() && text_width(&b.label, BAND_FONT, false) + 6.0 <= b.right - b.left {
            let y = match b.kind {
                BandKind::Activation => plot.top + 2.0 * STRIP + BAND_FONT + 3.0,
                BandKind::Detection => plot.bottom - 5.0,
            };
            w!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{TEXT}\">{}</text>\n",
                px(b.left + 3.0),
                px(y),
                px(BAND_FONT),
                escape(&b.label)
            );
        }
    }
    out.push_str("</g>\n");
}

/// Solid strips along the top of the plot, activations above detections, drawn over
/// the data: a two-row ribbon in which ground truth and detector output line up, and
/// which shows even intervals narrower than a pixel.
fn draw_band_strips(out: &mut String, id: &str, bands: &[PxBand], plot: &Rect) {
    if bands.is_empty() {
        return;
    }
    w!(out, "<g clip-path=\"url(#{id}-clip)\">\n");
    for b in bands {
        let (y, c) = match b.kind {
            BandKind::Activation => (plot.top, ACTIVATION),
            BandKind::Detection => (plot.top + STRIP, DETECTION),
        };
        w!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
            px(b.left),
            px(y),
            px(b.right - b.left),
            px(STRIP),
            hex(c)
        );
    }
    out.push_str("</g>\n");
}

/// A coordinate on the pixel grid's centre line, so that one-pixel lines are sharp.
fn crisp(v: f64) -> f64 {
    v.floor() + 0.5
}

/// Light grid lines at the ticks, which make values readable far from the axes.
fn draw_grid(out: &mut String, lay: &Layout) {
    let plot = &lay.plot;
    w!(out, "<g stroke=\"{GRID}\" stroke-width=\"1\">\n");
    for &t in &lay.x_ticks {
        let x = crisp(lay.xs.map(t));
        if x > plot.left + 1.0 && x < plot.right - 1.0 {
            w!(
                out,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n",
                px(x),
                px(plot.top),
                px(plot.bottom)
            );
        }
    }
    for &t in &lay.y_ticks {
        let y = crisp(lay.ys.map(t));
        if y > plot.top + 1.0 && y < plot.bottom - 1.0 {
            w!(
                out,
                "<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n",
                px(y),
                px(plot.left),
                px(plot.right)
            );
        }
    }
    out.push_str("</g>\n");
}

/// The box a single line of text occupies, from its anchor point and baseline.
fn text_box(x: f64, baseline: f64, anchor: &str, size: f64, text: &str) -> Rect {
    let tw = text_width(text, size, false);
    let left = match anchor {
        "end" => x - tw,
        "middle" => x - tw / 2.0,
        _ => x,
    };
    Rect {
        left: left - 2.0,
        top: baseline - size * 0.95,
        right: left + tw + 2.0,
        bottom: baseline + size * 0.3,
    }
}

/// A label on a translucent white box, so that it stays readable over lines, points
/// and bands while what lies under it still shows faintly.
fn boxed_text(out: &mut String, x: f64, baseline: f64, anchor: &str, size: f64, text: &str) {
    let b = text_box(x, baseline, anchor, size, text);
    w!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"#ffffff\" fill-opacity=\"0.8\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"{}\" fill=\"{TEXT}\">{}</text>\n",
        px(b.left),
        px(b.top),
        px(b.right - b.left),
        px(b.bottom - b.top),
        px(x),
        px(baseline),
        px(size),
        escape(text)
    );
}

/// The reference lines that fall inside the plot, as pixel heights and labels.
fn visible_hlines<'a>(chart: &'a Chart, lay: &Layout) -> Vec<(f64, &'a str)> {
    chart
        .hlines
        .iter()
        .filter(|l| lay.ys.valid(l.y))
        .map(|l| (lay.ys.map(l.y), l.label.trim()))
        .filter(|(y, _)| *y >= lay.plot.top - 0.5 && *y <= lay.plot.bottom + 0.5)
        .collect()
}

/// Reference lines across the plot, dashed so they do not read as data.
fn draw_hlines(out: &mut String, id: &str, chart: &Chart, lay: &Layout) {
    let lines = visible_hlines(chart, lay);
    if lines.is_empty() {
        return;
    }
    w!(
        out,
        "<g clip-path=\"url(#{id}-clip)\" stroke=\"{REFERENCE}\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\">\n"
    );
    for (y, _) in &lines {
        w!(
            out,
            "<line x1=\"{}\" y1=\"{2}\" x2=\"{}\" y2=\"{2}\"/>\n",
            px(lay.plot.left),
            px(lay.plot.right),
            px(*y)
        );
    }
    out.push_str("</g>\n");
}

/// Reference-line labels go above the right end of their line, or below it at the
/// top of the plot.
fn place_line_labels(chart: &Chart, lay: &Layout) -> Vec<LineLabel> {
    visible_hlines(chart, lay)
        .into_iter()
        .filter(|(_, label)| !label.is_empty())
        .map(|(y, label)| {
            let baseline = if y - 5.0 - TICK_FONT < lay.plot.top {
                y + TICK_FONT + 4.0
            } else {
                y - 5.0
            };
            let x = lay.plot.right - 6.0;
            LineLabel {
                x,
                baseline,
                text: label.to_string(),
                bounds: text_box(x, baseline, "end", TICK_FONT, label),
            }
        })
        .collect()
}
/// The SVG element of a point symbol centred on `(x, y)`.
fn symbol(shape: Shape, x: f64, y: f64, r: f64) -> String {
    match shape {
        Shape::Circle => format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
            px(x),
            px(y),
            px(r)
        ),
        Shape::Square => {
            let s = r * 0.9;
            format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{2}\" height=\"{2}\"/>",
                px(x - s),
                px(y - s),
                px(2.0 * s)
            )
        }
        Shape::TriangleUp | Shape::TriangleDown => {
            let k = if shape == Shape::TriangleUp {
                1.0
            } else {
                -1.0
            };
            let r = r * 1.15;
            format!(
                "<path d=\"M{},{}L{},{}L{},{}Z\"/>",
                px(x),
                px(y - k * r),
                px(x + r * 0.87),
                px(y + k * r * 0.5),
                px(x - r * 0.87),
                px(y + k * r * 0.5)
            )
        }
        Shape::Diamond => {
            let r = r * 1.2;
            format!(
                "<path d=\"M{},{}L{},{}L{},{}L{},{}Z\"/>",
                px(x),
                px(y - r),
                px(x + r),
                px(y),
                px(x),
                px(y + r),
                px(x - r),
                px(y)
            )
        }
    }
}

/// One series: its lines (clipped to the plot) and its symbols (clipped a little
/// wider, so that points on the edge stay whole), grouped and labelled with
/// `data-label` so that a reader of the SVG can tell the series apart.
fn draw_series(
    out: &mut String,
    id: &str,
    series: &Series,
    look: &Look,
    segments: &[Vec<(f64, f64)>],
) {
    if segments.is_empty() {
        return;
    }
    let color = hex(look.color);
    let label = escape(series.label.trim());
    w!(out, "<g class=\"series\" data-label=\"{label}\">\n");
    let lines = look.kind != SeriesKind::Markers;
    if lines {
        let dash = if look.dashed {
            " stroke-dasharray=\"7 5\""
        } else {
            ""
        };
        w!(
            out,
            "<g clip-path=\"url(#{id}-clip)\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{}\" \
             stroke-linejoin=\"round\" stroke-linecap=\"round\"{dash}>\n",
            px(LINE_WIDTH)
        );
        for seg in segments.iter().filter(|s| s.len() > 1) {
            out.push_str("<polyline points=\"");
            for (i, (x, y)) in seg.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                w!(out, "{},{}", px(*x), px(*y));
            }
            out.push_str("\"/>\n");
        }
        out.push_str("</g>\n");
    }
    // A lone point between gaps has no line to show it, so it gets a dot.
    let symbols: Vec<(f64, f64)> = if lines && look.kind != SeriesKind::LineMarkers {
        segments
            .iter()
            .filter(|s| s.len() == 1)
            .flatten()
            .copied()
            .collect()
    } else {
        segments.iter().flatten().copied().collect()
    };
    if !symbols.is_empty() {
        let shape = if lines && look.kind != SeriesKind::LineMarkers {
            Shape::Circle
        } else {
            look.shape
        };
        let r = if shape == Shape::Circle
            && look.kind != SeriesKind::Markers
            && look.kind != SeriesKind::LineMarkers
        {
            LINE_WIDTH
        } else {
            SYMBOL_R
        };
        w!(
            out,
            "<g clip-path=\"url(#{id}-mclip)\" fill=\"{color}\" stroke=\"#ffffff\" stroke-width=\"0.8\">\n"
        );
        for (x, y) in symbols {
            out.push_str(&symbol(shape, x, y, r));
            out.push('\n');
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
}

/// Labelled markers: the label goes above and to the right of the symbol, flipped
/// left or below where it would leave the plot.
fn place_markers(chart: &Chart, lay: &Layout) -> Vec<MarkerPlace> {
    let plot = &lay.plot;
    chart
        .markers
        .iter()
        .filter(|m| lay.xs.valid(m.x) && lay.ys.valid(m.y))
        .map(|m| (lay.xs.map(m.x), lay.ys.map(m.y), m.label.trim()))
        .filter(|(x, y, _)| plot.inflate(1.0).contains((*x, *y)))
        .map(|(x, y, label)| {
            let tw = text_width(label, MARKER_FONT, false);
            let (tx, anchor) = if x + 10.0 + tw <= plot.right - 4.0 {
                (x + 10.0, "start")
            } else {
                (x - 10.0, "end")
            };
            let ty = if y - 8.0 - MARKER_FONT >= plot.top + 2.0 * STRIP + 2.0 {
                y - 8.0
            } else {
                y + 8.0 + MARKER_FONT
            };
            let mut bounds = vec![Rect {
                left: x - 7.0,
                top: y - 7.0,
                right: x + 7.0,
                bottom: y + 7.0,
            }];
            if !label.is_empty() {
                bounds.push(text_box(tx, ty, anchor, MARKER_FONT, label));
            }
            MarkerPlace {
                x,
                y,
                tx,
                ty,
                anchor,
                text: label.to_string(),
                bounds,
            }
        })
        .collect()
}

/// Labelled markers: a black diamond with a white rim, above every series, with the
/// label on a translucent box.
fn draw_markers(out: &mut String, id: &str, places: &[MarkerPlace]) {
    if places.is_empty() {
        return;
    }
    w!(
        out,
        "<g clip-path=\"url(#{id}-mclip)\" fill=\"#000000\" stroke=\"#ffffff\" stroke-width=\"1.2\">\n"
    );
    for m in places {
        out.push_str(&symbol(Shape::Diamond, m.x, m.y, 5.0));
        out.push('\n');
    }
    out.push_str("</g>\n");
    for m in places.iter().filter(|m| !m.text.is_empty()) {
        boxed_text(out, m.tx, m.ty, m.anchor, MARKER_FONT, &m.text);
    }
}

/// The plot frame, tick marks and tick labels, drawn over the data so that nothing
/// covers the scale.
fn draw_axes(out: &mut String, lay: &Layout) {
    let plot = &lay.plot;
    let (l, t) = (crisp(plot.left), crisp(plot.top));
    let (r, b) = (crisp(plot.right) - 1.0, crisp(plot.bottom) - 1.0);
    w!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{AXIS}\" stroke-width=\"1\"/>\n",
        px(l),
        px(t),
        px(r - l),
        px(b - t)
    );
    w!(out, "<g stroke=\"{AXIS}\" stroke-width=\"1\">\n");
    for &v in &lay.x_ticks {
        let x = crisp(lay.xs.map(v));
        w!(
            out,
            "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n",
            px(x),
            px(b),
            px(b + 5.0)
        );
    }
    for &v in &lay.y_ticks {
        let y = crisp(lay.ys.map(v));
        w!(
            out,
            "<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n",
            px(y),
            px(l - 5.0),
            px(l)
        );
    }
    out.push_str("</g>\n");
    w!(out, "<g fill=\"{TEXT}\" font-size=\"{}\">\n", px(TICK_FONT));
    for (v, label) in lay.x_ticks.iter().zip(&lay.x_labels) {
        w!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            px(lay.xs.map(*v)),
            px(plot.bottom + 6.0 + 4.0 + TICK_FONT * 0.8),
            escape(label)
        );
    }
    for (v, label) in lay.y_ticks.iter().zip(&lay.y_labels) {
        w!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            px(plot.left - 8.0),
            px(lay.ys.map(*v) + TICK_FONT * 0.35),
            escape(label)
        );
    }
    out.push_str("</g>\n");
}

/// The axis titles and the chart title.
fn draw_titles(out: &mut String, chart: &Chart, lay: &Layout, wf: f64, hf: f64) {
    let plot = &lay.plot;
    let cx = (plot.left + plot.right) / 2.0;
    let x_label = chart.x.label.trim();
    if !x_label.is_empty() {
        w!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"{TEXT}\">{}</text>\n",
            px(cx),
            px(hf - 12.0),
            px(LABEL_FONT),
            escape(x_label)
        );
    }
    let y_label = chart.y.label.trim();
    if !y_label.is_empty() {
        w!(
            out,
            "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\" font-size=\"{}\" fill=\"{TEXT}\">{}</text>\n",
            px(10.0 + LABEL_FONT),
            px((plot.top + plot.bottom) / 2.0),
            px(LABEL_FONT),
            escape(y_label)
        );
    }
    let title = chart.title.trim();
    if !title.is_empty() {
        // Centred over the plot, unless that would push a long title off the image.
        let tw = text_width(title, lay.title_font, true);
        let x = if cx - tw / 2.0 >= 6.0 && cx + tw / 2.0 <= wf - 6.0 {
            cx
        } else {
            wf / 2.0
        };
        w!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" font-weight=\"bold\" fill=\"{TEXT}\">{}</text>\n",
            px(x),
            px(14.0 + lay.title_font * 0.8),
            px(lay.title_font),
            escape(title)
        );
    }
}

/// The inside corner where the legend hides the least, with its score: the number of
/// drawn points and line samples under it, plus the weight of each thing in `avoid` it
/// would cover (labels weigh a million, shaded intervals a hundred). Ties go to top
/// right, top left, bottom right, bottom left, in that order. `None` when the plot is
/// too small to hold the legend.
fn legend_corner(
    plot: &Rect,
    lw: f64,
    lh: f64,
    drawn: &[Vec<Vec<(f64, f64)>>],
    avoid: &[(Rect, u64)],
) -> Option<(f64, f64, u64)> {
    let inset = 8.0;
    if lw + 2.0 * inset > plot.width() || lh + 2.0 * inset + 2.0 * STRIP > plot.height() {
        return None;
    }
    // Below the band strips at the top.
    let top = plot.top + 2.0 * STRIP + inset;
    let corners = [
        (plot.right - inset - lw, top),
        (plot.left + inset, top),
        (plot.right - inset - lw, plot.bottom - inset - lh),
        (plot.left + inset, plot.bottom - inset - lh),
    ];
    let mut best: Option<(f64, f64, u64)> = None;
    for (x, y) in corners {
        let r = Rect {
            left: x,
            top: y,
            right: x + lw,
            bottom: y + lh,
        }
        .inflate(3.0);
        let mut score: u64 = avoid
            .iter()
            .filter(|(a, _)| a.intersects(&r))
            .map(|(_, weight)| weight)
            .sum();
        for seg in drawn.iter().flatten() {
            score += seg.iter().filter(|p| r.contains(**p)).count() as u64;
            for pair in seg.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                // Segments entirely on one side of the box cannot cross it.
                if (a.0 < r.left && b.0 < r.left)
                    || (a.0 > r.right && b.0 > r.right)
                    || (a.1 < r.top && b.1 < r.top)
                    || (a.1 > r.bottom && b.1 > r.bottom)
                {
                    continue;
                }
                let len = (b.0 - a.0).hypot(b.1 - a.1);
                let n = (len / 4.0).ceil().min(400.0) as usize;
                score += (1..n)
                    .filter(|k| {
                        let t = *k as f64 / n as f64;
                        r.contains((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)))
                    })
                    .count() as u64;
            }
        }
        if best.is_none_or(|(_, _, s)| score < s) {
            best = Some((x, y, score));
        }
    }
    best
}

/// One legend entry: its swatch from `x`, then its text, centred on the row at `cy`.
fn legend_entry(out: &mut String, id: &str, (label, swatch): &(String, Swatch), x: f64, cy: f64) {
    let (sx, ex) = (x, x + 26.0);
    match swatch {
        Swatch::Series(look) => {
            let color = hex(look.color);
            if look.kind != SeriesKind::Markers {
                let dash = if look.dashed {
                    " stroke-dasharray=\"7 5\""
                } else {
                    ""
                };
                w!(
                    out,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"{sw}\"{dash}/>\n",
                    x1 = px(sx),
                    x2 = px(ex),
                    y = px(cy),
                    sw = px(LINE_WIDTH + 0.4),
                );
            }
            if matches!(look.kind, SeriesKind::Markers | SeriesKind::LineMarkers) {
                w!(
                    out,
                    "<g fill=\"{color}\" stroke=\"#ffffff\" stroke-width=\"0.8\">"
                );
                out.push_str(&symbol(look.shape, (sx + ex) / 2.0, cy, SYMBOL_R));
                out.push_str("</g>\n");
            }
        }
        Swatch::Band(kind) => {
            let (fill, strip) = match kind {
                BandKind::Activation => (
                    format!("{}\" fill-opacity=\"0.22", hex(ACTIVATION)),
                    ACTIVATION,
                ),
                BandKind::Detection => (format!("url(#{id}-hatch)"), DETECTION),
            };
            w!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"26\" height=\"12\" fill=\"{fill}\"/>\
                 <rect x=\"{x}\" y=\"{y}\" width=\"26\" height=\"3\" fill=\"{}\"/>\n",
                hex(strip),
                x = px(sx),
                y = px(cy - 6.0),
            );
        }
    }
    w!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{TEXT}\">{}</text>\n",
        px(ex + 6.0),
        px(cy + LEGEND_FONT * 0.35),
        px(LEGEND_FONT),
        escape(label)
    );
}
