//! pcapng files: a sequence of blocks, each `type, length, body, length`.
//!
//! A file is one or more sections. Each section starts with a section header block
//! (SHB) whose byte-order magic sets the byte order of the whole section, and
//! numbers its interfaces from zero in the order of their interface description
//! blocks (IDB). Packets come in enhanced (EPB), simple (SPB) or obsolete (type 2)
//! packet blocks. Every other block (name resolution, interface statistics, custom,
//! decryption secrets, journal, unknown) is skipped by its length.
//!
//! The block framing (length at both ends) is checked for every block: when it is
//! broken, nothing after it can be found, and the file ends there with a warning. A
//! problem inside one block whose framing is sound only skips that block.

use super::input::{Input, MAX_RECORD};
use super::{read_u16, read_u32, Fail, Next, Record, Tally};
use crate::capture::error::SkipReason;
use leakypick_core::{LinkType, Timestamp};
use pcap_parser::{BOM_MAGIC, EPB_MAGIC, IDB_MAGIC, SHB_MAGIC, SPB_MAGIC};

/// The obsolete Packet Block (pcapng draft 1.0), still written by old tools.
const OPB_MAGIC: u32 = 0x0000_0002;

/// The smallest section header block: 24 bytes of fixed fields plus the trailing length.
const SHB_MIN_LEN: usize = 28;

/// The most interfaces leakypick keeps per pcapng section (issue 9).
///
/// Each interface description block adds an interface that packets may name, so
/// without a limit a file of nothing but such blocks (20 bytes each) grows memory with
/// its length. Real captures describe a few interfaces, a busy host a few hundred; the
/// limit is the whole id space of the obsolete packet block (16 bits) and keeps at most
/// about 4 MiB of interfaces per file. Blocks beyond it, and packets on the interfaces
/// they describe, are skipped and counted ([`SkipReason::InterfaceLimit`]).
pub const MAX_INTERFACES: usize = 65_536;

/// Option codes used from interface description blocks.
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// The state of the section being read.
#[derive(Debug, Default)]
pub(crate) struct PcapNgFormat {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Interface description blocks of this section beyond [`MAX_INTERFACES`], not kept.
    dropped_interfaces: u64,
    /// The timestamp of the last packet that had one, for simple packet blocks.
    last_ts: Timestamp,
}

/// One capture interface of the current section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Zero means "no limit", as in the pcapng specification.
    snaplen: u32,
    resolution: Resolution,
    /// `if_tsoffset`, in nanoseconds: seconds added to every timestamp of the interface.
    offset_nanos: i128,
}

/// How raw 64-bit timestamp units become nanoseconds, chosen once per interface so
/// the per-packet conversion is one multiplication, division or shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    /// 10^-n seconds with n <= 9: multiply by 10^(9-n).
    Multiply(u64),
    /// 10^-n seconds with n > 9: divide by 10^(n-9) (saturated for absurd n).
    Divide(u128),
    /// 2^-n seconds: multiply by 1e9 and shift right by n.
    Shift(u32),
}

impl Resolution {
    /// Decodes `if_tsresol`: the low seven bits are an exponent of 10, or of 2 when
    /// the top bit is set. Every value gives some resolution, so no interface is
    /// refused for it; 10^-6 (microseconds) is the default when the option is absent.
    fn from_tsresol(tsresol: u8) -> Resolution {
        let exp = u32::from(tsresol & 0x7f);
        if tsresol & 0x80 != 0 {
            Resolution::Shift(exp)
        } else if exp <= 9 {
            Resolution::Multiply(10u64.pow(9 - exp))
        } else {
            Resolution::Divide(10u128.checked_pow(exp - 9).unwrap_or(u128::MAX))
        }
    }

    fn to_nanos(self, raw: u64) -> i128 {
        match self {
            Resolution::Multiply(f) => i128::from(raw) * i128::from(f),
            Resolution::Divide(d) => (u128::from(raw) / d) as i128,
            Resolution::Shift(n) => ((u128::from(raw) * 1_000_000_000) >> n) as i128,
        }
    }
}

impl PcapNgFormat {
    /// Reads blocks until the next packet, or the end of the file.
    ///
    /// Simple packet blocks carry no timestamp and no interface: they belong to
    /// interface 0 and get the timestamp of the last packet read before them in this
    /// file, or the Unix epoch when there was none (tshark shows no time at all for
    /// them). Their captured part is `min(original length, snaplen, block body)`.
    pub(crate) fn next(&mut self, input: &mut Input, tally: &mut Tally) -> Result<Next, Fail> {
        loop {
            let offset = input.offset();
            let available = input.ensure(12).map_err(|e| Fail::io(offset, e))?;
            if available == 0 {
                return Ok(Next::End);
            }
            if available < 8 {
                return Err(Fail::truncated(offset, "block", 8, available));
            }
            let block_type = read_u32(input.window(), 0, self.big_endian);
            if block_type == SHB_MAGIC {
                self.read_section_header(input)?;
                continue;
            }
            let len = read_u32(input.window(), 4, self.big_endian);
            let block_len = check_block_len(len, 12, offset)?;
            let available = input.ensure(block_len).map_err(|e| Fail::io(offset, e))?;
            if available < block_len {
                return Err(Fail::truncated(offset, "block", block_len, available));
            }
            let block = input.window().get(..block_len).unwrap_or(&[]);
            check_trailer(block, len, self.big_endian, offset)?;

            let frame = match block_type {
                EPB_MAGIC | OPB_MAGIC => self.packet_block(block, block_type, offset, tally),
                SPB_MAGIC => self.simple_packet_block(block, offset, tally),
                IDB_MAGIC => {
                    self.interface_description(block, offset, tally);
                    None
                }
                _ => None,
            };
            match frame {
                Some(frame) => return Ok(Next::Frame(frame)),
                None => input.consume(block_len),
            }
        }
    }

    /// Reads a section header block at the start of the buffered input (the one that
    /// starts the file, or a later one): its byte-order magic sets the byte order of
    /// the section, and the interface list starts again empty.
    pub(crate) fn read_section_header(&mut self, input: &mut Input) -> Result<(), Fail> {
        let offset = input.offset();
        let available = input.ensure(SHB_MIN_LEN).map_err(|e| Fail::io(offset, e))?;
        if available < 12 {
            return Err(Fail::truncated(offset, "block", SHB_MIN_LEN, available));
        }
        let big_endian = match read_u32(input.window(), 8, false) {
            BOM_MAGIC => false,
            m if m.swap_bytes() == BOM_MAGIC => true,
            m => {
                return Err(Fail::Corrupt {
                    offset,
                    problem: format!(
                        "section header block with byte-order magic 0x{:08x} instead of 0x{BOM_MAGIC:08x}",
                        m.swap_bytes()
                    ),
                })
            }
        };
        let len = read_u32(input.window(), 4, big_endian);
        let block_len = check_block_len(len, SHB_MIN_LEN, offset)?;
        let available = input.ensure(block_len).map_err(|e| Fail::io(offset, e))?;
        if available < block_len {
            return Err(Fail::truncated(offset, "block", block_len, available));
        }
        let block = input.window().get(..block_len).unwrap_or(&[]);
        check_trailer(block, len, big_endian, offset)?;
        let major = read_u16(block, 12, big_endian);
        let minor = read_u16(block, 14, big_endian);
        if major != 1 {
            return Err(Fail::Corrupt {
                offset,
                problem: format!(
                    "pcapng version {major}.{minor}, but leakypick reads version 1 \
                     (convert the file with `editcap -F pcapng`)"
                ),
            });
        }
        self.big_endian = big_endian;
        self.interfaces.clear();
        self.dropped_interfaces = 0;
        input.consume(block_len);
        Ok(())
    }

    /// Records an interface. A block too short for its fixed fields adds no interface:
    /// packets that name it are then reported as naming an unknown interface.
    fn interface_description(&mut self, block: &[u8], offset: u64, tally: &mut Tally) {
        let be = self.big_endian;
        if block.len() < 20 {
            tally.skip(SkipReason::MalformedBlock, offset, || {
                format!(
                    "interface description block of {} bytes, shorter than its 20 bytes of fixed fields",
                    block.len()
                )
            });
            return;
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            self.dropped_interfaces += 1;
            tally.skip(SkipReason::InterfaceLimit, offset, || {
                format!(
                    "interface description block of interface {MAX_INTERFACES}; leakypick keeps \
                     the first {MAX_INTERFACES} interfaces of a section and skips the others \
                     and their packets"
                )
            });
            return;
        }
        let mut interface = Interface {
            link: LinkType::from_linktype(u32::from(read_u16(block, 8, be))),
            snaplen: read_u32(block, 12, be),
            resolution: Resolution::from_tsresol(6),
            offset_nanos: 0,
        };
        for (code, value) in Options::new(block, 16, be) {
            match code {
                OPT_IF_TSRESOL => {
                    if let Some(&r) = value.first() {
                        interface.resolution = Resolution::from_tsresol(r);
                    }
                }
                OPT_IF_TSOFFSET => {
                    if let Some(bytes) = value.get(..8).and_then(|v| <[u8; 8]>::try_from(v).ok()) {
                        let secs = if be {
                            i64::from_be_bytes(bytes)
                        } else {
                            i64::from_le_bytes(bytes)
                        };
                        interface.offset_nanos = i128::from(secs) * 1_000_000_000;
                    }
                }
                _ => {}
            }
        }
        self.interfaces.push(interface);
    }

    /// Reads an enhanced packet block, or an obsolete packet block (whose interface id
    /// is 16 bits, followed by a 16-bit drop count; the rest is laid out alike).
    fn packet_block(
        &mut self,
        block: &[u8],
        block_type: u32,
        offset: u64,
        tally: &mut Tally,
    ) -> Option<Record> {
        let be = self.big_endian;
        let name = if block_type == EPB_MAGIC {
            "enhanced packet block"
        } else {
            "obsolete packet block"
        };
        if block.len() < 32 {
            tally.skip(SkipReason::MalformedBlock, offset, || {
                format!(
                    "{name} of {} bytes, shorter than its 32 bytes of fixed fields",
                    block.len()
                )
            });
            return None;
        }
        let interface_id = if block_type == EPB_MAGIC {
            read_u32(block, 8, be)
        } else {
            u32::from(read_u16(block, 8, be))
        };
        let ts_raw =
            (u64::from(read_u32(block, 12, be)) << 32) | u64::from(read_u32(block, 16, be));
        let cap_len = read_u32(block, 20, be);
        let orig_len = read_u32(block, 24, be);
        let room = block.len() - 32;
        if cap_len as usize > room {
            tally.skip(SkipReason::CapturedLengthBeyondBlock, offset, || {
                format!("{name} claims {cap_len} captured bytes but holds at most {room}")
            });
            return None;
        }
        let interface = self.interface(interface_id, offset, tally)?;
        let nanos = interface.resolution.to_nanos(ts_raw) + interface.offset_nanos;
        let Ok(nanos) = i64::try_from(nanos) else {
            tally.skip(SkipReason::TimestampOverflow, offset, || {
                format!(
                    "timestamp {ts_raw} (in units of the interface's resolution) is past the year 2262"
                )
            });
            return None;
        };
        let ts = Timestamp(nanos);
        self.last_ts = ts;
        Some(Record {
            ts,
            wire_len: orig_len.max(cap_len),
            link: interface.link,
            data_start: 28,
            data_len: cap_len as usize,
            record_len: block.len(),
        })
    }

    fn simple_packet_block(
        &mut self,
        block: &[u8],
        offset: u64,
        tally: &mut Tally,
    ) -> Option<Record> {
        if block.len() < 16 {
            tally.skip(SkipReason::MalformedBlock, offset, || {
                format!(
                    "simple packet block of {} bytes, shorter than its 16 bytes of fixed fields",
                    block.len()
                )
            });
            return None;
        }
        let orig_len = read_u32(block, 8, self.big_endian);
        let interface = self.interface(0, offset, tally)?;
        let mut cap = (orig_len as usize).min(block.len() - 16);
        if interface.snaplen != 0 {
            cap = cap.min(interface.snaplen as usize);
        }
        Some(Record {
            ts: self.last_ts,
            wire_len: orig_len,
            link: interface.link,
            data_start: 12,
            data_len: cap,
            record_len: block.len(),
        })
    }

    /// How many interfaces of the current section are kept.
    #[cfg(test)]
    pub(crate) fn interface_count(&self) -> usize {
        self.interfaces.len()
    }

    fn interface(&self, id: u32, offset: u64, tally: &mut Tally) -> Option<Interface> {
        let found = self.interfaces.get(id as usize).copied();
        let kept = self.interfaces.len() as u64;
        if found.is_none() && u64::from(id) < kept + self.dropped_interfaces {
            tally.skip(SkipReason::InterfaceLimit, offset, || {
                format!(
                    "packet on interface {id}, beyond the {MAX_INTERFACES} interfaces \
                     leakypick keeps per section"
                )
            });
        } else if found.is_none() {
            tally.skip(SkipReason::UnknownInterface, offset, || {
                format!(
                    "packet on interface {id}, but its section describes {}",
                    crate::render::count(self.interfaces.len(), "interface")
                )
            });
        }
        found
    }
}

/// Checks a block's total length: at least `min`, a multiple of 4 as the
/// specification requires, and within what leakypick buffers.
fn check_block_len(len: u32, min: usize, offset: u64) -> Result<usize, Fail> {
    let block_len = len as usize;
    let problem = if block_len < min {
        format!("block length {len} is less than the minimum of {min}")
    } else if block_len % 4 != 0 {
        format!("block length {len} is not a multiple of 4")
    } else if block_len > MAX_RECORD {
        format!(
            "block length {len} is more than the {} MiB leakypick accepts for one block; \
             the file is probably corrupt here",
            MAX_RECORD >> 20
        )
    } else {
        return Ok(block_len);
    };
    Err(Fail::Corrupt { offset, problem })
}

/// Checks that the length at the end of a block repeats the one at its start: if not,
/// the length fields cannot be trusted to find the next block.
fn check_trailer(block: &[u8], len: u32, big_endian: bool, offset: u64) -> Result<(), Fail> {
    let trailer = read_u32(block, block.len().saturating_sub(4), big_endian);
    if trailer == len {
        Ok(())
    } else {
        Err(Fail::Corrupt {
            offset,
            problem: format!("block length {len} at its start but {trailer} at its end"),
        })
    }
}

/// The options of a block, from `start` to the trailing length: `(code, value)` pairs
/// until `opt_endofopt` or the first option that does not fit.
struct Options<'a> {
    block: &'a [u8],
    pos: usize,
    end: usize,
    big_endian: bool,
}

impl<'a> Options<'a> {
    fn new(block: &'a [u8], start: usize, big_endian: bool) -> Options<'a> {
        Options {
            block,
            pos: start,
            end: block.len().saturating_sub(4),
            big_endian,
        }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.pos + 4 > self.end {
            return None;
        }
        let code = read_u16(self.block, self.pos, self.big_endian);
        let len = usize::from(read_u16(self.block, self.pos + 2, self.big_endian));
        let value_start = self.pos + 4;
        let value_end = value_start + len;
        if code == OPT_ENDOFOPT || value_end > self.end {
            self.pos = self.end;
            return None;
        }
        self.pos = value_start + len.next_multiple_of(4);
        self.block.get(value_start..value_end).map(|v| (code, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_convert_to_nanoseconds() {
        assert_eq!(
            Resolution::from_tsresol(6).to_nanos(1_500_000),
            1_500_000_000
        );
        assert_eq!(Resolution::from_tsresol(9).to_nanos(42), 42);
        assert_eq!(Resolution::from_tsresol(0).to_nanos(3), 3_000_000_000);
        assert_eq!(Resolution::from_tsresol(12).to_nanos(1_234_567), 1_234);
        // 2^-10 s: 1024 units are one second, 512 half a second.
        assert_eq!(
            Resolution::from_tsresol(0x80 | 10).to_nanos(1024),
            1_000_000_000
        );
        assert_eq!(
            Resolution::from_tsresol(0x80 | 10).to_nanos(512),
            500_000_000
        );
        // 2^-32 s: the NTP-like fixed point; 2^32 units are one second.
        assert_eq!(
            Resolution::from_tsresol(0x80 | 32).to_nanos(3 << 32),
            3_000_000_000
        );
        // Absurd exponents do not panic.
        assert_eq!(Resolution::from_tsresol(127).to_nanos(u64::MAX), 0);
        assert_eq!(Resolution::from_tsresol(0xff).to_nanos(u64::MAX), 0);
        assert_eq!(
            Resolution::from_tsresol(0).to_nanos(u64::MAX),
            i128::from(u64::MAX) * 1_000_000_000
        );
    }
}
