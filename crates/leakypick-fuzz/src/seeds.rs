//! The inputs mutations start from: the real captures, the committed regression seeds
//! (`crates/leakypick-fuzz/seeds/`), and regression seeds generated here because they
//! are too large to commit.

use crate::layout::{
    format_of, pcap_header, pcap_record, pcapng_epb, pcapng_idb, pcapng_shb, upload_frame, Format,
};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Seed files are cut to this many bytes: larger captures make each input slow and
/// add no structure a 2 MiB prefix lacks.
pub const MAX_SEED: usize = 2 * 1024 * 1024;

/// One seed.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The path (or `gen:NAME` for a generated seed), for messages and crash files.
    pub name: String,
    pub data: Arc<[u8]>,
    /// False for large generated seeds, which are checked as they are but not mutated.
    pub mutate: bool,
}

/// The real captures beside the checkout: `$LEAKYPICK_SHARED_CAPTURES`, else
/// `../shared/captures` relative to the workspace.
pub fn shared_captures() -> PathBuf {
    match std::env::var_os("LEAKYPICK_SHARED_CAPTURES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures"),
    }
}

/// The committed regression seeds: every file here is a seed (drop a crash file in to
/// keep it fuzzed).
pub fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// True for files worth mutating: a capture magic, or a capture's extension (some test
/// files start with a damaged or missing header on purpose).
fn is_capture(path: &Path, head: &[u8]) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    format_of(head) != Format::Other || matches!(ext.as_str(), "pcap" | "pcapng" | "cap" | "bin")
}

/// Adds the capture files under `dir` (recursively, in path order, each cut to
/// [`MAX_SEED`]).
pub fn load_dir(dir: &Path, out: &mut Vec<Seed>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            load_dir(&path, out)?;
            continue;
        }
        let mut data = std::fs::read(&path)?;
        if data.is_empty() || !is_capture(&path, &data) {
            continue;
        }
        data.truncate(MAX_SEED);
        out.push(Seed {
            name: path.display().to_string(),
            data: data.into(),
            mutate: true,
        });
    }
    Ok(())
}

/// Issue 8: 20 upload packets a tenth of a second apart in 2020, the eleventh with its
/// timestamp rewritten to 0 (1970). Evaluating it walked every window of the fifty
/// years between (38 s).
pub fn one_timestamp_zero() -> Vec<u8> {
    let mut out = Vec::new();
    pcapng_shb(&mut out);
    pcapng_idb(&mut out);
    for k in 0..20u64 {
        let micros = if k == 10 {
            0
        } else {
            1_600_000_000_000_000 + k * 100_000
        };
        pcapng_epb(&mut out, 0, micros, &upload_frame(500));
    }
    out
}

/// Issue 8: two packets 2^32 - 1 seconds (136 years) apart (32 s in `evaluate`).
pub fn span_136_years() -> Vec<u8> {
    let mut out = pcap_header();
    pcap_record(&mut out, 0, 0, &upload_frame(500));
    pcap_record(&mut out, u32::MAX, 0, &upload_frame(500));
    out
}

/// Issue 9: a section of `n` interface description blocks (20 bytes each) and two
/// packets, on the first interface and on the last. Without a cap on interfaces the
/// reader kept all of them (10 M took 631 MB).
pub fn idb_flood(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(28 + 20 * n + 1100);
    pcapng_shb(&mut out);
    for _ in 0..n {
        pcapng_idb(&mut out);
    }
    let frame = upload_frame(500);
    pcapng_epb(&mut out, 0, 1_600_000_000_000_000, &frame);
    pcapng_epb(
        &mut out,
        n.saturating_sub(1) as u32,
        1_600_000_001_000_000,
        &frame,
    );
    out
}

/// Interface description blocks in the generated flood: enough that keeping them all
/// would take about 200 MB (over the default memory budget), while the capped reader
/// keeps [`leakypick_app::capture::MAX_INTERFACES`] (a few MB). 60 MB of input,
/// generated in a fraction of a second.
pub const IDB_FLOOD: usize = 1_500_000;

/// The committed regression seeds as their generators make them: `(file name, bytes)`.
pub fn committed_generated() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("one-timestamp-zero.pcapng", one_timestamp_zero()),
        ("span-136-years.pcap", span_136_years()),
    ]
}

/// The generated regression seeds too large to commit (checked, not mutated).
pub fn generated() -> Vec<Seed> {
    vec![Seed {
        name: format!("gen:idb-flood-{IDB_FLOOD}"),
        data: idb_flood(IDB_FLOOD).into(),
        mutate: false,
    }]
}

/// The default seeds: the shared captures, the committed seeds, and the generated ones.
/// A missing shared-captures directory is an error, not silently fewer seeds.
pub fn default_seeds() -> io::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    let shared = shared_captures();
    load_dir(&shared, &mut seeds).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot read the shared captures at {} ({e}); set LEAKYPICK_SHARED_CAPTURES or pass --seeds DIR",
                shared.display()
            ),
        )
    })?;
    load_dir(&committed_dir(), &mut seeds)?;
    seeds.extend(generated());
    Ok(seeds)
}
