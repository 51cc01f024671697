//! Structural tests of the SVG output: well-formed XML, the texts a reader needs,
//! bounded size after downsampling, no `NaN`, deterministic bytes.

use super::scale::{self, tick_label, ticks};
use super::svg::{escape, px};
use super::*;

/// Checks that `svg` is well-formed enough for any XML parser: every tag closes in
/// order, attributes are quoted, `&` only starts an entity, and no `<` or `>` stray
/// in text. Returns the element names in document order.
fn check_xml(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let after = &rest[open..];
        if let Some(body) = after.strip_prefix("<?") {
            let end = body
                .find("?>")
                .unwrap_or_else(|| panic!("unclosed declaration"));
            rest = &body[end + 2..];
            continue;
        }
        let end = tag_end(after);
        let tag = &after[1..end];
        rest = &after[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("close </{name}> with nothing open"));
            assert_eq!(top, name.trim(), "mismatched close tag");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "bad element name {name:?}"
        );
        check_attributes(&tag[name_end..]);
        names.push(name.to_string());
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    names
}

/// The index of the `>` that ends the tag starting at `s[0]`, skipping quoted values.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"') | (None, '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            (None, '<') => panic!("'<' inside a tag"),
            _ => {}
        }
    }
    panic!("unterminated tag");
}

fn check_attributes(mut s: &str) {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return;
        }
        let eq = s
            .find('=')
            .unwrap_or_else(|| panic!("attribute without value: {s:?}"));
        let name = s[..eq].trim();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
            "bad attribute name {name:?}"
        );
        let value = &s[eq + 1..];
        let q = value.chars().next().unwrap_or(' ');
        assert!(q == '"' || q == '\'', "unquoted attribute {name}");
        let close = value[1..]
            .find(q)
            .unwrap_or_else(|| panic!("unclosed attribute {name}"));
        check_text(&value[1..1 + close]);
        s = &value[close + 2..];
    }
}

fn check_text(s: &str) {
    assert!(
        !s.contains('>') && !s.contains('<'),
        "stray angle bracket in {s:?}"
    );
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let end = after.find(';').unwrap_or_else(|| panic!("bare & in {s:?}"));
        assert!(
            ["amp", "lt", "gt", "quot", "apos"].contains(&&after[..end]),
            "unknown entity in {s:?}"
        );
        rest = &after[end + 1..];
    }
}

/// The number of coordinate pairs in each `<polyline>`.
fn polyline_lengths(svg: &str) -> Vec<usize> {
    svg.split("<polyline points=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or("").split(' ').count())
        .collect()
}

fn sample_roc() -> Chart {
    let curve = vec![
        (0.0, 0.0),
        (0.01, 0.7),
        (0.04, 0.96),
        (0.2, 0.98),
        (1.0, 1.0),
    ];
    roc_chart(
        "Burst detection ROC",
        vec![Series::new("Echo Dot", curve, Style::line_markers())],
        vec![Marker::new(0.04, 0.96, "paper n=5")],
    )
}

fn week_timeline() -> Chart {
    let points: Vec<(f64, f64)> = (0..605_000u64)
        .map(|i| {
            let t = i as f64;
            let y = if i % 3600 < 8 {
                300_000.0
            } else {
                ((i * 7919) % 4000) as f64
            };
            (t, y)
        })
        .collect();
    let activations = (0..168)
        .map(|h| (h as f64 * 3600.0, h as f64 * 3600.0 + 8.0))
        .collect();
    let detections = (0..168)
        .map(|h| (h as f64 * 3600.0 + 1.0, h as f64 * 3600.0 + 7.0))
        .collect();
    timeline_chart(
        "a week of 1-s windows",
        Series::new("Echo Dot", points, Style::step()),
        23_000.0,
        activations,
        detections,
    )
}

#[test]
fn roc_has_title_labels_legend_and_marker() {
    let svg = render_svg(&sample_roc());
    let names = check_xml(&svg);
    assert_eq!(names.first().map(String::as_str), Some("svg"));
    assert!(svg.contains("viewBox=\"0 0 800 450\""));
    assert!(svg.contains("fill=\"#ffffff\""), "white background");
    for text in [
        ">Burst detection ROC<",
        ">false positive rate<",
        ">true positive rate<",
        ">Echo Dot<",
        ">random guess<",
        ">paper n=5<",
    ] {
        assert!(svg.contains(text), "missing {text}");
    }
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
}

#[test]
fn rendering_is_deterministic() {
    for chart in [sample_roc(), week_timeline()] {
        assert_eq!(render_svg(&chart), render_svg(&chart.clone()));
    }
}

#[test]
fn text_is_escaped() {
    let mut chart = sample_roc();
    chart.title = "<b>\"Tom & Jerry's\"</b>\u{0007}\nnext".to_string();
    chart.series[0].label = "a<b".to_string();
    chart.markers[0].label = "x > y & z".to_string();
    chart.x.label = "it's".to_string();
    let svg = render_svg(&chart);
    check_xml(&svg);
    assert!(svg.contains("&lt;b&gt;&quot;Tom &amp; Jerry&apos;s&quot;&lt;/b&gt; next"));
    assert!(svg.contains(">a&lt;b<"));
    assert!(svg.contains(">x &gt; y &amp; z<"));
    assert!(!svg.contains('\u{0007}'));
    assert_eq!(escape("\u{FFFF}ok"), "ok");
}

#[test]
fn week_of_windows_is_downsampled() {
    let chart = week_timeline();
    let svg = render_svg(&chart);
    check_xml(&svg);
    let lengths = polyline_lengths(&svg);
    let total: usize = lengths.iter().sum();
    // At most four points per pixel column, plus the columns outside the plot.
    assert!(total > 100, "the series is drawn ({total} points)");
    assert!(
        total <= 4 * (chart.width as usize + 10),
        "{total} points after downsampling"
    );
    assert!(svg.len() < 400_000, "{} bytes", svg.len());
    for text in [
        "labelled activation",
        "detection",
        "threshold 23 kbit/s",
        "time since start",
    ] {
        assert!(svg.contains(text), "missing {text}");
    }
    // Day ticks on a week.
    assert!(svg.contains(">1d<") && svg.contains(">6d<"), "day ticks");
    assert!(!svg.contains("NaN"));
    // The hourly bursts reach the top of the envelope.
    assert!(svg.contains(">300k<"));
}

#[test]
fn nan_inf_empty_and_single_points_do_not_panic() {
    let bad = vec![
        (f64::NAN, 1.0),
        (1.0, f64::INFINITY),
        (f64::NEG_INFINITY, f64::NAN),
    ];
    let charts = vec![
        Chart::new("", "", ""),
        Chart {
            series: vec![Series::new("only bad", bad.clone(), Style::line())],
            markers: vec![Marker::new(f64::NAN, 0.5, "lost")],
            bands: vec![Band::new(f64::NAN, 3.0, "x", BandKind::Detection)],
            hlines: vec![HLine::new(f64::INFINITY, "inf")],
            ..Chart::new("bad", "x", "y")
        },
        Chart {
            series: vec![Series::new("one", vec![(5.0, 5.0)], Style::line())],
            ..Chart::new("single", "x", "y")
        },
        Chart {
            series: vec![
                Series::new("flat", vec![(1.0, 0.0), (1.0, 0.0)], Style::step()),
                Series::new("empty", vec![], Style::markers()),
            ],
            x: Axis::new("x").with_range(3.0, 3.0),
            y: Axis::new("y").logarithmic(),
            ..Chart::new("zero width", "", "")
        },
        Chart {
            series: vec![Series::new(
                "huge",
                vec![(-1e308, -1e308), (1e308, 1e308), (0.0, 0.0)],
                Style::line_markers(),
            )],
            width: 0,
            height: 1,
            ..Chart::new("extremes", "x", "y")
        },
        pvalue_chart(
            "p",
            vec![Series::new("idle", vec![(0.0, f64::NAN)], Style::markers())],
            f64::NAN,
        ),
        timeline_chart(
            "empty timeline",
            Series::default(),
            23_000.0,
            vec![],
            vec![(f64::NAN, 1.0)],
        ),
    ];
    for chart in &charts {
        let svg = render_svg(chart);
        check_xml(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf\""), "{svg}");
    }
    let empty = render_svg(&charts[0]);
    assert!(empty.contains(">no data<"));
    let bad = render_svg(&charts[1]);
    assert!(bad.contains(">only bad (no data)<"));
    // A lone point is drawn as a dot.
    let single = render_svg(&charts[2]);
    assert!(single.contains("<circle"));
}

#[test]
fn gaps_break_lines() {
    let points = vec![
        (0.0, 1.0),
        (1.0, 2.0),
        (2.0, f64::NAN),
        (3.0, 1.0),
        (4.0, 3.0),
    ];
    let chart = Chart {
        series: vec![Series::new("gappy", points, Style::line())],
        ..Chart::new("gaps", "x", "y")
    };
    assert_eq!(polyline_lengths(&render_svg(&chart)), vec![2, 2]);
}

#[test]
fn step_series_hold_each_value() {
    let chart = Chart {
        series: vec![Series::new(
            "s",
            vec![(0.0, 1.0), (1.0, 2.0), (2.0, 0.0)],
            Style::step(),
        )],
        ..Chart::new("steps", "x", "y")
    };
    assert_eq!(polyline_lengths(&render_svg(&chart)), vec![5]);
}

#[test]
fn unordered_long_series_are_bounded_too() {
    let points: Vec<(f64, f64)> = (0..20_000u64)
        .map(|i| (((i * 7919) % 20_000) as f64, (i % 17) as f64))
        .collect();
    let chart = Chart {
        series: vec![Series::new("scatter", points, Style::line())],
        ..Chart::new("unordered", "x", "y")
    };
    let total: usize = polyline_lengths(&render_svg(&chart)).iter().sum();
    assert!(total <= 4 * 810, "{total}");
}

#[test]
fn pvalue_chart_has_threshold() {
    let idle: Vec<(f64, f64)> = (0..50)
        .map(|i| (f64::from(i), 0.3 + 0.014 * f64::from(i)))
        .collect();
    let probe: Vec<(f64, f64)> = (0..50)
        .map(|i| (f64::from(i), 0.004 * f64::from(i)))
        .collect();
    let chart = pvalue_chart(
        "t-test p-values",
        vec![
            Series::new("idle", idle, Style::markers()),
            Series::new("probing", probe, Style::markers()),
        ],
        0.42,
    );
    let svg = render_svg(&chart);
    check_xml(&svg);
    assert!(svg.contains(">threshold p = 0.42<"));
    assert!(svg.contains(">p-value<") && svg.contains(">window pair<"));
    assert!(svg.contains(">idle<") && svg.contains(">probing<"));
}

#[test]
fn log_axis_skips_non_positive_values() {
    let chart = Chart {
        series: vec![Series::new(
            "p",
            vec![
                (0.0, 0.5),
                (1.0, 1e-6),
                (2.0, 0.0),
                (3.0, -1.0),
                (4.0, 1e-12),
            ],
            Style::line_markers(),
        )],
        y: Axis::new("p-value").logarithmic(),
        ..Chart::new("log", "window", "")
    };
    let svg = render_svg(&chart);
    check_xml(&svg);
    assert!(svg.contains(">1e-12<") || svg.contains(">1e-10<"), "{svg}");
    assert_eq!(polyline_lengths(&svg), vec![2]);
}

#[test]
fn ticks_are_round() {
    let (t, step) = ticks(0.0, 1.0, false, TickFormat::Plain, 5.0);
    assert_eq!(step, 0.2);
    let labels: Vec<String> = t
        .iter()
        .map(|v| tick_label(*v, step, TickFormat::Plain, 1.0))
        .collect();
    assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    let (t, step) = ticks(0.0, 615_464.0, false, TickFormat::Si, 7.0);
    let labels: Vec<String> = t
        .iter()
        .map(|v| tick_label(*v, step, TickFormat::Si, 615_464.0))
        .collect();
    assert_eq!(
        labels,
        ["0", "100k", "200k", "300k", "400k", "500k", "600k"]
    );
    let (t, step) = ticks(-2.5, 2.5, false, TickFormat::Plain, 5.0);
    assert!(t.iter().any(|v| *v == 0.0 && v.is_sign_positive()));
    assert_eq!(tick_label(-0.0, step, TickFormat::Plain, 2.5), "0");
}

#[test]
fn duration_ticks_read_as_time() {
    let label = |lo: f64, hi: f64, target: f64| -> Vec<String> {
        let (t, step) = ticks(lo, hi, false, TickFormat::Duration, target);
        t.iter()
            .map(|v| tick_label(*v, step, TickFormat::Duration, hi))
            .collect()
    };
    assert_eq!(label(0.0, 48.0, 5.0), ["0s", "10s", "20s", "30s", "40s"]);
    assert_eq!(
        label(0.0, 3600.0, 6.0),
        ["0", "10m", "20m", "30m", "40m", "50m", "1h"]
    );
    assert_eq!(
        label(0.0, 605_000.0, 8.0),
        ["0", "1d", "2d", "3d", "4d", "5d", "6d", "7d"]
    );
    assert_eq!(label(0.0, 172_800.0, 8.0)[1], "6h");
    assert_eq!(label(0.0, 86_400.0 * 2.0, 4.0)[1], "12h");
    assert_eq!(label(0.0, 130_000.0, 12.0)[5], "1d 6h");
}

#[test]
fn fitting_handles_degenerate_ranges() {
    let axis = Axis::new("x");
    assert_eq!(scale::fit(&axis, [3.0, 3.0].into_iter()).0, (2.7, 3.3));
    assert_eq!(scale::fit(&axis, [0.0].into_iter()).0, (0.0, 1.0));
    assert_eq!(scale::fit(&axis, std::iter::empty()).0, (0.0, 1.0));
    assert_eq!(
        scale::fit(&axis.clone().from_zero(), [5.0, 9.0].into_iter()).0,
        (0.0, 9.0)
    );
    let fixed = axis.with_range(1.0, 0.0);
    assert_eq!(scale::fit(&fixed, [5.0].into_iter()), ((0.0, 1.0), true));
    assert_eq!(px(-0.04), "0");
    assert_eq!(px(12.25), "12.3");
    assert_eq!(px(f64::NAN), "0");
}

#[test]
fn ids_differ_between_charts() {
    let a = render_svg(&sample_roc());
    let mut other = sample_roc();
    other.title = "another".into();
    let b = render_svg(&other);
    let id = |s: &str| {
        s.split("clipPath id=\"")
            .nth(1)
            .map(|s| s[..10].to_string())
    };
    assert_ne!(id(&a), id(&b));
}

#[test]
fn writes_sample_charts() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    for (name, chart) in [("roc", sample_roc()), ("week", week_timeline())] {
        let path = dir.path().join(format!("{name}.svg"));
        std::fs::write(&path, render_svg(&chart))?;
        let back = std::fs::read_to_string(&path)?;
        check_xml(&back);
        assert!(back.ends_with("</svg>\n"));
    }
    Ok(())
}

#[test]
fn legend_moves_above_when_no_corner_is_free() {
    let inside = render_svg(&sample_roc());
    assert!(
        inside.contains("<g class=\"legend\">\n<rect"),
        "ROC legend in a free corner"
    );
    let grid: Vec<(f64, f64)> = (0..400)
        .map(|i| (f64::from(i % 20), f64::from(i / 20)))
        .collect();
    let chart = Chart {
        series: vec![Series::new("everywhere", grid, Style::markers())],
        ..Chart::new("dense", "x", "y")
    };
    let svg = render_svg(&chart);
    check_xml(&svg);
    assert!(svg.contains(">everywhere<"));
    assert!(
        !svg.contains("<g class=\"legend\">\n<rect"),
        "legend above the plot"
    );
}

#[test]
fn tiny_values_use_exponents_and_plain_zero() {
    let (t, step) = ticks(-3e-5, 3e-5, false, TickFormat::Plain, 6.0);
    let labels: Vec<String> = t
        .iter()
        .map(|v| tick_label(*v, step, TickFormat::Plain, 3e-5))
        .collect();
    assert!(labels.contains(&"0".to_string()), "{labels:?}");
    assert!(labels.contains(&"1e-5".to_string()), "{labels:?}");
}
