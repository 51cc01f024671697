//! Candidate words for a fuzz campaign: the CMU Pronouncing Dictionary by phoneme
//! count, simple and common English word lists, or the user's own file.
//! (Skeleton: filled in by the candidates work; the types are the contract.)

use std::path::PathBuf;

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
}

/// The candidates of a selection, de-duplicated, in a stable order.
pub fn select(sel: &Selection) -> Result<Vec<Candidate>, CandidateError> {
    let _ = sel;
    Err(CandidateError::Invalid(
        "candidate selection is not built yet".into(),
    ))
}
