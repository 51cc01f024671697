//! A helper program of the live-capture tests (`tests/it/live.rs`), not a test and not a
//! tool: each test re-executes it inside one of its network namespaces (through `ip netns
//! exec`, sometimes as an unprivileged user) to run [`LiveSource`] there.
//!
//! It does its work only when `LEAKYPICK_LIVE_TEST_INNER` holds a JSON object naming the
//! helper and its parameters, `{"helper": "capture", "params": {...}}`; otherwise it says
//! what it is and exits with status 2. A failed check panics (exit status 101), which
//! the calling test reports with the helper's output. `cargo test --features live` builds
//! it (`required-features` in `Cargo.toml`); the tests find it beside their own binary,
//! in `<target>/<profile>/examples/`, and build it when it is missing or out of date.

// A helper of the tests: a failed unwrap is a failed check, reported by the caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_app::monitor::live::{LiveOptions, LiveSource};
use leakypick_app::monitor::source::{FrameSource, Pull};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Carries the helper's name and parameters (JSON).
const INNER_ENV: &str = "LEAKYPICK_LIVE_TEST_INNER";
/// The Echo Dot of the bundled sample.
const ECHO: &str = "68:db:f5:90:19:64";

fn main() -> ExitCode {
    let Some(text) = std::env::var_os(INNER_ENV) else {
        eprintln!(
            "live_helper: a helper program of leakypick's live-capture tests \
             (tests/it/live.rs), run by them inside network namespaces with {INNER_ENV} \
             set to {{\"helper\": NAME, \"params\": {{...}}}}; nothing to do on its own"
        );
        return ExitCode::from(2);
    };
    let text = text.to_string_lossy();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{INNER_ENV} is not JSON ({e}): {text}"));
    let p = &v["params"];
    match v["helper"].as_str() {
        Some("capture") => capture(p),
        Some("idle") => idle(p),
        Some("open_errors") => open_errors(p),
        Some("no_permission") => no_permission(),
        other => {
            eprintln!(
                "live_helper: no helper {other:?} (capture, idle, open_errors, no_permission)"
            );
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn str_param<'a>(p: &'a Value, key: &str) -> &'a str {
    p[key]
        .as_str()
        .unwrap_or_else(|| panic!("parameter {key:?} missing from {p}"))
}

/// Log records of a helper run, to check what the source logged.
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Recorder;

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.level(), record.args());
        eprintln!("helper log: {line}");
        LOGS.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder;

fn write_json(path: &str, v: &Value) {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, v.to_string()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn wall_ns() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// Captures with [`LiveSource`] until `expect` frames arrived, or the `stop` file exists
/// and nothing arrived for a second (or 60 s passed). Writes its progress to `status`
/// and what it saw to `result`.
fn capture(p: &Value) {
    log::set_logger(&RECORDER).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let opts = LiveOptions {
        filter: p["filter"].as_str().map(str::to_string),
        immediate: p["immediate"].as_bool().unwrap(),
        buffer_bytes: p["buffer"].as_u64().map(|b| u32::try_from(b).unwrap()),
        ..LiveOptions::new(p["iface"].as_str().unwrap())
    };
    let status = p["status"].as_str().unwrap();
    let stop = PathBuf::from(p["stop"].as_str().unwrap());
    let expect = p["expect"].as_u64().unwrap();
    let opened_at = wall_ns();
    let mut src = LiveSource::open(opts).unwrap_or_else(|e| panic!("{e}"));
    let mut lens: Vec<u64> = Vec::new();
    let mut caplens_ok = true;
    let mut ts: Vec<i64> = Vec::new();
    let mut before_outage = 0u64;
    let mut errors: Vec<String> = Vec::new();
    let mut idles = 0u64;
    let mut last_frame = Instant::now();
    let start = Instant::now();
    let write_status = |src: &LiveSource, frames: usize| {
        write_json(
            status,
            &json!({"ready": true, "frames": frames, "outages": src.outages(), "down": src.is_down()}),
        );
    };
    write_status(&src, 0);
    let mut was_down = false;
    while (lens.len() as u64) < expect && start.elapsed() < Duration::from_secs(60) {
        let step = match src.pull() {
            Ok(Pull::Frame(f)) => {
                caplens_ok &= f.data.len() as u64 <= u64::from(f.wire_len);
                Some((u64::from(f.wire_len), f.ts.0))
            }
            Ok(Pull::Idle { now }) => {
                assert!(
                    now.is_some(),
                    "a live source's idle must carry the wall clock"
                );
                idles += 1;
                None
            }
            Ok(Pull::End) => {
                errors.push("a live source ended".into());
                break;
            }
            Err(e) => {
                errors.push(e.to_string());
                break;
            }
        };
        match step {
            Some((len, t)) => {
                if src.outages() == 0 {
                    before_outage += 1;
                }
                lens.push(len);
                ts.push(t);
                last_frame = Instant::now();
                if lens.len() % 500 == 0 {
                    write_status(&src, lens.len());
                }
            }
            None => {
                write_status(&src, lens.len());
                if stop.exists() && last_frame.elapsed() > Duration::from_secs(1) {
                    break;
                }
            }
        }
        if src.is_down() != was_down {
            was_down = src.is_down();
            write_status(&src, lens.len());
        }
    }
    write_status(&src, lens.len());
    let drops = src.drop_stats().unwrap();
    let result = json!({
        "lengths": lens,
        "caplens_ok": caplens_ok,
        "first_ts": ts.first(),
        "last_ts": ts.last(),
        "ts_sorted": ts.windows(2).all(|w| w[0] <= w[1]),
        "opened_at": opened_at,
        "before_outage": before_outage,
        "outages": src.outages(),
        "idles": idles,
        "errors": errors,
        "received": drops.received,
        "dropped_kernel": drops.dropped_kernel,
        "dropped_interface": drops.dropped_interface,
        "logs": *LOGS.lock().unwrap(),
    });
    write_json(p["result"].as_str().unwrap(), &result);
}

/// On a silent interface `pull` returns `Idle` with the wall clock within about one poll
/// interval, in both delivery modes (libpcap's own read timeout does not fire there).
/// `iface`: a silent interface.
fn idle(p: &Value) {
    let iface = str_param(p, "iface");
    for immediate in [false, true] {
        let poll = Duration::from_millis(200);
        let mut src = LiveSource::open(LiveOptions {
            immediate,
            poll,
            ..LiveOptions::new(iface)
        })
        .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..5 {
            let start = Instant::now();
            let before = wall_ns();
            let now = match src.pull().unwrap_or_else(|e| panic!("{e}")) {
                Pull::Idle { now } => now.expect("a live source's idle carries the wall clock"),
                other => panic!("expected Idle on a silent interface, got {other:?}"),
            };
            let took = start.elapsed();
            assert!(
                took < Duration::from_millis(600),
                "immediate={immediate}: pull took {took:?} with a poll of {poll:?}"
            );
            assert!(
                now.0 >= before && now.0 <= wall_ns(),
                "idle time {} not the wall clock",
                now.0
            );
        }
        assert_eq!(src.drop_stats().unwrap().received, 0);
    }
}

/// Startup errors of [`LiveSource`] inside namespace A (as root): a missing interface, a
/// bad filter, monitor mode on a veth (`iface`).
fn open_errors(p: &Value) {
    let iface = str_param(p, "iface");
    let err = LiveSource::open(LiveOptions::new("lpknosuch0"))
        .err()
        .expect("a missing interface must not open")
        .to_string();
    assert!(err.contains("lpknosuch0"), "{err}");
    assert!(err.contains("no such interface"), "{err}");
    // The hint lists what exists in this namespace.
    assert!(err.contains("available interfaces:"), "{err}");
    assert!(err.contains(iface) && err.contains("lo"), "{err}");

    let bad = "ether src 68:db:f5:90:19:64 and port ^^ nonsense";
    let err = LiveSource::open(LiveOptions {
        filter: Some(bad.to_string()),
        ..LiveOptions::new(iface)
    })
    .err()
    .expect("a bad filter must not open")
    .to_string();
    assert!(
        err.contains(&format!("bad capture filter '{bad}'")),
        "{err}"
    );
    assert!(err.contains("syntax error"), "libpcap's message: {err}");

    let err = LiveSource::open(LiveOptions {
        monitor_mode: true,
        ..LiveOptions::new(iface)
    })
    .err()
    .expect("a veth has no monitor mode")
    .to_string();
    assert!(err.contains("monitor mode"), "{err}");
    assert!(err.contains("hint:"), "{err}");

    // A good filter opens.
    let src = LiveSource::open(LiveOptions {
        filter: Some(format!("ether src {ECHO}")),
        ..LiveOptions::new(iface)
    });
    assert!(src.is_ok(), "{:?}", src.err());
}

/// Opening as an unprivileged user: the error gives the setcap command for this program.
fn no_permission() {
    let err = LiveSource::open(LiveOptions::new("lo"))
        .err()
        .expect("an unprivileged user must not be able to capture");
    let exe = std::env::current_exe()
        .unwrap()
        .canonicalize()
        .unwrap()
        .display()
        .to_string();
    let hint = err.hint.clone().unwrap_or_default();
    assert!(
        hint.contains(&format!("sudo setcap cap_net_raw,cap_net_admin+ep {exe}")),
        "{err}"
    );
    assert!(err.to_string().contains("no permission"), "{err}");
    // The calling test checks the command names this program's path, as it sees it.
    println!("hint: {hint}");
}
