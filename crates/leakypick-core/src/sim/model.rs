//! The device models: every number the simulator uses, with where it comes from.
//!
//! Figures marked *measured* were read from the real captures in `../shared/captures`
//! with tshark and a short Python script; `docs/simulator.md` gives the commands and the
//! full tables. Figures marked *paper* are from the LeakyPick paper (§3: idle Alexa
//! devices send small bursts every 20 s, medium every 300 s, large every 10 h). Figures
//! marked *assumed* have no capture behind them and say so.
//!
//! Frame lengths are wire lengths of Ethernet frames without the frame check sequence,
//! as the captures show them. A TCP frame of at most 60 bytes (or of exactly the header
//! length with the timestamp option) carries no payload: 54-byte acknowledgements sent
//! by a device, 60-byte ones padded to the Ethernet minimum by the far end.

/// A process that repeats every `period_s` seconds, each gap moved by up to
/// `jitter_s` seconds either way (uniformly): the mean gap is exactly `period_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periodic {
    pub period_s: f64,
    pub jitter_s: f64,
}

/// One frame of a fixed exchange: sent `at_ms` milliseconds after the exchange starts,
/// upstream (by the device) or downstream, `len` bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub at_ms: f64,
    pub up: bool,
    pub len: u16,
}

const fn up(at_ms: f64, len: u16) -> Step {
    Step {
        at_ms,
        up: true,
        len,
    }
}

const fn dn(at_ms: f64, len: u16) -> Step {
    Step {
        at_ms,
        up: false,
        len,
    }
}

/// A voice assistant (Alexa-like): idle heartbeats, and on activation an audio upload
/// followed by the cloud's spoken answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceModel {
    /// The name used in device specs and summaries.
    pub name: &'static str,
    /// The vendor prefix of the simulated MAC addresses.
    pub oui: [u8; 3],
    /// The fourth octet of the simulated MACs, which keeps two models with the same
    /// vendor prefix apart.
    pub mac_tag: u8,
    /// Cloud endpoint of the voice service (TCP, port 443). *Measured.*
    pub voice_cloud: [u8; 4],
    /// Cloud endpoint of the small heartbeats and medium bursts. *Measured.*
    pub ping_cloud: [u8; 4],
    /// Small heartbeats. Period: *paper* (20 s); the captures show the same exchange
    /// every 30 s, server-initiated.
    pub small: Periodic,
    /// The small heartbeat's frames: the server's 100-byte keep-alive record, the
    /// device's 100-byte answer, the server's acknowledgement. *Measured.*
    pub small_steps: &'static [Step],
    /// Medium bursts. Period: *paper* (300 s).
    pub medium: Periodic,
    /// The medium burst's frames (about 7 kB up within 50 ms). *Measured* (one such
    /// burst in `sean_kennedy__flip_a_coin`, 7.59 s after the first packet).
    pub medium_steps: &'static [Step],
    /// Large bursts. Period: *paper* (10 h).
    pub large: Periodic,
    /// Bytes the large burst uploads, and over how many seconds. *Assumed*: no capture
    /// is long enough to hold one.
    pub large_upload_bytes: u32,
    pub large_upload_s: f64,
    /// Bytes the large burst downloads after the upload. *Assumed.*
    pub large_download_bytes: u32,
    /// Frames sent at once when the wake word is heard (the audio buffered before and
    /// during it, and the request's metadata). *Measured.*
    pub preroll: &'static [u16],
    /// Seconds over which the pre-roll frames go out. *Measured.*
    pub preroll_s: f64,
    /// Length of one audio frame on the wire. *Measured.*
    pub audio_frame_len: u16,
    /// Mean gap between audio frames, seconds. *Measured.*
    pub audio_interval_s: f64,
    /// Each gap is `audio_interval_s` times a uniform factor in `1 ± audio_jitter`,
    /// which reproduces the measured quartiles of the gaps.
    pub audio_jitter: f64,
    /// Measured audio spans (first to last audio frame) of real utterances, seconds;
    /// each activation picks one and scales it by a uniform factor in 0.9..1.1.
    pub utterance_s: &'static [f64],
    /// Measured bytes of the cloud's answer (the download after the upload); each
    /// activation picks one and scales it by 0.9..1.1.
    pub response_bytes: &'static [u32],
    /// The answer starts this many seconds after the last audio frame (uniform range).
    /// *Measured*: the first large frame of the answer came 0.23 s before to 0.45 s
    /// after the last audio frame; the model keeps the answer after the upload.
    pub response_delay_s: (f64, f64),
    /// Download rate of the answer, bits per second (uniform range). *Measured* order
    /// of magnitude: the median answer took 0.24 s, in flights of 10-25 frames.
    pub response_bps: (f64, f64),
    /// Frames the device uploads when the answer has played (events). *Measured.*
    pub after_response: &'static [u16],
    /// Probability of a follow-up upload after the answer. *Measured*: 6 of the 37
    /// activations in the Echo captures had one.
    pub followup_probability: f64,
    /// The follow-up starts this many seconds after the last audio frame. *Measured*:
    /// 2.5-2.6 s (`flip_a_coin`) and 9.4-10.6 s (`help`).
    pub followup_delay_s: (f64, f64),
    /// Bytes and duration of the follow-up upload (uniform ranges). *Measured*: 13.9-21.8
    /// kB over 0.47-1.7 s, mostly 1514-byte frames.
    pub followup_bytes: (f64, f64),
    pub followup_s: (f64, f64),
}

/// Amazon Echo as in the `haipeng_li__*` captures (Echo `c4:95:00:e3:93:2f`): 491-byte
/// audio frames about every 45 ms, about 88 kbit/s of audio.
pub const ECHO: VoiceModel = VoiceModel {
    name: "echo",
    oui: [0x68, 0xdb, 0xf5],
    mac_tag: 0x00,
    voice_cloud: [52, 46, 136, 99],
    ping_cloud: [52, 94, 227, 146],
    small: Periodic {
        period_s: 20.0,
        jitter_s: 1.0,
    },
    small_steps: ECHO_SMALL,
    medium: Periodic {
        period_s: 300.0,
        jitter_s: 15.0,
    },
    medium_steps: ECHO_MEDIUM,
    large: Periodic {
        period_s: 36_000.0,
        jitter_s: 1_800.0,
    },
    large_upload_bytes: 16_000,
    large_upload_s: 2.0,
    large_download_bytes: 400_000,
    preroll: &[
        285, 1067, 1514, 231, 1291, 891, 1514, 231, 1514, 1514, 1514, 1096,
    ],
    preroll_s: 0.16,
    audio_frame_len: 491,
    audio_interval_s: 0.0445,
    audio_jitter: 0.65,
    utterance_s: HAIPENG_UTTERANCES,
    response_bytes: ECHO_RESPONSES,
    response_delay_s: (0.0, 0.45),
    response_bps: (400_000.0, 2_000_000.0),
    after_response: &[91, 91, 351],
    followup_probability: 6.0 / 37.0,
    followup_delay_s: (2.4, 10.7),
    followup_bytes: (13_800.0, 21_800.0),
    followup_s: (0.45, 1.7),
};

/// Echo Dot (3rd generation) as in `echodot3a_active.pcap` (`68:db:f5:90:19:64`): a
/// 60 kB pre-roll in 1514-byte frames, then 1116-byte audio frames every 31 ms
/// (about 290 kbit/s). Idle behaviour as [`ECHO`].
pub const ECHO_DOT: VoiceModel = VoiceModel {
    name: "echodot",
    mac_tag: 0x01,
    voice_cloud: [52, 94, 233, 109],
    preroll: ECHO_DOT_PREROLL,
    preroll_s: 0.03,
    audio_frame_len: 1116,
    audio_interval_s: 0.0324,
    audio_jitter: 0.35,
    ..ECHO
};

/// The keep-alive exchange of `sean_kennedy__*` (120 s, 150 s, 180 s) and of
/// `echodot3a_active` (27.68 s).
const ECHO_SMALL: &[Step] = &[dn(0.0, 100), up(5.0, 100), dn(45.0, 60)];

/// `sean_kennedy__flip_a_coin`, 7.587 s to 7.857 s after the first packet.
const ECHO_MEDIUM: &[Step] = &[
    up(0.0, 641),
    up(1.0, 190),
    up(1.0, 1514),
    up(1.0, 1514),
    up(1.0, 1426),
    up(1.0, 136),
    dn(38.0, 60),
    up(43.0, 92),
    dn(45.0, 66),
    dn(46.0, 66),
    dn(46.0, 66),
    dn(46.0, 60),
    dn(46.0, 60),
    dn(46.0, 60),
    up(48.0, 1514),
    dn(80.0, 60),
    dn(85.0, 60),
    dn(268.0, 146),
    dn(268.0, 92),
    up(270.0, 54),
];

/// The 41 full frames and four others that `echodot3a` sent in the 30 ms before its
/// first audio frame (20.639 s to 20.669 s).
const ECHO_DOT_PREROLL: &[u16] = &[
    420, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514,
    1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 902, 387,
    1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1514, 1270,
];

/// First to last 491-byte frame of the 25 activations in the five `haipeng_li` files.
const HAIPENG_UTTERANCES: &[f64] = &[
    1.53, 1.57, 1.65, 1.68, 1.74, 1.74, 1.78, 1.81, 2.11, 2.20, 2.46, 2.49, 2.52, 2.58, 2.60, 2.63,
    2.67, 3.10, 3.16, 4.49, 5.56, 5.57, 5.61, 5.61, 5.63,
];

/// Bytes of the cloud's answer to each of the 36 activations in the `echodot3a`,
/// `haipeng_li` and `sean_kennedy` files (in that order): frames over 100 bytes from the
/// cloud between the first audio frame and 8 s after the last, rounded to 10 bytes.
/// A bare "Alexa" gets almost nothing back; a joke or the weather 40-80 kB.
const ECHO_RESPONSES: &[u32] = &[
    24970, 530, 520, 510, 520, 660, 13760, 13690, 9470, 8340, 8340, 1260, 1180, 1190, 1180, 1190,
    30940, 41830, 47640, 49680, 45420, 63570, 63550, 57550, 60760, 61970, 20810, 20620, 20150,
    20200, 15740, 83550, 76870, 76880, 77060, 77080,
];

/// A battery camera (Blink-like): asleep and silent when idle; on motion it wakes,
/// joins the network, and uploads a clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraModel {
    pub name: &'static str,
    pub oui: [u8; 3],
    /// Cloud endpoints the clips went to (TCP, port 443), one picked per clip. *Measured.*
    pub clip_clouds: &'static [[u8; 4]],
    /// The wake-up before the upload: link-layer authentication frames (EAPOL) and a DHCP
    /// request. *Measured* lengths; it starts this many seconds before the upload.
    pub wake_eapol: &'static [u16],
    pub wake_lead_s: (f64, f64),
    pub dhcp_request_len: u16,
    pub dhcp_reply_len: u16,
    /// Frames of the TLS handshake that opens each clip's connection. *Measured.*
    pub handshake: &'static [Step],
    /// Length of the clip's data frames. *Measured* (13965 of 14552 upload frames).
    pub clip_frame_len: u16,
    /// Measured (bytes, seconds from the first to the last upload frame) of the 38 clip
    /// uploads; each clip picks one pair and scales both by a uniform factor in
    /// 0.95..1.05.
    pub clips: &'static [(u32, f64)],
    /// Frames per flight: the upload goes out in back-to-back flights (TCP windows).
    pub flight_frames: (usize, usize),
    /// The server's closing record (127 bytes) arrives this many seconds after the clip.
    /// *Measured* (22 such frames).
    pub close_len: u16,
    pub close_delay_s: (f64, f64),
}

/// Blink indoor camera as in `cameras/blink-cam-01.pcap` (`f4:b8:5e:ff:2b:1b`).
pub const CAMERA: CameraModel = CameraModel {
    name: "camera",
    oui: [0xf4, 0xb8, 0x5e],
    clip_clouds: &[
        [3, 227, 188, 171],
        [52, 70, 158, 224],
        [3, 220, 152, 140],
        [3, 226, 162, 24],
    ],
    wake_eapol: &[135, 113, 60],
    wake_lead_s: (3.5, 5.0),
    dhcp_request_len: 342,
    dhcp_reply_len: 346,
    handshake: &[
        up(0.0, 60),
        dn(30.0, 60),
        up(31.0, 60),
        up(32.0, 321),
        dn(70.0, 1514),
        dn(70.5, 1514),
        dn(71.0, 1514),
        up(72.0, 60),
        up(110.0, 140),
        up(111.0, 139),
        up(111.5, 123),
        dn(150.0, 60),
    ],
    clip_frame_len: 1467,
    clips: BLINK_CLIPS,
    flight_frames: (8, 24),
    close_len: 127,
    close_delay_s: (2.0, 10.0),
};

/// (bytes, seconds from first to last upload frame) of the 38 clips in `blink-cam-01`.
const BLINK_CLIPS: &[(u32, f64)] = &[
    (590213, 12.36),
    (508029, 3.04),
    (569440, 4.33),
    (492656, 5.04),
    (553658, 4.81),
    (571474, 2.55),
    (578593, 3.56),
    (532149, 4.81),
    (538804, 3.05),
    (451392, 2.78),
    (492896, 2.53),
    (621357, 22.39),
    (594814, 14.32),
    (578473, 3.84),
    (481252, 3.30),
    (496349, 2.04),
    (545098, 3.79),
    (492112, 3.81),
    (520669, 10.82),
    (566438, 2.55),
    (489486, 4.06),
    (566262, 2.81),
    (535151, 3.31),
    (536810, 13.57),
    (583782, 2.80),
    (508401, 4.32),
    (579225, 2.54),
    (553378, 2.32),
    (472909, 2.04),
    (541674, 2.30),
    (571278, 9.30),
    (458915, 5.03),
    (553183, 3.31),
    (555397, 3.87),
    (559654, 2.80),
    (584197, 2.55),
    (538625, 2.28),
    (617032, 15.12),
];

/// A hub without a microphone that only keeps its cloud connection alive (Blink sync
/// module), and an idle smart plug: both never activated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleModel {
    pub name: &'static str,
    pub oui: [u8; 3],
    pub cloud: [u8; 4],
    /// TCP frames carry the timestamp option (66-byte acknowledgements).
    pub tcp_timestamps: bool,
    pub heartbeat: Periodic,
    pub heartbeat_steps: &'static [Step],
    /// Every `double_every`-th heartbeat is followed by a second one `double_gap_s`
    /// seconds later (0: never). *Measured* for the hub: every 30th, 1.2-1.45 s later.
    pub double_every: u64,
    pub double_gap_s: (f64, f64),
    /// DHCP renewals to the gateway (LAN only), if any.
    pub dhcp: Option<Periodic>,
    pub dhcp_request_len: u16,
    pub dhcp_reply_len: u16,
    /// ARP requests for the gateway, if any.
    pub arp: Option<Periodic>,
    /// NTP queries (90-byte frames each way) to one of `ntp_servers`, as a Poisson
    /// process with this mean gap in seconds, if any.
    pub ntp_mean_s: Option<f64>,
    pub ntp_servers: &'static [[u8; 4]],
}

/// Blink security hub as in `negatives/blink-security-hub_2019-04-25_idle.pcap`
/// (`00:03:7f:96:d8:ec`, 9 hours idle). Everything *measured*: the keep-alive every
/// 30.000 s (standard deviation 0.058 s, which a uniform ±0.1 s reproduces), doubled
/// every 900 s; DHCP every 300.4 s; ARP on average every 45.1 s (gaps of 30 and 60 s);
/// NTP on average every 825 s, irregularly.
pub const HUB: IdleModel = IdleModel {
    name: "hub",
    oui: [0x00, 0x03, 0x7f],
    cloud: [3, 121, 70, 57],
    tcp_timestamps: true,
    heartbeat: Periodic {
        period_s: 30.0,
        jitter_s: 0.1,
    },
    heartbeat_steps: &[
        up(0.0, 135),
        dn(54.0, 66),
        up(55.0, 135),
        dn(68.0, 66),
        dn(88.0, 135),
        up(90.0, 66),
    ],
    double_every: 30,
    double_gap_s: (1.2, 1.45),
    dhcp: Some(Periodic {
        period_s: 300.4,
        jitter_s: 0.1,
    }),
    dhcp_request_len: 342,
    dhcp_reply_len: 343,
    arp: Some(Periodic {
        period_s: 45.1,
        jitter_s: 15.0,
    }),
    ntp_mean_s: Some(825.0),
    ntp_servers: &[
        [176, 58, 127, 165],
        [213, 138, 110, 176],
        [139, 162, 192, 13],
        [85, 199, 214, 101],
    ],
};

/// A smart plug (TP-Link-like): no microphone, one small keep-alive a minute. *Assumed*:
/// there is no plug in the shared captures; the exchange has the shape of the hub's
/// measured one (request, acknowledgement, answer, acknowledgement).
pub const PLUG: IdleModel = IdleModel {
    name: "plug",
    oui: [0x50, 0xc7, 0xbf],
    cloud: [52, 28, 0, 10],
    tcp_timestamps: false,
    heartbeat: Periodic {
        period_s: 60.0,
        jitter_s: 2.0,
    },
    heartbeat_steps: &[up(0.0, 118), dn(40.0, 60), dn(42.0, 118), up(43.0, 54)],
    double_every: 0,
    double_gap_s: (0.0, 0.0),
    dhcp: None,
    dhcp_request_len: 342,
    dhcp_reply_len: 342,
    arp: None,
    ntp_mean_s: None,
    ntp_servers: &[],
};

/// The home router every device talks through: NETGEAR vendor prefix, 192.168.1.1.
pub const GATEWAY_MAC: [u8; 6] = [0x00, 0x09, 0x5b, 0x00, 0x00, 0x01];
pub const GATEWAY_IP: [u8; 4] = [192, 168, 1, 1];
