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

/// The path of a helper program of the tests: an example of the root package
/// (`examples/NAME.rs`, see its `[[example]]` in `Cargo.toml`), which a test runs as a
/// separate process (killed, or inside a network namespace). Helpers are not tests:
/// `cargo test` builds them and never runs them; they live beside this test binary's
/// `deps/`, in `<target>/<profile>/examples/NAME`.
///
/// A run with a target filter (`cargo test --test it`) does not build examples, and an
/// earlier build may be older than the sources: a helper that is missing, or older than
/// a file of its dep-info (`NAME.d`), is built here with cargo, with the features and
/// profile of this test binary.
#[allow(dead_code)]
pub fn helper_program(name: &str) -> PathBuf {
    use std::process::Command;
    use std::sync::Mutex;
    // One check (and build) at a time: tests run on several threads.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = BUILDING.lock().unwrap_or_else(|e| e.into_inner());

    let test_exe =
        std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| {
            panic!(
                "the test binary {} is not in <target>/<profile>/deps/",
                test_exe.display()
            )
        });
    let exe = profile_dir.join("examples").join(name);
    if is_up_to_date(&exe) {
        return exe;
    }
    let target_dir = profile_dir.parent().unwrap_or(profile_dir);
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--example", name, "--profile", profile])
        .arg("--manifest-path")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if cfg!(feature = "live") {
        cmd.args(["--features", "live"]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the helper {name}: {e}"));
    assert!(
        out.status.success() && exe.is_file(),
        "building the helper program {name} failed ({:?}); plain `cargo test` builds it:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Whether `exe` exists and is newer than every file its dep-info (`exe.d`, written by
/// cargo beside it) lists.
fn is_up_to_date(exe: &std::path::Path) -> bool {
    let built = match std::fs::metadata(exe).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => return false,
    };
    let Ok(dep_info) = std::fs::read_to_string(exe.with_extension("d")) else {
        return false;
    };
    // `target: dep dep ...`; a space inside a path is escaped as `\ `.
    let Some((_, deps)) = dep_info.split_once(": ") else {
        return false;
    };
    let deps = deps.replace("\\ ", "\u{0}");
    deps.split_whitespace()
        .map(|d| d.replace('\u{0}', " "))
        .all(|d| {
            std::fs::metadata(&d)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t <= built)
        })
}
