//! Classic pcap (libpcap) files: a 24-byte file header, then records of a 16-byte
//! header and the captured bytes.
//!
//! Four magic numbers are read, each in both byte orders: microsecond (`a1b2c3d4`),
//! nanosecond (`a1b23c4d`) and the "modified" format of Alexey Kuznetzov's patched
//! libpcap (`a1b2cd34`), whose record header is 24 bytes (the usual 16 plus interface
//! index, protocol, packet type and padding, which leakypick does not need).

use super::input::{Input, MAX_RECORD};
use super::{read_u32, Fail, Next, Record, Tally};
use crate::capture::error::SkipReason;
use leakypick_core::{LinkType, Timestamp};

/// The length of the pcap file header.
pub(crate) const FILE_HEADER_LEN: usize = 24;

/// What the file header says about every record that follows.
#[derive(Debug)]
pub(crate) struct PcapFormat {
    big_endian: bool,
    /// Sub-second units per second: 1e6 or 1e9.
    units_per_sec: u32,
    /// Nanoseconds per sub-second unit: 1000 or 1.
    nanos_per_unit: i64,
    record_header_len: usize,
    link: LinkType,
}

impl PcapFormat {
    /// Recognises a classic pcap magic number (the first four bytes as stored).
    pub(crate) fn from_magic(magic: [u8; 4]) -> Option<PcapFormat> {
        // (big_endian, nanosecond, modified)
        let (big_endian, nanos, modified) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, false),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, false, true),
            [0xa1, 0xb2, 0xcd, 0x34] => (true, false, true),
            _ => return None,
        };
        Some(PcapFormat {
            big_endian,
            units_per_sec: if nanos { 1_000_000_000 } else { 1_000_000 },
            nanos_per_unit: if nanos { 1 } else { 1_000 },
            record_header_len: if modified { 24 } else { 16 },
            link: LinkType::Ethernet,
        })
    }

    /// Reads the file header, which [`Input::ensure`] has already buffered.
    ///
    /// Only the link type is used. `thiszone` is ignored, as by libpcap, tcpdump and
    /// Wireshark: every writer sets it to zero and timestamps are UTC. The upper 16 bits
    /// of the link-type field carry FCS information, not the link type, and are masked
    /// off as libpcap's `LT_LINKTYPE` does.
    pub(crate) fn read_header(&mut self, input: &mut Input) {
        let header = input.window();
        self.link = LinkType::from_linktype(read_u32(header, 20, self.big_endian) & 0xffff);
        input.consume(FILE_HEADER_LEN);
    }

    /// Reads the next record.
    ///
    /// A record whose sub-second field is one second or more (`usec >= 1_000_000`, or
    /// `nsec >= 1_000_000_000` in nanosecond files) is skipped and counted under
    /// [`SkipReason::InvalidSubsecond`]. tshark and tcpdump show such records with a
    /// malformed time (`1418145370.1000000` for `timestamp_invalid_micro.pcap`, or a
    /// negative time for `timestamp_invalid_nano.pcap`); there is no right instant to
    /// give them, and a made-up one would put bytes into the wrong second of a burst
    /// detector, so leakypick leaves them out and says how many it left out.
    pub(crate) fn next(&mut self, input: &mut Input, tally: &mut Tally) -> Result<Next, Fail> {
        let be = self.big_endian;
        let hdr_len = self.record_header_len;
        loop {
            let offset = input.offset();
            let available = input.ensure(hdr_len).map_err(|e| Fail::io(offset, e))?;
            if available == 0 {
                return Ok(Next::End);
            }
            if available < hdr_len {
                return Err(Fail::truncated(offset, "record", hdr_len, available));
            }
            let header = input.window();
            let secs = read_u32(header, 0, be);
            let frac = read_u32(header, 4, be);
            let cap_len = read_u32(header, 8, be);
            let orig_len = read_u32(header, 12, be);
            let cap = cap_len as usize;
            if cap > MAX_RECORD - hdr_len {
                return Err(Fail::Corrupt {
                    offset,
                    problem: format!(
                        "the record header claims {cap_len} captured bytes, more than the \
                         {} MiB leakypick accepts for one record; the file is probably corrupt here",
                        MAX_RECORD >> 20
                    ),
                });
            }
            let record_len = hdr_len + cap;
            let available = input.ensure(record_len).map_err(|e| Fail::io(offset, e))?;
            if available < record_len {
                return Err(Fail::truncated(offset, "record", record_len, available));
            }
            if frac >= self.units_per_sec {
                tally.skip(SkipReason::InvalidSubsecond, offset, || {
                    format!(
                        "sub-second field {frac} is not below {} (one second)",
                        self.units_per_sec
                    )
                });
                input.consume(record_len);
                continue;
            }
            // u32 seconds times 1e9 plus less than 1e9 stays below 2^63: no overflow.
            let ts = Timestamp(
                i64::from(secs) * Timestamp::NANOS_PER_SEC + i64::from(frac) * self.nanos_per_unit,
            );
            return Ok(Next::Frame(Record {
                ts,
                wire_len: orig_len.max(cap_len),
                link: self.link,
                data_start: hdr_len,
                data_len: cap,
                record_len,
            }));
        }
    }
}
