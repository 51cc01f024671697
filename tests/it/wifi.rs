//! Detection on Wi-Fi sniffed in monitor mode, where payloads are encrypted and only MAC
//! addresses, direction and frame sizes are visible.
//!
//! No public monitor-mode capture of an assistant uploading is at hand, so this test
//! turns the real Echo Dot capture into what a monitor-mode sniffer would have recorded:
//! every Ethernet frame becomes a protected (CCMP) 802.11 QoS data frame behind a radiotap
//! header, with the same timestamp, the same addresses (station -> AP with ToDS, AP ->
//! station with FromDS) and the payload's length plus the 802.11 overhead. The detector
//! then sees exactly what it would see over the air: sizes, times and MACs.

use crate::util::{leakypick, of_type, shared_capture};
use leakypick_app::capture::CaptureSource;
use leakypick_core::LinkType;

/// 802.11 overhead replacing the 14-byte Ethernet header: 8 radiotap + 26 QoS data header
/// + 8 CCMP header + 8 MIC + 4 FCS (the LLC/SNAP header is inside the encryption, 8 bytes).
const RADIOTAP_LEN: usize = 8;

fn to_monitor_mode(eth: &[u8], wire_len: u32, ap: [u8; 6]) -> (Vec<u8>, u32) {
    let (dst, src) = (&eth[0..6], &eth[6..12]);
    let payload_len = wire_len as usize - 14 + 8; // + LLC/SNAP
    let mut f = Vec::new();
    // Radiotap: version 0, pad, length 8, no fields present.
    f.extend_from_slice(&[0, 0, RADIOTAP_LEN as u8, 0, 0, 0, 0, 0]);
    let to_ds = src != ap;
    // Frame control: type data (2), subtype QoS data (8) -> 0x88; flags: ToDS 0x01 or
    // FromDS 0x02, Protected 0x40.
    f.push(0x88);
    f.push(if to_ds { 0x01 } else { 0x02 } | 0x40);
    f.extend_from_slice(&[0, 0]); // duration
    if to_ds {
        // a1 = BSSID, a2 = SA, a3 = DA.
        f.extend_from_slice(&ap);
        f.extend_from_slice(src);
        f.extend_from_slice(dst);
    } else {
        // a1 = DA, a2 = BSSID, a3 = SA.
        f.extend_from_slice(dst);
        f.extend_from_slice(&ap);
        f.extend_from_slice(src);
    }
    f.extend_from_slice(&[0, 0, 0, 0]); // sequence control, QoS control
    f.extend_from_slice(&[1, 0, 0, 0x20, 0, 0, 0, 0]); // CCMP header (ExtIV set)
                                                       // Encrypted payload, MIC and FCS: only their length matters; the bytes are opaque.
    let wire = f.len() + payload_len + 8 + 4;
    f.resize(f.len() + 16, 0xa5); // a captured prefix of the ciphertext
    (f, wire as u32)
}

fn write_pcap(path: &std::path::Path, link: u32, frames: &[(i64, Vec<u8>, u32)]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond pcap
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&link.to_le_bytes());
    for (ts, data, wire) in frames {
        out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&wire.to_le_bytes());
        out.extend_from_slice(data);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn echo_dot_upload_is_found_in_encrypted_monitor_mode_traffic() {
    let src = shared_capture("smart-speakers/echodot3a_active.pcap");
    let mut cap = CaptureSource::open(&src).unwrap_or_else(|e| panic!("{e}"));
    // The access point: the gateway 1e:f2:0c:cc:ed:1c that relays the Echo's cloud traffic.
    let ap = [0x1e, 0xf2, 0x0c, 0xcc, 0xed, 0x1c];
    let mut frames = Vec::new();
    while let Some(f) = cap.next_frame().unwrap_or_else(|e| panic!("{e}")) {
        assert_eq!(f.link, LinkType::Ethernet);
        let (data, wire) = to_monitor_mode(f.data, f.wire_len, ap);
        frames.push((f.ts.0, data, wire));
    }
    assert_eq!(frames.len(), 2778);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("echo-monitor.pcap");
    write_pcap(&path, 127, &frames);

    let values = leakypick([
        "analyze",
        "--format",
        "json",
        path.to_str().unwrap_or_default(),
    ])
    .json();
    let first = of_type(&values, "summary")[0]["first"]
        .as_f64()
        .unwrap_or_default();
    let bursts = of_type(&values, "burst");
    // The same single upload as on Ethernet, 20-26 s after the first packet; on the air the
    // LAN traffic is encrypted too and counts, but stays below two hot windows in a row.
    assert_eq!(bursts.len(), 1, "{bursts:?}");
    assert_eq!(bursts[0]["mac"], "68:db:f5:90:19:64");
    let start = bursts[0]["start"].as_f64().unwrap_or_default() - first;
    let end = bursts[0]["end"].as_f64().unwrap_or_default() - first;
    assert_eq!((start.round(), end.round()), (20.0, 26.0));
    // Devices are still grouped by MAC with their frame counts (tshark: 1365 sent by the
    // Echo Dot, 1413 to it).
    let echo = of_type(&values, "device")
        .into_iter()
        .find(|d| d["mac"] == "68:db:f5:90:19:64")
        .cloned();
    let echo = echo.unwrap_or_default();
    assert_eq!(
        (echo["tx_packets"].as_u64(), echo["rx_packets"].as_u64()),
        (Some(1365), Some(1413))
    );
}
