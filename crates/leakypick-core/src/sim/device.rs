//! One simulated device: its processes, the episodes they schedule, and the heap of
//! frames expanded but not yet emitted.
//!
//! A device emits its frames in time order by expanding an episode only when no pending
//! frame is earlier than the episode's start: every frame of an episode is at or after
//! its start, so nothing expanded later can come before what was emitted.

use super::frame::{self, Addresses, Flow, What, FLAG_FIN, FLAG_SYN};
use super::model::{self, CameraModel, IdleModel, Periodic, Step, VoiceModel};
use super::rng::Rng;
use super::{Activation, DeviceKind, Schedule, SimConfig, SimDevice};
use crate::net::Mac;
use crate::time::Timestamp;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

const NS: f64 = 1e9;

fn ns(secs: f64) -> i64 {
    (secs * NS).round() as i64
}

/// The flows (connections) of each kind of device, by index.
const VOICE_FLOW: u8 = 0;
const PING_FLOW: u8 = 1;
const MEDIUM_FLOW: u8 = 2;
const LARGE_FLOW: u8 = 3;
const CLIP_FLOW: u8 = 0;
const HEARTBEAT_FLOW: u8 = 0;
const NTP_FLOW: u8 = 1;

#[derive(Debug, Clone, Copy)]
enum Model {
    Voice(&'static VoiceModel),
    Camera(&'static CameraModel),
    Idle(&'static IdleModel),
}

/// A frame waiting to be emitted, ordered by time and then by the order it was made in.
#[derive(Debug, Clone, Copy)]
struct Pending {
    ts: i64,
    order: u64,
    wire_len: u16,
    what: What,
    starts_label: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.order) == (other.ts, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ts, self.order).cmp(&(other.ts, other.order))
    }
}

#[derive(Debug, Clone, Copy)]
enum Episode {
    /// A fixed exchange on a TCP flow; every `double_every`-th one is repeated.
    Steps {
        steps: &'static [Step],
        flow: u8,
        double_every: u64,
        double_gap_s: (f64, f64),
    },
    EchoLarge,
    Dhcp,
    Arp,
    Ntp,
}

#[derive(Debug, Clone)]
enum Job {
    Periodic(Periodic, Episode),
    Poisson(f64, Episode),
    /// Activations: a Poisson process whose gaps are `min_gap` plus an exponential with
    /// mean `extra_mean_s`, or explicit times.
    Rate {
        extra_mean_s: f64,
    },
    Times {
        times: Vec<i64>,
        next: usize,
    },
}

#[derive(Debug, Clone)]
struct Process {
    /// Absolute time of the next episode; `i64::MAX` when there is none.
    next: i64,
    rng: Rng,
    job: Job,
    count: u64,
}

/// Stream tags for [`Rng::stream`]: one per process, fixed forever.
const TAG_SETUP: u64 = 0;
const TAG_ACTIVATION: u64 = 1;
const TAG_SMALL: u64 = 2;
const TAG_MEDIUM: u64 = 3;
const TAG_LARGE: u64 = 4;
const TAG_DHCP: u64 = 5;
const TAG_ARP: u64 = 6;
const TAG_NTP: u64 = 7;

pub(crate) struct DeviceGen {
    pub(crate) info: SimDevice,
    model: Model,
    addr: Addresses,
    flows: Vec<Flow>,
    ip_id: u16,
    next_port: u16,
    processes: Vec<Process>,
    pending: BinaryHeap<Reverse<Pending>>,
    order: u64,
    /// Labels of expanded activations whose first frame has not been emitted yet.
    labels: VecDeque<Activation>,
    /// The episode being expanded, before it goes into `pending`.
    scratch: Vec<Pending>,
    start: i64,
    end: i64,
    min_gap: i64,
    /// When the device's last activation (with everything it caused) is over.
    busy_until: i64,
}

impl DeviceGen {
    /// Device number `number` (from 1) of its kind.
    pub(crate) fn new(
        info: SimDevice,
        number: u32,
        schedule: &Schedule,
        config: &SimConfig,
    ) -> DeviceGen {
        let model = match info.kind {
            DeviceKind::Echo => Model::Voice(&model::ECHO),
            DeviceKind::EchoDot => Model::Voice(&model::ECHO_DOT),
            DeviceKind::Camera => Model::Camera(&model::CAMERA),
            DeviceKind::Hub => Model::Idle(&model::HUB),
            DeviceKind::Plug => Model::Idle(&model::PLUG),
        };
        let kind_tag = DeviceKind::ALL
            .iter()
            .position(|&k| k == info.kind)
            .unwrap_or(0) as u64;
        let stream = |tag: u64| Rng::stream(config.seed, &[kind_tag, u64::from(number), tag]);
        let mut setup = stream(TAG_SETUP);
        let start = config.start.0;
        let end = start.saturating_add(config.duration_ns);
        let hostname = match model {
            Model::Camera(_) => Some(format!(
                "{}-mysimplelink",
                info.mac.to_string().replace(':', "").to_uppercase()
            )),
            _ => None,
        };
        let addr = Addresses {
            mac: info.mac,
            ip: info.ip,
            gateway_mac: Mac(model::GATEWAY_MAC),
            gateway_ip: model::GATEWAY_IP,
            hostname,
        };
        let mut dev = DeviceGen {
            info,
            model,
            addr,
            flows: Vec::new(),
            ip_id: setup.next_u64() as u16,
            next_port: 32768 + setup.below(24000) as u16,
            processes: Vec::new(),
            pending: BinaryHeap::new(),
            order: 0,
            labels: VecDeque::new(),
            scratch: Vec::new(),
            start,
            end,
            min_gap: config.min_gap_ns.max(0),
            busy_until: start,
        };
        // The first episode of a periodic process falls anywhere in its first period,
        // so that devices of one kind do not beat in step.
        let periodic = |dev: &DeviceGen, tag: u64, p: Periodic, ep: Episode| {
            let mut rng = stream(tag);
            let next = dev.start + ns(rng.uniform(0.0, p.period_s));
            Process {
                next,
                rng,
                job: Job::Periodic(p, ep),
                count: 0,
            }
        };
        match model {
            Model::Voice(m) => {
                let _ = dev.new_flow(&mut setup, m.voice_cloud, 443, false);
                let _ = dev.new_flow(&mut setup, m.ping_cloud, 443, false);
                let _ = dev.new_flow(&mut setup, m.ping_cloud, 443, false);
                let _ = dev.new_flow(&mut setup, m.ping_cloud, 443, false);
                let small = Episode::Steps {
                    steps: m.small_steps,
                    flow: PING_FLOW,
                    double_every: 0,
                    double_gap_s: (0.0, 0.0),
                };
                let medium = Episode::Steps {
                    steps: m.medium_steps,
                    flow: MEDIUM_FLOW,
                    double_every: 0,
                    double_gap_s: (0.0, 0.0),
                };
                let procs = [
                    periodic(&dev, TAG_SMALL, m.small, small),
                    periodic(&dev, TAG_MEDIUM, m.medium, medium),
                    periodic(&dev, TAG_LARGE, m.large, Episode::EchoLarge),
                ];
                dev.processes.extend(procs);
            }
            Model::Camera(m) => {
                let cloud = m.clip_clouds[0];
                let _ = dev.new_flow(&mut setup, cloud, 443, false);
            }
            Model::Idle(m) => {
                let _ = dev.new_flow(&mut setup, m.cloud, 443, m.tcp_timestamps);
                if !m.ntp_servers.is_empty() {
                    let server = setup.pick(m.ntp_servers);
                    let _ = dev.new_flow(&mut setup, server, 123, false);
                }
                let heartbeat = Episode::Steps {
                    steps: m.heartbeat_steps,
                    flow: HEARTBEAT_FLOW,
                    double_every: m.double_every,
                    double_gap_s: m.double_gap_s,
                };
                let p = periodic(&dev, TAG_SMALL, m.heartbeat, heartbeat);
                dev.processes.push(p);
                if let Some(d) = m.dhcp {
                    let p = periodic(&dev, TAG_DHCP, d, Episode::Dhcp);
                    dev.processes.push(p);
                }
                if let Some(a) = m.arp {
                    let p = periodic(&dev, TAG_ARP, a, Episode::Arp);
                    dev.processes.push(p);
                }
                if let Some(mean) = m.ntp_mean_s {
                    let mut rng = stream(TAG_NTP);
                    let next = start + ns(rng.exponential(mean));
                    dev.processes.push(Process {
                        next,
                        rng,
                        job: Job::Poisson(mean, Episode::Ntp),
                        count: 0,
                    });
                }
            }
        }
        if dev.info.kind.activation_kind().is_some() {
            let rate = match schedule {
                Schedule::Default => Some(dev.info.kind.default_rate_per_hour()),
                Schedule::PerHour(r) => Some(*r),
                Schedule::At(_) => None,
            };
            let mut rng = stream(TAG_ACTIVATION);
            let process = match (rate, schedule) {
                (Some(r), _) if r > 0.0 => {
                    let extra_mean_s = 3600.0 / r - dev.min_gap as f64 / NS;
                    let next = start + ns(rng.exponential(3600.0 / r));
                    Some(Process {
                        next,
                        rng,
                        job: Job::Rate { extra_mean_s },
                        count: 0,
                    })
                }
                (None, Schedule::At(times)) => {
                    let mut times: Vec<i64> = times.iter().map(|t| start + t).collect();
                    times.sort_unstable();
                    let first = times.first().copied();
                    first.map(|next| Process {
                        next,
                        rng,
                        job: Job::Times { times, next: 1 },
                        count: 0,
                    })
                }
                _ => None,
            };
            dev.processes.extend(process);
        }
        dev
    }

    fn new_flow(
        &mut self,
        rng: &mut Rng,
        remote_ip: [u8; 4],
        remote_port: u16,
        ts_option: bool,
    ) -> u8 {
        let local_port = self.take_port();
        self.flows.push(Flow {
            remote_ip,
            remote_port,
            local_port,
            ts_option,
            seq_up: rng.next_u64() as u32,
            seq_down: rng.next_u64() as u32,
        });
        (self.flows.len() - 1) as u8
    }

    fn take_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p >= 60999 { 32768 } else { p + 1 };
        p
    }

    /// Time of the next frame, expanding episodes as needed; `None` when the device is done.
    pub(crate) fn peek_ts(&mut self) -> Option<i64> {
        loop {
            let due = self
                .processes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.next < self.end)
                .min_by_key(|(i, p)| (p.next, *i))
                .map(|(i, p)| (i, p.next));
            let head = self.pending.peek().map(|Reverse(p)| p.ts);
            match (due, head) {
                (Some((i, t)), Some(h)) if t < h => self.run(i),
                (Some((i, _)), None) => self.run(i),
                (_, Some(h)) => return Some(h),
                (None, None) => return None,
            }
        }
    }

    /// Emits the next frame into `buf`: its time, wire length, and the label it starts.
    pub(crate) fn pop(&mut self, buf: &mut Vec<u8>) -> Option<(i64, u16, Option<Activation>)> {
        self.peek_ts()?;
        let Reverse(p) = self.pending.pop()?;
        frame::render(
            buf,
            &self.addr,
            &mut self.flows,
            &mut self.ip_id,
            p.what,
            usize::from(p.wire_len),
            p.ts,
        );
        let label = if p.starts_label {
            self.labels.pop_front()
        } else {
            None
        };
        Some((p.ts, p.wire_len, label))
    }

    /// Expands the due episode of process `i` and schedules the process's next one.
    fn run(&mut self, i: usize) {
        let mut proc = self.processes[i].clone();
        let t = proc.next;
        self.scratch.clear();
        match proc.job.clone() {
            Job::Periodic(p, ep) => {
                self.episode(&mut proc.rng, ep, t, proc.count);
                proc.next = t + ns(p.period_s + proc.rng.uniform(-p.jitter_s, p.jitter_s));
            }
            Job::Poisson(mean, ep) => {
                self.episode(&mut proc.rng, ep, t, proc.count);
                proc.next = t + ns(proc.rng.exponential(mean)).max(1);
            }
            Job::Rate { extra_mean_s } => {
                // After one activation that does not fit before the end, none will.
                if self.activation(&mut proc.rng, t) {
                    proc.next = self.busy_until
                        + self.min_gap
                        + ns(proc.rng.exponential(extra_mean_s.max(0.0)));
                } else {
                    proc.next = i64::MAX;
                }
            }
            Job::Times { times, next } => {
                // An activation that does not fit before the end is left out; a later,
                // shorter one may still fit, so the next time is tried all the same.
                self.activation(&mut proc.rng, t);
                proc.next = match times.get(next) {
                    Some(&at) => at.max(self.busy_until + ns(1.0)),
                    None => i64::MAX,
                };
                proc.job = Job::Times {
                    times,
                    next: next + 1,
                };
            }
        }
        proc.count += 1;
        self.processes[i] = proc;
        self.commit();
    }

    /// Moves the expanded episode into the pending heap, dropping frames past the end.
    fn commit(&mut self) {
        for mut p in self.scratch.drain(..) {
            if p.ts >= self.end || p.ts < self.start {
                continue;
            }
            p.order = self.order;
            self.order += 1;
            self.pending.push(Reverse(p));
        }
    }

    fn push(&mut self, ts: i64, len: u16, what: What) {
        let min = frame::min_len(what, &self.flows) as u16;
        self.scratch.push(Pending {
            ts,
            order: 0,
            wire_len: len.max(min),
            what,
            starts_label: false,
        });
    }

    fn tcp(&mut self, ts: i64, flow: u8, up: bool, len: u16) {
        self.push(ts, len, What::Tcp { flow, up, flags: 0 });
    }

    fn steps(&mut self, rng: &mut Rng, flow: u8, steps: &[Step], t: i64) {
        // One factor for the whole exchange: round-trip times vary, the order stays.
        let stretch = rng.uniform(0.8, 1.25);
        for s in steps {
            self.tcp(t + ns(s.at_ms / 1000.0 * stretch), flow, s.up, s.len);
        }
    }

    fn episode(&mut self, rng: &mut Rng, ep: Episode, t: i64, count: u64) {
        match ep {
            Episode::Steps {
                steps,
                flow,
                double_every,
                double_gap_s,
            } => {
                self.steps(rng, flow, steps, t);
                if double_every > 0 && count % double_every == double_every - 1 {
                    let again = t + ns(rng.uniform(double_gap_s.0, double_gap_s.1));
                    self.steps(rng, flow, steps, again);
                }
            }
            Episode::EchoLarge => {
                if let Model::Voice(m) = self.model {
                    let up_end = self.upload(
                        rng,
                        LARGE_FLOW,
                        t,
                        f64::from(m.large_upload_bytes),
                        m.large_upload_s,
                        &[],
                    );
                    let bps = rng.uniform(2e6, 8e6);
                    self.download(
                        rng,
                        LARGE_FLOW,
                        up_end + ns(0.1),
                        m.large_download_bytes,
                        bps,
                    );
                }
            }
            Episode::Dhcp => {
                if let Model::Idle(m) = self.model {
                    let what = What::Dhcp {
                        up: true,
                        broadcast: false,
                    };
                    self.push(t, m.dhcp_request_len, what);
                    let reply = What::Dhcp {
                        up: false,
                        broadcast: false,
                    };
                    self.push(t + ns(rng.uniform(0.2, 0.25)), m.dhcp_reply_len, reply);
                }
            }
            Episode::Arp => {
                self.push(t, 42, What::Arp { up: true });
                self.push(
                    t + ns(rng.uniform(0.001, 0.004)),
                    60,
                    What::Arp { up: false },
                );
            }
            Episode::Ntp => {
                let up = What::Udp {
                    flow: NTP_FLOW,
                    up: true,
                    ntp: true,
                };
                let down = What::Udp {
                    flow: NTP_FLOW,
                    up: false,
                    ntp: true,
                };
                self.push(t, 90, up);
                self.push(t + ns(rng.uniform(0.02, 0.04)), 90, down);
            }
        }
    }

    /// Uploads `bytes` in full frames on `flow` over `secs`, starting with the `first`
    /// frames; the server acknowledges every second frame. Returns the last frame's time.
    fn upload(
        &mut self,
        rng: &mut Rng,
        flow: u8,
        t: i64,
        bytes: f64,
        secs: f64,
        first: &[u16],
    ) -> i64 {
        let mut lens: Vec<u16> = first.to_vec();
        let mut left = bytes - lens.iter().map(|&l| f64::from(l)).sum::<f64>();
        while left > 0.0 {
            let l = left.clamp(60.0, 1514.0);
            lens.push(l as u16);
            left -= l;
        }
        let n = lens.len();
        let mut last = t;
        for (k, len) in lens.into_iter().enumerate() {
            let at = if n > 1 {
                t + ns(secs * k as f64 / (n - 1) as f64)
            } else {
                t
            };
            self.tcp(at, flow, true, len);
            if k % 2 == 1 {
                self.tcp(at + ns(rng.uniform(0.01, 0.03)), flow, false, 60);
            }
            last = at;
        }
        last
    }

    /// The server sends `bytes` on `flow` from `t` at about `bps`; the device acknowledges
    /// every second frame. Returns the last frame's time.
    fn download(&mut self, rng: &mut Rng, flow: u8, t: i64, bytes: u32, bps: f64) -> i64 {
        let mut left = i64::from(bytes);
        let mut at = t;
        let mut k = 0;
        while left > 0 {
            let len = left.clamp(60, 1514);
            self.tcp(at, flow, false, len as u16);
            if k % 2 == 1 {
                self.tcp(at + ns(rng.uniform(0.0005, 0.002)), flow, true, 54);
            }
            left -= len;
            k += 1;
            at += ns(len as f64 * 8.0 / bps * rng.uniform(0.5, 1.5));
        }
        at
    }

    /// Expands one activation at `t`. Returns false (and expands nothing) when it would
    /// not end before the simulation does, so every label is complete.
    fn activation(&mut self, rng: &mut Rng, t: i64) -> bool {
        let (label_end, last) = match self.model {
            Model::Voice(m) => self.voice(rng, m, t),
            Model::Camera(m) => self.clip(rng, m, t),
            Model::Idle(_) => return false,
        };
        if last >= self.end {
            self.scratch.clear();
            return false;
        }
        // The episode's first frame (made first, at `t`) carries the label.
        if let Some(first) = self.scratch.first_mut() {
            first.starts_label = true;
        }
        self.labels.push_back(Activation {
            mac: self.info.mac,
            start: Timestamp(t),
            end: Timestamp(label_end),
            kind: self
                .info
                .kind
                .activation_kind()
                .unwrap_or(super::ActivationKind::Voice),
        });
        self.busy_until = last;
        true
    }

    /// A voice interaction: pre-roll, audio, the cloud's answer, the events after it, and
    /// sometimes a follow-up upload. Returns (label end, last frame).
    fn voice(&mut self, rng: &mut Rng, m: &VoiceModel, t: i64) -> (i64, i64) {
        let f = VOICE_FLOW;
        let n = m.preroll.len();
        for (k, &len) in m.preroll.iter().enumerate() {
            let at = if k == 0 {
                t
            } else {
                t + ns(m.preroll_s * (k as f64 + rng.uniform(-0.3, 0.3)) / n as f64)
            };
            self.tcp(at, f, true, len);
            if k % 2 == 1 {
                self.tcp(at + ns(rng.uniform(0.005, 0.015)), f, false, 60);
            }
        }
        let audio_start = t + ns(m.preroll_s);
        let span = ns(rng.pick(m.utterance_s) * rng.uniform(0.9, 1.1));
        let mut at = audio_start;
        let mut last_audio = audio_start;
        while at <= audio_start + span {
            self.tcp(at, f, true, m.audio_frame_len);
            self.tcp(at + ns(rng.uniform(0.005, 0.02)), f, false, 60);
            last_audio = at;
            let gap = m.audio_interval_s * rng.uniform(1.0 - m.audio_jitter, 1.0 + m.audio_jitter);
            at += ns(gap);
        }
        let mut label_end = last_audio;
        let answer = (f64::from(rng.pick(m.response_bytes)) * rng.uniform(0.9, 1.1)) as u32;
        let bps = rng.uniform(m.response_bps.0, m.response_bps.1);
        let r0 = last_audio + ns(rng.uniform(m.response_delay_s.0, m.response_delay_s.1));
        let r1 = self.download(rng, f, r0, answer, bps);
        let mut after = r1 + ns(rng.uniform(0.05, 0.2));
        for &len in m.after_response {
            self.tcp(after, f, true, len);
            label_end = label_end.max(after);
            after += ns(rng.uniform(0.0005, 0.002));
        }
        self.tcp(after + ns(rng.uniform(0.02, 0.05)), f, false, 60);
        let mut last = after + ns(0.05);
        if rng.chance(m.followup_probability) {
            let f0 = (last_audio + ns(rng.uniform(m.followup_delay_s.0, m.followup_delay_s.1)))
                .max(last + ns(0.05));
            let bytes = rng.uniform(m.followup_bytes.0, m.followup_bytes.1);
            let secs = rng.uniform(m.followup_s.0, m.followup_s.1);
            let f1 = self.upload(rng, f, f0, bytes, secs, &[286, 190]);
            label_end = label_end.max(f1);
            last = f1 + ns(0.05);
        }
        (label_end, last)
    }

    /// A motion clip: wake-up on the LAN, a new TLS connection, the clip in flights, the
    /// server's closing record and the connection's close. Returns (label end, last frame).
    fn clip(&mut self, rng: &mut Rng, m: &CameraModel, t: i64) -> (i64, i64) {
        for (k, &len) in m.wake_eapol.iter().enumerate() {
            self.push(t + ns(0.005 * k as f64), len, What::Eapol);
        }
        let dhcp_at = t + ns(rng.uniform(0.25, 0.35));
        let request = What::Dhcp {
            up: true,
            broadcast: true,
        };
        self.push(dhcp_at, m.dhcp_request_len, request);
        let reply = What::Dhcp {
            up: false,
            broadcast: true,
        };
        self.push(dhcp_at + ns(rng.uniform(0.2, 0.3)), m.dhcp_reply_len, reply);

        // A new connection for every clip, to one of the measured endpoints.
        let port = self.take_port();
        let cloud = rng.pick(m.clip_clouds);
        if let Some(flow) = self.flows.get_mut(usize::from(CLIP_FLOW)) {
            flow.local_port = port;
            flow.remote_ip = cloud;
            flow.seq_up = rng.next_u64() as u32;
            flow.seq_down = rng.next_u64() as u32;
        }
        let u0 = t + ns(rng.uniform(m.wake_lead_s.0, m.wake_lead_s.1));
        for (k, s) in m.handshake.iter().enumerate() {
            let flags = if k < 2 { FLAG_SYN } else { 0 };
            let what = What::Tcp {
                flow: CLIP_FLOW,
                up: s.up,
                flags,
            };
            self.push(u0 + ns(s.at_ms / 1000.0), s.len, what);
        }
        let d0 = u0 + ns(0.2);
        let (bytes, secs) = rng.pick(m.clips);
        let bytes = f64::from(bytes) * rng.uniform(0.95, 1.05);
        let secs = secs * rng.uniform(0.95, 1.05);
        let frames = (bytes / f64::from(m.clip_frame_len)).ceil().max(1.0) as usize;
        // Flight sizes first, so the flights can be spread evenly over the clip's time.
        let mut flights = Vec::new();
        let mut left = frames;
        while left > 0 {
            let k = (m.flight_frames.0 + rng.below(m.flight_frames.1 - m.flight_frames.0 + 1))
                .min(left);
            flights.push(k);
            left -= k;
        }
        let mut sent = 0.0;
        let mut last_data = d0;
        let per_flight = secs / (flights.len().max(2) - 1) as f64;
        for (j, &k) in flights.iter().enumerate() {
            let f0 = d0 + ns(per_flight * j as f64);
            for i in 0..k {
                let len = (bytes - sent).clamp(60.0, f64::from(m.clip_frame_len));
                let at = f0 + ns(0.0003 * i as f64);
                self.tcp(at, CLIP_FLOW, true, len as u16);
                if i % 2 == 1 || i + 1 == k {
                    self.tcp(at + ns(rng.uniform(0.02, 0.04)), CLIP_FLOW, false, 60);
                }
                sent += len;
                last_data = at;
            }
        }
        let close = last_data + ns(rng.uniform(m.close_delay_s.0, m.close_delay_s.1));
        self.tcp(close, CLIP_FLOW, false, m.close_len);
        let fin = |up| What::Tcp {
            flow: CLIP_FLOW,
            up,
            flags: FLAG_FIN,
        };
        self.push(close + ns(0.002), 60, fin(true));
        self.push(close + ns(0.035), 60, fin(false));
        self.tcp(close + ns(0.036), CLIP_FLOW, true, 60);
        (last_data, close + ns(0.036))
    }
}
