//! A helper program of the fuzz tests (`tests/it/fuzz.rs`, `tests/it/snapshots.rs`),
//! not a test and not a tool: it writes a history with a simulated wake-word campaign
//! (`leakypick_app::campaign::simroom`: a device that wakes on known words with known
//! probabilities, in virtual time), so that `fuzz report` has something to read.
//!
//! It works only when `LEAKYPICK_TEST_FUZZ_HISTORY` is set, to
//! `DATA_DIR,DESIGN,SEED[,CRASH_AT]` (`DESIGN` is `adaptive` or `paper`; with
//! `CRASH_AT` the simulated player fails at that play and the campaign stays
//! unfinished); then it prints the campaign's id. Otherwise it says what it is and exits
//! with status 2.

// A helper of the tests: a failed expect is a failed check, reported by the caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_app::campaign::simroom::simulate_campaign;
use leakypick_app::history::Store;
use leakypick_core::wakefuzz::Design;
use leakypick_core::Timestamp;
use std::path::Path;
use std::process::ExitCode;

const ENV: &str = "LEAKYPICK_TEST_FUZZ_HISTORY";

/// Words of the paper's Table 5 with made-up probabilities and distances, and words
/// that never wake the device.
const WORDS: &[(&str, f64, usize)] = &[
    ("elixir", 1.0, 2),
    ("mixer", 1.0, 3),
    ("alissa", 0.9, 1),
    ("lecture", 0.7, 3),
    ("hyper", 0.7, 4),
    ("letter", 0.6, 3),
    ("wexler", 0.4, 3),
    ("taxer", 0.2, 3),
    ("table", 0.0, 4),
    ("garden", 0.0, 5),
    ("window", 0.0, 5),
    ("pencil", 0.0, 5),
    ("orange", 0.0, 4),
    ("doctor", 0.0, 5),
    ("candle", 0.0, 5),
    ("river", 0.0, 4),
];

fn main() -> ExitCode {
    let Ok(spec) = std::env::var(ENV) else {
        eprintln!(
            "fuzz_history: a helper program of leakypick's fuzz tests (tests/it/fuzz.rs), run \
             by them with {ENV}=DATA_DIR,DESIGN,SEED[,CRASH_AT]; nothing to do on its own"
        );
        return ExitCode::from(2);
    };
    let parts: Vec<&str> = spec.split(',').collect();
    let design = match parts.get(1).copied() {
        Some("paper") => Design::paper(),
        _ => Design::adaptive(),
    };
    let seed: u64 = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let crash_at: Option<usize> = parts.get(3).and_then(|s| s.parse().ok());
    let mut store = Store::open(Path::new(parts[0])).expect("open the history");
    // 2027-01-15 08:00:00 UTC.
    let start = Timestamp(1_800_000_000 * Timestamp::NANOS_PER_SEC);
    let (id, _) = match simulate_campaign(&mut store, design, seed, WORDS, start, crash_at) {
        Ok(r) => r,
        Err(e) if crash_at.is_some() => {
            eprintln!("fuzz_history: stopped as asked: {e}");
            let row = store.latest_campaign(false).expect("read").expect("stored");
            (row.id, leakypick_app::campaign::RunEnd::Stopped)
        }
        Err(e) => panic!("{e}"),
    };
    store.close().expect("close");
    println!("{id}");
    ExitCode::SUCCESS
}
