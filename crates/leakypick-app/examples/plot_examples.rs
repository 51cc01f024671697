//! Writes example charts from illustrative numbers (into `target/plot-examples/`, or
//! the directory given), so that the look of the evaluation report's figures can be reviewed without running an
//! evaluation.
//!
//! The data are synthetic, shaped like the paper's figures: a burst-detection ROC
//! through the paper's operating point (TPR 96%, FPR 4% at n = 5), ten minutes and a
//! week of per-second upload rates of an Echo Dot with labelled activations and
//! detections, and t-test p-values of alternating idle and probing windows.
//!
//! Run with `cargo run -p leakypick-app --example plot_examples [OUTPUT_DIR]`.

use leakypick_app::evaluate::plot::{
    pvalue_chart, render_svg, roc_chart, timeline_chart, Chart, Marker, Series, Style,
};
use std::error::Error;
use std::path::PathBuf;

/// A small deterministic generator (xorshift64*), so that the examples are the same
/// bytes on every run and the committed files only change when the code does.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn roc() -> Chart {
    // (FPR, TPR) for n = 8 down to 1, per device; the average passes through the
    // paper's operating point at n = 5.
    let devices: [(&str, [(f64, f64); 8]); 4] = [
        (
            "Echo Dot",
            [
                (0.0, 0.62),
                (0.005, 0.78),
                (0.015, 0.9),
                (0.03, 0.97),
                (0.05, 0.99),
                (0.09, 1.0),
                (0.18, 1.0),
                (0.35, 1.0),
            ],
        ),
        (
            "Google Home",
            [
                (0.0, 0.55),
                (0.01, 0.74),
                (0.02, 0.88),
                (0.04, 0.95),
                (0.07, 0.98),
                (0.12, 0.99),
                (0.25, 1.0),
                (0.42, 1.0),
            ],
        ),
        (
            "HomePod",
            [
                (0.0, 0.5),
                (0.01, 0.7),
                (0.03, 0.86),
                (0.05, 0.94),
                (0.08, 0.97),
                (0.15, 0.99),
                (0.3, 1.0),
                (0.5, 1.0),
            ],
        ),
        (
            "Hive 360 Hub",
            [
                (0.0, 0.6),
                (0.005, 0.8),
                (0.01, 0.92),
                (0.04, 0.98),
                (0.06, 0.99),
                (0.1, 1.0),
                (0.2, 1.0),
                (0.4, 1.0),
            ],
        ),
    ];
    let curves = devices
        .iter()
        .map(|(name, pts)| {
            let mut points = vec![(0.0, 0.0)];
            points.extend_from_slice(pts);
            points.push((1.0, 1.0));
            Series::new(*name, points, Style::line_markers())
        })
        .collect();
    roc_chart(
        "Burst detection ROC, n = 1…8 consecutive windows (illustrative data)",
        curves,
        vec![Marker::new(0.04, 0.96, "paper n=5: TPR 96%, FPR 4%")],
    )
}

/// Idle traffic of a smart speaker: a few kbit/s with keep-alive blips, in bit/s.
fn idle_rate(t: u64, rng: &mut Rng) -> f64 {
    let base = 800.0 + 2_500.0 * rng.next();
    if t % 30 == 0 {
        base + 9_000.0
    } else {
        base
    }
}

/// An audio upload starting at `start`: a ramp to a few hundred kbit/s over `len` s.
fn upload(t: f64, start: f64, len: f64, peak: f64) -> f64 {
    if t < start || t >= start + len {
        return 0.0;
    }
    let k = (t - start) / len;
    peak * (0.55 + 0.45 * (std::f64::consts::PI * k).sin())
}

fn timeline_minutes() -> Chart {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let uploads = [
        (95.0, 6.0, 580_000.0),
        (262.0, 8.0, 610_000.0),
        (447.0, 5.0, 420_000.0),
    ];
    let points: Vec<(f64, f64)> = (0..600u64)
        .map(|t| {
            let tf = t as f64;
            let mut y = idle_rate(t, &mut rng);
            for (s, l, p) in uploads {
                y += upload(tf, s, l, p);
            }
            // A software-update check: a medium burst that is not audio.
            if (371..374).contains(&t) {
                y += 48_000.0;
            }
            (tf, y)
        })
        .collect();
    let activations = vec![(94.0, 101.0), (261.0, 270.0), (446.0, 452.0)];
    let detections = vec![
        (95.0, 101.0),
        (262.0, 270.0),
        (371.0, 374.0),
        (447.0, 452.0),
    ];
    timeline_chart(
        "Echo Dot upload rate, 10 minutes of 1-s windows (illustrative data)",
        Series::new("Echo Dot", points, Style::step()),
        23_000.0,
        activations,
        detections,
    )
}

fn timeline_week() -> Chart {
    let mut rng = Rng(0x0bad_cafe_f00d_0001);
    let seconds = 605_000u64;
    let mut starts = Vec::new();
    let mut t = 1_800.0;
    while t < seconds as f64 - 60.0 {
        starts.push(t);
        // Several activations a day, mostly in waking hours.
        let hour = (t / 3600.0) % 24.0;
        let gap = if (7.0..23.0).contains(&hour) {
            3_600.0
        } else {
            14_400.0
        };
        t += gap * (0.3 + 1.4 * rng.next());
    }
    let points: Vec<(f64, f64)> = (0..seconds)
        .map(|t| {
            let tf = t as f64;
            let mut y = idle_rate(t, &mut rng);
            // Large idle bursts every few hours.
            if t % 10_800 < 4 {
                y += 35_000.0;
            }
            let i = starts.partition_point(|s| *s <= tf);
            if i > 0 {
                y += upload(tf, starts[i - 1], 6.0, 500_000.0);
            }
            (tf, y)
        })
        .collect();
    let activations = starts.iter().map(|s| (*s, s + 6.0)).collect();
    let detections = starts
        .iter()
        .map(|s| (*s, s + 6.0))
        .chain((0..seconds / 10_800).map(|k| (k as f64 * 10_800.0, k as f64 * 10_800.0 + 4.0)))
        .collect();
    timeline_chart(
        "Echo Dot upload rate, one week of 1-s windows (illustrative data)",
        Series::new("Echo Dot", points, Style::step()),
        23_000.0,
        activations,
        detections,
    )
}

fn pvalues() -> Chart {
    let mut rng = Rng(0x1dea_5eed_0000_0042);
    let mut idle = Vec::new();
    let mut probe = Vec::new();
    for w in 1..=100u32 {
        if w % 2 == 1 {
            idle.push((f64::from(w), 0.3 + 0.7 * rng.next().sqrt()));
        } else {
            let p = if rng.next() < 0.08 {
                0.3 + 0.3 * rng.next()
            } else {
                0.25 * rng.next().powi(2)
            };
            probe.push((f64::from(w), p));
        }
    }
    let mut chart = pvalue_chart(
        "t-test p-values, Echo Dot, alternating 1-min idle and probing windows (illustrative data)",
        vec![
            Series::new("idle window", idle, Style::markers()),
            Series::new("probing with \"Alexa\"", probe, Style::markers()),
        ],
        0.42,
    );
    chart.x.label = "window".to_string();
    chart
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plot-examples")
        });
    std::fs::create_dir_all(&dir)?;
    for (name, chart) in [
        ("example-roc.svg", roc()),
        ("example-timeline.svg", timeline_minutes()),
        ("example-timeline-week.svg", timeline_week()),
        ("example-pvalues.svg", pvalues()),
    ] {
        let path = dir.join(name);
        let svg = render_svg(&chart);
        std::fs::write(&path, &svg)?;
        println!("{} ({} bytes)", path.display(), svg.len());
    }
    Ok(())
}
