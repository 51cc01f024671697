//! The probe log: one JSON line per attempt (its probe, idle and probe windows, when the
//! probe played), written by `leakypick probe --log` and read by `analyze --probe-log`.

use crate::render::secs;
use leakypick_core::session::{Attempt, Window};
use leakypick_core::time::Timestamp;
use serde_json::{json, Value};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// A probe log that cannot be used, with the file and line (0: the whole file).
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", place(file, *line))]
pub struct ProbeLogError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// `FILE` or `FILE:LINE`.
fn place(file: &Path, line: usize) -> String {
    if line == 0 {
        file.display().to_string()
    } else {
        format!("{}:{line}", file.display())
    }
}

fn ts(v: f64) -> Option<Timestamp> {
    Timestamp::from_secs_f64(v)
}

/// One attempt as a line of the probe log.
pub fn attempt_json(a: &Attempt, plays: &[(Timestamp, Timestamp)]) -> Value {
    json!({
        "type": "attempt",
        "probe": a.probe,
        "attempt": a.attempt,
        "idle": [secs(a.idle.start), secs(a.idle.end)],
        "window": [secs(a.probe_window.start), secs(a.probe_window.end)],
        "plays": plays.iter().map(|(s, e)| json!([secs(*s), secs(*e)])).collect::<Vec<_>>(),
    })
}

/// Reads the attempts of a probe log (lines of other types are skipped).
pub fn read_probe_log(path: &Path) -> Result<Vec<Attempt>, ProbeLogError> {
    let err = |line: usize, message: String| ProbeLogError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| err(0, format!("cannot open: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in io::BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| err(n, format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(&line).map_err(|e| err(n, format!("not a JSON object: {e}")))?;
        if v["type"] != "attempt" {
            continue;
        }
        let pair = |key: &str| -> Result<Window, ProbeLogError> {
            let a = v[key]
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| err(n, format!("`{key}` must be [start, end] in epoch seconds")))?;
            let (s, e) = (a[0].as_f64().and_then(ts), a[1].as_f64().and_then(ts));
            match (s, e) {
                (Some(start), Some(end)) if end > start => Ok(Window { start, end }),
                _ => Err(err(
                    n,
                    format!("`{key}` must be [start, end] with end after start"),
                )),
            }
        };
        let probe = v["probe"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(n, "`probe` must be a non-empty string".into()))?;
        let attempt = v["attempt"]
            .as_u64()
            .and_then(|a| u32::try_from(a).ok())
            .filter(|a| *a >= 1)
            .ok_or_else(|| err(n, "`attempt` must be a number from 1".into()))?;
        out.push(Attempt {
            probe: probe.to_string(),
            attempt,
            idle: pair("idle")?,
            probe_window: pair("window")?,
        });
    }
    if out.is_empty() {
        return Err(err(
            0,
            "no attempts in the probe log (lines with \"type\":\"attempt\", written by \
             `leakypick probe --log`)"
                .into(),
        ));
    }
    Ok(out)
}
