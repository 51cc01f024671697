//! IEEE 802.11 frames, raw or behind a radiotap header.
//!
//! In a monitor-mode capture most data frames are protected, so the addresses in the
//! 802.11 header and the frame size are all there is; they are enough for per-device
//! byte rates. Unprotected data frames (open networks, or captures decrypted before
//! they reach leakypick) are decoded down to IP and ports.

use super::{ip, le16, link, mac_at, Mac, PacketMeta};

const TYPE_MANAGEMENT: u8 = 0;
const TYPE_CONTROL: u8 = 1;
const TYPE_DATA: u8 = 2;

const FLAG_TO_DS: u8 = 0x01;
const FLAG_FROM_DS: u8 = 0x02;
const FLAG_PROTECTED: u8 = 0x40;
/// On QoS data frames the Order bit means "+HTC": a 4-byte HT Control field follows
/// the QoS Control field.
const FLAG_ORDER: u8 = 0x80;

/// Data subtypes with this bit set carry no payload (Null, QoS Null, CF-Poll/Ack only).
const SUBTYPE_NO_DATA: u8 = 0x04;
/// Data subtypes with this bit set are QoS subtypes and have a QoS Control field.
const SUBTYPE_QOS: u8 = 0x08;
/// A-MSDU Present bit in the first byte of QoS Control.
const QOS_AMSDU: u8 = 0x80;

/// Radiotap header: version 0, pad, little-endian length, first presence bitmap.
const RADIOTAP_MIN_LEN: usize = 8;

/// Skips the radiotap header (its length is the little-endian `u16` at offset 2,
/// which already covers any extended presence bitmaps) and decodes the 802.11 frame.
///
/// The radiotap FCS flag is not consulted: it only says that four bytes at the end
/// of the frame are a checksum, and the header fields decoded here come first.
pub(super) fn radiotap(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    if *d.first()? != 0 {
        return None;
    }
    let len = usize::from(le16(d, 2)?);
    if len < RADIOTAP_MIN_LEN {
        return None;
    }
    ieee80211(d.get(len..)?, m)
}

/// Decodes an 802.11 MAC header: the transmitting device and the destination by
/// frame type, then the payload of unprotected data frames.
pub(super) fn ieee80211(d: &[u8], m: &mut PacketMeta) -> Option<()> {
    let fc0 = *d.first()?;
    // Protocol version 1 (802.11ah PV1) frames have a different header layout.
    if fc0 & 0x03 != 0 {
        return None;
    }
    let flags = *d.get(1)?;
    let subtype = fc0 >> 4;
    match (fc0 >> 2) & 0x03 {
        TYPE_DATA => data(d, subtype, flags, m),
        TYPE_MANAGEMENT => {
            // Address 1 is the receiver (DA); address 2 is the transmitter (SA).
            m.dst_mac = mac_at(d, 4);
            m.src_mac = mac_at(d, 10);
            None
        }
        TYPE_CONTROL => {
            m.dst_mac = mac_at(d, 4);
            if control_has_ta(subtype) {
                // With bandwidth signalling (802.11ac) the TA of RTS, BlockAck and
                // friends has its group bit set; a transmitter is always an
                // individual station, so the bit is cleared to get its real MAC.
                m.src_mac = mac_at(d, 10).map(|Mac(mut a)| {
                    a[0] &= !0x01;
                    Mac(a)
                });
            }
            None
        }
        // Type 3 (extension: DMG beacons, S1G) is not decoded.
        _ => None,
    }
}

/// True for control subtypes whose second address is a transmitter address:
/// Trigger (2), Beamforming Report Poll (4), VHT/HE NDP Announcement (5),
/// BlockAckReq (8), BlockAck (9), PS-Poll (10), RTS (11), CF-End (14) and
/// CF-End+CF-Ack (15). CTS and ACK carry only a receiver address.
#[inline(always)]
fn control_has_ta(subtype: u8) -> bool {
    matches!(subtype, 2 | 4 | 5 | 8..=11 | 14 | 15)
}

/// Decodes a data frame: SA/DA by the DS bits, then the payload.
///
/// | ToDS | FromDS | a1    | a2    | a3  | a4 |
/// |------|--------|-------|-------|-----|----|
/// | 0    | 0      | DA    | SA    |BSSID| -  |
/// | 1    | 0      | BSSID | SA    | DA  | -  |
/// | 0    | 1      | DA    | BSSID | SA  | -  |
/// | 1    | 1      | RA    | TA    | DA  | SA |
#[inline(always)]
fn data(d: &[u8], subtype: u8, flags: u8, m: &mut PacketMeta) -> Option<()> {
    let to_ds = flags & FLAG_TO_DS != 0;
    let from_ds = flags & FLAG_FROM_DS != 0;
    let (da, sa, mut hdr) = match (to_ds, from_ds) {
        (false, false) => (4, 10, 24),
        (true, false) => (16, 10, 24),
        (false, true) => (4, 16, 24),
        (true, true) => (16, 24, 30),
    };
    m.dst_mac = mac_at(d, da);
    m.src_mac = mac_at(d, sa);
    m.relayed_downstream = from_ds && !to_ds;
    if subtype & SUBTYPE_NO_DATA != 0 {
        return None;
    }
    // The frame carries a payload: it stays opaque unless it is unprotected LLC/SNAP
    // and can be read (a frame cut short in its header is opaque too).
    m.opaque_payload = true;
    if flags & FLAG_PROTECTED != 0 {
        return None;
    }
    let mut amsdu = false;
    if subtype & SUBTYPE_QOS != 0 {
        amsdu = d.get(hdr)? & QOS_AMSDU != 0;
        hdr += if flags & FLAG_ORDER != 0 { 2 + 4 } else { 2 };
    }
    let mut payload = d.get(hdr..)?;
    if amsdu {
        // An A-MSDU: the payload is a list of subframes (DA, SA, length, LLC/SNAP
        // payload). The first subframe's DA and SA are the real end points (the
        // header's third and fourth addresses may be the BSSID here).
        let (sub_da, sub_sa) = (mac_at(payload, 0)?, mac_at(payload, 6)?);
        m.dst_mac = Some(sub_da);
        m.src_mac = Some(sub_sa);
        payload = payload.get(14..)?;
    }
    let (et, rest) = link::snap(payload)?;
    m.opaque_payload = false;
    m.ethertype = Some(et);
    ip::by_ethertype(et, rest, m)
}
