//! The history store (`leakypick_app::history`): round trips, migrations, crash safety,
//! concurrent access and the errors a user meets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use leakypick_app::history::{
    minute_start, BaselineRecord, DetectionRecord, DeviceRecord, PruneCounts, Store, StoreError,
    TrafficCounters, FILE_NAME,
};
use leakypick_core::net::Mac;
use leakypick_core::time::Timestamp;
use serde_json::json;

fn mac(s: &str) -> Mac {
    s.parse().expect("test MAC")
}

fn secs(s: i64) -> Timestamp {
    Timestamp(s * Timestamp::NANOS_PER_SEC)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP")
}

fn detection(m: Mac, start: i64, end: i64) -> DetectionRecord {
    DetectionRecord {
        id: None,
        device: m.into(),
        start: secs(start),
        end: secs(end),
        rule: "burst".into(),
        params: json!({"window_s": 1.0, "threshold_bps": 23000.0}),
        bytes: 123_456,
        peak_bps: 98_765.5,
        threshold_bps: 23_000.0,
        created: secs(end + 1),
    }
}

fn counters(n: u64) -> TrafficCounters {
    TrafficCounters {
        tx_packets: n,
        tx_bytes: 100 * n,
        upload_bytes: 60 * n,
        rx_packets: 2 * n,
        rx_bytes: 300 * n,
    }
}

#[test]
fn round_trips_devices_traffic_detections_baselines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("nested/data");
    let mut store = Store::open(&data).expect("open");
    assert_eq!(store.path(), data.join(FILE_NAME));
    assert_eq!(store.schema_version().expect("version"), 4);

    let echo = mac("f0:27:2d:11:22:33");
    let cam = mac("00:17:88:aa:bb:cc");
    let first = DeviceRecord {
        device: echo.into(),
        first_seen: secs(1_000),
        last_seen: secs(2_000),
        vendor: Some("Amazon Technologies Inc.".into()),
        user_name: None,
        hostnames: vec!["amazon-1234".into()],
        ips: vec![ip("192.168.1.20")],
    };
    store.upsert_device(&first).expect("upsert");
    // A later sighting merges: wider time range, more names and addresses, vendor kept.
    store
        .upsert_device(&DeviceRecord {
            device: echo.into(),
            first_seen: secs(1_500),
            last_seen: secs(3_000),
            vendor: None,
            user_name: None,
            hostnames: vec!["amazon-1234".into(), "echo-kitchen".into()],
            ips: vec![ip("fe80::1"), ip("192.168.1.20")],
        })
        .expect("upsert again");
    store
        .upsert_device(&DeviceRecord {
            device: cam.into(),
            first_seen: secs(500),
            last_seen: secs(600),
            ..DeviceRecord::default()
        })
        .expect("upsert cam");

    assert!(store.set_name(echo, Some("Kitchen Echo")).expect("name"));
    assert!(!store
        .set_name(mac("02:00:00:00:00:01"), Some("ghost"))
        .expect("name unknown"));
    // A later upsert without a name keeps the user's name.
    store.upsert_device(&first).expect("upsert keeps name");

    let devices = store.devices().expect("devices");
    assert_eq!(
        devices.len(),
        2,
        "the unknown MAC was not created: {devices:?}"
    );
    assert_eq!(devices[0].device, cam.into());
    let d = &devices[1];
    assert_eq!(d.device, echo.into());
    assert_eq!((d.first_seen, d.last_seen), (secs(1_000), secs(3_000)));
    assert_eq!(d.vendor.as_deref(), Some("Amazon Technologies Inc."));
    assert_eq!(d.user_name.as_deref(), Some("Kitchen Echo"));
    assert_eq!(d.hostnames, ["amazon-1234", "echo-kitchen"]);
    assert_eq!(d.ips, [ip("192.168.1.20"), ip("fe80::1")]);
    assert!(store.set_name(echo, Some("  ")).expect("clear"));
    assert_eq!(
        store
            .device(echo)
            .expect("device")
            .and_then(|d| d.user_name),
        None
    );

    // Traffic adds up within a minute.
    let t = secs(1_699_999_980 + 5);
    store.add_traffic(echo, t, &counters(1)).expect("traffic");
    store
        .add_traffic(
            echo,
            Timestamp(t.0 + 30 * Timestamp::NANOS_PER_SEC),
            &counters(2),
        )
        .expect("traffic same minute");
    store
        .add_traffic(
            echo,
            Timestamp(t.0 + 60 * Timestamp::NANOS_PER_SEC),
            &counters(5),
        )
        .expect("traffic next minute");
    let rows = store
        .traffic(echo, Timestamp(0), Timestamp(i64::MAX))
        .expect("read traffic");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].minute, secs(1_699_999_980));
    assert_eq!(rows[0].minute, minute_start(t));
    assert_eq!(rows[0].counters, counters(3));
    assert_eq!(rows[1].counters, counters(5));

    // Detections come back whole, filtered by end time.
    let a = store
        .add_detection(&detection(echo, 100, 110))
        .expect("det a");
    let b = store
        .add_detection(&detection(cam, 200, 205))
        .expect("det b");
    assert_ne!(a, b);
    let all = store.detections(None).expect("all");
    assert_eq!(all.len(), 2);
    let mut expect = detection(echo, 100, 110);
    expect.id = Some(a);
    assert_eq!(all[0], expect);
    let recent = store.detections(Some(secs(150))).expect("since");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].device, cam.into());
    assert_eq!(recent[0].id, Some(b));

    // Baselines are replaced, per device.
    assert_eq!(store.load_baseline(echo).expect("none"), None);
    let base = |state: &str, t| BaselineRecord {
        device: echo.into(),
        state: state.into(),
        updated: secs(t),
    };
    store.save_baseline(&base("{\"q\":1}", 10)).expect("save");
    store
        .save_baseline(&base("{\"q\":2}", 20))
        .expect("save again");
    assert_eq!(
        store.load_baseline(echo).expect("load"),
        Some(base("{\"q\":2}", 20))
    );

    // Everything survives closing and reopening.
    store.close().expect("close");
    let mut store = Store::open(&data).expect("reopen");
    assert_eq!(store.devices().expect("devices").len(), 2);
    assert_eq!(store.detections(None).expect("dets").len(), 2);
    assert_eq!(
        store.load_baseline(echo).expect("load"),
        Some(base("{\"q\":2}", 20))
    );

    // Retention goes by when rows were written (wall clock), not by packet time: these
    // rows (packet times in 1970 and 2023) were written just now and stay.
    let now = leakypick_app::history::wall_clock();
    let day = 86_400 * Timestamp::NANOS_PER_SEC;
    let counts = store.prune(Timestamp(now.0 - day)).expect("prune");
    assert_eq!(counts, PruneCounts::default());
    // Rows written long ago go; devices stay.
    backdate(store.path(), "detections", "start = 100000000000", 40);
    backdate(
        store.path(),
        "traffic_minute",
        "minute < 1700000000000000000",
        40,
    );
    let counts = store.prune(Timestamp(now.0 - 30 * day)).expect("prune");
    assert_eq!(
        counts,
        PruneCounts {
            traffic_minutes: 1,
            detections: 1
        }
    );
    let left = store.detections(None).expect("dets");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].device, cam.into());
    assert_eq!(
        store
            .traffic(echo, Timestamp(0), Timestamp(i64::MAX))
            .expect("traffic")
            .len(),
        1
    );
    assert_eq!(
        store.devices().expect("devices").len(),
        2,
        "devices are kept"
    );
}

/// Sets `written` of the rows of `table` matching `filter` to `days` ago, as if they
/// had been written then (another connection, as a second process would).
fn backdate(db: &Path, table: &str, filter: &str, days: i64) {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let then = leakypick_app::history::wall_clock().0 - days * 86_400 * Timestamp::NANOS_PER_SEC;
    let n = conn
        .execute(
            &format!("UPDATE {table} SET written = ?1 WHERE {filter}"),
            [then],
        )
        .expect("backdate");
    assert!(n > 0, "no row of {table} matches {filter}");
}

/// Writing the same data again changes nothing: a detection is one row per device,
/// start and rule (its end, bytes and peak only grow), and a source's per-minute running
/// totals replace its own earlier ones, while different sources add up.
#[test]
fn writing_the_same_data_twice_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path()).expect("open");
    let m = mac("aa:bb:cc:00:00:09");
    let onset = DetectionRecord {
        end: secs(12),
        bytes: 100,
        ..detection(m, 10, 12)
    };
    let a = store.add_detection(&onset).expect("onset");
    let b = store.add_detection(&detection(m, 10, 16)).expect("end");
    let c = store.add_detection(&detection(m, 10, 16)).expect("again");
    let d = store.add_detection(&onset).expect("a shorter look");
    assert_eq!([b, c, d], [a, a, a]);
    let mut other_rule = detection(m, 10, 16);
    other_rule.rule = "adaptive-burst".into();
    assert_ne!(store.add_detection(&other_rule).expect("other rule"), a);
    let dets = store.detections(None).expect("dets");
    assert_eq!(dets.len(), 2);
    assert_eq!((dets[0].end, dets[0].bytes), (secs(16), 123_456));

    let minute = secs(600);
    let write = |store: &mut Store, source: &str, n: u64| {
        store
            .transaction(|t| {
                let id = t.source(source)?;
                t.record_traffic(m, minute, id, &counters(n))
            })
            .expect("traffic");
    };
    write(&mut store, "recording 1", 2);
    write(&mut store, "recording 1", 5); // the running total grew
    write(&mut store, "recording 1", 5); // replayed again
    write(&mut store, "recording 1", 3); // a replay stopped early never lowers it
    write(&mut store, "live 2", 1); // another source adds up
    let rows = store
        .traffic(m, Timestamp(0), Timestamp(i64::MAX))
        .expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].counters, counters(6));
}

#[test]
fn failed_batch_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path()).expect("open");
    let m = mac("aa:bb:cc:00:00:01");
    let r: Result<(), StoreError> = store.transaction(|b| {
        b.add_detection(&detection(m, 1, 2))?;
        b.add_traffic(m, secs(60), &counters(1))?;
        Err(StoreError::BadValue {
            path: dir.path().into(),
            what: "test",
            detail: "abort".into(),
        })
    });
    assert!(r.is_err());
    assert!(store.detections(None).expect("dets").is_empty());
    assert!(store
        .traffic(m, Timestamp(0), Timestamp(i64::MAX))
        .expect("traffic")
        .is_empty());
}

#[test]
fn migrates_an_empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(FILE_NAME);
    std::fs::write(&file, b"").expect("empty file");
    let mut store = Store::open(dir.path()).expect("open empty file");
    assert_eq!(store.schema_version().expect("version"), 4);
    store
        .add_detection(&detection(mac("aa:bb:cc:00:00:02"), 1, 2))
        .expect("usable");
    store.close().expect("close");
    assert!(std::fs::metadata(&file).expect("file").len() > 0);
}

/// Sets `PRAGMA user_version` by editing the header (offset 60, big-endian), the way a
/// newer leakypick would have left it, without an SQLite library in the test.
fn set_user_version_in_header(file: &Path, v: u32) {
    let mut bytes = std::fs::read(file).expect("read db");
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    bytes[60..64].copy_from_slice(&v.to_be_bytes());
    std::fs::write(file, bytes).expect("write db");
}

#[test]
fn refuses_a_database_from_a_newer_version_without_touching_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(FILE_NAME);
    let mut store = Store::open(dir.path()).expect("open");
    store
        .add_detection(&detection(mac("aa:bb:cc:00:00:03"), 1, 2))
        .expect("write");
    store.close().expect("close");
    set_user_version_in_header(&file, 99);
    let before = std::fs::read(&file).expect("read");

    let err = Store::open(dir.path()).expect_err("newer schema must be refused");
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                supported: 4,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("99") && msg.contains("newer"), "{msg}");
    assert_eq!(std::fs::read(&file).expect("read"), before, "file changed");
}

#[test]
fn garbage_file_is_refused_by_name_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(FILE_NAME);
    let garbage = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&file, &garbage).expect("write garbage");
    let err = Store::open(dir.path()).expect_err("garbage must be refused");
    let msg = err.to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("not an SQLite database"), "{msg}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), garbage);
}

#[test]
fn data_dir_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").expect("file");
    let data = blocker.join("data");
    let err = Store::open(&data).expect_err("a file is in the way");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(msg.contains(&data.display().to_string()), "{msg}");
    assert!(msg.contains("--data-dir"), "{msg}");
}

#[test]
fn dropped_without_close_keeps_committed_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = mac("aa:bb:cc:00:00:04");
    {
        let mut store = Store::open(dir.path()).expect("open");
        for i in 0..10 {
            store
                .transaction(|b| {
                    b.add_detection(&detection(m, i, i + 1))?;
                    b.add_traffic(m, secs(60 * i), &counters(1))
                })
                .expect("batch");
        }
        // Dropped here: no close, no checkpoint.
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.detections(None).expect("dets").len(), 10);
    assert_eq!(
        store
            .traffic(m, Timestamp(0), Timestamp(i64::MAX))
            .expect("traffic")
            .len(),
        10
    );
}

/// Names the data directory of the writer program `examples/store_writer.rs`.
const WRITER_ENV: &str = "LEAKYPICK_TEST_STORE_WRITER_DIR";

/// Without its environment variable the writer does nothing: it says what it is and
/// exits with status 2.
#[test]
fn the_writer_program_does_nothing_on_its_own() {
    let out = Command::new(crate::util::helper_program("store_writer"))
        .env_remove(WRITER_ENV)
        .output()
        .expect("run the writer");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("helper program") && stderr.contains(WRITER_ENV),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// A writer process (`examples/store_writer.rs`, one batch after another) is killed with
/// SIGKILL after 50 commits: every committed batch is there, whole, and the history opens.
#[test]
fn survives_kill_9_of_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(crate::util::helper_program("store_writer"))
        .env(WRITER_ENV, dir.path())
        .stdout(Stdio::piped())
        // Why it failed, should it stop before being killed.
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("child stdout");
    let mut committed = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("committed ") {
            committed = n.parse::<usize>().expect("count");
            if committed >= 50 {
                break;
            }
        }
    }
    assert!(committed >= 50, "the writer stopped early");
    child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix.
    let status = child.wait().expect("wait");
    assert!(!status.success());

    let store = Store::open(dir.path()).expect("reopen after kill -9");
    let dets = store.detections(None).expect("dets");
    assert!(
        dets.len() >= committed,
        "{} detections, but {committed} batches were committed",
        dets.len()
    );
    let m = mac("aa:bb:cc:00:00:05");
    let traffic = store
        .traffic(m, Timestamp(0), Timestamp(i64::MAX))
        .expect("traffic");
    // Each batch is whole: as many traffic minutes as detections.
    assert_eq!(traffic.len(), dets.len());
    for (i, d) in dets.iter().enumerate() {
        assert_eq!(d.start, secs(i as i64));
    }
}

#[test]
fn readers_and_a_second_writer_wait_for_a_running_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = mac("aa:bb:cc:00:00:06");
    let mut writer = Store::open(dir.path()).expect("open writer");
    writer.add_detection(&detection(m, 1, 2)).expect("first");
    let (locked_tx, locked_rx) = mpsc::channel();
    let path = dir.path().to_path_buf();
    let holder = std::thread::spawn(move || {
        writer
            .transaction(|b| {
                b.add_detection(&detection(m, 3, 4))?;
                locked_tx.send(()).expect("signal");
                std::thread::sleep(Duration::from_millis(700));
                Ok(())
            })
            .expect("long transaction");
    });
    locked_rx.recv().expect("writer holds its transaction");

    // A reader opens and reads at once and sees the last committed state.
    let t0 = Instant::now();
    let reader = Store::open(&path).expect("open reader during a write");
    assert_eq!(reader.detections(None).expect("read").len(), 1);
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "the reader waited"
    );

    // A second writer waits (busy timeout) instead of failing with "database is locked".
    let mut second = Store::open(&path).expect("open second writer");
    second
        .add_detection(&detection(m, 5, 6))
        .expect("second writer waits for the lock");
    holder.join().expect("holder thread");
    assert_eq!(reader.detections(None).expect("read").len(), 3);
}

#[test]
fn cli_reads_and_names_the_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    let echo = mac("f0:27:2d:11:22:33");
    {
        let mut store = Store::open(dir.path()).expect("open");
        store
            .upsert_device(&DeviceRecord {
                device: echo.into(),
                first_seen: secs(1_000),
                last_seen: secs(2_000),
                vendor: Some("Amazon Technologies Inc.".into()),
                hostnames: vec!["amazon-1234".into()],
                ips: vec![ip("192.168.1.20")],
                ..DeviceRecord::default()
            })
            .expect("device");
        store.add_detection(&detection(echo, 100, 110)).expect("a");
        store.add_detection(&detection(echo, 300, 312)).expect("b");
    }

    let run = crate::util::leakypick(["name", "f0:27:2d:11:22:33", "Kitchen", "--data-dir", data]);
    run.ok();
    let err = crate::util::leakypick(["name", "02:00:00:00:00:09", "X", "--data-dir", data]);
    assert!(
        err.fails().contains("unknown device 02:00:00:00:00:09"),
        "{}",
        err.stderr
    );

    let devices =
        crate::util::leakypick(["devices", "--format", "json", "--data-dir", data]).json();
    assert_eq!(devices.len(), 1);
    let d = &devices[0];
    assert_eq!(d["type"], "device");
    assert_eq!(d["mac"], "f0:27:2d:11:22:33");
    assert_eq!(d["name"], "Kitchen");
    assert_eq!(d["vendor"], "Amazon Technologies Inc.");
    assert_eq!(d["names"], json!(["amazon-1234"]));
    assert_eq!(d["ips"], json!(["192.168.1.20"]));
    assert_eq!(d["first_seen"], json!(1000.0));

    let events = crate::util::leakypick([
        "events",
        "--since",
        "200",
        "--format",
        "json",
        "--data-dir",
        data,
    ])
    .json();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["type"], "event");
    assert_eq!(e["mac"], "f0:27:2d:11:22:33");
    assert_eq!(
        (e["start"].as_f64(), e["end"].as_f64()),
        (Some(300.0), Some(312.0))
    );
    assert_eq!(e["rule"], "burst");
    assert_eq!(e["params"]["window_s"], json!(1.0));
    assert_eq!(e["bytes"], json!(123_456));
    assert_eq!(e["peak_bps"], json!(98_765.5));
    assert_eq!(e["threshold_bps"], json!(23_000.0));

    let all = crate::util::leakypick(["events", "--format", "csv", "--data-dir", data]);
    assert_eq!(all.ok().lines().count(), 3, "{}", all.stdout);
    let table = crate::util::leakypick(["devices", "--data-dir", data]);
    assert!(table.ok().contains("Kitchen"), "{}", table.stdout);

    let garbage = dir.path().join("other");
    std::fs::create_dir(&garbage).expect("dir");
    std::fs::write(garbage.join(FILE_NAME), "not a database").expect("garbage");
    let err = crate::util::leakypick(["devices", "--data-dir", garbage.to_str().expect("utf-8")]);
    assert!(
        err.fails().contains("not an SQLite database"),
        "{}",
        err.stderr
    );
}

/// SHA-like fingerprint of a file's bytes, for "unchanged" checks (the bytes themselves
/// are compared; this only keeps assertion messages short).
fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Issue: `devices --data-dir typo-dir` created a database and said "no devices yet".
/// Read-only commands never create anything: a missing directory or database is an
/// error naming it and saying to run the monitor first. `name` does not create one
/// either.
#[test]
fn read_only_commands_never_create_a_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let typo = dir.path().join("typo-dir");
    let typo_s = typo.to_str().expect("utf-8");
    for cmd in ["devices", "events", "report"] {
        let run = crate::util::leakypick([cmd, "--data-dir", typo_s]);
        let err = run.fails();
        assert!(err.contains(typo_s), "{cmd}: {err}");
        assert!(err.contains("leakypick monitor"), "{cmd}: {err}");
        assert!(!typo.exists(), "{cmd} created {typo_s}");
    }
    let run = crate::util::leakypick(["name", "02:00:00:00:00:01", "x", "--data-dir", typo_s]);
    assert!(run.fails().contains(typo_s), "{}", run.stderr);
    assert!(!typo.exists(), "name created {typo_s}");

    // An existing directory without a database: the error names the file.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    let file = empty.join(FILE_NAME);
    for cmd in ["devices", "events", "report"] {
        let run = crate::util::leakypick([cmd, "--data-dir", empty.to_str().expect("utf-8")]);
        let err = run.fails();
        assert!(err.contains(&file.display().to_string()), "{cmd}: {err}");
        assert!(err.contains("leakypick monitor"), "{cmd}: {err}");
        assert_eq!(
            std::fs::read_dir(&empty).expect("read dir").count(),
            0,
            "{cmd} created files"
        );
    }
}

/// Runs the leakypick binary as user and group 65534 (nobody), as the README tells an
/// administrator to read the monitor's history.
fn leakypick_as_nobody(args: &[&str]) -> crate::util::Run {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_leakypick"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("setpriv (util-linux) is required by this test");
    crate::util::Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Issue: `events` run as another user on a readable database failed with "attempt to
/// write a readonly database". Readers open the file read-only: as nobody, on a history
/// made by root (readable by others, in a directory nobody cannot write), both after the
/// monitor closed it and while a writer has it open (its -wal and -shm exist).
#[test]
fn read_only_commands_work_as_another_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("history");
    let data_s = data.to_str().expect("utf-8");
    let cap = crate::util::shared_capture("smart-speakers/echodot3a_active.pcap");
    crate::util::leakypick([
        "monitor",
        "--replay",
        cap.to_str().expect("utf-8"),
        "--data-dir",
        data_s,
    ])
    .ok();
    let db = data.join(FILE_NAME);
    let wal = data.join(format!("{FILE_NAME}-wal"));
    let shm = data.join(format!("{FILE_NAME}-shm"));
    assert!(!wal.exists() && !shm.exists(), "closed cleanly");
    let before = file_bytes(&db);

    let events = leakypick_as_nobody(&["events", "--format", "json", "--data-dir", data_s]);
    let events = events.json();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["mac"], "68:db:f5:90:19:64");
    let devices = leakypick_as_nobody(&["devices", "--data-dir", data_s]);
    assert!(
        devices.ok().contains("68:db:f5:90:19:64"),
        "{}",
        devices.stdout
    );
    let report = leakypick_as_nobody(&["report", "--data-dir", data_s]);
    assert!(
        report.fails().contains("no probing session"),
        "{}",
        report.stderr
    );
    assert_eq!(file_bytes(&db), before, "a reader changed the database");
    assert!(!wal.exists() && !shm.exists());

    // A writer holds it open and commits: readers see the committed row.
    let mut writer = Store::open(&data).expect("open writer");
    writer
        .add_detection(&detection(mac("02:00:00:00:00:07"), 1, 2))
        .expect("write");
    assert!(wal.exists() && shm.exists());
    let events = leakypick_as_nobody(&["events", "--format", "json", "--data-dir", data_s]);
    assert_eq!(events.json().len(), 2, "{}", events.stderr);
    drop(writer);
}

/// A plain SQLite database of another program: one table, one row.
fn foreign_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("create foreign db");
    conn.execute_batch(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
         INSERT INTO notes (text) VALUES ('not leakypick''s');",
    )
    .expect("foreign schema");
}

/// Issue: an unrelated SQLite file got leakypick's tables added. Every command refuses
/// a database without leakypick's schema, naming it, and leaves its bytes unchanged.
#[test]
fn foreign_sqlite_database_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let data_s = data.to_str().expect("utf-8");
    let db = data.join(FILE_NAME);
    foreign_database(&db);
    let before = file_bytes(&db);
    let cap = crate::util::shared_capture("smart-speakers/echodot3a_active.pcap");
    let cap = cap.to_str().expect("utf-8");
    let commands: [&[&str]; 5] = [
        &["devices"],
        &["events"],
        &["report"],
        &["name", "02:00:00:00:00:01", "x"],
        &["monitor", "--replay", cap],
    ];
    for args in commands {
        let mut all = args.to_vec();
        all.extend(["--data-dir", data_s]);
        let run = crate::util::leakypick(&all);
        let err = run.fails();
        assert!(err.contains(&db.display().to_string()), "{args:?}: {err}");
        assert!(err.contains("not a leakypick"), "{args:?}: {err}");
        assert_eq!(file_bytes(&db), before, "{args:?} changed the file");
    }
    let err = Store::open(data).expect_err("the library refuses it too");
    assert!(err.to_string().contains("not a leakypick"), "{err}");
    assert_eq!(file_bytes(&db), before);
}

/// A schema-2 history as leakypick 0.1 left it: the first two migration steps (never
/// edited) and rows written with that version's SQL, including a detection stored twice
/// by replaying a file twice.
fn v2_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("create v2 db");
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    for step in &leakypick_app::history::schema::MIGRATIONS[..2] {
        conn.execute_batch(step).expect("v2 step");
    }
    conn.execute_batch(
        r#"
        PRAGMA user_version = 2;
        INSERT INTO devices (mac, first_seen, last_seen, vendor, user_name, hostnames) VALUES
            ('f0:27:2d:11:22:33', 1000000000000, 2000000000000, 'Amazon Technologies Inc.', 'Kitchen', '["amazon-1234"]'),
            ('00:17:88:aa:bb:cc', 500000000000, 600000000000, NULL, NULL, '[]');
        INSERT INTO device_ips (mac, ip, last_seen) VALUES
            ('f0:27:2d:11:22:33', '192.168.1.20', 2000000000000),
            ('f0:27:2d:11:22:33', 'fe80::1', 2000000000000);
        INSERT INTO traffic_minute VALUES
            ('f0:27:2d:11:22:33', 1020000000000, 10, 1000, 600, 20, 3000),
            ('f0:27:2d:11:22:33', 1080000000000, 5, 500, 0, 7, 700),
            ('00:17:88:aa:bb:cc', 540000000000, 1, 60, 60, 0, 0);
        INSERT INTO detections (id, mac, start, end, rule, params, bytes, peak_bps, threshold_bps, created) VALUES
            (1, 'f0:27:2d:11:22:33', 1100000000000, 1106000000000, 'burst', '{"window_s":1.0}', 224138, 615464.0, 23000.0, 1102000000000),
            (2, '00:17:88:aa:bb:cc', 550000000000, 553000000000, 'burst', '{}', 9000, 24000.0, 23000.0, 552000000000),
            (3, 'f0:27:2d:11:22:33', 1100000000000, 1106000000000, 'burst', '{"window_s":1.0}', 224138, 615464.0, 23000.0, 1102000000000);
        INSERT INTO baselines (mac, state, updated) VALUES ('f0:27:2d:11:22:33', 'v1 state', 1500000000000);
        INSERT INTO probe_sessions (id, start, end, summary) VALUES (1, 10, 20, '{"type":"session"}');
        INSERT INTO probe_verdicts (session, device, probe, reacted, verdict) VALUES
            (1, 'f0:27:2d:11:22:33', 'alexa', 1, '{"type":"verdict","reacted":true}');
        "#,
    )
    .expect("v2 rows");
}

/// Schema 3 (devices by MAC or IP, one row per detection, traffic per source, write
/// times for retention): a schema-2 file is read as it is by the read-only commands and
/// migrated by a writer without losing a row (the twice-stored detection becomes one).
#[test]
fn migrates_a_v2_database_without_losing_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_s = dir.path().to_str().expect("utf-8");
    let db = dir.path().join(FILE_NAME);
    v2_database(&db);
    let before = file_bytes(&db);

    // Read-only commands read the old schema without upgrading it.
    let events = crate::util::leakypick(["events", "--format", "json", "--data-dir", data_s]);
    let events = events.json();
    assert_eq!(events.len(), 3, "{events:?}");
    let devices = crate::util::leakypick(["devices", "--format", "json", "--data-dir", data_s]);
    assert_eq!(devices.json().len(), 2);
    assert_eq!(file_bytes(&db), before, "a reader upgraded the file");

    // A writer migrates it.
    let store = Store::open(dir.path()).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), 4);
    let echo = mac("f0:27:2d:11:22:33");
    let devices = store.devices().expect("devices");
    assert_eq!(devices.len(), 2);
    let d = store.device(echo).expect("read").expect("kept");
    assert_eq!(d.user_name.as_deref(), Some("Kitchen"));
    assert_eq!(d.vendor.as_deref(), Some("Amazon Technologies Inc."));
    assert_eq!(d.hostnames, ["amazon-1234"]);
    assert_eq!(d.ips, [ip("192.168.1.20"), ip("fe80::1")]);
    assert_eq!((d.first_seen, d.last_seen), (secs(1000), secs(2000)));
    let traffic = store
        .traffic(echo, Timestamp(0), Timestamp(i64::MAX))
        .expect("traffic");
    assert_eq!(traffic.len(), 2);
    assert_eq!(traffic[0].minute, secs(1020));
    assert_eq!(
        traffic[0].counters,
        TrafficCounters {
            tx_packets: 10,
            tx_bytes: 1000,
            upload_bytes: 600,
            rx_packets: 20,
            rx_bytes: 3000
        }
    );
    let dets = store.detections(None).expect("detections");
    let ids: Vec<Option<i64>> = dets.iter().map(|d| d.id).collect();
    assert_eq!(ids, [Some(2), Some(1)], "{dets:?}");
    assert_eq!(dets[1].bytes, 224_138);
    assert_eq!(dets[1].params, json!({"window_s": 1.0}));
    assert_eq!(
        store
            .load_baseline(echo)
            .expect("baseline")
            .map(|b| b.state),
        Some("v1 state".to_string())
    );
    let (id, summary, verdicts) = store
        .last_probe_session()
        .expect("probe")
        .expect("a session");
    assert_eq!((id, summary["type"].as_str()), (1, Some("session")));
    assert_eq!(verdicts.len(), 1);
    store.close().expect("close");
    // Opening it again changes nothing more.
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.detections(None).expect("dets").len(), 2);
}

/// The history's output contract: CSV carries exactly the JSON fields, `type` first,
/// lists joined with `;`; `events` JSON adds `detection_id` and `device` (the device id,
/// as everywhere else); the events table gives rates in kbit/s.
#[test]
fn history_csv_and_json_follow_the_output_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let echo = mac("f0:27:2d:11:22:33");
    {
        let mut store = Store::open(dir.path()).expect("open");
        store
            .upsert_device(&DeviceRecord {
                device: echo.into(),
                first_seen: secs(1_000),
                last_seen: secs(2_000),
                vendor: Some("Amazon Technologies Inc.".into()),
                hostnames: vec!["amazon-1234".into(), "echo".into()],
                ips: vec![ip("192.168.1.20"), ip("fe80::1")],
                ..DeviceRecord::default()
            })
            .expect("device");
        store.add_detection(&detection(echo, 100, 110)).expect("a");
    }
    let check_csv = |cmd: &str, ty: &str| {
        let json = crate::util::leakypick([cmd, "--format", "json", "--data-dir", data]).json();
        let keys: Vec<String> = json[0]
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        let csv = crate::util::leakypick([cmd, "--format", "csv", "--data-dir", data]);
        let lines: Vec<&str> = csv.ok().lines().collect();
        assert_eq!(lines[0], keys.join(","), "{cmd}");
        assert_eq!(keys[0], "type");
        assert!(
            lines[1].starts_with(&format!("{ty},")),
            "{cmd}: {}",
            lines[1]
        );
        (json[0].clone(), lines[1].to_string())
    };
    let (device, row) = check_csv("devices", "device");
    assert_eq!(device["id"], "f0:27:2d:11:22:33");
    assert!(row.contains(",192.168.1.20;fe80::1,"), "{row}");
    assert!(row.contains(",amazon-1234;echo,"), "{row}");
    let (event, _) = check_csv("events", "event");
    assert_eq!(event["detection_id"], event["id"]);
    assert_eq!(event["device"], "f0:27:2d:11:22:33");
    assert_eq!(event["mac"], "f0:27:2d:11:22:33");

    let table = crate::util::leakypick(["events", "--data-dir", data]);
    let text = table.ok();
    assert!(text.contains("PEAK KBIT/S"), "{text}");
    assert!(!text.contains("B/S"), "{text}");
    assert!(text.contains(" 98.8 "), "98765.5 bit/s: {text}");
}

/// Schema 4 (fuzz campaigns): a schema-3 history is read as it is by `fuzz report`
/// (no campaign yet, nothing written) and gains the campaign tables when a writer opens
/// it, without losing a row.
#[test]
fn a_v3_database_reads_without_campaigns_and_migrates_to_v4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_s = dir.path().to_str().expect("utf-8");
    let db = dir.path().join(FILE_NAME);
    {
        let conn = rusqlite::Connection::open(&db).expect("create v3 db");
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .expect("wal");
        for step in &leakypick_app::history::schema::MIGRATIONS[..3] {
            conn.execute_batch(step).expect("v3 step");
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO devices (device, first_seen, last_seen, vendor, user_name, hostnames)
                 VALUES ('f0:27:2d:11:22:33', 1, 2, NULL, 'Kitchen', '[]');",
        )
        .expect("v3 rows");
    }
    let before = file_bytes(&db);
    let r = crate::util::leakypick(["fuzz", "report", "--data-dir", data_s]);
    assert!(r.fails().contains("no fuzz campaign"), "{}", r.stderr);
    let devices = crate::util::leakypick(["devices", "--format", "json", "--data-dir", data_s]);
    assert_eq!(devices.json().len(), 1);
    assert_eq!(file_bytes(&db), before, "a reader upgraded the file");

    let store = Store::open(dir.path()).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), 4);
    assert_eq!(store.devices().expect("devices").len(), 1);
    assert!(store.latest_campaign(false).expect("campaigns").is_none());
}
