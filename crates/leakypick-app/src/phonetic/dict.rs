//! The CMU Pronouncing Dictionary (`data/words/cmudict.dict`, provenance in
//! `data/PROVENANCE.md`), embedded in the binary and parsed on first use.
//!
//! A line is `word PH1 PH2 ...` in ARPAbet, with stress digits on the vowels and an
//! optional `# comment`; `word(2)`, `word(3)` are further pronunciations of `word`. The
//! phoneme count of a word is the number of phones of its first pronunciation (stress
//! is not a phone); the variants collapse into the word.

use std::collections::HashMap;
use std::sync::OnceLock;

static CMUDICT: &str = include_str!("../../../../data/words/cmudict.dict");

/// The dictionary: every word once, with the phoneme count of its first pronunciation.
#[derive(Debug)]
pub struct Dictionary {
    /// In the file's (alphabetical) order.
    entries: Vec<(&'static str, u32)>,
    index: HashMap<&'static str, u32>,
}

/// The embedded dictionary, parsed once (about 135 000 lines).
pub fn cmudict() -> &'static Dictionary {
    static DICT: OnceLock<Dictionary> = OnceLock::new();
    DICT.get_or_init(|| Dictionary::parse(CMUDICT))
}

impl Dictionary {
    /// Parses the dictionary's text; lines without a phone are skipped.
    pub fn parse(text: &'static str) -> Dictionary {
        let mut entries = Vec::new();
        let mut index = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let Some(head) = fields.next() else { continue };
            let phones = u32::try_from(fields.count()).unwrap_or(u32::MAX);
            if phones == 0 {
                continue;
            }
            // `word(2)`: a further pronunciation; the first one counts.
            let word = match head.find('(') {
                Some(i) if head.ends_with(')') => &head[..i],
                _ => head,
            };
            if !index.contains_key(word) {
                index.insert(word, phones);
                entries.push((word, phones));
            }
        }
        Dictionary { entries, index }
    }

    /// The phoneme count of `word` (lower case), if the dictionary has it.
    pub fn phonemes(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// Every word with its phoneme count, in the dictionary's order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.entries.iter().copied()
    }

    /// How many distinct words.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True for a dictionary without words.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_collapse_and_comments_are_dropped() {
        let d = Dictionary::parse(
            "alexander AE2 L AH0 G Z AE1 N D ER0\nalexander(2) AE2 L IH0 G Z\n\
             aalen AE1 L AH0 N # place, german\nbroken\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d.phonemes("alexander"), Some(9));
        assert_eq!(d.phonemes("aalen"), Some(4));
        assert_eq!(d.phonemes("broken"), None);
    }
}
