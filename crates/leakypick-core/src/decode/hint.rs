//! Hostname hints: names devices announce for themselves, which make the inventory
//! readable ("Echo-Dot-xyz" instead of a bare MAC address).
//!
//! Two sources are read: DHCP option 12 (Host Name) in client messages, and the
//! owner name of the first address record in an mDNS response. Both parsers do a
//! bounded amount of work on any input and allocate only for a name they accept.

use super::{be16, HostnameHint, HostnameSource};

const DHCP_CLIENT_PORT: u16 = 68;
const DHCP_SERVER_PORT: u16 = 67;
const MDNS_PORT: u16 = 5353;

/// BOOTP fixed header length; the DHCP magic cookie and options follow it.
const BOOTP_HEADER_LEN: usize = 236;
const DHCP_MAGIC: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
const BOOTREQUEST: u8 = 1;
const OPT_PAD: u8 = 0;
const OPT_HOST_NAME: u8 = 12;
const OPT_END: u8 = 255;

/// Longest name accepted, in bytes (the DNS limit; DHCP options cannot be longer).
const MAX_NAME_LEN: usize = 255;

/// At most this many DNS questions and records are looked at in one mDNS message.
const MAX_DNS_RECORDS: usize = 64;
/// At most this many compression pointers are followed in one name, so pointer
/// cycles cannot loop.
const MAX_DNS_POINTER_JUMPS: usize = 16;

const DNS_TYPE_A: u16 = 1;
const DNS_TYPE_AAAA: u16 = 28;

/// Looks for a hostname hint in a UDP datagram (`d` starts at the UDP header) and
/// stores it in `out`.
///
/// Only datagrams on the hint ports are parsed, so other traffic costs two compares;
/// `out` is written only when a name is found, which keeps the common path free of
/// moves and drops of the `Option<HostnameHint>`.
#[inline(always)]
pub(super) fn from_udp(src_port: u16, dst_port: u16, d: &[u8], out: &mut Option<HostnameHint>) {
    let dhcp_client = src_port == DHCP_CLIENT_PORT && dst_port == DHCP_SERVER_PORT;
    if dhcp_client || src_port == MDNS_PORT {
        if let Some(hint) = from_hint_port(dhcp_client, d) {
            *out = Some(hint);
        }
    }
}

/// The rare path of `from_udp`, kept out of line so the common path stays small.
#[cold]
#[inline(never)]
fn from_hint_port(dhcp_client: bool, d: &[u8]) -> Option<HostnameHint> {
    // The UDP length bounds the payload (it excludes link padding and trailers such
    // as an 802.11 FCS); a bad length falls back to everything captured.
    let udp_len = usize::from(be16(d, 4)?);
    let payload = match d.get(8..udp_len) {
        Some(p) => p,
        None => d.get(8..)?,
    };
    let (source, name) = if dhcp_client {
        (HostnameSource::Dhcp, dhcp_host_name(payload)?)
    } else {
        (HostnameSource::Mdns, mdns_self_name(payload)?)
    };
    Some(HostnameHint { source, name })
}

/// DHCP option 12 of a client message (BOOTREQUEST with the magic cookie).
fn dhcp_host_name(p: &[u8]) -> Option<String> {
    if *p.first()? != BOOTREQUEST || p.get(BOOTP_HEADER_LEN..BOOTP_HEADER_LEN + 4)? != DHCP_MAGIC {
        return None;
    }
    let mut opts = p.get(BOOTP_HEADER_LEN + 4..)?;
    // Every step consumes at least one byte, so this ends within the datagram.
    loop {
        match opts {
            [OPT_PAD, rest @ ..] => opts = rest,
            [] | [OPT_END, ..] | [_] => return None,
            [OPT_HOST_NAME, len, rest @ ..] => {
                return clean_name(rest.get(..usize::from(*len))?);
            }
            [_, len, rest @ ..] => opts = rest.get(usize::from(*len)..)?,
        }
    }
}

/// Accepts a name only if it is printable UTF-8 once trimmed.
///
/// Trailing NUL bytes are dropped first because some DHCP clients terminate the
/// option like a C string. Names with control characters are rejected rather than
/// repaired: a hint is a convenience, and a mangled one would mislead.
fn clean_name(raw: &[u8]) -> Option<String> {
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let s = std::str::from_utf8(raw.get(..end)?).ok()?.trim();
    if s.is_empty() || s.len() > MAX_NAME_LEN || s.chars().any(char::is_control) {
        return None;
    }
    Some(s.to_owned())
}

/// The owner name of the first A or AAAA record in an mDNS response.
///
/// A device announcing its addresses names itself in those records ("Echo-Dot-xyz.local").
/// The answer and additional sections are searched (authority records in a response
/// are not announcements). Queries (QR bit clear) are ignored: a query names what the
/// sender looks for, not the sender.
fn mdns_self_name(p: &[u8]) -> Option<String> {
    if be16(p, 2)? & 0x8000 == 0 {
        return None;
    }
    let questions = usize::from(be16(p, 4)?);
    let answers = usize::from(be16(p, 6)?);
    let authority = usize::from(be16(p, 8)?);
    let additional = usize::from(be16(p, 10)?);
    let mut budget = MAX_DNS_RECORDS;
    let mut off = 12;
    for _ in 0..questions.min(budget) {
        off = skip_name(p, off)?.checked_add(4)?;
        budget -= 1;
    }
    let records = answers + authority + additional;
    for i in 0..records.min(budget) {
        let owner = off;
        off = skip_name(p, off)?;
        let rtype = be16(p, off)?;
        let rdlen = usize::from(be16(p, off + 8)?);
        let in_authority = i >= answers && i < answers + authority;
        if !in_authority && (rtype == DNS_TYPE_A || rtype == DNS_TYPE_AAAA) {
            if let Some(name) = read_name(p, owner) {
                return Some(name);
            }
        }
        off = off + 10 + rdlen;
    }
    None
}

/// Returns the offset just past the (possibly compressed) name at `off`.
///
/// Pointers are not followed: a pointer ends the name in place. Every step moves
/// forward, so the loop ends within the message.
fn skip_name(p: &[u8], mut off: usize) -> Option<usize> {
    loop {
        let len = *p.get(off)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(off + 1),
            0x00 => off += 1 + usize::from(len),
            0xc0 => return Some(off + 2),
            // 0x40 and 0x80 are extended label types that mDNS never uses.
            _ => return None,
        }
    }
}

/// Reads the name at `off`, following compression pointers, as dotted text without
/// a trailing dot. `None` for names that are empty, too long, looping, or not
/// printable UTF-8.
#[cold]
fn read_name(p: &[u8], mut off: usize) -> Option<String> {
    let mut name = String::new();
    let mut jumps = 0;
    loop {
        let len = *p.get(off)?;
        match len & 0xc0 {
            0x00 if len == 0 => break,
            0x00 => {
                let label = p.get(off + 1..off + 1 + usize::from(len))?;
                let label = std::str::from_utf8(label).ok()?;
                if label.chars().any(char::is_control) {
                    return None;
                }
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(label);
                // Each label adds at least one byte, so this also bounds the loop.
                if name.len() > MAX_NAME_LEN {
                    return None;
                }
                off += 1 + usize::from(len);
            }
            0xc0 => {
                jumps += 1;
                if jumps > MAX_DNS_POINTER_JUMPS {
                    return None;
                }
                off = usize::from(be16(p, off)? & 0x3fff);
            }
            _ => return None,
        }
    }
    if name.is_empty() {
        return None;
    }
    Some(name)
}
