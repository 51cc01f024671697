//! The mutations: byte-level damage, and damage aimed at the records and blocks that
//! [`crate::layout`] finds (lengths, timestamps, block order).

use crate::layout::{
    self, layout, options_start, read_u32, write_u16, write_u32, Format, Layout, Unit, EPB, IDB,
    OPB, PCAP_RECORD, SHB, SPB,
};
use crate::rng::Rng;

/// One kind of mutation. A fuzz input is a seed with one to four of them applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutation {
    /// Flip one to eight bits.
    BitFlip,
    /// Set a byte, u16, u32 or u64 (either byte order) to a boundary value.
    Interesting,
    /// Cut the input short, often at or next to a record boundary.
    Truncate,
    /// The start of this input and the end of another (or itself), at record
    /// boundaries or anywhere.
    Splice,
    /// A huge or off-by-a-little length: pcap captured/original length, pcapng block
    /// total length (start, trailer or both), captured length, option length.
    HugeLength,
    /// Two records or blocks trade places.
    BlockSwap,
    /// A record or block repeated, once or up to many thousand times (floods).
    BlockDuplicate,
    /// A record or block removed (the section header, an interface, a packet).
    BlockDelete,
    /// A packet's timestamp set to 0, the end of 32-bit time, or far in the future; or
    /// an interface's resolution or offset changed.
    Timestamp,
}

impl Mutation {
    pub const ALL: [Mutation; 9] = [
        Mutation::BitFlip,
        Mutation::Interesting,
        Mutation::Truncate,
        Mutation::Splice,
        Mutation::HugeLength,
        Mutation::BlockSwap,
        Mutation::BlockDuplicate,
        Mutation::BlockDelete,
        Mutation::Timestamp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mutation::BitFlip => "bit-flip",
            Mutation::Interesting => "interesting-value",
            Mutation::Truncate => "truncate",
            Mutation::Splice => "splice",
            Mutation::HugeLength => "huge-length",
            Mutation::BlockSwap => "block-swap",
            Mutation::BlockDuplicate => "block-duplicate",
            Mutation::BlockDelete => "block-delete",
            Mutation::Timestamp => "timestamp",
        }
    }
}

const INTERESTING_U8: [u8; 7] = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 0x0a];
const INTERESTING_U16: [u16; 8] = [0, 1, 4, 0x7fff, 0x8000, 0xfffc, 0xffff, 1500];
const INTERESTING_U32: [u32; 14] = [
    0,
    1,
    4,
    12,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffc,
    0xffff_ffff,
    0x0000_ffff,
    0x0001_0000,
    0x0fff_fff0,
    0x1000_0000, // 256 MiB: the largest record the readers accept
    0x1000_0004,
    0x0a0d_0d0a,
];
const INTERESTING_U64: [u64; 6] = [
    0,
    u64::MAX,
    i64::MAX as u64,
    1 << 63,
    0x0000_0001_0000_0000,
    4_323_283_200_000_000, // the year 2107 in microseconds
];

/// Applies `m` to `data` (`other` is the splice partner). Returns false when the
/// mutation found nothing to work on (then `data` may be unchanged). The result is
/// cut to `max_len` bytes.
pub fn apply(m: Mutation, data: &mut Vec<u8>, other: &[u8], rng: &mut Rng, max_len: usize) -> bool {
    let applied = match m {
        Mutation::BitFlip => bit_flip(data, rng),
        Mutation::Interesting => interesting(data, rng),
        Mutation::Truncate => truncate(data, rng),
        Mutation::Splice => splice(data, other, rng),
        Mutation::HugeLength => huge_length(data, rng),
        Mutation::BlockSwap => block_swap(data, rng),
        Mutation::BlockDuplicate => block_duplicate(data, rng, max_len),
        Mutation::BlockDelete => block_delete(data, rng),
        Mutation::Timestamp => timestamp(data, rng),
    };
    data.truncate(max_len);
    applied
}

/// A position to damage: often in the first bytes (file and section headers) or at
/// the start of a record, where the fields are; otherwise anywhere.
fn position(data: &[u8], l: &Layout, rng: &mut Rng) -> usize {
    match rng.below(4) {
        0 => rng.below(data.len().min(64)),
        1 if !l.units.is_empty() => {
            let u = l.units[rng.below(l.units.len())];
            (u.start + rng.below(u.len.min(40))).min(data.len().saturating_sub(1))
        }
        _ => rng.below(data.len()),
    }
}

fn bit_flip(data: &mut [u8], rng: &mut Rng) -> bool {
    if data.is_empty() {
        return false;
    }
    let l = layout(data);
    for _ in 0..1 + rng.below(8) {
        let at = position(data, &l, rng);
        data[at] ^= 1 << rng.below(8);
    }
    true
}

fn interesting(data: &mut [u8], rng: &mut Rng) -> bool {
    if data.is_empty() {
        return false;
    }
    let l = layout(data);
    let at = position(data, &l, rng);
    let be = rng.one_in(2);
    match rng.below(4) {
        0 => data[at] = INTERESTING_U8[rng.below(INTERESTING_U8.len())],
        1 => write_u16(
            data,
            at,
            be,
            INTERESTING_U16[rng.below(INTERESTING_U16.len())],
        ),
        2 => write_u32(
            data,
            at,
            be,
            INTERESTING_U32[rng.below(INTERESTING_U32.len())],
        ),
        _ => {
            let v = INTERESTING_U64[rng.below(INTERESTING_U64.len())];
            layout::put(
                data,
                at,
                &if be { v.to_be_bytes() } else { v.to_le_bytes() },
            );
        }
    }
    true
}

fn truncate(data: &mut Vec<u8>, rng: &mut Rng) -> bool {
    if data.is_empty() {
        return false;
    }
    let l = layout(data);
    let cut = match l.units.get(rng.below(l.units.len().max(1))) {
        Some(u) if rng.one_in(2) => {
            // At a record boundary, or a few bytes either side of it.
            (u.start + rng.below(9)).saturating_sub(4)
        }
        _ => rng.below(data.len()),
    };
    data.truncate(cut);
    true
}

/// A cut point: a record start (when there are records and the coin says so), or any byte.
fn cut_point(data: &[u8], rng: &mut Rng) -> usize {
    let l = layout(data);
    match rng.pick(&l.units) {
        Some(u) if rng.one_in(2) => u.start,
        _ => rng.below(data.len() + 1),
    }
}

fn splice(data: &mut Vec<u8>, other: &[u8], rng: &mut Rng) -> bool {
    let other = if other.is_empty() {
        data.clone()
    } else {
        other.to_vec()
    };
    let a = cut_point(data, rng);
    let b = cut_point(&other, rng);
    data.truncate(a);
    data.extend_from_slice(other.get(b..).unwrap_or(&[]));
    true
}

fn huge_length(data: &mut [u8], rng: &mut Rng) -> bool {
    let l = layout(data);
    let Some(&u) = rng.pick(&l.units) else {
        // No structure found: a huge value at a field-like position.
        if data.len() < 4 {
            return false;
        }
        let at = rng.below(data.len() - 3) & !3;
        write_u32(data, at, rng.one_in(2), 0xffff_ff00 | rng.below(256) as u32);
        return true;
    };
    let be = u.big_endian;
    let huge = |rng: &mut Rng, current: u32| -> u32 {
        match rng.below(4) {
            0 => INTERESTING_U32[rng.below(INTERESTING_U32.len())],
            1 => current.wrapping_add(4 * (1 + rng.below(4) as u32)),
            2 => current.wrapping_sub(4 * (1 + rng.below(4) as u32)),
            _ => 0xffff_ffff - rng.below(16) as u32,
        }
    };
    match (l.format, u.block_type) {
        (Format::Pcap { .. }, _) => {
            // Captured length (+8) or original length (+12).
            let at = u.start + if rng.one_in(3) { 12 } else { 8 };
            let v = huge(rng, read_u32(data, at, be).unwrap_or(0));
            write_u32(data, at, be, v);
        }
        _ => match rng.below(4) {
            0 | 1 => {
                // Block total length: at the start, at the end, or both.
                let v = huge(rng, u.len as u32);
                let which = rng.below(3);
                if which != 1 {
                    write_u32(data, u.start + 4, be, v);
                }
                if which != 0 {
                    write_u32(data, u.end() - 4, be, v);
                }
            }
            2 if matches!(u.block_type, EPB | OPB | SPB) => {
                let at = u.start + if u.block_type == SPB { 8 } else { 20 };
                let v = huge(rng, read_u32(data, at, be).unwrap_or(0));
                write_u32(data, at, be, v);
            }
            _ => match options_start(data, &u) {
                Some(at) => {
                    let v = INTERESTING_U16[rng.below(INTERESTING_U16.len())];
                    write_u16(data, at + 2, be, v);
                }
                None => {
                    let v = huge(rng, u.len as u32);
                    write_u32(data, u.start + 4, be, v);
                }
            },
        },
    }
    true
}

/// Rebuilds `data` with its units in a new order (bytes before the first and after
/// the last unit stay where they are).
fn reorder(data: &mut Vec<u8>, units: &[Unit], order: &[usize]) {
    let (Some(first), Some(last)) = (units.first(), units.last()) else {
        return;
    };
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..first.start]);
    for &k in order {
        let u = units[k];
        out.extend_from_slice(&data[u.start..u.end()]);
    }
    out.extend_from_slice(&data[last.end()..]);
    *data = out;
}

fn block_swap(data: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let l = layout(data);
    let n = l.units.len();
    if n < 2 {
        return false;
    }
    let (a, b) = (rng.below(n), rng.below(n));
    let mut order: Vec<usize> = (0..n).collect();
    order.swap(a, b);
    reorder(data, &l.units, &order);
    true
}

fn block_duplicate(data: &mut Vec<u8>, rng: &mut Rng, max_len: usize) -> bool {
    let l = layout(data);
    let Some(&u) = rng.pick(&l.units) else {
        return false;
    };
    let room = max_len.saturating_sub(data.len()) / u.len.max(1);
    let copies = if rng.one_in(2) {
        1
    } else {
        rng.log_uniform(1 << 20)
    }
    .min(room);
    if copies == 0 {
        return false;
    }
    let block = data[u.start..u.end()].to_vec();
    let tail = data.split_off(u.end());
    data.reserve(block.len() * copies + tail.len());
    for _ in 0..copies {
        data.extend_from_slice(&block);
    }
    data.extend_from_slice(&tail);
    true
}

fn block_delete(data: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let l = layout(data);
    let Some(&u) = rng.pick(&l.units) else {
        return false;
    };
    data.drain(u.start..u.end());
    true
}

fn timestamp(data: &mut [u8], rng: &mut Rng) -> bool {
    let l = layout(data);
    let packets: Vec<Unit> = l.units.iter().copied().filter(Unit::is_packet).collect();
    let interfaces: Vec<Unit> = l
        .units
        .iter()
        .copied()
        .filter(|u| u.block_type == IDB)
        .collect();
    if !interfaces.is_empty() && rng.one_in(4) {
        // The interface's if_tsresol / if_tsoffset (added as the first option, over
        // whatever was there, when the block has room for one).
        let u = interfaces[rng.below(interfaces.len())];
        let Some(at) = options_start(data, &u) else {
            return false;
        };
        let be = u.big_endian;
        if rng.one_in(2) {
            write_u16(data, at, be, 9);
            write_u16(data, at + 2, be, 1);
            // Powers of ten and of two, sensible and absurd.
            let resolutions = [0u8, 3, 6, 9, 10, 19, 0x7f, 0x80, 0x8a, 0xa0, 0xbf, 0xff];
            if let Some(b) = data.get_mut(at + 4) {
                *b = resolutions[rng.below(resolutions.len())];
            }
        } else {
            write_u16(data, at, be, 14);
            write_u16(data, at + 2, be, 8);
            let v = INTERESTING_U64[rng.below(INTERESTING_U64.len())];
            layout::put(
                data,
                at + 4,
                &if be { v.to_be_bytes() } else { v.to_le_bytes() },
            );
        }
        return true;
    }
    let Some(&u) = rng.pick(&packets) else {
        return false;
    };
    let be = u.big_endian;
    match u.block_type {
        PCAP_RECORD => {
            // Seconds: 0, the end of 32-bit time, another record's, or off by one;
            // sub-seconds: 0, the last valid value, or one second or more.
            let secs = match rng.below(4) {
                0 => 0,
                1 => u32::MAX,
                2 => {
                    read_u32(data, rng.pick(&packets).map_or(u.start, |p| p.start), be).unwrap_or(0)
                }
                _ => read_u32(data, u.start, be)
                    .unwrap_or(0)
                    .wrapping_add(rng.below(3) as u32)
                    .wrapping_sub(1),
            };
            write_u32(data, u.start, be, secs);
            if rng.one_in(3) {
                let frac = [0, 999_999, 1_000_000, 999_999_999, u32::MAX][rng.below(5)];
                write_u32(data, u.start + 4, be, frac);
            }
        }
        EPB | OPB => {
            let (hi, lo) = match rng.below(4) {
                0 => (0, 0),
                1 => (u32::MAX, u32::MAX),
                2 => (
                    0x0000_f000 + rng.below(0x1000) as u32,
                    rng.next_u64() as u32,
                ),
                _ => (0x000f_5c1e, 0), // the year 2107 in microseconds
            };
            write_u32(data, u.start + 12, be, hi);
            write_u32(data, u.start + 16, be, lo);
        }
        // A simple packet block has no timestamp: move the section header instead.
        _ => {
            let Some(shb) = l.units.iter().find(|x| x.block_type == SHB) else {
                return false;
            };
            write_u32(data, shb.start + 8, !be, 0x1A2B_3C4D);
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::layout::{
        pcap_header, pcap_record, pcapng_epb, pcapng_idb, pcapng_shb, upload_frame,
    };

    fn ng() -> Vec<u8> {
        let mut out = Vec::new();
        pcapng_shb(&mut out);
        pcapng_idb(&mut out);
        for k in 0..5 {
            pcapng_epb(&mut out, 0, k * 1_000_000, &upload_frame(60 + k as usize));
        }
        out
    }

    #[test]
    fn every_mutation_applies_and_respects_the_size_cap() {
        let mut p = pcap_header();
        for k in 0..5 {
            pcap_record(&mut p, k, 0, &upload_frame(70));
        }
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            for m in Mutation::ALL {
                for base in [ng(), p.clone()] {
                    let mut d = base.clone();
                    apply(m, &mut d, &p, &mut rng, 4096);
                    assert!(d.len() <= 4096, "{m:?}");
                }
            }
        }
    }

    #[test]
    fn structural_mutations_keep_the_blocks() {
        let base = ng();
        let mut rng = Rng::new(3);
        let mut d = base.clone();
        assert!(block_swap(&mut d, &mut rng));
        assert_eq!(d.len(), base.len());
        assert_eq!(layout(&d).units.len(), 7);
        let mut d = base.clone();
        assert!(block_delete(&mut d, &mut rng));
        assert!(d.len() < base.len());
        // A flood stays within the cap.
        let mut d = base.clone();
        for _ in 0..20 {
            block_duplicate(&mut d, &mut rng, 1 << 16);
        }
        assert!(d.len() <= 1 << 16);
    }
}
