//! The tidy test (after rust-analyzer's `xtask/src/tidy.rs`): plain tests that read the
//! source tree and keep the rules written in `ARCHITECTURE.md` true.
//!
//! - The code map names every source file, and names no file that is gone. The rule
//!   (also written in `ARCHITECTURE.md`): each `###` section of the code map starts with
//!   the folder it maps in backticks (`crates/leakypick-app/src/`); a file under that
//!   folder is named in that section by its path relative to the folder, in backticks
//!   (`analyze/command.rs`), a `mod.rs` by its folder (`analyze/`). A file under no
//!   section's folder is named by its repository path anywhere in the code map. The
//!   longest matching folder wins. Source files: `*.rs` under the crates' `src/`,
//!   `tests/`, `examples/` and `benches/` and the root package's, and the `*.py` and
//!   `*.sh` of `testbed/` and `scripts/`.
//! - The core (`crates/leakypick-core`) uses no file system, no clock and no serde
//!   outside its tests, and does not depend on serde.
//! - JSON is built only in render modules, and in the files of [`JSON_ALLOWED`].
//! - No test is ignored; nothing stray is tracked by git; the binary stays glue.
//!
//! Code is read as rustfmt writes it: a `#[cfg(test)]` module runs from the attribute at
//! column 0 to the next `}` at column 0, comment lines (`//`, `///`, `//!`) are skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files outside render modules that build JSON, each with why it may.
const JSON_ALLOWED: &[(&str, &str)] = &[
    (
        "crates/leakypick-app/src/monitor/alert/mod.rs",
        "the alert payload (webhook body, MQTT event), a stable shape documented in docs/alerts.md",
    ),
    (
        "crates/leakypick-app/src/monitor/alert/mqtt.rs",
        "the MQTT payloads: Home Assistant discovery configs, states and attributes",
    ),
    (
        "crates/leakypick-app/src/probing/log.rs",
        "the probe log's file format, written by `probe --log` and read back by `analyze --probe-log`",
    ),
    (
        "crates/leakypick-app/src/monitor/mod.rs",
        "a detection's `params`, stored in the history as JSON",
    ),
];

/// The files tracked at the top level of the repository.
const TOP_LEVEL_FILES: &[&str] = &[
    ".gitignore",
    "ARCHITECTURE.md",
    "Cargo.lock",
    "Cargo.toml",
    "LICENSE",
    "README.md",
    "clippy.toml",
];

/// Names of tracked files that are leftovers of a tool or an edit, never sources.
const STRAY_SUFFIXES: &[&str] = &[".orig", ".rej", ".partial", ".snap.new", ".tmp"];

#[test]
fn code_map_names_every_source_file() {
    let map = CodeMap::read();
    let mut missing = Vec::new();
    for file in source_files() {
        match map.section_of(&file) {
            Some(section) => {
                let name = map_name(&file[section.folder.len()..]);
                if !section.names.contains(&name) {
                    missing.push(format!(
                        "  {file}: add `{name}` to the section \"### {}\"",
                        section.heading
                    ));
                }
            }
            None => {
                let name = map_name(&file);
                if !map.all_names().any(|n| *n == name) {
                    missing.push(format!(
                        "  {file}: add `{name}` to the code map (a section whose folder holds it, or \"### Elsewhere\")"
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the code map in ARCHITECTURE.md does not name {} source file(s); describe each in \
         one line (see the rule at the top of the code map):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn architecture_names_only_paths_that_exist() {
    let map = CodeMap::read();
    let root = root();
    let mut gone = Vec::new();
    for (folder, token, line) in map.paths() {
        // A token in a section may be relative to its folder or a repository path.
        let exists = root.join(token).exists()
            || (!folder.is_empty() && root.join(folder).join(token).exists());
        if !exists {
            let under = if folder.is_empty() {
                String::new()
            } else {
                format!(" (neither in {folder} nor at the root)")
            };
            gone.push(format!(
                "  ARCHITECTURE.md:{line}: `{token}` does not exist{under}"
            ));
        }
    }
    assert!(
        gone.is_empty(),
        "ARCHITECTURE.md names paths that no longer exist; correct or remove them:\n{}",
        gone.join("\n")
    );
}

#[test]
fn core_uses_no_file_system_clock_or_serde() {
    let forbidden: &[(&str, &str)] = &[
        ("std::fs", "the file system"),
        ("fs::", "the file system"),
        ("File::", "the file system"),
        ("OpenOptions", "the file system"),
        ("SystemTime", "the clock"),
        ("UNIX_EPOCH", "the clock"),
        ("Instant", "the clock"),
        ("::now(", "the clock"),
        ("jiff", "the clock (time zones)"),
        ("chrono", "the clock (time zones)"),
        ("serde", "serialization"),
        ("Serialize", "serialization"),
        ("Deserialize", "serialization"),
    ];
    let mut found = Vec::new();
    for file in rs_files_under("crates/leakypick-core/src") {
        if is_test_file(&file) {
            continue;
        }
        let text = read(&file);
        for (n, line) in production_lines(&text) {
            for (pattern, what) in forbidden {
                if contains_word(line, pattern) {
                    found.push(format!(
                        "  {file}:{n}: {what} (`{pattern}`): {}",
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core is pure (ARCHITECTURE.md, invariants): no file system, no clock, no \
         serialization outside its tests; move this to leakypick-app:\n{}",
        found.join("\n")
    );

    let manifest = read("crates/leakypick-core/Cargo.toml");
    let serde_deps: Vec<&str> = dependencies(&manifest)
        .into_iter()
        .filter(|d| d.starts_with("serde"))
        .collect();
    assert!(
        serde_deps.is_empty(),
        "crates/leakypick-core/Cargo.toml depends on {serde_deps:?}: the core carries no \
         serialization (a dev-dependency for its tests is fine)"
    );
}

#[test]
fn json_is_built_only_in_render_modules() {
    let patterns = [
        "json!",
        "serde_json::to_string",
        "serde_json::to_writer",
        "serde_json::to_vec",
        "to_string_pretty",
        "to_writer_pretty",
    ];
    let mut builders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files = rs_files_under("src");
    for krate in crate_dirs() {
        files.extend(rs_files_under(&format!("{krate}/src")));
    }
    for file in files {
        if is_test_file(&file) || file.ends_with("/render.rs") || file.ends_with("/render/mod.rs") {
            continue;
        }
        let text = read(&file);
        for (n, line) in production_lines(&text) {
            let imports_writer = line.trim_start().starts_with("use serde_json")
                && ["to_string", "to_writer", "to_vec"]
                    .iter()
                    .any(|w| line.contains(w));
            if imports_writer || patterns.iter().any(|p| line.contains(p)) {
                builders
                    .entry(file.clone())
                    .or_default()
                    .push(format!("    {n}: {}", line.trim()));
            }
        }
    }
    let allowed = |f: &str| JSON_ALLOWED.iter().any(|(a, _)| *a == f);
    let outside: Vec<String> = builders
        .iter()
        .filter(|(f, _)| !allowed(f))
        .map(|(f, lines)| format!("  {f}:\n{}", lines.join("\n")))
        .collect();
    assert!(
        outside.is_empty(),
        "JSON is built outside render modules; move the shape into the feature's \
         render.rs (or, for a file format, add the file to JSON_ALLOWED in \
         tests/it/tidy.rs with the reason):\n{}",
        outside.join("\n")
    );
    let stale: Vec<&str> = JSON_ALLOWED
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| !builders.contains_key(*f))
        .collect();
    assert!(
        stale.is_empty(),
        "these files of JSON_ALLOWED (tests/it/tidy.rs) no longer build JSON; remove \
         them from the list: {stale:?}"
    );
}

#[test]
fn no_test_is_ignored() {
    // Built from pieces, so that this file does not find itself.
    let attribute = concat!("#[", "ign", "ore");
    let (cfg_attr, word) = (concat!("cfg_", "attr("), concat!("ign", "ore"));
    let mut found = Vec::new();
    let mut files = rs_files_under("src");
    for dir in ["tests", "examples", "benches"] {
        files.extend(rs_files_under(dir));
    }
    for krate in crate_dirs() {
        for dir in ["src", "tests", "examples", "benches"] {
            files.extend(rs_files_under(&format!("{krate}/{dir}")));
        }
    }
    for file in files {
        for (n, line) in read(&file).lines().enumerate() {
            if line.contains(attribute) || (line.contains(cfg_attr) && line.contains(word)) {
                found.push(format!("  {file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a test that needs something (root, a tool, the shared captures) fails without it, \
         and a helper process is a helper program (examples/, see tests/it/util.rs \
         `helper_program`), never an ignored test:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_stray_files_are_tracked() {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("the tidy test runs git ls-files (needs git): {e}"));
    assert!(
        out.status.success(),
        "git ls-files failed in {} (the tidy test needs a git checkout): {}",
        root().display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).expect("UTF-8 file names");
    let mut stray = Vec::new();
    for path in listing.split('\0').filter(|p| !p.is_empty()) {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with('-') {
            stray.push(format!(
                "  {path}: a name starting with '-' (a mistyped option?)"
            ));
        } else if let Some(suffix) = STRAY_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
            stray.push(format!("  {path}: a leftover ({suffix})"));
        } else if !path.contains('/') && !TOP_LEVEL_FILES.contains(&path) {
            stray.push(format!(
                "  {path}: not a top-level file of the project (TOP_LEVEL_FILES in tests/it/tidy.rs)"
            ));
        }
    }
    assert!(
        stray.is_empty(),
        "stray files are tracked; `git rm` them (or, for a new top-level file, add it to \
         TOP_LEVEL_FILES):\n{}",
        stray.join("\n")
    );
}

#[test]
fn the_binary_only_parses_and_dispatches() {
    let lines = read("src/main.rs").lines().count();
    assert!(
        lines < 300,
        "src/main.rs has {lines} lines: the binary parses, dispatches and maps errors to the \
         exit code; a command's work belongs in its leakypick-app folder"
    );
    let mut found = Vec::new();
    for file in rs_files_under("src/cli") {
        let text = read(&file);
        for (n, line) in production_lines(&text) {
            if ["std::fs", "fs::", "File::"]
                .iter()
                .any(|p| contains_word(line, p))
            {
                found.push(format!("  {file}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "src/cli/ holds clap definitions only (the low phase); files are read and written \
         by the application's commands:\n{}",
        found.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Reading the tree.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file by its repository path.
fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// The workspace's crates (`crates/NAME`), as repository paths.
fn crate_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("crates"))
        .expect("crates/")
        .map(|e| e.expect("crates/ entry"))
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| format!("crates/{}", e.file_name().to_string_lossy()))
        .collect();
    dirs.sort();
    dirs
}

/// Repository paths of the files under `dir` (recursively) whose names end with one of
/// `suffixes`, sorted; none when `dir` does not exist. Hidden folders, `target` and
/// Python caches are skipped.
fn files_under(dir: &str, suffixes: &[&str]) -> Vec<String> {
    fn walk(root: &Path, rel: &str, suffixes: &[&str], out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{rel}/{name}");
            if entry.file_type().expect("file type").is_dir() {
                if !name.starts_with('.') && name != "target" && name != "__pycache__" {
                    walk(root, &path, suffixes, out);
                }
            } else if suffixes.iter().any(|s| name.ends_with(s)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), dir, suffixes, &mut out);
    out.sort();
    out
}

fn rs_files_under(dir: &str) -> Vec<String> {
    files_under(dir, &[".rs"])
}

/// Every file the code map must name (see the module documentation).
fn source_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples", "benches"] {
        files.extend(rs_files_under(dir));
    }
    for krate in crate_dirs() {
        for dir in ["src", "tests", "examples", "benches"] {
            files.extend(rs_files_under(&format!("{krate}/{dir}")));
        }
        if root().join(&krate).join("build.rs").is_file() {
            files.push(format!("{krate}/build.rs"));
        }
    }
    for dir in ["testbed", "scripts"] {
        files.extend(files_under(dir, &[".py", ".sh"]));
    }
    files
}

/// How the code map names a file, given its path relative to its section's folder (or
/// its repository path): `mod.rs` by its folder.
fn map_name(rel: &str) -> String {
    match rel.strip_suffix("mod.rs") {
        Some(folder) if folder.is_empty() || folder.ends_with('/') => folder.to_string(),
        _ => rel.to_string(),
    }
}

/// A separate test module (`tests.rs`) that its parent declares `#[cfg(test)] mod tests;`.
fn is_test_file(file: &str) -> bool {
    let Some(folder) = file.strip_suffix("/tests.rs") else {
        return false;
    };
    let parents = [format!("{folder}/mod.rs"), format!("{folder}.rs")];
    parents
        .iter()
        .any(|p| root().join(p).is_file() && read(p).contains("#[cfg(test)]\nmod tests;"))
}

/// The lines (numbered from 1) of a Rust file that are built outside tests: without its
/// `#[cfg(test)]` modules and its comment lines.
fn production_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == "#[cfg(test)]" {
            // Skip further attributes, then a module: inline up to its closing brace at
            // column 0, or a declaration (its file is checked by `is_test_file`).
            let mut j = i + 1;
            while j < lines.len() && lines[j].starts_with("#[") {
                j += 1;
            }
            if j < lines.len() && lines[j].starts_with("mod ") {
                if lines[j].ends_with('{') {
                    while j < lines.len() && lines[j] != "}" {
                        j += 1;
                    }
                }
                i = j + 1;
                continue;
            }
        }
        let line = lines[i];
        if !line.trim_start().starts_with("//") {
            out.push((i + 1, line));
        }
        i += 1;
    }
    out
}

/// Whether `pattern` occurs in `line` not as the tail of a longer identifier.
fn contains_word(line: &str, pattern: &str) -> bool {
    line.match_indices(pattern).any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The names of a manifest's dependencies (`[dependencies]`, `[build-dependencies]` and
/// their `[target.*]` forms; not `[dev-dependencies]`).
fn dependencies(manifest: &str) -> Vec<&str> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            let table = line.trim_matches(|c| c == '[' || c == ']');
            in_deps = table.ends_with("dependencies") && !table.ends_with("dev-dependencies");
        } else if in_deps && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                deps.push(name.trim());
            }
        }
    }
    deps
}

/// One `###` section of the code map: the folder it maps and what it names.
struct Section {
    heading: String,
    /// A repository path ending with `/`, or empty for a section without a folder.
    folder: String,
    names: Vec<String>,
}

/// `ARCHITECTURE.md`: its code map, and every path-like token with where it stands.
struct CodeMap {
    sections: Vec<Section>,
    /// (the section's folder or "", the token, the line number) of every path anywhere
    /// in the document.
    paths: Vec<(String, String, usize)>,
}

impl CodeMap {
    fn read() -> CodeMap {
        let text = read("ARCHITECTURE.md");
        let mut sections: Vec<Section> = Vec::new();
        let mut paths = Vec::new();
        let mut in_map = false;
        let mut in_fence = false;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            if in_fence {
                continue;
            }
            if let Some(title) = line.strip_prefix("## ") {
                in_map = title.trim() == "Code map";
                if in_map {
                    sections.push(Section {
                        heading: "Code map".into(),
                        folder: String::new(),
                        names: Vec::new(),
                    });
                }
                continue;
            }
            let tokens = backticked(line);
            if in_map {
                if let Some(heading) = line.strip_prefix("### ") {
                    let folder = tokens
                        .iter()
                        .find(|t| t.ends_with('/') && is_path(t))
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    sections.push(Section {
                        heading: heading.trim().to_string(),
                        folder,
                        names: Vec::new(),
                    });
                    for t in tokens.iter().filter(|t| is_path(t)) {
                        paths.push((String::new(), t.to_string(), n + 1));
                    }
                    continue;
                }
            }
            let section = sections.last_mut().filter(|_| in_map);
            let folder = section
                .as_ref()
                .map(|s| s.folder.clone())
                .unwrap_or_default();
            for t in tokens.iter().filter(|t| is_path(t)) {
                paths.push((folder.clone(), t.to_string(), n + 1));
            }
            if let Some(section) = section {
                section.names.extend(tokens.iter().map(|t| t.to_string()));
            }
        }
        assert!(
            !sections.is_empty(),
            "ARCHITECTURE.md has no \"## Code map\" section"
        );
        CodeMap { sections, paths }
    }

    /// The section whose folder is the longest prefix of `file`.
    fn section_of(&self, file: &str) -> Option<&Section> {
        self.sections
            .iter()
            .filter(|s| !s.folder.is_empty() && file.starts_with(&s.folder))
            .max_by_key(|s| s.folder.len())
    }

    fn all_names(&self) -> impl Iterator<Item = &String> {
        self.sections.iter().flat_map(|s| s.names.iter())
    }

    fn paths(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.paths
            .iter()
            .map(|(f, t, n)| (f.as_str(), t.as_str(), *n))
    }
}

/// The texts between backticks on one line.
fn backticked(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Whether a backticked token is a path of the repository: only path characters, not
/// absolute nor above the checkout, and either with a `/` or a source file's name.
fn is_path(token: &str) -> bool {
    let path_chars = token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    let source_name = [".rs", ".py", ".sh"].iter().any(|s| token.ends_with(s));
    path_chars
        && !token.is_empty()
        && !token.starts_with('/')
        && !token.starts_with("../")
        && (token.contains('/') || source_name)
}
