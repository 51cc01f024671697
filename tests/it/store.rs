//! The history store (`leakypick_app::history`): round trips, migrations, crash safety,
//! concurrent access and the errors a user meets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
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
        mac: m,
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
    assert_eq!(store.schema_version().expect("version"), 2);

    let echo = mac("f0:27:2d:11:22:33");
    let cam = mac("00:17:88:aa:bb:cc");
    let first = DeviceRecord {
        mac: echo,
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
            mac: echo,
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
            mac: cam,
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
    assert_eq!(devices[0].mac, cam);
    let d = &devices[1];
    assert_eq!(d.mac, echo);
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
    assert_eq!(recent[0].mac, cam);
    assert_eq!(recent[0].id, Some(b));

    // Baselines are replaced, per device.
    assert_eq!(store.load_baseline(echo).expect("none"), None);
    let base = |state: &str, t| BaselineRecord {
        mac: echo,
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

    // Retention.
    let counts = store.prune(secs(1_700_000_000)).expect("prune");
    assert_eq!(
        counts,
        PruneCounts {
            traffic_minutes: 1,
            detections: 2
        }
    );
    assert_eq!(store.detections(None).expect("dets").len(), 0);
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
    assert_eq!(store.schema_version().expect("version"), 2);
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
                supported: 2,
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

const CHILD_ENV: &str = "LEAKYPICK_TEST_STORE_WRITER_DIR";

/// Not a test on its own: the writer process of `survives_kill_9_of_a_writer`. Without
/// the environment variable it does nothing.
#[test]
fn kill9_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(Path::new(&dir)).expect("child open");
    let m = mac("aa:bb:cc:00:00:05");
    let mut out = std::io::stdout();
    for i in 0.. {
        store
            .transaction(|b| {
                b.add_detection(&detection(m, i, i + 1))?;
                b.add_traffic(m, secs(60 * i), &counters(1))
            })
            .expect("child batch");
        writeln!(out, "committed {}", i + 1).expect("child stdout");
        out.flush().expect("child flush");
    }
}

#[test]
fn survives_kill_9_of_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "history::kill9_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
                mac: echo,
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
