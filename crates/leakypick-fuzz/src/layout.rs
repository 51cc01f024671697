//! Just enough of pcap and pcapng to aim mutations: where the records or blocks of an
//! input lie, and small writers for the generated seeds.
//!
//! The walk is deliberately lenient and separate from the readers under test: it
//! stops at the first length that does not fit, and whatever it finds only decides
//! *where* a mutation lands, never whether the input is valid.

/// The container format, from the magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap; `header_len` is the record header length (16, or 24 for the
    /// "modified" format).
    Pcap {
        big_endian: bool,
        header_len: usize,
    },
    PcapNg,
    Other,
}

/// pcapng block types the mutations know.
pub const SHB: u32 = 0x0A0D_0D0A;
pub const IDB: u32 = 1;
pub const OPB: u32 = 2;
pub const SPB: u32 = 3;
pub const EPB: u32 = 6;
/// The block type recorded for a classic pcap record.
pub const PCAP_RECORD: u32 = u32::MAX;

/// One pcap record or pcapng block: `data[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub start: usize,
    pub len: usize,
    pub block_type: u32,
    pub big_endian: bool,
}

impl Unit {
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    pub fn is_packet(&self) -> bool {
        matches!(self.block_type, PCAP_RECORD | EPB | OPB | SPB)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub format: Format,
    /// The records (pcap, after the file header) or blocks (pcapng, the section
    /// headers included), in file order, as far as the framing holds.
    pub units: Vec<Unit>,
}

/// At most this many units are listed: enough to aim at, bounded for block floods.
const MAX_UNITS: usize = 1 << 18;

pub fn format_of(data: &[u8]) -> Format {
    match data.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) | Some([0x4d, 0x3c, 0xb2, 0xa1]) => Format::Pcap {
            big_endian: false,
            header_len: 16,
        },
        Some([0xa1, 0xb2, 0xc3, 0xd4]) | Some([0xa1, 0xb2, 0x3c, 0x4d]) => Format::Pcap {
            big_endian: true,
            header_len: 16,
        },
        Some([0x34, 0xcd, 0xb2, 0xa1]) => Format::Pcap {
            big_endian: false,
            header_len: 24,
        },
        Some([0xa1, 0xb2, 0xcd, 0x34]) => Format::Pcap {
            big_endian: true,
            header_len: 24,
        },
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => Format::PcapNg,
        _ => Format::Other,
    }
}

pub fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

pub fn read_u16(data: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// Writes `value` in the given byte order at `at`, as far as it fits.
pub fn write_u32(data: &mut [u8], at: usize, big_endian: bool, value: u32) {
    let bytes = if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    put(data, at, &bytes);
}

pub fn write_u16(data: &mut [u8], at: usize, big_endian: bool, value: u16) {
    let bytes = if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    put(data, at, &bytes);
}

/// Copies as much of `bytes` to `data[at..]` as fits.
pub fn put(data: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = data.get_mut(at..) {
        let n = dst.len().min(bytes.len());
        dst[..n].copy_from_slice(&bytes[..n]);
    }
}

pub fn layout(data: &[u8]) -> Layout {
    let format = format_of(data);
    let mut units = Vec::new();
    match format {
        Format::Pcap {
            big_endian,
            header_len,
        } => {
            let mut pos = 24;
            while units.len() < MAX_UNITS {
                let Some(cap) = read_u32(data, pos + 8, big_endian) else {
                    break;
                };
                let len = header_len.saturating_add(cap as usize);
                if pos.saturating_add(len) > data.len() {
                    break;
                }
                units.push(Unit {
                    start: pos,
                    len,
                    block_type: PCAP_RECORD,
                    big_endian,
                });
                pos += len;
            }
        }
        Format::PcapNg => {
            let mut pos = 0;
            let mut big_endian = false;
            while units.len() < MAX_UNITS {
                let Some(raw_type) = read_u32(data, pos, false) else {
                    break;
                };
                if raw_type == SHB {
                    match data.get(pos + 8..pos + 12) {
                        Some([0x4d, 0x3c, 0x2b, 0x1a]) => big_endian = false,
                        Some([0x1a, 0x2b, 0x3c, 0x4d]) => big_endian = true,
                        _ => break,
                    }
                }
                let block_type = if raw_type == SHB {
                    SHB
                } else {
                    read_u32(data, pos, big_endian).unwrap_or(0)
                };
                let Some(len) = read_u32(data, pos + 4, big_endian) else {
                    break;
                };
                let len = len as usize;
                if len < 12 || len % 4 != 0 || pos.saturating_add(len) > data.len() {
                    break;
                }
                units.push(Unit {
                    start: pos,
                    len,
                    block_type,
                    big_endian,
                });
                pos += len;
            }
        }
        Format::Other => {}
    }
    Layout { format, units }
}

/// Where the options of a pcapng block start, for the block types that have options.
pub fn options_start(data: &[u8], unit: &Unit) -> Option<usize> {
    let fixed = match unit.block_type {
        SHB => 24,
        IDB => 16,
        EPB => {
            let cap = read_u32(data, unit.start + 20, unit.big_endian)? as usize;
            28usize.checked_add(cap.checked_next_multiple_of(4)?)?
        }
        _ => return None,
    };
    (fixed + 4 <= unit.len.saturating_sub(4)).then_some(unit.start + fixed)
}

// ---------------------------------------------------------------------------------
// Writers for generated seeds.
// ---------------------------------------------------------------------------------

/// A classic little-endian microsecond pcap file header for Ethernet.
pub fn pcap_header() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(65_535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    out
}

/// Appends a pcap record.
pub fn pcap_record(out: &mut Vec<u8>, secs: u32, usecs: u32, frame: &[u8]) {
    out.extend(secs.to_le_bytes());
    out.extend(usecs.to_le_bytes());
    out.extend((frame.len() as u32).to_le_bytes());
    out.extend((frame.len() as u32).to_le_bytes());
    out.extend(frame);
}

/// Appends a little-endian pcapng block with its body padded to 4 bytes.
pub fn pcapng_block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) {
    let padded = body.len().next_multiple_of(4);
    let len = (padded + 12) as u32;
    out.extend(block_type.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend(len.to_le_bytes());
}

/// A little-endian section header block (version 1.0, unknown section length).
pub fn pcapng_shb(out: &mut Vec<u8>) {
    let mut body = Vec::new();
    body.extend(0x1A2B_3C4Du32.to_le_bytes());
    body.extend(1u16.to_le_bytes());
    body.extend(0u16.to_le_bytes());
    body.extend((-1i64).to_le_bytes());
    pcapng_block(out, SHB, &body);
}

/// An interface description block for Ethernet without options (20 bytes).
pub fn pcapng_idb(out: &mut Vec<u8>) {
    let mut body = Vec::new();
    body.extend(1u16.to_le_bytes());
    body.extend(0u16.to_le_bytes());
    body.extend(0u32.to_le_bytes());
    pcapng_block(out, IDB, &body);
}

/// An enhanced packet block on `interface` at `micros` (the default resolution).
pub fn pcapng_epb(out: &mut Vec<u8>, interface: u32, micros: u64, frame: &[u8]) {
    let mut body = Vec::new();
    body.extend(interface.to_le_bytes());
    body.extend(((micros >> 32) as u32).to_le_bytes());
    body.extend((micros as u32).to_le_bytes());
    body.extend((frame.len() as u32).to_le_bytes());
    body.extend((frame.len() as u32).to_le_bytes());
    body.extend(frame);
    pcapng_block(out, EPB, &body);
}

/// An Ethernet/IPv4/TCP frame of `len` bytes (at least 54) from a LAN device
/// (02:00:00:00:00:01, 192.168.1.10) to a cloud address (52.94.233.109:443): an upload.
pub fn upload_frame(len: usize) -> Vec<u8> {
    let len = len.max(54);
    let mut f = Vec::with_capacity(len);
    f.extend([0x02, 0, 0, 0, 0, 0xfe]); // destination: the gateway
    f.extend([0x02, 0, 0, 0, 0, 0x01]); // source: the device
    f.extend([0x08, 0x00]);
    let ip_len = (len - 14) as u16;
    f.extend([0x45, 0x00]);
    f.extend(ip_len.to_be_bytes());
    f.extend([0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend([192, 168, 1, 10]);
    f.extend([52, 94, 233, 109]);
    f.extend(49_152u16.to_be_bytes());
    f.extend(443u16.to_be_bytes());
    f.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    f.resize(len, 0xa5);
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn walks_what_the_writers_write() {
        let mut ng = Vec::new();
        pcapng_shb(&mut ng);
        pcapng_idb(&mut ng);
        pcapng_epb(&mut ng, 0, 5, &upload_frame(60));
        let l = layout(&ng);
        assert_eq!(l.format, Format::PcapNg);
        let types: Vec<u32> = l.units.iter().map(|u| u.block_type).collect();
        assert_eq!(types, [SHB, IDB, EPB]);
        assert_eq!(l.units[2].end(), ng.len());
        assert_eq!(options_start(&ng, &l.units[1]), None);

        let mut p = pcap_header();
        pcap_record(&mut p, 1, 2, &upload_frame(54));
        pcap_record(&mut p, 3, 4, &upload_frame(100));
        let l = layout(&p);
        assert_eq!(l.units.len(), 2);
        assert_eq!(l.units[1].end(), p.len());
        // A cut record is not listed.
        assert_eq!(layout(&p[..p.len() - 1]).units.len(), 1);
        assert_eq!(layout(b"junk").format, Format::Other);
    }
}
