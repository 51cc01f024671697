//! A helper program of the fuzz tests (`tests/it/fuzz.rs`, `tests/it/snapshots.rs`),
//! not a test and not a tool: it writes a history with a simulated wake-word campaign
//! (`leakypick_app::campaign::simroom`: a device that wakes on known words with known
//! probabilities, in virtual time), so that `fuzz report` has something to read.
//!
//! It works only when `LEAKYPICK_TEST_FUZZ_HISTORY` is set, to
//! `DATA_DIR,DESIGN,SEED[,CRASH_AT[,slow]]`: `DESIGN` is `adaptive` or `paper` (a new
//! campaign) or `resume` (the latest unfinished one, in a new room); with `CRASH_AT`
//! the simulated player fails at that play and the campaign stays unfinished; with
//! `slow` it prints `stored N` after each stored attempt and waits 20 ms (real time), so
//! that a test can kill it with SIGKILL in the middle. It prints the campaign's id at
//! the end. Otherwise it says what it is and exits with status 2.

// A helper of the tests: a failed expect is a failed check, reported by the caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_app::campaign::simroom::{resume_simulated, simulate_campaign};
use leakypick_app::history::Store;
use leakypick_core::wakefuzz::Design;
use leakypick_core::Timestamp;
use std::io::Write;
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
             by them with {ENV}=DATA_DIR,DESIGN,SEED[,CRASH_AT[,slow]]; nothing to do on its own"
        );
        return ExitCode::from(2);
    };
    let parts: Vec<&str> = spec.split(',').collect();
    let seed: u64 = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let crash_at: Option<usize> = parts.get(3).and_then(|s| s.parse().ok());
    let slow = parts.get(4) == Some(&"slow");
    let mut on_attempt = |n: usize| {
        if slow {
            println!("stored {n}");
            let _ = std::io::stdout().flush();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let mut store = Store::open(Path::new(parts[0])).expect("open the history");
    // 2027-01-15 08:00:00 UTC.
    let start = Timestamp(1_800_000_000 * Timestamp::NANOS_PER_SEC);
    let id = if parts.get(1) == Some(&"resume") {
        let row = store
            .latest_campaign(true)
            .expect("read")
            .expect("an unfinished campaign");
        let later = Timestamp(start.0 + 86_400 * Timestamp::NANOS_PER_SEC);
        resume_simulated(&mut store, row.id, seed, WORDS, later, &mut on_attempt).expect("resume");
        row.id
    } else {
        let design = match parts.get(1).copied() {
            Some("paper") => Design::paper(),
            _ => Design::adaptive(),
        };
        match simulate_campaign(
            &mut store,
            design,
            seed,
            WORDS,
            start,
            crash_at,
            &mut on_attempt,
        ) {
            Ok((id, _)) => id,
            Err(e) if crash_at.is_some() => {
                eprintln!("fuzz_history: stopped as asked: {e}");
                store
                    .latest_campaign(false)
                    .expect("read")
                    .expect("stored")
                    .id
            }
            Err(e) => panic!("{e}"),
        }
    };
    store.close().expect("close");
    println!("{id}");
    ExitCode::SUCCESS
}
