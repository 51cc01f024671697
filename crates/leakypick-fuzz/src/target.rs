//! What one input goes through: the capture reader frame by frame with decoding, then
//! `analyze`, `evaluate` and `compare` through the application library, as the
//! commands run them. Besides panics (caught by the caller), it checks what must hold
//! for every input, valid or not.

use leakypick_app::analyze::{analyze, AnalyzeOptions};
use leakypick_app::capture::CaptureSource;
use leakypick_app::compare::{compare_windows, CompareOptions, WindowSpec};
use leakypick_app::evaluate::labels::{IntervalLabel, LabelOrigin, LabelSet};
use leakypick_app::evaluate::{
    evaluate, BurstSweep, DeviceSelection, EvaluateOptions, StatConfig, StatSweep,
};
use leakypick_app::timespec::TimeSpec;
use leakypick_core::eval::threshold_grid;
use leakypick_core::probe::{ProbeConfig, ProbeTest};
use leakypick_core::{decode, DestinationScope, DeviceKey, Timestamp};
use std::io::Cursor;
use std::sync::Arc;

const SEC: i64 = Timestamp::NANOS_PER_SEC;

/// What happened to one input (when nothing panicked).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The file header was accepted.
    pub opened: bool,
    /// Frames the reader delivered.
    pub frames: u64,
    /// Warnings of the reader (damage it survived).
    pub warnings: usize,
    /// `evaluate` ran to a report.
    pub evaluated: bool,
    /// Steps `evaluate`'s window pairs took, and the most the packets and labels allow
    /// (issue 8: work bounded by the packets, not the time they span). The caller
    /// reports more steps than the bound as a finding.
    pub pair_steps: u64,
    pub pair_step_bound: u64,
    /// Broken invariants: each is a finding.
    pub problems: Vec<String>,
}

/// Evaluation options for fuzzing: every detector and test, with the default's
/// smallest windows (10 s pairs, 1 s bursts, 10 s slots) but shorter sweeps.
fn evaluate_options() -> EvaluateOptions {
    EvaluateOptions {
        burst_sweep: Some(BurstSweep {
            window_nanos: SEC,
            thresholds_bps: vec![5_000.0, 23_000.0, 100_000.0],
            min_windows: vec![1, 2, 8],
        }),
        stat_named: vec![("paper".to_string(), StatConfig::paper())],
        stat_sweep: Some(StatSweep {
            windows_nanos: vec![10 * SEC, 60 * SEC],
            tests: ProbeTest::ALL.to_vec(),
            thresholds: threshold_grid(0.1),
        }),
        devices: DeviceSelection::AllSeen,
        ..EvaluateOptions::default()
    }
}

fn source(name: &str, data: &Arc<[u8]>) -> Result<CaptureSource, String> {
    CaptureSource::from_reader(name, Box::new(Cursor::new(Arc::clone(data))))
        .map_err(|e| e.to_string())
}

/// Runs every stage on `data` (named `name` in messages).
pub fn exercise(name: &str, data: &Arc<[u8]>) -> Outcome {
    let mut out = Outcome::default();
    let named = |what: &str, text: &str, out: &mut Outcome| {
        if !text.starts_with(&format!("{name}: ")) {
            out.problems
                .push(format!("{what} does not start with the file name: {text}"));
        }
    };

    // 1. The reader, frame by frame, and decoding.
    let mut src = match source(name, data) {
        Ok(s) => s,
        Err(e) => {
            named("an open error", &e, &mut out);
            return out;
        }
    };
    out.opened = true;
    loop {
        match src.next_frame() {
            Ok(Some(frame)) => {
                let _ = decode(frame.link, frame.data);
                out.frames += 1;
            }
            Ok(None) => break,
            // Reading from memory cannot fail: a read error here is a reader bug.
            Err(e) => {
                out.problems.push(format!("read error from memory: {e}"));
                break;
            }
        }
    }
    let warnings = src.warnings();
    out.warnings = warnings.len();
    for w in &warnings {
        named("a warning", &w.to_string(), &mut out);
    }
    if out.frames == 0 {
        // The other stages would read the same nothing again.
        return out;
    }

    // 2. analyze: the same packets as the reader gave.
    let report = match source(name, data).map(|s| analyze(vec![s], &AnalyzeOptions::default())) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            out.problems
                .push(format!("analyze failed on a readable input: {e}"));
            return out;
        }
        Err(e) => {
            out.problems.push(format!("second open failed: {e}"));
            return out;
        }
    };
    if report.capture.packets != out.frames {
        out.problems.push(format!(
            "analyze read {} packets, the reader {}",
            report.capture.packets, out.frames
        ));
    }
    let top: Option<DeviceKey> = report
        .devices
        .iter()
        .max_by_key(|d| (d.stats.upstream_bytes, d.stats.tx_packets))
        .map(|d| d.stats.key);

    // 3. evaluate: every device seen, the top uploader labelled active from 5 s to
    //    15 s after the first packet.
    let mut labels = LabelSet::default();
    if let Some(device) = top {
        labels.intervals.push(IntervalLabel {
            device,
            start: TimeSpec::AfterFirst(5 * SEC),
            end: TimeSpec::AfterFirst(15 * SEC),
            kind: "voice".to_string(),
            origin: LabelOrigin {
                file: "fuzz".to_string(),
                line: 1,
            },
        });
    }
    let activations = labels.intervals.len() as u64;
    match source(name, data).map(|s| evaluate(vec![s], &labels, &evaluate_options())) {
        Ok(Ok(r)) => {
            out.evaluated = true;
            if r.capture.packets != out.frames {
                out.problems.push(format!(
                    "evaluate read {} packets, the reader {}",
                    r.capture.packets, out.frames
                ));
            }
            // Issue 8: work bounded by the packets and labels, not the time span.
            for series in &r.pvalues {
                out.pair_steps += series.pairs.steps;
                out.pair_step_bound += 2 * out.frames + 8 * activations + 4;
            }
        }
        // A label outside the device's span and similar are fine; the error must
        // still name what it is about.
        Ok(Err(e)) => {
            if e.to_string().is_empty() {
                out.problems
                    .push("evaluate failed with an empty message".into());
            }
        }
        Err(e) => out.problems.push(format!("third open failed: {e}")),
    }

    // 4. compare: the top device's first ten seconds against the next ten.
    if let Some(device) = top {
        let opts = CompareOptions {
            device,
            idle: WindowSpec {
                start: TimeSpec::AfterFirst(0),
                end: TimeSpec::AfterFirst(10 * SEC),
            },
            probe: WindowSpec {
                start: TimeSpec::AfterFirst(10 * SEC),
                end: TimeSpec::AfterFirst(20 * SEC),
            },
            tests: ProbeTest::ALL.to_vec(),
            config: ProbeConfig::paper(),
            scope: DestinationScope::All,
            now: None,
        };
        if let Ok(Err(e)) = source(name, data).map(|s| compare_windows(vec![s], &opts)) {
            out.problems
                .push(format!("compare failed on a readable input: {e}"));
        }
    }
    out
}
