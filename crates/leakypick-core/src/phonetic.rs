//! Phonetic codes and distances for wake-word fuzzing (issue 11).
//!
//! The paper measured how far a false wake word is from the real one by the primary
//! Double Metaphone code of each word and the Levenshtein distance between the codes.
//! (Skeleton: filled in by the phonetic work; the signatures are the contract.)

/// The primary Double Metaphone code of `word` (upper case; empty for a word with no
/// letters).
pub fn metaphone_primary(word: &str) -> String {
    let _ = word;
    String::new()
}

/// Levenshtein distance between two codes, counted in characters.
pub fn code_distance(a: &str, b: &str) -> usize {
    let _ = (a, b);
    0
}

/// Distance between `word` and `wake` as the paper measured it: Levenshtein between
/// their primary Double Metaphone codes.
pub fn phonetic_distance(word: &str, wake: &str) -> usize {
    code_distance(&metaphone_primary(word), &metaphone_primary(wake))
}
