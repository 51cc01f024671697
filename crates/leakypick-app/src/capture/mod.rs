//! Reading capture files (pcap and pcapng) into decoded packets.
//!
//! # Design
//!
//! A [`CaptureSource`] is one capture (a file, standard input, or bytes bundled in the
//! binary). Opening it reads only the file header, so a file that is not a capture
//! fails at once with a [`CaptureError`] naming it, before any other file is read.
//! The format is decided by the magic number, never by the file name: several
//! `*.pcap` files in the wild are pcapng.
//!
//! Reading streams through a bounded buffer (`input.rs`): each source holds one buffer
//! of about a megabyte (less when many files are merged) and hands out records as
//! slices of it, so nothing is copied per packet and memory does not grow with the
//! file. The only per-packet work besides parsing the record header is
//! [`leakypick_core::decode()`].
//!
//! [`read_merged`] reads several sources at once in timestamp order with a k-way
//! merge: each source holds at most one decoded packet waiting its turn. A source
//! whose own packets are out of order still comes out in its own order, since the
//! merge only ever compares the heads of the sources.
//!
//! # Bad input
//!
//! Damage is handled at the smallest scope that contains it:
//!
//! - a file whose header is unusable (empty, too short, unknown magic, bad first
//!   section header) cannot be read at all: [`CaptureError`];
//! - a file that breaks off part way, or whose framing breaks part way (a corrupt
//!   length), keeps the packets before the break, and the break becomes a
//!   [`CaptureWarning`]: one bad file does not throw away an analysis of many;
//! - a single record that is unusable but correctly framed (unknown interface,
//!   impossible timestamp, captured length beyond its block) is skipped, counted in
//!   [`CaptureStats::skipped`], and reported once per kind per file;
//! - an I/O error while reading is a [`CaptureError`]: the disk or pipe is at fault,
//!   and the user should know the analysis is incomplete.
//!
//! Decisions for odd but readable input, each documented where it is made:
//!
//! - a classic pcap record with a sub-second field of one second or more is skipped
//!   ([`SkipReason::InvalidSubsecond`]), where tshark shows a malformed time;
//! - a simple packet block (no timestamp) gets the time of the packet before it in
//!   the same file, or the Unix epoch when there is none;
//! - `wire_len` is the original length, or the captured length for a broken record
//!   claiming fewer original than captured bytes;
//! - pcapng timestamps are 64-bit and converted with 128-bit arithmetic, so times past
//!   2106 are right; times outside 1678..2262 (the range of [`Timestamp`]) are skipped.
//!
//! # Why not `pcap-parser`'s readers
//!
//! `pcap-parser` supplies the pcapng block-type constants used here, but its parsers
//! are not on the read path: they truncate pcapng seconds to 32 bits (wrong past
//! 2106), read `if_tsoffset` as little-endian in big-endian sections, reject every
//! power-of-two `if_tsresol`, read the modified pcap format in one byte order only,
//! and collect each packet's options into a `Vec`. The few fixed-layout headers are
//! simpler to read directly, with exact offsets for the messages.

pub mod render;
pub mod sample;

mod error;
mod input;
mod pcap;
mod pcapng;
#[cfg(test)]
mod tests;

pub use error::{CaptureError, CaptureWarning, SkipReason};
pub use pcapng::MAX_INTERFACES;

use input::{Input, OPEN_BUFFER};
use leakypick_core::{decode, LinkType, Packet, PacketMeta, Timestamp};
use pcap::PcapFormat;
use pcapng::PcapNgFormat;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read};
use std::path::Path;

/// The read buffer of one source when few files are read together.
const READ_BUFFER: usize = 1024 * 1024;

/// The total read-buffer memory shared by all sources of a merge: with many files each
/// gets a smaller buffer, down to [`OPEN_BUFFER`].
const MERGE_BUFFER_BUDGET: usize = 64 * 1024 * 1024;

/// Told the number of bytes each time a source reads from its file (for progress bars):
/// see [`CaptureSource::on_read`].
pub type ReadHook = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// One capture: a file, standard input, or bytes in memory.
pub struct CaptureSource {
    name: String,
    /// The file's size, when it is known (not for standard input).
    size: Option<u64>,
    input: Input,
    format: Format,
    tally: Tally,
    packets: u64,
    /// Bytes of the record handed out by the last [`next_frame`](Self::next_frame),
    /// consumed at the start of the next call so the frame can borrow the buffer.
    pending_consume: usize,
    /// Set once the source has ended; a truncation or corruption warning if it ended badly.
    ended: Option<Option<CaptureWarning>>,
}

/// One raw captured frame, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// The frame's length on the wire (the record's original length). For a broken
    /// record that claims fewer original than captured bytes, the captured length,
    /// since at least that many bytes were certainly sent.
    pub wire_len: u32,
    /// The link type of the interface the frame was captured on.
    pub link: LinkType,
    /// The captured bytes (possibly fewer than `wire_len`).
    pub data: &'a [u8],
}

impl CaptureSource {
    /// Opens a capture file; `-` reads standard input.
    pub fn open(path: &Path) -> Result<CaptureSource, CaptureError> {
        if path.as_os_str() == "-" {
            return CaptureSource::from_reader("stdin", Box::new(io::stdin()));
        }
        let name = path.display().to_string();
        match std::fs::File::open(path) {
            Ok(file) => {
                let size = file
                    .metadata()
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len());
                let mut source = CaptureSource::from_reader(name, Box::new(file))?;
                source.size = size;
                Ok(source)
            }
            Err(error) => Err(CaptureError::Open { file: name, error }),
        }
    }

    /// A capture held in memory for the life of the program, such as the bundled sample.
    pub fn from_bytes(
        name: impl Into<String>,
        bytes: &'static [u8],
    ) -> Result<CaptureSource, CaptureError> {
        let mut source = CaptureSource::from_reader(name, Box::new(io::Cursor::new(bytes)))?;
        source.size = Some(bytes.len() as u64);
        Ok(source)
    }

    /// A capture read from any byte stream; `name` is used in messages. Reads and checks
    /// the file header now.
    pub fn from_reader(
        name: impl Into<String>,
        reader: Box<dyn Read + Send>,
    ) -> Result<CaptureSource, CaptureError> {
        let name = name.into();
        let mut input = Input::new(reader);
        let format = read_file_header(&name, &mut input)?;
        Ok(CaptureSource {
            name,
            size: None,
            input,
            format,
            tally: Tally::default(),
            packets: 0,
            pending_consume: 0,
            ended: None,
        })
    }

    /// The name used in messages: the path as given, `stdin`, or the name passed in.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The size of the file in bytes, when it is known (a file, the bundled sample; not
    /// standard input or another stream).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Tells `hook` how many bytes this source has read so far, then the bytes of every
    /// further read from its file, as they happen (a read fills the buffer, about a
    /// megabyte: the per-record path is untouched). For progress bars.
    pub fn on_read(&mut self, hook: ReadHook) {
        self.input.set_on_read(hook);
    }

    /// Reads the next frame of this source, or `None` at its end.
    ///
    /// A truncated or corrupt remainder ends the source without an error; it is then
    /// reported by [`warnings`](Self::warnings).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        self.input
            .consume(std::mem::take(&mut self.pending_consume));
        if self.ended.is_some() {
            return Ok(None);
        }
        let next = match &mut self.format {
            Format::Pcap(f) => f.next(&mut self.input, &mut self.tally),
            Format::PcapNg(f) => f.next(&mut self.input, &mut self.tally),
        };
        let record = match next {
            Ok(Next::Frame(record)) => record,
            Ok(Next::End) => {
                self.end(None);
                return Ok(None);
            }
            Err(fail) => {
                let warning = match fail {
                    Fail::Io { offset, error } => {
                        self.end(None);
                        return Err(CaptureError::Read {
                            file: self.name.clone(),
                            offset,
                            error,
                        });
                    }
                    Fail::Truncated {
                        offset,
                        what,
                        needed,
                        available,
                    } => CaptureWarning::Truncated {
                        file: self.name.clone(),
                        offset,
                        what,
                        needed,
                        available,
                        packets_before: self.packets,
                    },
                    Fail::Corrupt { offset, problem } => CaptureWarning::Corrupt {
                        file: self.name.clone(),
                        offset,
                        problem,
                        packets_before: self.packets,
                    },
                };
                self.end(Some(warning));
                return Ok(None);
            }
        };
        self.packets += 1;
        self.pending_consume = record.record_len;
        let data = self
            .input
            .window()
            .get(record.data_start..record.data_start + record.data_len)
            .unwrap_or(&[]);
        Ok(Some(Frame {
            ts: record.ts,
            wire_len: record.wire_len,
            link: record.link,
            data,
        }))
    }

    /// How many records of this source were skipped so far.
    pub fn skipped(&self) -> u64 {
        self.tally.total()
    }

    /// The problems met so far: one warning per kind of skipped record, then the
    /// truncation or corruption that ended the source, if any.
    pub fn warnings(&self) -> Vec<CaptureWarning> {
        let mut out = self.tally.warnings(&self.name);
        if let Some(Some(end)) = &self.ended {
            out.push(end.clone());
        }
        out
    }

    fn end(&mut self, warning: Option<CaptureWarning>) {
        self.ended = Some(warning);
        self.input.close();
    }
}

impl std::fmt::Debug for CaptureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSource")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("offset", &self.input.offset())
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

/// Totals after reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureStats {
    /// How many sources were read.
    pub files: usize,
    /// Packets passed to the callback.
    pub packets: u64,
    /// Records left out (see [`SkipReason`]); each kind is also in `warnings`.
    pub skipped: u64,
    /// The earliest timestamp of any packet (not necessarily the first one delivered,
    /// when a file is out of order).
    pub first: Option<Timestamp>,
    /// The latest timestamp of any packet.
    pub last: Option<Timestamp>,
    /// Per-file problems that did not stop reading, in source order.
    pub warnings: Vec<CaptureWarning>,
}

/// Reads all sources, merged by timestamp (k-way merge; each file keeps its own order
/// if it is not sorted), decoding each frame with [`leakypick_core::decode()`] and calling
/// `on_packet` for each, in time order. Streaming: holds at most one pending packet per
/// source. Packets with equal timestamps come in the order of `sources`.
///
/// A source that breaks off or becomes corrupt part way contributes the packets before
/// the break and a warning; an I/O error stops everything with an error.
pub fn read_merged(
    sources: Vec<CaptureSource>,
    mut on_packet: impl FnMut(&Packet),
) -> Result<CaptureStats, CaptureError> {
    let buffer = (MERGE_BUFFER_BUDGET / sources.len().max(1)).clamp(OPEN_BUFFER, READ_BUFFER);
    let mut lanes: Vec<Lane> = sources
        .into_iter()
        .map(|mut source| {
            source.input.set_target(buffer);
            Lane {
                source,
                packet: Packet {
                    ts: Timestamp(0),
                    wire_len: 0,
                    meta: PacketMeta::default(),
                },
            }
        })
        .collect();
    let mut stats = CaptureStats {
        files: lanes.len(),
        ..CaptureStats::default()
    };

    // The heap holds (timestamp, lane) of every lane with a packet waiting.
    let mut heap = BinaryHeap::with_capacity(lanes.len());
    for (i, lane) in lanes.iter_mut().enumerate() {
        if lane.advance()? {
            heap.push(Reverse((lane.packet.ts, i)));
        }
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        let Some(lane) = lanes.get_mut(i) else {
            continue;
        };
        // Stay on this lane while it is still the earliest: a single file, or long
        // sorted runs, then cost no heap operations.
        loop {
            stats.note(&lane.packet);
            on_packet(&lane.packet);
            if !lane.advance()? {
                break;
            }
            let key = (lane.packet.ts, i);
            if heap.peek().is_some_and(|Reverse(top)| *top < key) {
                heap.push(Reverse(key));
                break;
            }
        }
    }

    for lane in &lanes {
        stats.skipped += lane.source.skipped();
        stats.warnings.extend(lane.source.warnings());
    }
    Ok(stats)
}

/// One source of a merge and its decoded packet waiting to be delivered.
struct Lane {
    source: CaptureSource,
    packet: Packet,
}

impl Lane {
    /// Reads and decodes the next packet into `self.packet`; false at the end.
    fn advance(&mut self) -> Result<bool, CaptureError> {
        let packet = match self.source.next_frame()? {
            Some(frame) => Packet {
                ts: frame.ts,
                wire_len: frame.wire_len,
                meta: decode(frame.link, frame.data),
            },
            None => return Ok(false),
        };
        self.packet = packet;
        Ok(true)
    }
}

impl CaptureStats {
    fn note(&mut self, packet: &Packet) {
        self.packets += 1;
        self.first = Some(self.first.map_or(packet.ts, |t| t.min(packet.ts)));
        self.last = Some(self.last.map_or(packet.ts, |t| t.max(packet.ts)));
    }
}

// ---------------------------------------------------------------------------------
// Shared between the format readers.
// ---------------------------------------------------------------------------------

#[derive(Debug)]
enum Format {
    Pcap(PcapFormat),
    PcapNg(PcapNgFormat),
}

/// Where a record's frame lies in the buffered input, which starts at the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Record {
    pub(crate) ts: Timestamp,
    pub(crate) wire_len: u32,
    pub(crate) link: LinkType,
    pub(crate) data_start: usize,
    pub(crate) data_len: usize,
    /// The whole record or block, consumed once the frame has been used.
    pub(crate) record_len: usize,
}

pub(crate) enum Next {
    Frame(Record),
    End,
}

/// Why a format reader cannot go on.
#[derive(Debug)]
pub(crate) enum Fail {
    Io {
        offset: u64,
        error: io::Error,
    },
    /// The stream ends inside the record or block at `offset`.
    Truncated {
        offset: u64,
        what: &'static str,
        needed: u64,
        available: u64,
    },
    /// The framing is broken at `offset`.
    Corrupt {
        offset: u64,
        problem: String,
    },
}

impl Fail {
    pub(crate) fn io(offset: u64, error: io::Error) -> Fail {
        Fail::Io { offset, error }
    }

    pub(crate) fn truncated(
        offset: u64,
        what: &'static str,
        needed: usize,
        available: usize,
    ) -> Fail {
        Fail::Truncated {
            offset,
            what,
            needed: needed as u64,
            available: available as u64,
        }
    }
}

/// Counts of skipped records per [`SkipReason`], with the first one's offset and
/// description: bounded memory whatever the number of bad records.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    kinds: [Option<SkipCount>; SkipReason::ALL.len()],
}

#[derive(Debug)]
struct SkipCount {
    count: u64,
    first_offset: u64,
    detail: String,
}

impl Tally {
    /// Counts one skipped record; `detail` is only built for the first of its kind.
    pub(crate) fn skip(
        &mut self,
        reason: SkipReason,
        offset: u64,
        detail: impl FnOnce() -> String,
    ) {
        if let Some(slot) = self.kinds.get_mut(reason.index()) {
            match slot {
                Some(c) => c.count += 1,
                None => {
                    *slot = Some(SkipCount {
                        count: 1,
                        first_offset: offset,
                        detail: detail(),
                    })
                }
            }
        }
    }

    fn total(&self) -> u64 {
        self.kinds.iter().flatten().map(|c| c.count).sum()
    }

    fn warnings(&self, file: &str) -> Vec<CaptureWarning> {
        SkipReason::ALL
            .iter()
            .zip(&self.kinds)
            .filter_map(|(&reason, c)| {
                c.as_ref().map(|c| CaptureWarning::Skipped {
                    file: file.to_string(),
                    reason,
                    count: c.count,
                    first_offset: c.first_offset,
                    detail: c.detail.clone(),
                })
            })
            .collect()
    }
}

/// Reads a `u16` at `at`, or 0 when `b` is too short (callers check lengths first; this
/// keeps a mistake from becoming a panic).
pub(crate) fn read_u16(b: &[u8], at: usize, big_endian: bool) -> u16 {
    match b.get(at..at + 2).and_then(|s| <[u8; 2]>::try_from(s).ok()) {
        Some(a) if big_endian => u16::from_be_bytes(a),
        Some(a) => u16::from_le_bytes(a),
        None => 0,
    }
}

/// Reads a `u32` at `at`, or 0 when `b` is too short.
pub(crate) fn read_u32(b: &[u8], at: usize, big_endian: bool) -> u32 {
    match b.get(at..at + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()) {
        Some(a) if big_endian => u32::from_be_bytes(a),
        Some(a) => u32::from_le_bytes(a),
        None => 0,
    }
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Recognises the format by its magic number and reads the file header.
fn read_file_header(file: &str, input: &mut Input) -> Result<Format, CaptureError> {
    let available = input
        .ensure(pcap::FILE_HEADER_LEN)
        .map_err(|error| CaptureError::Read {
            file: file.to_string(),
            offset: 0,
            error,
        })?;
    let too_short = |what: &'static str, needed: usize, len: usize| CaptureError::TooShort {
        file: file.to_string(),
        len: len as u64,
        what,
        needed: needed as u64,
    };
    if available == 0 {
        return Err(CaptureError::Empty {
            file: file.to_string(),
        });
    }
    let Some(magic) = input
        .window()
        .get(..4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
    else {
        return Err(too_short("magic number", 4, available));
    };
    if let Some(mut format) = PcapFormat::from_magic(magic) {
        if available < pcap::FILE_HEADER_LEN {
            return Err(too_short(
                "pcap file header",
                pcap::FILE_HEADER_LEN,
                available,
            ));
        }
        format.read_header(input);
        return Ok(Format::Pcap(format));
    }
    if magic == PCAPNG_MAGIC {
        let mut format = PcapNgFormat::default();
        return match format.read_section_header(input) {
            Ok(()) => Ok(Format::PcapNg(format)),
            Err(Fail::Io { offset, error }) => Err(CaptureError::Read {
                file: file.to_string(),
                offset,
                error,
            }),
            Err(Fail::Truncated {
                offset,
                needed,
                available,
                ..
            }) => Err(CaptureError::TooShort {
                file: file.to_string(),
                len: offset + available,
                what: "pcapng section header block",
                needed,
            }),
            Err(Fail::Corrupt { offset, problem }) => Err(CaptureError::BadHeader {
                file: file.to_string(),
                offset,
                problem,
            }),
        };
    }
    Err(CaptureError::UnknownFormat {
        file: file.to_string(),
        magic: u32::from_be_bytes(magic),
        hint: format_hint(input.window()),
    })
}

/// Names what a file that is not a capture looks like, when that is easy to tell, so
/// the message can say what to do.
fn format_hint(head: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| head.starts_with(p);
    if starts(&[0x1f, 0x8b]) {
        return Some("it is gzip-compressed: decompress it first (gunzip)");
    }
    if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some("it is zstd-compressed: decompress it first (unzstd)");
    }
    if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Some("it is xz-compressed: decompress it first (unxz)");
    }
    if starts(b"BZh") {
        return Some("it is bzip2-compressed: decompress it first (bunzip2)");
    }
    if starts(b"PK\x03\x04") {
        return Some("it is a zip archive: extract the capture first");
    }
    if starts(b"snoop\0\0\0") {
        return Some("it is a Solaris snoop capture: convert it with `editcap -F pcap`");
    }
    // A pcapng block other than a section header at the very start: the block type is
    // a small number and the length a plausible multiple of 4, in either byte order.
    for big_endian in [false, true] {
        let block_type = read_u32(head, 0, big_endian);
        let len = read_u32(head, 4, big_endian);
        if (1..=10).contains(&block_type) && len >= 12 && len % 4 == 0 {
            return Some(
                "it starts with a pcapng block but not with the section header block every \
                 pcapng file begins with, so its start is probably missing",
            );
        }
    }
    None
}

/// Opens the capture files a command was given, or the bundled sample (saying so on
/// stderr) when there are none. `-` (standard input) may appear once.
pub fn open_inputs(files: &[std::path::PathBuf]) -> crate::error::Result<Vec<CaptureSource>> {
    if files.is_empty() {
        eprintln!(
            "leakypick: no capture given; using the {}",
            sample::SAMPLE_DESCRIPTION
        );
        return Ok(vec![CaptureSource::from_bytes(
            sample::SAMPLE_NAME,
            sample::SAMPLE_BYTES,
        )?]);
    }
    if files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(crate::error::Error::usage(
            "standard input ('-') can be read only once",
        ));
    }
    let mut sources = Vec::with_capacity(files.len());
    for p in files {
        sources.push(CaptureSource::open(p)?);
    }
    Ok(sources)
}

/// Prints a capture's warnings (a file that broke off, records skipped) on stderr.
pub fn warn_all(stats: &CaptureStats) {
    for w in &stats.warnings {
        eprintln!("leakypick: warning: {w}");
    }
}
