//! The engine on the simulated room, in virtual time: whole campaigns in milliseconds,
//! judged only from the simulated device's traffic and checked against what the device
//! really did (its ground truth).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::simroom::{SimDevice, SimRoom};
use super::*;
use crate::history::Store;
use leakypick_core::wakefuzz::Design;
use std::sync::atomic::AtomicBool;

const T0: Timestamp = Timestamp(1_800_000_000 * Timestamp::NANOS_PER_SEC);

fn params(design: Design, device: &SimDevice) -> Params {
    simroom::sim_params(design, device.mac)
}

fn words(list: &[&str]) -> Vec<Word> {
    list.iter()
        .map(|w| Word {
            word: w.to_string(),
            phonemes: None,
            source: "words".into(),
            distance: w.len(),
        })
        .collect()
}

fn sounds(p: &Params, words: &[Word]) -> SoundBook {
    let mut book = SoundBook::default();
    for v in 0..p.voicings().len() {
        for w in words
            .iter()
            .map(|w| w.word.as_str())
            .chain([p.wake_word.as_str()])
        {
            book.insert(Sound {
                word: w.to_string(),
                voicing: v,
                wav: PathBuf::from("/nonexistent.wav"),
                seconds: 0.8,
            });
        }
    }
    book
}

/// 40 candidates: 4 always wake the device, 3 at 0.7, 3 at 0.5, 3 at 0.2, the rest
/// never; the wake word always.
fn device() -> SimDevice {
    let mut probs: Vec<(String, f64)> = vec![("alexa".into(), 1.0)];
    for (i, p) in [
        1.0, 1.0, 1.0, 1.0, 0.7, 0.7, 0.7, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2,
    ]
    .iter()
    .enumerate()
    {
        probs.push((format!("w{i:02}"), *p));
    }
    let probs: Vec<(&str, f64)> = probs.iter().map(|(w, p)| (w.as_str(), *p)).collect();
    SimDevice::new(&probs)
}

fn candidate_names() -> Vec<String> {
    candidate_names_n(40)
}

fn candidate_names_n(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i:02}")).collect()
}

struct Run {
    store: Store,
    campaign: Campaign,
    room: SimRoom,
    end: Result<RunEnd, CampaignError>,
    _dir: tempfile::TempDir,
}

fn run_campaign(design: Design, seed: u64, fail_at: Option<usize>) -> Run {
    run_campaign_n(design, seed, fail_at, 40)
}

fn run_campaign_n(design: Design, seed: u64, fail_at: Option<usize>, n: usize) -> Run {
    let dev = device();
    let names = candidate_names_n(n);
    let list: Vec<&str> = names.iter().map(String::as_str).collect();
    let words = words(&list);
    let p = params(design, &dev);
    let book = sounds(&p, &words);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let id = store
        .create_campaign(&CampaignRow {
            id: 0,
            device: p.device.to_string(),
            wake_word: p.wake_word.clone(),
            design: p.design.name().into(),
            params: render::json_text(&render::params_json(&p)),
            candidates: render::json_text(&render::words_json(&words)),
            created: T0,
            updated: T0,
            state: "running".into(),
        })
        .unwrap();
    let mut campaign = Campaign::rebuild(id, p, words, &[]);
    let room = SimRoom::new(dev, seed, T0);
    if let Some(n) = fail_at {
        room.fail_at_play(n);
    }
    let end = run_in(
        &room,
        &mut store,
        &mut campaign,
        &book,
        &AtomicBool::new(false),
    );
    Run {
        store,
        campaign,
        room,
        end,
        _dir: dir,
    }
}

fn run_in(
    room: &SimRoom,
    store: &mut Store,
    campaign: &mut Campaign,
    book: &SoundBook,
    stop: &AtomicBool,
) -> Result<RunEnd, CampaignError> {
    let mut source = room.source();
    let mut speaker = room.speaker();
    let clock = room.clock();
    let mut io = Io {
        source: &mut source,
        speaker: &mut speaker,
        clock: &clock,
    };
    check_seen(&mut io, &campaign.params)?;
    run(&mut io, store, campaign, book, stop, &mut |_| {})
}

use crate::history::CampaignRow;

/// Every stored attempt against what the simulated device did, play by play.
fn assert_judged_like_the_truth(store: &Store, id: i64, room: &SimRoom) -> (usize, usize) {
    let rows = store.campaign_attempts(id).unwrap();
    let plays = room.plays();
    assert_eq!(rows.len(), plays.len(), "one stored attempt per play");
    let (mut false_wakes, mut missed) = (0, 0);
    for (r, p) in rows.iter().zip(&plays) {
        assert_eq!(r.word, p.word);
        let woke = r.verdict == "woke";
        if woke && !p.woke {
            false_wakes += 1;
        }
        if !woke && p.woke {
            missed += 1;
        }
    }
    (false_wakes, missed)
}

#[test]
fn a_whole_adaptive_campaign_finds_the_words_and_never_a_false_one() {
    let r = run_campaign(Design::adaptive(), 7, None);
    assert_eq!(r.end.unwrap(), RunEnd::Done);
    let (false_wakes, missed) = assert_judged_like_the_truth(&r.store, r.campaign.id, &r.room);
    assert_eq!(
        false_wakes, 0,
        "a heartbeat or a stale stream was judged a wake"
    );
    assert_eq!(missed, 0, "a wake was missed");
    // Every word with p >= 0.5 was found.
    for (i, w) in r.campaign.words.iter().enumerate().take(10) {
        assert!(
            r.campaign.records[i].activations > 0,
            "{} not found",
            w.word
        );
    }
    // Words that never wake the device got exactly the screening.
    for rec in &r.campaign.records[13..] {
        assert_eq!((rec.attempts, rec.activations), (5, 0));
    }
    // The calibration measured the simulated latency (0.3 to 1.2 s after the word).
    let lat: Vec<f64> = r.campaign.calibration.iter().flatten().copied().collect();
    assert_eq!(lat.len(), 3);
    assert!(lat.iter().all(|l| (0.25..1.3).contains(l)), "{lat:?}");
    let rows = r.store.campaign_attempts(r.campaign.id).unwrap();
    // Woken attempts carry their upload: 3 s at 64 kbit/s, about 24 kB.
    for a in rows.iter().filter(|a| a.verdict == "woke") {
        // (plus a heartbeat that falls into the stream)
        assert!(a.bytes >= 20_000 && a.bytes <= 24_000 + 7_300, "{a:?}");
        assert!(a.upload_end.is_some());
        assert!(a.onset.unwrap() > a.play_start);
    }
    // Voices rotate across a word's attempts.
    let w30: Vec<Option<String>> = rows
        .iter()
        .filter(|a| a.word == "w30")
        .map(|a| a.voice.clone())
        .collect();
    assert_eq!(
        w30[..3],
        [Some("slt".into()), Some("rms".into()), Some("slt".into())]
    );
}

#[test]
fn the_adaptive_design_spends_fewer_attempts_than_the_paper() {
    // 120 candidates of which 13 ever wake the device (the paper found 89 among
    // thousands): the same words in both designs.
    let adaptive = run_campaign_n(Design::adaptive(), 11, None, 120);
    let paper = run_campaign_n(Design::paper(), 11, None, 120);
    let (a, p) = (adaptive.campaign.attempts(), paper.campaign.attempts());
    assert_eq!(p, 1200);
    assert!(a * 3 < p * 2, "adaptive {a} vs paper {p}");
    for r in [&adaptive, &paper] {
        let (false_wakes, missed) = assert_judged_like_the_truth(&r.store, r.campaign.id, &r.room);
        assert_eq!((false_wakes, missed), (0, 0));
    }
    // Both find every word with p >= 0.5; the adaptive one in less time.
    for r in [&adaptive, &paper] {
        assert!(r.campaign.records[..10].iter().all(|w| w.activations > 0));
    }
    let hours = |r: &Run| r.room.now().secs_since(T0) / 3600.0;
    let per_hour = |r: &Run| r.campaign.found() as f64 / hours(r);
    assert!(
        per_hour(&adaptive) > 1.4 * per_hour(&paper),
        "{} vs {} words found per hour",
        per_hour(&adaptive),
        per_hour(&paper)
    );
    // Each attempt was decided early: far less than the paper's 7 s per attempt.
    assert!(hours(&paper) < 1200.0 * 7.0 / 3600.0, "{} h", hours(&paper));
}

#[test]
fn a_crash_loses_only_the_attempt_in_flight_and_resume_finishes() {
    // The player fails at the 40th play: the run stops with an error.
    let mut r = run_campaign(Design::adaptive(), 5, Some(40));
    assert!(matches!(r.end, Err(CampaignError::Play { .. })));
    let id = r.campaign.id;
    let stored = r.store.campaign_attempts(id).unwrap();
    assert_eq!(stored.len(), 40);
    // Resume: the state is rebuilt from the stored rows only.
    let row = r.store.campaign(id).unwrap().unwrap();
    let params = render::parse_params(&row.params).unwrap();
    assert_eq!(params, r.campaign.params);
    let words = render::parse_words(&row.candidates).unwrap();
    let mut resumed = Campaign::rebuild(id, params, words, &stored);
    assert_eq!(resumed.records, r.campaign.records);
    assert_eq!(resumed.calibration.len(), 3);
    let book = sounds(&resumed.params, &resumed.words);
    let later = Timestamp(r.room.now().0 + 3_600 * Timestamp::NANOS_PER_SEC);
    let room = SimRoom::new(device(), 99, later);
    let end = run_in(
        &room,
        &mut r.store,
        &mut resumed,
        &book,
        &AtomicBool::new(false),
    );
    assert_eq!(end.unwrap(), RunEnd::Done);
    // No calibration again, no attempt lost or stored twice, numbers 1..n per word.
    let all = r.store.campaign_attempts(id).unwrap();
    assert_eq!(all.len(), 40 + room.plays().len());
    assert_eq!(all.iter().filter(|a| a.phase == "calibrate").count(), 3);
    let design = resumed.params.design;
    for w in &resumed.words {
        let mine: Vec<&AttemptRow> = all
            .iter()
            .filter(|a| a.word == w.word && a.phase != "calibrate")
            .collect();
        let numbers: Vec<u32> = mine.iter().map(|a| a.attempt).collect();
        assert_eq!(
            numbers,
            (1..=mine.len() as u32).collect::<Vec<_>>(),
            "{}",
            w.word
        );
        // The design asked for every one of them and for no more.
        let mut rec = WordRecord::default();
        for a in &mine {
            assert!(
                design.next_phase(rec).is_some(),
                "{}: one attempt too many",
                w.word
            );
            rec.add(a.verdict == "woke");
        }
        assert!(design.next_phase(rec).is_none(), "{} unfinished", w.word);
    }
}

#[test]
fn a_stop_between_attempts_leaves_a_resumable_campaign() {
    let dev = device();
    let names = candidate_names();
    let list: Vec<&str> = names.iter().map(String::as_str).collect();
    let p = params(Design::paper(), &dev);
    let words = words(&list[..3]);
    let book = sounds(&p, &words);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut c = Campaign::rebuild(1, p, words, &[]);
    store
        .create_campaign(&CampaignRow {
            id: 0,
            device: c.params.device.to_string(),
            wake_word: "alexa".into(),
            design: "paper".into(),
            params: "{}".into(),
            candidates: "[]".into(),
            created: T0,
            updated: T0,
            state: "running".into(),
        })
        .unwrap();
    let room = SimRoom::new(dev, 1, T0);
    let stop = AtomicBool::new(false);
    let mut source = room.source();
    let mut speaker = room.speaker();
    let clock = room.clock();
    let mut io = Io {
        source: &mut source,
        speaker: &mut speaker,
        clock: &clock,
    };
    let mut n = 0;
    let end = run(&mut io, &mut store, &mut c, &book, &stop, &mut |e| {
        if let CampaignEvent::Attempt { .. } = e {
            n += 1;
            if n == 4 {
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    assert_eq!(end.unwrap(), RunEnd::Stopped);
    assert_eq!(c.attempts(), 4);
    assert!(!c.is_done());
}

#[test]
fn a_device_never_seen_is_an_error_before_anything_plays() {
    let dev = device();
    let mut p = params(Design::adaptive(), &dev);
    p.device = DeviceKey::Mac(leakypick_core::net::Mac([2, 0, 0, 0, 0, 0x99]));
    let room = SimRoom::new(dev, 1, T0);
    let mut source = room.source();
    let mut speaker = room.speaker();
    let clock = room.clock();
    let mut io = Io {
        source: &mut source,
        speaker: &mut speaker,
        clock: &clock,
    };
    let e = check_seen(&mut io, &p).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("02:00:00:00:00:99") && msg.contains("--device"),
        "{msg}"
    );
    assert!(room.plays().is_empty());
    assert!((room.now().secs_since(T0) - 30.0).abs() < 0.5);
}

#[test]
fn a_device_deaf_to_its_own_wake_word_stops_the_campaign_after_calibration() {
    let mut dev = device();
    dev.probabilities.insert("alexa".into(), 0.0);
    let p = params(Design::adaptive(), &dev);
    let words = words(&["w00"]);
    let book = sounds(&p, &words);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut c = Campaign::rebuild(1, p, words, &[]);
    store
        .create_campaign(&CampaignRow {
            id: 0,
            device: c.params.device.to_string(),
            wake_word: "alexa".into(),
            design: "adaptive".into(),
            params: "{}".into(),
            candidates: "[]".into(),
            created: T0,
            updated: T0,
            state: "running".into(),
        })
        .unwrap();
    let room = SimRoom::new(dev, 1, T0);
    let e = run_in(&room, &mut store, &mut c, &book, &AtomicBool::new(false)).unwrap_err();
    assert!(
        matches!(e, CampaignError::NeverWoke { tries: 3, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("--volume"));
    assert_eq!(room.plays().len(), 3, "only the calibration was played");

    // Resumed after the volume was fixed: a new round of calibration, then the words.
    let rows = store.campaign_attempts(1).unwrap();
    let mut c = Campaign::rebuild(1, c.params.clone(), c.words.clone(), &rows);
    let room = SimRoom::new(
        device(),
        2,
        Timestamp(T0.0 + 3_600 * Timestamp::NANOS_PER_SEC),
    );
    let end = run_in(&room, &mut store, &mut c, &book, &AtomicBool::new(false));
    assert_eq!(end.unwrap(), RunEnd::Done);
    let rows = store.campaign_attempts(1).unwrap();
    let calib: Vec<u32> = rows
        .iter()
        .filter(|r| r.phase == "calibrate")
        .map(|r| r.attempt)
        .collect();
    assert_eq!(calib, [1, 2, 3, 4, 5, 6]);
    assert!(c.records[0].activations > 0, "w00 always wakes the device");
}

#[test]
fn heartbeats_alone_never_wake_a_long_campaign() {
    let mut dev = device();
    dev.probabilities.clear();
    dev.probabilities.insert("alexa".into(), 1.0);
    let names = candidate_names();
    let list: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut p = params(Design::paper(), &dev);
    p.max_latency_given = Some(4.0);
    p.calibrate = 0;
    let words = words(&list);
    let book = sounds(&p, &words);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut c = Campaign::rebuild(1, p, words, &[]);
    store
        .create_campaign(&CampaignRow {
            id: 0,
            device: c.params.device.to_string(),
            wake_word: "alexa".into(),
            design: "paper".into(),
            params: "{}".into(),
            candidates: "[]".into(),
            created: T0,
            updated: T0,
            state: "running".into(),
        })
        .unwrap();
    let room = SimRoom::new(dev, 3, T0);
    let end = run_in(&room, &mut store, &mut c, &book, &AtomicBool::new(false));
    assert_eq!(end.unwrap(), RunEnd::Done);
    assert_eq!(c.attempts(), 400);
    assert_eq!(c.found(), 0);
    // Hours of virtual time, with dozens of 7 kB heartbeat bursts among the attempts.
    assert!(room.now().secs_since(T0) > 1_800.0);
}

#[test]
fn the_schedule_pauses_the_campaign_and_it_continues_after() {
    let dev = device();
    let mut p = params(Design::paper(), &dev);
    p.calibrate = 0;
    p.max_latency_given = Some(2.0);
    let words = words(&["w00"]);
    let book = sounds(&p, &words);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut c = Campaign::rebuild(1, p, words, &[]);
    store
        .create_campaign(&CampaignRow {
            id: 0,
            device: c.params.device.to_string(),
            wake_word: "alexa".into(),
            design: "paper".into(),
            params: "{}".into(),
            candidates: "[]".into(),
            created: T0,
            updated: T0,
            state: "running".into(),
        })
        .unwrap();
    // T0 is 2027-01-15 08:00 UTC; only 08:30-09:00 is allowed.
    let minute = u16::try_from(T0.0 / 60_000_000_000 % 1440).unwrap();
    c.allowed_hours = Some(DailySpan {
        from: minute + 30,
        to: minute + 60,
    });
    let room = SimRoom::new(dev, 1, T0);
    let end = run_in(&room, &mut store, &mut c, &book, &AtomicBool::new(false));
    assert_eq!(end.unwrap(), RunEnd::Done);
    let first = room.plays()[0].start;
    assert!(
        first.secs_since(T0) >= 1_800.0,
        "played before the allowed hours"
    );
}
