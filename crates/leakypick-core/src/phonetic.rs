//! Phonetic codes and distances for wake-word fuzzing.
//!
//! The paper measured how far a false wake word is from the real one by a Metaphone
//! code of each word and the Levenshtein distance between the codes. We use the primary
//! code of Double Metaphone (Philips 2000, the successor of the paper's Metaphone of
//! 1990), as the `rphonetic` crate computes it (a port of Apache Commons Codec), with no
//! limit on the code's length: Philips' own C++ cut codes at four letters, which would
//! make every long word look no further than four edits from any other. The codes are
//! checked against an independent implementation, the Python `Metaphone` package, on
//! the paper's Table 5 and a few hundred dictionary words
//! (`scripts/reference_phonetic.py`, `tests/fixtures/phonetic_reference.tsv`).
//!
//! Only ASCII letters are encoded: any other character (an apostrophe, a digit, an
//! accented letter) is dropped before encoding, so "o'brien" is coded as "obrien".
//! This is also what keeps the crate safe to call: `rphonetic` 4.0 indexes the word by
//! bytes and panics on a multi-byte character ("café": "end byte index 4 is not a char
//! boundary"). The Python reference codes the apostrophe as a vowel, which no rule of
//! Double Metaphone asks for; callers that check input refuse such words before they
//! come here.

use rphonetic::DoubleMetaphone;

/// The primary Double Metaphone code of `word` (upper case; empty for a word with no
/// letters). Characters other than ASCII letters are ignored.
pub fn metaphone_primary(word: &str) -> String {
    let letters: String = word.chars().filter(char::is_ascii_alphabetic).collect();
    if letters.is_empty() {
        return String::new();
    }
    // No maximum length: see the module documentation.
    DoubleMetaphone::new(None)
        .double_metaphone(&letters)
        .primary()
}

/// Levenshtein distance between two codes, counted in characters.
pub fn code_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// Distance between `word` and `wake` as the paper measured it: Levenshtein between
/// their primary Double Metaphone codes.
pub fn phonetic_distance(word: &str, wake: &str) -> usize {
    code_distance(&metaphone_primary(word), &metaphone_primary(wake))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference codes of `scripts/reference_phonetic.py` (Python `Metaphone` 0.6).
    const REFERENCE: &str = include_str!("../tests/fixtures/phonetic_reference.tsv");

    /// Words where the crate and the Python reference disagree and the crate follows
    /// the rules of Double Metaphone (see `docs/wake-fuzzing.md`, "Phonetic distance"):
    /// (word, the crate's code, the reference's code).
    /// Each was checked against Philips' C++ (`DoubleMetaphone`, which pads the word with
    /// spaces so that it can look past its end); the Python port differs there.
    const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
        // 'M': "UMB" with the B last (or before "ER") skips the B: "dumb" is TM.
        ("dumb", "TM", "TMP"),
        ("thumb", "0M", "0MP"),
        // 'G' before 'H' with B, H or D two letters before is silent (Parker's rule).
        ("hugh", "H", "HH"),
        // "JOSE" at the start of a word that ends there is Spanish: H.
        ("jose", "HS", "JS"),
    ];

    fn reference() -> Vec<(&'static str, &'static str)> {
        REFERENCE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let mut f = l.split('\t');
                (f.next().unwrap_or(""), f.next().unwrap_or(""))
            })
            .collect()
    }

    #[test]
    fn phonetic_codes_match_the_python_reference() {
        let rows = reference();
        assert!(rows.len() > 400, "the fixture has {} words", rows.len());
        let mut wrong = Vec::new();
        for (word, expected) in rows {
            let got = metaphone_primary(word);
            let known = KNOWN_DIFFERENCES
                .iter()
                .find(|(w, _, _)| *w == word)
                .map(|(_, ours, theirs)| (*ours, *theirs));
            match known {
                Some((ours, theirs)) => {
                    assert_eq!(theirs, expected, "{word}: the fixture changed");
                    assert_eq!(got, ours, "{word}: our documented code changed");
                }
                None if got != expected => wrong.push(format!("{word}\t{got}\t{expected}")),
                None => {}
            }
        }
        assert!(
            wrong.is_empty(),
            "word, ours, Python reference:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn codes_of_known_words() {
        assert_eq!(metaphone_primary("alexa"), "ALKS");
        assert_eq!(metaphone_primary("Alexa"), "ALKS");
        assert_eq!(metaphone_primary("electrotelegraphic"), "ALKTRTLKRFK");
        assert_eq!(metaphone_primary(""), "");
        assert_eq!(metaphone_primary("'-1"), "");
    }

    proptest::proptest! {
        /// Any text at all, also what panics inside the crate (multi-byte characters).
        #[test]
        fn never_panics(word in "\\PC{0,24}") {
            let code = metaphone_primary(&word);
            proptest::prop_assert!(code.chars().all(|c| c.is_ascii_uppercase() || c == '0'));
        }
    }

    #[test]
    fn non_ascii_letters_are_dropped() {
        assert_eq!(metaphone_primary("café"), metaphone_primary("caf"));
        assert_eq!(metaphone_primary("o'brien"), "APRN");
    }

    #[test]
    fn distances_are_levenshtein_on_codes() {
        assert_eq!(code_distance("ALKS", "ALKS"), 0);
        assert_eq!(code_distance("ALKS", "LKS"), 1);
        assert_eq!(code_distance("", "ALKS"), 4);
        assert_eq!(code_distance("KTN", "STNK"), 2);
        assert_eq!(phonetic_distance("olexa", "alexa"), 0);
        assert_eq!(phonetic_distance("mixer", "alexa"), 3);
    }
}
