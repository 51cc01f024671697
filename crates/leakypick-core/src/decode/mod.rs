//! Frame decoding: from the bytes of one captured frame and its link type to the
//! metadata leakypick needs (MAC addresses, IP addresses, ports, hostname hints).
//!
//! Decoding never panics and never fails: a frame cut short by the snap length, or
//! garbage, yields whatever fields could be read and leaves the rest `None`.
//!
//! This is the hot path of every analysis, so the decoders are hand-written: they
//! read only the header fields leakypick uses, with bounds-checked slicing, and
//! allocate nothing except the rare hostname hint. The pieces are
//!
//! - `link`: Ethernet (VLAN tags, 802.3 LLC/SNAP), Linux cooked v1/v2, NULL/LOOP;
//! - `ip`: IPv4, IPv6 (with extension headers), TCP/UDP ports, raw-IP link types;
//! - `wifi`: 802.11 frames, with or without a radiotap header;
//! - `hint`: hostname hints from DHCP option 12 and mDNS answers.

mod hint;
mod ip;
mod link;
mod wifi;

#[cfg(test)]
mod tests;

use crate::net::Mac;
use std::net::IpAddr;

/// The link-layer header type of a capture interface (the pcap `LINKTYPE_*` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1): Ethernet II, also 802.3 length-field frames and VLAN tags.
    Ethernet,
    /// LINKTYPE_NULL (0): a 4-byte address family in the byte order of the host that
    /// captured (either is accepted, since files move between machines), then IP.
    Null,
    /// LINKTYPE_LOOP (108): like NULL but the family is always big-endian.
    Loop,
    /// LINKTYPE_RAW (101, and DLT 12/14 on some systems): IPv4 or IPv6 without a link header.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2.
    LinuxSll2,
    /// LINKTYPE_IEEE802_11 (105): raw 802.11 frames.
    Ieee80211,
    /// LINKTYPE_IEEE802_11_RADIOTAP (127): 802.11 frames behind a radiotap header.
    Radiotap,
    /// Any other link type: frames are counted but carry no addresses.
    Other(u32),
}

impl LinkType {
    /// Maps a pcap/pcapng link-type number to a `LinkType`.
    pub fn from_linktype(value: u32) -> LinkType {
        match value {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            105 => LinkType::Ieee80211,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            127 => LinkType::Radiotap,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The pcap link-type number.
    pub fn to_linktype(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
            LinkType::Ieee80211 => 105,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Radiotap => 127,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(v) => v,
        }
    }

    /// True for 802.11 link types, where payloads are usually encrypted and only
    /// MAC addresses, direction and sizes are known.
    pub fn is_wifi(self) -> bool {
        matches!(self, LinkType::Ieee80211 | LinkType::Radiotap)
    }
}

/// Where a hostname hint was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostnameSource {
    /// DHCP option 12 (Host Name) in a message sent by the client.
    Dhcp,
    /// An mDNS (UDP 5353) answer sent by the device naming itself (A/AAAA owner name).
    Mdns,
}

/// A name a device announced for itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostnameHint {
    pub source: HostnameSource,
    pub name: String,
}

/// What could be read from one frame's headers.
///
/// `src_mac` is the transmitter of the frame (the device that sent it). For 802.11
/// data frames it is the source address (SA), for management frames address 2, for
/// control frames the transmitter address when the subtype has one; for Linux cooked
/// captures it is the one link-layer address the header carries, when that is an
/// Ethernet MAC. Fields that the link type does not carry, or that lie beyond the
/// captured bytes, are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketMeta {
    pub src_mac: Option<Mac>,
    pub dst_mac: Option<Mac>,
    /// The EtherType of the payload (after VLAN tags and LLC/SNAP), when known. For
    /// link types without one (raw IP, NULL, LOOP) it is filled in from the IP
    /// version, so that IPv4 is 0x0800 and IPv6 is 0x86dd whatever the link type.
    /// An 802.3 frame without SNAP has none: its type/length field is a length.
    pub ethertype: Option<u16>,
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    /// IP protocol number (6 TCP, 17 UDP, ...) of the innermost header reached: after
    /// IPv6 extension headers, or the extension header itself when the frame is cut
    /// inside the chain.
    pub ip_proto: Option<u8>,
    /// TCP or UDP ports, from unfragmented packets and first fragments only.
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// True when the frame carries a payload whose network layer cannot be read,
    /// e.g. a protected (encrypted) 802.11 data frame, or an unprotected one whose
    /// payload is not LLC/SNAP or was not captured. Such frames are counted as
    /// possible cloud traffic because their destination cannot be known. Null data
    /// frames, management and control frames are never opaque: they carry no traffic.
    pub opaque_payload: bool,
    /// True for Linux cooked captures whose packet type says "sent by us" (outgoing).
    pub outgoing: bool,
    /// True for an 802.11 data frame that an access point relays to a station (FromDS
    /// without ToDS). Its source address is where the frame came from (the router, for
    /// cloud traffic), but over the air it travels downstream, so it is never an upload.
    pub relayed_downstream: bool,
    /// A name the sender announced for itself in this frame (DHCP option 12, mDNS).
    pub hostname: Option<HostnameHint>,
}

/// Decodes one frame. Never panics, whatever `data` holds.
///
/// Fields that the link type does not carry, or that lie beyond the captured bytes,
/// stay `None`; the decoders stop at the first header they cannot read.
#[inline]
pub fn decode(link: LinkType, data: &[u8]) -> PacketMeta {
    let mut m = PacketMeta::default();
    // Each decoder returns `None` as soon as a header runs past the captured bytes
    // (or is not what it claims to be); what was filled in until then stays.
    let _ = match link {
        LinkType::Ethernet => link::ethernet(data, &mut m),
        LinkType::Null => link::null(data, &mut m),
        LinkType::Loop => link::loopback(data, &mut m),
        LinkType::RawIp => ip::raw(data, &mut m, true, true),
        LinkType::Ipv4 => ip::raw(data, &mut m, true, false),
        LinkType::Ipv6 => ip::raw(data, &mut m, false, true),
        LinkType::LinuxSll => link::sll(data, &mut m),
        LinkType::LinuxSll2 => link::sll2(data, &mut m),
        LinkType::Ieee80211 => wifi::ieee80211(data, &mut m),
        LinkType::Radiotap => wifi::radiotap(data, &mut m),
        LinkType::Other(_) => None,
    };
    m
}

/// Reads a big-endian `u16` at `off`, or `None` past the end (never overflows).
#[inline(always)]
fn be16(d: &[u8], off: usize) -> Option<u16> {
    match d.get(off..) {
        Some([a, b, ..]) => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// Reads a little-endian `u16` at `off` (radiotap fields are little-endian).
#[inline(always)]
fn le16(d: &[u8], off: usize) -> Option<u16> {
    match d.get(off..) {
        Some([a, b, ..]) => Some(u16::from_le_bytes([*a, *b])),
        _ => None,
    }
}

/// Reads the MAC address at `off`, or `None` when fewer than six bytes remain.
#[inline(always)]
fn mac_at(d: &[u8], off: usize) -> Option<Mac> {
    Mac::from_slice(d.get(off..)?)
}
