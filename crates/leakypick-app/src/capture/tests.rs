//! Unit and property tests of the capture reader on files built byte by byte, so each
//! odd case (byte order, resolution, block kind, damage) is exercised on purpose.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;
use std::sync::Arc;

/// Writes integers in one byte order.
#[derive(Clone, Copy)]
struct Order(bool);

impl Order {
    fn u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend(if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend(if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

/// One record of a synthetic capture: timestamp parts, captured bytes, original length.
struct Rec<'a> {
    secs: u32,
    frac: u32,
    data: &'a [u8],
    orig: u32,
}

fn rec(secs: u32, frac: u32, data: &[u8]) -> Rec<'_> {
    Rec {
        secs,
        frac,
        data,
        orig: data.len() as u32,
    }
}

/// A classic pcap file. `magic` is the native magic number (a1b2c3d4, a1b23c4d, a1b2cd34).
fn pcap_file(big_endian: bool, magic: u32, link: u32, records: &[Rec]) -> Vec<u8> {
    let o = Order(big_endian);
    let mut out = Vec::new();
    o.u32(&mut out, magic);
    o.u16(&mut out, 2);
    o.u16(&mut out, 4);
    o.u32(&mut out, 0);
    o.u32(&mut out, 0);
    o.u32(&mut out, 65535);
    o.u32(&mut out, link);
    for r in records {
        o.u32(&mut out, r.secs);
        o.u32(&mut out, r.frac);
        o.u32(&mut out, r.data.len() as u32);
        o.u32(&mut out, r.orig);
        if magic == 0xa1b2_cd34 {
            out.extend([0u8; 8]);
        }
        out.extend(r.data);
    }
    out
}

/// A pcapng file under construction.
struct Ng {
    o: Order,
    out: Vec<u8>,
}

impl Ng {
    fn new(big_endian: bool) -> Ng {
        let mut ng = Ng {
            o: Order(big_endian),
            out: Vec::new(),
        };
        ng.section(big_endian);
        ng
    }

    /// Starts a new section, possibly in the other byte order.
    fn section(&mut self, big_endian: bool) -> &mut Ng {
        self.o = Order(big_endian);
        let mut body = Vec::new();
        self.o.u32(&mut body, BOM);
        self.o.u16(&mut body, 1);
        self.o.u16(&mut body, 0);
        body.extend([0xff; 8]);
        self.block(0x0A0D_0D0A, &body)
    }

    fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Ng {
        let mut padded = body.to_vec();
        padded.resize(body.len().next_multiple_of(4), 0);
        let len = padded.len() as u32 + 12;
        let o = self.o;
        o.u32(&mut self.out, block_type);
        o.u32(&mut self.out, len);
        self.out.extend(&padded);
        o.u32(&mut self.out, len);
        self
    }

    fn idb(
        &mut self,
        link: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) -> &mut Ng {
        let o = self.o;
        let mut body = Vec::new();
        o.u16(&mut body, link);
        o.u16(&mut body, 0);
        o.u32(&mut body, snaplen);
        // An option leakypick ignores (if_name), to check options are walked correctly.
        o.u16(&mut body, 2);
        o.u16(&mut body, 3);
        body.extend(b"et0\0");
        if let Some(r) = tsresol {
            o.u16(&mut body, 9);
            o.u16(&mut body, 1);
            body.extend([r, 0, 0, 0]);
        }
        if let Some(off) = tsoffset {
            o.u16(&mut body, 14);
            o.u16(&mut body, 8);
            body.extend(if o.0 {
                off.to_be_bytes()
            } else {
                off.to_le_bytes()
            });
        }
        o.u32(&mut body, 0);
        self.block(1, &body)
    }

    fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig: u32) -> &mut Ng {
        let o = self.o;
        let mut body = Vec::new();
        o.u32(&mut body, iface);
        o.u32(&mut body, (ts >> 32) as u32);
        o.u32(&mut body, ts as u32);
        o.u32(&mut body, data.len() as u32);
        o.u32(&mut body, orig);
        body.extend(data);
        self.block(6, &body)
    }

    fn opb(&mut self, iface: u16, ts: u64, data: &[u8], orig: u32) -> &mut Ng {
        let o = self.o;
        let mut body = Vec::new();
        o.u16(&mut body, iface);
        o.u16(&mut body, 0);
        o.u32(&mut body, (ts >> 32) as u32);
        o.u32(&mut body, ts as u32);
        o.u32(&mut body, data.len() as u32);
        o.u32(&mut body, orig);
        body.extend(data);
        self.block(2, &body)
    }

    fn spb(&mut self, data: &[u8], orig: u32) -> &mut Ng {
        let mut body = Vec::new();
        self.o.u32(&mut body, orig);
        body.extend(data);
        self.block(3, &body)
    }

    fn bytes(&self) -> Vec<u8> {
        self.out.clone()
    }
}

const BOM: u32 = 0x1A2B_3C4D;

fn source(bytes: Vec<u8>) -> Result<CaptureSource, CaptureError> {
    CaptureSource::from_reader("test.cap", Box::new(io::Cursor::new(bytes)))
}

/// What one frame gave, owned.
#[derive(Debug, Clone, PartialEq)]
struct Got {
    ts: i64,
    wire: u32,
    link: LinkType,
    data: Vec<u8>,
}

fn frames(source: &mut CaptureSource) -> Vec<Got> {
    let mut out = Vec::new();
    while let Some(f) = source.next_frame().unwrap() {
        out.push(Got {
            ts: f.ts.0,
            wire: f.wire_len,
            link: f.link,
            data: f.data.to_vec(),
        });
    }
    out
}

fn read_all(bytes: Vec<u8>) -> (Vec<Got>, CaptureSource) {
    let mut s = source(bytes).unwrap();
    (frames(&mut s), s)
}

#[test]
fn classic_pcap_in_every_magic_and_byte_order() {
    let payload = [0xaau8; 60];
    for big_endian in [false, true] {
        for (magic, ns_per_unit) in [
            (0xa1b2_c3d4u32, 1000i64),
            (0xa1b2_3c4d, 1),
            (0xa1b2_cd34, 1000),
        ] {
            let records = [
                rec(1_600_000_000, 999_999, &payload),
                Rec {
                    secs: 1_600_000_001,
                    frac: 5,
                    data: &payload[..20],
                    orig: 1514,
                },
            ];
            let (got, s) = read_all(pcap_file(big_endian, magic, 127, &records));
            let what = format!("magic {magic:08x} be {big_endian}");
            assert_eq!(got.len(), 2, "{what}");
            assert_eq!(
                got[0].ts,
                1_600_000_000 * 1_000_000_000 + 999_999 * ns_per_unit,
                "{what}"
            );
            assert_eq!(
                got[1].ts,
                1_600_000_001 * 1_000_000_000 + 5 * ns_per_unit,
                "{what}"
            );
            assert_eq!((got[0].wire, got[1].wire), (60, 1514), "{what}");
            assert_eq!(got[1].data, &payload[..20], "{what}");
            assert!(got.iter().all(|g| g.link == LinkType::Radiotap), "{what}");
            assert!(s.warnings().is_empty(), "{what}");
        }
    }
}

#[test]
fn pcap_link_type_ignores_fcs_bits() {
    // Bits 28..31 of the link-type field carry the FCS length (libpcap LT_FCS_DATAMASK).
    let (got, _) = read_all(pcap_file(
        false,
        0xa1b2_c3d4,
        0x1000_0001,
        &[rec(1, 0, b"x")],
    ));
    assert_eq!(got[0].link, LinkType::Ethernet);
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
    let frame = [0x55u8; 100];
    let mut ng = Ng::new(false);
    ng.idb(1, 64, None, None) // 0: Ethernet, microseconds, snaplen 64
        .idb(127, 0, Some(0x80 | 20), Some(1000)) // 1: radiotap, 2^-20 s, +1000 s
        .spb(&frame, 100) // before any timestamp: the epoch; cut to the snaplen
        .epb(0, 1_500_000_000_250_000, &frame[..64], 1514)
        .block(4, &[0, 0, 0, 0]) // name resolution: skipped
        .block(5, &[0; 16]) // interface statistics: skipped
        .block(0x0BAD, &[0x7e, 0x00, 0x00, 0x00, 1, 2, 3]) // custom: skipped
        .block(0x1234_5678, &[9; 40]) // unknown: skipped
        .spb(&frame[..40], 40) // the time of the packet before
        .epb(1, 3 << 20 | 1 << 19, &frame[..10], 10) // 3.5 s + 1000 s
        .opb(1, 1 << 20, &frame[..8], 8) // 1 s + 1000 s
        .section(true) // big-endian from here on, interfaces start again
        .idb(113, 0, Some(9), None)
        .epb(0, 1_700_000_000_123_456_789, &frame[..30], 30)
        .epb(1, 0, &frame[..30], 30); // interface 1 is gone with the old section
    let (got, s) = read_all(ng.bytes());
    let summary: Vec<(i64, u32, LinkType, usize)> = got
        .iter()
        .map(|g| (g.ts, g.wire, g.link, g.data.len()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, 100, LinkType::Ethernet, 64),
            (1_500_000_000_250_000_000, 1514, LinkType::Ethernet, 64),
            (1_500_000_000_250_000_000, 40, LinkType::Ethernet, 40),
            (1_003_500_000_000, 10, LinkType::Radiotap, 10),
            (1_001_000_000_000, 8, LinkType::Radiotap, 8),
            (1_700_000_000_123_456_789, 30, LinkType::LinuxSll, 30),
        ]
    );
    let warnings = s.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(matches!(
        &warnings[0],
        CaptureWarning::Skipped {
            reason: SkipReason::UnknownInterface,
            count: 1,
            ..
        }
    ));
    assert!(warnings[0]
        .to_string()
        .contains("packet on interface 1, but its section describes 1 interface"));
}

#[test]
fn pcapng_timestamps_past_2106_and_negative_offsets() {
    // 2107-01-01 in microseconds: past 2^32 seconds.
    let mut ng = Ng::new(true);
    ng.idb(1, 0, None, None)
        .epb(0, 4_323_283_200_000_000, b"abcd", 4);
    ng.idb(1, 0, Some(0), Some(-10)).epb(1, 25, b"abcd", 4);
    let (got, _) = read_all(ng.bytes());
    assert_eq!(got[0].ts, 4_323_283_200 * 1_000_000_000);
    assert_eq!(got[1].ts, 15_000_000_000);
}

#[test]
fn bad_records_are_skipped_and_counted_once_per_kind() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, Some(0), None); // whole seconds: large raw values overflow i64 nanoseconds
    for _ in 0..1000 {
        ng.epb(0, u64::MAX, b"late", 4);
    }
    ng.epb(0, 7, b"good", 4);
    // A captured length beyond the block.
    let mut bad = Ng::new(false);
    bad.epb(0, 0, b"abcd", 4);
    let mut block = bad.out[28..].to_vec();
    block[20] = 200;
    ng.out.extend(&block);
    // An enhanced packet block too short for its fields.
    ng.block(6, &[0; 8]);
    ng.epb(5, 0, b"", 0);
    let (got, s) = read_all(ng.bytes());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ts, 7_000_000_000);
    assert_eq!(s.skipped(), 1003);
    let reasons: Vec<(SkipReason, u64)> = s
        .warnings()
        .iter()
        .map(|w| match w {
            CaptureWarning::Skipped { reason, count, .. } => (*reason, *count),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (SkipReason::UnknownInterface, 1),
            (SkipReason::TimestampOverflow, 1000),
            (SkipReason::CapturedLengthBeyondBlock, 1),
            (SkipReason::MalformedBlock, 1),
        ]
    );
    let text = s.warnings()[1].to_string();
    assert!(
        text.starts_with(
            "test.cap: skipped 1000 records: timestamp out of range, the first at byte "
        ),
        "{text}"
    );
}

/// Issue 9: a section keeps at most `MAX_INTERFACES` interfaces, so a file of nothing
/// but interface description blocks no longer grows memory with its length. The blocks
/// beyond the limit and the packets on their interfaces are skipped under one warning;
/// a new section starts with no interface again.
#[test]
fn interfaces_per_section_are_capped_with_a_warning() {
    let mut ng = Ng::new(false);
    for _ in 0..MAX_INTERFACES + 3 {
        ng.idb(1, 0, None, None);
    }
    let cap = MAX_INTERFACES as u32;
    ng.epb(0, 1, b"kept", 4)
        .epb(cap, 2, b"drop", 4)
        .epb(cap + 2, 3, b"drop", 4)
        .epb(cap + 3, 4, b"unknown", 7);
    ng.section(false)
        .idb(1, 0, None, None)
        .epb(0, 5, b"next", 4);
    let mut s = source(ng.bytes()).unwrap();
    assert_eq!(s.next_frame().unwrap().unwrap().data, b"kept");
    let kept = |s: &CaptureSource| match &s.format {
        Format::PcapNg(f) => f.interface_count(),
        Format::Pcap(_) => 0,
    };
    assert_eq!(kept(&s), MAX_INTERFACES);
    assert_eq!(s.next_frame().unwrap().unwrap().data, b"next");
    assert_eq!(kept(&s), 1);
    assert!(s.next_frame().unwrap().is_none());
    let warnings = s.warnings();
    let skipped: Vec<(SkipReason, u64)> = warnings
        .iter()
        .map(|w| match w {
            CaptureWarning::Skipped { reason, count, .. } => (*reason, *count),
            other => panic!("{other:?}"),
        })
        .collect();
    // Three blocks and two packets beyond the limit; interface cap + 3 was never described.
    assert_eq!(
        skipped,
        [
            (SkipReason::UnknownInterface, 1),
            (SkipReason::InterfaceLimit, 5)
        ]
    );
    let text = warnings[1].to_string();
    assert!(
        text.contains("skipped 5 records: interface beyond the limit per section")
            && text.contains("65536"),
        "{text}"
    );
}

#[test]
fn broken_framing_ends_the_file_with_a_warning() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None).epb(0, 1, b"one!", 4);
    let good_len = ng.out.len() as u64;
    ng.epb(0, 2, b"two!", 4);
    let mut mismatched = ng.bytes();
    let last = mismatched.len() - 1;
    mismatched[last] = 0x7f; // the trailing length no longer matches
    ng.epb(0, 3, b"three", 5);

    let (got, s) = read_all(mismatched);
    assert_eq!(got.len(), 1);
    let w = s.warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].to_string(),
        format!(
            "test.cap: unreadable from byte {good_len} on (block length 36 at its start but \
             2130706468 at its end); 1 packet before it was read"
        )
    );

    for (len, problem) in [
        (37u32, "block length 37 is not a multiple of 4"),
        (8, "block length 8 is less than the minimum of 12"),
        (
            0xffff_fff0,
            "block length 4294967280 is more than the 256 MiB",
        ),
    ] {
        let mut b = ng.bytes();
        b[good_len as usize + 4..good_len as usize + 8].copy_from_slice(&len.to_le_bytes());
        let (got, s) = read_all(b);
        assert_eq!(got.len(), 1);
        let text = s.warnings()[0].to_string();
        assert!(text.contains(problem), "{text}");
    }

    // A pcap record claiming a captured length far beyond any frame.
    let mut p = pcap_file(
        false,
        0xa1b2_c3d4,
        1,
        &[rec(1, 0, b"abc"), rec(2, 0, b"def")],
    );
    p[24 + 16 + 3 + 8..24 + 16 + 3 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let (got, s) = read_all(p);
    assert_eq!(got.len(), 1);
    assert!(matches!(
        s.warnings()[0],
        CaptureWarning::Corrupt {
            offset: 43,
            packets_before: 1,
            ..
        }
    ));
}

#[test]
fn a_cut_at_every_byte_keeps_whole_records_and_warns_inside_one() {
    let frame = [1u8; 33];
    let mut ng = Ng::new(false);
    // Block starts: the interface description, then four packets, then the end.
    let mut ng_starts = vec![ng.out.len()];
    ng.idb(1, 0, None, None);
    ng_starts.push(ng.out.len());
    for i in 0..4 {
        ng.epb(0, i, &frame, 33);
        ng_starts.push(ng.out.len());
    }
    let pcap = pcap_file(
        true,
        0xa1b2_c3d4,
        1,
        &[rec(1, 0, &frame), rec(2, 0, &frame), rec(3, 0, &frame)],
    );
    let pcap_starts: Vec<usize> = (0..4).map(|i| 24 + i * 49).collect();
    // (file, starts of its records, how many leading non-packet blocks)
    for (file, starts, non_packets) in [(ng.bytes(), ng_starts, 1), (pcap, pcap_starts, 0)] {
        let header_len = starts[0];
        for cut in 0..header_len {
            assert!(source(file[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        for cut in header_len..=file.len() {
            let (got, s) = read_all(file[..cut].to_vec());
            let whole = starts.iter().filter(|&&e| e <= cut).count() - 1;
            assert_eq!(got.len(), whole.saturating_sub(non_packets), "cut at {cut}");
            let w = s.warnings();
            if starts.contains(&cut) {
                assert!(w.is_empty(), "cut at {cut}: {w:?}");
            } else {
                let start = starts[whole] as u64;
                assert!(
                    matches!(&w[..], [CaptureWarning::Truncated { offset, available, .. }]
                        if *offset == start && *available == cut as u64 - start),
                    "cut at {cut}: {w:?}"
                );
            }
        }
    }
}

/// A reader that hands out one small piece per call, like a slow pipe.
struct Trickle(io::Cursor<Vec<u8>>, usize);

impl Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.1.min(out.len());
        self.0.read(&mut out[..n])
    }
}

#[test]
fn short_reads_give_the_same_frames() {
    let frame: Vec<u8> = (0..=255).collect();
    let mut ng = Ng::new(true);
    ng.idb(105, 0, Some(9), None);
    for i in 0..50u64 {
        ng.epb(0, i * 1000, &frame[..(i as usize * 5) % 256], 300);
    }
    let (whole, _) = read_all(ng.bytes());
    for step in [1, 3, 64] {
        let mut s = CaptureSource::from_reader(
            "trickle",
            Box::new(Trickle(io::Cursor::new(ng.bytes()), step)),
        )
        .unwrap();
        assert_eq!(frames(&mut s), whole, "step {step}");
    }
}

/// A reader that fails after some bytes.
struct Failing(io::Cursor<Vec<u8>>);

impl Read for Failing {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.0.read(out)? {
            0 => Err(io::Error::other("device gone")),
            n => Ok(n),
        }
    }
}

#[test]
fn read_errors_stop_with_an_error_naming_the_offset() {
    let p = pcap_file(false, 0xa1b2_c3d4, 1, &[rec(1, 0, b"abcd")]);
    let s =
        CaptureSource::from_reader("flaky.pcap", Box::new(Failing(io::Cursor::new(p)))).unwrap();
    let err = read_merged(vec![s], |_| {}).unwrap_err().to_string();
    assert_eq!(err, "flaky.pcap: read error at byte 44: device gone");
}

#[test]
fn unreadable_headers_are_clear_errors() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "test.cap: the file is empty; leakypick reads pcap and pcapng captures"),
        (vec![0xd4, 0xc3], "test.cap: the file ends at byte 2, inside the magic number (4 bytes needed); it is cut short or not a capture",
        ),
        (
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0],
            "test.cap: not a pcap or pcapng file (magic 0x1f8b0800 at byte 0): it is gzip-compressed: \
             decompress it first (gunzip); leakypick reads pcap and pcapng",
        ),
        (
            vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4],
            "test.cap: byte 0: section header block with byte-order magic 0x01020304 instead of 0x1a2b3c4d",
        ),
        (
            {
                let mut b = Ng::new(false).bytes();
                b[12] = 2;
                b
            },
            "test.cap: byte 0: pcapng version 2.0, but leakypick reads version 1 (convert the file with `editcap -F pcapng`)",
        ),
        (
            Ng::new(false).bytes()[..20].to_vec(),
            "test.cap: the file ends at byte 20, inside the pcapng section header block (28 bytes needed); \
             it is cut short or not a capture",
        ),
    ];
    for (bytes, want) in cases {
        let err = source(bytes).err().unwrap().to_string();
        assert_eq!(err, want);
    }
}

#[test]
fn merge_orders_by_time_keeps_file_order_and_breaks_ties_by_source() {
    let a = pcap_file(
        false,
        0xa1b2_c3d4,
        1,
        &[
            rec(1, 0, b"a1"),
            rec(3, 0, b"a3"),
            rec(2, 0, b"a2"),
            rec(5, 0, b"a5"),
        ],
    );
    let b = pcap_file(
        true,
        0xa1b2_3c4d,
        1,
        &[rec(2, 0, b"b2x"), rec(3, 0, b"b3x"), rec(4, 0, b"b4x")],
    );
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None)
        .epb(0, 0, b"c0", 2)
        .epb(0, 6_000_000, b"c6", 2);
    let sources = vec![
        source(a).unwrap(),
        source(b).unwrap(),
        source(ng.bytes()).unwrap(),
    ];
    let mut order = Vec::new();
    let stats = read_merged(sources, |p| {
        order.push((p.ts.0 / 1_000_000_000, p.wire_len))
    })
    .unwrap();
    // File a's 2 after its 3 stays after it; at t=3 file a (source 0) goes first.
    assert_eq!(
        order,
        [
            (0, 2),
            (1, 2),
            (2, 3),
            (3, 2),
            (2, 2),
            (3, 3),
            (4, 3),
            (5, 2),
            (6, 2)
        ]
    );
    assert_eq!(stats.files, 3);
    assert_eq!(stats.packets, 9);
    assert_eq!(stats.first, Some(Timestamp(0)));
    assert_eq!(stats.last, Some(Timestamp(6_000_000_000)));
}

#[test]
fn from_bytes_reads_a_static_capture() {
    let bytes: &'static [u8] = pcap_file(false, 0xa1b2_c3d4, 1, &[rec(9, 0, b"xyz")]).leak();
    let s = CaptureSource::from_bytes("bundled sample", bytes).unwrap();
    assert_eq!(s.name(), "bundled sample");
    let stats = read_merged(vec![s], |p| assert_eq!(p.wire_len, 3)).unwrap();
    assert_eq!(stats.packets, 1);
    let empty = read_merged(Vec::new(), |_| {}).unwrap();
    assert_eq!(empty, CaptureStats::default());
}

#[test]
fn the_read_hook_counts_every_byte_of_the_files() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let records: Vec<Vec<u8>> = (0..5000u32)
        .map(|i| vec![i as u8; 100 + (i % 50) as usize])
        .collect();
    let recs: Vec<Rec> = records
        .iter()
        .enumerate()
        .map(|(i, d)| rec(i as u32, 0, d))
        .collect();
    let a: &'static [u8] = pcap_file(false, 0xa1b2_c3d4, 1, &recs).leak();
    let b: &'static [u8] = pcap_file(true, 0xa1b2_c3d4, 1, &recs[..10]).leak();
    let read = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let mut sources = vec![
        CaptureSource::from_bytes("a", a).unwrap(),
        CaptureSource::from_bytes("b", b).unwrap(),
    ];
    assert_eq!(sources[0].size(), Some(a.len() as u64));
    for s in &mut sources {
        let (read, calls) = (Arc::clone(&read), Arc::clone(&calls));
        s.on_read(Arc::new(move |n| {
            read.fetch_add(n, Ordering::Relaxed);
            calls.fetch_add(1, Ordering::Relaxed);
        }));
    }
    let stats = read_merged(sources, |_| {}).unwrap();
    assert_eq!(stats.packets, 5010);
    assert_eq!(read.load(Ordering::Relaxed), (a.len() + b.len()) as u64);
    // Told per buffer refill, never per record.
    assert!(calls.load(Ordering::Relaxed) < 20, "{calls:?}");
}

/// Reads `bytes` in pieces of `step` and checks what any reader must hold: no panic,
/// and no more packets than the bytes could frame.
fn read_anything(bytes: Vec<u8>, step: usize) {
    let len = bytes.len();
    let reader = Box::new(Trickle(io::Cursor::new(bytes), step.max(1)));
    if let Ok(s) = CaptureSource::from_reader("fuzz", reader) {
        if let Ok(stats) = read_merged(vec![s], |_| {}) {
            assert!(stats.packets * 12 <= len as u64);
            assert!(stats.warnings.len() <= SkipReason::ALL.len() + 1);
        }
    }
}

fn sample_files() -> Vec<Vec<u8>> {
    let frame = [0x42u8; 70];
    let mut ng = Ng::new(false);
    ng.idb(1, 50, None, Some(3))
        .idb(127, 0, Some(0x80 | 16), None)
        .epb(0, 1 << 40, &frame, 70)
        .spb(&frame, 70)
        .opb(1, 12345, &frame[..9], 60)
        .block(
            4,
            &[1, 0, 8, 0, 10, 0, 0, 1, b'h', b'o', b's', b't', 0, 0, 0, 0],
        )
        .section(true)
        .idb(105, 0, Some(9), None)
        .epb(0, 99, &frame[..3], 3);
    vec![
        pcap_file(
            false,
            0xa1b2_c3d4,
            1,
            &[rec(1, 2, &frame), rec(3, 4, &frame[..7])],
        ),
        pcap_file(
            true,
            0xa1b2_cd34,
            105,
            &[rec(1, 2, &frame), rec(3, 4, &frame[..7])],
        ),
        ng.bytes(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), step in 1usize..100) {
        read_anything(bytes, step);
    }

    #[test]
    fn random_bytes_after_a_valid_magic_never_panic(
        magic in prop::sample::select(vec![
            [0xd4u8, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1],
            [0xa1, 0xb2, 0x3c, 0x4d], [0x34, 0xcd, 0xb2, 0xa1], [0xa1, 0xb2, 0xcd, 0x34],
            [0x0a, 0x0d, 0x0d, 0x0a],
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
        step in 1usize..100,
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend(tail);
        read_anything(bytes, step);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        step in 1usize..100,
    ) {
        let mut bytes = sample_files().swap_remove(which);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        read_anything(bytes, step);
    }

    #[test]
    fn valid_pcap_records_round_trip(
        records in proptest::collection::vec((any::<u32>(), 0u32..1_000_000, 0usize..200, 0u32..70_000), 0..40),
        big_endian in any::<bool>(),
    ) {
        let data = [7u8; 200];
        let recs: Vec<Rec> = records
            .iter()
            .map(|&(secs, frac, len, orig)| Rec { secs, frac, data: &data[..len], orig })
            .collect();
        let (got, s) = read_all(pcap_file(big_endian, 0xa1b2_c3d4, 1, &recs));
        prop_assert_eq!(got.len(), recs.len());
        for (g, r) in got.iter().zip(&recs) {
            prop_assert_eq!(g.ts, i64::from(r.secs) * 1_000_000_000 + i64::from(r.frac) * 1000);
            prop_assert_eq!(g.wire, r.orig.max(r.data.len() as u32));
            prop_assert_eq!(&g.data[..], r.data);
        }
        prop_assert!(s.warnings().is_empty());
    }
}
