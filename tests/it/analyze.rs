//! `leakypick analyze` on real captures, run as the real binary.
//!
//! Expected values come from tools that share no code with leakypick:
//! - device counters from `tshark -n -q -z endpoints,eth`, run by the test itself;
//! - bursts from `scripts/reference_bursts.py` (tshark fields + plain Python windowing),
//!   run once and written down here with the command that produced them.

use crate::util::{leakypick, leakypick_with_stdin, of_type, shared_capture, tshark};
use serde_json::Value;
use std::collections::BTreeMap;

const ECHO: &str = "68:db:f5:90:19:64";
const HAIPENG_ECHO: &str = "c4:95:00:e3:93:2f";
const SEAN_ECHO: &str = "4c:ef:c0:03:f2:38";
const BLINK_HUB: &str = "00:03:7f:96:d8:ec";
const BLINK_CAM: &str = "f4:b8:5e:ff:2b:1b";

fn analyze_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["analyze", "--format", "json"];
    all.extend_from_slice(args);
    leakypick(all).json()
}

fn summary(values: &[Value]) -> &Value {
    let s = of_type(values, "summary");
    assert_eq!(s.len(), 1, "exactly one summary");
    s[0]
}

/// Bursts of one device as (start, end) offsets in whole seconds after the first packet.
fn burst_offsets(values: &[Value], mac: &str) -> Vec<(i64, i64)> {
    let first = summary(values)["first"].as_f64().unwrap_or_default();
    of_type(values, "burst")
        .into_iter()
        .filter(|b| b["mac"] == mac)
        .map(|b| {
            let s = b["start"].as_f64().unwrap_or_default() - first;
            let e = b["end"].as_f64().unwrap_or_default() - first;
            (s.round() as i64, e.round() as i64)
        })
        .collect()
}

#[test]
fn bundled_sample_finds_the_one_echo_dot_upload() {
    let run = leakypick(["analyze", "--format", "json"]);
    let values = run.json();
    assert!(
        run.stderr.contains("bundled sample"),
        "must say it used the sample: {}",
        run.stderr
    );
    // One upload burst, by the Echo Dot, 20-26 s after the first packet (the activation);
    // nothing near the 1-second idle blip at 42 s. Reference: reference_bursts.py --n 2.
    let bursts = of_type(&values, "burst");
    assert_eq!(bursts.len(), 1, "{bursts:?}");
    assert_eq!(bursts[0]["mac"], ECHO);
    assert_eq!(burst_offsets(&values, ECHO), vec![(20, 26)]);
    assert_eq!(bursts[0]["bytes"], 224138);
    assert_eq!(bursts[0]["windows"], 6);
    assert_eq!(bursts[0]["peak_bps"], 615464.0);
    let s = summary(&values);
    assert_eq!(
        (
            s["files"].as_u64(),
            s["packets"].as_u64(),
            s["skipped"].as_u64()
        ),
        (Some(1), Some(2778), Some(0))
    );
    // capinfos: first packet 2019-11-16 08:46:46.279109 UTC.
    assert_eq!(s["first"].as_f64(), Some(1573894006.279109));
}

#[test]
fn bundled_sample_equals_the_shared_file() {
    let a = analyze_json(&[]);
    let path = shared_capture("smart-speakers/echodot3a_active.pcap");
    let b = analyze_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(a, b);
}

#[test]
fn paper_preset_on_the_echo_dot_and_the_lan_blip() {
    let path = shared_capture("smart-speakers/echodot3a_active.pcap");
    let p = path.to_str().unwrap_or_default();
    let values = analyze_json(&["--preset", "paper", p]);
    assert_eq!(burst_offsets(&values, ECHO), vec![(20, 26)]);
    // Counting LAN destinations, the blip at 42 s is one hot window (reference_bursts.py
    // --include-lan --n 1 shows 42-43 for the Echo Dot): a burst only when n = 1.
    let lan = analyze_json(&["--include-lan", p]);
    assert_eq!(burst_offsets(&lan, ECHO), vec![(20, 26)]);
    let lan1 = analyze_json(&["--include-lan", "--min-windows", "1", p]);
    assert_eq!(burst_offsets(&lan1, ECHO), vec![(20, 26), (42, 43)]);
}

/// Parses `tshark -n -q -z endpoints,eth` into MAC -> [tx_packets, tx_bytes, rx_packets, rx_bytes].
pub(crate) fn tshark_endpoints(path: &str) -> BTreeMap<String, [u64; 4]> {
    let text = tshark(&["-n", "-r", path, "-q", "-z", "endpoints,eth"]);
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 7 && f[0].len() == 17 && f[0].matches(':').count() == 5 {
            let n: Vec<u64> = f[3..7]
                .iter()
                .map(|x| x.parse().unwrap_or(u64::MAX))
                .collect();
            out.insert(f[0].to_string(), [n[0], n[1], n[2], n[3]]);
        }
    }
    out
}

#[test]
fn device_counters_equal_tshark_endpoints_on_every_ethernet_capture() {
    let files = [
        "smart-speakers/echodot3a_active.pcap",
        "smart-speakers/haipeng_li__alexa_5_30s.pcap",
        "smart-speakers/haipeng_li__what_is_the_weather_5_30s.pcap",
        "smart-speakers/sean_kennedy__help_5_30s.pcap",
        "negatives/blink-security-hub_2019-04-25_idle.pcap",
        // Classic pcap, 60% of records truncated, 802.3 length-field frames.
        "cameras/blink-cam-01.pcap",
    ];
    for rel in files {
        let path = shared_capture(rel);
        let p = path.to_str().unwrap_or_default();
        let expected = tshark_endpoints(p);
        let values = analyze_json(&[p]);
        let mut got = BTreeMap::new();
        for d in of_type(&values, "device") {
            let n = |k: &str| d[k].as_u64().unwrap_or(u64::MAX);
            got.insert(
                d["mac"].as_str().unwrap_or_default().to_string(),
                [
                    n("tx_packets"),
                    n("tx_bytes"),
                    n("rx_packets"),
                    n("rx_bytes"),
                ],
            );
        }
        // tshark also lists group addresses (broadcast, multicast), which are not devices.
        let unicast: BTreeMap<String, [u64; 4]> = expected
            .into_iter()
            .filter(|(mac, _)| {
                u8::from_str_radix(&mac[..2], 16)
                    .map(|b| b & 1 == 0)
                    .unwrap_or(false)
            })
            .collect();
        assert!(!unicast.is_empty(), "{rel}: tshark listed no endpoints");
        assert_eq!(
            got, unicast,
            "{rel}: devices differ from tshark's endpoints"
        );
    }
}

#[test]
fn short_commands_are_found_by_the_default_and_missed_by_the_paper_preset() {
    // reference_bursts.py CAPTURE --n 2 (default) and --n 5 (paper), offsets in seconds.
    type Case<'a> = (&'a str, &'a str, &'a [(i64, i64)], &'a [(i64, i64)]);
    let cases: [Case; 5] = [
        (
            "haipeng_li__alexa_5_30s.pcap",
            HAIPENG_ECHO,
            &[(7, 13), (30, 37), (53, 59), (79, 85), (102, 108)],
            &[(7, 13), (30, 37), (53, 59), (79, 85), (102, 108)],
        ),
        (
            "haipeng_li__flip_a_coin_5_30s.pcap",
            HAIPENG_ECHO,
            &[(7, 10), (30, 33), (59, 65), (81, 84), (111, 114)],
            &[(59, 65)],
        ),
        (
            "haipeng_li__set_volume_to_five_5_30s.pcap",
            HAIPENG_ECHO,
            &[(6, 9), (43, 47), (80, 83), (108, 112), (146, 149)],
            &[],
        ),
        (
            "haipeng_li__what_is_the_weather_5_30s.pcap",
            HAIPENG_ECHO,
            &[(2, 5), (31, 33), (63, 66), (98, 100), (128, 131)],
            &[],
        ),
        (
            "sean_kennedy__flip_a_coin_5_30s.pcap",
            SEAN_ECHO,
            &[
                (18, 21),
                (22, 24),
                (54, 57),
                (58, 60),
                (89, 93),
                (125, 129),
                (161, 166),
            ],
            &[(161, 166)],
        ),
    ];
    for (file, mac, default, paper) in cases {
        let path = shared_capture(&format!("smart-speakers/{file}"));
        let p = path.to_str().unwrap_or_default();
        assert_eq!(
            burst_offsets(&analyze_json(&[p]), mac),
            default,
            "{file} default"
        );
        assert_eq!(
            burst_offsets(&analyze_json(&["--preset", "paper", p]), mac),
            paper,
            "{file} paper"
        );
    }
}

#[test]
fn idle_hub_has_no_burst_in_nine_hours() {
    let path = shared_capture("negatives/blink-security-hub_2019-04-25_idle.pcap");
    let p = path.to_str().unwrap_or_default();
    for preset in ["default", "paper"] {
        let values = analyze_json(&["--preset", preset, p]);
        assert!(of_type(&values, "burst").is_empty(), "{preset}");
        assert!(of_type(&values, "device")
            .iter()
            .any(|d| d["mac"] == BLINK_HUB));
    }
}

#[test]
fn camera_clip_uploads_use_original_lengths() {
    // blink-cam-01.pcap: 60% of records are truncated. reference_bursts.py --n 2 finds 38
    // bursts for the camera using frame.len (the original length); the first at 5-16 s.
    let path = shared_capture("cameras/blink-cam-01.pcap");
    let values = analyze_json(&[path.to_str().unwrap_or_default()]);
    let b = burst_offsets(&values, BLINK_CAM);
    assert_eq!(b.len(), 38);
    assert_eq!(b[0], (5, 16));
    assert_eq!(b[37], (605292, 605305));
    // Only the camera uploads.
    assert!(of_type(&values, "burst")
        .iter()
        .all(|x| x["mac"] == BLINK_CAM));
}

#[test]
fn several_files_merge_by_time_and_stdin_works() {
    let a = shared_capture("smart-speakers/echodot3a_active.pcap");
    let b = shared_capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let (pa, pb) = (
        a.to_str().unwrap_or_default(),
        b.to_str().unwrap_or_default(),
    );
    // haipeng_li (2018) is earlier than the Echo Dot capture (2019) though given second:
    // the merged stream starts with it and the summary spans both.
    let values = analyze_json(&[pa, pb]);
    let s = summary(&values);
    let one_a = analyze_json(&[pa]);
    let one_b = analyze_json(&[pb]);
    let packets = |v: &[Value]| summary(v)["packets"].as_u64().unwrap_or(0);
    assert_eq!(s["files"], 2);
    assert_eq!(packets(&values), packets(&one_a) + packets(&one_b));
    assert_eq!(s["first"], summary(&one_b)["first"]);
    assert_eq!(s["last"], summary(&one_a)["last"]);
    // The bursts of both captures are found after the merge. Windows are aligned to the
    // merged stream's first packet, so the Echo Dot's burst may shift by under a window.
    let haipeng: Vec<&Value> = of_type(&values, "burst")
        .into_iter()
        .filter(|x| x["mac"] == HAIPENG_ECHO)
        .collect();
    assert_eq!(haipeng.len(), 5);
    let echo: Vec<&Value> = of_type(&values, "burst")
        .into_iter()
        .filter(|x| x["mac"] == ECHO)
        .collect();
    assert_eq!(echo.len(), 1);
    let alone = summary(&one_a)["first"].as_f64().unwrap_or_default() + 20.0;
    let start = echo[0]["start"].as_f64().unwrap_or_default();
    assert!(
        (start - alone).abs() < 1.0,
        "Echo Dot burst at {start}, alone at {alone}"
    );

    let bytes = std::fs::read(&a).unwrap_or_default();
    let run = leakypick_with_stdin(["analyze", "--format", "json", "-"], Some(&bytes));
    assert_eq!(run.json(), one_a);
}

#[test]
fn names_file_and_vendors() {
    // devices.txt is the smart-speakers-study's own MAC -> name list.
    let names = shared_capture("smart-speakers/devices.txt");
    let values = analyze_json(&["--names", names.to_str().unwrap_or_default()]);
    let echo = of_type(&values, "device")
        .into_iter()
        .find(|d| d["mac"] == ECHO)
        .cloned();
    let echo = echo.unwrap_or_default();
    assert_eq!(echo["names"][0], "echodot3a");
    assert_eq!(echo["vendor"], "Amazon Technologies Inc.");
    assert_eq!(echo["ips"], serde_json::json!(["192.168.12.112"]));
    let other = of_type(&values, "device")
        .into_iter()
        .find(|d| d["mac"] == "fc:65:de:5f:15:0a")
        .cloned();
    assert_eq!(other.unwrap_or_default()["names"][0], "t-echodot");
}

#[test]
fn table_and_csv_carry_the_same_results() {
    let table = leakypick(["analyze"]).ok().to_string();
    assert!(
        table.contains(ECHO) && table.contains("Amazon Technologies Inc."),
        "{table}"
    );
    assert!(table.contains("1 burst"), "{table}");
    assert!(table.contains("224138"), "{table}");
    let csv = leakypick(["analyze", "--format", "csv"]).ok().to_string();
    let sections: Vec<&str> = csv.split("\n\n").collect();
    assert_eq!(sections.len(), 3, "{csv}");
    assert!(sections[0].starts_with("type,mac,id,vendor,names,ips,tx_packets,tx_bytes"));
    assert_eq!(
        sections[0].lines().count(),
        1 + 5,
        "header and five devices"
    );
    assert!(sections[1]
        .lines()
        .nth(1)
        .unwrap_or_default()
        .starts_with(&format!("burst,{ECHO},")));
    assert!(sections[2]
        .lines()
        .nth(1)
        .unwrap_or_default()
        .starts_with("summary,1,2778,0,"));
}
