//! Alerts: the terminal/log, a webhook, MQTT with Home Assistant discovery.
//!
//! The live monitor runs on one thread that must never wait for the network, so the
//! [`Alerter`] only decides and queues: it logs every alert at once, applies the
//! per-device rate limit (judged by packet time, so replays are deterministic), and
//! hands the JSON to background threads:
//!
//! - `webhook.rs`: one thread POSTing from a bounded queue, with retries and backoff;
//! - `mqtt.rs`: a thread polling the rumqttc `Connection` (which reconnects by itself)
//!   and a thread publishing the current device states, discovery configs and events.
//!
//! The JSON shapes and topics are a stable interface, documented in `docs/alerts.md`.

mod mqtt;
mod webhook;

use crate::monitor::config::AlertsConfig;
use leakypick_core::time::Timestamp;
use leakypick_core::DeviceKey;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The `source` field of every alert body.
pub const SOURCE: &str = "leakypick";
/// The `version` field of every alert body: this crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A device as alerts name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The MAC address, or the IP address of a device seen without one.
    pub device: DeviceKey,
    /// The user's name for the device, else the hostname it announced.
    pub name: Option<String>,
    /// The vendor of the MAC address (IEEE OUI).
    pub vendor: Option<String>,
}

impl DeviceInfo {
    /// A device known only by its MAC (or IP) address.
    pub fn new(device: impl Into<DeviceKey>) -> DeviceInfo {
        DeviceInfo {
            device: device.into(),
            name: None,
            vendor: None,
        }
    }

    /// How logs name the device: `Kitchen (68:db:.., Amazon)`, `68:db:.. (Amazon)`.
    pub fn label(&self) -> String {
        match (&self.name, &self.vendor) {
            (Some(n), Some(v)) => format!("{n} ({}, {v})", self.device),
            (Some(n), None) => format!("{n} ({})", self.device),
            (None, Some(v)) => format!("{} ({v})", self.device),
            (None, None) => self.device.to_string(),
        }
    }
}

/// Whether a device started or stopped streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Started,
    Ended,
}

impl AlertKind {
    /// The `event` field of the JSON body.
    pub fn event_name(self) -> &'static str {
        match self {
            AlertKind::Started => "streaming_started",
            AlertKind::Ended => "streaming_ended",
        }
    }
}

/// One detection event, as the monitor reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: AlertKind,
    pub device: DeviceInfo,
    /// Id of the detection row in the history, when it was stored.
    pub detection_id: Option<i64>,
    /// When the upload started (packet time).
    pub start: Timestamp,
    /// When it ended (packet time); `Some` for [`AlertKind::Ended`].
    pub end: Option<Timestamp>,
    /// The rule that fired, e.g. `"burst"`.
    pub rule: String,
    /// The rule's parameters, e.g. `{"window_s":1,"threshold_kbps":23,"min_windows":2}`.
    pub params: serde_json::Value,
    /// Upload bytes so far (Started) or in total (Ended).
    pub bytes: u64,
    /// The highest window rate, bit/s.
    pub peak_bps: f64,
    /// The rate threshold the device crossed, bit/s.
    pub threshold_bps: f64,
}

impl Alert {
    /// The JSON body of the webhook (and the MQTT event and attributes payloads).
    /// `mac` is `null` for a device known only by IP address; `device` is the device's
    /// id (the MAC, or the IP).
    /// `suppressed`: rate-limited Started alerts of this device since the last one
    /// sent. The shape is documented in `docs/alerts.md`; fields are only ever added.
    pub fn to_json(&self, suppressed: u32) -> serde_json::Value {
        serde_json::json!({
            "event": self.kind.event_name(),
            "mac": self.device.device.mac().map(|m| m.to_string()),
            "name": self.device.name,
            "vendor": self.device.vendor,
            "detection_id": self.detection_id,
            "start": self.start.as_secs_f64(),
            "end": self.end.map(Timestamp::as_secs_f64),
            "start_time": rfc3339(self.start),
            "end_time": self.end.map(rfc3339),
            "rule": self.rule,
            "params": self.params,
            "bytes": self.bytes,
            "peak_bps": self.peak_bps,
            "threshold_bps": self.threshold_bps,
            "suppressed": suppressed,
            "source": SOURCE,
            "version": VERSION,
            "device": self.device.device.to_string(),
        })
    }
}

/// What [`Alerter::alert`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Logged and queued on every configured channel (or logged only, when none is).
    Sent,
    /// Logged, but not sent: the device alerted less than `min_interval_s` ago (or
    /// this is the end of a rate-limited stream). MQTT state still follows.
    RateLimited,
    /// Logged, but a channel's queue was full and the alert was dropped there.
    Dropped,
}

/// Counters of one channel. `sent` counts deliveries (webhook: a 2xx answer; MQTT: an
/// event message handed to a live connection), not queued alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelStats {
    pub sent: u64,
    /// Given up: retries exhausted, or still queued when the shutdown deadline passed.
    pub failed: u64,
    /// Not sent because of the per-device rate limit.
    pub rate_limited: u64,
    /// Not queued because the queue was full.
    pub dropped: u64,
}

/// Counters per channel (a channel that is not configured stays at zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertStats {
    pub webhook: ChannelStats,
    pub mqtt: ChannelStats,
}

/// Tuning of the background delivery; [`Default`] is what the monitor uses.
#[derive(Debug, Clone, PartialEq)]
pub struct AlerterOptions {
    /// Alerts queued per channel at most (webhook: POSTs waiting; MQTT: event messages
    /// waiting for a connection). A full queue drops the alert with a warning.
    pub queue_capacity: usize,
    /// Webhook: retries after a failed POST (so `1 + retries` attempts).
    pub webhook_retries: u32,
    /// Webhook: wait before the first retry; doubled for each further retry.
    pub retry_backoff: Duration,
    /// MQTT: wait before the first reconnection attempt; doubled up to `reconnect_max`.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// MQTT keep-alive interval (the broker declares the client dead after 1.5x).
    pub keep_alive: Duration,
}

impl Default for AlerterOptions {
    fn default() -> Self {
        AlerterOptions {
            queue_capacity: 1000,
            webhook_retries: 3,
            retry_backoff: Duration::from_secs(1),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            keep_alive: Duration::from_secs(30),
        }
    }
}

/// Why the alert channels could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("cannot read the MQTT password file {}: {source}", path.display())]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the MQTT password file {} is empty", path.display())]
    EmptyPasswordFile { path: PathBuf },
    #[error(
        "`alerts.mqtt.password_file` ({}) is set but `alerts.mqtt.username` is not: \
         MQTT sends a password only together with a user name",
        path.display()
    )]
    PasswordWithoutUsername { path: PathBuf },
    /// A setting the config file's validation would also refuse (`key` is dotted).
    #[error("`{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Per-device rate-limit state.
#[derive(Debug, Default)]
struct RateState {
    /// Start of the last Started alert that went out.
    last_sent: Option<Timestamp>,
    /// Started alerts rate-limited since the last alert that went out.
    suppressed: u32,
    /// The current stream's Started was rate-limited, so its Ended is not sent either.
    stream_limited: bool,
}

/// Delivers alerts: logs them, rate-limits them per device and queues them for the
/// webhook and MQTT threads. No method waits for the network.
pub struct Alerter {
    min_interval_ns: i64,
    min_interval_s: u32,
    rates: HashMap<DeviceKey, RateState>,
    stats: Arc<Mutex<AlertStats>>,
    webhook: Option<webhook::Webhook>,
    mqtt: Option<mqtt::Mqtt>,
}

impl Alerter {
    /// Sets up the configured channels with the default [`AlerterOptions`].
    ///
    /// Reads the MQTT password file (an error names it) and checks the webhook URL and
    /// headers. Does not connect: an unreachable broker or server is retried in the
    /// background and logged.
    pub fn new(config: &AlertsConfig) -> Result<Alerter, AlertError> {
        Alerter::with_options(config, AlerterOptions::default())
    }

    /// [`Alerter::new`] with explicit queue sizes, retries and backoffs.
    pub fn with_options(
        config: &AlertsConfig,
        options: AlerterOptions,
    ) -> Result<Alerter, AlertError> {
        let stats = Arc::new(Mutex::new(AlertStats::default()));
        // Check both channels before starting any thread.
        let webhook = config
            .webhook
            .as_ref()
            .map(webhook::Settings::new)
            .transpose()?;
        let mqtt = config.mqtt.as_ref().map(mqtt::Settings::new).transpose()?;
        let webhook = webhook
            .map(|s| webhook::Webhook::start(s, &options, Arc::clone(&stats)))
            .transpose()?;
        let mqtt = mqtt
            .map(|s| mqtt::Mqtt::start(s, &options, Arc::clone(&stats)))
            .transpose()?;
        Ok(Alerter {
            min_interval_ns: i64::from(config.min_interval_s) * Timestamp::NANOS_PER_SEC,
            min_interval_s: config.min_interval_s,
            rates: HashMap::new(),
            stats,
            webhook,
            mqtt,
        })
    }

    /// Announces a device (MQTT: its Home Assistant discovery config and state).
    /// Idempotent; a changed name or vendor is announced again. The webhook and the
    /// log are not told.
    pub fn device(&mut self, info: &DeviceInfo) {
        if let Some(m) = &self.mqtt {
            m.device(info);
        }
    }

    /// Logs an alert and queues it on the configured channels. Never blocks.
    pub fn alert(&mut self, alert: Alert) -> Delivery {
        let (passes, suppressed) = self.rate_check(&alert);
        log_alert(&alert, passes, suppressed, self.min_interval_s);
        let body = alert.to_json(suppressed);
        let text = body.to_string();
        let mut dropped = false;
        if let Some(m) = &self.mqtt {
            let mut attributes = body.clone();
            if let Some(map) = attributes.as_object_mut() {
                map.insert("rate_limited".into(), (!passes).into());
            }
            let event = passes.then(|| text.clone());
            dropped |= !m.alert(
                &alert.device,
                alert.kind == AlertKind::Started,
                attributes.to_string(),
                event,
            );
        }
        if let Some(w) = &self.webhook {
            if passes {
                dropped |= !w.send(text, &alert);
            }
        }
        if !passes {
            let mut s = lock(&self.stats);
            if self.webhook.is_some() {
                s.webhook.rate_limited += 1;
            }
            if self.mqtt.is_some() {
                s.mqtt.rate_limited += 1;
            }
            return Delivery::RateLimited;
        }
        if dropped {
            Delivery::Dropped
        } else {
            Delivery::Sent
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> AlertStats {
        *lock(&self.stats)
    }

    /// Whether the MQTT connection is up (`None`: MQTT is not configured).
    pub fn mqtt_connected(&self) -> Option<bool> {
        self.mqtt.as_ref().map(|m| m.connected())
    }

    /// Stops within `deadline`: MQTT publishes every device's state OFF and the
    /// availability "offline", then disconnects; the webhook delivers what is queued.
    /// What is still undelivered at the deadline is counted as failed and logged.
    /// Returns the final counters.
    pub fn shutdown(mut self, deadline: Duration) -> AlertStats {
        let end = Instant::now() + deadline;
        if let Some(m) = &self.mqtt {
            m.begin_shutdown(end);
        }
        if let Some(w) = &mut self.webhook {
            w.begin_shutdown(end);
        }
        if let Some(m) = self.mqtt.take() {
            m.finish_shutdown(end);
        }
        if let Some(w) = self.webhook.take() {
            w.finish_shutdown(end);
        }
        self.stats()
    }

    /// Decides whether the alert goes out; returns it with the `suppressed` count.
    fn rate_check(&mut self, alert: &Alert) -> (bool, u32) {
        let min = self.min_interval_ns;
        let st = self.rates.entry(alert.device.device).or_default();
        match alert.kind {
            AlertKind::Started => {
                let limited = min > 0
                    && st.last_sent.is_some_and(|last| {
                        // A start before the last one (a new replay) is not limited.
                        let since = alert.start.0.saturating_sub(last.0);
                        (0..min).contains(&since)
                    });
                if limited {
                    st.suppressed = st.suppressed.saturating_add(1);
                    st.stream_limited = true;
                    (false, st.suppressed)
                } else {
                    st.last_sent = Some(alert.start);
                    st.stream_limited = false;
                    (true, std::mem::take(&mut st.suppressed))
                }
            }
            AlertKind::Ended => {
                if std::mem::take(&mut st.stream_limited) {
                    (false, st.suppressed)
                } else {
                    (true, std::mem::take(&mut st.suppressed))
                }
            }
        }
    }
}

fn log_alert(alert: &Alert, passes: bool, suppressed: u32, min_interval_s: u32) {
    let who = alert.device.label();
    let since = rfc3339(alert.start);
    let note = if passes {
        String::new()
    } else {
        format!(
            " [not sent: rate limit of one alert per device per {min_interval_s} s; \
             {suppressed} suppressed]"
        )
    };
    match alert.kind {
        AlertKind::Started => log::warn!(
            "{who} is streaming to the cloud: rule {}, peak {} kbit/s > {} kbit/s, since {since}{note}",
            alert.rule,
            kbps(alert.peak_bps),
            kbps(alert.threshold_bps),
        ),
        AlertKind::Ended => {
            let secs = alert.end.map_or(0.0, |e| e.secs_since(alert.start));
            log::info!(
                "{who} stopped streaming to the cloud: {secs:.1} s, {} bytes, peak {} kbit/s \
                 (rule {}, since {since}){note}",
                alert.bytes,
                kbps(alert.peak_bps),
                alert.rule,
            );
        }
    }
}

/// A rate in kbit/s for humans: `615`, `23`, `8.5`.
fn kbps(bps: f64) -> String {
    let k = bps / 1000.0;
    if k.abs() >= 100.0 {
        format!("{k:.0}")
    } else {
        let s = format!("{k:.1}");
        s.strip_suffix(".0").map_or(s.clone(), str::to_string)
    }
}

/// RFC 3339 in UTC with milliseconds, e.g. `2019-11-16T08:47:06.279Z`.
pub fn rfc3339(t: Timestamp) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(t.0)) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => t.to_string(),
    }
}

/// Locks a mutex, also after another thread panicked while holding it (the data are
/// counters and queues that stay consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(start_s: i64) -> Alert {
        Alert {
            kind: AlertKind::Started,
            device: DeviceInfo::new(leakypick_core::Mac([1, 2, 3, 4, 5, 6])),
            detection_id: None,
            start: Timestamp(start_s * Timestamp::NANOS_PER_SEC),
            end: None,
            rule: "burst".into(),
            params: serde_json::json!({}),
            bytes: 1,
            peak_bps: 1.0,
            threshold_bps: 1.0,
        }
    }

    fn ended(a: &Alert) -> Alert {
        Alert {
            kind: AlertKind::Ended,
            end: Some(Timestamp(a.start.0 + 5 * Timestamp::NANOS_PER_SEC)),
            ..a.clone()
        }
    }

    #[test]
    fn rate_limit_by_packet_time() {
        let config = AlertsConfig {
            min_interval_s: 300,
            webhook: None,
            mqtt: None,
        };
        let mut a = Alerter::new(&config).unwrap();
        let mut out = Vec::new();
        for s in [0, 10, 20, 400, 410] {
            let st = started(s);
            out.push(a.rate_check(&st));
            out.push(a.rate_check(&ended(&st)));
        }
        assert_eq!(
            out,
            [
                (true, 0),
                (true, 0),
                (false, 1),
                (false, 1),
                (false, 2),
                (false, 2),
                (true, 2),
                (true, 0),
                (false, 1),
                (false, 1)
            ]
        );
        // Going back in time (a new replay) is not limited.
        assert_eq!(a.rate_check(&started(5)), (true, 1));
    }

    #[test]
    fn no_limit_with_zero_interval() {
        let mut a = Alerter::new(&AlertsConfig {
            min_interval_s: 0,
            webhook: None,
            mqtt: None,
        })
        .unwrap();
        assert_eq!(a.rate_check(&started(0)), (true, 0));
        assert_eq!(a.rate_check(&started(0)), (true, 0));
        assert_eq!(a.alert(started(1)), Delivery::Sent);
    }

    #[test]
    fn formats() {
        assert_eq!(kbps(615_500.0), "616");
        assert_eq!(kbps(23_000.0), "23");
        assert_eq!(kbps(8_500.0), "8.5");
        assert_eq!(
            rfc3339(Timestamp(1_573_894_026_279_000_000)),
            "2019-11-16T08:47:06.279Z"
        );
        let d = DeviceInfo {
            device: leakypick_core::Mac([0x68, 0xdb, 0xf5, 0x90, 0x19, 0x64]).into(),
            name: Some("Echo".into()),
            vendor: Some("Amazon".into()),
        };
        assert_eq!(d.label(), "Echo (68:db:f5:90:19:64, Amazon)");
    }
}
