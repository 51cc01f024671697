//! The simulator end to end: determinism, files that the project's reader and tshark
//! read back, and statistics of the written capture (measured with the reader, not taken
//! from the generator) that match the device models.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::tshark;
use leakypick_app::analyze::{analyze, AnalyzeOptions};
use leakypick_app::capture::{read_merged, CaptureSource};
use leakypick_app::simulate::{
    parse_device_spec, parse_duration, simulate, SimulateOptions, SimulateSummary,
};
use leakypick_core::sim::model::{CAMERA, ECHO, ECHO_DOT, PLUG};
use leakypick_core::sim::DeviceKind;
use leakypick_core::{is_upload, DestinationScope, Mac, Packet, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NS: i64 = Timestamp::NANOS_PER_SEC;

fn options(devices: &str, duration: &str, seed: u64) -> SimulateOptions {
    SimulateOptions {
        devices: parse_device_spec(devices).unwrap(),
        duration_ns: parse_duration(duration).unwrap(),
        seed,
        ..SimulateOptions::default()
    }
}

fn in_memory(opts: &SimulateOptions) -> (Vec<u8>, Vec<u8>, SimulateSummary) {
    let (mut pcap, mut labels) = (Vec::new(), Vec::new());
    let summary = simulate(opts, &mut pcap, &mut labels).unwrap();
    (pcap, labels, summary)
}

/// Simulates into files in `dir`; returns the capture's path, the labels and the summary.
fn to_files(dir: &Path, opts: &SimulateOptions) -> (PathBuf, Vec<Label>, SimulateSummary) {
    let pcap = dir.join(format!("sim-{}.pcap", opts.seed));
    let labels = dir.join(format!("sim-{}.csv", opts.seed));
    let mut p = std::fs::File::create(&pcap).unwrap();
    let mut l = std::fs::File::create(&labels).unwrap();
    let summary = simulate(opts, &mut p, &mut l).unwrap();
    let text = std::fs::read_to_string(&labels).unwrap();
    (pcap, parse_labels(&text), summary)
}

/// One line of the labels file, read back from its text.
#[derive(Debug, Clone)]
struct Label {
    mac: Mac,
    start: i64,
    end: i64,
    kind: String,
}

/// Reads the native labels CSV as written (activation lines only).
fn parse_labels(text: &str) -> Vec<Label> {
    let nanos = |s: &str| {
        let (a, b) = s.split_once('.').unwrap();
        assert_eq!(b.len(), 9, "nine decimals: {s}");
        a.parse::<i64>().unwrap() * NS + b.parse::<i64>().unwrap()
    };
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("mac,start,end,kind"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| !f[1].is_empty())
        .map(|f| Label {
            mac: f[0].parse().unwrap(),
            start: nanos(f[1]),
            end: nanos(f[2]),
            kind: f[3].to_string(),
        })
        .collect()
}

/// Every packet of a capture, read with the project's reader.
fn read_back(path: &Path) -> (Vec<Packet>, leakypick_app::capture::CaptureStats) {
    let mut packets = Vec::new();
    let stats = read_merged(vec![CaptureSource::open(path).unwrap()], |p| {
        packets.push(p.clone())
    })
    .unwrap();
    (packets, stats)
}

fn sent_by(p: &Packet, mac: Mac) -> bool {
    p.meta.src_mac == Some(mac)
}

fn uploads_of(packets: &[Packet], mac: Mac) -> Vec<&Packet> {
    packets
        .iter()
        .filter(|p| sent_by(p, mac) && is_upload(&p.meta, DestinationScope::Cloud))
        .collect()
}

fn macs(summary: &SimulateSummary, kind: DeviceKind) -> Vec<Mac> {
    summary
        .devices
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.mac)
        .collect()
}

#[test]
fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let spec = "echo:2@6/h,echodot,camera@3/h,hub,plug:2";
    let (p1, l1, _) = in_memory(&options(spec, "1h", 2026));
    let (p2, l2, _) = in_memory(&options(spec, "1h", 2026));
    let (p3, l3, _) = in_memory(&options(spec, "1h", 2027));
    assert!(p1.len() > 1_000_000, "{} bytes", p1.len());
    assert!(p1 == p2, "same seed, different capture");
    assert_eq!(l1, l2, "same seed, different labels");
    assert!(p1 != p3, "another seed, same capture");
    assert_ne!(l1, l3, "another seed, same labels");
}

#[test]
fn the_labels_file_is_read_by_the_evaluate_labels_parser() {
    let (_, labels, summary) = in_memory(&options("echo:2@20/h,camera@6/h,hub,plug", "1h", 4));
    let text = String::from_utf8(labels).unwrap();
    let set = leakypick_app::evaluate::labels::parse_native("sim.csv", &text).unwrap();
    assert_eq!(set.intervals.len() as u64, summary.activations);
    let idle: Vec<String> = set
        .idle_devices
        .iter()
        .map(|(d, _)| d.to_string())
        .collect();
    assert_eq!(idle, vec!["00:03:7f:00:00:01", "50:c7:bf:00:00:01"]);
    let mine = parse_labels(&text);
    for (a, b) in set.intervals.iter().zip(&mine) {
        assert_eq!(a.device, leakypick_core::DeviceKey::Mac(b.mac));
        assert_eq!(
            a.start,
            leakypick_app::timespec::TimeSpec::At(Timestamp(b.start))
        );
        assert_eq!(
            a.end,
            leakypick_app::timespec::TimeSpec::At(Timestamp(b.end))
        );
        assert_eq!(a.kind, b.kind);
    }
}

#[test]
fn the_reader_and_tshark_read_the_capture_back() {
    let dir = tempfile::tempdir().unwrap();
    for snaplen in [None, Some(128)] {
        let mut opts = options("echo:2@10/h,camera@4/h,hub,plug", "30m", 11);
        opts.snaplen = snaplen;
        let (path, labels, summary) = to_files(dir.path(), &opts);
        assert!(!labels.is_empty());

        let (packets, stats) = read_back(&path);
        assert_eq!(stats.packets, summary.frames, "{snaplen:?}");
        assert_eq!((stats.skipped, stats.warnings.len()), (0, 0));
        let wire: u64 = packets.iter().map(|p| u64::from(p.wire_len)).sum();
        assert_eq!(wire, summary.wire_bytes);
        assert_eq!(stats.first, summary.first);
        assert!(packets.windows(2).all(|w| w[0].ts <= w[1].ts));

        // tshark: every frame, the same wire bytes, nothing malformed.
        let p = path.to_str().unwrap();
        let lens = tshark(&["-n", "-r", p, "-T", "fields", "-e", "frame.len"]);
        let tshark_frames = lens.lines().count() as u64;
        let tshark_wire: u64 = lens.lines().map(|l| l.trim().parse::<u64>().unwrap()).sum();
        assert_eq!(
            (tshark_frames, tshark_wire),
            (summary.frames, summary.wire_bytes)
        );
        let malformed = tshark(&["-n", "-r", p, "-Y", "_ws.malformed"]);
        assert_eq!(
            malformed.lines().count(),
            0,
            "malformed frames:\n{malformed}"
        );
        let capinfos = std::process::Command::new("capinfos")
            .args(["-c", "-M", p])
            .output()
            .expect("capinfos (installed with tshark)");
        let out = String::from_utf8_lossy(&capinfos.stdout);
        assert!(
            out.contains(&format!("Number of packets:   {}", summary.frames)),
            "{out}"
        );
    }
}

#[test]
fn tshark_sees_real_looking_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = to_files(dir.path(), &options("echo@20/h,camera@6/h,hub", "1h", 5));
    let p = path.to_str().unwrap();
    // Vendors from tshark's own OUI table (names cut to eight letters), protocols
    // from its dissectors.
    let eth = tshark(&["-r", p, "-q", "-z", "endpoints,eth"]);
    for vendor in ["AmazonTe_", "TexasIns_", "AtherosC_", "Netgear_"] {
        assert!(
            eth.to_lowercase().contains(&vendor.to_lowercase()),
            "{vendor}:\n{eth}"
        );
    }
    let protocols = tshark(&["-n", "-r", p, "-T", "fields", "-e", "frame.protocols"]);
    for proto in [
        "eth:ethertype:ip:tcp",
        "ip:udp:dhcp",
        "eth:ethertype:arp",
        "ip:udp:ntp",
        "eapol",
    ] {
        assert!(protocols.contains(proto), "{proto} missing");
    }
    let hostname = tshark(&[
        "-n",
        "-r",
        p,
        "-Y",
        "dhcp.option.hostname",
        "-T",
        "fields",
        "-e",
        "dhcp.option.hostname",
    ]);
    assert!(hostname.contains("F4B85E000001-mysimplelink"), "{hostname}");
    // Checksums verify when tshark is asked to check them.
    let bad = tshark(&[
        "-n",
        "-r",
        p,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-Y",
        "ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0",
    ]);
    assert_eq!(bad.lines().count(), 0, "bad checksums:\n{bad}");
}

/// Mean gap between a device's upload frames of one length.
fn mean_gap_s(packets: &[&Packet], len: u32) -> (usize, f64) {
    let ts: Vec<i64> = packets
        .iter()
        .filter(|p| p.wire_len == len)
        .map(|p| p.ts.0)
        .collect();
    let n = ts.len();
    (n, (ts[n - 1] - ts[0]) as f64 / 1e9 / (n - 1) as f64)
}

#[test]
fn idle_heartbeats_come_at_the_model_periods() {
    let dir = tempfile::tempdir().unwrap();
    let (path, labels, summary) = to_files(dir.path(), &options("echo@0/h,plug", "6h", 3));
    assert!(labels.is_empty());
    let (packets, _) = read_back(&path);
    let echo = uploads_of(&packets, macs(&summary, DeviceKind::Echo)[0]);
    // The Echo's 100-byte answers to the keep-alive: every 20 s (paper), 6 h = ~1080.
    let (n, gap) = mean_gap_s(&echo, 100);
    assert!((1070..=1082).contains(&n), "{n}");
    assert!((gap - ECHO.small.period_s).abs() < 0.1, "{gap}");
    // The medium burst's first frame (641 bytes): every 300 s.
    let (n, gap) = mean_gap_s(&echo, 641);
    assert!((70..=73).contains(&n), "{n}");
    assert!((gap - ECHO.medium.period_s).abs() < 5.0, "{gap}");
    // The plug: one keep-alive a minute, and nothing else ever goes up.
    let plug = uploads_of(&packets, macs(&summary, DeviceKind::Plug)[0]);
    let (n, gap) = mean_gap_s(&plug, 118);
    assert!((355..=361).contains(&n), "{n}");
    assert!((gap - PLUG.heartbeat.period_s).abs() < 0.5, "{gap}");
    let per_beat: u64 = PLUG
        .heartbeat_steps
        .iter()
        .filter(|s| s.up)
        .map(|s| u64::from(s.len))
        .sum();
    let mut per_second: BTreeMap<i64, u64> = BTreeMap::new();
    for p in &plug {
        *per_second.entry(p.ts.0 / NS).or_default() += u64::from(p.wire_len);
    }
    let worst = per_second.values().copied().max().unwrap();
    assert!(worst <= 2 * per_beat, "{worst} bytes in one second");
    let total: u64 = plug.iter().map(|p| u64::from(p.wire_len)).sum();
    assert_eq!(total, n as u64 * per_beat, "only heartbeats");
}

#[test]
fn audio_uploads_have_the_measured_frames_and_rates() {
    let dir = tempfile::tempdir().unwrap();
    let (path, labels, summary) = to_files(
        dir.path(),
        &options("echo@12/h,echodot@12/h,camera@6/h", "4h", 8),
    );
    let (packets, _) = read_back(&path);
    for (kind, model) in [(DeviceKind::Echo, ECHO), (DeviceKind::EchoDot, ECHO_DOT)] {
        let mac = macs(&summary, kind)[0];
        let ups = uploads_of(&packets, mac);
        let mine: Vec<&Label> = labels.iter().filter(|l| l.mac == mac).collect();
        assert!(mine.len() >= 25, "{kind}: {} activations", mine.len());
        let (mut audio_bytes, mut audio_secs) = (0u64, 0.0);
        let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
        for l in &mine {
            assert_eq!(l.kind, "voice");
            let inside: Vec<&&Packet> = ups
                .iter()
                .filter(|p| p.ts.0 >= l.start && p.ts.0 <= l.end)
                .collect();
            for p in &inside {
                *sizes.entry(p.wire_len).or_default() += 1;
            }
            let audio: Vec<i64> = inside
                .iter()
                .filter(|p| p.wire_len == u32::from(model.audio_frame_len))
                .map(|p| p.ts.0)
                .collect();
            audio_bytes += audio.len() as u64 * u64::from(model.audio_frame_len);
            audio_secs += (audio[audio.len() - 1] - audio[0]) as f64 / 1e9;
        }
        // The commonest upload frame inside the labels is the audio frame.
        let commonest = sizes.iter().max_by_key(|(_, n)| **n).map(|(l, _)| *l);
        assert_eq!(commonest, Some(u32::from(model.audio_frame_len)), "{kind}");
        let kbps = audio_bytes as f64 * 8.0 / audio_secs / 1000.0;
        let want = f64::from(model.audio_frame_len) * 8.0 / model.audio_interval_s / 1000.0;
        assert!(
            (kbps - want).abs() < 0.06 * want,
            "{kind}: {kbps} kbit/s, model {want}"
        );
        // Utterances as measured: 1.5 to 5.6 s of audio, scaled by at most 10 %.
        let mean = audio_secs / mine.len() as f64;
        assert!((1.7..=4.0).contains(&mean), "{kind}: mean audio {mean} s");
    }
    // Camera clips: the measured sizes, in 1467-byte frames.
    let cam = macs(&summary, DeviceKind::Camera)[0];
    let ups = uploads_of(&packets, cam);
    let (lo, hi) = CAMERA
        .clips
        .iter()
        .fold((u32::MAX, 0), |(lo, hi), c| (lo.min(c.0), hi.max(c.0)));
    let clips: Vec<&Label> = labels.iter().filter(|l| l.mac == cam).collect();
    assert!(clips.len() >= 12, "{}", clips.len());
    for l in clips {
        assert_eq!(l.kind, "motion");
        let bytes: u64 = ups
            .iter()
            .filter(|p| p.ts.0 >= l.start && p.ts.0 <= l.end && p.wire_len > 1000)
            .map(|p| u64::from(p.wire_len))
            .sum();
        assert!(
            bytes as f64 >= f64::from(lo) * 0.94 && bytes as f64 <= f64::from(hi) * 1.06,
            "clip of {bytes} bytes"
        );
    }
}

#[test]
fn the_burst_detector_finds_every_voice_activation_and_nothing_from_hub_or_plug() {
    let dir = tempfile::tempdir().unwrap();
    let (path, labels, summary) = to_files(
        dir.path(),
        &options("echo:2@6/h,echodot@4/h,camera@2/h,hub,plug:2", "1h", 2026),
    );
    let report = analyze(
        vec![CaptureSource::open(&path).unwrap()],
        &AnalyzeOptions::default(),
    )
    .unwrap();
    let bursts_of = |mac: Mac| {
        report
            .bursts
            .iter()
            .filter(move |b| b.device == leakypick_core::DeviceKey::Mac(mac))
    };
    let voice: Vec<&Label> = labels.iter().filter(|l| l.kind == "voice").collect();
    assert!(voice.len() >= 10, "{} voice activations", voice.len());
    for l in &voice {
        let found = bursts_of(l.mac).any(|b| b.start.0 <= l.end && b.end.0 >= l.start);
        assert!(found, "missed {l:?}");
    }
    for l in labels.iter().filter(|l| l.kind == "motion") {
        let found = bursts_of(l.mac).any(|b| b.start.0 <= l.end && b.end.0 >= l.start);
        assert!(found, "missed clip {l:?}");
    }
    for kind in [DeviceKind::Hub, DeviceKind::Plug] {
        for mac in macs(&summary, kind) {
            let n = bursts_of(mac).count();
            assert_eq!(n, 0, "{kind} {mac} has {n} bursts");
        }
    }
}
