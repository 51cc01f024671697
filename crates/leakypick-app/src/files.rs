//! Writing output files without ever leaving a half-written or destroyed file behind.
//!
//! Every command that writes a file (`simulate --out/--labels`, `evaluate --out`, the
//! probe log) goes through [`AtomicFile`]: the bytes go to a temporary file beside the
//! target, which replaces the target only when complete ([`AtomicFile::commit`]). A
//! temporary file that is not committed (an error, a panic, an early return) is
//! removed when the [`AtomicFile`] is dropped. Several files written together are
//! committed as one with [`commit_all`]: all of them, or none (the files they would
//! have replaced are put back). [`check_distinct`] refuses a path given for two outputs
//! (or for an input and an output) before anything is opened. [`StopOnSignal`] turns a
//! stop request (SIGTERM, Ctrl-C) into a write error, so that a long write ends through
//! the same path as any other failure and leaves nothing behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot create {path} (is the directory writable?): {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("{path} is a directory: give a file name")]
    IsDirectory { path: PathBuf },
    #[error("{path:?} does not name a file: give a file name")]
    NoFileName { path: PathBuf },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot move {tmp} to {path}: {source}")]
    Rename {
        tmp: PathBuf,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{first} and {second} name the same file ({path}): give two different files")]
    SamePath {
        first: &'static str,
        second: &'static str,
        path: PathBuf,
    },
}

/// A file written under a temporary name and renamed into place when complete.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Creates the temporary file beside `path`. `path` itself is not touched.
    pub fn create(path: &Path) -> Result<AtomicFile, FileError> {
        if path.is_dir() {
            return Err(FileError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        if path.file_name().is_none() {
            return Err(FileError::NoFileName {
                path: path.to_path_buf(),
            });
        }
        let mut name = std::ffi::OsString::from(".");
        name.push(path.file_name().unwrap_or_default());
        name.push(format!(".{}.partial", std::process::id()));
        let tmp = path.with_file_name(name);
        let file = File::create(&tmp).map_err(|source| FileError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// The file to write to.
    pub fn file(&self) -> &File {
        // Only `commit` takes the file, and it consumes `self`.
        self.file.as_ref().unwrap_or_else(|| unreachable!())
    }

    /// The path the file will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the data to disk and moves the file into place.
    pub fn commit(self) -> Result<(), FileError> {
        commit_all(vec![self])
    }

    /// Flushes the data to disk and closes the file.
    fn sync(&mut self) -> Result<(), FileError> {
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(|source| FileError::Write {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Moves the (synced) temporary file onto the target.
    fn rename(&mut self) -> Result<(), FileError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|source| FileError::Rename {
            tmp: self.tmp.clone(),
            path: self.path.clone(),
            source,
        })?;
        // Renamed: nothing left to clean up.
        self.tmp = PathBuf::new();
        Ok(())
    }

    /// Keeps the file about to be replaced under a second name (a hard link beside it),
    /// so that it can be put back.
    fn keep_old(&self) -> Old {
        if std::fs::symlink_metadata(&self.path).is_err() {
            return Old::None;
        }
        let mut name = std::ffi::OsString::from(".");
        name.push(self.path.file_name().unwrap_or_default());
        name.push(format!(".{}.old", std::process::id()));
        let kept = self.path.with_file_name(name);
        match std::fs::hard_link(&self.path, &kept) {
            Ok(()) => Old::Kept(kept),
            Err(_) => Old::Lost,
        }
    }
}

/// What a target held before its file was moved onto it.
enum Old {
    /// Nothing: the file is new.
    None,
    /// The old file, under a second name.
    Kept(PathBuf),
    /// An old file that could not be kept (no hard links on this file system).
    Lost,
}

/// Commits `files` together: every file is flushed to disk first (a full disk fails
/// here, before any target is touched), then each is moved into place. Should a move
/// fail, the files already moved are undone (the files they replaced are put back), so
/// either every target has its new content or every target is as it was. On any error
/// the temporary files are removed.
pub fn commit_all(mut files: Vec<AtomicFile>) -> Result<(), FileError> {
    for f in &mut files {
        f.sync()?;
    }
    let last = files.len().saturating_sub(1);
    let mut moved: Vec<(PathBuf, Old)> = Vec::new();
    for (i, f) in files.iter_mut().enumerate() {
        // The last move cannot be followed by a failure: nothing to keep for it.
        let old = if i < last { f.keep_old() } else { Old::None };
        if let Err(e) = f.rename() {
            if let Old::Kept(kept) = old {
                let _ = std::fs::remove_file(kept);
            }
            for (path, old) in moved.into_iter().rev() {
                match old {
                    Old::None => {
                        let _ = std::fs::remove_file(&path);
                    }
                    Old::Kept(kept) => {
                        let _ = std::fs::rename(&kept, &path);
                    }
                    Old::Lost => {}
                }
            }
            return Err(e);
        }
        moved.push((f.path.clone(), old));
    }
    for (_, old) in moved {
        if let Old::Kept(kept) = old {
            let _ = std::fs::remove_file(kept);
        }
    }
    Ok(())
}

/// A writer that fails once `stop` is raised, with an error saying so; until then it
/// writes through. Wrapped around the files of a long write (`simulate`), it ends the
/// write on SIGTERM or Ctrl-C through the ordinary error path, which removes the
/// temporary files.
pub struct StopOnSignal<'a, W> {
    inner: W,
    stop: &'a AtomicBool,
}

impl<'a, W: Write> StopOnSignal<'a, W> {
    pub fn new(inner: W, stop: &'a AtomicBool) -> Self {
        StopOnSignal { inner, stop }
    }

    fn check(&self) -> io::Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            // Not `Interrupted`: `write_all` would retry that.
            return Err(io::Error::other("stopped by a signal"));
        }
        Ok(())
    }
}

impl<W: Write> Write for StopOnSignal<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.inner.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Refuses two outputs (or an input and an output) that name the same file, also
/// through different spellings (`a.pcap` and `./a.pcap`, symbolic links).
pub fn check_distinct(
    first: (&'static str, &Path),
    second: (&'static str, &Path),
) -> Result<(), FileError> {
    if same_file(first.1, second.1) {
        return Err(FileError::SamePath {
            first: first.0,
            second: second.0,
            path: first.1.to_path_buf(),
        });
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    // Existing files: the same file under any name (symbolic and hard links).
    #[cfg(unix)]
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        use std::os::unix::fs::MetadataExt;
        if (x.dev(), x.ino()) == (y.dev(), y.ino()) {
            return true;
        }
    }
    // For files that do not exist yet: compare the canonical directory and the name.
    let canon = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = p.canonicalize() {
            return Some(c);
        }
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(p.file_name()?))
    };
    matches!((canon(a), canon(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn an_abandoned_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.pcap");
        std::fs::write(&target, b"old").unwrap();
        {
            let f = AtomicFile::create(&target).unwrap();
            (&mut f.file()).write_all(b"new but unfinished").unwrap();
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_committed_file_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let f = AtomicFile::create(&target).unwrap();
        (&mut f.file()).write_all(b"done").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = AtomicFile::create(dir.path()).unwrap_err();
        assert!(matches!(e, FileError::IsDirectory { .. }), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn files_committed_together_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pcap");
        let b = dir.path().join("b.csv");
        let c = dir.path().join("c.csv");
        std::fs::write(&a, b"old a").unwrap();
        let write = |path: &Path, bytes: &[u8]| {
            let f = AtomicFile::create(path).unwrap();
            (&mut f.file()).write_all(bytes).unwrap();
            f
        };
        // The third move fails (its target became a directory that is not empty): the
        // first target gets its old file back, the second (new) is removed.
        let files = vec![
            write(&a, b"new a"),
            write(&b, b"new b"),
            write(&c, b"new c"),
        ];
        std::fs::create_dir(&c).unwrap();
        std::fs::write(c.join("x"), b"x").unwrap();
        let e = commit_all(files).unwrap_err();
        assert!(matches!(e, FileError::Rename { .. }), "{e}");
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        assert!(!b.exists());
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.pcap", "c.csv"]);
        // All moves succeed: every target new, nothing else left.
        std::fs::remove_dir_all(&c).unwrap();
        commit_all(vec![write(&a, b"new a"), write(&b, b"new b")]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert_eq!(std::fs::read(&b).unwrap(), b"new b");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_stop_request_fails_the_next_write() {
        let stop = AtomicBool::new(false);
        let mut w = StopOnSignal::new(Vec::new(), &stop);
        w.write_all(b"abc").unwrap();
        stop.store(true, Ordering::Relaxed);
        let e = w.write_all(b"def").unwrap_err();
        assert!(e.to_string().contains("stopped"), "{e}");
        assert_eq!(w.inner, b"abc");
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        assert!(matches!(
            AtomicFile::create(Path::new("")),
            Err(FileError::NoFileName { .. })
        ));
    }

    #[test]
    fn the_same_file_under_two_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("cap.pcap");
        let b = dir.path().join(".").join("cap.pcap");
        assert!(check_distinct(("--out", &a), ("--labels", &b)).is_err());
        std::fs::write(&a, b"x").unwrap();
        assert!(check_distinct(("--out", &a), ("--labels", &b)).is_err());
        let c = dir.path().join("cap.labels.csv");
        assert!(check_distinct(("--out", &a), ("--labels", &c)).is_ok());
        let hard = dir.path().join("hard.pcap");
        std::fs::hard_link(&a, &hard).unwrap();
        assert!(check_distinct(("--out", &a), ("--labels", &hard)).is_err());
        let soft = dir.path().join("soft.pcap");
        std::os::unix::fs::symlink("cap.pcap", &soft).unwrap();
        assert!(check_distinct(("--out", &soft), ("--labels", &a)).is_err());
    }
}
