//! `leakypick analyze`: per-device traffic and burst detection over capture files.
//!
//! One streaming pass: every decoded packet goes to the [`Inventory`] (counters,
//! addresses, names) and, when it is an upload, to the [`BurstDetector`]. Memory is
//! bounded by the number of devices, not by the length of the capture.

pub mod command;
pub mod render;
use crate::capture::{read_merged, CaptureError, CaptureSource, CaptureStats};
use crate::names::DeviceNames;
use crate::oui;
use leakypick_core::{
    is_upload, Burst, BurstConfig, BurstDetector, DestinationScope, DeviceKey, DeviceStats,
    HostnameSource, Inventory, InventoryLimits, Packet,
};

/// What to analyse and how.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    pub burst: BurstConfig,
    pub scope: DestinationScope,
    pub names: DeviceNames,
    pub limits: InventoryLimits,
}

/// One device with everything the output shows about it.
#[derive(Debug, Clone)]
pub struct DeviceReport {
    pub stats: DeviceStats,
    pub vendor: Option<&'static str>,
    /// The user's name for the device first (from `--names`), then the names it
    /// announced itself (DHCP option 12, then mDNS), without repeats.
    pub names: Vec<String>,
}

/// The result of analysing one or more captures.
#[derive(Debug, Clone)]
pub struct AnalyzeReport {
    pub devices: Vec<DeviceReport>,
    /// Bursts in order of start time.
    pub bursts: Vec<Burst>,
    pub capture: CaptureStats,
    pub burst_config: BurstConfig,
    pub scope: DestinationScope,
    /// Frames of devices beyond the inventory's device cap (not accounted).
    pub overflow_frames: u64,
}

impl AnalyzeReport {
    /// The device report for `key`, if the device was seen.
    pub fn device(&self, key: DeviceKey) -> Option<&DeviceReport> {
        self.devices.iter().find(|d| d.stats.key == key)
    }
}

/// Reads the sources (merged by time) and runs the inventory and the burst detector.
pub fn analyze(
    sources: Vec<CaptureSource>,
    opts: &AnalyzeOptions,
) -> Result<AnalyzeReport, CaptureError> {
    let mut inventory = Inventory::new(opts.limits, opts.scope);
    let mut detector: Option<BurstDetector> = None;
    let mut bursts = Vec::new();
    let scope = opts.scope;
    let config = opts.burst;
    let capture = read_merged(sources, |p: &Packet| {
        inventory.observe(p);
        // Windows are aligned to the capture's first packet, whatever sent it.
        let d = detector.get_or_insert_with(|| BurstDetector::new(config, p.ts));
        if !is_upload(&p.meta, scope) {
            return;
        }
        let Some(key) = DeviceKey::sender(&p.meta) else {
            return;
        };
        if inventory.get(&key).is_none() {
            return; // over the device cap: already counted as overflow
        }
        if let Some(b) = d.observe(key, p.ts, u64::from(p.wire_len)) {
            bursts.push(b);
        }
    })?;
    if let Some(d) = detector {
        bursts.extend(d.finish());
    }
    bursts.sort_by_key(|b| (b.start, b.device));
    let devices = inventory
        .devices()
        .into_iter()
        .map(|s| device_report(s, &opts.names))
        .collect();
    Ok(AnalyzeReport {
        devices,
        bursts,
        capture,
        burst_config: config,
        scope,
        overflow_frames: inventory.overflow_frames(),
    })
}

fn device_report(stats: &DeviceStats, names: &DeviceNames) -> DeviceReport {
    let mut all: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !all.iter().any(|x| x == n) {
            all.push(n.to_string());
        }
    };
    let vendor = match stats.key {
        DeviceKey::Mac(mac) => {
            if let Some(n) = names.get(mac) {
                push(n);
            }
            oui::vendor(mac)
        }
        DeviceKey::Ip(_) => None,
    };
    for source in [HostnameSource::Dhcp, HostnameSource::Mdns] {
        for h in stats.hostnames.iter().filter(|h| h.source == source) {
            push(&h.name);
        }
    }
    DeviceReport {
        stats: stats.clone(),
        vendor,
        names: all,
    }
}
