//! The history store: an SQLite database (`leakypick.sqlite3`) under a data directory.
//!
//! It keeps what a long-running monitor learns, so that it survives restarts and can be
//! read by other commands while the monitor runs: devices (first/last seen, IPs, vendor,
//! hostnames, user-given name), per-device traffic per minute, detections, and each
//! device's learned idle baseline. Metadata only: payload bytes are never stored.
//! Devices are keyed by [`DeviceKey`]: the MAC address, or the IP address for devices
//! seen only in captures without MAC addresses, as `analyze` keys them.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a committed transaction
//! survives a crash of the process (kill -9); a power loss can lose the last few
//! commits but never corrupts the file. Readers do not block the writer and wait up to
//! [`BUSY_TIMEOUT`] for a lock. A monitor groups its writes in one
//! [`Store::transaction`] every few seconds; [`Store::close`] checkpoints the WAL.
//!
//! Three ways to open it ([`OpenMode`]): the monitor creates it ([`Store::open`]);
//! `name` opens an existing one ([`Store::open_existing`]); `devices`, `events` and
//! `report` open it read-only ([`Store::open_read_only`]): no migration, no pragma that
//! writes, also as another user on a file they can only read. None of them touches a
//! file that is not a leakypick history, or one from a newer leakypick.
//!
//! Writing the same data twice (replaying a capture again) changes nothing: a detection
//! is one row per device, start and rule, and per-minute traffic is kept per source (a
//! live run, or one recording) with a replay's counts replacing its own earlier ones.
//! Retention goes by when rows were written (wall clock), never by packet time, so old
//! recordings replayed into a history stay, in whatever order they come.
//!
//! The schema lives in [`schema`] as numbered migrations (`PRAGMA user_version`).
//! Times are the core's [`Timestamp`] (nanoseconds since the epoch) throughout.

mod campaigns;
pub mod command;
mod error;
pub mod render;
pub mod schema;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leakypick_core::net::Mac;
use leakypick_core::time::Timestamp;
use leakypick_core::DeviceKey;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::Value;

pub use campaigns::{AttemptRow, CampaignRow};
pub use error::StoreError;

/// The database's file name inside the data directory.
pub const FILE_NAME: &str = "leakypick.sqlite3";

/// How long a reader or writer waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const NANOS_PER_MINUTE: i64 = 60 * Timestamp::NANOS_PER_SEC;

/// The source id of traffic added with [`Batch::add_traffic`] (and of rows from before
/// schema 3): counts that add up.
pub const ADDED_SOURCE: i64 = 0;

/// One device as the store knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    /// The MAC address, or the IP address for a device seen without one.
    pub device: DeviceKey,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Vendor from the OUI table, if known.
    pub vendor: Option<String>,
    /// The name a user gave the device (`leakypick name`).
    pub user_name: Option<String>,
    /// Hostnames the device announced (DHCP, mDNS), oldest first, without repeats.
    pub hostnames: Vec<String>,
    /// Addresses the device used, sorted.
    pub ips: Vec<IpAddr>,
}

impl Default for DeviceRecord {
    fn default() -> Self {
        DeviceRecord {
            device: DeviceKey::Mac(Mac::default()),
            first_seen: Timestamp::default(),
            last_seen: Timestamp::default(),
            vendor: None,
            user_name: None,
            hostnames: Vec::new(),
            ips: Vec::new(),
        }
    }
}

/// Traffic counters of one device in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrafficCounters {
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Bytes the device sent to the cloud (the detector's input).
    pub upload_bytes: u64,
    pub rx_packets: u64,
    pub rx_bytes: u64,
}

/// A stored per-minute traffic row (the sum over the sources that saw the minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficMinute {
    /// Start of the minute.
    pub minute: Timestamp,
    pub counters: TrafficCounters,
}

/// One detection (an upload burst a rule flagged).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionRecord {
    /// Row id; `None` before the record is stored (ignored by [`Batch::add_detection`]).
    pub id: Option<i64>,
    /// The MAC address, or the IP address for a device seen without one.
    pub device: DeviceKey,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The rule that fired, e.g. `burst`.
    pub rule: String,
    /// The rule's parameters (a JSON object).
    pub params: Value,
    pub bytes: u64,
    pub peak_bps: f64,
    pub threshold_bps: f64,
    /// When the detection was recorded (packet time of its confirmation).
    pub created: Timestamp,
}

/// A device's learned idle baseline, serialized by its owner (opaque text, e.g. JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineRecord {
    pub device: DeviceKey,
    pub state: String,
    pub updated: Timestamp,
}

/// How many rows [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneCounts {
    pub traffic_minutes: usize,
    pub detections: usize,
}

/// How [`Store::open_with`] opens the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the data directory and the database if needed, migrate (the monitor).
    Create,
    /// Open an existing history for writing and migrate it; never create one.
    Existing,
    /// Read only: never create, migrate or write anything.
    ReadOnly,
}

/// The wall clock as a [`Timestamp`] (what `written` columns hold).
pub use crate::process::wall_clock;

/// The default data directory: `$LEAKYPICK_DATA_DIR`, else `$XDG_DATA_HOME/leakypick`,
/// else `~/.local/share/leakypick`; `None` when none of these is set (no `HOME`).
/// Empty or relative `XDG_DATA_HOME` values are ignored, as the XDG spec says.
pub fn default_data_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("LEAKYPICK_DATA_DIR") {
        return Some(d);
    }
    if let Some(x) = var("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Some(x.join("leakypick"));
    }
    var("HOME").map(|h| h.join(".local/share/leakypick"))
}

/// The start of the minute that contains `t`.
pub fn minute_start(t: Timestamp) -> Timestamp {
    Timestamp(t.0.div_euclid(NANOS_PER_MINUTE) * NANOS_PER_MINUTE)
}

/// An open history database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

/// The writes of one transaction; see [`Store::transaction`].
pub struct Batch<'a> {
    conn: &'a Connection,
    path: &'a Path,
    /// The wall clock when the transaction began: the `written` time of its rows.
    now: Timestamp,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |error| StoreError::Sqlite {
        path: path.to_path_buf(),
        error,
    }
}

/// Turns an error met while opening into a message that says what to do.
fn open_err(path: &Path, e: rusqlite::Error) -> StoreError {
    let advice = match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            "the file is not an SQLite database (not written by leakypick?); move it away or \
             choose another --data-dir; the file was not changed"
        }
        Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => {
            "check that the file and its directory exist and are readable and writable by \
             this user, or choose another --data-dir"
        }
        Some(ErrorCode::ReadOnly) => {
            "the file or its directory is read-only (permission denied); make it writable or \
             choose another --data-dir"
        }
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            "another process holds a lock on it for too long; try again"
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            "the file is damaged; move it away (leakypick starts a new history) or choose \
             another --data-dir"
        }
        _ => "choose another --data-dir if the problem persists",
    };
    StoreError::Open {
        path: path.to_path_buf(),
        message: format!("{e}; {advice}"),
    }
}

/// A read-only open failed in a way a read-only connection can meet (no permission to
/// create or write the WAL index): [`open_reader`] then falls back to `immutable`.
fn read_only_open_err(path: &Path, e: rusqlite::Error) -> StoreError {
    let advice = match e.sqlite_error_code() {
        Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied)
        | Some(ErrorCode::ReadOnly) => {
            "this user cannot read the file (or its -wal and -shm files beside it): run the \
             command as the user the monitor runs as, or give this user read access"
        }
        _ => return open_err(path, e),
    };
    StoreError::Open {
        path: path.to_path_buf(),
        message: format!("{e}; {advice}"),
    }
}

/// A path as an SQLite URI (`file:` + percent-encoded path), to add URI parameters.
fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// What a database holds before leakypick touches it.
struct Found {
    version: i64,
    tables: Vec<String>,
}

/// Reads the schema version and the tables, writing nothing.
fn inspect(conn: &Connection) -> rusqlite::Result<Found> {
    let version = user_version(conn)?;
    let mut stmt =
        conn.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name")?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Found { version, tables })
}

/// Refuses a database that is not (yet) a leakypick history, or is from a newer one.
/// An empty database (no tables, version 0) is `Ok`: a writer makes it a history.
fn check_found(path: &Path, found: &Found) -> Result<(), StoreError> {
    let supported = schema::current_version();
    if found.version > supported {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: found.version,
            supported,
        });
    }
    let ours = schema::TABLES
        .iter()
        .all(|t| found.tables.iter().any(|f| f == t));
    let empty = found.version == 0 && found.tables.is_empty();
    if !empty && (found.version == 0 || !ours) {
        let mut tables = found.tables.clone();
        let more = tables.len().saturating_sub(5);
        tables.truncate(5);
        let mut list = if tables.is_empty() {
            "no tables".to_string()
        } else {
            format!("the tables {}", tables.join(", "))
        };
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            tables: format!("{list}, user_version {}", found.version),
        });
    }
    Ok(())
}

/// Checks that `data_dir/FILE_NAME` exists without creating anything.
fn existing_file(data_dir: &Path) -> Result<PathBuf, StoreError> {
    if !data_dir.is_dir() {
        let what = if data_dir.exists() {
            "it is not a directory"
        } else {
            "the data directory does not exist"
        };
        return Err(StoreError::Missing {
            path: data_dir.to_path_buf(),
            what,
        });
    }
    let path = data_dir.join(FILE_NAME);
    if !path.is_file() {
        return Err(StoreError::Missing {
            path,
            what: "the database file does not exist",
        });
    }
    Ok(path)
}

/// Opens `path` read-only and inspects it. A WAL database needs its -shm (WAL index):
/// when this user can neither open nor create it (the monitor's directory is not theirs
/// and no monitor has it open) and no WAL is left behind, the file is read as
/// `immutable`: everything committed is then in the file itself.
fn open_reader(path: &Path) -> Result<(Connection, Found), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let plain = Connection::open_with_flags(path, flags).and_then(|c| {
        c.busy_timeout(BUSY_TIMEOUT)?;
        let found = inspect(&c)?;
        Ok((c, found))
    });
    let first_err = match plain {
        Ok(ok) => return Ok(ok),
        Err(e) => e,
    };
    let retry = matches!(
        first_err.sqlite_error_code(),
        Some(ErrorCode::CannotOpen) | Some(ErrorCode::ReadOnly) | Some(ErrorCode::PermissionDenied)
    );
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_left = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    if !retry || wal_left {
        return Err(read_only_open_err(path, first_err));
    }
    let uri = format!("{}?immutable=1", file_uri(path));
    Connection::open_with_flags(&uri, flags)
        .and_then(|c| {
            let found = inspect(&c)?;
            Ok((c, found))
        })
        .map_err(|_| read_only_open_err(path, first_err))
}

impl Store {
    /// Opens (creating if needed) `DATA_DIR/leakypick.sqlite3` and brings its schema up to
    /// date. A database from a newer leakypick, or an SQLite database that is not a
    /// leakypick history, is refused without being changed.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(data_dir, OpenMode::Create)
    }

    /// Opens an existing history for writing (e.g. to name a device) and brings its
    /// schema up to date; a missing data directory or database is an error, and nothing
    /// is created.
    pub fn open_existing(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(data_dir, OpenMode::Existing)
    }

    /// Opens an existing history read-only (`devices`, `events`, `report`): nothing is
    /// created, migrated or written, so it works for any user who can read the file. A
    /// history of an older schema is read as it is (the monitor upgrades it).
    pub fn open_read_only(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(data_dir, OpenMode::ReadOnly)
    }

    /// Opens the history in `data_dir` as `mode` says.
    pub fn open_with(data_dir: &Path, mode: OpenMode) -> Result<Store, StoreError> {
        if mode == OpenMode::ReadOnly {
            return Store::open_reading(data_dir);
        }
        let path = match mode {
            OpenMode::Create => {
                create_data_dir(data_dir)?;
                data_dir.join(FILE_NAME)
            }
            _ => existing_file(data_dir)?,
        };
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if mode == OpenMode::Create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| open_err(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(&path, e))?;
        // Look before anything writes: a newer or foreign file stays as it is.
        let found = inspect(&conn).map_err(|e| open_err(&path, e))?;
        check_found(&path, &found)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| open_err(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open {
                path,
                message: format!(
                    "cannot switch to WAL mode (journal mode stays {mode}); the file system \
                     may not support it: choose a --data-dir on a local disk"
                ),
            });
        }
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(|e| open_err(&path, e))?;
        migrate(&mut conn, &path)?;
        Ok(Store {
            conn,
            path,
            read_only: false,
        })
    }

    fn open_reading(data_dir: &Path) -> Result<Store, StoreError> {
        let path = existing_file(data_dir)?;
        let (conn, found) = open_reader(&path)?;
        if found.version == 0 && found.tables.is_empty() {
            return Err(StoreError::Missing {
                path,
                what: "the database holds no history yet",
            });
        }
        check_found(&path, &found)?;
        if found.version < schema::current_version() {
            let Some(views) = schema::read_compat(found.version) else {
                return Err(StoreError::NeedsUpgrade {
                    path,
                    found: found.version,
                });
            };
            conn.execute_batch(&views).map_err(|e| open_err(&path, e))?;
        }
        Ok(Store {
            conn,
            path,
            read_only: true,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        user_version(&self.conn).map_err(sql_err(&self.path))
    }

    /// Runs `f` in one write transaction: everything it wrote is committed together if
    /// it returns `Ok`, and nothing if it returns `Err`. A monitor flushes its buffered
    /// counters and detections this way every few seconds.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Batch<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(&self.path))?;
        let out = f(&Batch {
            conn: &tx,
            path: &self.path,
            now: wall_clock(),
        })?;
        tx.commit().map_err(sql_err(&self.path))?;
        Ok(out)
    }

    /// [`Batch::upsert_device`] in its own transaction.
    pub fn upsert_device(&mut self, d: &DeviceRecord) -> Result<(), StoreError> {
        self.transaction(|b| b.upsert_device(d))
    }

    /// [`Batch::add_traffic`] in its own transaction.
    pub fn add_traffic(
        &mut self,
        device: impl Into<DeviceKey>,
        minute: Timestamp,
        c: &TrafficCounters,
    ) -> Result<(), StoreError> {
        let device = device.into();
        self.transaction(|b| b.add_traffic(device, minute, c))
    }

    /// [`Batch::add_detection`] in its own transaction.
    pub fn add_detection(&mut self, d: &DetectionRecord) -> Result<i64, StoreError> {
        self.transaction(|b| b.add_detection(d))
    }

    /// [`Batch::save_baseline`] in its own transaction.
    pub fn save_baseline(&mut self, b: &BaselineRecord) -> Result<(), StoreError> {
        self.transaction(|t| t.save_baseline(b))
    }

    /// Sets (`Some`) or clears (`None`, or an empty/blank name) the user-given name of a
    /// device. Returns `false`, and changes nothing, when the store has never seen the
    /// device: naming only known devices keeps a mistyped MAC from creating a phantom.
    pub fn set_name(
        &mut self,
        device: impl Into<DeviceKey>,
        name: Option<&str>,
    ) -> Result<bool, StoreError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let n = self
            .conn
            .execute(
                "UPDATE devices SET user_name = ?2 WHERE device = ?1",
                params![device.into().to_string(), name],
            )
            .map_err(sql_err(&self.path))?;
        Ok(n > 0)
    }

    /// All devices, ordered by their id (MACs and IPs by their text).
    pub fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let e = sql_err(&self.path);
        let mut ips: HashMap<String, Vec<IpAddr>> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT device, ip FROM device_ips ORDER BY device, ip")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(&e)?;
        for row in rows {
            let (device, ip) = row.map_err(&e)?;
            let ip: IpAddr = ip.parse().map_err(|_| self.bad("device_ips.ip", &ip))?;
            ips.entry(device).or_default().push(ip);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT device, first_seen, last_seen, vendor, user_name, hostnames \
                 FROM devices ORDER BY device",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (key, first, last, vendor, user_name, hostnames) = row.map_err(&e)?;
            let device = self.parse_key(&key)?;
            let mut ips = ips.remove(&key).unwrap_or_default();
            ips.sort();
            out.push(DeviceRecord {
                device,
                first_seen: Timestamp(first),
                last_seen: Timestamp(last),
                vendor,
                user_name,
                hostnames: self.parse_hostnames(&hostnames)?,
                ips,
            });
        }
        Ok(out)
    }

    /// One device, if known.
    pub fn device(&self, device: impl Into<DeviceKey>) -> Result<Option<DeviceRecord>, StoreError> {
        let device = device.into();
        Ok(self.devices()?.into_iter().find(|d| d.device == device))
    }

    /// Detections that ended at or after `since` (all of them for `None`), oldest first.
    pub fn detections(&self, since: Option<Timestamp>) -> Result<Vec<DetectionRecord>, StoreError> {
        let e = sql_err(&self.path);
        let since = since.map_or(i64::MIN, |t| t.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, device, start, end, rule, params, bytes, peak_bps, threshold_bps, \
                 created FROM detections WHERE end >= ?1 ORDER BY start, id",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([since], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, f64>(7)?,
                    r.get::<_, f64>(8)?,
                    r.get::<_, i64>(9)?,
                ))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, device, start, end, rule, params, bytes, peak, threshold, created) =
                row.map_err(&e)?;
            let params: Value = serde_json::from_str(&params)
                .map_err(|_| self.bad("detections.params", &params))?;
            out.push(DetectionRecord {
                id: Some(id),
                device: self.parse_key(&device)?,
                start: Timestamp(start),
                end: Timestamp(end),
                rule,
                params,
                bytes: to_u64(bytes),
                peak_bps: peak,
                threshold_bps: threshold,
                created: Timestamp(created),
            });
        }
        Ok(out)
    }

    /// A device's per-minute traffic in `[from, to)`, oldest first: per minute, the sum
    /// over the sources (live runs, replayed recordings) that counted it.
    pub fn traffic(
        &self,
        device: impl Into<DeviceKey>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrafficMinute>, StoreError> {
        let e = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT minute, sum(tx_packets), sum(tx_bytes), sum(upload_bytes), \
                 sum(rx_packets), sum(rx_bytes) \
                 FROM traffic_minute WHERE device = ?1 AND minute >= ?2 AND minute < ?3 \
                 GROUP BY minute ORDER BY minute",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map(params![device.into().to_string(), from.0, to.0], |r| {
                Ok(TrafficMinute {
                    minute: Timestamp(r.get(0)?),
                    counters: TrafficCounters {
                        tx_packets: to_u64(r.get(1)?),
                        tx_bytes: to_u64(r.get(2)?),
                        upload_bytes: to_u64(r.get(3)?),
                        rx_packets: to_u64(r.get(4)?),
                        rx_bytes: to_u64(r.get(5)?),
                    },
                })
            })
            .map_err(&e)?;
        rows.collect::<Result<_, _>>().map_err(&e)
    }

    /// A device's saved baseline, if any.
    pub fn load_baseline(
        &self,
        device: impl Into<DeviceKey>,
    ) -> Result<Option<BaselineRecord>, StoreError> {
        let device = device.into();
        self.conn
            .query_row(
                "SELECT state, updated FROM baselines WHERE device = ?1",
                [device.to_string()],
                |r| {
                    Ok(BaselineRecord {
                        device,
                        state: r.get(0)?,
                        updated: Timestamp(r.get(1)?),
                    })
                },
            )
            .optional()
            .map_err(sql_err(&self.path))
    }

    /// Stores a probing session: its summary object and one verdict object per device
    /// and probe (the JSON printed by `probe --format json`). Returns the session's id.
    pub fn add_probe_session(
        &mut self,
        start: Timestamp,
        end: Timestamp,
        summary: &Value,
        verdicts: &[(String, String, bool, Value)],
    ) -> Result<i64, StoreError> {
        self.transaction(|b| {
            let e = sql_err(b.path);
            b.conn
                .execute(
                    "INSERT INTO probe_sessions (start, end, summary) VALUES (?1, ?2, ?3)",
                    params![start.0, end.0, summary.to_string()],
                )
                .map_err(&e)?;
            let id = b.conn.last_insert_rowid();
            let mut stmt = b
                .conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO probe_verdicts (session, device, probe, reacted, verdict) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&e)?;
            for (device, probe, reacted, v) in verdicts {
                stmt.execute(params![id, device, probe, *reacted, v.to_string()])
                    .map_err(&e)?;
            }
            Ok(id)
        })
    }

    /// The latest probing session (by start): its id, summary and verdict objects.
    pub fn last_probe_session(&self) -> Result<Option<(i64, Value, Vec<Value>)>, StoreError> {
        let e = sql_err(&self.path);
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, summary FROM probe_sessions ORDER BY start DESC, id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(&e)?;
        let Some((id, summary)) = row else {
            return Ok(None);
        };
        let summary: Value = serde_json::from_str(&summary)
            .map_err(|_| self.bad("probe_sessions.summary", &summary))?;
        let mut stmt = self
            .conn
            .prepare("SELECT verdict FROM probe_verdicts WHERE session = ?1 ORDER BY device, probe")
            .map_err(&e)?;
        let rows = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(&e)?;
        let mut verdicts = Vec::new();
        for r in rows {
            let text = r.map_err(&e)?;
            verdicts.push(
                serde_json::from_str(&text)
                    .map_err(|_| self.bad("probe_verdicts.verdict", &text))?,
            );
        }
        Ok(Some((id, summary, verdicts)))
    }

    /// Every saved baseline, ordered by device. A row whose device is not a MAC or IP
    /// address is an error naming the value (the file was edited by hand or damaged).
    pub fn baselines(&self) -> Result<Vec<BaselineRecord>, StoreError> {
        let e = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT device, state, updated FROM baselines ORDER BY device")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (device, state, updated) = row.map_err(&e)?;
            out.push(BaselineRecord {
                device: self.parse_key(&device)?,
                state,
                updated: Timestamp(updated),
            });
        }
        Ok(out)
    }

    /// Retention: deletes the traffic minutes and detections last written (wall clock)
    /// before `older_than`, in one transaction, whatever their packet times: a recording
    /// replayed today is kept as long as traffic seen live today. Devices, names and
    /// baselines are kept.
    pub fn prune(&mut self, older_than: Timestamp) -> Result<PruneCounts, StoreError> {
        self.transaction(|b| {
            let e = sql_err(b.path);
            let traffic_minutes = b
                .conn
                .execute(
                    "DELETE FROM traffic_minute WHERE written < ?1",
                    [older_than.0],
                )
                .map_err(&e)?;
            let detections = b
                .conn
                .execute("DELETE FROM detections WHERE written < ?1", [older_than.0])
                .map_err(&e)?;
            Ok(PruneCounts {
                traffic_minutes,
                detections,
            })
        })
    }

    /// Checkpoints the WAL into the main file (not for a read-only store) and closes the
    /// database. Dropping a `Store` without calling this is safe too: nothing committed
    /// is lost.
    pub fn close(self) -> Result<(), StoreError> {
        let Store {
            conn,
            path,
            read_only,
        } = self;
        if !read_only {
            conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(sql_err(&path))?;
        }
        conn.close()
            .map_err(|(_, error)| StoreError::Sqlite { path, error })
    }

    fn bad(&self, what: &'static str, value: &str) -> StoreError {
        StoreError::BadValue {
            path: self.path.clone(),
            what,
            detail: format!("{value:?}"),
        }
    }

    fn parse_key(&self, s: &str) -> Result<DeviceKey, StoreError> {
        s.parse().map_err(|_| self.bad("device", s))
    }

    fn parse_hostnames(&self, s: &str) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(s).map_err(|_| self.bad("devices.hostnames", s))
    }
}

impl Batch<'_> {
    /// The wall clock when this transaction began (the `written` time of its rows).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Inserts a device or merges it into the stored one: first seen is the earlier,
    /// last seen the later; vendor and user name are replaced only by `Some` values (an
    /// absent name never erases one a user gave); hostnames and IPs are added to the
    /// stored ones.
    pub fn upsert_device(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let e = sql_err(self.path);
        let key = d.device.to_string();
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT hostnames FROM devices WHERE device = ?1",
                [&key],
                |r| r.get(0),
            )
            .optional()
            .map_err(&e)?;
        let mut hostnames: Vec<String> = match stored {
            Some(s) => serde_json::from_str(&s).map_err(|_| StoreError::BadValue {
                path: self.path.to_path_buf(),
                what: "devices.hostnames",
                detail: format!("{s:?}"),
            })?,
            None => Vec::new(),
        };
        for h in &d.hostnames {
            if !hostnames.contains(h) {
                hostnames.push(h.clone());
            }
        }
        let hostnames = Value::from(hostnames).to_string();
        self.conn
            .prepare_cached(
                "INSERT INTO devices (device, first_seen, last_seen, vendor, user_name, hostnames) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (device) DO UPDATE SET \
                   first_seen = min(first_seen, excluded.first_seen), \
                   last_seen = max(last_seen, excluded.last_seen), \
                   vendor = coalesce(excluded.vendor, vendor), \
                   user_name = coalesce(excluded.user_name, user_name), \
                   hostnames = excluded.hostnames",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key,
                    d.first_seen.0,
                    d.last_seen.0,
                    d.vendor,
                    d.user_name,
                    hostnames
                ])
            })
            .map_err(&e)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO device_ips (device, ip, last_seen) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (device, ip) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
            )
            .map_err(&e)?;
        for ip in &d.ips {
            stmt.execute(params![key, ip.to_string(), d.last_seen.0])
                .map_err(&e)?;
        }
        Ok(())
    }

    /// Adds `c` to the device's counters of the minute containing `minute` (in the
    /// [`ADDED_SOURCE`]: calling this twice counts twice).
    pub fn add_traffic(
        &self,
        device: impl Into<DeviceKey>,
        minute: Timestamp,
        c: &TrafficCounters,
    ) -> Result<(), StoreError> {
        self.write_traffic(device.into(), minute, ADDED_SOURCE, c, "+")
    }

    /// The id of a traffic source (a live run, or one recording), created on first use.
    /// `key` names it; the same key is the same source.
    pub fn source(&self, key: &str) -> Result<i64, StoreError> {
        let e = sql_err(self.path);
        self.conn
            .execute(
                "INSERT INTO sources (key, created) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, self.now.0],
            )
            .map_err(&e)?;
        self.conn
            .query_row("SELECT id FROM sources WHERE key = ?1", [key], |r| r.get(0))
            .map_err(&e)
    }

    /// Records what `source` counted of the device in the minute containing `minute`,
    /// so far: `c` is the source's running total for that minute, so writing it again
    /// (a later flush, or the same recording replayed again) changes nothing, and a
    /// total that is smaller than the stored one (a replay stopped early) never lowers
    /// it. Other sources' counts of the same minute are kept beside it.
    pub fn record_traffic(
        &self,
        device: impl Into<DeviceKey>,
        minute: Timestamp,
        source: i64,
        c: &TrafficCounters,
    ) -> Result<(), StoreError> {
        self.write_traffic(device.into(), minute, source, c, "max")
    }

    fn write_traffic(
        &self,
        device: DeviceKey,
        minute: Timestamp,
        source: i64,
        c: &TrafficCounters,
        merge: &str,
    ) -> Result<(), StoreError> {
        let set = |col: &str| {
            if merge == "+" {
                format!("{col} = {col} + excluded.{col}")
            } else {
                format!("{col} = max({col}, excluded.{col})")
            }
        };
        let sql = format!(
            "INSERT INTO traffic_minute \
             (device, minute, source, tx_packets, tx_bytes, upload_bytes, rx_packets, rx_bytes, written) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (device, minute, source) DO UPDATE SET {}, {}, {}, {}, {}, \
               written = excluded.written",
            set("tx_packets"),
            set("tx_bytes"),
            set("upload_bytes"),
            set("rx_packets"),
            set("rx_bytes"),
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.execute(params![
                    device.to_string(),
                    minute_start(minute).0,
                    source,
                    to_i64(c.tx_packets),
                    to_i64(c.tx_bytes),
                    to_i64(c.upload_bytes),
                    to_i64(c.rx_packets),
                    to_i64(c.rx_bytes),
                    self.now.0,
                ])
            })
            .map_err(sql_err(self.path))?;
        Ok(())
    }

    /// Stores a detection, or updates the one stored with the same device, start and
    /// rule (the same upload: written at its onset and again at its end, or replayed
    /// again): its end, bytes and peak become the larger of both, so a second look
    /// never shortens it. Returns the row's id (the record's own `id` is ignored).
    pub fn add_detection(&self, d: &DetectionRecord) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO detections \
                 (device, start, end, rule, params, bytes, peak_bps, threshold_bps, created, written) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (device, start, rule) DO UPDATE SET \
                   end = max(end, excluded.end), \
                   bytes = max(bytes, excluded.bytes), \
                   peak_bps = max(peak_bps, excluded.peak_bps), \
                   params = excluded.params, \
                   written = excluded.written \
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        d.device.to_string(),
                        d.start.0,
                        d.end.0,
                        d.rule,
                        d.params.to_string(),
                        to_i64(d.bytes),
                        d.peak_bps,
                        d.threshold_bps,
                        d.created.0,
                        self.now.0,
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql_err(self.path))
    }

    /// Completes a detection stored at its onset: the burst's final end, bytes and peak.
    /// Returns `false` when no detection has that id (pruned meanwhile).
    pub fn finish_detection(
        &self,
        id: i64,
        end: Timestamp,
        bytes: u64,
        peak_bps: f64,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE detections SET end = ?2, bytes = ?3, peak_bps = ?4, written = ?5 \
                 WHERE id = ?1",
                params![id, end.0, to_i64(bytes), peak_bps, self.now.0],
            )
            .map_err(sql_err(self.path))?;
        Ok(n > 0)
    }

    /// Saves (replacing) a device's baseline.
    pub fn save_baseline(&self, b: &BaselineRecord) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO baselines (device, state, updated) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (device) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            )
            .and_then(|mut s| s.execute(params![b.device.to_string(), b.state, b.updated.0]))
            .map_err(sql_err(self.path))?;
        Ok(())
    }
}

/// Creates the data directory (and its parents) if needed.
fn create_data_dir(data_dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|io| {
        let hint = match io.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "permission denied: choose a writable --data-dir or fix its permissions"
            }
            std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                "a file is in the way: choose another --data-dir"
            }
            _ => "choose another --data-dir",
        };
        StoreError::CreateDir {
            path: data_dir.to_path_buf(),
            io,
            hint,
        }
    })
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the missing migration steps, each in its own immediate transaction (so two
/// processes opening a fresh database at once do not both apply a step).
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let e = sql_err(path);
    let supported = schema::current_version();
    // Up to date (the usual case): take no write lock, so opening for reading never
    // waits for a monitor's transaction.
    if user_version(conn).map_err(|err| open_err(path, err))? == supported {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| open_err(path, err))?;
        let version = user_version(&tx).map_err(&e)?;
        if version > supported {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                supported,
            });
        }
        let Some(step) = usize::try_from(version)
            .ok()
            .and_then(|v| schema::MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        tx.execute_batch(step).map_err(&e)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(&e)?;
        tx.commit().map_err(&e)?;
    }
}
