//! Tests of the simulator's model and stream, without files: determinism, order, labels,
//! decoding of the frames by the project's own decoder, and configuration errors.

use super::*;
use crate::decode::{decode, LinkType};
use crate::inventory::{is_upload, DestinationScope};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

const HOUR: i64 = 3600 * Timestamp::NANOS_PER_SEC;

fn config(seed: u64, hours: i64, devices: Vec<DeviceSpec>) -> SimConfig {
    SimConfig {
        seed,
        start: SimConfig::DEFAULT_START,
        duration_ns: hours * HOUR,
        devices,
        min_gap_ns: SimConfig::DEFAULT_MIN_GAP_NS,
    }
}

fn spec(kind: DeviceKind, count: u32, schedule: Schedule) -> DeviceSpec {
    DeviceSpec {
        kind,
        count,
        schedule,
    }
}

fn home() -> Vec<DeviceSpec> {
    vec![
        spec(DeviceKind::Echo, 2, Schedule::PerHour(6.0)),
        spec(DeviceKind::EchoDot, 1, Schedule::Default),
        spec(DeviceKind::Camera, 1, Schedule::PerHour(3.0)),
        spec(DeviceKind::Hub, 1, Schedule::Default),
        spec(DeviceKind::Plug, 2, Schedule::Default),
    ]
}

/// Everything a simulation emits, owned.
#[derive(Debug, Default)]
struct Run {
    frames: Vec<(i64, u32, Vec<u8>, usize)>,
    labels: Vec<Activation>,
    /// For each label, the index of the frame that followed it.
    label_frames: Vec<usize>,
    devices: Vec<SimDevice>,
}

fn run(config: &SimConfig) -> Run {
    let mut sim = Simulation::new(config).expect("valid config");
    let mut out = Run {
        devices: sim.devices().to_vec(),
        ..Run::default()
    };
    while let Some(ev) = sim.next_event() {
        match ev {
            SimEvent::Activation(a) => {
                out.labels.push(a);
                out.label_frames.push(out.frames.len());
            }
            SimEvent::Frame(f) => {
                out.frames
                    .push((f.ts.0, f.wire_len, f.prefix.to_vec(), f.device))
            }
        }
    }
    out
}

fn digest(r: &Run) -> u64 {
    let mut h = DefaultHasher::new();
    r.frames.hash(&mut h);
    for l in &r.labels {
        (l.mac, l.start, l.end, l.kind.name()).hash(&mut h);
    }
    h.finish()
}

#[test]
fn same_seed_same_stream_other_seed_other_stream() {
    let a = run(&config(42, 1, home()));
    let b = run(&config(42, 1, home()));
    let c = run(&config(43, 1, home()));
    assert!(a.frames.len() > 1000, "{}", a.frames.len());
    assert_eq!(digest(&a), digest(&b));
    assert_ne!(digest(&a), digest(&c));
}

#[test]
fn frames_are_in_time_order_inside_the_simulation() {
    let c = config(1, 2, home());
    let r = run(&c);
    let end = c.start.0 + c.duration_ns;
    let mut prev = c.start.0;
    for (ts, len, prefix, _) in &r.frames {
        assert!(*ts >= prev && *ts < end, "{ts} after {prev}, end {end}");
        assert!(prefix.len() <= *len as usize && *len >= 42);
        prev = *ts;
    }
}

#[test]
fn labels_are_sorted_and_announce_their_first_frame() {
    let r = run(&config(5, 3, home()));
    assert!(r.labels.len() >= 10, "{}", r.labels.len());
    for w in r.labels.windows(2) {
        assert!(w[0].start <= w[1].start);
    }
    for (label, &i) in r.labels.iter().zip(&r.label_frames) {
        let (ts, _, prefix, dev) = &r.frames[i];
        assert_eq!(*ts, label.start.0);
        assert_eq!(r.devices[*dev].mac, label.mac);
        assert_eq!(&prefix[6..12], &label.mac.0, "sent by the device");
        assert!(label.end > label.start);
    }
    // Only microphones and cameras are activated.
    for l in &r.labels {
        let kind = r
            .devices
            .iter()
            .find(|d| d.mac == l.mac)
            .map(|d| d.kind)
            .unwrap();
        assert_eq!(kind.activation_kind(), Some(l.kind));
    }
}

#[test]
fn every_frame_decodes_to_the_device_and_a_real_looking_destination() {
    let r = run(&config(9, 1, home()));
    let gateway = Mac(model::GATEWAY_MAC);
    for (_, len, prefix, dev) in &r.frames {
        let mut full = prefix.clone();
        full.resize(*len as usize, 0);
        let meta = decode(LinkType::Ethernet, &full);
        let device = &r.devices[*dev];
        let (src, dst) = (meta.src_mac.unwrap(), meta.dst_mac.unwrap());
        assert!(
            (src == device.mac && (dst == gateway || dst == Mac::BROADCAST))
                || (src == gateway && dst == device.mac),
            "{src} -> {dst}"
        );
        if meta.ethertype == Some(0x0800) && src == device.mac {
            let local = meta.src_ip.unwrap().to_string();
            assert!(local == std::net::Ipv4Addr::from(device.ip).to_string() || local == "0.0.0.0");
        }
    }
    // Devices upload to the cloud; the plug only in its keep-alives.
    let uploads = |kind: DeviceKind| {
        r.frames
            .iter()
            .filter(|(_, len, prefix, dev)| {
                let mut full = prefix.clone();
                full.resize(*len as usize, 0);
                r.devices[*dev].kind == kind
                    && is_upload(&decode(LinkType::Ethernet, &full), DestinationScope::Cloud)
                    && full[6..12] == r.devices[*dev].mac.0
            })
            .count()
    };
    assert!(uploads(DeviceKind::Echo) > 100);
    let plug_uploads = uploads(DeviceKind::Plug);
    // Two plugs, 60 keep-alives an hour, two upstream frames each.
    assert!((200..=280).contains(&plug_uploads), "{plug_uploads}");
}

#[test]
fn adding_a_device_leaves_the_others_unchanged() {
    let alone = vec![spec(DeviceKind::Echo, 1, Schedule::PerHour(6.0))];
    let mut crowd = alone.clone();
    crowd.push(spec(DeviceKind::Plug, 3, Schedule::Default));
    let a = run(&config(3, 1, alone));
    let b = run(&config(3, 1, crowd));
    let echo = a.devices[0].mac;
    let times = |r: &Run| {
        r.frames
            .iter()
            .filter(|f| r.devices[f.3].mac == echo)
            .map(|f| (f.0, f.1))
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&a), times(&b));
    assert_eq!(a.labels, b.labels);
}

#[test]
fn explicit_times_give_exactly_those_activations() {
    let s = Timestamp::NANOS_PER_SEC;
    let times = vec![600 * s, 60 * s, 1800 * s];
    let r = run(&config(
        1,
        1,
        vec![spec(DeviceKind::Echo, 1, Schedule::At(times))],
    ));
    let starts: Vec<i64> = r
        .labels
        .iter()
        .map(|l| (l.start.0 - SimConfig::DEFAULT_START.0) / s)
        .collect();
    assert_eq!(starts, vec![60, 600, 1800]);
    assert!(r.labels.iter().all(|l| l.kind == ActivationKind::Voice));
}

#[test]
fn rates_are_kept_on_average() {
    // 6 an hour for 50 hours: the count is Poisson-like around 300 (less the time the
    // device is busy, a few per cent).
    let r = run(&config(
        11,
        50,
        vec![spec(DeviceKind::Echo, 1, Schedule::PerHour(6.0))],
    ));
    let n = r.labels.len();
    assert!((250..=330).contains(&n), "{n}");
    // The minimum gap holds between consecutive activations of the device.
    for w in r.labels.windows(2) {
        assert!(w[1].start.0 - w[0].end.0 >= SimConfig::DEFAULT_MIN_GAP_NS);
    }
}

#[test]
fn echo_idle_heartbeats_follow_the_model_periods() {
    let r = run(&config(
        2,
        6,
        vec![spec(DeviceKind::Echo, 1, Schedule::PerHour(0.0))],
    ));
    // The small heartbeat's 100-byte answers come every 20 s on average.
    let answers: Vec<i64> = r
        .frames
        .iter()
        .filter(|f| f.1 == 100 && f.2[6..12] == r.devices[0].mac.0)
        .map(|f| f.0)
        .collect();
    let mean = (answers[answers.len() - 1] - answers[0]) as f64 / 1e9 / (answers.len() - 1) as f64;
    assert!(
        (mean - model::ECHO.small.period_s).abs() < 0.2,
        "mean {mean}"
    );
    // The medium burst's 641-byte first frame, every 300 s.
    let medium = r.frames.iter().filter(|f| f.1 == 641).count();
    assert!((70..=73).contains(&medium), "{medium}");
    assert!(r.labels.is_empty());
}

#[test]
fn bad_configurations_say_what_is_wrong() {
    let err = |devices: Vec<DeviceSpec>| {
        Simulation::new(&config(1, 1, devices))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(err(vec![]).contains("no devices"));
    assert!(err(vec![spec(DeviceKind::Plug, 1, Schedule::PerHour(2.0))]).contains("'plug'"));
    assert!(err(vec![spec(DeviceKind::Echo, 1, Schedule::PerHour(500.0))]).contains("500"));
    assert!(err(vec![spec(DeviceKind::Echo, 1, Schedule::PerHour(f64::NAN))]).contains("NaN"));
    assert!(err(vec![spec(DeviceKind::Echo, 241, Schedule::Default)]).contains("241 devices"));
    assert!(err(vec![spec(
        DeviceKind::Camera,
        1,
        Schedule::At(vec![2 * HOUR])
    )])
    .contains("7200 s"));
    let mut c = config(1, 1, home());
    c.duration_ns = 0;
    assert_eq!(Simulation::new(&c).err(), Some(SimConfigError::BadDuration));
}

#[test]
fn device_addresses_use_the_vendor_prefixes() {
    let r = run(&config(1, 1, home()));
    let macs: Vec<String> = r.devices.iter().map(|d| d.mac.to_string()).collect();
    assert_eq!(
        macs,
        vec![
            "68:db:f5:00:00:01",
            "68:db:f5:00:00:02",
            "68:db:f5:01:00:01",
            "f4:b8:5e:00:00:01",
            "00:03:7f:00:00:01",
            "50:c7:bf:00:00:01",
            "50:c7:bf:00:00:02",
        ]
    );
    assert_eq!(r.devices[0].ip, [192, 168, 1, 10]);
    assert_eq!(r.devices[6].ip, [192, 168, 1, 16]);
}
