//! The history store: an SQLite database (`leakypick.sqlite3`) under a data directory.
//!
//! It keeps what a long-running monitor learns, so that it survives restarts and can be
//! read by other commands while the monitor runs: devices (first/last seen, IPs, vendor,
//! hostnames, user-given name), per-device traffic per minute, detections, and each
//! device's learned idle baseline. Metadata only: payload bytes are never stored.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a committed transaction
//! survives a crash of the process (kill -9); a power loss can lose the last few
//! commits but never corrupts the file. Readers do not block the writer and wait up to
//! [`BUSY_TIMEOUT`] for a lock. A monitor groups its writes in one
//! [`Store::transaction`] every few seconds; [`Store::close`] checkpoints the WAL.
//!
//! The schema lives in [`schema`] as numbered migrations (`PRAGMA user_version`).
//! Times are the core's [`Timestamp`] (nanoseconds since the epoch) throughout.

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
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde_json::Value;

pub use error::StoreError;

/// The database's file name inside the data directory.
pub const FILE_NAME: &str = "leakypick.sqlite3";

/// How long a reader or writer waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const NANOS_PER_MINUTE: i64 = 60 * Timestamp::NANOS_PER_SEC;

/// One device as the store knows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceRecord {
    pub mac: Mac,
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

/// A stored per-minute traffic row.
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
    pub mac: Mac,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The rule that fired, e.g. `burst`.
    pub rule: String,
    /// The rule's parameters (a JSON object).
    pub params: Value,
    pub bytes: u64,
    pub peak_bps: f64,
    pub threshold_bps: f64,
    /// When the detection was recorded.
    pub created: Timestamp,
}

/// A device's learned idle baseline, serialized by its owner (opaque text, e.g. JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineRecord {
    pub mac: Mac,
    pub state: String,
    pub updated: Timestamp,
}

/// How many rows [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneCounts {
    pub traffic_minutes: usize,
    pub detections: usize,
}

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
}

/// The writes of one transaction; see [`Store::transaction`].
pub struct Batch<'a> {
    conn: &'a Connection,
    path: &'a Path,
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

impl Store {
    /// Opens (creating if needed) `DATA_DIR/leakypick.sqlite3` and brings its schema up to
    /// date. A database from a newer leakypick is refused without being changed.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        if let Err(io) = std::fs::create_dir_all(data_dir) {
            let hint = match io.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    "permission denied: choose a writable --data-dir or fix its permissions"
                }
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                    "a file is in the way: choose another --data-dir"
                }
                _ => "choose another --data-dir",
            };
            return Err(StoreError::CreateDir {
                path: data_dir.to_path_buf(),
                io,
                hint,
            });
        }
        let path = data_dir.join(FILE_NAME);
        let mut conn = Connection::open(&path).map_err(|e| open_err(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(&path, e))?;
        // Read the version before anything writes: a newer or foreign file stays as it is.
        let found = user_version(&conn).map_err(|e| open_err(&path, e))?;
        let supported = schema::current_version();
        if found > supported {
            return Err(StoreError::TooNew {
                path,
                found,
                supported,
            });
        }
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
        Ok(Store { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
        mac: Mac,
        minute: Timestamp,
        c: &TrafficCounters,
    ) -> Result<(), StoreError> {
        self.transaction(|b| b.add_traffic(mac, minute, c))
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
    /// MAC: naming only known devices keeps a mistyped MAC from creating a phantom device.
    pub fn set_name(&mut self, mac: Mac, name: Option<&str>) -> Result<bool, StoreError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let n = self
            .conn
            .execute(
                "UPDATE devices SET user_name = ?2 WHERE mac = ?1",
                params![mac.to_string(), name],
            )
            .map_err(sql_err(&self.path))?;
        Ok(n > 0)
    }

    /// All devices, ordered by MAC.
    pub fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let e = sql_err(&self.path);
        let mut ips: HashMap<String, Vec<IpAddr>> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT mac, ip FROM device_ips ORDER BY mac, ip")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(&e)?;
        for row in rows {
            let (mac, ip) = row.map_err(&e)?;
            let ip: IpAddr = ip.parse().map_err(|_| self.bad("device_ips.ip", &ip))?;
            ips.entry(mac).or_default().push(ip);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT mac, first_seen, last_seen, vendor, user_name, hostnames \
                 FROM devices ORDER BY mac",
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
            let (mac_s, first, last, vendor, user_name, hostnames) = row.map_err(&e)?;
            let mac = self.parse_mac(&mac_s)?;
            let mut ips = ips.remove(&mac_s).unwrap_or_default();
            ips.sort();
            out.push(DeviceRecord {
                mac,
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
    pub fn device(&self, mac: Mac) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.devices()?.into_iter().find(|d| d.mac == mac))
    }

    /// Detections that ended at or after `since` (all of them for `None`), oldest first.
    pub fn detections(&self, since: Option<Timestamp>) -> Result<Vec<DetectionRecord>, StoreError> {
        let e = sql_err(&self.path);
        let since = since.map_or(i64::MIN, |t| t.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, mac, start, end, rule, params, bytes, peak_bps, threshold_bps, \
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
            let (id, mac, start, end, rule, params, bytes, peak, threshold, created) =
                row.map_err(&e)?;
            let params: Value = serde_json::from_str(&params)
                .map_err(|_| self.bad("detections.params", &params))?;
            out.push(DetectionRecord {
                id: Some(id),
                mac: self.parse_mac(&mac)?,
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

    /// A device's per-minute traffic in `[from, to)`, oldest first.
    pub fn traffic(
        &self,
        mac: Mac,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrafficMinute>, StoreError> {
        let e = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT minute, tx_packets, tx_bytes, upload_bytes, rx_packets, rx_bytes \
                 FROM traffic_minute WHERE mac = ?1 AND minute >= ?2 AND minute < ?3 \
                 ORDER BY minute",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map(params![mac.to_string(), from.0, to.0], |r| {
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
    pub fn load_baseline(&self, mac: Mac) -> Result<Option<BaselineRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT state, updated FROM baselines WHERE mac = ?1",
                [mac.to_string()],
                |r| {
                    Ok(BaselineRecord {
                        mac,
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

    /// Every saved baseline, ordered by MAC. A row whose MAC is not valid is an error
    /// naming the value (the file was edited by hand or damaged).
    pub fn baselines(&self) -> Result<Vec<BaselineRecord>, StoreError> {
        let e = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT mac, state, updated FROM baselines ORDER BY mac")
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(&e)?;
        let mut out = Vec::new();
        for row in rows {
            let (mac, state, updated) = row.map_err(&e)?;
            out.push(BaselineRecord {
                mac: self.parse_mac(&mac)?,
                state,
                updated: Timestamp(updated),
            });
        }
        Ok(out)
    }

    /// Retention: deletes traffic minutes that started before `older_than` and detections
    /// that ended before it, in one transaction. Devices, names and baselines are kept.
    pub fn prune(&mut self, older_than: Timestamp) -> Result<PruneCounts, StoreError> {
        self.transaction(|b| {
            let e = sql_err(b.path);
            let traffic_minutes = b
                .conn
                .execute(
                    "DELETE FROM traffic_minute WHERE minute < ?1",
                    [older_than.0],
                )
                .map_err(&e)?;
            let detections = b
                .conn
                .execute("DELETE FROM detections WHERE end < ?1", [older_than.0])
                .map_err(&e)?;
            Ok(PruneCounts {
                traffic_minutes,
                detections,
            })
        })
    }

    /// Checkpoints the WAL into the main file and closes the database. Dropping a
    /// `Store` without calling this is safe too: nothing committed is lost.
    pub fn close(self) -> Result<(), StoreError> {
        let Store { conn, path } = self;
        conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(sql_err(&path))?;
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

    fn parse_mac(&self, s: &str) -> Result<Mac, StoreError> {
        s.parse().map_err(|_| self.bad("mac", s))
    }

    fn parse_hostnames(&self, s: &str) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(s).map_err(|_| self.bad("devices.hostnames", s))
    }
}

impl Batch<'_> {
    /// Inserts a device or merges it into the stored one: first seen is the earlier,
    /// last seen the later; vendor and user name are replaced only by `Some` values (an
    /// absent name never erases one a user gave); hostnames and IPs are added to the
    /// stored ones.
    pub fn upsert_device(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let e = sql_err(self.path);
        let mac = d.mac.to_string();
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT hostnames FROM devices WHERE mac = ?1",
                [&mac],
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
            .execute(
                "INSERT INTO devices (mac, first_seen, last_seen, vendor, user_name, hostnames) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (mac) DO UPDATE SET \
                   first_seen = min(first_seen, excluded.first_seen), \
                   last_seen = max(last_seen, excluded.last_seen), \
                   vendor = coalesce(excluded.vendor, vendor), \
                   user_name = coalesce(excluded.user_name, user_name), \
                   hostnames = excluded.hostnames",
                params![
                    mac,
                    d.first_seen.0,
                    d.last_seen.0,
                    d.vendor,
                    d.user_name,
                    hostnames
                ],
            )
            .map_err(&e)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO device_ips (mac, ip, last_seen) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (mac, ip) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
            )
            .map_err(&e)?;
        for ip in &d.ips {
            stmt.execute(params![mac, ip.to_string(), d.last_seen.0])
                .map_err(&e)?;
        }
        Ok(())
    }

    /// Adds `c` to the device's counters of the minute containing `minute`.
    pub fn add_traffic(
        &self,
        mac: Mac,
        minute: Timestamp,
        c: &TrafficCounters,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO traffic_minute \
                 (mac, minute, tx_packets, tx_bytes, upload_bytes, rx_packets, rx_bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (mac, minute) DO UPDATE SET \
                   tx_packets = tx_packets + excluded.tx_packets, \
                   tx_bytes = tx_bytes + excluded.tx_bytes, \
                   upload_bytes = upload_bytes + excluded.upload_bytes, \
                   rx_packets = rx_packets + excluded.rx_packets, \
                   rx_bytes = rx_bytes + excluded.rx_bytes",
            )
            .and_then(|mut s| {
                s.execute(params![
                    mac.to_string(),
                    minute_start(minute).0,
                    to_i64(c.tx_packets),
                    to_i64(c.tx_bytes),
                    to_i64(c.upload_bytes),
                    to_i64(c.rx_packets),
                    to_i64(c.rx_bytes),
                ])
            })
            .map_err(sql_err(self.path))?;
        Ok(())
    }

    /// Stores a detection and returns its id (the record's own `id` is ignored).
    pub fn add_detection(&self, d: &DetectionRecord) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO detections \
                 (mac, start, end, rule, params, bytes, peak_bps, threshold_bps, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    d.mac.to_string(),
                    d.start.0,
                    d.end.0,
                    d.rule,
                    d.params.to_string(),
                    to_i64(d.bytes),
                    d.peak_bps,
                    d.threshold_bps,
                    d.created.0
                ],
            )
            .map_err(sql_err(self.path))?;
        Ok(self.conn.last_insert_rowid())
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
                "UPDATE detections SET end = ?2, bytes = ?3, peak_bps = ?4 WHERE id = ?1",
                params![id, end.0, to_i64(bytes), peak_bps],
            )
            .map_err(sql_err(self.path))?;
        Ok(n > 0)
    }

    /// Saves (replacing) a device's baseline.
    pub fn save_baseline(&self, b: &BaselineRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO baselines (mac, state, updated) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (mac) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                params![b.mac.to_string(), b.state, b.updated.0],
            )
            .map_err(sql_err(self.path))?;
        Ok(())
    }
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
