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

/// The result of running the real `leakypick` binary.
#[allow(dead_code)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

#[allow(dead_code)]
impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert!(
            self.status.success(),
            "leakypick failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts a clean failure (exit status 2, never a panic) and returns stderr.
    pub fn fails(&self) -> &str {
        assert_eq!(
            self.status.code(),
            Some(2),
            "expected exit status 2:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        &self.stderr
    }

    /// Parses stdout as JSON Lines.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.ok()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }
}

/// Runs the built `leakypick` binary with `args`, optionally feeding `stdin`.
#[allow(dead_code)]
pub fn leakypick<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    leakypick_with_stdin(args, None)
}

#[allow(dead_code)]
pub fn leakypick_with_stdin<I, S>(args: I, stdin: Option<&[u8]>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakypick"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run leakypick: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child
            .stdin
            .take()
            .unwrap_or_else(|| panic!("no stdin pipe"));
        pipe.write_all(bytes)
            .unwrap_or_else(|e| panic!("writing stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for leakypick: {e}"));
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Records of one `"type"` from JSON Lines output.
#[allow(dead_code)]
pub fn of_type<'a>(values: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    values.iter().filter(|v| v["type"] == ty).collect()
}

/// Runs tshark (installed by scripts/test.sh) and returns its stdout.
#[allow(dead_code)]
pub fn tshark(args: &[&str]) -> String {
    let out = std::process::Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is required by this test (scripts/test.sh installs it): {e}")
        });
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
