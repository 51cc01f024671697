//! The network and transport layers: IPv4, IPv6 (skipping extension headers),
//! TCP/UDP ports, and the link types that carry bare IP packets.

use super::{be16, hint, PacketMeta};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(super) const ETHERTYPE_IPV6: u16 = 0x86dd;

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// IPv6 extension headers that are skipped to reach the transport header.
const EXT_HOP_BY_HOP: u8 = 0;
const EXT_ROUTING: u8 = 43;
const EXT_FRAGMENT: u8 = 44;
const EXT_DEST_OPTS: u8 = 60;

/// At most this many IPv6 extension headers are skipped. Real packets carry one or
/// two; the bound keeps the work per frame constant on crafted chains.
const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Decodes the payload of a frame whose EtherType is `et`.
#[inline(always)]
pub(super) fn by_ethertype(et: u16, d: &[u8], m: &mut PacketMeta) -> Option<()> {
    match et {
        ETHERTYPE_IPV4 => ipv4(d, m),
        ETHERTYPE_IPV6 => ipv6(d, m),
        _ => None,
    }
}

/// Decodes a bare IP packet (raw IP, LINKTYPE_IPV4/IPV6, NULL/LOOP payloads).
///
/// The version nibble decides; `v4` and `v6` say which versions the link type
/// allows, so an IPv6 packet on an IPv4-only link type decodes to nothing rather
/// than to a guess. The EtherType is filled in for the version found, so that
/// consumers see the same `ethertype` whatever the link type was.
pub(super) fn raw(d: &[u8], m: &mut PacketMeta, v4: bool, v6: bool) -> Option<()> {
    match d.first()? >> 4 {
        4 if v4 => {
            m.ethertype = Some(ETHERTYPE_IPV4);
            ipv4(d, m)
        }
        6 if v6 => {
            m.ethertype = Some(ETHERTYPE_IPV6);
            ipv6(d, m)
        }
        _ => None,
    }
}

/// IPv4: addresses and protocol always; ports only from the first fragment
/// (offset 0), because later fragments start in the middle of the transport payload.
#[inline(always)]
fn ipv4(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    let b0 = *d.first()?;
    if b0 >> 4 != 4 {
        return None;
    }
    if let Some(&[s0, s1, s2, s3, t0, t1, t2, t3]) = d.get(12..20) {
        m.src_ip = Some(IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)));
        m.dst_ip = Some(IpAddr::V4(Ipv4Addr::new(t0, t1, t2, t3)));
    } else {
        // Cut short inside the header: keep what was captured.
        m.ip_proto = d.get(9).copied();
        m.src_ip = d
            .get(12..16)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)));
        return None;
    }
    let proto = *d.get(9)?;
    m.ip_proto = Some(proto);
    let ihl = usize::from(b0 & 0x0f) * 4;
    let frag_offset = be16(d, 6)? & 0x1fff;
    if frag_offset != 0 || ihl < 20 {
        return None;
    }
    // The total length excludes Ethernet padding and trailers. Zero (TCP segmentation
    // offload on the capturing host) or a length past the capture falls back to
    // everything captured.
    let total = usize::from(be16(d, 2)?);
    let end = if total >= ihl && total <= d.len() {
        total
    } else {
        d.len()
    };
    transport(proto, d.get(ihl..end)?, m)
}

/// IPv6: addresses, then the extension-header chain up to the transport header.
///
/// `ip_proto` is the type of the innermost header whose type is known; ports are
/// read only from an unfragmented packet or the first fragment.
#[inline(always)]
fn ipv6(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    if d.first()? >> 4 != 6 {
        return None;
    }
    let mut nh = *d.get(6)?;
    m.ip_proto = Some(nh);
    m.src_ip = ipv6_at(d, 8);
    m.dst_ip = ipv6_at(d, 24);
    // The payload length excludes link trailers; zero (a jumbogram) or a length past
    // the capture falls back to everything captured.
    let payload_len = usize::from(be16(d, 4)?);
    let mut rest = match d.get(40..40 + payload_len) {
        Some(p) if payload_len != 0 => p,
        _ => d.get(40..)?,
    };
    for _ in 0..MAX_IPV6_EXT_HEADERS {
        let len = match nh {
            EXT_HOP_BY_HOP | EXT_ROUTING | EXT_DEST_OPTS => (usize::from(*rest.get(1)?) + 1) * 8,
            EXT_FRAGMENT => {
                if be16(rest, 2)? & 0xfff8 != 0 {
                    // A later fragment: the next header is known, the ports are not here.
                    m.ip_proto = Some(*rest.first()?);
                    return None;
                }
                8
            }
            _ => break,
        };
        nh = *rest.first()?;
        m.ip_proto = Some(nh);
        rest = rest.get(len..)?;
    }
    transport(nh, rest, m)
}

/// Reads the IPv6 address at `off`.
#[inline(always)]
fn ipv6_at(d: &[u8], off: usize) -> Option<IpAddr> {
    let a: [u8; 16] = d.get(off..)?.get(..16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

/// TCP and UDP: ports, then hostname hints for the few UDP services that carry them.
#[inline(always)]
fn transport(proto: u8, d: &[u8], m: &mut PacketMeta) -> Option<()> {
    if proto != PROTO_TCP && proto != PROTO_UDP {
        return None;
    }
    let src = be16(d, 0);
    let dst = be16(d, 2);
    m.src_port = src;
    m.dst_port = dst;
    if proto == PROTO_UDP {
        hint::from_udp(src?, dst?, d, &mut m.hostname);
    }
    Some(())
}
