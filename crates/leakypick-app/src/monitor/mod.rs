//! `leakypick monitor`: the long-running loop of a household installation.
//!
//! Frames come from a [`FrameSource`] (a live interface, or a file replayed as if
//! live) and go through the same path as `analyze`: decode, the [`Inventory`], and
//! for uploads the [`BurstDetector`]. Time is the packets' own timestamps; only
//! when the network is silent does a live source's wall clock move windows on.
//!
//! What the loop keeps in memory is bounded: the inventory and the detector by the
//! device cap (`limits.max_devices`), per-minute traffic until the next flush (and a
//! cap when the database cannot be written), the open detections by the device count.
//!
//! The history is written in one transaction every `flush_interval` (wall clock), so
//! a `kill -9` loses at most that much; detections are written at once, when a burst
//! is confirmed (its onset) and again when it ends. A stop request (SIGTERM/SIGINT in
//! the binary) ends open bursts, flushes, saves the learned baselines and closes the
//! database cleanly.

pub mod alert;
pub mod command;
pub mod config;
#[cfg(feature = "live")]
pub mod live;
pub mod source;

use crate::capture::Frame;
use crate::history::{
    minute_start, BaselineRecord, DetectionRecord, DeviceRecord, Store, StoreError, TrafficCounters,
};
use crate::monitor::alert::{Alert, AlertKind, Alerter, DeviceInfo};
use crate::monitor::source::{DropStats, FrameSource, Pull, SourceError};
use crate::names::DeviceNames;
use crate::oui;
use leakypick_core::baseline::RateBaseline;
use leakypick_core::time::Timestamp;
use leakypick_core::{
    decode, is_upload, Burst, BurstConfig, BurstDetector, BurstOnset, DestinationScope, DeviceKey,
    Inventory, InventoryLimits, Mac, Packet,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the monitor runs.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub burst: BurstConfig,
    /// The preset's name, recorded with each detection.
    pub preset: String,
    pub scope: DestinationScope,
    pub limits: InventoryLimits,
    /// Names from the configuration file (the history's user-given names win).
    pub names: DeviceNames,
    /// Wall-clock time between commits of the collected traffic.
    pub flush_interval: Duration,
    /// Traffic and detections older than this many days (of packet time) are deleted;
    /// `None` keeps everything.
    pub retention_days: Option<u32>,
    /// Wall-clock time between two looks at the capture's drop counters.
    pub stats_interval: Duration,
    /// Wall-clock time between two saves of the learned baselines.
    pub baseline_interval: Duration,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            burst: BurstConfig::product_default(),
            preset: "default".into(),
            scope: DestinationScope::Cloud,
            limits: InventoryLimits::default(),
            names: DeviceNames::default(),
            flush_interval: Duration::from_secs(5),
            retention_days: Some(90),
            stats_interval: Duration::from_secs(60),
            baseline_interval: Duration::from_secs(300),
        }
    }
}

/// What the monitor reports as it runs (printed by the binary in the chosen format).
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorEvent {
    /// A burst was confirmed: the device is uploading now.
    Started(Detection),
    /// The burst ended.
    Ended(Detection),
}

/// A detection as the monitor reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The row in the history (`None` if it could not be written).
    pub id: Option<i64>,
    pub mac: Mac,
    pub name: Option<String>,
    pub vendor: Option<&'static str>,
    pub start: Timestamp,
    /// For a start: when the burst was confirmed; for an end: the burst's end.
    pub end: Timestamp,
    pub rule: String,
    pub params: Value,
    pub bytes: u64,
    pub peak_bps: f64,
    pub threshold_bps: f64,
}

impl Detection {
    /// The history's row for this detection, written at `created` (packet time).
    fn record(&self, created: Timestamp) -> DetectionRecord {
        DetectionRecord {
            id: self.id,
            mac: self.mac,
            start: self.start,
            end: self.end,
            rule: self.rule.clone(),
            params: self.params.clone(),
            bytes: self.bytes,
            peak_bps: self.peak_bps,
            threshold_bps: self.threshold_bps,
            created,
        }
    }

    /// The JSON object printed by `monitor --format json` (see the README): the fields
    /// of `events --format json` plus the event kind and the device's names.
    pub fn json(&self, event: &str) -> Value {
        json!({
            "type": "detection",
            "event": event,
            "id": self.id,
            "mac": self.mac.to_string(),
            "name": self.name,
            "vendor": self.vendor,
            "start": self.start.as_secs_f64(),
            "end": self.end.as_secs_f64(),
            "rule": self.rule,
            "params": self.params,
            "bytes": self.bytes,
            "peak_bps": self.peak_bps,
            "threshold_bps": self.threshold_bps,
        })
    }
}

/// Totals of a monitor run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorSummary {
    pub frames: u64,
    pub bytes: u64,
    pub devices: usize,
    pub detections: u64,
    pub flushes: u64,
    /// Frames of devices beyond the device cap (counted, not analysed).
    pub overflow_frames: u64,
    /// Drop counters of a live capture.
    pub drops: Option<DropStats>,
    /// Per-minute rows dropped because the database could not be written for long.
    pub lost_traffic_rows: u64,
}

/// Why the monitor stopped with an error.
#[derive(Debug)]
pub enum MonitorError {
    Source(SourceError),
    Store(StoreError),
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorError::Source(e) => write!(f, "capture: {e}"),
            MonitorError::Store(e) => write!(f, "history: {e}"),
        }
    }
}

impl std::error::Error for MonitorError {}

impl From<StoreError> for MonitorError {
    fn from(e: StoreError) -> Self {
        MonitorError::Store(e)
    }
}

/// A detection stored at its onset and not yet ended.
#[derive(Debug, Clone)]
struct Open {
    detection: Detection,
}

/// Per-minute rows held at most while the database cannot be written.
const MAX_PENDING_ROWS: usize = 200_000;

/// The monitor's state between frames.
pub struct Monitor {
    opts: MonitorOptions,
    store: Store,
    alerter: Alerter,
    inventory: Inventory,
    detector: Option<BurstDetector>,
    /// Per device and minute, counters not yet written.
    traffic: HashMap<(Mac, i64), TrafficCounters>,
    open: HashMap<Mac, Open>,
    /// Names from the history (`leakypick name`), refreshed now and then.
    user_names: HashMap<Mac, String>,
    /// Devices announced to the alert channels (with the name announced).
    announced: HashMap<Mac, Option<String>>,
    /// Packet time of the latest frame.
    latest: Option<Timestamp>,
    /// Packet time up to which the detector has been advanced.
    advanced_to: Option<Timestamp>,
    /// Last-seen packet time written per device.
    flushed_seen: HashMap<Mac, Timestamp>,
    last_prune_day: Option<i64>,
    warned_cap: bool,
    warned_ip_keys: bool,
    last_drops: DropStats,
    summary: MonitorSummary,
}

fn mac_of(key: DeviceKey) -> Option<Mac> {
    match key {
        DeviceKey::Mac(m) => Some(m),
        _ => None,
    }
}

impl Monitor {
    /// A monitor writing to `store` and alerting through `alerter`. Loads the learned
    /// baselines and the user-given names from the history.
    pub fn new(
        opts: MonitorOptions,
        store: Store,
        alerter: Alerter,
    ) -> Result<Monitor, MonitorError> {
        let mut m = Monitor {
            inventory: Inventory::new(opts.limits, opts.scope),
            opts,
            store,
            alerter,
            detector: None,
            traffic: HashMap::new(),
            open: HashMap::new(),
            user_names: HashMap::new(),
            announced: HashMap::new(),
            latest: None,
            advanced_to: None,
            flushed_seen: HashMap::new(),
            last_prune_day: None,
            warned_cap: false,
            warned_ip_keys: false,
            last_drops: DropStats::default(),
            summary: MonitorSummary::default(),
        };
        m.refresh_names()?;
        // Announce the devices already known, so Home Assistant has them at once.
        for d in m.store.devices()? {
            let info = m.device_info(d.mac, &d.hostnames);
            m.announced.insert(d.mac, info.name.clone());
            m.alerter.device(&info);
        }
        Ok(m)
    }

    fn refresh_names(&mut self) -> Result<(), StoreError> {
        self.user_names = self
            .store
            .devices()?
            .into_iter()
            .filter_map(|d| Some((d.mac, d.user_name?)))
            .collect();
        Ok(())
    }

    /// The best name for a device: the history's, the config's, then one it announced.
    fn name_of(&self, mac: Mac, hostnames: &[String]) -> Option<String> {
        self.user_names
            .get(&mac)
            .cloned()
            .or_else(|| self.opts.names.get(mac).map(str::to_string))
            .or_else(|| hostnames.first().cloned())
    }

    fn device_info(&self, mac: Mac, hostnames: &[String]) -> DeviceInfo {
        DeviceInfo {
            mac,
            name: self.name_of(mac, hostnames),
            vendor: oui::vendor(mac).map(str::to_string),
        }
    }

    fn hostnames_of(&self, mac: Mac) -> Vec<String> {
        self.inventory
            .get(&DeviceKey::Mac(mac))
            .map(|d| d.hostnames.iter().map(|h| h.name.clone()).collect())
            .unwrap_or_default()
    }

    fn detector(&mut self, origin: Timestamp) -> &mut BurstDetector {
        let config = self.opts.burst;
        let store = &self.store;
        self.detector.get_or_insert_with(|| {
            let mut d = BurstDetector::new(config, origin);
            d.report_onsets(true);
            if let Some(bc) = &config.baseline {
                match store.baselines() {
                    Ok(list) => {
                        for rec in list {
                            match RateBaseline::from_state(bc, &rec.state) {
                                Ok(b) => d.seed_baseline(DeviceKey::Mac(rec.mac), b),
                                Err(e) => log::warn!(
                                    "ignoring the stored baseline of {}: {e} (it will be learned again)",
                                    rec.mac
                                ),
                            }
                        }
                    }
                    Err(e) => log::warn!("cannot read the stored baselines: {e}"),
                }
            }
            d
        })
    }

    /// Runs until the source ends or `stop` is set, emitting events to `on_event`.
    /// Always flushes and closes the history before returning, also on an error.
    pub fn run(
        mut self,
        source: &mut dyn FrameSource,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(&MonitorEvent),
    ) -> Result<MonitorSummary, MonitorError> {
        let result = self.pump(source, stop, on_event);
        self.summary.drops = source.drop_stats();
        let closing = self.shutdown(on_event);
        match (result, closing) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(summary)) => Ok(summary),
        }
    }

    fn pump(
        &mut self,
        source: &mut dyn FrameSource,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(&MonitorEvent),
    ) -> Result<(), MonitorError> {
        let mut last_flush = Instant::now();
        let mut last_stats = Instant::now();
        let mut last_baselines = Instant::now();
        let mut last_names = Instant::now();
        let mut since_clock_check = 0u32;
        loop {
            if stop.load(Ordering::Relaxed) {
                log::info!("stop requested: flushing the history and closing");
                return Ok(());
            }
            let mut check_clock = false;
            match source.pull().map_err(MonitorError::Source)? {
                Pull::Frame(frame) => {
                    self.frame(frame, on_event);
                    since_clock_check += 1;
                    if since_clock_check >= 256 {
                        check_clock = true;
                    }
                }
                Pull::Idle { now } => {
                    if let Some(now) = now {
                        self.idle(now, on_event);
                    }
                    check_clock = true;
                }
                Pull::End => return Ok(()),
            }
            if !check_clock {
                continue;
            }
            since_clock_check = 0;
            let now = Instant::now();
            if now.duration_since(last_flush) >= self.opts.flush_interval {
                self.flush();
                last_flush = now;
            }
            if now.duration_since(last_stats) >= self.opts.stats_interval {
                self.check_drops(source);
                last_stats = now;
            }
            if now.duration_since(last_baselines) >= self.opts.baseline_interval {
                self.save_baselines();
                last_baselines = now;
            }
            if now.duration_since(last_names) >= Duration::from_secs(30) {
                if let Err(e) = self.refresh_names() {
                    log::warn!("cannot read the device names from the history: {e}");
                }
                last_names = now;
            }
        }
    }

    fn frame(&mut self, frame: Frame<'_>, on_event: &mut dyn FnMut(&MonitorEvent)) {
        let packet = Packet {
            ts: frame.ts,
            wire_len: frame.wire_len,
            meta: decode(frame.link, frame.data),
        };
        self.summary.frames += 1;
        self.summary.bytes += u64::from(frame.wire_len);
        let ts = packet.ts;
        if self.latest.is_none_or(|l| ts > l) {
            self.latest = Some(ts);
        }
        self.inventory.observe(&packet);
        if !self.warned_cap && self.inventory.overflow_frames() > 0 {
            self.warned_cap = true;
            log::warn!(
                "the device cap is reached (limits.max_devices = {}): frames of further devices \
                 are not analysed; raise the cap in the config file if this network is that big",
                self.opts.limits.max_devices
            );
        }
        let upload = is_upload(&packet.meta, self.opts.scope);
        let bytes = u64::from(packet.wire_len);
        let minute = minute_start(ts).0;
        let sender = DeviceKey::sender(&packet.meta).filter(|k| self.inventory.get(k).is_some());
        if let Some(key) = sender {
            match mac_of(key) {
                Some(mac) => {
                    let c = self.traffic.entry((mac, minute)).or_default();
                    c.tx_packets += 1;
                    c.tx_bytes += bytes;
                    if upload {
                        c.upload_bytes += bytes;
                    }
                }
                None => self.warn_ip_keys(),
            }
        }
        if let Some(key) = DeviceKey::receiver(&packet.meta) {
            if let (Some(mac), true) = (mac_of(key), self.inventory.get(&key).is_some()) {
                let c = self.traffic.entry((mac, minute)).or_default();
                c.rx_packets += 1;
                c.rx_bytes += bytes;
            }
        }
        let window = self.opts.burst.window_nanos;
        let detector = self.detector(ts);
        let mut ended = Vec::new();
        if let (true, Some(key)) = (upload, sender) {
            ended.extend(detector.observe(key, ts, bytes));
        }
        let onsets = detector.take_onsets();
        for o in onsets {
            self.started(o, on_event);
        }
        for b in ended {
            self.ended(b, on_event);
        }
        // Close the windows of devices that went silent, once per window of packet time.
        if self
            .advanced_to
            .is_none_or(|a| ts.0.saturating_sub(a.0) >= window)
        {
            self.advance(ts, on_event);
        }
    }

    fn warn_ip_keys(&mut self) {
        if !self.warned_ip_keys {
            self.warned_ip_keys = true;
            log::warn!(
                "this link has no MAC addresses: devices are tracked by IP address and \
                 detected, but not kept in the history (which is keyed by MAC)"
            );
        }
    }

    /// The network was silent until `now` (wall clock of a live source).
    fn idle(&mut self, now: Timestamp, on_event: &mut dyn FnMut(&MonitorEvent)) {
        // A little slack: a frame stamped just before `now` may still be on its way.
        let t = Timestamp(now.0.saturating_sub(300_000_000));
        if self.detector.is_some() && self.latest.is_some_and(|l| t > l) {
            self.advance(t, on_event);
        }
    }

    fn advance(&mut self, to: Timestamp, on_event: &mut dyn FnMut(&MonitorEvent)) {
        let Some(d) = self.detector.as_mut() else {
            return;
        };
        self.advanced_to = Some(to);
        let ended = d.advance(to);
        let onsets = d.take_onsets();
        for o in onsets {
            self.started(o, on_event);
        }
        for b in ended {
            self.ended(b, on_event);
        }
    }

    fn params(&self, threshold_bps: f64) -> Value {
        let c = &self.opts.burst;
        json!({
            "preset": self.opts.preset,
            "window_s": c.window_secs(),
            "threshold_kbps": threshold_bps / 1000.0,
            "min_windows": c.min_windows,
            "adaptive": c.baseline.is_some(),
            "destinations": match self.opts.scope {
                DestinationScope::Cloud => "cloud",
                DestinationScope::All => "all",
            },
        })
    }

    fn detection_of(&self, mac: Mac, o: &BurstOnset) -> Detection {
        let hostnames = self.hostnames_of(mac);
        Detection {
            id: None,
            mac,
            name: self.name_of(mac, &hostnames),
            vendor: oui::vendor(mac),
            start: o.start,
            end: o.confirmed,
            rule: if self.opts.burst.baseline.is_some() {
                "adaptive-burst".into()
            } else {
                "burst".into()
            },
            params: self.params(o.threshold_bps),
            bytes: o.bytes,
            peak_bps: o.peak_bps,
            threshold_bps: o.threshold_bps,
        }
    }

    fn announce(&mut self, mac: Mac) {
        let hostnames = self.hostnames_of(mac);
        let info = self.device_info(mac, &hostnames);
        if self.announced.get(&mac) != Some(&info.name) {
            self.announced.insert(mac, info.name.clone());
            self.alerter.device(&info);
        }
    }

    fn started(&mut self, o: BurstOnset, on_event: &mut dyn FnMut(&MonitorEvent)) {
        let Some(mac) = mac_of(o.device) else {
            return;
        };
        let mut det = self.detection_of(mac, &o);
        // Written at once: a detection must not wait for the next flush.
        self.write_device(mac);
        let record = det.record(o.confirmed);
        match self.store.add_detection(&record) {
            Ok(id) => det.id = Some(id),
            Err(e) => log::error!("cannot store the detection of {mac}: {e}"),
        }
        self.summary.detections += 1;
        self.announce(mac);
        self.alerter.alert(alert_of(AlertKind::Started, &det, None));
        on_event(&MonitorEvent::Started(det.clone()));
        self.open.insert(mac, Open { detection: det });
    }

    fn ended(&mut self, b: Burst, on_event: &mut dyn FnMut(&MonitorEvent)) {
        let Some(mac) = mac_of(b.device) else {
            return;
        };
        let mut det = match self.open.remove(&mac) {
            Some(open) if open.detection.start == b.start => open.detection,
            other => {
                // No onset seen (cannot happen with onsets on; kept for safety).
                if let Some(o) = other {
                    self.open.insert(mac, o);
                }
                let onset = BurstOnset {
                    device: b.device,
                    start: b.start,
                    confirmed: b.end,
                    bytes: b.bytes,
                    peak_bps: b.peak_bps,
                    threshold_bps: b.threshold_bps,
                };
                self.detection_of(mac, &onset)
            }
        };
        det.end = b.end;
        det.bytes = b.bytes;
        det.peak_bps = b.peak_bps;
        let result = match det.id {
            Some(id) => self
                .store
                .transaction(|t| t.finish_detection(id, b.end, b.bytes, b.peak_bps))
                .map(|_| ()),
            None => {
                let record = det.record(b.end);
                self.store
                    .add_detection(&record)
                    .map(|id| det.id = Some(id))
            }
        };
        if let Err(e) = result {
            log::error!("cannot store the end of the detection of {mac}: {e}");
        }
        self.alerter
            .alert(alert_of(AlertKind::Ended, &det, Some(b.end)));
        on_event(&MonitorEvent::Ended(det));
    }

    fn device_record(&self, mac: Mac) -> Option<DeviceRecord> {
        let d = self.inventory.get(&DeviceKey::Mac(mac))?;
        Some(DeviceRecord {
            mac,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            vendor: oui::vendor(mac).map(str::to_string),
            user_name: self.opts.names.get(mac).map(str::to_string),
            hostnames: d.hostnames.iter().map(|h| h.name.clone()).collect(),
            ips: d.ips.clone(),
        })
    }

    fn write_device(&mut self, mac: Mac) {
        if let Some(rec) = self.device_record(mac) {
            if let Err(e) = self.store.upsert_device(&rec) {
                log::error!("cannot store device {mac}: {e}");
            } else {
                self.flushed_seen.insert(mac, rec.last_seen);
            }
        }
    }

    /// Writes the devices seen and the traffic counted since the last flush, in one
    /// transaction. On failure everything is kept for the next try (up to a cap).
    fn flush(&mut self) {
        let devices: Vec<DeviceRecord> = self
            .inventory
            .devices()
            .into_iter()
            .filter_map(|d| {
                let mac = mac_of(d.key)?;
                let seen = self.flushed_seen.get(&mac);
                if seen.is_some_and(|s| *s >= d.last_seen) {
                    return None;
                }
                self.device_record(mac)
            })
            .collect();
        let rows: Vec<((Mac, i64), TrafficCounters)> =
            self.traffic.iter().map(|(k, v)| (*k, *v)).collect();
        if devices.is_empty() && rows.is_empty() {
            return;
        }
        let result = self.store.transaction(|t| {
            for d in &devices {
                t.upsert_device(d)?;
            }
            for ((mac, minute), c) in &rows {
                t.add_traffic(*mac, Timestamp(*minute), c)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                self.traffic.clear();
                for d in &devices {
                    self.flushed_seen.insert(d.mac, d.last_seen);
                }
                self.summary.flushes += 1;
                let new: Vec<Mac> = devices
                    .iter()
                    .map(|d| d.mac)
                    .filter(|m| !self.announced.contains_key(m))
                    .collect();
                for mac in new {
                    self.announce(mac);
                }
            }
            Err(e) => {
                log::error!(
                    "cannot write to the history: {e}; keeping {} rows in memory and retrying",
                    rows.len()
                );
                if self.traffic.len() > MAX_PENDING_ROWS {
                    let n = self.traffic.len() as u64;
                    self.traffic.clear();
                    self.summary.lost_traffic_rows += n;
                    log::error!("dropped {n} per-minute traffic rows: the history has been unwritable for too long");
                }
            }
        }
        self.prune();
    }

    /// Retention, by packet time (so replaying an old capture does not delete it), at
    /// most once per day of packet time.
    fn prune(&mut self) {
        let (Some(days), Some(latest)) = (self.opts.retention_days, self.latest) else {
            return;
        };
        const DAY: i64 = 86_400 * Timestamp::NANOS_PER_SEC;
        let day = latest.0.div_euclid(DAY);
        if self.last_prune_day == Some(day) {
            return;
        }
        self.last_prune_day = Some(day);
        let cutoff = Timestamp(latest.0.saturating_sub(i64::from(days) * DAY));
        match self.store.prune(cutoff) {
            Ok(c) if c.traffic_minutes + c.detections > 0 => log::info!(
                "retention ({}): deleted {} and {}",
                crate::render::count(days, "day"),
                crate::render::count(c.traffic_minutes, "traffic minute"),
                crate::render::count(c.detections, "detection")
            ),
            Ok(_) => {}
            Err(e) => log::error!("cannot prune the history: {e}"),
        }
    }

    fn save_baselines(&mut self) {
        let Some(d) = &self.detector else { return };
        let updated = self.latest.unwrap_or(Timestamp(0));
        let records: Vec<BaselineRecord> = d
            .baselines()
            .into_iter()
            .filter_map(|(k, b)| {
                Some(BaselineRecord {
                    mac: mac_of(k)?,
                    state: b.to_state(),
                    updated,
                })
            })
            .collect();
        if records.is_empty() {
            return;
        }
        let result = self.store.transaction(|t| {
            for r in &records {
                t.save_baseline(r)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            log::error!("cannot save the learned baselines: {e}");
        }
    }

    fn check_drops(&mut self, source: &mut dyn FrameSource) {
        let Some(s) = source.drop_stats() else { return };
        let new_kernel = s
            .dropped_kernel
            .saturating_sub(self.last_drops.dropped_kernel);
        let new_if = s
            .dropped_interface
            .saturating_sub(self.last_drops.dropped_interface);
        if new_kernel + new_if > 0 {
            log::warn!(
                "{}: the kernel dropped {new_kernel} and the interface {new_if} packets since the \
                 last report ({} dropped of {} received in all); detections may be missed",
                source.name(),
                s.dropped_kernel + s.dropped_interface,
                s.received
            );
        }
        self.last_drops = s;
    }

    fn shutdown(
        mut self,
        on_event: &mut dyn FnMut(&MonitorEvent),
    ) -> Result<MonitorSummary, MonitorError> {
        // Bursts still going on end now: their last windows are closed at the latest
        // packet time (not the wall clock, so a replay ends where its file ends).
        if let Some(latest) = self.latest {
            let to = Timestamp(latest.0.saturating_add(self.opts.burst.window_nanos));
            self.advance(to, on_event);
        }
        self.flush();
        self.save_baselines();
        self.summary.devices = self.inventory.len();
        self.summary.overflow_frames = self.inventory.overflow_frames();
        let Monitor {
            store,
            alerter,
            summary,
            ..
        } = self;
        alerter.shutdown(Duration::from_secs(5));
        store.close()?;
        Ok(summary)
    }
}

fn alert_of(kind: AlertKind, d: &Detection, end: Option<Timestamp>) -> Alert {
    Alert {
        kind,
        device: DeviceInfo {
            mac: d.mac,
            name: d.name.clone(),
            vendor: d.vendor.map(str::to_string),
        },
        detection_id: d.id,
        start: d.start,
        end,
        rule: d.rule.clone(),
        params: d.params.clone(),
        bytes: d.bytes,
        peak_bps: d.peak_bps,
        threshold_bps: d.threshold_bps,
    }
}

/// Column names of `monitor --format csv` (printed once, before the first event).
pub const CSV_HEADER: &str =
    "event,id,mac,name,vendor,start,end,rule,params,bytes,peak_bps,threshold_bps";

/// Writes one event as the monitor prints it: a JSON object per line, a CSV row, or a
/// line of text for the terminal.
pub fn write_event(
    out: &mut dyn std::io::Write,
    event: &MonitorEvent,
    format: crate::render::Format,
) -> std::io::Result<()> {
    use crate::render::{human_time, Format};
    let (kind, d) = match event {
        MonitorEvent::Started(d) => ("started", d),
        MonitorEvent::Ended(d) => ("ended", d),
    };
    match format {
        Format::Json => writeln!(out, "{}", d.json(kind)),
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            w.write_record([
                kind.to_string(),
                d.id.map(|i| i.to_string()).unwrap_or_default(),
                d.mac.to_string(),
                d.name.clone().unwrap_or_default(),
                d.vendor.unwrap_or_default().to_string(),
                d.start.as_secs_f64().to_string(),
                d.end.as_secs_f64().to_string(),
                d.rule.clone(),
                d.params.to_string(),
                d.bytes.to_string(),
                d.peak_bps.to_string(),
                d.threshold_bps.to_string(),
            ])
            .map_err(std::io::Error::other)?;
            let bytes = w
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            out.write_all(&bytes)
        }
        Format::Table => {
            let who = match (&d.name, d.vendor) {
                (Some(n), _) => format!("{} ({n})", d.mac),
                (None, Some(v)) => format!("{} ({v})", d.mac),
                (None, None) => d.mac.to_string(),
            };
            match event {
                MonitorEvent::Started(_) => writeln!(
                    out,
                    "{}  STREAMING  {who}: {} kbit/s > {} kbit/s since {} (rule {})",
                    human_time(d.end),
                    (d.peak_bps / 1000.0).round(),
                    (d.threshold_bps / 1000.0).round(),
                    human_time(d.start),
                    d.rule
                ),
                MonitorEvent::Ended(_) => writeln!(
                    out,
                    "{}  ended      {who}: {:.1} s, {} bytes, peak {} kbit/s",
                    human_time(d.end),
                    d.end.secs_since(d.start),
                    d.bytes,
                    (d.peak_bps / 1000.0).round()
                ),
            }
        }
    }
}
