//! The regression seeds through the harness's library, with the deterministic checks
//! only (panics, evaluate's work, invariants; no time or memory: the project's tests
//! never time anything, and a test process shares its memory with other tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_fuzz::seeds::{self, Seed};
use leakypick_fuzz::{check, run, Budgets, Config};
use std::sync::Arc;

/// The committed seeds are what their generators make, so each says what it is.
#[test]
fn committed_seeds_match_their_generators() {
    for (name, bytes) in seeds::committed_generated() {
        let path = seeds::committed_dir().join(name);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == bytes,
            "{} differs from its generator (leakypick-fuzz --write-seeds crates/leakypick-fuzz/seeds)",
            path.display()
        );
    }
}

/// Issue 8: both time-span seeds are evaluated, and their window pairs take a few
/// steps per packet, not one per window of the fifty or 136 years they span.
#[test]
fn time_span_seeds_do_work_bounded_by_their_packets() {
    for (name, bytes) in seeds::committed_generated() {
        let data: Arc<[u8]> = bytes.into();
        let c = check(name, &data, &Budgets::deterministic());
        assert!(c.findings.is_empty(), "{name}: {:?}", c.findings);
        let o = c.outcome.expect("no panic");
        assert!(o.evaluated, "{name}: {o:?}");
        assert!(
            o.pair_steps > 0 && o.pair_steps <= o.pair_step_bound,
            "{name}: {o:?}"
        );
        // 15 pair sets (3 windows x 5 tests, the paper's included) of a few packets:
        // a few hundred steps at most, where the old walk took 10^8 and more.
        assert!(o.pair_steps < 1_000, "{name}: {} steps", o.pair_steps);
    }
}

/// Issue 9: the flood of interface blocks reads the packet on the first interface,
/// skips the one beyond the cap with a warning, and panics nowhere.
#[test]
fn interface_flood_is_read_with_a_warning() {
    let data: Arc<[u8]> = seeds::idb_flood(leakypick_app::capture::MAX_INTERFACES + 10).into();
    let c = check("flood.pcapng", &data, &Budgets::deterministic());
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    let o = c.outcome.expect("no panic");
    assert_eq!((o.frames, o.warnings), (1, 1), "{o:?}");
}

/// A short campaign over the generated seeds: deterministic, and nothing found.
#[test]
fn a_short_campaign_finds_nothing() {
    let pool: Vec<Seed> = seeds::committed_generated()
        .into_iter()
        .map(|(name, bytes)| Seed {
            name: format!("gen:{name}"),
            data: bytes.into(),
            mutate: true,
        })
        .collect();
    let config = Config {
        seed: 7,
        iterations: Some(40),
        budgets: Budgets::deterministic(),
        ..Config::default()
    };
    let summary = run(&pool, &config, &mut |_| {});
    assert!(summary.findings.is_empty(), "{summary}");
    assert_eq!((summary.seeds, summary.inputs), (2, 40));
    let again = run(&pool, &config, &mut |_| {});
    assert_eq!(summary.per_mutation, again.per_mutation);
}
