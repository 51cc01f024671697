//! `leakypick phonetic`: what the command was asked, checked once, and its run.

use super::{check_phrase, check_word, compare_words, read_word_file, render::write_phonetic};
use crate::error::{Error, Result};
use crate::render::Format;
use std::io::Write;
use std::path::PathBuf;

/// Everything `phonetic` was asked, as given.
#[derive(Debug, Clone)]
pub struct PhoneticCommand {
    /// The wake word (`--to`), a word or a phrase.
    pub to: String,
    /// The words on the command line.
    pub words: Vec<String>,
    /// A word file (`--file`; `-` is standard input), read after the command line's words.
    pub file: Option<PathBuf>,
    pub format: Format,
}

/// The checked words of the command: the command line's, then the file's.
fn words(cmd: &PhoneticCommand) -> Result<Vec<String>> {
    let mut words = Vec::new();
    for (i, w) in cmd.words.iter().enumerate() {
        let word = check_word(w).map_err(|e| Error::usage(format!("WORD {}: {e}", i + 1)))?;
        words.push(word);
    }
    if let Some(path) = &cmd.file {
        let file = read_word_file(path).map_err(|e| Error::usage(e.to_string()))?;
        words.extend(file.into_iter().map(|(w, _)| w));
    }
    if words.is_empty() {
        return Err(Error::usage(
            "no words to compare: give words after the options (leakypick phonetic --to alexa \
             alita lexus) or a file of one word per line with --file FILE (- reads standard input)",
        ));
    }
    Ok(words)
}

/// Runs `phonetic`: every word's primary Double Metaphone code and its Levenshtein
/// distance to the wake word's code.
pub fn run(cmd: &PhoneticCommand, out: &mut dyn Write) -> Result<()> {
    let to = check_phrase(&cmd.to).map_err(|e| Error::usage(format!("--to: {e}")))?;
    let words = words(cmd)?;
    let report = compare_words(&to, &words);
    write_phonetic(out, &report, cmd.format)?;
    Ok(out.flush()?)
}
