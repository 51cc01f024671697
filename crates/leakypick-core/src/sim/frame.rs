//! Building the bytes of simulated frames: Ethernet II, IPv4, TCP or UDP, and the few
//! link-layer and LAN protocols the models use (ARP, EAPOL, DHCP, NTP).
//!
//! Only the headers (and the small DHCP and NTP bodies) are written: the rest of a frame
//! is zero bytes. Zero bytes add nothing to an Internet checksum, so the checksums
//! written here are those of the complete zero-padded frame, and a full-length capture
//! checks out in Wireshark.

use crate::net::Mac;

/// Ethernet header length.
const ETH: usize = 14;
/// IPv4 header length (no options).
const IP: usize = 20;
/// TCP header length without options, and with the timestamp option (NOP, NOP, TS).
const TCP: usize = 20;
const TCP_TS: usize = 32;
const UDP: usize = 8;
/// Frames at most this many bytes longer than their headers carry padding, not
/// payload: the Ethernet minimum of 60 bytes pads a 54-byte acknowledgement by six.
const MAX_PADDING: usize = 6;

pub(crate) const FLAG_FIN: u8 = 0x01;
pub(crate) const FLAG_SYN: u8 = 0x02;
const FLAG_PSH: u8 = 0x08;
const FLAG_ACK: u8 = 0x10;

/// The addresses of one simulated device and of its gateway.
#[derive(Debug, Clone)]
pub(crate) struct Addresses {
    pub mac: Mac,
    pub ip: [u8; 4],
    pub gateway_mac: Mac,
    pub gateway_ip: [u8; 4],
    /// The name the device sends in DHCP option 12, if any.
    pub hostname: Option<String>,
}

/// One conversation of a device with a remote host. TCP flows keep their sequence
/// numbers so that the segments of a capture follow on from each other.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub remote_ip: [u8; 4],
    pub remote_port: u16,
    pub local_port: u16,
    pub ts_option: bool,
    pub seq_up: u32,
    pub seq_down: u32,
}

/// What a pending frame is; rendered into bytes only when it is emitted, because TCP
/// sequence numbers depend on the frames emitted before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    Tcp {
        flow: u8,
        up: bool,
        flags: u8,
    },
    /// UDP on a flow; with `ntp`, the first payload byte is an NTP header.
    Udp {
        flow: u8,
        up: bool,
        ntp: bool,
    },
    /// A DHCP request (up, broadcast from 0.0.0.0 when `broadcast`, else unicast to the
    /// gateway) or the gateway's acknowledgement.
    Dhcp {
        up: bool,
        broadcast: bool,
    },
    /// An ARP request for the gateway (up) or the gateway's reply.
    Arp {
        up: bool,
    },
    /// An EAPOL-Key frame to the access point (the gateway).
    Eapol,
}

/// Smallest wire length a frame of this kind can have.
pub(crate) fn min_len(what: What, flows: &[Flow]) -> usize {
    match what {
        What::Tcp { flow, .. } => {
            let ts = flows.get(usize::from(flow)).is_some_and(|f| f.ts_option);
            ETH + IP + if ts { TCP_TS } else { TCP }
        }
        What::Udp { ntp, .. } => ETH + IP + UDP + if ntp { 48 } else { 0 },
        What::Dhcp { .. } => ETH + IP + UDP + 300,
        What::Arp { .. } => ETH + 28,
        What::Eapol => ETH + 4,
    }
}

/// Writes the non-zero beginning of a frame into `buf` (cleared first) and advances the
/// flow's sequence numbers. `wire_len` must be at least [`min_len`].
pub(crate) fn render(
    buf: &mut Vec<u8>,
    addr: &Addresses,
    flows: &mut [Flow],
    ip_id: &mut u16,
    what: What,
    wire_len: usize,
    ts_ns: i64,
) {
    buf.clear();
    match what {
        What::Tcp { flow, up, flags } => {
            let Some(f) = flows.get_mut(usize::from(flow)) else {
                return;
            };
            let hdr = if f.ts_option { TCP_TS } else { TCP };
            let room = wire_len.saturating_sub(ETH + IP + hdr);
            let payload = if room <= MAX_PADDING { 0 } else { room };
            let (seq, ack) = if up {
                (f.seq_up, f.seq_down)
            } else {
                (f.seq_down, f.seq_up)
            };
            let consumed = payload as u32 + u32::from(flags & (FLAG_SYN | FLAG_FIN) != 0);
            if up {
                f.seq_up = f.seq_up.wrapping_add(consumed);
            } else {
                f.seq_down = f.seq_down.wrapping_add(consumed);
            }
            let (src_port, dst_port) = if up {
                (f.local_port, f.remote_port)
            } else {
                (f.remote_port, f.local_port)
            };
            let (src_ip, dst_ip) = ends(addr, f.remote_ip, up);
            ethernet(buf, addr, up, 0x0800);
            let id = next_id(ip_id, up);
            ipv4(buf, 6, (IP + hdr + payload) as u16, id, up, src_ip, dst_ip);
            let l4 = buf.len();
            buf.extend_from_slice(&src_port.to_be_bytes());
            buf.extend_from_slice(&dst_port.to_be_bytes());
            buf.extend_from_slice(&seq.to_be_bytes());
            // A SYN acknowledges nothing; everything else acknowledges the other side.
            let ack_flag = if flags & FLAG_SYN != 0 && up {
                0
            } else {
                FLAG_ACK
            };
            buf.extend_from_slice(&if ack_flag == 0 { 0 } else { ack }.to_be_bytes());
            buf.push(((hdr / 4) as u8) << 4);
            let psh = if payload > 0 { FLAG_PSH } else { 0 };
            buf.push(flags | ack_flag | psh);
            buf.extend_from_slice(&if up { 0x7210u16 } else { 0xffffu16 }.to_be_bytes());
            buf.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            if f.ts_option {
                // Timestamp values in milliseconds of the frame's own time.
                let ms = (ts_ns.div_euclid(1_000_000) as u64) as u32;
                let (val, ecr) = if up {
                    (ms, ms.wrapping_sub(40))
                } else {
                    (ms.wrapping_add(7_000_000), ms.wrapping_sub(45))
                };
                buf.extend_from_slice(&[1, 1, 8, 10]);
                buf.extend_from_slice(&val.to_be_bytes());
                buf.extend_from_slice(&ecr.to_be_bytes());
            }
            let sum = l4_checksum(&buf[l4..], src_ip, dst_ip, 6, hdr + payload);
            buf[l4 + 16..l4 + 18].copy_from_slice(&sum.to_be_bytes());
        }
        What::Udp { flow, up, ntp } => {
            let Some(f) = flows.get(usize::from(flow)) else {
                return;
            };
            let (src_ip, dst_ip) = ends(addr, f.remote_ip, up);
            let (src_port, dst_port) = if up {
                (f.local_port, f.remote_port)
            } else {
                (f.remote_port, f.local_port)
            };
            let mut body = [0u8; 1];
            if ntp {
                // LI 0, version 4, mode 3 (client) or 4 (server).
                body[0] = if up { 0x23 } else { 0x24 };
            }
            udp(
                buf,
                addr,
                ip_id,
                up,
                (src_ip, src_port),
                (dst_ip, dst_port),
                wire_len,
                &body,
            );
        }
        What::Dhcp { up, broadcast } => {
            let mut body = Vec::with_capacity(300);
            dhcp_body(&mut body, addr, up);
            let (src, dst) = match (up, broadcast) {
                (true, true) => (([0, 0, 0, 0], 68), ([255, 255, 255, 255], 67)),
                (true, false) => ((addr.ip, 68), (addr.gateway_ip, 67)),
                (false, _) => ((addr.gateway_ip, 67), (addr.ip, 68)),
            };
            udp(buf, addr, ip_id, up, src, dst, wire_len, &body);
            if up && broadcast {
                buf[0..6].copy_from_slice(&Mac::BROADCAST.0);
            }
        }
        What::Arp { up } => {
            ethernet(buf, addr, up, 0x0806);
            buf.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, if up { 1 } else { 2 }]);
            let (smac, sip, tmac, tip) = if up {
                (addr.mac, addr.ip, Mac([0; 6]), addr.gateway_ip)
            } else {
                (addr.gateway_mac, addr.gateway_ip, addr.mac, addr.ip)
            };
            buf.extend_from_slice(&smac.0);
            buf.extend_from_slice(&sip);
            buf.extend_from_slice(&tmac.0);
            buf.extend_from_slice(&tip);
        }
        What::Eapol => {
            ethernet(buf, addr, true, 0x888e);
            // Version 2, type 3 (key), body length.
            let body = wire_len.saturating_sub(ETH + 4) as u16;
            buf.extend_from_slice(&[2, 3]);
            buf.extend_from_slice(&body.to_be_bytes());
        }
    }
    buf.truncate(wire_len);
}

/// Source and destination IPv4 addresses of a frame between the device and `remote`.
fn ends(addr: &Addresses, remote: [u8; 4], up: bool) -> ([u8; 4], [u8; 4]) {
    if up {
        (addr.ip, remote)
    } else {
        (remote, addr.ip)
    }
}

/// The device counts its IPv4 identifiers up; the far end sends 0 with "don't fragment",
/// as Linux servers do.
fn next_id(ip_id: &mut u16, up: bool) -> u16 {
    if up {
        *ip_id = ip_id.wrapping_add(1);
        *ip_id
    } else {
        0
    }
}

fn ethernet(buf: &mut Vec<u8>, addr: &Addresses, up: bool, ethertype: u16) {
    let (dst, src) = if up {
        (addr.gateway_mac, addr.mac)
    } else {
        (addr.mac, addr.gateway_mac)
    };
    buf.extend_from_slice(&dst.0);
    buf.extend_from_slice(&src.0);
    buf.extend_from_slice(&ethertype.to_be_bytes());
}

fn ipv4(buf: &mut Vec<u8>, proto: u8, total: u16, id: u16, up: bool, src: [u8; 4], dst: [u8; 4]) {
    let start = buf.len();
    let ttl = if up { 64 } else { 235 };
    buf.extend_from_slice(&[0x45, 0]);
    buf.extend_from_slice(&total.to_be_bytes());
    buf.extend_from_slice(&id.to_be_bytes());
    buf.extend_from_slice(&[0x40, 0, ttl, proto, 0, 0]);
    buf.extend_from_slice(&src);
    buf.extend_from_slice(&dst);
    let sum = fold(sum_bytes(&buf[start..start + IP], 0));
    buf[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
}

#[allow(clippy::too_many_arguments)]
fn udp(
    buf: &mut Vec<u8>,
    addr: &Addresses,
    ip_id: &mut u16,
    up: bool,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    wire_len: usize,
    body: &[u8],
) {
    let len = wire_len.saturating_sub(ETH + IP).max(UDP);
    ethernet(buf, addr, up, 0x0800);
    let id = next_id(ip_id, up);
    ipv4(buf, 17, (IP + len) as u16, id, up, src.0, dst.0);
    let l4 = buf.len();
    buf.extend_from_slice(&src.1.to_be_bytes());
    buf.extend_from_slice(&dst.1.to_be_bytes());
    buf.extend_from_slice(&(len as u16).to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&body[..body.len().min(len - UDP)]);
    let mut sum = l4_checksum(&buf[l4..], src.0, dst.0, 17, len);
    if sum == 0 {
        sum = 0xffff; // 0 means "no checksum" in UDP over IPv4
    }
    buf[l4 + 6..l4 + 8].copy_from_slice(&sum.to_be_bytes());
}

/// A BOOTP body with the DHCP options a device sends (message type, host name) or the
/// gateway answers (message type, server, lease, mask, router).
fn dhcp_body(b: &mut Vec<u8>, addr: &Addresses, up: bool) {
    let xid = u32::from_be_bytes([addr.mac.0[2], addr.mac.0[3], addr.mac.0[4], addr.mac.0[5]]);
    b.extend_from_slice(&[if up { 1 } else { 2 }, 1, 6, 0]);
    b.extend_from_slice(&xid.to_be_bytes());
    b.extend_from_slice(&[0; 4]); // secs, flags
    let (ciaddr, yiaddr) = if up {
        ([0; 4], [0; 4])
    } else {
        ([0; 4], addr.ip)
    };
    b.extend_from_slice(&ciaddr);
    b.extend_from_slice(&yiaddr);
    b.extend_from_slice(&[0; 8]); // siaddr, giaddr
    b.extend_from_slice(&addr.mac.0);
    b.resize(236, 0); // chaddr padding, sname, file
    b.extend_from_slice(&[99, 130, 83, 99]); // magic cookie
    if up {
        b.extend_from_slice(&[53, 1, 3]); // DHCPREQUEST
        b.extend_from_slice(&[50, 4]); // requested address
        b.extend_from_slice(&addr.ip);
        if let Some(name) = &addr.hostname {
            let name = &name.as_bytes()[..name.len().min(40)];
            b.extend_from_slice(&[12, name.len() as u8]);
            b.extend_from_slice(name);
        }
    } else {
        b.extend_from_slice(&[53, 1, 5]); // DHCPACK
        b.extend_from_slice(&[54, 4]);
        b.extend_from_slice(&addr.gateway_ip);
        b.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10]); // one hour
        b.extend_from_slice(&[1, 4, 255, 255, 255, 0]);
        b.extend_from_slice(&[3, 4]);
        b.extend_from_slice(&addr.gateway_ip);
    }
    b.push(255);
}

/// Ones'-complement sum of 16-bit big-endian words, starting from `acc`.
fn sum_bytes(bytes: &[u8], mut acc: u32) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// TCP or UDP checksum of a segment of `l4_len` bytes whose written part is `written`
/// (the rest being zeros), with the IPv4 pseudo-header.
fn l4_checksum(written: &[u8], src: [u8; 4], dst: [u8; 4], proto: u8, l4_len: usize) -> u16 {
    let mut acc = sum_bytes(&src, 0);
    acc = sum_bytes(&dst, acc);
    acc += u32::from(proto) + l4_len as u32;
    fold(sum_bytes(written, acc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Addresses {
        Addresses {
            mac: Mac([0x68, 0xdb, 0xf5, 0, 0, 1]),
            ip: [192, 168, 1, 10],
            gateway_mac: Mac([0, 9, 0x5b, 0, 0, 1]),
            gateway_ip: [192, 168, 1, 1],
            hostname: Some("echo".into()),
        }
    }

    fn flow(ts_option: bool) -> Flow {
        Flow {
            remote_ip: [52, 46, 136, 99],
            remote_port: 443,
            local_port: 40000,
            ts_option,
            seq_up: 1000,
            seq_down: 5000,
        }
    }

    /// The checksum of a full frame (written part plus zeros) verifies to zero.
    fn verify(buf: &[u8], wire: usize) {
        let mut full = buf.to_vec();
        full.resize(wire, 0);
        assert_eq!(fold(sum_bytes(&full[ETH..ETH + IP], 0)), 0, "IP checksum");
        let total = usize::from(u16::from_be_bytes([full[16], full[17]]));
        let proto = full[23];
        let l4 = &full[ETH + IP..ETH + total];
        let src: [u8; 4] = full[26..30].try_into().unwrap();
        let dst: [u8; 4] = full[30..34].try_into().unwrap();
        let mut acc = sum_bytes(&src, 0);
        acc = sum_bytes(&dst, acc);
        acc += u32::from(proto) + l4.len() as u32;
        assert_eq!(fold(sum_bytes(l4, acc)), 0, "L4 checksum");
    }

    #[test]
    fn tcp_frames_have_valid_checksums_and_follow_on_sequence_numbers() {
        let a = addr();
        let mut flows = vec![flow(false)];
        let mut id = 0;
        let mut buf = Vec::new();
        let what = What::Tcp {
            flow: 0,
            up: true,
            flags: 0,
        };
        render(&mut buf, &a, &mut flows, &mut id, what, 491, 0);
        assert_eq!(buf.len(), 54);
        verify(&buf, 491);
        assert_eq!(u32::from_be_bytes(buf[38..42].try_into().unwrap()), 1000);
        assert_eq!(flows[0].seq_up, 1000 + 437);
        // A 60-byte frame from the server is a padded acknowledgement: no payload.
        let ack = What::Tcp {
            flow: 0,
            up: false,
            flags: 0,
        };
        render(&mut buf, &a, &mut flows, &mut id, ack, 60, 0);
        verify(&buf, 60);
        assert_eq!(u16::from_be_bytes([buf[16], buf[17]]), 40);
        assert_eq!(u32::from_be_bytes(buf[42..46].try_into().unwrap()), 1437);
        assert_eq!(flows[0].seq_down, 5000);
        assert_eq!(&buf[0..6], &a.mac.0);
    }

    #[test]
    fn timestamp_option_frames_and_udp_and_dhcp_check_out() {
        let a = addr();
        let mut flows = vec![flow(true)];
        let mut id = 0;
        let mut buf = Vec::new();
        let what = What::Tcp {
            flow: 0,
            up: true,
            flags: 0,
        };
        render(&mut buf, &a, &mut flows, &mut id, what, 135, 123_456_789);
        verify(&buf, 135);
        assert_eq!(flows[0].seq_up, 1069);
        render(&mut buf, &a, &mut flows, &mut id, what, 66, 0);
        assert_eq!(
            flows[0].seq_up, 1069,
            "66 bytes with timestamps is a bare ACK"
        );
        let ntp = What::Udp {
            flow: 0,
            up: true,
            ntp: true,
        };
        render(&mut buf, &a, &mut flows, &mut id, ntp, 90, 0);
        verify(&buf, 90);
        let dhcp = What::Dhcp {
            up: true,
            broadcast: true,
        };
        render(&mut buf, &a, &mut flows, &mut id, dhcp, 342, 0);
        verify(&buf, 342);
        assert_eq!(&buf[0..6], &[0xff; 6]);
        let reply = What::Dhcp {
            up: false,
            broadcast: true,
        };
        render(&mut buf, &a, &mut flows, &mut id, reply, 346, 0);
        verify(&buf, 346);
    }
}
