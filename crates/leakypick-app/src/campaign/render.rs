//! The shapes of campaigns: what the history keeps in `campaigns.params` and
//! `campaigns.candidates` (written and read back here), and the records of `fuzz`
//! and `fuzz report` (`fuzz_plan`, `fuzz_campaign`, `fuzz_word`, `fuzz_group`,
//! `fuzz_distance`, `fuzz_attempt`) as JSON Lines, CSV sections or tables. The
//! records are documented in the README.

use super::report::{CampaignReport, WordReport};
use super::{Params, SelectionParams, Word};
use crate::history::AttemptRow;
use crate::render::{
    count, human_time, new_table, opt_secs, secs, write_csv_section, write_json_lines, Format,
};
use leakypick_core::wakefuzz::{Design, JudgeConfig};
use leakypick_core::{DestinationScope, Timestamp};
use serde_json::{json, Value};
use std::io::{self, Write};

// ---------------------------------------------------------------------------------------
// stored with the campaign

/// The parameters as stored in `campaigns.params`.
pub fn params_json(p: &Params) -> Value {
    let (screen, precision, max, confidence, tries) = match p.design {
        Design::Fixed { tries } => (None, None, None, None, Some(tries)),
        Design::Sequential {
            screen,
            precision,
            max,
            confidence,
        } => (
            Some(screen),
            Some(precision),
            Some(max),
            Some(confidence),
            None,
        ),
    };
    json!({
        "device": p.device.to_string(),
        "wake_word": p.wake_word,
        "design": p.design.name(),
        "tries": tries,
        "screen": screen,
        "precision": precision,
        "max_attempts": max,
        "confidence": confidence,
        "threshold_bps": p.judge.threshold_bps,
        "slot_s": p.judge.slot_nanos as f64 / 1e9,
        "onset_slots": p.judge.onset_slots,
        "end_slots": p.judge.end_slots,
        "include_lan": p.judge.scope == DestinationScope::All,
        "default_max_latency_s": p.judge.max_latency_nanos as f64 / 1e9,
        "max_latency_s": p.max_latency_given,
        "latency_margin_s": p.latency_margin_s,
        "calibrate": p.calibrate,
        "voices": p.voices,
        "rates": p.rates,
        "settle_s": p.settle_s,
        "quiet_wait_s": p.quiet_wait_s,
        "max_stream_s": p.max_stream_s,
        "seen_wait_s": p.seen_wait_s,
        "tts": p.tts,
        "candidates": p.selection.candidates,
        "words": p.selection.words,
        "phonemes": p.selection.phonemes,
        "random": p.selection.random,
        "limit": p.selection.limit,
        "seed": p.selection.seed,
    })
}

/// Reads `campaigns.params` back; `None` when it is not what [`params_json`] writes.
pub fn parse_params(text: &str) -> Option<Params> {
    let v: Value = serde_json::from_str(text).ok()?;
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    let u = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let strings = |k: &str| -> Option<Vec<String>> {
        v.get(k)?
            .as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let design = match v.get("design")?.as_str()? {
        "paper" => Design::Fixed { tries: u("tries")? },
        "adaptive" => Design::Sequential {
            screen: u("screen")?,
            precision: f("precision")?,
            max: u("max_attempts")?,
            confidence: f("confidence")?,
        },
        _ => return None,
    };
    Some(Params {
        device: v.get("device")?.as_str()?.parse().ok()?,
        wake_word: v.get("wake_word")?.as_str()?.to_string(),
        design,
        judge: JudgeConfig {
            slot_nanos: (f("slot_s")? * 1e9).round() as i64,
            threshold_bps: f("threshold_bps")?,
            onset_slots: u("onset_slots")?,
            max_latency_nanos: (f("default_max_latency_s")? * 1e9).round() as i64,
            end_slots: u("end_slots")?,
            scope: if v.get("include_lan")?.as_bool()? {
                DestinationScope::All
            } else {
                DestinationScope::Cloud
            },
        },
        max_latency_given: f("max_latency_s"),
        latency_margin_s: f("latency_margin_s")?,
        calibrate: u("calibrate")?,
        voices: strings("voices")?,
        rates: v
            .get("rates")?
            .as_array()?
            .iter()
            .map(Value::as_f64)
            .collect::<Option<Vec<f64>>>()?,
        settle_s: f("settle_s")?,
        quiet_wait_s: f("quiet_wait_s")?,
        max_stream_s: f("max_stream_s")?,
        seen_wait_s: f("seen_wait_s")?,
        tts: v.get("tts")?.as_str()?.to_string(),
        selection: SelectionParams {
            candidates: strings("candidates")?,
            words: strings("words")?,
            phonemes: u("phonemes")?,
            random: usize::try_from(v.get("random")?.as_u64()?).ok()?,
            limit: v
                .get("limit")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            seed: v.get("seed")?.as_u64()?,
        },
    })
}

/// The candidate words as stored in `campaigns.candidates`.
pub fn words_json(words: &[Word]) -> Value {
    Value::Array(
        words
            .iter()
            .map(|w| {
                json!({
                    "word": w.word,
                    "phonemes": w.phonemes,
                    "source": w.source,
                    "distance": w.distance,
                })
            })
            .collect(),
    )
}

/// Reads `campaigns.candidates` back.
pub fn parse_words(text: &str) -> Option<Vec<Word>> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.as_array()?
        .iter()
        .map(|w| {
            Some(Word {
                word: w.get("word")?.as_str()?.to_string(),
                phonemes: w
                    .get("phonemes")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok()),
                source: w.get("source")?.as_str()?.to_string(),
                distance: usize::try_from(w.get("distance")?.as_u64()?).ok()?,
            })
        })
        .collect()
}

/// The JSON text of a value (for the history's JSON columns).
pub fn json_text(v: &Value) -> String {
    v.to_string()
}

// ---------------------------------------------------------------------------------------
// the plan (`fuzz` before it starts, `fuzz --dry-run`)

/// What a campaign is about to do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub campaign: Option<i64>,
    pub resumed: bool,
    pub params: Params,
    pub words: Vec<Word>,
    /// Attempts already stored (a resumed campaign).
    pub done_attempts: usize,
    /// Attempts left if no further word wakes the device, and at most.
    pub remaining_screening: u64,
    pub remaining_at_most: u64,
    pub attempt_s: f64,
    /// What the paper's design (10 tries, 7 s each) would take for these words.
    pub paper_s: f64,
}

fn plan_json(p: &Plan) -> Value {
    json!({
        "type": "fuzz_plan",
        "campaign": p.campaign,
        "resumed": p.resumed,
        "device": p.params.device.to_string(),
        "wake_word": p.params.wake_word,
        "design": p.params.design.name(),
        "candidates": p.words.len(),
        "words": p.words.iter().map(|w| w.word.clone()).collect::<Vec<_>>(),
        "voices": p.params.voices,
        "rates": p.params.rates,
        "calibrate": p.params.calibrate,
        "done_attempts": p.done_attempts,
        "attempts_if_none_wake": p.remaining_screening,
        "attempts_at_most": p.remaining_at_most,
        "attempt_s": p.attempt_s,
        "estimated_s": p.remaining_screening as f64 * p.attempt_s,
        "estimated_max_s": p.remaining_at_most as f64 * p.attempt_s,
        "paper_s": p.paper_s,
        "parameters": params_json(&p.params),
    })
}

fn hours(s: f64) -> String {
    if s < 3600.0 {
        format!("{:.0} min", (s / 60.0).ceil())
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The plan as a record (JSON, CSV) or as lines of text.
pub fn write_plan(out: &mut dyn Write, p: &Plan, format: Format) -> io::Result<()> {
    let v = plan_json(p);
    match format {
        Format::Json => write_json_lines(out, &[v]),
        Format::Csv => write_csv_section(out, PLAN_COLUMNS, std::iter::once(v)),
        Format::Table => {
            let what = if p.resumed {
                format!("resuming campaign {}", p.campaign.unwrap_or(0))
            } else {
                "new campaign".to_string()
            };
            writeln!(
                out,
                "{what}: {} for device {} (wake word `{}`), design {}",
                count(p.words.len(), "candidate"),
                p.params.device,
                p.params.wake_word,
                p.params.design.name()
            )?;
            let preview: Vec<&str> = p.words.iter().take(12).map(|w| w.word.as_str()).collect();
            writeln!(
                out,
                "words: {}{}",
                preview.join(", "),
                if p.words.len() > preview.len() {
                    format!(", ... ({} more)", p.words.len() - preview.len())
                } else {
                    String::new()
                }
            )?;
            writeln!(
                out,
                "voicings: {} (voices {}, rates {})",
                p.params.voicings().len(),
                if p.params.voices.is_empty() {
                    "default".to_string()
                } else {
                    p.params.voices.join(",")
                },
                p.params
                    .rates
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
            if p.done_attempts > 0 {
                writeln!(out, "already done: {}", count(p.done_attempts, "attempt"))?;
            }
            writeln!(
                out,
                "estimated: {} attempts of about {:.1} s if no word wakes the device ({}), at most {} ({}); the paper's design would take {}",
                p.remaining_screening,
                p.attempt_s,
                hours(p.remaining_screening as f64 * p.attempt_s),
                p.remaining_at_most,
                hours(p.remaining_at_most as f64 * p.attempt_s),
                hours(p.paper_s)
            )
        }
    }
}

const PLAN_COLUMNS: &[&str] = &[
    "type",
    "campaign",
    "resumed",
    "device",
    "wake_word",
    "design",
    "candidates",
    "words",
    "voices",
    "rates",
    "calibrate",
    "done_attempts",
    "attempts_if_none_wake",
    "attempts_at_most",
    "attempt_s",
    "estimated_s",
    "estimated_max_s",
    "paper_s",
    "parameters",
];

// ---------------------------------------------------------------------------------------
// the report

fn campaign_json(r: &CampaignReport) -> Value {
    let c = &r.campaign;
    json!({
        "type": "fuzz_campaign",
        "id": c.id,
        "device": c.device,
        "wake_word": c.wake_word,
        "design": c.design,
        "state": c.state,
        "created": secs(c.created),
        "updated": secs(c.updated),
        "candidates": r.words.len(),
        "attempts": r.attempts.len(),
        "calibration_attempts": r.calibration.len(),
        "calibration_woke": r.calibration.iter().filter(|a| a.verdict == "woke").count(),
        "words_found": r.words.iter().filter(|w| w.activations > 0).count(),
        "max_latency_s": r.max_latency_s,
        "hours": r.hours,
        "found_per_hour": r.found_per_hour(),
        "parameters": r.params_value(),
    })
}

fn word_json(id: i64, w: &WordReport) -> Value {
    json!({
        "type": "fuzz_word",
        "campaign": id,
        "word": w.word,
        "distance": w.distance,
        "phonemes": w.phonemes,
        "source": w.source,
        "attempts": w.attempts,
        "activations": w.activations,
        "probability": w.probability,
        "ci_low": w.ci.map(|c| c.lower),
        "ci_high": w.ci.map(|c| c.upper),
        "voices": w.voices,
        "upload_bytes": w.bytes,
        "latency_s": w.mean_latency_s,
        "done": w.done,
    })
}

fn group_json(id: i64, label: &str, words: &[String]) -> Value {
    json!({"type": "fuzz_group", "campaign": id, "label": label, "words": words})
}

fn distance_json(id: i64, distance: usize, words: usize) -> Value {
    json!({"type": "fuzz_distance", "campaign": id, "distance": distance, "words": words})
}

fn attempt_json(id: i64, a: &AttemptRow) -> Value {
    json!({
        "type": "fuzz_attempt",
        "campaign": id,
        "word": a.word,
        "attempt": a.attempt,
        "phase": a.phase,
        "voice": a.voice,
        "rate": a.rate,
        "play_start": secs(a.play_start),
        "play_end": secs(a.play_end),
        "verdict": a.verdict,
        "onset": opt_secs(a.onset),
        "latency_s": a.latency.map(|l| l as f64 / 1e9),
        "upload_end": opt_secs(a.upload_end),
        "bytes": a.bytes,
        "packets": a.packets,
    })
}

/// One attempt as it ends (`fuzz --format json|csv` prints them live).
pub fn write_attempt(
    out: &mut dyn Write,
    id: i64,
    a: &AttemptRow,
    format: Format,
    first: bool,
) -> io::Result<()> {
    let v = attempt_json(id, a);
    match format {
        Format::Json => write_json_lines(out, &[v]),
        Format::Csv => {
            if first {
                write_csv_section(out, ATTEMPT_COLUMNS, std::iter::once(v))
            } else {
                crate::render::write_csv_row(out, ATTEMPT_COLUMNS, &v)
            }
        }
        Format::Table => Ok(()),
    }
}

const CAMPAIGN_COLUMNS: &[&str] = &[
    "type",
    "id",
    "device",
    "wake_word",
    "design",
    "state",
    "created",
    "updated",
    "candidates",
    "attempts",
    "calibration_attempts",
    "calibration_woke",
    "words_found",
    "max_latency_s",
    "hours",
    "found_per_hour",
    "parameters",
];
const WORD_COLUMNS: &[&str] = &[
    "type",
    "campaign",
    "word",
    "distance",
    "phonemes",
    "source",
    "attempts",
    "activations",
    "probability",
    "ci_low",
    "ci_high",
    "voices",
    "upload_bytes",
    "latency_s",
    "done",
];
const GROUP_COLUMNS: &[&str] = &["type", "campaign", "label", "words"];
const DISTANCE_COLUMNS: &[&str] = &["type", "campaign", "distance", "words"];
const ATTEMPT_COLUMNS: &[&str] = &[
    "type",
    "campaign",
    "word",
    "attempt",
    "phase",
    "voice",
    "rate",
    "play_start",
    "play_end",
    "verdict",
    "onset",
    "latency_s",
    "upload_end",
    "bytes",
    "packets",
];

/// `fuzz report`: the campaign, its words (every word in JSON/CSV, the words that woke
/// the device in the table), the groups by activation probability (the paper's Table
/// 5), the histogram of phonetic distances of the words found, and with `attempts`
/// every attempt.
pub fn write_report(
    out: &mut dyn Write,
    r: &CampaignReport,
    attempts: bool,
    format: Format,
) -> io::Result<()> {
    let id = r.campaign.id;
    let groups = r.groups();
    let hist = r.distance_histogram();
    let all_attempts: Vec<&AttemptRow> = r.calibration.iter().chain(&r.attempts).collect();
    match format {
        Format::Json => {
            let mut v = vec![campaign_json(r)];
            v.extend(r.words.iter().map(|w| word_json(id, w)));
            v.extend(groups.iter().map(|(l, w)| group_json(id, l, w)));
            v.extend(hist.iter().map(|(d, n)| distance_json(id, *d, *n)));
            if attempts {
                v.extend(all_attempts.iter().map(|a| attempt_json(id, a)));
            }
            write_json_lines(out, &v)
        }
        Format::Csv => {
            write_csv_section(out, CAMPAIGN_COLUMNS, std::iter::once(campaign_json(r)))?;
            writeln!(out)?;
            write_csv_section(out, WORD_COLUMNS, r.words.iter().map(|w| word_json(id, w)))?;
            writeln!(out)?;
            write_csv_section(
                out,
                GROUP_COLUMNS,
                groups.iter().map(|(l, w)| group_json(id, l, w)),
            )?;
            writeln!(out)?;
            write_csv_section(
                out,
                DISTANCE_COLUMNS,
                hist.iter().map(|(d, n)| distance_json(id, *d, *n)),
            )?;
            if attempts {
                writeln!(out)?;
                write_csv_section(
                    out,
                    ATTEMPT_COLUMNS,
                    all_attempts.iter().map(|a| attempt_json(id, a)),
                )?;
            }
            Ok(())
        }
        Format::Table => {
            write_report_table(out, r, &groups, &hist, attempts.then_some(&all_attempts))
        }
    }
}

fn fmt_p(p: Option<f64>) -> String {
    p.map_or("-".to_string(), |p| format!("{p:.2}"))
}

fn write_report_table(
    out: &mut dyn Write,
    r: &CampaignReport,
    groups: &[(String, Vec<String>)],
    hist: &[(usize, usize)],
    attempts: Option<&Vec<&AttemptRow>>,
) -> io::Result<()> {
    let c = &r.campaign;
    let found: Vec<&WordReport> = r.words.iter().filter(|w| w.activations > 0).collect();
    writeln!(
        out,
        "campaign {} ({}): device {}, wake word `{}`, design {}, started {} UTC",
        c.id,
        c.state,
        c.device,
        c.wake_word,
        c.design,
        human_time(c.created)
    )?;
    writeln!(
        out,
        "{} tried of {}, {}, {} found ({:.1} per hour of playing)",
        count(r.words.iter().filter(|w| w.attempts > 0).count(), "word"),
        r.words.len(),
        count(r.attempts.len(), "attempt"),
        count(found.len(), "false wake word"),
        r.found_per_hour().unwrap_or(0.0)
    )?;
    if !r.calibration.is_empty() {
        writeln!(
            out,
            "calibration: {}/{} plays of `{}` woke the device; wait for an onset {:.1} s",
            r.calibration.iter().filter(|a| a.verdict == "woke").count(),
            r.calibration.len(),
            c.wake_word,
            r.max_latency_s
        )?;
    }
    writeln!(out)?;
    let mut t = new_table(
        vec![
            "WORD",
            "DISTANCE",
            "ATTEMPTS",
            "WOKE",
            "P",
            "95% CI",
            "VOICES",
            "UPLOAD BYTES",
        ],
        &[1, 2, 3, 4, 7],
    );
    for w in &found {
        t.add_row(vec![
            w.word.clone(),
            w.distance.to_string(),
            w.attempts.to_string(),
            w.activations.to_string(),
            fmt_p(w.probability),
            w.ci.map_or("-".to_string(), |c| {
                format!("{:.2}-{:.2}", c.lower, c.upper)
            }),
            w.voices.join(","),
            w.bytes.to_string(),
        ]);
    }
    if found.is_empty() {
        writeln!(out, "no word woke the device")?;
    } else {
        writeln!(out, "{t}")?;
    }
    if !groups.is_empty() {
        writeln!(out, "\nby activation probability (the paper's Table 5):")?;
        let mut g = new_table(vec!["P", "WORDS"], &[]);
        for (label, words) in groups {
            g.add_row(vec![label.clone(), words.join(", ")]);
        }
        writeln!(out, "{g}")?;
    }
    if !hist.is_empty() {
        writeln!(
            out,
            "\nphonetic distance to `{}` of the words found:",
            c.wake_word
        )?;
        let mut h = new_table(vec!["DISTANCE", "WORDS", ""], &[0, 1]);
        for (d, n) in hist {
            h.add_row(vec![d.to_string(), n.to_string(), "#".repeat(*n)]);
        }
        writeln!(out, "{h}")?;
    }
    if let Some(rows) = attempts {
        writeln!(out)?;
        let mut a = new_table(
            vec![
                "PLAYED (UTC)",
                "WORD",
                "#",
                "PHASE",
                "VOICE",
                "RATE",
                "VERDICT",
                "LATENCY S",
                "BYTES",
            ],
            &[2, 5, 7, 8],
        );
        for r in rows {
            a.add_row(vec![
                human_time(r.play_start),
                r.word.clone(),
                r.attempt.to_string(),
                r.phase.clone(),
                r.voice.clone().unwrap_or_else(|| "default".into()),
                r.rate.to_string(),
                r.verdict.clone(),
                r.latency
                    .map_or("-".into(), |l| format!("{:.2}", l as f64 / 1e9)),
                r.bytes.to_string(),
            ]);
        }
        writeln!(out, "{a}")?;
    }
    Ok(())
}

/// The latest time in a list, for the campaign's duration.
pub fn last_time(rows: &[AttemptRow]) -> Option<Timestamp> {
    rows.iter()
        .map(|r| r.upload_end.unwrap_or(r.play_end))
        .max()
}
