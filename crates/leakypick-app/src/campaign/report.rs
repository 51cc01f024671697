//! `fuzz report`: a stored campaign summed up per word (attempts, activations, the
//! estimated activation probability with its Clopper-Pearson interval, the voices that
//! woke the device, upload bytes, phonetic distance), grouped like the paper's Table 5,
//! and the SVG chart of probability against phonetic distance.

use super::render::{parse_params, parse_words};
use super::{Campaign, Params, Word};
use crate::evaluate::plot::{render_svg, Axis, Chart, Series, Style};
use crate::history::{AttemptRow, CampaignRow};
use leakypick_core::wakefuzz::{clopper_pearson, Design, Interval, Phase, WordRecord};
use std::collections::BTreeMap;

/// Confidence of the intervals in reports.
pub const CONFIDENCE: f64 = 0.95;

/// One word of a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct WordReport {
    pub word: String,
    pub distance: usize,
    pub phonemes: Option<u32>,
    pub source: String,
    pub attempts: u32,
    pub activations: u32,
    pub probability: Option<f64>,
    pub ci: Option<Interval>,
    /// Voices of the attempts that woke the device (`default` for the TTS default).
    pub voices: Vec<String>,
    /// Upload bytes of the attempts that woke the device.
    pub bytes: u64,
    pub mean_latency_s: Option<f64>,
    /// The design asks nothing more of this word.
    pub done: bool,
}

/// A stored campaign, summed up.
#[derive(Debug, Clone)]
pub struct CampaignReport {
    pub campaign: CampaignRow,
    pub params: Option<Params>,
    pub words: Vec<WordReport>,
    /// Calibration attempts, then the others, in playing order.
    pub calibration: Vec<AttemptRow>,
    pub attempts: Vec<AttemptRow>,
    pub max_latency_s: f64,
    /// Hours from the first play to the end of the last attempt.
    pub hours: f64,
}

impl CampaignReport {
    /// Sums up a campaign's rows. Words are kept in candidate order.
    pub fn new(campaign: CampaignRow, rows: Vec<AttemptRow>) -> CampaignReport {
        let params = parse_params(&campaign.params);
        let words: Vec<Word> = parse_words(&campaign.candidates).unwrap_or_default();
        let (calibration, attempts): (Vec<AttemptRow>, Vec<AttemptRow>) = rows
            .into_iter()
            .partition(|r| r.phase == Phase::Calibrate.name());
        let design = params.as_ref().map(|p| p.design);
        let mut reports: Vec<WordReport> = words
            .iter()
            .map(|w| word_report(w, &attempts, design))
            .collect();
        // Words played but not among the stored candidates (never expected) still show.
        for a in &attempts {
            if !reports.iter().any(|w| w.word == a.word) {
                let w = Word {
                    word: a.word.clone(),
                    phonemes: None,
                    source: "unknown".into(),
                    distance: 0,
                };
                reports.push(word_report(&w, &attempts, design));
            }
        }
        let max_latency_s = params.clone().map_or(0.0, |p| {
            let c = Campaign::rebuild(campaign.id, p, Vec::new(), &calibration);
            c.max_latency_s()
        });
        let first = calibration
            .iter()
            .chain(&attempts)
            .map(|r| r.play_start)
            .min();
        let last = super::render::last_time(&calibration)
            .into_iter()
            .chain(super::render::last_time(&attempts))
            .max();
        let hours = match (first, last) {
            (Some(a), Some(b)) => b.secs_since(a).max(0.0) / 3600.0,
            _ => 0.0,
        };
        CampaignReport {
            campaign,
            params,
            words: reports,
            calibration,
            attempts,
            max_latency_s,
            hours,
        }
    }

    /// The stored parameters as they are (for the `params` field).
    pub fn params_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.campaign.params).unwrap_or(serde_json::Value::Null)
    }

    /// Words found per hour of campaign.
    pub fn found_per_hour(&self) -> Option<f64> {
        let found = self.words.iter().filter(|w| w.activations > 0).count();
        (self.hours > 0.0).then(|| found as f64 / self.hours)
    }

    /// The words that woke the device, grouped by activation probability, highest
    /// first: by "k/n" (the paper's Table 5) for the paper's design, by tenths of the
    /// estimate ("0.9-1.0", ...) otherwise.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let fixed = self.campaign.design == "paper";
        let mut groups: BTreeMap<(i64, String), Vec<String>> = BTreeMap::new();
        for w in self.words.iter().filter(|w| w.activations > 0) {
            let p = w.probability.unwrap_or(0.0);
            let key = if fixed {
                (
                    -(i64::from(w.activations) * 1000 / i64::from(w.attempts.max(1))),
                    format!("{}/{}", w.activations, w.attempts),
                )
            } else {
                let tenth = ((p * 10.0).floor() as i64).min(9);
                (
                    -tenth,
                    format!(
                        "{:.1}-{:.1}",
                        tenth as f64 / 10.0,
                        (tenth + 1) as f64 / 10.0
                    ),
                )
            };
            groups.entry(key).or_default().push(w.word.clone());
        }
        groups
            .into_iter()
            .map(|((_, label), mut words)| {
                words.sort();
                (label, words)
            })
            .collect()
    }

    /// How many of the words found lie at each phonetic distance.
    pub fn distance_histogram(&self) -> Vec<(usize, usize)> {
        let mut h: BTreeMap<usize, usize> = BTreeMap::new();
        for w in self.words.iter().filter(|w| w.activations > 0) {
            *h.entry(w.distance).or_default() += 1;
        }
        h.into_iter().collect()
    }

    /// The SVG chart: estimated activation probability against phonetic distance, one
    /// marker per word that woke the device.
    pub fn plot_svg(&self) -> String {
        let points: Vec<(f64, f64)> = self
            .words
            .iter()
            .filter(|w| w.activations > 0)
            .map(|w| (w.distance as f64, w.probability.unwrap_or(0.0)))
            .collect();
        let mut chart = Chart::new(
            format!(
                "False wake words of `{}` (campaign {})",
                self.campaign.wake_word, self.campaign.id
            ),
            "phonetic distance to the wake word (Double Metaphone, Levenshtein)",
            "estimated activation probability",
        );
        chart.y = Axis::new("estimated activation probability").with_range(0.0, 1.0);
        chart.x = Axis::new("phonetic distance to the wake word (Double Metaphone, Levenshtein)")
            .from_zero();
        chart
            .series
            .push(Series::new("words found", points, Style::markers()));
        render_svg(&chart)
    }
}

fn word_report(w: &Word, attempts: &[AttemptRow], design: Option<Design>) -> WordReport {
    let mut rec = WordRecord::default();
    let mut voices: Vec<String> = Vec::new();
    let mut bytes = 0;
    let mut latencies = Vec::new();
    for a in attempts.iter().filter(|a| a.word == w.word) {
        let woke = a.verdict == "woke";
        rec.add(woke);
        if woke {
            let v = a.voice.clone().unwrap_or_else(|| "default".into());
            if !voices.contains(&v) {
                voices.push(v);
            }
            bytes += a.bytes;
            if let Some(l) = a.latency {
                latencies.push(l as f64 / 1e9);
            }
        }
    }
    WordReport {
        word: w.word.clone(),
        distance: w.distance,
        phonemes: w.phonemes,
        source: w.source.clone(),
        attempts: rec.attempts,
        activations: rec.activations,
        probability: rec.estimate(),
        ci: (rec.attempts > 0).then(|| clopper_pearson(rec.attempts, rec.activations, CONFIDENCE)),
        voices,
        bytes,
        mean_latency_s: (!latencies.is_empty())
            .then(|| latencies.iter().sum::<f64>() / latencies.len() as f64),
        done: design.is_some_and(|d| d.next_phase(rec).is_none()),
    }
}
