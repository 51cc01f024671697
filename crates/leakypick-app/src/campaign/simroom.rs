//! A simulated room in virtual time: one device that wakes on each word with a known
//! probability (seeded), streams to the cloud when it wakes, and sends heartbeats (a
//! small frame every 20 s, a 7 kB TLS burst every 3 min) — the [`Io`](super::Io) of a
//! campaign without a network, a speaker or a clock. The tests and the helper program
//! `examples/fuzz_history.rs` run whole campaigns on it in milliseconds.
//!
//! Virtual time moves only when the engine waits: the source advances it to the next
//! frame, or by a poll interval when nothing is due; the speaker's sounds last their
//! length in virtual time.

use super::render::{json_text, params_json, words_json};
use super::{
    check_seen, run, Campaign, CampaignError, Clock, Io, Params, RunEnd, SelectionParams, Sound,
    SoundBook, Speaker, Word,
};
use crate::capture::Frame;
use crate::history::{CampaignRow, Store};
use crate::monitor::source::{DropStats, FrameSource, Pull, SourceError};
use leakypick_core::net::Mac;
use leakypick_core::wakefuzz::{Design, JudgeConfig};
use leakypick_core::DeviceKey;
use leakypick_core::{LinkType, Timestamp};
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const S: i64 = Timestamp::NANOS_PER_SEC;
const MS: i64 = 1_000_000;

/// The simulated device.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub mac: Mac,
    pub ip: Ipv4Addr,
    /// Activation probability per word (lower case); others use `default_p`.
    pub probabilities: HashMap<String, f64>,
    pub default_p: f64,
    /// Onset after the end of the word: uniform in this range (seconds).
    pub latency_s: (f64, f64),
    /// Length of the upload after a wake (seconds).
    pub stream_s: f64,
}

impl SimDevice {
    /// An Echo-like device at `02:00:00:00:00:0a` that wakes on the listed words.
    pub fn new(probabilities: &[(&str, f64)]) -> SimDevice {
        SimDevice {
            mac: Mac([0x02, 0, 0, 0, 0, 0x0a]),
            ip: Ipv4Addr::new(192, 168, 1, 10),
            probabilities: probabilities
                .iter()
                .map(|(w, p)| (w.to_lowercase(), *p))
                .collect(),
            default_p: 0.0,
            latency_s: (0.3, 1.2),
            stream_s: 3.0,
        }
    }
}

/// One play of a word, as the simulated device took it (the ground truth).
#[derive(Debug, Clone, PartialEq)]
pub struct SimPlay {
    pub word: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub woke: bool,
}

struct State {
    now: i64,
    rng: u64,
    device: SimDevice,
    /// Frames due: (time, wire length).
    due: BinaryHeap<Reverse<(i64, u32)>>,
    next_small: i64,
    next_big: i64,
    playing: Option<(i64, i64)>,
    plays: Vec<SimPlay>,
    /// The speaker fails from this play on (a simulated crash).
    fail_at_play: Option<usize>,
}

impl State {
    fn random(&mut self) -> f64 {
        // SplitMix64.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn schedule_heartbeats(&mut self, until: i64) {
        while self.next_small <= until {
            self.due.push(Reverse((self.next_small, 300)));
            self.next_small += 20 * S;
        }
        while self.next_big <= until {
            // One 7 kB TLS record in five frames within 4 ms.
            for k in 0..5 {
                self.due.push(Reverse((self.next_big + k * MS, 1400)));
            }
            self.next_big += 180 * S;
        }
    }
}

/// The room: hands out the source, the speaker and the clock, which share its state.
#[derive(Clone)]
pub struct SimRoom {
    state: Rc<RefCell<State>>,
}

/// How long the source waits when nothing is due (like a live source's poll).
const POLL: i64 = 100 * MS;

impl SimRoom {
    /// A room starting at `start` with `device`, its randomness seeded by `seed`.
    pub fn new(device: SimDevice, seed: u64, start: Timestamp) -> SimRoom {
        SimRoom {
            state: Rc::new(RefCell::new(State {
                now: start.0,
                rng: seed,
                device,
                due: BinaryHeap::new(),
                next_small: start.0 + 2 * S,
                next_big: start.0 + 7 * S,
                playing: None,
                plays: Vec::new(),
                fail_at_play: None,
            })),
        }
    }

    /// The speaker fails when asked for play number `n` (0-based) and after.
    pub fn fail_at_play(&self, n: usize) {
        self.state.borrow_mut().fail_at_play = Some(n);
    }

    /// Every play so far, with whether the device woke.
    pub fn plays(&self) -> Vec<SimPlay> {
        self.state.borrow().plays.clone()
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.state.borrow().now)
    }

    pub fn source(&self) -> SimSource {
        SimSource {
            room: self.clone(),
            buf: Vec::new(),
        }
    }

    pub fn speaker(&self) -> SimSpeaker {
        SimSpeaker { room: self.clone() }
    }

    pub fn clock(&self) -> SimClock {
        SimClock { room: self.clone() }
    }
}

/// The device's frames as a [`FrameSource`].
pub struct SimSource {
    room: SimRoom,
    /// The bytes of the frame handed out last.
    buf: Vec<u8>,
}

impl FrameSource for SimSource {
    fn pull(&mut self) -> Result<Pull<'_>, SourceError> {
        let mut st = self.room.state.borrow_mut();
        let horizon = st.now + POLL;
        st.schedule_heartbeats(horizon);
        match st.due.peek().copied() {
            Some(Reverse((t, len))) if t <= horizon => {
                st.due.pop();
                st.now = st.now.max(t);
                let (mac, ip) = (st.device.mac, st.device.ip);
                drop(st);
                self.buf = frame_bytes(mac, ip, len);
                Ok(Pull::Frame(Frame {
                    ts: Timestamp(t),
                    wire_len: len,
                    link: LinkType::Ethernet,
                    data: &self.buf,
                }))
            }
            _ => {
                st.now = horizon;
                Ok(Pull::Idle {
                    now: Some(Timestamp(horizon)),
                })
            }
        }
    }

    fn drop_stats(&mut self) -> Option<DropStats> {
        None
    }

    fn name(&self) -> &str {
        "simroom"
    }
}

/// Ethernet + IPv4 headers of an upload from the device to a cloud address.
fn frame_bytes(mac: Mac, ip: Ipv4Addr, wire_len: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(34);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // the gateway
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = u16::try_from(wire_len.saturating_sub(14)).unwrap_or(u16::MAX);
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&[52, 94, 0, 10]);
    f
}

/// The room's speaker: a sound lasts its length; the device decides when it ends.
pub struct SimSpeaker {
    room: SimRoom,
}

impl Speaker for SimSpeaker {
    fn start(&mut self, sound: &Sound) -> Result<(), CampaignError> {
        let mut st = self.room.state.borrow_mut();
        if st.fail_at_play.is_some_and(|n| st.plays.len() >= n) {
            return Err(CampaignError::Play {
                word: sound.word.clone(),
                detail: "simulated crash".to_string(),
            });
        }
        // The player's start-up, then the sound.
        let start = st.now + 50 * MS;
        let end = start + (sound.seconds.max(0.1) * 1e9) as i64;
        let p = st
            .device
            .probabilities
            .get(&sound.word.to_lowercase())
            .copied()
            .unwrap_or(st.device.default_p);
        let woke = st.random() < p;
        if woke {
            let (lo, hi) = st.device.latency_s;
            let latency = lo + (hi - lo) * st.random();
            let onset = end + (latency * 1e9) as i64;
            let stop = onset + (st.device.stream_s * 1e9) as i64;
            // 64 kbit/s: a 400-byte frame every 50 ms.
            let mut t = onset;
            while t < stop {
                st.due.push(Reverse((t, 400)));
                t += 50 * MS;
            }
        }
        st.plays.push(SimPlay {
            word: sound.word.clone(),
            start: Timestamp(start),
            end: Timestamp(end),
            woke,
        });
        st.playing = Some((start, end));
        Ok(())
    }

    fn poll(&mut self) -> Option<Result<(Timestamp, Timestamp), CampaignError>> {
        let mut st = self.room.state.borrow_mut();
        match st.playing {
            Some((start, end)) if st.now >= end => {
                st.playing = None;
                Some(Ok((Timestamp(start), Timestamp(end))))
            }
            _ => None,
        }
    }
}

/// The room's virtual clock.
pub struct SimClock {
    room: SimRoom,
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        self.room.now()
    }

    fn sleep(&self, d: Duration) {
        let mut st = self.room.state.borrow_mut();
        st.now += i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    }

    fn local_minute(&self) -> u16 {
        let now = self.room.state.borrow().now;
        u16::try_from(now.div_euclid(60 * S).rem_euclid(1440)).unwrap_or(0)
    }
}

/// The parameters of a campaign in the simulated room: voices `slt` and `rms`, 3
/// calibration plays, a 1 s latency margin, the default judge; no candidate selection.
pub fn sim_params(design: Design, mac: Mac) -> Params {
    Params {
        device: DeviceKey::Mac(mac),
        wake_word: "alexa".into(),
        design,
        judge: JudgeConfig::default(),
        max_latency_given: None,
        latency_margin_s: 1.0,
        calibrate: 3,
        voices: vec!["slt".into(), "rms".into()],
        rates: vec![1.0],
        settle_s: 1.0,
        quiet_wait_s: 60.0,
        max_stream_s: 30.0,
        seen_wait_s: 30.0,
        tts: "flite".into(),
        selection: SelectionParams::default(),
    }
}

/// A whole simulated campaign into `store`: the device wakes on each of `words` with
/// its probability (and on `alexa` always); voices `slt` and `rms`, 3 calibration
/// plays, words of 0.8 s, starting at `start`. With `crash_at`, the speaker fails at
/// that play (the run ends with the error, the campaign stays `running`). `on_attempt`
/// is called after each stored attempt with the number stored by this run. Returns the
/// campaign's id and how the run ended.
pub fn simulate_campaign(
    store: &mut Store,
    design: Design,
    seed: u64,
    words: &[(&str, f64, usize)],
    start: Timestamp,
    crash_at: Option<usize>,
    on_attempt: &mut dyn FnMut(usize),
) -> Result<(i64, RunEnd), CampaignError> {
    let device = simulated_device(words);
    let mut params = sim_params(design, device.mac);
    params.selection.words = words.iter().map(|(w, _, _)| w.to_string()).collect();
    let list: Vec<Word> = words
        .iter()
        .map(|(w, _, d)| Word {
            word: w.to_string(),
            phonemes: None,
            source: "words".into(),
            distance: *d,
        })
        .collect();
    let id = store.create_campaign(&CampaignRow {
        id: 0,
        device: params.device.to_string(),
        wake_word: params.wake_word.clone(),
        design: params.design.name().into(),
        params: json_text(&params_json(&params)),
        candidates: json_text(&words_json(&list)),
        created: start,
        updated: start,
        state: "running".into(),
    })?;
    let mut campaign = Campaign::rebuild(id, params, list, &[]);
    let end = run_simulated(
        store,
        &mut campaign,
        device,
        seed,
        start,
        crash_at,
        on_attempt,
    )?;
    Ok((id, end))
}

/// Resumes campaign `id` of `store` (written by [`simulate_campaign`] with the same
/// `words`) in a new simulated room from `start`: its state comes from its stored
/// attempts only.
pub fn resume_simulated(
    store: &mut Store,
    id: i64,
    seed: u64,
    words: &[(&str, f64, usize)],
    start: Timestamp,
    on_attempt: &mut dyn FnMut(usize),
) -> Result<RunEnd, CampaignError> {
    let row = store.campaign(id)?.ok_or_else(|| CampaignError::Play {
        word: String::new(),
        detail: format!("no campaign {id} to resume"),
    })?;
    let bad = |what: &str| CampaignError::Play {
        word: String::new(),
        detail: format!("campaign {id} has unreadable {what}"),
    };
    let params = super::render::parse_params(&row.params).ok_or_else(|| bad("parameters"))?;
    let list = super::render::parse_words(&row.candidates).ok_or_else(|| bad("candidates"))?;
    let rows = store.campaign_attempts(id)?;
    let mut campaign = Campaign::rebuild(id, params, list, &rows);
    run_simulated(
        store,
        &mut campaign,
        simulated_device(words),
        seed,
        start,
        None,
        on_attempt,
    )
}

fn simulated_device(words: &[(&str, f64, usize)]) -> SimDevice {
    let mut probs: Vec<(&str, f64)> = vec![("alexa", 1.0)];
    probs.extend(words.iter().map(|(w, p, _)| (*w, *p)));
    SimDevice::new(&probs)
}

fn run_simulated(
    store: &mut Store,
    campaign: &mut Campaign,
    device: SimDevice,
    seed: u64,
    start: Timestamp,
    crash_at: Option<usize>,
    on_attempt: &mut dyn FnMut(usize),
) -> Result<RunEnd, CampaignError> {
    let mut book = SoundBook::default();
    for v in 0..campaign.params.voicings().len() {
        for w in campaign
            .words
            .iter()
            .map(|w| w.word.as_str())
            .chain([campaign.params.wake_word.as_str()])
        {
            book.insert(Sound {
                word: w.to_string(),
                voicing: v,
                wav: PathBuf::from(format!("{w}.wav")),
                seconds: 0.8,
            });
        }
    }
    let room = SimRoom::new(device, seed, start);
    if let Some(n) = crash_at {
        room.fail_at_play(n);
    }
    let mut source = room.source();
    let mut speaker = room.speaker();
    let clock = room.clock();
    let mut io = Io {
        source: &mut source,
        speaker: &mut speaker,
        clock: &clock,
    };
    check_seen(&mut io, &campaign.params)?;
    let mut stored = 0;
    let id = campaign.id;
    let end = run(
        &mut io,
        store,
        campaign,
        &book,
        &AtomicBool::new(false),
        &mut |e| {
            if let super::CampaignEvent::Attempt { .. } = e {
                stored += 1;
                on_attempt(stored);
            }
        },
    )?;
    if end == RunEnd::Done {
        store.set_campaign_state(id, "done")?;
    }
    Ok(end)
}
