//! Wired link layers: Ethernet (with VLAN tags and 802.3 LLC/SNAP), Linux cooked
//! captures v1 and v2, and the BSD NULL/LOOP loopback headers.

use super::{be16, ip, mac_at, PacketMeta};

/// VLAN tag protocol identifiers: 802.1Q, 802.1ad (Q-in-Q) and the old pre-standard
/// Q-in-Q value that some switches still send.
const TPID_8021Q: u16 = 0x8100;
const TPID_8021AD: u16 = 0x88a8;
const TPID_QINQ_OLD: u16 = 0x9100;

/// At most this many stacked VLAN tags are skipped. Real networks use one or two;
/// the bound keeps the work per frame constant on crafted input.
const MAX_VLAN_TAGS: usize = 8;

/// Type/length values up to this are 802.3 lengths, not EtherTypes.
const MAX_8023_LENGTH: u16 = 1500;

/// ARPHRD_ETHER: the only hardware type whose cooked-capture address is a MAC.
const ARPHRD_ETHER: u16 = 1;

/// PACKET_OUTGOING: the capturing host sent this frame.
const PACKET_OUTGOING: u16 = 4;

/// Ethernet II or 802.3: destination MAC, source MAC, then a type/length field.
pub(super) fn ethernet(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    m.dst_mac = mac_at(d, 0);
    m.src_mac = mac_at(d, 6);
    ethertype_payload(d.get(12..)?, m)
}

/// Linux cooked capture v1 (16 bytes): packet type, ARPHRD type, address length,
/// 8-byte address field, protocol.
///
/// The one address is the sender's, in both directions, so it becomes `src_mac`
/// when it really is an Ethernet MAC; there is no destination address.
pub(super) fn sll(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    m.outgoing = be16(d, 0)? == PACKET_OUTGOING;
    if be16(d, 2)? == ARPHRD_ETHER && be16(d, 4)? == 6 {
        m.src_mac = mac_at(d, 6);
    }
    ethertype_payload(d.get(14..)?, m)
}

/// Linux cooked capture v2 (20 bytes): protocol, reserved, interface index,
/// ARPHRD type, packet type, address length, 8-byte address field.
pub(super) fn sll2(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    if let Some(&pkttype) = d.get(10) {
        m.outgoing = u16::from(pkttype) == PACKET_OUTGOING;
    }
    if be16(d, 8) == Some(ARPHRD_ETHER) && d.get(11) == Some(&6) {
        m.src_mac = mac_at(d, 12);
    }
    // The protocol is the first field; the payload starts after the 20-byte header.
    after_type(be16(d, 0)?, d.get(20..)?, m)
}

/// LINKTYPE_NULL: a 4-byte address family in the capturing host's byte order.
///
/// Families are small numbers, so a value with any of the upper 16 bits set must
/// have been written in the other byte order; this accepts files from big- and
/// little-endian hosts alike.
pub(super) fn null(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    let le = u32::from_le_bytes(d.get(..4)?.try_into().ok()?);
    let family = if le & 0xffff_0000 != 0 {
        le.swap_bytes()
    } else {
        le
    };
    by_family(family, d.get(4..)?, m)
}

/// LINKTYPE_LOOP (OpenBSD loopback): like NULL, but the family is always big-endian.
pub(super) fn loopback(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    let family = u32::from_be_bytes(d.get(..4)?.try_into().ok()?);
    by_family(family, d.get(4..)?, m)
}

/// Maps a BSD address family to IPv4 or IPv6. AF_INET6 differs between systems:
/// 10 on Linux, 24 on NetBSD/OpenBSD, 28 on FreeBSD, 30 on macOS.
fn by_family(family: u32, d: &[u8], m: &mut PacketMeta) -> Option<()> {
    match family {
        2 => ip::raw(d, m, true, false),
        10 | 24 | 28 | 30 => ip::raw(d, m, false, true),
        _ => None,
    }
}

/// Decodes what follows a type/length field: `d` starts at that field.
fn ethertype_payload(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    after_type(be16(d, 0)?, d.get(2..)?, m)
}

/// Skips VLAN tags (each one is TCI + the next type), resolves 802.3 lengths
/// through LLC/SNAP, records the EtherType and hands the payload to the network layer.
#[inline(always)]
fn after_type(mut et: u16, mut d: &[u8], m: &mut PacketMeta) -> Option<()> {
    let mut tags = 0;
    while matches!(et, TPID_8021Q | TPID_8021AD | TPID_QINQ_OLD) {
        if tags == MAX_VLAN_TAGS {
            return None;
        }
        et = be16(d, 2)?;
        d = d.get(4..)?;
        tags += 1;
    }
    if et <= MAX_8023_LENGTH {
        // An 802.3 length (or, in cooked captures, an 802.2 pseudo-protocol): the
        // payload is an LLC header, and only SNAP says which network layer follows.
        let (snap_et, rest) = snap(d)?;
        et = snap_et;
        d = rest;
    }
    m.ethertype = Some(et);
    ip::by_ethertype(et, d, m)
}

/// Reads an LLC/SNAP header (AA AA 03, OUI, EtherType) and returns the EtherType and
/// the payload after it.
///
/// Only the OUIs that mean "the next two bytes are an EtherType" are accepted: 00-00-00
/// (RFC 1042) and 00-00-F8 (802.1H bridge tunnel). Any other LLC payload (spanning
/// tree, NetBIOS, vendor SNAP protocols) has no network layer leakypick can read.
#[inline(always)]
pub(super) fn snap(d: &[u8]) -> Option<(u16, &[u8])> {
    match d {
        [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00 | 0xf8, e0, e1, rest @ ..] => {
            Some((u16::from_be_bytes([*e0, *e1]), rest))
        }
        _ => None,
    }
}
