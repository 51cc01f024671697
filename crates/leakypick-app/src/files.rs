//! Writing output files without ever leaving a half-written or destroyed file behind.
//!
//! Every command that writes a file (`simulate --out/--labels`, `evaluate --out`, the
//! probe log) goes through [`AtomicFile`]: the bytes go to a temporary file beside the
//! target, which replaces the target only when complete ([`AtomicFile::commit`]). A
//! temporary file that is not committed (an error, a panic, an early return) is
//! removed when the [`AtomicFile`] is dropped. [`check_distinct`] refuses a path given
//! for two outputs (or for an input and an output) before anything is opened.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot create {path} (is the directory writable?): {io}")]
    Create { path: PathBuf, io: io::Error },
    #[error("{path} is a directory: give a file name")]
    IsDirectory { path: PathBuf },
    #[error("writing {path}: {io}")]
    Write { path: PathBuf, io: io::Error },
    #[error("cannot move {tmp} to {path}: {io}")]
    Rename {
        tmp: PathBuf,
        path: PathBuf,
        io: io::Error,
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
        let mut name = std::ffi::OsString::from(".");
        name.push(path.file_name().unwrap_or_default());
        name.push(format!(".{}.partial", std::process::id()));
        let tmp = path.with_file_name(name);
        let file = File::create(&tmp).map_err(|io| FileError::Create {
            path: path.to_path_buf(),
            io,
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
    pub fn commit(mut self) -> Result<(), FileError> {
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(|io| FileError::Write {
                path: self.path.clone(),
                io,
            })?;
        }
        std::fs::rename(&self.tmp, &self.path).map_err(|io| FileError::Rename {
            tmp: self.tmp.clone(),
            path: self.path.clone(),
            io,
        })?;
        // Renamed: nothing left to clean up.
        self.tmp = PathBuf::new();
        Ok(())
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
    fn the_same_file_under_two_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("cap.pcap");
        let b = dir.path().join(".").join("cap.pcap");
        assert!(check_distinct(("--out", &a), ("--labels", &b)).is_err());
        std::fs::write(&a, b"x").unwrap();
        assert!(check_distinct(("--out", &a), ("--labels", &b)).is_err());
        let c = dir.path().join("cap.labels.csv");
        assert!(check_distinct(("--out", &a), ("--labels", &c)).is_ok());
    }
}
