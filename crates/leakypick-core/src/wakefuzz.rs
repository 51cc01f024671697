//! Wake-word fuzzing (issue 11): judging one spoken attempt from the device's traffic,
//! and the designs that decide how often each candidate word is spoken.
//!
//! The paper (section 5.5) played every word 10 times and watched the light ring for a
//! fixed wait. Here an attempt is judged from the device's uploads alone
//! ([`AttemptJudge`]), and the wait ends as soon as the traffic decides: an upload onset
//! (the upload rate above a threshold in `onset_slots` consecutive short slots, so a
//! lone heartbeat burst never counts), or `word end + max_latency` passed without one.
//! [`Design::Sequential`] then spends attempts where they tell something: a word is
//! screened with a few attempts and dropped at its first "no" streak, and only words
//! that ever woke the device are re-tested until the confidence interval of their
//! activation probability is narrow enough.
//!
//! Time comes only from packet timestamps and from the times the caller passes in
//! (when the word was played, the time it asks about); nothing here reads a clock.

use crate::inventory::{is_upload, DestinationScope, DeviceKey};
use crate::time::Timestamp;
use crate::Packet;

/// How an attempt is judged from the device's uploads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeConfig {
    /// Length of one rate slot, in nanoseconds (default 0.25 s).
    pub slot_nanos: i64,
    /// Upload rate (bits per second) a slot must reach to count as streaming
    /// (default the product's 23 kbit/s, the paper's threshold).
    pub threshold_bps: f64,
    /// Consecutive streaming slots that make an onset (default 3: 0.75 s). A heartbeat
    /// (one TLS burst of a few kB in a few milliseconds) fills at most two slots.
    pub onset_slots: u32,
    /// How long after the end of the word an onset may start and still be this
    /// attempt's; after that, with no onset, the attempt is decided "no".
    pub max_latency_nanos: i64,
    /// Quiet slots after which an upload counts as ended (default 6: 1.5 s).
    pub end_slots: u32,
    /// Which destinations count as uploads (cloud only, by default).
    pub scope: DestinationScope,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        JudgeConfig {
            slot_nanos: Timestamp::NANOS_PER_SEC / 4,
            threshold_bps: 23_000.0,
            onset_slots: 3,
            max_latency_nanos: 4 * Timestamp::NANOS_PER_SEC,
            end_slots: 6,
            scope: DestinationScope::Cloud,
        }
    }
}

impl JudgeConfig {
    /// Bytes a slot must carry to reach the threshold rate.
    fn slot_bytes(&self) -> f64 {
        self.threshold_bps / 8.0 * (self.slot_nanos as f64 / 1e9)
    }

    /// Checks the parameters, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), JudgeConfigError> {
        if self.slot_nanos < 1_000_000 {
            return Err(JudgeConfigError::Slot);
        }
        if !self.threshold_bps.is_finite() || self.threshold_bps <= 0.0 {
            return Err(JudgeConfigError::Threshold);
        }
        if self.onset_slots == 0 {
            return Err(JudgeConfigError::OnsetSlots);
        }
        if self.max_latency_nanos < 0 {
            return Err(JudgeConfigError::MaxLatency);
        }
        if self.end_slots == 0 {
            return Err(JudgeConfigError::EndSlots);
        }
        Ok(())
    }
}

/// A [`JudgeConfig`] parameter that makes no sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JudgeConfigError {
    #[error("the slot must be at least 1 ms long")]
    Slot,
    #[error("the threshold must be a positive rate")]
    Threshold,
    #[error("an onset needs at least one slot")]
    OnsetSlots,
    #[error("the maximum latency cannot be negative")]
    MaxLatency,
    #[error("an upload ends after at least one quiet slot")]
    EndSlots,
}

/// What the traffic says about an attempt so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An upload started after the word began: the device woke. `onset` is the first
    /// upload frame of the streaming run; `latency_nanos` is `onset - play end` (negative
    /// when the device streamed before the player finished).
    Woke {
        onset: Timestamp,
        latency_nanos: i64,
    },
    /// `play end + max_latency` passed with no onset: the device did not wake.
    Quiet,
    /// Not decided yet: keep capturing.
    Undecided,
}

/// What the device uploaded during an attempt after its onset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadMeasure {
    /// The last upload frame of the stream, once it ended (`end_slots` quiet slots).
    pub end: Option<Timestamp>,
    /// Upload bytes (wire lengths) and frames from the onset on.
    pub bytes: u64,
    pub packets: u64,
}

/// Judges one attempt from one device's frames, fed in time order.
///
/// The judge starts before the word is played (its `origin`), so that it also knows
/// whether the device is quiet: the caller waits for [`AttemptJudge::quiet_for`] before
/// playing. Slots are aligned to the origin. A streaming run that began before the word
/// started (a stream still running from the previous attempt) is never this attempt's
/// onset: only a run that starts at or after `play start` counts.
#[derive(Debug, Clone)]
pub struct AttemptJudge {
    cfg: JudgeConfig,
    device: DeviceKey,
    origin: Timestamp,
    play_start: Option<Timestamp>,
    play_end: Option<Timestamp>,
    /// Index of the slot being filled, its bytes and its first upload frame.
    slot: i64,
    slot_bytes: u64,
    slot_packets: u64,
    slot_first: Option<Timestamp>,
    slot_last: Option<Timestamp>,
    /// The streaming run the closed slots end with: length, first frame, bytes, frames.
    run: u32,
    run_first: Option<Timestamp>,
    run_bytes: u64,
    run_packets: u64,
    /// Closed slots since the last streaming slot (all closed slots when none yet).
    quiet_slots: i64,
    /// Any frame of the device seen (sent or received).
    seen: bool,
    onset: Option<Timestamp>,
    measure: UploadMeasure,
    last_stream_frame: Option<Timestamp>,
}

impl AttemptJudge {
    /// A judge for `device`, observing from `origin` on.
    pub fn new(cfg: JudgeConfig, device: DeviceKey, origin: Timestamp) -> Self {
        AttemptJudge {
            cfg,
            device,
            origin,
            play_start: None,
            play_end: None,
            slot: 0,
            slot_bytes: 0,
            slot_packets: 0,
            slot_first: None,
            slot_last: None,
            run: 0,
            run_first: None,
            run_bytes: 0,
            run_packets: 0,
            quiet_slots: 0,
            seen: false,
            onset: None,
            measure: UploadMeasure::default(),
            last_stream_frame: None,
        }
    }

    /// The word started playing at `start` (the player's start).
    pub fn set_play_start(&mut self, start: Timestamp) {
        self.play_start = Some(start);
    }

    /// The player finished at `end`.
    pub fn set_play_end(&mut self, end: Timestamp) {
        self.play_end = Some(end);
    }

    /// Whether a frame sent or received by the device was seen.
    pub fn device_seen(&self) -> bool {
        self.seen
    }

    /// True when `meta` was sent by the device (by MAC, or by IP for an IP key).
    pub fn sent_by(device: DeviceKey, p: &Packet) -> bool {
        match device {
            DeviceKey::Mac(m) => p.meta.src_mac == Some(m),
            DeviceKey::Ip(ip) => p.meta.src_ip == Some(ip),
        }
    }

    /// True when the frame was sent or received by the device.
    pub fn involves(device: DeviceKey, p: &Packet) -> bool {
        Self::sent_by(device, p)
            || match device {
                DeviceKey::Mac(m) => p.meta.dst_mac == Some(m),
                DeviceKey::Ip(ip) => p.meta.dst_ip == Some(ip),
            }
    }

    /// Feeds one frame (any frame; the judge keeps the device's uploads). Frames must
    /// come in time order; one before the origin is ignored.
    pub fn observe(&mut self, p: &Packet) {
        if !Self::involves(self.device, p) {
            return;
        }
        self.seen = true;
        if !Self::sent_by(self.device, p) || !is_upload(&p.meta, self.cfg.scope) {
            return;
        }
        if p.ts < self.origin {
            return;
        }
        let idx = self.slot_of(p.ts);
        if idx > self.slot {
            self.close_until(idx);
        }
        self.slot_bytes += u64::from(p.wire_len);
        self.slot_packets += 1;
        self.slot_first.get_or_insert(p.ts);
        self.slot_last = Some(p.ts);
    }

    /// The verdict at `now` (the slots that ended by `now` are closed first).
    pub fn verdict(&mut self, now: Timestamp) -> Verdict {
        self.advance(now);
        if let Some(onset) = self.onset {
            let end = self.play_end.unwrap_or(onset);
            return Verdict::Woke {
                onset,
                latency_nanos: onset.0.saturating_sub(end.0),
            };
        }
        let Some(end) = self.play_end else {
            return Verdict::Undecided;
        };
        let deadline = end.0.saturating_add(self.cfg.max_latency_nanos);
        // A run in progress may still become an onset that started before the deadline.
        let run_pending = self.run > 0 && self.run_first.is_some_and(|f| self.counts(f));
        let slot_has_bytes = self.slot_bytes > 0 && self.slot_first.is_some_and(|f| self.counts(f));
        if now.0 >= deadline
            && !run_pending
            && !(slot_has_bytes && self.slot_start(self.slot) <= deadline)
        {
            return Verdict::Quiet;
        }
        Verdict::Undecided
    }

    /// The upload after the onset, as measured up to `now`.
    pub fn upload(&mut self, now: Timestamp) -> UploadMeasure {
        self.advance(now);
        self.measure
    }

    /// Whether the device has uploaded below the threshold for at least `nanos` up to
    /// `now` (its traffic is quiet: a new word can be played).
    pub fn quiet_for(&mut self, now: Timestamp, nanos: i64) -> bool {
        self.advance(now);
        let quiet = self.quiet_slots.saturating_mul(self.cfg.slot_nanos);
        self.run == 0 && quiet >= nanos
    }

    fn slot_of(&self, t: Timestamp) -> i64 {
        t.0.saturating_sub(self.origin.0)
            .div_euclid(self.cfg.slot_nanos)
    }

    fn slot_start(&self, idx: i64) -> i64 {
        self.origin
            .0
            .saturating_add(idx.saturating_mul(self.cfg.slot_nanos))
    }

    /// A run whose first frame is at `first` belongs to this attempt.
    fn counts(&self, first: Timestamp) -> bool {
        let Some(start) = self.play_start else {
            return false;
        };
        if first < start {
            return false;
        }
        match self.play_end {
            Some(end) => first.0 <= end.0.saturating_add(self.cfg.max_latency_nanos),
            None => true,
        }
    }

    /// Closes every slot that ended by `now`.
    fn advance(&mut self, now: Timestamp) {
        if now < self.origin {
            return;
        }
        // The slot holding `now` is still open.
        let idx = self.slot_of(now);
        if idx > self.slot {
            self.close_until(idx);
        }
    }

    /// Closes the open slot and the empty ones up to (not including) `idx`.
    fn close_until(&mut self, idx: i64) {
        let streaming = self.slot_bytes as f64 >= self.cfg.slot_bytes();
        if streaming {
            if self.run == 0 {
                self.run_first = self.slot_first;
                self.run_bytes = 0;
                self.run_packets = 0;
            }
            self.run += 1;
            self.run_bytes += self.slot_bytes;
            self.run_packets += self.slot_packets;
            self.quiet_slots = 0;
            if self.onset.is_some() {
                self.measure.bytes += self.slot_bytes;
                self.measure.packets += self.slot_packets;
                self.last_stream_frame = self.slot_last;
            } else if self.run >= self.cfg.onset_slots {
                if let Some(first) = self.run_first.filter(|f| self.counts(*f)) {
                    self.onset = Some(first);
                    self.measure.bytes = self.run_bytes;
                    self.measure.packets = self.run_packets;
                    self.last_stream_frame = self.slot_last;
                }
            }
        } else {
            if self.onset.is_some() && self.measure.end.is_none() {
                // Trailing frames of a stream (below the threshold) still belong to it.
                self.measure.bytes += self.slot_bytes;
                self.measure.packets += self.slot_packets;
                if self.slot_packets > 0 {
                    self.last_stream_frame = self.slot_last;
                }
            }
            self.run = 0;
            self.quiet_slots += 1;
        }
        // The empty slots between the open one and `idx`.
        let empty = idx - self.slot - 1;
        if empty > 0 {
            self.run = 0;
            self.quiet_slots = self.quiet_slots.saturating_add(empty);
        }
        if self.onset.is_some()
            && self.measure.end.is_none()
            && self.run == 0
            && self.quiet_slots >= i64::from(self.cfg.end_slots)
        {
            self.measure.end = self.last_stream_frame;
        }
        self.slot = idx;
        self.slot_bytes = 0;
        self.slot_packets = 0;
        self.slot_first = None;
        self.slot_last = None;
    }
}

// ---------------------------------------------------------------------------------------
// designs

/// How many times each word is spoken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Design {
    /// The paper's design: every word `tries` times (preset `paper`: 10).
    Fixed { tries: u32 },
    /// Screen every word with up to `screen` attempts, stopping at its first
    /// activation; then re-test the words that woke the device until the confidence
    /// interval of their activation probability has a half-width of at most
    /// `precision`, or `max` attempts (preset `adaptive`).
    Sequential {
        screen: u32,
        precision: f64,
        max: u32,
        confidence: f64,
    },
}

impl Design {
    /// The paper's preset: 10 tries per word.
    pub fn paper() -> Design {
        Design::Fixed { tries: 10 }
    }

    /// The default preset: screen for words whose activation probability is at least
    /// 0.5 with 95 % recall (5 attempts), then confirm to a half-width of 0.15 with at
    /// most 20 attempts, 95 % intervals.
    pub fn adaptive() -> Design {
        Design::Sequential {
            screen: screen_attempts(0.5, 0.95),
            precision: 0.15,
            max: 20,
            confidence: 0.95,
        }
    }

    /// The preset's name: `paper` or `adaptive`.
    pub fn name(&self) -> &'static str {
        match self {
            Design::Fixed { .. } => "paper",
            Design::Sequential { .. } => "adaptive",
        }
    }

    /// Most attempts a word can take.
    pub fn max_attempts(&self) -> u32 {
        match *self {
            Design::Fixed { tries } => tries,
            Design::Sequential { screen, max, .. } => max.max(screen),
        }
    }

    /// The phase of the next attempt of a word with this record, or `None` when the
    /// word is done.
    pub fn next_phase(&self, w: WordRecord) -> Option<Phase> {
        match *self {
            Design::Fixed { tries } => (w.attempts < tries).then_some(Phase::Screen),
            Design::Sequential {
                screen,
                precision,
                max,
                confidence,
            } => {
                if w.activations == 0 {
                    return (w.attempts < screen).then_some(Phase::Screen);
                }
                if w.attempts >= max.max(screen) {
                    return None;
                }
                let ci = clopper_pearson(w.attempts, w.activations, confidence);
                (ci.half_width() > precision).then_some(Phase::Confirm)
            }
        }
    }
}

/// The smallest number of attempts `n` with `(1 - p_min)^n <= 1 - recall`: screening a
/// word whose activation probability is at least `p_min` with `n` attempts misses it
/// with probability at most `1 - recall`. At least 1; `p_min` and `recall` in (0, 1).
pub fn screen_attempts(p_min: f64, recall: f64) -> u32 {
    if !(p_min > 0.0 && p_min < 1.0 && recall > 0.0 && recall < 1.0) {
        return 1;
    }
    let n = ((1.0 - recall).ln() / (1.0 - p_min).ln()).ceil();
    // Guard against rounding just above an integer.
    let mut n = n.max(1.0) as u32;
    while n > 1 && (1.0 - p_min).powi(n as i32 - 1) <= 1.0 - recall {
        n -= 1;
    }
    n
}

/// Where an attempt belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The real wake word, to measure the device's latency before the campaign.
    Calibrate,
    /// Screening a word (every attempt of the `paper` design is one).
    Screen,
    /// Re-testing a word that woke the device.
    Confirm,
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Calibrate => "calibrate",
            Phase::Screen => "screen",
            Phase::Confirm => "confirm",
        }
    }

    pub fn from_name(s: &str) -> Option<Phase> {
        match s {
            "calibrate" => Some(Phase::Calibrate),
            "screen" => Some(Phase::Screen),
            "confirm" => Some(Phase::Confirm),
            _ => None,
        }
    }
}

/// Attempts and activations of one word so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WordRecord {
    pub attempts: u32,
    pub activations: u32,
}

impl WordRecord {
    /// Adds one attempt's outcome.
    pub fn add(&mut self, woke: bool) {
        self.attempts += 1;
        if woke {
            self.activations += 1;
        }
    }

    /// The estimated activation probability (`None` before the first attempt).
    pub fn estimate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| f64::from(self.activations) / f64::from(self.attempts))
    }
}

/// The next word to speak and the phase of its attempt: screening goes first through
/// every word (in order), then confirmation; `None` when every word is done. The order
/// depends only on the records, so a resumed campaign continues where it stopped.
pub fn next_word(design: &Design, words: &[WordRecord]) -> Option<(usize, Phase)> {
    let mut confirm = None;
    for (i, w) in words.iter().enumerate() {
        match design.next_phase(*w) {
            Some(Phase::Screen) => return Some((i, Phase::Screen)),
            Some(p) if confirm.is_none() => confirm = Some((i, p)),
            _ => {}
        }
    }
    confirm
}

/// A two-sided confidence interval of a probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    pub fn half_width(&self) -> f64 {
        (self.upper - self.lower) / 2.0
    }
}

/// The Clopper-Pearson ("exact") interval of `successes` out of `n` at `confidence`
/// (e.g. 0.95): the `alpha/2` quantile of Beta(k, n-k+1) and the `1-alpha/2` quantile of
/// Beta(k+1, n-k), as `scipy.stats.beta.ppf` and statsmodels' `proportion_confint(...,
/// method="beta")` give them. `n = 0` gives `[0, 1]`.
pub fn clopper_pearson(n: u32, successes: u32, confidence: f64) -> Interval {
    let k = successes.min(n);
    if n == 0 {
        return Interval {
            lower: 0.0,
            upper: 1.0,
        };
    }
    let alpha = (1.0 - confidence).clamp(1e-12, 1.0);
    let (n, k) = (f64::from(n), f64::from(k));
    let lower = if k == 0.0 {
        0.0
    } else {
        statrs::function::beta::inv_beta_reg(k, n - k + 1.0, alpha / 2.0)
    };
    let upper = if k == n {
        1.0
    } else {
        statrs::function::beta::inv_beta_reg(k + 1.0, n - k, 1.0 - alpha / 2.0)
    };
    Interval { lower, upper }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::decode::PacketMeta;
    use crate::net::Mac;
    use std::net::{IpAddr, Ipv4Addr};

    const DEV: Mac = Mac([0x68, 0xdb, 0xf5, 0x90, 0x19, 0x64]);
    const GW: Mac = Mac([0x02, 0, 0, 0, 0, 1]);
    const S: i64 = Timestamp::NANOS_PER_SEC;

    fn ms(t: i64) -> Timestamp {
        Timestamp(1_700_000_000 * S + t * 1_000_000)
    }

    fn up(t_ms: i64, len: u32) -> Packet {
        Packet {
            ts: ms(t_ms),
            wire_len: len,
            meta: PacketMeta {
                src_mac: Some(DEV),
                dst_mac: Some(GW),
                src_ip: Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20))),
                dst_ip: Some(IpAddr::V4(Ipv4Addr::new(52, 1, 2, 3))),
                ..PacketMeta::default()
            },
        }
    }

    /// A stream at ~64 kbit/s: a 400-byte frame every 50 ms from `from` to `to` (ms).
    fn stream(from: i64, to: i64) -> Vec<Packet> {
        (0..)
            .map(|i| from + 50 * i)
            .take_while(|t| *t < to)
            .map(|t| up(t, 400))
            .collect()
    }

    fn judge() -> AttemptJudge {
        AttemptJudge::new(JudgeConfig::default(), DeviceKey::Mac(DEV), ms(0))
    }

    #[test]
    fn a_stream_after_the_word_is_an_onset_with_its_latency() {
        let mut j = judge();
        j.set_play_start(ms(2_000));
        j.set_play_end(ms(3_000));
        for p in stream(3_500, 6_000) {
            j.observe(&p);
        }
        assert_eq!(
            j.verdict(ms(6_000)),
            Verdict::Woke {
                onset: ms(3_500),
                latency_nanos: 500 * 1_000_000
            }
        );
        // The stream ended at 5950 ms; 6 quiet slots later the upload is measured.
        let m = j.upload(ms(8_000));
        assert_eq!(m.end, Some(ms(5_950)));
        assert_eq!(m.packets, 50);
        assert_eq!(m.bytes, 50 * 400);
    }

    #[test]
    fn heartbeats_never_make_an_onset() {
        let mut j = judge();
        j.set_play_start(ms(1_000));
        j.set_play_end(ms(2_000));
        // A 7 kB TLS burst across a slot boundary, and small ones.
        for (t, len) in [
            (2_240, 1500),
            (2_245, 1500),
            (2_250, 1500),
            (2_255, 1500),
            (2_260, 1000),
        ] {
            j.observe(&up(t, len));
        }
        j.observe(&up(4_000, 300));
        assert_eq!(j.verdict(ms(5_999)), Verdict::Undecided);
        assert_eq!(j.verdict(ms(6_000)), Verdict::Quiet);
    }

    #[test]
    fn a_stream_running_before_the_word_is_not_this_attempts() {
        let mut j = judge();
        j.set_play_start(ms(1_000));
        j.set_play_end(ms(2_000));
        for p in stream(0, 3_000) {
            j.observe(&p);
        }
        assert!(!j.quiet_for(ms(3_000), S));
        assert!(j.quiet_for(ms(4_000), S));
        assert_eq!(j.verdict(ms(6_500)), Verdict::Quiet);
    }

    #[test]
    fn a_run_pending_at_the_deadline_is_waited_for() {
        let mut j = judge();
        j.set_play_start(ms(1_000));
        j.set_play_end(ms(2_000));
        // Starts 100 ms before the deadline (6000 ms).
        for p in stream(5_900, 8_000) {
            j.observe(&p);
            let _ = j.verdict(p.ts);
        }
        assert!(matches!(j.verdict(ms(8_000)), Verdict::Woke { onset, .. } if onset == ms(5_900)));
        // A run starting after the deadline is not this attempt's.
        let mut j = judge();
        j.set_play_start(ms(1_000));
        j.set_play_end(ms(2_000));
        let mut first_decided = None;
        for p in stream(6_100, 8_000) {
            j.observe(&p);
            if first_decided.is_none() && j.verdict(p.ts) != Verdict::Undecided {
                first_decided = Some(j.verdict(p.ts));
            }
        }
        assert_eq!(first_decided, Some(Verdict::Quiet));
    }

    #[test]
    fn frames_of_other_devices_and_lan_frames_do_not_count() {
        let mut j = judge();
        j.set_play_start(ms(0));
        j.set_play_end(ms(500));
        for mut p in stream(600, 3_000) {
            p.meta.dst_ip = Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5)));
            j.observe(&p);
        }
        for mut p in stream(600, 3_000) {
            p.meta.src_mac = Some(GW);
            j.observe(&p);
        }
        assert_eq!(j.verdict(ms(5_000)), Verdict::Quiet);
        assert!(j.device_seen());
    }

    #[test]
    fn screen_size_follows_the_precision_asked() {
        assert_eq!(screen_attempts(0.5, 0.95), 5); // 0.5^5 = 0.031 <= 0.05 < 0.5^4
        assert_eq!(screen_attempts(0.5, 0.99), 7);
        assert_eq!(screen_attempts(0.3, 0.95), 9);
        assert_eq!(screen_attempts(0.5, 0.5), 1);
    }

    #[test]
    fn clopper_pearson_matches_scipy() {
        // python3 -c "from scipy.stats import beta; a=.05;
        //   print(beta.ppf(a/2, k, n-k+1), beta.ppf(1-a/2, k+1, n-k))"
        // (the same as statsmodels proportion_confint(k, n, 0.05, method='beta')).
        let cases: &[(u32, u32, f64, f64)] = &[
            (5, 0, 0.0, 0.5218237501049814),
            (5, 5, 0.4781762498950185, 1.0),
            (10, 2, 0.02521072632683336, 0.5560954623076415),
            (10, 10, 0.6915028921812392, 1.0),
            (11, 11, 0.7150858470818455, 1.0),
            (20, 10, 0.27195784956079183, 0.7280421504392081),
            (20, 1, 0.0012650894979498038, 0.24873276277202777),
            (7, 3, 0.09898827844250786, 0.8159484323599169),
        ];
        for &(n, k, lo, hi) in cases {
            let ci = clopper_pearson(n, k, 0.95);
            assert!(
                (ci.lower - lo).abs() < 1e-9,
                "{n} {k}: {} vs {lo}",
                ci.lower
            );
            assert!(
                (ci.upper - hi).abs() < 1e-9,
                "{n} {k}: {} vs {hi}",
                ci.upper
            );
        }
        assert_eq!(
            clopper_pearson(0, 0, 0.95),
            Interval {
                lower: 0.0,
                upper: 1.0
            }
        );
    }

    fn run(design: &Design, outcomes: &[bool]) -> (WordRecord, Vec<Phase>) {
        let mut w = WordRecord::default();
        let mut phases = Vec::new();
        let mut it = outcomes.iter();
        while let Some(p) = design.next_phase(w) {
            phases.push(p);
            w.add(*it.next().expect("the sequence ran out"));
        }
        (w, phases)
    }

    #[test]
    fn sequential_stopping_rule_on_known_sequences() {
        let d = Design::adaptive();
        // Never wakes: dropped after the 5 screening attempts.
        let (w, phases) = run(&d, &[false; 30]);
        assert_eq!((w.attempts, w.activations), (5, 0));
        assert!(phases.iter().all(|p| *p == Phase::Screen));
        // Always wakes: 11/11 is the first with a half-width <= 0.15 (10/10: 0.154).
        let (w, phases) = run(&d, &[true; 30]);
        assert_eq!((w.attempts, w.activations), (11, 11));
        assert_eq!(phases[0], Phase::Screen);
        assert!(phases[1..].iter().all(|p| *p == Phase::Confirm));
        // Wakes half the time: never narrow enough, stops at max (20).
        let alternate: Vec<bool> = (0..30).map(|i| i % 2 == 1).collect();
        let (w, phases) = run(&d, &alternate);
        assert_eq!((w.attempts, w.activations), (20, 10));
        assert_eq!(phases.iter().filter(|p| **p == Phase::Screen).count(), 2);
        // Paper: always 10.
        let (w, _) = run(&Design::paper(), &[true; 30]);
        assert_eq!(w.attempts, 10);
    }

    #[test]
    fn screening_goes_first_then_confirmation() {
        let d = Design::adaptive();
        let words = [
            WordRecord {
                attempts: 1,
                activations: 1,
            },
            WordRecord {
                attempts: 5,
                activations: 0,
            },
            WordRecord {
                attempts: 2,
                activations: 0,
            },
        ];
        assert_eq!(next_word(&d, &words), Some((2, Phase::Screen)));
        let words = [
            words[0],
            words[1],
            WordRecord {
                attempts: 5,
                activations: 0,
            },
        ];
        assert_eq!(next_word(&d, &words), Some((0, Phase::Confirm)));
        let words = [
            WordRecord {
                attempts: 20,
                activations: 3,
            },
            words[1],
        ];
        assert_eq!(next_word(&d, &words), None);
    }

    /// The recall promised by the screening, by simulation: 10 000 words at each
    /// activation probability, through the adaptive design with a seeded generator.
    #[test]
    fn screening_finds_95_percent_of_words_with_p_at_least_one_half() {
        let mut state: u64 = 42;
        let mut random = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let d = Design::adaptive();
        for (p, expected) in [(0.5, 1.0 - 0.5f64.powi(5)), (0.7, 1.0 - 0.3f64.powi(5))] {
            let n = 10_000;
            let mut found = 0;
            for _ in 0..n {
                let mut w = WordRecord::default();
                while d.next_phase(w).is_some() {
                    w.add(random() < p);
                }
                if w.activations > 0 {
                    found += 1;
                }
            }
            let recall = f64::from(found) / f64::from(n);
            assert!(recall >= 0.95, "p = {p}: recall {recall}");
            // Within 4 standard errors of the exact value 1 - (1 - p)^5.
            let se = (expected * (1.0 - expected) / f64::from(n)).sqrt();
            assert!(
                (recall - expected).abs() < 4.0 * se,
                "p = {p}: {recall} vs {expected}"
            );
        }
    }
}
