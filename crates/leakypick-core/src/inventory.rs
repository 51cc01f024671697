//! Per-device inventory: counters, addresses and names, grouped by MAC address.
//!
//! A device is identified by its MAC address. Captures without link-layer addresses
//! (raw IP, NULL/loopback) identify devices by IP address instead. State per device
//! is bounded (a few addresses and names), and the number of devices is capped:
//! frames of devices beyond the cap are counted in [`Inventory::overflow_frames`]
//! instead of growing memory without limit.

use crate::decode::{HostnameHint, PacketMeta};
use crate::net::{is_local_ip, Mac};
use crate::time::Timestamp;
use crate::Packet;
/// A fast hash map with a fixed seed: keys are MAC and IP addresses, the maps are capped,
/// and a fixed seed keeps the core free of randomness.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
use std::fmt;
use std::net::IpAddr;

/// How a device is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceKey {
    /// By MAC address: every capture with a link layer (Ethernet, 802.11, Linux cooked).
    Mac(Mac),
    /// By IP address: captures without MAC addresses (raw IP, NULL/loopback).
    Ip(IpAddr),
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceKey::Mac(m) => m.fmt(f),
            DeviceKey::Ip(ip) => ip.fmt(f),
        }
    }
}

impl From<Mac> for DeviceKey {
    fn from(m: Mac) -> DeviceKey {
        DeviceKey::Mac(m)
    }
}

impl From<IpAddr> for DeviceKey {
    fn from(ip: IpAddr) -> DeviceKey {
        DeviceKey::Ip(ip)
    }
}

/// Why a string is neither a MAC nor an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDeviceKeyError(pub String);

impl fmt::Display for ParseDeviceKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is neither a MAC address (like 68:db:f5:90:19:64) nor an IP address \
             (like 192.168.12.112, for devices seen without MAC addresses)",
            self.0
        )
    }
}

impl std::error::Error for ParseDeviceKeyError {}

impl std::str::FromStr for DeviceKey {
    type Err = ParseDeviceKeyError;

    /// The text form of [`fmt::Display`]: a MAC address, else an IP address.
    fn from_str(s: &str) -> Result<DeviceKey, ParseDeviceKeyError> {
        if let Ok(m) = s.parse::<Mac>() {
            return Ok(DeviceKey::Mac(m));
        }
        s.trim()
            .parse::<IpAddr>()
            .map(DeviceKey::Ip)
            .map_err(|_| ParseDeviceKeyError(s.to_string()))
    }
}

impl DeviceKey {
    /// The MAC address, for devices identified by one.
    pub fn mac(self) -> Option<Mac> {
        match self {
            DeviceKey::Mac(m) => Some(m),
            DeviceKey::Ip(_) => None,
        }
    }

    /// The device that sent a frame, if the frame says who sent it.
    pub fn sender(meta: &PacketMeta) -> Option<DeviceKey> {
        match meta.src_mac {
            Some(m) if !m.is_group() => Some(DeviceKey::Mac(m)),
            Some(_) => None,
            None if meta.dst_mac.is_none() => meta.src_ip.map(DeviceKey::Ip),
            None => None,
        }
    }

    /// The unicast device a frame was sent to, if the frame says so.
    pub fn receiver(meta: &PacketMeta) -> Option<DeviceKey> {
        match meta.dst_mac {
            Some(m) if !m.is_group() => Some(DeviceKey::Mac(m)),
            Some(_) => None,
            None if meta.src_mac.is_none() => meta.dst_ip.map(DeviceKey::Ip),
            None => None,
        }
    }
}

/// Caps that keep the inventory's memory bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryLimits {
    pub max_devices: usize,
    pub max_ips_per_device: usize,
    pub max_hostnames_per_device: usize,
}

impl Default for InventoryLimits {
    fn default() -> Self {
        InventoryLimits {
            max_devices: 100_000,
            max_ips_per_device: 16,
            max_hostnames_per_device: 8,
        }
    }
}

/// Everything known about one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStats {
    pub key: DeviceKey,
    /// LAN addresses the device used as a source (in order of first use, capped).
    pub ips: Vec<IpAddr>,
    /// Names the device announced for itself (DHCP option 12, mDNS), capped.
    pub hostnames: Vec<HostnameHint>,
    /// Frames whose transmitter is this device, and their original lengths.
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Frames addressed to this device, and their original lengths.
    pub rx_packets: u64,
    pub rx_bytes: u64,
    /// Frames this device sent to a destination outside the local network.
    pub upstream_packets: u64,
    pub upstream_bytes: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

impl DeviceStats {
    fn new(key: DeviceKey, ts: Timestamp) -> DeviceStats {
        DeviceStats {
            key,
            ips: Vec::new(),
            hostnames: Vec::new(),
            tx_packets: 0,
            tx_bytes: 0,
            rx_packets: 0,
            rx_bytes: 0,
            upstream_packets: 0,
            upstream_bytes: 0,
            first_seen: ts,
            last_seen: ts,
        }
    }

    fn touch(&mut self, ts: Timestamp) {
        self.first_seen = self.first_seen.min(ts);
        self.last_seen = self.last_seen.max(ts);
    }
}

/// Which destinations count as an upload for audio detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DestinationScope {
    /// Only destinations outside the local network (the default): a camera streaming
    /// to a phone on the LAN is not a cloud upload.
    #[default]
    Cloud,
    /// Every unicast destination, LAN included.
    All,
}

/// True when a frame counts as an upload by its sender for audio detection.
///
/// Group-addressed frames (broadcast, multicast) never count. Frames with a readable
/// IP destination count when that destination is in scope. Frames whose network layer
/// cannot be read because it is encrypted (protected 802.11 data) count, because their
/// destination could be the cloud; other frames without IP (ARP, LLC) do not. 802.11
/// frames an access point relays to a station travel downstream and never count.
pub fn is_upload(meta: &PacketMeta, scope: DestinationScope) -> bool {
    if meta.relayed_downstream || meta.dst_mac.is_some_and(Mac::is_group) {
        return false;
    }
    match meta.dst_ip {
        Some(ip) => scope == DestinationScope::All || !is_local_ip(ip),
        None => meta.opaque_payload,
    }
}

/// The devices seen in a stream of packets.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    devices: HashMap<DeviceKey, DeviceStats>,
    limits: InventoryLimits,
    scope: DestinationScope,
    overflow_frames: u64,
}

impl Inventory {
    pub fn new(limits: InventoryLimits, scope: DestinationScope) -> Inventory {
        Inventory {
            devices: HashMap::default(),
            limits,
            scope,
            overflow_frames: 0,
        }
    }

    /// Accounts one frame to its sender and its receiver.
    pub fn observe(&mut self, packet: &Packet) {
        let meta = &packet.meta;
        let len = u64::from(packet.wire_len);
        if let Some(key) = DeviceKey::sender(meta) {
            let upload = is_upload(meta, self.scope);
            let limits = self.limits;
            if let Some(dev) = self.entry(key, packet.ts) {
                dev.tx_packets += 1;
                dev.tx_bytes += len;
                if upload {
                    dev.upstream_packets += 1;
                    dev.upstream_bytes += len;
                }
                if let Some(ip) = meta.src_ip {
                    if is_device_address(ip)
                        && dev.ips.len() < limits.max_ips_per_device
                        && !dev.ips.contains(&ip)
                    {
                        dev.ips.push(ip);
                    }
                }
                if let Some(hint) = &meta.hostname {
                    if dev.hostnames.len() < limits.max_hostnames_per_device
                        && !dev.hostnames.contains(hint)
                    {
                        dev.hostnames.push(hint.clone());
                    }
                }
            }
        }
        if let Some(key) = DeviceKey::receiver(meta) {
            if let Some(dev) = self.entry(key, packet.ts) {
                dev.rx_packets += 1;
                dev.rx_bytes += len;
            }
        }
    }

    fn entry(&mut self, key: DeviceKey, ts: Timestamp) -> Option<&mut DeviceStats> {
        let at_cap = self.devices.len() >= self.limits.max_devices;
        if at_cap && !self.devices.contains_key(&key) {
            self.overflow_frames += 1;
            return None;
        }
        let dev = self
            .devices
            .entry(key)
            .or_insert_with(|| DeviceStats::new(key, ts));
        dev.touch(ts);
        Some(dev)
    }

    /// The device with this key, if seen.
    pub fn get(&self, key: &DeviceKey) -> Option<&DeviceStats> {
        self.devices.get(key)
    }

    /// All devices, ordered by key so that output is deterministic.
    pub fn devices(&self) -> Vec<&DeviceStats> {
        let mut v: Vec<&DeviceStats> = self.devices.values().collect();
        v.sort_by_key(|d| d.key);
        v
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Frames that belonged to devices beyond `max_devices` and were not accounted.
    pub fn overflow_frames(&self) -> u64 {
        self.overflow_frames
    }

    pub fn limits(&self) -> InventoryLimits {
        self.limits
    }
}

/// Addresses that identify a device on the LAN: private, link-local and unique-local
/// unicast addresses. Cloud addresses seen as sources on a gateway's MAC belong to the
/// hosts behind it, and `0.0.0.0` is what a DHCP client uses before it has an address.
fn is_device_address(ip: IpAddr) -> bool {
    if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
        return false;
    }
    if let IpAddr::V4(v4) = ip {
        if v4.is_broadcast() {
            return false;
        }
    }
    is_local_ip(ip)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pkt(ts: i64, len: u32, src: &str, dst: &str, sip: &str, dip: &str) -> Packet {
        Packet {
            ts: Timestamp(ts),
            wire_len: len,
            meta: PacketMeta {
                src_mac: Some(src.parse().unwrap()),
                dst_mac: Some(dst.parse().unwrap()),
                src_ip: Some(sip.parse().unwrap()),
                dst_ip: Some(dip.parse().unwrap()),
                ..PacketMeta::default()
            },
        }
    }

    #[test]
    fn counts_tx_rx_and_uploads() {
        let echo = "68:db:f5:90:19:64";
        let gw = "1e:f2:0c:cc:ed:1c";
        let mut inv = Inventory::new(InventoryLimits::default(), DestinationScope::Cloud);
        inv.observe(&pkt(1, 500, echo, gw, "192.168.12.112", "52.94.233.109"));
        inv.observe(&pkt(2, 60, gw, echo, "52.94.233.109", "192.168.12.112"));
        inv.observe(&pkt(3, 50, echo, gw, "192.168.12.112", "192.168.12.115"));
        let d = inv.get(&DeviceKey::Mac(echo.parse().unwrap())).unwrap();
        assert_eq!(
            (d.tx_packets, d.tx_bytes, d.rx_packets, d.rx_bytes),
            (2, 550, 1, 60)
        );
        assert_eq!((d.upstream_packets, d.upstream_bytes), (1, 500));
        assert_eq!(d.ips, vec!["192.168.12.112".parse::<IpAddr>().unwrap()]);
        assert_eq!((d.first_seen, d.last_seen), (Timestamp(1), Timestamp(3)));
        // The gateway forwards cloud traffic but the cloud address is not its own.
        let g = inv.get(&DeviceKey::Mac(gw.parse().unwrap())).unwrap();
        assert!(g.ips.is_empty());
    }

    #[test]
    fn broadcast_is_not_a_device_and_not_an_upload() {
        let mut inv = Inventory::new(InventoryLimits::default(), DestinationScope::All);
        let p = pkt(
            1,
            342,
            "00:03:7f:96:d8:ec",
            "ff:ff:ff:ff:ff:ff",
            "0.0.0.0",
            "255.255.255.255",
        );
        inv.observe(&p);
        assert_eq!(inv.len(), 1);
        assert!(!is_upload(&p.meta, DestinationScope::All));
    }

    #[test]
    fn device_cap_counts_overflow() {
        let limits = InventoryLimits {
            max_devices: 1,
            ..InventoryLimits::default()
        };
        let mut inv = Inventory::new(limits, DestinationScope::Cloud);
        inv.observe(&pkt(
            1,
            100,
            "02:00:00:00:00:01",
            "ff:ff:ff:ff:ff:ff",
            "10.0.0.1",
            "10.0.0.255",
        ));
        inv.observe(&pkt(
            2,
            100,
            "02:00:00:00:00:02",
            "ff:ff:ff:ff:ff:ff",
            "10.0.0.2",
            "10.0.0.255",
        ));
        assert_eq!(inv.len(), 1);
        assert_eq!(inv.overflow_frames(), 1);
    }

    #[test]
    fn ip_keyed_devices_without_link_layer() {
        let mut inv = Inventory::new(InventoryLimits::default(), DestinationScope::Cloud);
        let p = Packet {
            ts: Timestamp(5),
            wire_len: 84,
            meta: PacketMeta {
                src_ip: Some("10.0.0.5".parse().unwrap()),
                dst_ip: Some("8.8.8.8".parse().unwrap()),
                ..PacketMeta::default()
            },
        };
        inv.observe(&p);
        let d = inv
            .get(&DeviceKey::Ip("10.0.0.5".parse().unwrap()))
            .unwrap();
        assert_eq!(d.upstream_bytes, 84);
        assert!(inv
            .get(&DeviceKey::Ip("8.8.8.8".parse().unwrap()))
            .is_some());
    }

    #[test]
    fn device_keys_round_trip_through_text() {
        for text in [
            "68:db:f5:90:19:64",
            "192.168.12.112",
            "fe80::1",
            "2001:db8::5",
        ] {
            let key: DeviceKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        assert_eq!(
            "68:db:f5:90:19:64".parse::<DeviceKey>().unwrap().mac(),
            Some(Mac([0x68, 0xdb, 0xf5, 0x90, 0x19, 0x64]))
        );
        assert_eq!("10.0.0.1".parse::<DeviceKey>().unwrap().mac(), None);
        let err = "kitchen".parse::<DeviceKey>().unwrap_err().to_string();
        assert!(err.contains("'kitchen'") && err.contains("MAC"), "{err}");
    }
}
