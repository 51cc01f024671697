//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The real third-party captures shared beside the checkout (`../shared/captures`),
/// or the directory named by `LEAKYPICK_SHARED_CAPTURES`.
///
/// A missing directory fails the test: a test that silently skips would pass CI
/// without checking anything.
pub fn shared_captures() -> PathBuf {
    let dir = match std::env::var_os("LEAKYPICK_SHARED_CAPTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"),
    };
    assert!(
        dir.is_dir(),
        "the shared captures are missing: expected {} (set LEAKYPICK_SHARED_CAPTURES)",
        dir.display()
    );
    dir
}

/// Path of one shared capture, e.g. `shared_capture("smart-speakers/echodot3a_active.pcap")`.
#[allow(dead_code)]
pub fn shared_capture(rel: &str) -> PathBuf {
    let p = shared_captures().join(rel);
    assert!(p.is_file(), "missing shared capture {}", p.display());
    p
}
