//! Errors of the history store. Every message names the database file (or the data
//! directory) and says what the user can do about it.

use std::path::PathBuf;

/// Why the history store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created (a file in the way, permissions, ...).
    #[error("cannot create the data directory {}: {io}; {hint}", path.display())]
    CreateDir {
        path: PathBuf,
        io: std::io::Error,
        hint: &'static str,
    },
    /// The database file could not be opened or is not an SQLite database.
    #[error("cannot open the history database {}: {message}", path.display())]
    Open { path: PathBuf, message: String },
    /// The database was written by a newer leakypick; it was left untouched.
    #[error(
        "the history database {} has schema version {found}, but this leakypick knows only \
         versions up to {supported}: it was written by a newer leakypick. Upgrade leakypick \
         or choose another --data-dir; the file was not changed",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// There is no history to read (or name devices in): the data directory or the
    /// database file does not exist, or the file is empty. Nothing was created.
    #[error(
        "no leakypick history at {}: {what}; run `leakypick monitor` with this --data-dir \
         first (it creates the history), or give the --data-dir the monitor uses; nothing \
         was created",
        path.display()
    )]
    Missing { path: PathBuf, what: &'static str },
    /// The file is an SQLite database of something else; it was left untouched.
    #[error(
        "{} is an SQLite database but not a leakypick history (no leakypick schema; it \
         holds {tables}): choose another --data-dir; the file was not changed",
        path.display()
    )]
    Foreign { path: PathBuf, tables: String },
    /// A read-only command met a schema it cannot read; the monitor upgrades it.
    #[error(
        "the history database {} has schema version {found} of an older leakypick, which \
         this one cannot read without upgrading it: run `leakypick monitor` once (as the \
         user that owns the file) to upgrade it; the file was not changed",
        path.display()
    )]
    NeedsUpgrade { path: PathBuf, found: i64 },
    /// A query failed on an open database.
    #[error("history database {}: {error}", path.display())]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    /// A stored value could not be decoded (a hand-edited or damaged row).
    #[error("history database {}: bad value in {what}: {detail}", path.display())]
    BadValue {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
}
