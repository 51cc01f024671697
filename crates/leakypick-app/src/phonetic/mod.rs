//! Phonetic distance of words to a wake word (`leakypick phonetic`) and the word rules
//! shared with the campaign's candidates: what a word may be, and its phoneme count
//! from the CMU Pronouncing Dictionary ([`dict`]) or, for a word it lacks, a
//! letter-to-sound estimate.
//!
//! The codes and distances are the core's (`leakypick_core::phonetic`): the primary
//! Double Metaphone code and the Levenshtein distance between codes.

pub mod command;
pub mod dict;
pub mod render;

use leakypick_core::phonetic::{code_distance, metaphone_primary};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A word that cannot be coded: empty, or with a character that is not a letter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WordError {
    #[error("an empty word: give words of the letters a-z")]
    Empty,
    #[error(
        "the word {word:?} has {what} ({ch:?}), which is not a letter: give words of the letters a-z only (no digits, \
         punctuation or accents)"
    )]
    NotALetter {
        word: String,
        ch: char,
        what: &'static str,
    },
}

/// Checks one word and returns it in lower case: ASCII letters only.
pub fn check_word(word: &str) -> Result<String, WordError> {
    let word = word.trim();
    if word.is_empty() {
        return Err(WordError::Empty);
    }
    if let Some(ch) = word.chars().find(|c| !c.is_ascii_alphabetic()) {
        let what = if ch.is_whitespace() {
            "a space"
        } else {
            "a character"
        };
        return Err(WordError::NotALetter {
            word: word.to_string(),
            ch,
            what,
        });
    }
    Ok(word.to_ascii_lowercase())
}

/// Checks a wake word or phrase ("alexa", "hey siri"): words of letters separated by
/// spaces; returns the words in lower case joined by one space.
pub fn check_phrase(phrase: &str) -> Result<String, WordError> {
    let words = phrase
        .split_whitespace()
        .map(check_word)
        .collect::<Result<Vec<_>, _>>()?;
    if words.is_empty() {
        return Err(WordError::Empty);
    }
    Ok(words.join(" "))
}

/// A word file that cannot be used; names the file (and line) and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WordFileError {
    #[error(
        "cannot read the word file {}: {source} (give a text file of one word per line, or - \
         for standard input)",
        path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {source}", path.display())]
    Word {
        path: PathBuf,
        line: usize,
        source: WordError,
    },
    #[error(
        "the word file {} has no words: write one word per line (lines starting with # are \
         comments)",
        path.display()
    )]
    Empty { path: PathBuf },
}

/// Reads a word file (`-` is standard input): one word per line, blank lines and
/// everything after a `#` ignored; every word checked by [`check_word`]. Returns the
/// words in lower case, in file order, each with its line number.
pub fn read_word_file(path: &Path) -> Result<Vec<(String, usize)>, WordFileError> {
    let read_error = |source| WordFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        bytes = std::fs::read(path).map_err(read_error)?;
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (at byte {}): save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        ))
    })?;
    parse_word_list(&text, path)
}

/// The words of a word file's text (see [`read_word_file`]).
pub fn parse_word_list(text: &str, path: &Path) -> Result<Vec<(String, usize)>, WordFileError> {
    let mut words = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let word = check_word(content).map_err(|source| WordFileError::Word {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        words.push((word, i + 1));
    }
    if words.is_empty() {
        return Err(WordFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(words)
}

/// The phoneme count of a word or phrase and whether any of it was estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhonemeCount {
    pub count: u32,
    /// True when a word is not in the dictionary and its count is
    /// [`estimate_phonemes`]' guess.
    pub estimated: bool,
}

/// The phoneme count of a checked word or phrase: the sum over its words of the
/// dictionary's count, or of the estimate for a word the dictionary lacks.
pub fn phoneme_count(phrase: &str) -> PhonemeCount {
    let dict = dict::cmudict();
    let mut total = PhonemeCount {
        count: 0,
        estimated: false,
    };
    for word in phrase.split_whitespace() {
        match dict.phonemes(word) {
            Some(n) => total.count += n,
            None => {
                total.count += estimate_phonemes(word);
                total.estimated = true;
            }
        }
    }
    total
}

/// A letter-to-sound estimate of a word's phoneme count, for words the dictionary
/// lacks: the consonant sounds of its primary Double Metaphone code (every letter of
/// the code but a leading vowel mark `A`; an `x` is coded `KS`, two sounds) plus one
/// vowel sound per run of vowel letters (`a e i o u y`), where a final `e` after a
/// consonant is silent when the word has another vowel. "alexa": code ALKS gives L K S,
/// the vowel runs a, e, a give three more: 6, as the dictionary says (AH L EH K S AH).
/// On the dictionary's own common words it is exact for about half of them and within
/// one for most (`docs/wake-fuzzing.md`, "Candidates").
pub fn estimate_phonemes(word: &str) -> u32 {
    let code = metaphone_primary(word);
    let consonants = code.strip_prefix('A').unwrap_or(&code).chars().count();
    let letters: Vec<char> = word
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let is_vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    let mut runs = 0usize;
    let mut previous_vowel = false;
    for &c in &letters {
        let v = is_vowel(c);
        if v && !previous_vowel {
            runs += 1;
        }
        previous_vowel = v;
    }
    let n = letters.len();
    if runs > 1 && n > 2 && letters[n - 1] == 'e' && !is_vowel(letters[n - 2]) {
        runs -= 1;
    }
    u32::try_from(consonants + runs).unwrap_or(u32::MAX)
}

/// One word compared with the wake word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneticRow {
    pub word: String,
    pub code: String,
    pub distance: usize,
    /// From the dictionary (None: not in it).
    pub phonemes: Option<u32>,
}

/// Words compared with one wake word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneticReport {
    pub to: String,
    pub to_code: String,
    pub to_phonemes: PhonemeCount,
    pub rows: Vec<PhoneticRow>,
}

/// Codes and distances of checked `words` to the checked wake word `to`.
pub fn compare_words(to: &str, words: &[String]) -> PhoneticReport {
    let to_code = metaphone_primary(to);
    let dict = dict::cmudict();
    let rows = words
        .iter()
        .map(|w| {
            let code = metaphone_primary(w);
            PhoneticRow {
                distance: code_distance(&code, &to_code),
                phonemes: dict.phonemes(w),
                word: w.clone(),
                code,
            }
        })
        .collect();
    PhoneticReport {
        to: to.to_string(),
        to_phonemes: phoneme_count(to),
        to_code,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_only() {
        assert_eq!(check_word(" Alexa "), Ok("alexa".into()));
        assert_eq!(check_word(""), Err(WordError::Empty));
        assert!(matches!(
            check_word("al3xa"),
            Err(WordError::NotALetter { ch: '3', .. })
        ));
        assert!(check_word("don't").is_err());
        assert!(check_word("café").is_err());
        assert_eq!(check_phrase("Hey  Siri"), Ok("hey siri".into()));
        assert_eq!(check_phrase("  "), Err(WordError::Empty));
    }

    #[test]
    fn word_files_name_file_and_line() {
        let p = Path::new("w.txt");
        let words = parse_word_list("# mine\nAlexa\n\n  echo # the old one\n", p);
        assert_eq!(
            words.ok(),
            Some(vec![("alexa".to_string(), 2), ("echo".to_string(), 4)])
        );
        let e = parse_word_list("alexa\nal exa\n", p)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("w.txt:2: the word \"al exa\" has a space")));
        let e = parse_word_list("# nothing\n\n", p)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("w.txt has no words")));
    }

    #[test]
    fn the_estimate_matches_the_dictionary_on_wake_words() {
        // Counts from `grep -E '^(alexa|computer|echo|amazon) ' data/words/cmudict.dict`.
        for (word, n) in [("alexa", 6), ("computer", 8), ("echo", 3), ("amazon", 6)] {
            assert_eq!(estimate_phonemes(word), n, "{word}");
        }
        assert_eq!(
            phoneme_count("hey siri"),
            PhonemeCount {
                count: 6,
                estimated: false
            }
        );
        assert!(phoneme_count("zzxqy").estimated);
    }
}
