//! `leakypick monitor`: the long-running loop of a household installation.
//!
//! Frames come from a [`FrameSource`] (a live interface, or a file replayed as if
//! live) and go through the same path as `analyze`: decode, the [`Inventory`], and
//! for uploads the [`BurstDetector`]. Time is the packets' own timestamps; only
//! when the network is silent does a live source's wall clock move windows on.
//! Devices are keyed as `analyze` keys them: by MAC address, or by IP address on links
//! without MAC addresses (raw IP, loopback); both are kept in the history and alerted.
//!
//! What the loop keeps in memory is bounded: the inventory and the detector by the
//! device cap (`limits.max_devices`), per-minute traffic of the last minutes (and, while
//! the database cannot be written, up to [`MAX_PENDING_ROWS`] rows), the open
//! detections by the device count, and detections not yet stored by
//! [`MAX_PENDING_DETECTIONS`].
//!
//! The history is written in one transaction every `flush_interval` (wall clock), so
//! a `kill -9` loses at most that much; detections are written at once, when a burst
//! is confirmed (its onset) and again when it ends. When the database cannot be written
//! (a full disk), detections and traffic are kept and retried at every flush; the
//! failure is logged once when it starts and once when it ends. A stop request
//! (SIGTERM/SIGINT in the binary) ends open bursts (reported, stored and alerted like
//! any end), flushes, saves the learned baselines and closes the database cleanly.
//!
//! Traffic is written per source: a live run, or one recording (a replayed file, known
//! by its first frame), with the source's running totals per minute, so replaying a
//! file again does not count it twice. Retention deletes what was written more than
//! `retention_days` ago by the wall clock, never by packet time, so recordings replayed
//! into one history are all kept, whatever their dates and order.

pub mod alert;
pub mod command;
pub mod config;
#[cfg(feature = "live")]
pub mod live;
pub mod render;
pub mod source;

pub use render::{write_event, CSV_COLUMNS, CSV_HEADER};

use crate::capture::Frame;
use crate::history::{
    minute_start, wall_clock, BaselineRecord, DetectionRecord, DeviceRecord, Store, StoreError,
    TrafficCounters,
};
use crate::monitor::alert::{Alert, AlertKind, Alerter, DeviceInfo};
use crate::monitor::source::{DropStats, FrameSource, Pull, SourceError};
use crate::names::DeviceNames;
use crate::oui;
use leakypick_core::baseline::RateBaseline;
use leakypick_core::time::Timestamp;
use leakypick_core::{
    decode, is_upload, Burst, BurstConfig, BurstDetector, BurstOnset, DestinationScope, DeviceKey,
    Inventory, InventoryLimits, Packet,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    /// Traffic and detections written to the history more than this many days ago
    /// (wall clock) are deleted; `None` keeps everything.
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
    /// The row in the history (`None` while it could not be written).
    pub id: Option<i64>,
    /// The MAC address, or the IP address of a device seen without one.
    pub device: DeviceKey,
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
            device: self.device,
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
    /// Detections dropped because the database could not be written for so long that
    /// more than [`MAX_PENDING_DETECTIONS`] waited.
    pub lost_detections: u64,
}

/// Why the monitor stopped with an error (the message holds its cause).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("capture: {0}")]
    Source(SourceError),
    #[error("history: {0}")]
    Store(StoreError),
}

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
pub const MAX_PENDING_ROWS: usize = 200_000;

/// Detections held at most while the database cannot be written (beyond that they are
/// counted in [`MonitorSummary::lost_detections`] and a warning is logged).
pub const MAX_PENDING_DETECTIONS: usize = 10_000;

/// Running per-minute totals are kept this long (packet time) after their minute, so
/// that a later flush can write them again in full.
const KEEP_MINUTES: i64 = 10;

/// Wall-clock time between two retention runs.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Whether the history can be written, so that an outage is logged once, not per row.
#[derive(Debug, Default)]
struct Health {
    /// Since when writes fail, and how many attempts failed.
    failing: Option<(Instant, u64)>,
    /// Detections dropped during this outage (logged once).
    warned_lost: bool,
}

/// Detections waiting to be stored, by (device, start, rule): the latest state of each.
type PendingKey = (DeviceKey, Timestamp, String);

/// The monitor's state between frames.
pub struct Monitor {
    opts: MonitorOptions,
    store: Store,
    alerter: Alerter,
    inventory: Inventory,
    detector: Option<BurstDetector>,
    /// Per device and minute, this run's running totals (the last few minutes).
    traffic: HashMap<(DeviceKey, i64), TrafficCounters>,
    /// The rows of `traffic` changed since the last successful flush.
    dirty: HashSet<(DeviceKey, i64)>,
    /// The traffic source of this run (set at the first frame) and its id in the store.
    source_key: Option<String>,
    source_id: Option<i64>,
    /// Whether frames come from a recording (a replayed file) rather than a live link.
    recording: bool,
    open: HashMap<DeviceKey, Open>,
    /// Detections not stored yet (the history could not be written).
    pending: BTreeMap<PendingKey, DetectionRecord>,
    /// Names from the history (`leakypick name`), refreshed now and then.
    user_names: HashMap<DeviceKey, String>,
    /// Devices announced to the alert channels (with the name announced).
    announced: HashMap<DeviceKey, Option<String>>,
    /// Packet time of the latest frame.
    latest: Option<Timestamp>,
    /// Packet time up to which the detector has been advanced.
    advanced_to: Option<Timestamp>,
    /// Last-seen packet time written per device.
    flushed_seen: HashMap<DeviceKey, Timestamp>,
    last_prune: Option<Instant>,
    warned_cap: bool,
    noted_ip_keys: bool,
    health: Health,
    last_drops: DropStats,
    summary: MonitorSummary,
}

/// FNV-1a, 64 bit: a stable fingerprint of a recording's first frame.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
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
            dirty: HashSet::new(),
            source_key: None,
            source_id: None,
            recording: false,
            open: HashMap::new(),
            pending: BTreeMap::new(),
            user_names: HashMap::new(),
            announced: HashMap::new(),
            latest: None,
            advanced_to: None,
            flushed_seen: HashMap::new(),
            last_prune: None,
            warned_cap: false,
            noted_ip_keys: false,
            health: Health::default(),
            last_drops: DropStats::default(),
            summary: MonitorSummary::default(),
        };
        m.refresh_names()?;
        // Announce the devices already known, so Home Assistant has them at once.
        for d in m.store.devices()? {
            let info = m.device_info(d.device, &d.hostnames);
            m.announced.insert(d.device, info.name.clone());
            m.alerter.device(&info);
        }
        Ok(m)
    }

    fn refresh_names(&mut self) -> Result<(), StoreError> {
        self.user_names = self
            .store
            .devices()?
            .into_iter()
            .filter_map(|d| Some((d.device, d.user_name?)))
            .collect();
        Ok(())
    }

    /// The best name for a device: the history's, the config's, then one it announced.
    fn name_of(&self, device: DeviceKey, hostnames: &[String]) -> Option<String> {
        self.user_names
            .get(&device)
            .cloned()
            .or_else(|| {
                device
                    .mac()
                    .and_then(|m| self.opts.names.get(m))
                    .map(str::to_string)
            })
            .or_else(|| hostnames.first().cloned())
    }

    fn vendor_of(device: DeviceKey) -> Option<&'static str> {
        device.mac().and_then(oui::vendor)
    }

    fn device_info(&self, device: DeviceKey, hostnames: &[String]) -> DeviceInfo {
        DeviceInfo {
            device,
            name: self.name_of(device, hostnames),
            vendor: Monitor::vendor_of(device).map(str::to_string),
        }
    }

    fn hostnames_of(&self, device: DeviceKey) -> Vec<String> {
        self.inventory
            .get(&device)
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
                                Ok(b) => d.seed_baseline(rec.device, b),
                                Err(e) => log::warn!(
                                    "ignoring the stored baseline of {}: {e} (it will be learned again)",
                                    rec.device
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
    /// Always ends open detections, flushes and closes the history before returning,
    /// also on an error.
    pub fn run(
        mut self,
        source: &mut dyn FrameSource,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(&MonitorEvent),
    ) -> Result<MonitorSummary, MonitorError> {
        self.recording = source.is_recording();
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
                log::info!(
                    "stop requested: ending open detections, flushing the history and closing"
                );
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

    /// Names this run's traffic source, at its first frame: a recording by its first
    /// frame (the same file replayed again is the same source), a live run by when and
    /// where it started.
    fn name_source(&mut self, frame: &Frame<'_>) {
        if self.source_key.is_some() {
            return;
        }
        let key = if self.recording {
            let fp = fnv1a(&[
                &frame.ts.0.to_le_bytes(),
                &frame.wire_len.to_le_bytes(),
                frame.data,
            ]);
            format!("recording {} {fp:016x}", frame.ts.0)
        } else {
            format!("live {} {}", wall_clock().0, std::process::id())
        };
        self.source_key = Some(key);
    }

    fn frame(&mut self, frame: Frame<'_>, on_event: &mut dyn FnMut(&MonitorEvent)) {
        self.name_source(&frame);
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
            if let DeviceKey::Ip(_) = key {
                self.note_ip_keys();
            }
            let c = self.traffic.entry((key, minute)).or_default();
            c.tx_packets += 1;
            c.tx_bytes += bytes;
            if upload {
                c.upload_bytes += bytes;
            }
            self.dirty.insert((key, minute));
        }
        if let Some(key) = DeviceKey::receiver(&packet.meta) {
            if self.inventory.get(&key).is_some() {
                let c = self.traffic.entry((key, minute)).or_default();
                c.rx_packets += 1;
                c.rx_bytes += bytes;
                self.dirty.insert((key, minute));
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

    fn note_ip_keys(&mut self) {
        if !self.noted_ip_keys {
            self.noted_ip_keys = true;
            log::info!(
                "this link has no MAC addresses: devices are tracked, kept in the history and \
                 alerted by IP address"
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

    fn detection_of(&self, o: &BurstOnset) -> Detection {
        let hostnames = self.hostnames_of(o.device);
        Detection {
            id: None,
            device: o.device,
            name: self.name_of(o.device, &hostnames),
            vendor: Monitor::vendor_of(o.device),
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

    fn announce(&mut self, device: DeviceKey) {
        let hostnames = self.hostnames_of(device);
        let info = self.device_info(device, &hostnames);
        if self.announced.get(&device) != Some(&info.name) {
            self.announced.insert(device, info.name.clone());
            self.alerter.device(&info);
        }
    }

    /// The history could not be written: logged once per outage, not per row.
    fn write_failed(&mut self, what: &str, e: &StoreError) {
        match &mut self.health.failing {
            Some((_, n)) => *n += 1,
            None => {
                log::error!(
                    "cannot write to the history ({what}): {e}; keeping detections (up to \
                     {MAX_PENDING_DETECTIONS}) and per-minute traffic (up to {MAX_PENDING_ROWS} \
                     rows) in memory and retrying at every flush; the next message says when \
                     writing works again"
                );
                self.health.failing = Some((Instant::now(), 1));
            }
        }
    }

    /// A write succeeded: ends an outage, saying how long it lasted and what it cost.
    fn write_ok(&mut self, detections: usize, rows: usize) {
        if let Some((since, failures)) = self.health.failing.take() {
            log::warn!(
                "the history is writable again after {:.1} s ({failures} failed attempts): \
                 stored {detections} pending detections and {rows} per-minute traffic rows{}",
                since.elapsed().as_secs_f64(),
                if self.summary.lost_detections + self.summary.lost_traffic_rows > 0 {
                    format!(
                        "; {} detections and {} traffic rows were dropped in all (over the caps)",
                        self.summary.lost_detections, self.summary.lost_traffic_rows
                    )
                } else {
                    String::new()
                }
            );
            self.health.warned_lost = false;
        }
    }

    /// Stores (or updates) a detection at once, with its device, unless the history is
    /// failing: then it waits with the other pending detections for the next flush.
    fn store_detection(&mut self, det: &mut Detection, created: Timestamp) {
        let record = det.record(created);
        if self.health.failing.is_none() {
            let device = self.device_record(det.device);
            let result = self.store.transaction(|t| {
                if let Some(d) = &device {
                    t.upsert_device(d)?;
                }
                t.add_detection(&record)
            });
            match result {
                Ok(id) => {
                    det.id = Some(id);
                    if let Some(d) = device {
                        self.flushed_seen.insert(d.device, d.last_seen);
                    }
                    return;
                }
                Err(e) => self.write_failed("a detection", &e),
            }
        }
        self.queue_detection(record);
    }

    fn queue_detection(&mut self, record: DetectionRecord) {
        let key = (record.device, record.start, record.rule.clone());
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING_DETECTIONS {
            self.summary.lost_detections += 1;
            if !self.health.warned_lost {
                self.health.warned_lost = true;
                log::warn!(
                    "more than {MAX_PENDING_DETECTIONS} detections wait for the history: further \
                     ones are not stored (they are still printed and alerted)"
                );
            }
            return;
        }
        self.pending.insert(key, record);
    }

    fn started(&mut self, o: BurstOnset, on_event: &mut dyn FnMut(&MonitorEvent)) {
        let mut det = self.detection_of(&o);
        // Written at once: a detection must not wait for the next flush.
        self.store_detection(&mut det, o.confirmed);
        self.summary.detections += 1;
        self.announce(o.device);
        self.alerter.alert(alert_of(AlertKind::Started, &det, None));
        on_event(&MonitorEvent::Started(det.clone()));
        self.open.insert(o.device, Open { detection: det });
    }

    fn ended(&mut self, b: Burst, on_event: &mut dyn FnMut(&MonitorEvent)) {
        let mut det = match self.open.remove(&b.device) {
            Some(open) if open.detection.start == b.start => open.detection,
            other => {
                // No onset seen (cannot happen with onsets on; kept for safety).
                if let Some(o) = other {
                    self.open.insert(b.device, o);
                }
                let onset = BurstOnset {
                    device: b.device,
                    start: b.start,
                    confirmed: b.end,
                    bytes: b.bytes,
                    peak_bps: b.peak_bps,
                    threshold_bps: b.threshold_bps,
                };
                self.detection_of(&onset)
            }
        };
        det.end = b.end;
        det.bytes = b.bytes;
        det.peak_bps = b.peak_bps;
        self.store_detection(&mut det, b.end);
        self.alerter
            .alert(alert_of(AlertKind::Ended, &det, Some(b.end)));
        on_event(&MonitorEvent::Ended(det));
    }

    fn device_record(&self, device: DeviceKey) -> Option<DeviceRecord> {
        let d = self.inventory.get(&device)?;
        Some(DeviceRecord {
            device,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            vendor: Monitor::vendor_of(device).map(str::to_string),
            user_name: device
                .mac()
                .and_then(|m| self.opts.names.get(m))
                .map(str::to_string),
            hostnames: d.hostnames.iter().map(|h| h.name.clone()).collect(),
            ips: d.ips.clone(),
        })
    }

    /// Writes the devices seen, the traffic counted and the detections waiting since the
    /// last flush, in one transaction. On failure everything is kept for the next try
    /// (up to the caps).
    fn flush(&mut self) {
        let devices: Vec<DeviceRecord> = self
            .inventory
            .devices()
            .into_iter()
            .filter_map(|d| {
                let seen = self.flushed_seen.get(&d.key);
                if seen.is_some_and(|s| *s >= d.last_seen) {
                    return None;
                }
                self.device_record(d.key)
            })
            .collect();
        let rows: Vec<((DeviceKey, i64), TrafficCounters)> = self
            .dirty
            .iter()
            .filter_map(|k| Some((*k, *self.traffic.get(k)?)))
            .collect();
        let pending: Vec<DetectionRecord> = self.pending.values().cloned().collect();
        if devices.is_empty() && rows.is_empty() && pending.is_empty() {
            self.prune();
            return;
        }
        let source_key = self.source_key.clone();
        let known_source = self.source_id;
        let result = self.store.transaction(|t| {
            let source = match (known_source, &source_key) {
                (Some(id), _) => Some(id),
                (None, Some(key)) => Some(t.source(key)?),
                (None, None) => None,
            };
            for d in &devices {
                t.upsert_device(d)?;
            }
            if let Some(source) = source {
                for ((device, minute), c) in &rows {
                    t.record_traffic(*device, Timestamp(*minute), source, c)?;
                }
            }
            let mut ids = Vec::with_capacity(pending.len());
            for d in &pending {
                ids.push(t.add_detection(d)?);
            }
            Ok((source, ids))
        });
        match result {
            Ok((source, ids)) => {
                self.source_id = source;
                self.dirty.clear();
                self.pending.clear();
                // Detections stored now: the open ones learn their ids.
                for (d, id) in pending.iter().zip(ids) {
                    if let Some(open) = self.open.get_mut(&d.device) {
                        if open.detection.start == d.start && open.detection.id.is_none() {
                            open.detection.id = Some(id);
                        }
                    }
                }
                for d in &devices {
                    self.flushed_seen.insert(d.device, d.last_seen);
                }
                self.summary.flushes += 1;
                self.write_ok(pending.len(), rows.len());
                self.forget_old_minutes();
                let new: Vec<DeviceKey> = devices
                    .iter()
                    .map(|d| d.device)
                    .filter(|k| !self.announced.contains_key(k))
                    .collect();
                for device in new {
                    self.announce(device);
                }
            }
            Err(e) => {
                self.write_failed("the periodic flush", &e);
                if self.dirty.len() > MAX_PENDING_ROWS {
                    let n = self.dirty.len() as u64;
                    for k in self.dirty.drain() {
                        self.traffic.remove(&k);
                    }
                    self.summary.lost_traffic_rows += n;
                    log::warn!(
                        "dropped {n} per-minute traffic rows: the history has been unwritable \
                         for too long"
                    );
                }
            }
        }
        self.prune();
    }

    /// Drops the running totals of minutes long past (packet time) once they are written.
    fn forget_old_minutes(&mut self) {
        let Some(latest) = self.latest else { return };
        let keep_from = minute_start(latest).0 - KEEP_MINUTES * 60 * Timestamp::NANOS_PER_SEC;
        let dirty = &self.dirty;
        self.traffic
            .retain(|k, _| k.1 >= keep_from || dirty.contains(k));
    }

    /// Retention, by the wall clock of writing (so replaying an old capture keeps it,
    /// in whatever order captures come), at most once an hour.
    fn prune(&mut self) {
        let Some(days) = self.opts.retention_days else {
            return;
        };
        if self.health.failing.is_some()
            || self
                .last_prune
                .is_some_and(|t| t.elapsed() < PRUNE_INTERVAL)
        {
            return;
        }
        self.last_prune = Some(Instant::now());
        const DAY: i64 = 86_400 * Timestamp::NANOS_PER_SEC;
        let cutoff = Timestamp(wall_clock().0.saturating_sub(i64::from(days) * DAY));
        match self.store.prune(cutoff) {
            Ok(c) if c.traffic_minutes + c.detections > 0 => log::info!(
                "retention ({days} days): deleted {} traffic minutes and {} detections written \
                 before {}",
                c.traffic_minutes,
                c.detections,
                crate::render::human_time(cutoff)
            ),
            Ok(_) => {}
            Err(e) => self.write_failed("retention", &e),
        }
    }

    fn save_baselines(&mut self) {
        let Some(d) = &self.detector else { return };
        let updated = self.latest.unwrap_or(Timestamp(0));
        let records: Vec<BaselineRecord> = d
            .baselines()
            .into_iter()
            .map(|(k, b)| BaselineRecord {
                device: k,
                state: b.to_state(),
                updated,
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
        match result {
            Ok(()) => self.write_ok(0, 0),
            Err(e) => self.write_failed("the learned baselines", &e),
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
        // The window of the latest packet closes at the latest packet time (not the wall
        // clock, so a replay ends where its file ends); the baselines learn it.
        if let Some(latest) = self.latest {
            let to = Timestamp(latest.0.saturating_add(self.opts.burst.window_nanos));
            self.advance(to, on_event);
        }
        // Uploads still going on end now (a stop request, or a file that ends during
        // one): reported, stored and alerted like any end. On a copy of the detector, so
        // that the baselines saved below do not learn the time after the stop.
        if let Some(d) = self.detector.clone() {
            for b in d.finish() {
                self.ended(b, on_event);
            }
        }
        self.flush();
        self.save_baselines();
        if !self.pending.is_empty() || !self.dirty.is_empty() {
            self.summary.lost_detections += self.pending.len() as u64;
            self.summary.lost_traffic_rows += self.dirty.len() as u64;
            log::error!(
                "stopping while the history cannot be written: {} detections and {} per-minute \
                 traffic rows were not stored",
                self.pending.len(),
                self.dirty.len()
            );
        }
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
            device: d.device,
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
