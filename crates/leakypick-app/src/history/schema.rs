//! The schema of the history database as a list of migrations.
//!
//! `PRAGMA user_version` holds how many steps of [`MIGRATIONS`] were applied. Opening a
//! database applies the missing steps in order, each in its own transaction, so a crash
//! between steps leaves a valid, older database. Never edit a released step: append a
//! new one.
//!
//! All times are integer nanoseconds since the Unix epoch (the core's `Timestamp`);
//! `traffic_minute.minute` is the start of the minute in the same unit. MACs are text
//! in the `aa:bb:cc:dd:ee:ff` form. Metadata only: no payload bytes are ever stored.

/// Migration steps; step `i` takes the database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // Version 1: devices, their IPs, per-minute traffic, detections, idle baselines.
    "
    CREATE TABLE devices (
        mac        TEXT PRIMARY KEY NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        vendor     TEXT,
        user_name  TEXT,
        hostnames  TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE device_ips (
        mac        TEXT NOT NULL REFERENCES devices(mac) ON DELETE CASCADE,
        ip         TEXT NOT NULL,
        last_seen  INTEGER NOT NULL,
        PRIMARY KEY (mac, ip)
    ) WITHOUT ROWID;
    CREATE TABLE traffic_minute (
        mac          TEXT NOT NULL,
        minute       INTEGER NOT NULL,
        tx_packets   INTEGER NOT NULL DEFAULT 0,
        tx_bytes     INTEGER NOT NULL DEFAULT 0,
        upload_bytes INTEGER NOT NULL DEFAULT 0,
        rx_packets   INTEGER NOT NULL DEFAULT 0,
        rx_bytes     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (mac, minute)
    ) WITHOUT ROWID;
    CREATE INDEX traffic_minute_by_minute ON traffic_minute (minute);
    CREATE TABLE detections (
        id            INTEGER PRIMARY KEY,
        mac           TEXT NOT NULL,
        start         INTEGER NOT NULL,
        end           INTEGER NOT NULL,
        rule          TEXT NOT NULL,
        params        TEXT NOT NULL DEFAULT '{}',
        bytes         INTEGER NOT NULL,
        peak_bps      REAL NOT NULL,
        threshold_bps REAL NOT NULL,
        created       INTEGER NOT NULL
    );
    CREATE INDEX detections_by_start ON detections (start);
    CREATE INDEX detections_by_end ON detections (end);
    CREATE TABLE baselines (
        mac     TEXT PRIMARY KEY NOT NULL,
        state   TEXT NOT NULL,
        updated INTEGER NOT NULL
    );
    ",
    // Version 2: active probing sessions and their per-device verdicts.
    "
    CREATE TABLE probe_sessions (
        id       INTEGER PRIMARY KEY,
        start    INTEGER NOT NULL,
        end      INTEGER NOT NULL,
        summary  TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE probe_verdicts (
        session  INTEGER NOT NULL REFERENCES probe_sessions(id) ON DELETE CASCADE,
        device   TEXT NOT NULL,
        probe    TEXT NOT NULL,
        reacted  INTEGER NOT NULL,
        verdict  TEXT NOT NULL,
        PRIMARY KEY (session, device, probe)
    ) WITHOUT ROWID;
    ",
];

/// The schema version this build writes: the number of migration steps.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
