//! The schema of the history database as a list of migrations.
//!
//! `PRAGMA user_version` holds how many steps of [`MIGRATIONS`] were applied. Opening a
//! database applies the missing steps in order, each in its own transaction, so a crash
//! between steps leaves a valid, older database. Never edit a released step: append a
//! new one.
//!
//! All times are integer nanoseconds since the Unix epoch (the core's `Timestamp`);
//! `traffic_minute.minute` is the start of the minute in the same unit. Devices are
//! identified by their text form (the core's `DeviceKey`): the MAC address as
//! `aa:bb:cc:dd:ee:ff`, or, for devices seen only in captures without MAC addresses
//! (raw IP, loopback), the IP address (`192.168.12.112`, `fe80::1`). Packet times
//! (`start`, `end`, `minute`, `first_seen`, ...) come from the capture; `written` is
//! the wall clock when a row was last written, which retention goes by. Metadata only:
//! no payload bytes are ever stored.
//!
//! A read-only connection cannot migrate: [`read_compat`] maps an older schema onto the
//! current names with temporary views, so readers can read a history an older monitor
//! still writes.

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
    // Version 3: devices keyed by MAC or by IP (the `mac` columns become `device`);
    // one detection per (device, start, rule), so replaying a file again updates its
    // detections instead of storing them twice (duplicates stored by older versions are
    // merged: the first id is kept, with the longest end, bytes and peak); per-minute
    // traffic per source (a live run, or one recording replayed), where a replayed
    // recording replaces its own counts instead of adding to them; `written` (wall clock)
    // on traffic and detections for retention. Rows from before count as written now.
    "
    ALTER TABLE devices RENAME COLUMN mac TO device;
    ALTER TABLE device_ips RENAME COLUMN mac TO device;
    ALTER TABLE baselines RENAME COLUMN mac TO device;

    CREATE TABLE sources (
        id       INTEGER PRIMARY KEY,
        key      TEXT NOT NULL UNIQUE,
        created  INTEGER NOT NULL
    );
    INSERT INTO sources (id, key, created)
        VALUES (0, 'added', CAST(strftime('%s', 'now') AS INTEGER) * 1000000000);

    CREATE TABLE traffic_minute_v3 (
        device       TEXT NOT NULL,
        minute       INTEGER NOT NULL,
        source       INTEGER NOT NULL,
        tx_packets   INTEGER NOT NULL DEFAULT 0,
        tx_bytes     INTEGER NOT NULL DEFAULT 0,
        upload_bytes INTEGER NOT NULL DEFAULT 0,
        rx_packets   INTEGER NOT NULL DEFAULT 0,
        rx_bytes     INTEGER NOT NULL DEFAULT 0,
        written      INTEGER NOT NULL,
        PRIMARY KEY (device, minute, source)
    ) WITHOUT ROWID;
    INSERT INTO traffic_minute_v3
        SELECT mac, minute, 0, tx_packets, tx_bytes, upload_bytes, rx_packets, rx_bytes,
               CAST(strftime('%s', 'now') AS INTEGER) * 1000000000
        FROM traffic_minute;
    DROP TABLE traffic_minute;
    ALTER TABLE traffic_minute_v3 RENAME TO traffic_minute;
    CREATE INDEX traffic_minute_by_minute ON traffic_minute (minute);
    CREATE INDEX traffic_minute_by_written ON traffic_minute (written);

    CREATE TABLE detections_v3 (
        id            INTEGER PRIMARY KEY,
        device        TEXT NOT NULL,
        start         INTEGER NOT NULL,
        end           INTEGER NOT NULL,
        rule          TEXT NOT NULL,
        params        TEXT NOT NULL DEFAULT '{}',
        bytes         INTEGER NOT NULL,
        peak_bps      REAL NOT NULL,
        threshold_bps REAL NOT NULL,
        created       INTEGER NOT NULL,
        written       INTEGER NOT NULL,
        UNIQUE (device, start, rule)
    );
    INSERT INTO detections_v3
        SELECT d.id, d.mac, d.start, g.end, d.rule, d.params, g.bytes, g.peak_bps,
               d.threshold_bps, d.created,
               CAST(strftime('%s', 'now') AS INTEGER) * 1000000000
        FROM detections AS d
        JOIN (SELECT min(id) AS id, max(end) AS end, max(bytes) AS bytes,
                     max(peak_bps) AS peak_bps
              FROM detections GROUP BY mac, start, rule) AS g
          ON d.id = g.id;
    DROP TABLE detections;
    ALTER TABLE detections_v3 RENAME TO detections;
    CREATE INDEX detections_by_start ON detections (start);
    CREATE INDEX detections_by_end ON detections (end);
    CREATE INDEX detections_by_written ON detections (written);
    ",
    // Version 4: wake-word fuzzing campaigns (`leakypick fuzz`) and their attempts, each
    // attempt committed as it ends. `params` and `candidates` are JSON (the design and
    // every parameter; the candidate words with their phonetic data); `state` is
    // `running`, `stopped` or `done`. An attempt's `verdict` is `woke` or `quiet`;
    // `latency` is nanoseconds from the end of playback to the upload's onset.
    "
    CREATE TABLE campaigns (
        id          INTEGER PRIMARY KEY,
        device      TEXT NOT NULL,
        wake_word   TEXT NOT NULL,
        design      TEXT NOT NULL,
        params      TEXT NOT NULL DEFAULT '{}',
        candidates  TEXT NOT NULL DEFAULT '[]',
        created     INTEGER NOT NULL,
        updated     INTEGER NOT NULL,
        state       TEXT NOT NULL
    );
    CREATE TABLE campaign_attempts (
        campaign    INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
        word        TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        phase       TEXT NOT NULL,
        voice       TEXT,
        rate        REAL NOT NULL,
        play_start  INTEGER NOT NULL,
        play_end    INTEGER NOT NULL,
        verdict     TEXT NOT NULL,
        onset       INTEGER,
        latency     INTEGER,
        upload_end  INTEGER,
        bytes       INTEGER NOT NULL DEFAULT 0,
        packets     INTEGER NOT NULL DEFAULT 0,
        written     INTEGER NOT NULL,
        PRIMARY KEY (campaign, phase, word, attempt)
    ) WITHOUT ROWID;
    ",
];

/// Tables every leakypick history has (from version 1 on): a database without them is
/// not leakypick's, whatever its `user_version` says.
pub const TABLES: &[&str] = &[
    "devices",
    "device_ips",
    "traffic_minute",
    "detections",
    "baselines",
];

/// Temporary views (per connection, nothing is written to the file) that present a
/// database of an older schema `version` under the current schema's names, for a
/// read-only connection; `None` for a version they cannot present (then a reader asks
/// for the monitor to upgrade the file). Unqualified names resolve to the `temp` schema
/// first, so the readers' queries work unchanged. A new migration step must extend this.
pub fn read_compat(version: i64) -> Option<String> {
    if !(1..=3).contains(&version) {
        return None;
    }
    // Version 3 lacks only the campaigns: empty views stand in for them.
    let campaigns = "
        CREATE TEMP VIEW campaigns AS SELECT 0 AS id, '' AS device, '' AS wake_word,
            '' AS design, '{}' AS params, '[]' AS candidates, 0 AS created, 0 AS updated,
            '' AS state WHERE 0;
        CREATE TEMP VIEW campaign_attempts AS SELECT 0 AS campaign, '' AS word, 0 AS attempt,
            '' AS phase, NULL AS voice, 1.0 AS rate, 0 AS play_start, 0 AS play_end,
            '' AS verdict, NULL AS onset, NULL AS latency, NULL AS upload_end, 0 AS bytes,
            0 AS packets, 0 AS written WHERE 0;
        ";
    if version == 3 {
        return Some(campaigns.to_string());
    }
    let mut sql = String::from(campaigns);
    sql.push_str(
        "
        CREATE TEMP VIEW devices AS SELECT mac AS device, first_seen, last_seen, vendor,
            user_name, hostnames FROM main.devices;
        CREATE TEMP VIEW device_ips AS SELECT mac AS device, ip, last_seen FROM main.device_ips;
        CREATE TEMP VIEW baselines AS SELECT mac AS device, state, updated FROM main.baselines;
        CREATE TEMP VIEW traffic_minute AS SELECT mac AS device, minute, 0 AS source,
            tx_packets, tx_bytes, upload_bytes, rx_packets, rx_bytes, minute AS written
            FROM main.traffic_minute;
        CREATE TEMP VIEW detections AS SELECT id, mac AS device, start, end, rule, params,
            bytes, peak_bps, threshold_bps, created, created AS written FROM main.detections;
        ",
    );
    if version < 2 {
        sql.push_str(
            "
            CREATE TEMP VIEW probe_sessions AS SELECT 0 AS id, 0 AS start, 0 AS end,
                '{}' AS summary WHERE 0;
            CREATE TEMP VIEW probe_verdicts AS SELECT 0 AS session, '' AS device,
                '' AS probe, 0 AS reacted, '{}' AS verdict WHERE 0;
            ",
        );
    }
    Some(sql)
}

/// The schema version this build writes: the number of migration steps.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
