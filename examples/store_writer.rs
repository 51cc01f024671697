//! A helper program of the history tests (`tests/it/store.rs`), not a test and not a
//! tool: the writer that `survives_kill_9_of_a_writer` kills with SIGKILL in the middle
//! of its work.
//!
//! It does its work only when `LEAKYPICK_TEST_STORE_WRITER_DIR` names a data directory:
//! then it opens the history there and commits one batch after another (a detection and
//! a minute of traffic of one device), printing `committed N` after each, until it is
//! killed. Otherwise it says what it is and exits with status 2. `cargo test` builds it;
//! the tests find it beside their own binary, in `<target>/<profile>/examples/`, and
//! build it when it is missing or out of date.

// A helper of the tests: a failed expect is a failed check, reported by the caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_app::history::{DetectionRecord, Store, TrafficCounters};
use leakypick_core::net::Mac;
use leakypick_core::time::Timestamp;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Names the data directory the writer writes to.
const WRITER_ENV: &str = "LEAKYPICK_TEST_STORE_WRITER_DIR";
/// The one device every batch is about (the test checks its rows).
const DEVICE: &str = "aa:bb:cc:00:00:05";

fn main() -> ExitCode {
    let Some(dir) = std::env::var_os(WRITER_ENV) else {
        eprintln!(
            "store_writer: a helper program of leakypick's history tests (tests/it/store.rs), \
             run by them with {WRITER_ENV} naming a data directory; nothing to do on its own"
        );
        return ExitCode::from(2);
    };
    let mut store = Store::open(Path::new(&dir)).expect("open the history");
    let m: Mac = DEVICE.parse().expect("the device's MAC");
    let mut out = std::io::stdout();
    // Batch `i` holds detection `i` (starting at second `i`) and the traffic of minute `i`.
    for i in 0.. {
        store
            .transaction(|b| {
                b.add_detection(&detection(m, i, i + 1))?;
                b.add_traffic(m, secs(60 * i), &counters(1))
            })
            .expect("a batch");
        writeln!(out, "committed {}", i + 1).expect("stdout");
        out.flush().expect("stdout");
    }
    ExitCode::SUCCESS
}

fn secs(s: i64) -> Timestamp {
    Timestamp(s * Timestamp::NANOS_PER_SEC)
}

fn detection(m: Mac, start: i64, end: i64) -> DetectionRecord {
    DetectionRecord {
        id: None,
        device: m.into(),
        start: secs(start),
        end: secs(end),
        rule: "burst".into(),
        params: json!({"window_s": 1.0, "threshold_bps": 23000.0}),
        bytes: 123_456,
        peak_bps: 98_765.5,
        threshold_bps: 23_000.0,
        created: secs(end + 1),
    }
}

fn counters(n: u64) -> TrafficCounters {
    TrafficCounters {
        tx_packets: n,
        tx_bytes: 100 * n,
        upload_bytes: 60 * n,
        rx_packets: 2 * n,
        rx_bytes: 300 * n,
    }
}
