//! Candidate words for a fuzz campaign: the CMU Pronouncing Dictionary by phoneme
//! count, simple and common English word lists, or the user's own file.
//!
//! The sources (`data/PROVENANCE.md` says where each list comes from):
//! - `dict`: the words of the CMU dictionary (`data/words/cmudict.dict`) of letters
//!   only (entries with an apostrophe, a dot or a digit are dropped) whose phoneme
//!   count is within `phonemes` of the wake word's, in the dictionary's order. A wake
//!   word the dictionary lacks gets the letter-to-sound estimate of
//!   [`crate::phonetic::estimate_phonemes`]; [`wake_phonemes`] says whether it was
//!   estimated, so the caller can say so.
//! - `simple`: `random` words drawn without repetition from the simple list
//!   (`data/words/simple.txt`, SCOWL size 20), seeded: the same seed gives the same
//!   words, in the order drawn.
//! - `common`: the common list (`data/words/common.txt`, SCOWL size 10), in its order.
//! - a file: one word per line, `#` starts a comment ([`crate::phonetic::read_word_file`]).
//!
//! The wake word itself is never a candidate. Sources are taken in the order given; a
//! word already taken from an earlier source is skipped; then the list is cut at
//! `limit`.

use crate::phonetic::{
    check_phrase, dict::cmudict, phoneme_count, read_word_file, PhonemeCount, WordFileError,
};
use leakypick_core::phonetic::phonetic_distance;
use std::collections::HashSet;
use std::path::PathBuf;

static SIMPLE_WORDS: &str = include_str!("../../../../data/words/simple.txt");
static COMMON_WORDS: &str = include_str!("../../../../data/words/common.txt");

/// Where candidates come from (`--candidates dict|simple|common|FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateSource {
    /// CMU dictionary words whose phoneme count is within the window of the wake word's.
    Dict,
    /// Random words from the simple English word list (`--random N` of them).
    Simple,
    /// The most common English words.
    Common,
    /// One word per line from the user's file.
    File(PathBuf),
}

impl CandidateSource {
    /// The name a candidate carries (`Candidate::source`).
    pub fn name(&self) -> &'static str {
        match self {
            CandidateSource::Dict => "dict",
            CandidateSource::Simple => "simple",
            CandidateSource::Common => "common",
            CandidateSource::File(_) => "file",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub sources: Vec<CandidateSource>,
    pub wake_word: String,
    /// Phoneme-count window around the wake word's count (`--phonemes 1` = ±1).
    pub phonemes: u32,
    /// How many random words from the simple list (`--random N`).
    pub random: usize,
    /// Seed of the random choice.
    pub seed: u64,
    /// At most this many candidates in all (after de-duplication), if set.
    pub limit: Option<usize>,
}

/// One candidate word.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub word: String,
    /// Phoneme count from the dictionary (None: not in it).
    pub phonemes: Option<u32>,
    /// `dict`, `simple`, `common` or `file`.
    pub source: &'static str,
    /// Phonetic distance to the wake word (Double Metaphone + Levenshtein).
    pub distance: usize,
}

/// Why no candidate list could be made.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    File(#[from] WordFileError),
}

/// The candidates of a selection, de-duplicated, in a stable order.
pub fn select(sel: &Selection) -> Result<Vec<Candidate>, CandidateError> {
    let wake = check_wake(sel)?;
    let dict = cmudict();
    Ok(words(sel, &wake)?
        .into_iter()
        .map(|(word, source)| Candidate {
            phonemes: dict.phonemes(&word),
            distance: phonetic_distance(&word, &wake),
            word,
            source,
        })
        .collect())
}

/// How many candidates [`select`] gives, without coding them.
pub fn count(sel: &Selection) -> Result<usize, CandidateError> {
    let wake = check_wake(sel)?;
    Ok(words(sel, &wake)?.len())
}

/// The wake word's phoneme count that the `dict` window is centred on, and whether it
/// is an estimate (the dictionary lacks a word of it).
pub fn wake_phonemes(wake_word: &str) -> Result<PhonemeCount, CandidateError> {
    let wake = check_phrase(wake_word)
        .map_err(|e| CandidateError::Invalid(format!("the wake word: {e}")))?;
    Ok(phoneme_count(&wake))
}

fn check_wake(sel: &Selection) -> Result<String, CandidateError> {
    if sel.sources.is_empty() {
        return Err(CandidateError::Invalid(
            "no candidate source: give --candidates dict, simple, common or a FILE".into(),
        ));
    }
    check_phrase(&sel.wake_word).map_err(|e| CandidateError::Invalid(format!("the wake word: {e}")))
}

/// The words of the selection with their source, before coding.
fn words(sel: &Selection, wake: &str) -> Result<Vec<(String, &'static str)>, CandidateError> {
    let mut seen: HashSet<String> = HashSet::new();
    seen.insert(wake.to_string());
    let mut out = Vec::new();
    let limit = sel.limit.unwrap_or(usize::MAX);
    for source in &sel.sources {
        let name = source.name();
        for word in source_words(source, sel, wake)? {
            if out.len() >= limit {
                return Ok(out);
            }
            if seen.insert(word.clone()) {
                out.push((word, name));
            }
        }
    }
    Ok(out)
}

fn source_words(
    source: &CandidateSource,
    sel: &Selection,
    wake: &str,
) -> Result<Vec<String>, CandidateError> {
    Ok(match source {
        CandidateSource::Dict => {
            let center = phoneme_count(wake).count;
            let (lo, hi) = (
                center.saturating_sub(sel.phonemes),
                center.saturating_add(sel.phonemes),
            );
            cmudict()
                .entries()
                .filter(|(w, n)| (lo..=hi).contains(n) && w.bytes().all(|b| b.is_ascii_lowercase()))
                .map(|(w, _)| w.to_string())
                .collect()
        }
        CandidateSource::Common => list(COMMON_WORDS).map(str::to_string).collect(),
        CandidateSource::Simple => {
            let words: Vec<&str> = list(SIMPLE_WORDS).collect();
            if sel.random == 0 || sel.random > words.len() {
                return Err(CandidateError::Invalid(format!(
                    "the simple word list needs --random N, how many of its {} words to draw \
                     (1 to {}); got {}",
                    words.len(),
                    words.len(),
                    sel.random
                )));
            }
            draw(&words, sel.random, sel.seed)
                .into_iter()
                .map(str::to_string)
                .collect()
        }
        CandidateSource::File(path) => read_word_file(path)?.into_iter().map(|(w, _)| w).collect(),
    })
}

/// The words of an embedded list: one per line.
fn list(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// `n` distinct items drawn by a partial Fisher–Yates shuffle, seeded, in the order
/// drawn. The generator is SplitMix64 (Steele et al. 2014), written out here so that
/// the same seed gives the same words in every version of leakypick, whatever a random
/// crate changes.
fn draw<'a>(items: &[&'a str], n: usize, seed: u64) -> Vec<&'a str> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut pool = items.to_vec();
    let n = n.min(pool.len());
    for i in 0..n {
        let span = (pool.len() - i) as u64;
        // Lemire's multiply-shift: an index below `span` without division; its bias is
        // below 2^-50 for lists of this size.
        let j = i + ((u128::from(next()) * u128::from(span)) >> 64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(n);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(sources: Vec<CandidateSource>) -> Selection {
        Selection {
            sources,
            wake_word: "alexa".into(),
            phonemes: 0,
            random: 10,
            seed: 1,
            limit: None,
        }
    }

    #[test]
    fn draws_are_seeded_and_distinct() {
        let items: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let items: Vec<&str> = items.iter().map(String::as_str).collect();
        let a = draw(&items, 20, 7);
        assert_eq!(a, draw(&items, 20, 7));
        assert_ne!(a, draw(&items, 20, 8));
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), 20);
        assert_eq!(draw(&items, 100, 1).len(), 100);
    }

    #[test]
    fn the_wake_word_is_never_a_candidate_and_sources_deduplicate() {
        let s = sel(vec![CandidateSource::Dict, CandidateSource::Common]);
        let c = select(&s).unwrap_or_default();
        assert!(!c.iter().any(|c| c.word == "alexa"));
        let words: HashSet<&str> = c.iter().map(|c| c.word.as_str()).collect();
        assert_eq!(words.len(), c.len());
        assert_eq!(count(&s).ok(), Some(c.len()));
    }

    #[test]
    fn simple_needs_random() {
        let mut s = sel(vec![CandidateSource::Simple]);
        s.random = 0;
        let e = select(&s).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("--random N"), "{e}");
    }
}
