//! `leakypick phonetic` and the campaign's candidate words: the CMU dictionary's phoneme
//! counts, the selection windows, the seeded simple-word draw, word-file errors, the
//! distances of the paper's Table 5, and the command's output and errors.
//!
//! Expected values come from outside the Rust code: phoneme counts from the dictionary
//! file read with grep, window sizes and the Table 5 histogram from Python (the
//! `Metaphone` package and a hand-written Levenshtein, the one-liners are beside each
//! value). The codes themselves are checked word by word against the Python reference in
//! `crates/leakypick-core/src/phonetic.rs` (fixture of `scripts/reference_phonetic.py`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{leakypick, leakypick_with_stdin};
use leakypick_app::campaign::candidates::{
    count, select, wake_phonemes, CandidateSource, Selection,
};
use leakypick_app::phonetic::dict::cmudict;
use leakypick_app::phonetic::estimate_phonemes;
use leakypick_core::phonetic::phonetic_distance;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// The paper's Table 5: the 89 words other than "alexa" that woke an Echo Dot.
const TABLE5: &str = "alita baxa elater hexer liker ochna taxer bertha electroceramic excern \
    oxer taxir electrohydraulic electropathic wexler blacksher electic hoaxer bugsha elatha \
    elator electrodissolution electrostenolytic eloper eluted fluxer huerta hurter irksome \
    lecher lefter lepre lesser letter licker lipper loasa loker lotor lyssa maloca maxillar \
    melosa meta metae muleta paxar rickner alexy crytzer electroanalytical hyper kleckner \
    lecture likker volupte wexner electroreduction hiper wechsler aleta alexia annection \
    elatcha electre kreitzer alachah alexipharmic alexiteric alissa alosa alyssa barranca \
    beletter elector electra electroresection electrotelegraphic elissa elixir gloeckner \
    lechner lecter lictor lxi lxx mixer olexa walesa";

fn selection(sources: Vec<CandidateSource>) -> Selection {
    Selection {
        sources,
        wake_word: "alexa".into(),
        phonemes: 0,
        random: 0,
        seed: 1,
        limit: None,
    }
}

fn tmp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn phoneme_counts_come_from_the_first_pronunciation() {
    // From `grep -E '^(alexa|computer|echo|amazon|alexander|the|hey|siri|elixir|mixer) '
    // data/words/cmudict.dict`, counting the phones of the first line of each word.
    let d = cmudict();
    for (word, n) in [
        ("alexa", 6),     // AH0 L EH1 K S AH0
        ("computer", 8),  // K AH0 M P Y UW1 T ER0
        ("echo", 3),      // EH1 K OW0
        ("amazon", 6),    // AE1 M AH0 Z AA2 N
        ("alexander", 9), // AE2 L AH0 G Z AE1 N D ER0 (alexander(2) collapses into it)
        ("the", 2),       // DH AH0 (the(2) DH AH1, the(3) DH IY0)
        ("hey", 2),       // HH EY1
        ("siri", 4),      // S IH1 R IY0
        ("elixir", 6),    // IH0 L IH1 K S ER0
        ("mixer", 5),     // M IH1 K S ER0
        ("aalen", 4),     // AE1 L AH0 N # place, german (a comment)
    ] {
        assert_eq!(d.phonemes(word), Some(n), "{word}");
    }
    assert_eq!(d.phonemes("alexander(2)"), None);
    assert_eq!(d.phonemes("electrotelegraphic"), None);
    // `python3 -c` over the file: 126052 distinct words after collapsing `word(N)`.
    assert_eq!(d.len(), 126_052);
}

#[test]
fn dict_windows_around_alexa() {
    // Letters-only words of the dictionary with 6 (±0) and 5..7 (±1) phonemes, without
    // "alexa" itself: counted by Python over data/words/cmudict.dict (first
    // pronunciation, `re.fullmatch('[a-z]+', word)`): 24017 and 65331.
    assert_eq!(wake_phonemes("alexa").unwrap().count, 6);
    assert!(!wake_phonemes("alexa").unwrap().estimated);
    let mut sel = selection(vec![CandidateSource::Dict]);
    assert_eq!(count(&sel).unwrap(), 24_017);
    let all = select(&sel).unwrap();
    assert_eq!(all.len(), 24_017);
    assert!(all
        .iter()
        .all(|c| c.phonemes == Some(6) && c.source == "dict"));
    sel.phonemes = 1;
    assert_eq!(count(&sel).unwrap(), 65_331);
    let all = select(&sel).unwrap();
    assert!(all.iter().all(
        |c| matches!(c.phonemes, Some(5..=7)) && c.word.bytes().all(|b| b.is_ascii_lowercase())
    ));
    // Stable order: the dictionary's.
    let order: Vec<&str> = cmudict()
        .entries()
        .filter(|(w, n)| (5..=7).contains(n) && w.bytes().all(|b| b.is_ascii_lowercase()))
        .map(|(w, _)| w)
        .filter(|w| *w != "alexa")
        .collect();
    assert_eq!(
        all.iter().map(|c| c.word.as_str()).collect::<Vec<_>>(),
        order
    );
    assert!(!all.iter().any(|c| c.word == "alexa"));
    // The distance is the core's.
    let elixir = all.iter().find(|c| c.word == "elixir").unwrap();
    assert_eq!(elixir.distance, 1);
    assert_eq!(elixir.distance, phonetic_distance("elixir", "alexa"));
}

#[test]
fn a_wake_word_missing_from_the_dictionary_is_estimated() {
    // "lexaro" is not in the dictionary: code LKSR (4 sounds) + vowel runs e, a, o.
    let n = wake_phonemes("Lexaro").unwrap();
    assert!(n.estimated);
    assert_eq!(n.count, 7);
    let sel = Selection {
        wake_word: "lexaro".into(),
        ..selection(vec![CandidateSource::Dict])
    };
    assert!(select(&sel).unwrap().iter().all(|c| c.phonemes == Some(7)));
}

#[test]
fn the_estimate_is_close_to_the_dictionary() {
    // The letter-to-sound estimate on the common words that the dictionary has: the
    // figures in docs/wake-fuzzing.md ("Candidates").
    let d = cmudict();
    let common = include_str!("../../data/words/common.txt");
    let (mut total, mut exact, mut within_one) = (0, 0, 0);
    for word in common.lines() {
        let Some(n) = d.phonemes(word) else { continue };
        let e = estimate_phonemes(word);
        total += 1;
        exact += usize::from(e == n);
        within_one += usize::from(e.abs_diff(n) <= 1);
    }
    eprintln!("estimate: {total} words, {exact} exact, {within_one} within one");
    assert!(total > 3_800);
    assert!(exact * 100 >= total * 55, "{exact} of {total} exact");
    assert!(
        within_one * 100 >= total * 90,
        "{within_one} of {total} within one"
    );
}

#[test]
fn simple_words_are_a_seeded_draw() {
    let mut sel = selection(vec![CandidateSource::Simple]);
    sel.random = 50;
    let a = select(&sel).unwrap();
    assert_eq!(a.len(), 50);
    assert_eq!(
        a,
        select(&sel).unwrap(),
        "the same seed gives the same words"
    );
    sel.seed = 2;
    let b = select(&sel).unwrap();
    assert_ne!(a, b);
    let simple: HashSet<&str> = include_str!("../../data/words/simple.txt")
        .lines()
        .collect();
    assert!(a
        .iter()
        .all(|c| simple.contains(c.word.as_str()) && c.source == "simple"));
    assert_eq!(a.iter().map(|c| &c.word).collect::<HashSet<_>>().len(), 50);
    // Pinned: a change of the draw changes every campaign made with a seed.
    sel.seed = 1;
    sel.random = 5;
    let words: Vec<String> = select(&sel).unwrap().into_iter().map(|c| c.word).collect();
    assert_eq!(words, PINNED_DRAW);
}

/// The first five words drawn with seed 1 (set when the draw was written).
const PINNED_DRAW: [&str; 5] = ["modeled", "renew", "waiting", "illogical", "abandoned"];

#[test]
fn sources_deduplicate_in_order_and_limit_cuts() {
    let (_dir, file) = tmp_file(
        "mine.txt",
        b"# my words\nelixir\nthe\nAlexa\nzorblat # made up\n",
    );
    let mut sel = selection(vec![
        CandidateSource::File(file.clone()),
        CandidateSource::Common,
        CandidateSource::Dict,
    ]);
    let all = select(&sel).unwrap();
    let first: Vec<(&str, &str)> = all
        .iter()
        .take(3)
        .map(|c| (c.word.as_str(), c.source))
        .collect();
    // "alexa", the wake word, is dropped; the file's words come first.
    assert_eq!(
        first,
        [("elixir", "file"), ("the", "file"), ("zorblat", "file")]
    );
    assert_eq!(all[2].phonemes, None);
    assert!(!all
        .iter()
        .skip(3)
        .any(|c| c.word == "the" || c.word == "elixir"));
    let words: HashSet<&str> = all.iter().map(|c| c.word.as_str()).collect();
    assert_eq!(words.len(), all.len());
    assert_eq!(count(&sel).unwrap(), all.len());
    sel.limit = Some(10);
    let ten = select(&sel).unwrap();
    assert_eq!(ten.len(), 10);
    assert_eq!(ten, all[..10]);
    assert_eq!(count(&sel).unwrap(), 10);
}

#[test]
fn word_file_errors_name_the_file_and_line() {
    let (_d1, empty) = tmp_file("empty.txt", b"");
    let (_d2, comments) = tmp_file("comments.txt", b"# nothing\n\n   # still nothing\n");
    let (_d3, bad) = tmp_file("bad.txt", b"alexa\necho\nr2d2\n");
    let (_d4, binary) = tmp_file("binary.txt", b"ok\n\xff\xfe\n");
    let missing = PathBuf::from("/nonexistent/words.txt");
    let err = |p: &PathBuf| {
        select(&selection(vec![CandidateSource::File(p.clone())]))
            .unwrap_err()
            .to_string()
    };
    for p in [&empty, &comments] {
        let e = err(p);
        assert!(
            e.contains(&p.display().to_string()) && e.contains("has no words"),
            "{e}"
        );
    }
    let e = err(&bad);
    assert!(
        e.starts_with(&format!("{}:3: the word \"r2d2\"", bad.display())),
        "{e}"
    );
    let e = err(&binary);
    assert!(e.contains("binary.txt") && e.contains("UTF-8"), "{e}");
    let e = err(&missing);
    assert!(e.contains("/nonexistent/words.txt"), "{e}");
    let e = select(&Selection {
        wake_word: "al3xa".into(),
        ..selection(vec![CandidateSource::Common])
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("wake word") && e.contains("al3xa"), "{e}");
    let e = select(&selection(vec![CandidateSource::Simple]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--random N"), "{e}");
}

#[test]
fn distances_of_table5_to_alexa() {
    // Histogram of the Levenshtein distances between the primary codes, computed by
    // Python (`Metaphone` 0.6 `doublemetaphone(w)[0]` and a textbook Levenshtein) over
    // the 89 words: {0: 3, 1: 9, 2: 25, 3: 29, 4: 14, 5: 2, 6: 2, 7: 4, 8: 1}.
    let words: Vec<&str> = TABLE5.split_whitespace().collect();
    assert_eq!(words.len(), 89);
    let mut histogram = BTreeMap::new();
    for w in &words {
        *histogram.entry(phonetic_distance(w, "alexa")).or_insert(0) += 1;
    }
    let expected: BTreeMap<usize, i32> = [
        (0, 3),
        (1, 9),
        (2, 25),
        (3, 29),
        (4, 14),
        (5, 2),
        (6, 2),
        (7, 4),
        (8, 1),
    ]
    .into();
    assert_eq!(histogram, expected);
    // The same through the command.
    let mut args = vec!["phonetic", "--to", "alexa", "--format", "json"];
    args.extend(&words);
    let records = leakypick(&args).json();
    assert_eq!(records.len(), 89);
    let mut from_cli = BTreeMap::new();
    for r in &records {
        *from_cli
            .entry(r["distance"].as_u64().unwrap() as usize)
            .or_insert(0) += 1;
    }
    assert_eq!(from_cli, expected);
}

#[test]
fn the_command_in_three_formats() {
    let args = |format: &'static str| {
        vec![
            "phonetic",
            "--to",
            "Alexa",
            "elixir",
            "Mixer",
            "electrotelegraphic",
            "--format",
            format,
        ]
    };
    let json = leakypick(args("json")).json();
    assert_eq!(
        json[0],
        serde_json::json!({"type": "phonetic", "word": "elixir", "code": "ALKSR", "distance": 1,
            "to": "alexa", "to_code": "ALKS", "phonemes": 6})
    );
    let keys: Vec<&str> = json[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys[..4], ["type", "word", "code", "distance"]);
    assert_eq!(json[1]["word"], "mixer");
    assert_eq!(json[2]["phonemes"], serde_json::Value::Null);
    assert_eq!(json[2]["distance"], 8);

    let csv = leakypick(args("csv")).ok().to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "type,word,code,distance,to,to_code,phonemes");
    assert_eq!(lines[1], "phonetic,elixir,ALKSR,1,alexa,ALKS,6");
    assert_eq!(
        lines[3],
        "phonetic,electrotelegraphic,ALKTRTLKRFK,8,alexa,ALKS,"
    );

    let table = leakypick(args("table")).ok().to_string();
    assert!(
        table.starts_with("Wake word \"alexa\": Double Metaphone ALKS, 6 phonemes"),
        "{table}"
    );
    assert!(table
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["mixer", "MKSR", "3", "5"]));

    // Words from a file and from standard input, after the command line's.
    let (_dir, file) = tmp_file("w.txt", b"# words\nlexus\n");
    let file = file.display().to_string();
    let json = leakypick([
        "phonetic", "--to", "alexa", "olexa", "--file", &file, "--format", "json",
    ])
    .json();
    let words: Vec<&str> = json.iter().map(|r| r["word"].as_str().unwrap()).collect();
    assert_eq!(words, ["olexa", "lexus"]);
    let json = leakypick_with_stdin(
        [
            "phonetic", "--to", "alexa", "--file", "-", "--format", "json",
        ],
        Some(b"alita\nhyper\n"),
    )
    .json();
    assert_eq!(json.len(), 2);
    assert_eq!(json[1]["distance"], 4);
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: [(&[&str], &str); 7] = [
        (&["phonetic", "--to", "alexa"], "no words to compare"),
        (&["phonetic", "--to", "alexa", ""], "WORD 1: an empty word"),
        (
            &["phonetic", "--to", "alexa", "ok", "r2d2"],
            "WORD 2: the word \"r2d2\" has a character ('2')",
        ),
        (&["phonetic", "--to", "alexa", "café"], "not a letter"),
        (
            &["phonetic", "--to", "4lexa", "ok"],
            "--to: the word \"4lexa\"",
        ),
        (&["phonetic", "--to", "", "ok"], "--to: an empty word"),
        (
            &["phonetic", "--to", "alexa", "--file", "/nonexistent/w.txt"],
            "cannot read the word file /nonexistent/w.txt",
        ),
    ];
    for (args, expected) in cases {
        let e = leakypick(args).fails().to_string();
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    let e = leakypick(["phonetic", "ok"]).fails().to_string();
    assert!(e.contains("--to"), "{e}");
}
