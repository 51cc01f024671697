//! The capture reader on real files: counts, timestamps and wire bytes checked against
//! values computed independently with tshark and capinfos.
//!
//! Unless a test says otherwise, expected values come from
//!
//! ```text
//! tshark -r FILE -T fields -E separator=, -e frame.time_epoch -e frame.len -e frame.cap_len \
//!   | awk -F, '{n++; s+=$2; c+=$3} NR==1{f=$1} {l=$1} END{print n, f, l, s, c}'
//! ```
//!
//! (packet count, first and last `frame.time_epoch`, sum of `frame.len` = wire bytes,
//! sum of `frame.cap_len` = captured bytes). Every file listed is in time order
//! (checked with the same command), so first/last are also the minimum/maximum.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{shared_capture, shared_captures};
use leakypick_app::capture::{
    read_merged, CaptureError, CaptureSource, CaptureStats, CaptureWarning,
};
use leakypick_core::{LinkType, Timestamp};
use std::path::Path;

/// What one file gave: the stats, the wire and captured byte totals and every timestamp.
struct Read {
    stats: CaptureStats,
    wire: u64,
    captured: u64,
    links: Vec<LinkType>,
    times: Vec<Timestamp>,
}

/// Reads one file frame by frame (for link types and captured lengths) and once more
/// through `read_merged` (for the stats), and checks the two agree.
fn read(path: &Path) -> Read {
    let mut source = CaptureSource::open(path).unwrap();
    let (mut captured, mut links, mut frames) = (0u64, Vec::new(), 0u64);
    while let Some(frame) = source.next_frame().unwrap() {
        captured += frame.data.len() as u64;
        frames += 1;
        if links.last() != Some(&frame.link) {
            links.push(frame.link);
        }
    }
    let mut wire = 0u64;
    let mut times = Vec::new();
    let stats = read_merged(vec![CaptureSource::open(path).unwrap()], |p| {
        wire += u64::from(p.wire_len);
        times.push(p.ts);
    })
    .unwrap();
    assert_eq!(stats.packets, frames, "{}", path.display());
    Read {
        stats,
        wire,
        captured,
        links,
        times,
    }
}

/// A `frame.time_epoch` string as tshark prints it, as a timestamp (exact to the nanosecond).
fn epoch(s: &str) -> Timestamp {
    let (secs, frac) = s.split_once('.').unwrap();
    let nanos = format!("{frac:0<9}");
    Timestamp::from_secs_nanos(secs.parse().unwrap(), nanos.parse().unwrap()).unwrap()
}

fn check(rel: &str, packets: u64, first: &str, last: &str, wire: u64) -> Read {
    let r = read(&shared_capture(rel));
    assert_eq!(r.stats.packets, packets, "{rel}: packets");
    assert_eq!(r.stats.first, Some(epoch(first)), "{rel}: first");
    assert_eq!(r.stats.last, Some(epoch(last)), "{rel}: last");
    assert_eq!(r.wire, wire, "{rel}: wire bytes");
    assert_eq!(r.stats.skipped, 0, "{rel}: skipped");
    assert!(r.stats.warnings.is_empty(), "{rel}: {:?}", r.stats.warnings);
    assert!(
        r.times.windows(2).all(|w| w[0] <= w[1]),
        "{rel}: time order"
    );
    r
}

#[test]
fn echodot_pcapng_named_pcap() {
    // tshark: 2778 1573894006.279109000 1573894054.165082000 396840 396840
    let r = check(
        "smart-speakers/echodot3a_active.pcap",
        2778,
        "1573894006.279109000",
        "1573894054.165082000",
        396_840,
    );
    assert_eq!(r.links, [LinkType::Ethernet]);
    assert_eq!(r.stats.files, 1);
}

#[test]
fn haipeng_li_nanosecond_pcapng() {
    // tshark: 1361 1540285881.414633666 1540285994.459326747 416163 416163
    // capinfos -I: "Time precision = nanoseconds (9)".
    check(
        "smart-speakers/haipeng_li__alexa_5_30s.pcap",
        1361,
        "1540285881.414633666",
        "1540285994.459326747",
        416_163,
    );
}

#[test]
fn blink_camera_counts_original_lengths_of_truncated_records() {
    // tshark: 24022 1615216935.831389000 1615822389.368275000 21278644 1403027
    let r = check(
        "cameras/blink-cam-01.pcap",
        24_022,
        "1615216935.831389000",
        "1615822389.368275000",
        21_278_644,
    );
    assert_eq!(r.captured, 1_403_027);
    assert_ne!(r.wire, r.captured);
}

#[test]
fn big_endian_microsecond_pcap() {
    // xxd -l4: a1b2c3d4 (big-endian). tshark: 23 954147395.148077000 954147396.347775000 2072 2072
    let r = check(
        "parse-robustness/tcpdump-tests/pptp.pcap",
        23,
        "954147395.148077000",
        "954147396.347775000",
        2072,
    );
    assert_eq!(r.links, [LinkType::Ethernet]);
}

#[test]
fn nanosecond_pcap() {
    // xxd -l4: 4d3cb2a1 (little-endian, ns). tshark: 3 1418145369.924505488 1418145370.052115157 220 220
    let r = check(
        "parse-robustness/tcpdump-tests/tcp-handshake-nano.pcap",
        3,
        "1418145369.924505488",
        "1418145370.052115157",
        220,
    );
    assert_eq!(r.links, [LinkType::LinuxSll]);
    // The middle packet, tshark: 1418145370.052027262.
    assert_eq!(r.times[1], epoch("1418145370.052027262"));
}

#[test]
fn modified_pcap_format() {
    // The 'modified' format (magic a1b2cd34, 24-byte record headers).
    // tshark: 1 1712763541.734807000 1712763541.734807000 98 98
    check(
        "parse-robustness/rusticata-pcap-parser/modified-format.pcap",
        1,
        "1712763541.734807000",
        "1712763541.734807000",
        98,
    );
}

#[test]
fn pcapng_timestamps_past_2106() {
    // tshark: 1 4323283200.000000000 (2107-01-01); tcpdump prints 28315904.000000 (wrapped).
    check(
        "parse-robustness/tcpdump-tests/time_2107.pcapng",
        1,
        "4323283200.000000000",
        "4323283200.000000000",
        98,
    );
    // tshark: 4294967296.000000000, one past the largest 32-bit second.
    check(
        "parse-robustness/tcpdump-tests/time_2106_overflow.pcapng",
        1,
        "4294967296.000000000",
        "4294967296.000000000",
        98,
    );
}

#[test]
fn rusticata_pcapng_suite_in_both_byte_orders() {
    // capinfos -I: one Ethernet interface (linktype 1) in test001/010/016; tshark lists 4
    // frames of 314, 342, 314, 342 bytes (sum 1312). test001: enhanced packet blocks with
    // zero timestamps (tshark 0.000000000). test010: simple packet blocks only (tshark shows
    // no time). test016: simple, enhanced, simple, enhanced; the enhanced ones at
    // 1340954905.298858000 and 1340954905.300858000. test017: custom blocks and no
    // interface, which capinfos counts as 0 packets.
    for order in ["le", "be"] {
        let r = read(&shared_capture(&format!(
            "parse-robustness/rusticata-pcap-parser/test001-{order}.pcapng"
        )));
        assert_eq!((r.stats.packets, r.wire), (4, 1312), "test001-{order}");
        assert_eq!(r.links, [LinkType::Ethernet]);
        assert_eq!(r.times, [Timestamp(0); 4]);

        let r = read(&shared_capture(&format!(
            "parse-robustness/rusticata-pcap-parser/test016-{order}.pcapng"
        )));
        assert_eq!((r.stats.packets, r.wire), (4, 1312), "test016-{order}");
        assert_eq!(r.links, [LinkType::Ethernet]);
        let (a, b) = (epoch("1340954905.298858000"), epoch("1340954905.300858000"));
        // A simple packet block takes the time of the packet before it, or 0 before any.
        assert_eq!(r.times, [Timestamp(0), a, a, b]);

        let r = read(&shared_capture(&format!(
            "parse-robustness/rusticata-pcap-parser/test017-{order}.pcapng"
        )));
        assert_eq!(r.stats.packets, 0, "test017-{order}");
        assert!(r.stats.warnings.is_empty());
    }
    let r = read(&shared_capture(
        "parse-robustness/rusticata-pcap-parser/test010-le.pcapng",
    ));
    assert_eq!((r.stats.packets, r.wire, r.captured), (4, 1312, 1312));
    assert_eq!(r.links, [LinkType::Ethernet]);
}

#[test]
fn other_link_types() {
    // capinfos: bgp-role.pcapng is linux-sll (9 packets), dns-badcookie.pcap null (4),
    // ieee802.11_meshid.pcap radiotap (3), ieee802.11_tim_ie_oobr.pcap raw 802.11 (4),
    // LINKTYPE_IPV6.pcap rawip6 (1), LINKTYPE_RAW_ipv4.pcap rawip (1).
    for (rel, link, packets) in [
        ("bgp-role.pcapng", LinkType::LinuxSll, 9),
        ("dns-badcookie.pcap", LinkType::Null, 4),
        ("ieee802.11_meshid.pcap", LinkType::Radiotap, 3),
        ("ieee802.11_tim_ie_oobr.pcap", LinkType::Ieee80211, 4),
        ("LINKTYPE_IPV6.pcap", LinkType::Ipv6, 1),
        ("LINKTYPE_RAW_ipv4.pcap", LinkType::RawIp, 1),
    ] {
        let r = read(&shared_capture(&format!(
            "parse-robustness/tcpdump-tests/{rel}"
        )));
        assert_eq!(r.links, [link], "{rel}");
        assert_eq!(r.stats.packets, packets, "{rel}");
    }
}

#[test]
fn invalid_subsecond_fields_are_skipped_with_one_warning() {
    // tshark shows all 3 records; the 2nd has usec = 1000000 (tshark: 1418145370.1000000000)
    // and the 3rd 0x80000000 (tshark: ...370.000000000 for micro, -1418145370.2147483648
    // for nano). leakypick keeps the valid first record and skips the other two.
    for (rel, first) in [
        ("timestamp_invalid_micro.pcap", "1418145369.999999000"),
        ("timestamp_invalid_nano.pcap", "1418145369.999999999"),
    ] {
        let path = shared_capture(&format!("parse-robustness/tcpdump-tests/{rel}"));
        let stats = read_merged(vec![CaptureSource::open(&path).unwrap()], |_| {}).unwrap();
        assert_eq!((stats.packets, stats.skipped), (1, 2), "{rel}");
        assert_eq!(stats.first, Some(epoch(first)));
        assert_eq!(stats.warnings.len(), 1, "{:?}", stats.warnings);
        let text = stats.warnings[0].to_string();
        // The second record starts after the 24-byte file header, 16-byte record header
        // and 76 captured bytes.
        assert!(
            text.contains("skipped 2 records: invalid sub-second field, the first at byte 116"),
            "{text}"
        );
        assert!(text.contains(rel), "{text}");
    }
}

#[test]
fn merge_of_two_files_is_in_time_order_and_adds_up() {
    // The Echo capture (2019) and the first haipeng_li capture (2018), given newer first.
    let echo = shared_capture("smart-speakers/echodot3a_active.pcap");
    let alexa = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let a = read(&echo);
    let b = read(&alexa);
    let mut times = Vec::new();
    let mut wire = 0u64;
    let stats = read_merged(
        vec![
            CaptureSource::open(&echo).unwrap(),
            CaptureSource::open(&alexa).unwrap(),
        ],
        |p| {
            times.push(p.ts);
            wire += u64::from(p.wire_len);
        },
    )
    .unwrap();
    assert_eq!(stats.files, 2);
    assert_eq!(stats.packets, 2778 + 1361);
    assert_eq!(wire, 396_840 + 416_163);
    assert_eq!(stats.first, b.stats.first);
    assert_eq!(stats.last, a.stats.last);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));

    // Two files that overlap in time interleave: all five haipeng_li files span
    // 2018-10-23..25 and sean_kennedy's lie between them.
    let files = [
        "smart-speakers/haipeng_li__tell_me_a_joke_5_30s.pcap",
        "smart-speakers/sean_kennedy__flip_a_coin_5_30s.pcap",
        "smart-speakers/haipeng_li__flip_a_coin_5_30s.pcap",
    ];
    let each: Vec<Read> = files.iter().map(|f| read(&shared_capture(f))).collect();
    let mut times = Vec::new();
    let sources = files
        .iter()
        .map(|f| CaptureSource::open(&shared_capture(f)).unwrap())
        .collect();
    let stats = read_merged(sources, |p| times.push(p.ts)).unwrap();
    assert_eq!(
        stats.packets,
        each.iter().map(|r| r.stats.packets).sum::<u64>()
    );
    let mut expected: Vec<Timestamp> = each.iter().flat_map(|r| r.times.iter().copied()).collect();
    expected.sort();
    assert_eq!(times, expected);
}

#[test]
fn every_robustness_file_reads_without_panic() {
    // What each file gives; the counts are capinfos' except where leakypick differs on
    // purpose (invalid sub-second records skipped; err-eof.bin is not a capture).
    let expected_packets = |name: &str| -> Option<u64> {
        Some(match name {
            "err-eof.bin" => return None,
            "err-buffertoosmall.pcapng" => 27,
            "modified-format.pcap" => 1,
            "ntp.pcap" => 12,
            "test001-be.pcapng" | "test001-le.pcapng" | "test010-le.pcapng" => 4,
            "test016-be.pcapng" | "test016-le.pcapng" => 4,
            "test017-be.pcapng" | "test017-le.pcapng" => 0,
            "wireshark_samples-test.pcapng" => 5898,
            "timestamp_invalid_micro.pcap" | "timestamp_invalid_nano.pcap" => 1,
            "ieee802.11_exthdr.pcap" => 26,
            "of13_ericsson.pcapng" => 174,
            "mptcp-v1.pcap" => 20,
            "pptp.pcap" => 23,
            "quic_handshake_truncated.pcap" => 18,
            "bgp-role.pcapng" => 9,
            "dns-badcookie.pcap" | "ieee802.11_tim_ie_oobr.pcap" => 4,
            "ieee802.11_meshid.pcap" | "ieee802.11_rx-stbc.pcap" | "tcp-handshake-nano.pcap" => 3,
            _ => 1,
        })
    };
    let mut seen = 0;
    for dir in ["rusticata-pcap-parser", "tcpdump-tests"] {
        let dir = shared_captures().join("parse-robustness").join(dir);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            seen += 1;
            let result = CaptureSource::open(&path).and_then(|s| read_merged(vec![s], |_| {}));
            match (expected_packets(&name), result) {
                (Some(n), Ok(stats)) => {
                    assert_eq!(stats.packets, n, "{name}: {:?}", stats.warnings)
                }
                (None, Err(e)) => {
                    let text = e.to_string();
                    assert!(text.contains(&name) && text.contains("byte 0"), "{text}");
                }
                (want, got) => panic!("{name}: expected {want:?} packets, got {got:?}"),
            }
        }
    }
    assert_eq!(seen, 38, "the parse-robustness folder changed");
}

#[test]
fn err_eof_says_the_section_header_is_missing() {
    let path = shared_capture("parse-robustness/rusticata-pcap-parser/err-eof.bin");
    let err = CaptureSource::open(&path).err().unwrap();
    assert!(matches!(
        err,
        CaptureError::UnknownFormat {
            magic: 0x0600_0000,
            ..
        }
    ));
    let text = err.to_string();
    assert!(
        text.contains("not a pcap or pcapng file (magic 0x06000000 at byte 0)"),
        "{text}"
    );
    assert!(text.contains("section header block"), "{text}");
}

#[test]
fn truncated_file_keeps_the_packets_before_the_break() {
    // echodot3a_active.pcap cut 50 bytes into its 113th packet, an 84-byte enhanced packet
    // block at byte 9928 (found by walking the pcapng block lengths with a few lines of
    // Python). `head -c 9978 echodot3a_active.pcap > cut.pcap; tshark -r cut.pcap | wc -l`
    // gives 112 and "appears to have been cut short in the middle of a packet".
    let original = std::fs::read(shared_capture("smart-speakers/echodot3a_active.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    let (block_start, cut_at) = (9928u64, 9978usize);
    std::fs::write(&cut, &original[..cut_at]).unwrap();

    let stats = read_merged(vec![CaptureSource::open(&cut).unwrap()], |_| {}).unwrap();
    assert_eq!(stats.packets, 112);
    assert_eq!(stats.warnings.len(), 1);
    match &stats.warnings[0] {
        CaptureWarning::Truncated {
            offset,
            available,
            packets_before,
            ..
        } => {
            assert_eq!(*offset, block_start);
            assert_eq!(*available, 50);
            assert_eq!(*packets_before, 112);
        }
        w => panic!("unexpected warning {w:?}"),
    }
    let text = stats.warnings[0].to_string();
    assert!(
        text.contains("cut.pcap: capture breaks off at byte 9928 (block needs 84 bytes, 50 left)"),
        "{text}"
    );
    assert!(text.contains("112 packets before it were read"), "{text}");
}

#[test]
fn unreadable_files_are_errors_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let err = CaptureSource::open(&empty).err().unwrap().to_string();
    assert!(err.contains("empty.pcap") && err.contains("empty"), "{err}");

    let short = dir.path().join("short.pcap");
    std::fs::write(&short, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
    let err = CaptureSource::open(&short).err().unwrap().to_string();
    assert!(
        err.contains(
            "short.pcap: the file ends at byte 8, inside the pcap file header (24 bytes needed)"
        ),
        "{err}"
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello, this is not a capture").unwrap();
    let err = CaptureSource::open(&text).err().unwrap().to_string();
    assert!(
        err.contains("notes.txt: not a pcap or pcapng file (magic 0x68656c6c"),
        "{err}"
    );
    assert!(err.contains("leakypick reads pcap and pcapng"), "{err}");

    let missing = dir.path().join("missing.pcap");
    let err = CaptureSource::open(&missing).err().unwrap().to_string();
    assert!(err.contains("missing.pcap: cannot open"), "{err}");
}
