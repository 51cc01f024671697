//! Alerts: webhook to a test HTTP server, MQTT through a real mosquitto on loopback.
//!
//! The library API (`leakypick_app::monitor::alert`) runs in-process. The webhook's server is a
//! hand-written HTTP/1.1 reader on 127.0.0.1; MQTT is checked with the real broker and
//! the real `mosquitto_sub` (independent of rumqttc). A missing mosquitto fails the
//! tests: they must not pass without checking anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leakypick_app::monitor::alert::{
    Alert, AlertError, AlertKind, Alerter, AlerterOptions, Delivery, DeviceInfo, VERSION,
};
use leakypick_app::monitor::config::{AlertsConfig, MqttConfig, WebhookConfig};
use leakypick_core::time::Timestamp;
use leakypick_core::Mac;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Alerts and devices

/// 2019-11-16T08:47:06.279Z, the start of the Echo Dot burst in the bundled sample.
const T0: i64 = 1_573_894_026_279_000_000;

fn mac(last: u8) -> Mac {
    Mac([0x68, 0xdb, 0xf5, 0x90, 0x19, last])
}

fn node(m: Mac) -> String {
    m.to_string().replace(':', "")
}

fn echo(last: u8) -> DeviceInfo {
    DeviceInfo {
        device: mac(last).into(),
        name: Some("Kitchen Echo".into()),
        vendor: Some("Amazon Technologies Inc.".into()),
    }
}

fn params() -> Value {
    json!({"window_s": 1.0, "threshold_kbps": 23.0, "min_windows": 2})
}

/// A Started alert `offset_s` seconds after [`T0`].
fn started(device: &DeviceInfo, offset_s: i64) -> Alert {
    Alert {
        kind: AlertKind::Started,
        device: device.clone(),
        detection_id: Some(7),
        start: Timestamp(T0 + offset_s * Timestamp::NANOS_PER_SEC),
        end: None,
        rule: "burst".into(),
        params: params(),
        bytes: 120_000,
        peak_bps: 615_468.0,
        threshold_bps: 23_000.0,
    }
}

/// The Ended alert of `a`, 6 s later.
fn ended(a: &Alert) -> Alert {
    Alert {
        kind: AlertKind::Ended,
        end: Some(Timestamp(a.start.0 + 6 * Timestamp::NANOS_PER_SEC)),
        bytes: 224_138,
        ..a.clone()
    }
}

fn no_channels(min_interval_s: u32) -> AlertsConfig {
    AlertsConfig {
        min_interval_s,
        webhook: None,
        mqtt: None,
    }
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------
// Log capture (the terminal channel)

struct Capture;

static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());
static CAPTURE: Capture = Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("leakypick_app::monitor::alert")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
            lines.push((r.level(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&CAPTURE).expect("no other logger in the test binary");
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// Captured log lines containing `needle`.
fn logged(needle: &str) -> Vec<(log::Level, String)> {
    let lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .iter()
        .filter(|(_, l)| l.contains(needle))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------
// A test HTTP server

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

struct HttpServer {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl HttpServer {
    /// Answers with `statuses` in turn, then 200.
    fn start(statuses: &[u16]) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(
            statuses.iter().copied().collect::<VecDeque<_>>(),
        ));
        let reqs = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let reqs = Arc::clone(&reqs);
                let statuses = Arc::clone(&statuses);
                std::thread::spawn(move || serve(stream, &reqs, &statuses));
            }
        });
        HttpServer { url, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn wait_requests(&self, n: usize) -> Vec<Request> {
        wait_until(&format!("{n} request(s)"), Duration::from_secs(10), || {
            self.requests.lock().unwrap().len() >= n
        });
        self.requests()
    }
}

/// Reads requests from one connection (keep-alive) and answers each.
fn serve(stream: TcpStream, reqs: &Mutex<Vec<Request>>, statuses: &Mutex<VecDeque<u16>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        assert_eq!(parts.next(), Some("HTTP/1.1"), "request line {line:?}");
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').expect("header line");
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        reqs.lock().unwrap().push(Request {
            method,
            path,
            headers,
            body,
        });
        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
        let reply = format!("HTTP/1.1 {status} Test\r\nContent-Length: 0\r\n\r\n");
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn webhook_config(url: &str, min_interval_s: u32) -> AlertsConfig {
    AlertsConfig {
        min_interval_s,
        webhook: Some(WebhookConfig {
            url: url.to_string(),
            timeout_s: 5.0,
            headers: BTreeMap::from([
                ("Authorization".to_string(), "Bearer s3cret".to_string()),
                ("X-Home".to_string(), "test".to_string()),
            ]),
        }),
        mqtt: None,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The documented body fields, in order (docs/alerts.md).
const BODY_FIELDS: [&str; 18] = [
    "event",
    "mac",
    "name",
    "vendor",
    "detection_id",
    "start",
    "end",
    "start_time",
    "end_time",
    "rule",
    "params",
    "bytes",
    "peak_bps",
    "threshold_bps",
    "suppressed",
    "source",
    "version",
    "device",
];

fn assert_body(b: &Value, a: &Alert, suppressed: u64) {
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BODY_FIELDS, "{b}");
    let event = match a.kind {
        AlertKind::Started => "streaming_started",
        AlertKind::Ended => "streaming_ended",
    };
    assert_eq!(b["event"], event);
    assert_eq!(b["mac"], a.device.device.to_string());
    assert_eq!(b["device"], a.device.device.to_string());
    assert_eq!(b["name"], json!(a.device.name));
    assert_eq!(b["vendor"], json!(a.device.vendor));
    assert_eq!(b["detection_id"], json!(a.detection_id));
    let start = b["start"].as_f64().expect("start is a number");
    assert!((start - a.start.as_secs_f64()).abs() < 1e-6, "{b}");
    match a.end {
        Some(e) => {
            assert!((b["end"].as_f64().unwrap() - e.as_secs_f64()).abs() < 1e-6);
        }
        None => {
            assert!(b["end"].is_null());
            assert!(b["end_time"].is_null());
        }
    }
    assert_eq!(b["rule"], "burst");
    assert_eq!(b["params"], params());
    assert_eq!(b["bytes"], a.bytes);
    assert_eq!(b["peak_bps"], a.peak_bps);
    assert_eq!(b["threshold_bps"], a.threshold_bps);
    assert_eq!(b["suppressed"], suppressed);
    assert_eq!(b["source"], "leakypick");
    assert_eq!(b["version"], VERSION);
}

// ---------------------------------------------------------------------------------
// Webhook tests

#[test]
fn webhook_posts_the_documented_json() {
    capture_logs();
    let server = HttpServer::start(&[]);
    let url = format!("{}/hooks/leakypick?home=1", server.url);
    let mut alerter = Alerter::new(&webhook_config(&url, 0)).unwrap();
    let dev = echo(0x01);
    alerter.device(&dev);
    let s = started(&dev, 0);
    let e = ended(&s);
    assert_eq!(alerter.alert(s.clone()), Delivery::Sent);
    assert_eq!(alerter.alert(e.clone()), Delivery::Sent);
    let reqs = server.wait_requests(2);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hooks/leakypick?home=1");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
        assert_eq!(r.header("x-home"), Some("test"));
        assert!(
            r.header("user-agent").unwrap().starts_with("leakypick/"),
            "{r:?}"
        );
    }
    let first = reqs[0].json();
    assert_body(&first, &s, 0);
    assert_eq!(first["start_time"], "2019-11-16T08:47:06.279Z");
    assert_eq!(first["detection_id"], 7);
    let second = reqs[1].json();
    assert_body(&second, &e, 0);
    assert_eq!(second["end_time"], "2019-11-16T08:47:12.279Z");
    assert_eq!(second["bytes"], 224_138);

    let stats = alerter.shutdown(Duration::from_secs(5));
    assert_eq!(stats.webhook.sent, 2);
    assert_eq!(stats.webhook.failed, 0);
    assert_eq!(server.requests().len(), 2);

    // The terminal/log channel.
    let lines = logged("68:db:f5:90:19:01");
    assert!(
        lines.iter().any(|(level, l)| *level == log::Level::Warn
            && l == "Kitchen Echo (68:db:f5:90:19:01, Amazon Technologies Inc.) is streaming \
                     to the cloud: rule burst, peak 615 kbit/s > 23 kbit/s, since \
                     2019-11-16T08:47:06.279Z"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(level, l)| *level == log::Level::Info
            && l.contains("stopped streaming")
            && l.contains("6.0 s")
            && l.contains("224138 bytes")),
        "{lines:?}"
    );
}

#[test]
fn webhook_rate_limits_per_device_by_packet_time() {
    capture_logs();
    let server = HttpServer::start(&[]);
    let mut alerter = Alerter::new(&webhook_config(&server.url, 300)).unwrap();
    let dev = echo(0x02);
    let other = DeviceInfo {
        device: mac(0x03).into(),
        name: None,
        vendor: None,
    };
    let mut deliveries = Vec::new();
    // Three streams 10 s apart: only the first is sent, with its end.
    for offset in [0, 10, 20] {
        let s = started(&dev, offset);
        deliveries.push(alerter.alert(s.clone()));
        deliveries.push(alerter.alert(ended(&s)));
    }
    // Another device is not limited by the first one.
    let o = started(&other, 15);
    deliveries.push(alerter.alert(o.clone()));
    // After the interval (judged by packet time), the next one goes out.
    let late = started(&dev, 320);
    deliveries.push(alerter.alert(late.clone()));
    deliveries.push(alerter.alert(ended(&late)));
    use Delivery::*;
    assert_eq!(
        deliveries,
        [
            Sent,
            Sent,
            RateLimited,
            RateLimited,
            RateLimited,
            RateLimited,
            Sent,
            Sent,
            Sent
        ]
    );
    let reqs = server.wait_requests(5);
    let summary: Vec<(String, String, u64)> = reqs
        .iter()
        .map(|r| {
            let b = r.json();
            (
                b["event"].as_str().unwrap().to_string(),
                b["mac"].as_str().unwrap().to_string(),
                b["suppressed"].as_u64().unwrap(),
            )
        })
        .collect();
    let d = dev.device.to_string();
    let o = other.device.to_string();
    assert_eq!(
        summary,
        [
            ("streaming_started".to_string(), d.clone(), 0),
            ("streaming_ended".to_string(), d.clone(), 0),
            ("streaming_started".to_string(), o, 0),
            ("streaming_started".to_string(), d.clone(), 2),
            ("streaming_ended".to_string(), d, 0),
        ]
    );
    assert_body(&reqs[3].json(), &late, 2);
    let stats = alerter.shutdown(Duration::from_secs(5));
    assert_eq!(stats.webhook.sent, 5);
    assert_eq!(stats.webhook.rate_limited, 4);
    assert_eq!(server.requests().len(), 5, "nothing else was posted");
    // Rate-limited alerts are still logged.
    let lines = logged("68:db:f5:90:19:02");
    assert_eq!(
        lines
            .iter()
            .filter(|(lvl, l)| *lvl == log::Level::Warn && l.contains("is streaming"))
            .count(),
        4,
        "{lines:?}"
    );
}

#[test]
fn webhook_retries_a_server_error() {
    let server = HttpServer::start(&[500]);
    let options = AlerterOptions {
        retry_backoff: Duration::from_millis(200),
        ..AlerterOptions::default()
    };
    let mut alerter = Alerter::with_options(&webhook_config(&server.url, 0), options).unwrap();
    let s = started(&echo(0x04), 0);
    assert_eq!(alerter.alert(s.clone()), Delivery::Sent);
    let reqs = server.wait_requests(2);
    assert_eq!(reqs[0].body, reqs[1].body, "the same body is retried");
    assert_body(&reqs[1].json(), &s, 0);
    let stats = alerter.shutdown(Duration::from_secs(5));
    assert_eq!((stats.webhook.sent, stats.webhook.failed), (1, 0));
    assert_eq!(server.requests().len(), 2, "delivered once, not more");
}

#[test]
fn webhook_to_a_closed_port_fails_without_blocking() {
    capture_logs();
    let url = format!("http://127.0.0.1:{}/hook", free_port());
    let options = AlerterOptions {
        webhook_retries: 2,
        retry_backoff: Duration::from_millis(50),
        ..AlerterOptions::default()
    };
    let t = Instant::now();
    let mut alerter = Alerter::with_options(&webhook_config(&url, 0), options).unwrap();
    assert_eq!(alerter.alert(started(&echo(0x05), 0)), Delivery::Sent);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    wait_until("the failure", Duration::from_secs(10), || {
        alerter.stats().webhook.failed == 1
    });
    let stats = alerter.shutdown(Duration::from_secs(2));
    assert_eq!((stats.webhook.sent, stats.webhook.failed), (0, 1));
    let lines = logged("could not deliver streaming_started of 68:db:f5:90:19:05");
    assert!(
        lines.iter().any(|(lvl, l)| *lvl == log::Level::Warn
            && l.contains(&url)
            && l.contains("3 attempt")),
        "{lines:?}"
    );
}

#[test]
fn webhook_queue_full_drops_and_shutdown_keeps_its_deadline() {
    let url = format!("http://127.0.0.1:{}/hook", free_port());
    let options = AlerterOptions {
        queue_capacity: 1,
        webhook_retries: 5,
        retry_backoff: Duration::from_secs(5),
        ..AlerterOptions::default()
    };
    let mut alerter = Alerter::with_options(&webhook_config(&url, 0), options).unwrap();
    let dev = echo(0x06);
    let t = Instant::now();
    let deliveries: Vec<Delivery> = (0..5)
        .map(|i| alerter.alert(started(&dev, i * 1000)))
        .collect();
    assert!(t.elapsed() < Duration::from_millis(500));
    let dropped = deliveries
        .iter()
        .filter(|d| **d == Delivery::Dropped)
        .count() as u64;
    // One alert in delivery, one queued: the others are dropped.
    assert!(dropped >= 3, "{deliveries:?}");
    assert_eq!(alerter.stats().webhook.dropped, dropped);
    let t = Instant::now();
    let stats = alerter.shutdown(Duration::from_millis(500));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(stats.webhook.sent, 0);
    assert_eq!(stats.webhook.dropped, dropped);
    assert_eq!(stats.webhook.failed + dropped, 5, "{stats:?}");
}

#[test]
fn bad_webhook_settings_are_refused() {
    let mut c = webhook_config("ftp://example.com/x", 0);
    let err = Alerter::new(&c).err().expect("refused").to_string();
    assert!(err.contains("alerts.webhook.url"), "{err}");
    c.webhook.as_mut().unwrap().url = "http://127.0.0.1:1/".into();
    c.webhook
        .as_mut()
        .unwrap()
        .headers
        .insert("Bad Header".into(), "x".into());
    let err = Alerter::new(&c).err().expect("refused").to_string();
    assert!(err.contains("Bad Header"), "{err}");
}

// ---------------------------------------------------------------------------------
// Password file

fn mqtt_config(port: u16, prefix: &str) -> MqttConfig {
    MqttConfig {
        host: "127.0.0.1".into(),
        port,
        username: None,
        password_file: None,
        topic_prefix: prefix.into(),
        discovery_prefix: format!("{prefix}-ha"),
        client_id: format!("{prefix}-client"),
    }
}

#[test]
fn mqtt_password_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mqtt-password");
    let mut m = mqtt_config(1883, "lpk-pw");
    m.username = Some("leakypick".into());
    m.password_file = Some(missing.clone());
    let config = AlertsConfig {
        min_interval_s: 300,
        webhook: None,
        mqtt: Some(m.clone()),
    };
    let err = Alerter::new(&config).err().expect("refused");
    assert!(matches!(err, AlertError::PasswordFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("password file"), "{msg}");

    std::fs::write(&missing, "\n").unwrap();
    let msg = Alerter::new(&config).err().expect("refused").to_string();
    assert!(
        msg.contains("is empty") && msg.contains(&missing.display().to_string()),
        "{msg}"
    );

    std::fs::write(&missing, "pa ss\n").unwrap();
    m.username = None;
    let config = AlertsConfig {
        mqtt: Some(m),
        ..config
    };
    let msg = Alerter::new(&config).err().expect("refused").to_string();
    assert!(msg.contains("alerts.mqtt.username"), "{msg}");
}

// ---------------------------------------------------------------------------------
// mosquitto

/// A mosquitto binary: PATH, then /usr/sbin (Debian installs the broker there).
fn mosquitto_bin(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is required by the MQTT alert tests (Debian: apt-get install \
                 mosquitto mosquitto-clients); not found in PATH or /usr/sbin"
            )
        })
}

/// A real mosquitto on loopback, killed on drop.
struct Broker {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Broker {
            child: None,
            port: free_port(),
            dir,
        };
        b.run();
        b
    }

    fn run(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence false\n",
                self.port
            ),
        )
        .unwrap();
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).unwrap();
        let mut child = Command::new(mosquitto_bin("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto: {e}"));
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("mosquitto exited ({status}): {}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < end,
                "mosquitto does not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One message as `mosquitto_sub -F '%r %t %p'` prints it.
#[derive(Debug, Clone, PartialEq)]
struct Msg {
    retained: bool,
    topic: String,
    payload: String,
}

impl Msg {
    fn json(&self) -> Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.topic, self.payload))
    }
}

fn parse_msg(line: &str) -> Option<Msg> {
    let mut parts = line.splitn(3, ' ');
    let retained = parts.next()? == "1";
    let topic = parts.next()?.to_string();
    let payload = parts.next().unwrap_or_default().to_string();
    Some(Msg {
        retained,
        topic,
        payload,
    })
}

fn sub_command(port: u16) -> Command {
    let mut c = Command::new(mosquitto_bin("mosquitto_sub"));
    c.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "#"])
        .args(["-F", "%r %t %p"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// `mosquitto_sub -t '#'` running in the background, recording every message.
struct Sub {
    child: Child,
    msgs: Arc<Mutex<Vec<Msg>>>,
}

impl Sub {
    /// Subscribes and waits until a message published now is seen.
    fn start(port: u16) -> Sub {
        let mut child = sub_command(port)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto_sub: {e}"));
        let out = child.stdout.take().unwrap();
        let msgs = Arc::new(Mutex::new(Vec::new()));
        let m = Arc::clone(&msgs);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(msg) = parse_msg(&line) {
                    m.lock().unwrap().push(msg);
                }
            }
        });
        let sub = Sub { child, msgs };
        let end = Instant::now() + Duration::from_secs(10);
        while !sub.all().iter().any(|m| m.topic == "test/ready") {
            assert!(Instant::now() < end, "mosquitto_sub did not subscribe");
            let _ = Command::new(mosquitto_bin("mosquitto_pub"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-t", "test/ready", "-m", "1"])
                .status();
            std::thread::sleep(Duration::from_millis(100));
        }
        sub
    }

    fn all(&self) -> Vec<Msg> {
        self.msgs.lock().unwrap().clone()
    }

    fn on(&self, topic: &str) -> Vec<Msg> {
        self.all()
            .into_iter()
            .filter(|m| m.topic == topic)
            .collect()
    }

    /// Waits for the `n`-th message on `topic` and returns it.
    fn wait(&self, topic: &str, n: usize) -> Msg {
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            let on = self.on(topic);
            if on.len() >= n {
                return on[n - 1].clone();
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for message {n} on {topic}; got:\n{:#?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a message on `topic` with `payload`.
    fn wait_payload(&self, topic: &str, payload: &str) {
        let end = Instant::now() + Duration::from_secs(15);
        while !self.on(topic).iter().any(|m| m.payload == payload) {
            assert!(
                Instant::now() < end,
                "timed out waiting for {payload:?} on {topic}; got:\n{:#?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the latest message on `topic` has `payload`.
    fn wait_latest(&self, topic: &str, payload: &str) {
        let end = Instant::now() + Duration::from_secs(15);
        while self.on(topic).last().map(|m| m.payload.as_str()) != Some(payload) {
            assert!(
                Instant::now() < end,
                "timed out waiting for {payload:?} as the latest on {topic}; got:\n{:#?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the broker retains now: topic → payload (every message must be retained).
fn retained(port: u16) -> BTreeMap<String, String> {
    let out = sub_command(port)
        .args(["--retained-only", "-W", "1"])
        .stdout(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mosquitto_sub: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(parse_msg)
        .map(|m| {
            assert!(m.retained, "{m:?}");
            (m.topic, m.payload)
        })
        .collect()
}

/// A TCP relay between the alerter and the broker that the test can close ("the
/// network is down": connections are refused) and cut (connections break, so the
/// broker publishes the last will).
struct Relay {
    port: u16,
    open: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: u16, open: bool) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(open));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (o, c) = (Arc::clone(&open), Arc::clone(&conns));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut list = c.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(up.try_clone().unwrap());
                drop(list);
                pipe(client.try_clone().unwrap(), up.try_clone().unwrap());
                pipe(up, client);
            }
        });
        Relay { port, open, conns }
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }

    /// Breaks every relayed connection.
    fn cut(&self) {
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn mqtt_alerts(port: u16, prefix: &str, min_interval_s: u32) -> AlertsConfig {
    AlertsConfig {
        min_interval_s,
        webhook: None,
        mqtt: Some(mqtt_config(port, prefix)),
    }
}

fn fast_reconnect() -> AlerterOptions {
    AlerterOptions {
        reconnect_min: Duration::from_millis(100),
        reconnect_max: Duration::from_millis(500),
        ..AlerterOptions::default()
    }
}

/// The discovery config leakypick publishes for `dev` under the test prefixes.
fn expected_discovery(prefix: &str, dev: &DeviceInfo) -> Value {
    let n = node(dev.device.mac().unwrap());
    json!({
        "name": "Streaming audio",
        "unique_id": format!("leakypick_{n}_streaming"),
        "object_id": format!("leakypick_{n}_streaming"),
        "default_entity_id": format!("binary_sensor.leakypick_{n}_streaming"),
        "state_topic": format!("{prefix}/{n}/streaming"),
        "payload_on": "ON",
        "payload_off": "OFF",
        "availability_topic": format!("{prefix}/status"),
        "payload_available": "online",
        "payload_not_available": "offline",
        "json_attributes_topic": format!("{prefix}/{n}/attributes"),
        "device_class": "sound",
        "icon": "mdi:microphone-message",
        "device": {
            "identifiers": [format!("leakypick_{n}")],
            "connections": [["mac", dev.device.to_string()]],
            "name": dev.name.clone().unwrap(),
            "manufacturer": dev.vendor.clone().unwrap(),
        },
        "origin": {
            "name": "leakypick",
            "sw_version": VERSION,
            "support_url": "https://github.com/leakypick/leakypick",
        },
    })
}

// ---------------------------------------------------------------------------------
// MQTT tests

#[test]
fn mqtt_discovery_states_attributes_events() {
    let broker = Broker::start();
    let sub = Sub::start(broker.port);
    let p = "lpk1";
    let mut alerter = Alerter::with_options(&mqtt_alerts(broker.port, p, 300), fast_reconnect())
        .expect("alerter");
    let dev = echo(0x11);
    let n = node(dev.device.mac().unwrap());
    let (config_t, state_t, attrs_t, event_t) = (
        format!("{p}-ha/binary_sensor/leakypick_{n}/streaming/config"),
        format!("{p}/{n}/streaming"),
        format!("{p}/{n}/attributes"),
        format!("{p}/{n}/event"),
    );
    alerter.device(&dev);
    sub.wait_payload(&format!("{p}/status"), "online");
    assert_eq!(sub.wait(&config_t, 1).json(), expected_discovery(p, &dev));
    sub.wait_latest(&state_t, "OFF");
    assert_eq!(alerter.mqtt_connected(), Some(true));

    // Started: state ON, attributes, an event.
    let s = started(&dev, 0);
    assert_eq!(alerter.alert(s.clone()), Delivery::Sent);
    sub.wait_latest(&state_t, "ON");
    let ev = sub.wait(&event_t, 1);
    assert!(!ev.retained);
    assert_body(&ev.json(), &s, 0);
    let attrs = sub.wait(&attrs_t, 1).json();
    assert_eq!(attrs["event"], "streaming_started");
    assert_eq!(attrs["rate_limited"], false);
    assert_eq!(attrs["mac"], dev.device.to_string());

    // Ended: OFF, and the end in the attributes.
    let e = ended(&s);
    assert_eq!(alerter.alert(e.clone()), Delivery::Sent);
    sub.wait_latest(&state_t, "OFF");
    assert_body(&sub.wait(&event_t, 2).json(), &e, 0);
    assert_eq!(sub.wait(&attrs_t, 2).json()["event"], "streaming_ended");

    // Rate-limited: no event, but the state still follows.
    let s2 = started(&dev, 10);
    assert_eq!(alerter.alert(s2.clone()), Delivery::RateLimited);
    sub.wait_latest(&state_t, "ON");
    let attrs = sub.wait(&attrs_t, 3).json();
    assert_eq!(attrs["rate_limited"], true);
    assert_eq!(attrs["suppressed"], 1);
    assert_eq!(alerter.alert(ended(&s2)), Delivery::RateLimited);
    sub.wait_latest(&state_t, "OFF");

    // Announcing again is idempotent; a new name is announced again.
    alerter.device(&dev);
    alerter.device(&dev);
    let renamed = DeviceInfo {
        name: Some("Living room Echo".into()),
        ..dev.clone()
    };
    alerter.device(&renamed);
    assert_eq!(
        sub.wait(&config_t, 2).json(),
        expected_discovery(p, &renamed)
    );

    // Streaming at shutdown: OFF, then offline.
    let s3 = started(&renamed, 400);
    assert_eq!(alerter.alert(s3.clone()), Delivery::Sent);
    let ev = sub.wait(&event_t, 3).json();
    assert_body(&ev, &s3, 1);
    sub.wait_latest(&state_t, "ON");
    let stats = alerter.shutdown(Duration::from_secs(5));
    sub.wait_latest(&state_t, "OFF");
    sub.wait_latest(&format!("{p}/status"), "offline");
    assert_eq!(
        sub.on(&event_t).len(),
        3,
        "no event for rate-limited alerts"
    );
    assert_eq!(sub.on(&config_t).len(), 2, "{:#?}", sub.on(&config_t));
    assert_eq!(stats.mqtt.sent, 3);
    assert_eq!(stats.mqtt.rate_limited, 2);
    assert_eq!((stats.mqtt.failed, stats.mqtt.dropped), (0, 0));

    // What the broker keeps for Home Assistant.
    let kept = retained(broker.port);
    assert_eq!(
        kept.get(&format!("{p}/status")).map(String::as_str),
        Some("offline")
    );
    assert_eq!(kept.get(&state_t).map(String::as_str), Some("OFF"));
    assert_eq!(
        serde_json::from_str::<Value>(&kept[&config_t]).unwrap(),
        expected_discovery(p, &renamed)
    );
    assert_eq!(
        serde_json::from_str::<Value>(&kept[&attrs_t]).unwrap()["start"],
        json!(s3.start.as_secs_f64())
    );
    assert!(!kept.contains_key(&event_t), "events are not retained");
}

#[test]
fn mqtt_republishes_after_a_broker_restart() {
    let mut broker = Broker::start();
    let relay = Relay::start(broker.port, true);
    let p = "lpk2";
    let mut alerter =
        Alerter::with_options(&mqtt_alerts(relay.port, p, 300), fast_reconnect()).unwrap();
    let a = echo(0x21);
    let b = DeviceInfo {
        device: mac(0x22).into(),
        name: None,
        vendor: Some("Google, Inc.".into()),
    };
    let (na, nb) = (node(a.device.mac().unwrap()), node(b.device.mac().unwrap()));
    let sub = Sub::start(broker.port);
    alerter.device(&a);
    let sa = started(&a, 0);
    alerter.alert(sa.clone());
    sub.wait_latest(&format!("{p}/{na}/streaming"), "ON");
    sub.wait(&format!("{p}/{na}/event"), 1);
    drop(sub);

    // The broker goes away (and forgets every retained message: no persistence).
    relay.set_open(false);
    broker.stop();
    wait_until("the alerter to notice", Duration::from_secs(10), || {
        alerter.mqtt_connected() == Some(false)
    });
    // Meanwhile: A stops, B appears and starts. Nothing blocks.
    let t = Instant::now();
    assert_eq!(alerter.alert(ended(&sa)), Delivery::Sent);
    alerter.device(&b);
    let sb = started(&b, 30);
    assert_eq!(alerter.alert(sb.clone()), Delivery::Sent);
    assert!(t.elapsed() < Duration::from_millis(200));

    broker.restart();
    assert!(retained(broker.port).is_empty(), "a fresh broker");
    let sub = Sub::start(broker.port);
    relay.set_open(true);
    sub.wait_payload(&format!("{p}/status"), "online");
    sub.wait_latest(&format!("{p}/{na}/streaming"), "OFF");
    sub.wait_latest(&format!("{p}/{nb}/streaming"), "ON");
    // The events that happened while the broker was away.
    assert_body(
        &sub.wait(&format!("{p}/{na}/event"), 1).json(),
        &ended(&sa),
        0,
    );
    assert_body(&sub.wait(&format!("{p}/{nb}/event"), 1).json(), &sb, 0);

    let kept = retained(broker.port);
    let config_a = format!("{p}-ha/binary_sensor/leakypick_{na}/streaming/config");
    let config_b = format!("{p}-ha/binary_sensor/leakypick_{nb}/streaming/config");
    assert_eq!(
        serde_json::from_str::<Value>(&kept[&config_a]).unwrap(),
        expected_discovery(p, &a)
    );
    let cb: Value = serde_json::from_str(&kept[&config_b]).unwrap();
    assert_eq!(cb["device"]["name"], "Google, Inc. 68:db:f5:90:19:22");
    assert_eq!(cb["device"]["manufacturer"], "Google, Inc.");
    assert_eq!(kept[&format!("{p}/status")], "online");
    assert_eq!(
        serde_json::from_str::<Value>(&kept[&format!("{p}/{na}/attributes")]).unwrap()["event"],
        "streaming_ended"
    );

    let stats = alerter.shutdown(Duration::from_secs(5));
    sub.wait_latest(&format!("{p}/{nb}/streaming"), "OFF");
    sub.wait_latest(&format!("{p}/status"), "offline");
    assert_eq!(stats.mqtt.sent, 3);
    assert_eq!((stats.mqtt.failed, stats.mqtt.dropped), (0, 0));
}

#[test]
fn mqtt_broker_down_at_start_and_last_will() {
    let broker = Broker::start();
    let relay = Relay::start(broker.port, false);
    let sub = Sub::start(broker.port);
    let p = "lpk3";
    let status = format!("{p}/status");
    // The broker is unreachable: not an error, and nothing blocks.
    let t = Instant::now();
    let mut alerter =
        Alerter::with_options(&mqtt_alerts(relay.port, p, 0), fast_reconnect()).unwrap();
    let dev = echo(0x31);
    alerter.device(&dev);
    let s = started(&dev, 0);
    assert_eq!(alerter.alert(s.clone()), Delivery::Sent);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(alerter.mqtt_connected(), Some(false));
    assert!(sub.all().iter().all(|m| m.topic == "test/ready"));

    // The network comes back: everything is delivered.
    relay.set_open(true);
    sub.wait_payload(&status, "online");
    let n = node(dev.device.mac().unwrap());
    sub.wait_latest(&format!("{p}/{n}/streaming"), "ON");
    assert_body(&sub.wait(&format!("{p}/{n}/event"), 1).json(), &s, 0);

    // A broken connection: the broker publishes the last will, "offline", retained.
    relay.set_open(false);
    relay.cut();
    sub.wait_latest(&status, "offline");
    assert_eq!(retained(broker.port)[&status], "offline");
    relay.set_open(true);
    sub.wait_latest(&status, "online");

    // Dropped without a shutdown (a crash): the last will again.
    drop(alerter);
    sub.wait_latest(&status, "offline");
    assert_eq!(retained(broker.port)[&status], "offline");
    // The device was streaming when the alerter vanished: the state is not touched,
    // availability "offline" tells Home Assistant it is unknown.
    assert_eq!(retained(broker.port)[&format!("{p}/{n}/streaming")], "ON");
}

#[test]
fn log_only_alerter_needs_no_channel() {
    capture_logs();
    let mut alerter = Alerter::new(&no_channels(300)).unwrap();
    let dev = DeviceInfo {
        device: mac(0x41).into(),
        name: None,
        vendor: None,
    };
    alerter.device(&dev);
    assert_eq!(alerter.alert(started(&dev, 0)), Delivery::Sent);
    assert_eq!(alerter.alert(started(&dev, 10)), Delivery::RateLimited);
    assert_eq!(alerter.mqtt_connected(), None);
    let stats = alerter.shutdown(Duration::from_secs(1));
    assert_eq!(stats, Default::default());
    let lines = logged("68:db:f5:90:19:41 is streaming to the cloud");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].1.contains("not sent: rate limit"), "{lines:?}");
}
