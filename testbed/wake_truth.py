#!/usr/bin/env python3
"""Ground truth of wake-word activation probabilities, independent of any campaign.

For each word and voice (and rate) it synthesises the word with flite exactly as leakypick
does (`flite -voice V -t WORD -o file.wav`), resamples it to 16 kHz, and runs it N times
through the SAME listener as testbed/device.py (spotter.Listener: speech gate, keyword
spotter, per-utterance variability) inside a synthesised room: the room noise of the
config (same generator, same seed, a random excerpt each run) before, under and after the
word, the word at a random offset (so the 100 ms chunk and 30 ms model phases vary as they
do live). A run counts as an activation when the listener logs at least one wake.

  python3 testbed/wake_truth.py alexa alexis electra            # micro spotter, fuzz room
  python3 testbed/wake_truth.py --words-file words.txt --runs 40 --jobs 2 > truth.jsonl
  python3 testbed/wake_truth.py --config testbed/fuzz.toml --device echo_micro alexa

Output, JSON lines: one per (word, voice[, rate])
  {"word","voice","rate","runs","activations","p","max_prob"}
then one per word averaged over the voices (and rates): {"word","voice":"all",...}.
Settings (spotter, wake word, noise, jitters, speech gate) come from the config's device
(default: testbed/fuzz.toml's first micro assistant); flags override them.
"""

import argparse
import json
import os
import random
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import spotter as S  # noqa: E402

DEFAULT_CONFIG = os.path.join(HERE, "fuzz.toml")
DEFAULT_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                             "leakypick-testbed")

LEAD = 1.5   # seconds of room before the word (then + U(0, 0.1))
TAIL = 2.0   # seconds of room after it (closes the segment)


def settings_from_config(path, device=None):
    """Listener settings of one device of a testbed config (+ its [room])."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    d = dict(raw.get("defaults", {}))
    devs = raw.get("device", [])
    pick = None
    for dev in devs:
        merged = dict(d)
        merged.update(dev)
        if device is not None and merged.get("name") == device:
            pick = merged
            break
        if device is None and merged.get("kind") in ("assistant", "muted") \
                and merged.get("spotter", "pocketsphinx") == "micro":
            pick = merged
            break
    if pick is None:
        raise SystemExit("wake_truth: %s has no %s" % (path, "device %s" % device if device
                                                      else "micro assistant"))
    room = raw.get("room", {})
    return {
        "device": pick.get("name"),
        "spotter": pick.get("spotter", "pocketsphinx"),
        "wake_word": pick.get("wake_word", "alexa"),
        "gain_jitter_db": float(pick.get("gain_jitter_db", 0.0)),
        "cutoff_jitter": float(pick.get("cutoff_jitter", 0.0)),
        "speech_db": float(pick.get("speech_db", -45.0)),
        "noise": room.get("noise", "none"),
        "noise_db": float(room.get("noise_db", -50.0)),
        "noise_seed": int(room.get("noise_seed", 0)),
    }


_W = {}  # per process: the spotter and the noise


def _init(cfg):
    _W["cfg"] = cfg
    _W["spotter"] = S.make_spotter(cfg["spotter"], cfg["wake_word"])
    _W["noise"] = S.noise_signal(cfg["noise"], cfg["noise_db"], cfg["noise_seed"], cfg["cache"])


def one_run(word_sig, rng):
    """One utterance in the room; returns (woke, max_prob or None)."""
    import numpy as np

    cfg = _W["cfg"]
    lead = int((LEAD + rng.uniform(0.0, 0.1)) * S.RATE)
    total = lead + len(word_sig) + int(TAIL * S.RATE)
    total = (total // S.CHUNK_SAMPLES + 1) * S.CHUNK_SAMPLES
    x = np.zeros(total)
    x[lead:lead + len(word_sig)] = word_sig
    noise = _W["noise"]
    if noise is not None:
        off = rng.randrange(len(noise))
        x += np.take(noise, np.arange(off, off + total), mode="wrap")
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
    var = S.Variability(cfg["gain_jitter_db"], cfg["cutoff_jitter"], rng)
    lis = S.Listener(_W["spotter"], speech_db=cfg["speech_db"], variability=var)
    woke, maxp = False, None
    for i in range(total // S.CHUNK_SAMPLES):
        chunk = pcm[i * S.CHUNK_BYTES:(i + 1) * S.CHUNK_BYTES]
        for ev, f in lis.push(chunk, (i + 1) * S.CHUNK_SECONDS):
            if ev == "wake":
                woke = True
            elif ev == "segment" and "max_prob" in f:
                maxp = max(maxp or 0.0, f["max_prob"])
    if lis.in_seg:  # close a segment still open (cannot happen with TAIL >= gap)
        maxp = max(maxp or 0.0, getattr(_W["spotter"], "max_prob", 0.0) or 0.0)
    return woke, maxp


def task(args):
    word, voice, rate, runs, seed = args
    cfg = _W["cfg"]
    sig = S.speech16(word, voice, cfg["cache"], rate)
    k, probs = 0, []
    for r in range(runs):
        rng = random.Random("%s|%s|%s|%g|%d" % (seed, word, voice, rate, r))
        woke, maxp = one_run(sig, rng)
        k += woke
        if maxp is not None:
            probs.append(maxp)
    rec = {"word": word, "voice": voice, "rate": rate, "runs": runs, "activations": k,
           "p": round(k / runs, 4)}
    if probs:
        rec["max_prob"] = round(sum(probs) / len(probs), 4)  # mean over runs of the segment max
    return rec


def live(a, cfg, words, voices, rates):
    """Plays each (word, voice, rate) `runs` times into a running testbed's room with
    `testbed.py play` and counts the wakes in the device's log; prints the live rate next
    to the offline p of the same settings."""
    import subprocess
    import time

    with open(os.path.join(a.live, "state.json")) as f:
        st = json.load(f)
    name = a.device or cfg.get("device")
    dev = next((d for d in st["devices"] if d["name"] == name), None)
    if dev is None:
        raise SystemExit("wake_truth: no device %r in %s" % (name, a.live))
    tb = [sys.executable, os.path.join(HERE, "testbed.py")]
    _init(cfg)
    plays = []
    for w in words:
        for v in voices:
            for r in rates:
                for i in range(a.runs):
                    out = subprocess.run(tb + ["play", "--state", a.live, "--voice", v, "--rate", "%g" % r, w],
                                         capture_output=True, text=True, check=True).stdout
                    rec = json.loads(out.strip().splitlines()[-1])
                    plays.append((w, v, r, rec["t"], rec["t_end"]))
                    time.sleep(a.live_gap)
    time.sleep(2.0)
    log = []
    with open(dev["log"]) as f:
        for line in f:
            try:
                log.append(json.loads(line))
            except ValueError:
                pass
    res = {}
    for w, v, r, t0, t1 in plays:
        woke = any(e.get("event") == "wake" and t0 <= e["t"] <= t1 + 1.5 for e in log)
        heard = any(e.get("event") == "heard" and t0 - 1.0 <= e.get("start", 0) <= t1 + 0.5 for e in log)
        k = res.setdefault((w, v, r), [0, 0, 0])
        k[0] += 1
        k[1] += woke
        k[2] += heard
    for (w, v, r), (n, k, h) in res.items():
        off = task((w, v, r, a.runs, a.seed))
        print(json.dumps({"word": w, "voice": v, "rate": r, "runs": n, "live_activations": k,
                          "live_p": round(k / n, 4), "heard": h, "p": off["p"],
                          "device": name}), flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("words", nargs="*", help="words or phrases")
    ap.add_argument("--words-file", help="one word or phrase per line (# comments)")
    ap.add_argument("--voices", default="slt,rms,awb,kal")
    ap.add_argument("--rates", default="1", help="flite duration_stretch values, comma-separated (1 = leakypick's call)")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--seed", default="0", help="seed of the per-run draws (default 0)")
    ap.add_argument("--config", default=DEFAULT_CONFIG, help="testbed config for the settings (default testbed/fuzz.toml)")
    ap.add_argument("--device", default=None, help="device of the config (default: its first micro assistant)")
    ap.add_argument("--spotter", choices=S.SPOTTERS)
    ap.add_argument("--wake-word")
    ap.add_argument("--noise", choices=S.NOISES)
    ap.add_argument("--noise-db", type=float)
    ap.add_argument("--noise-seed", type=int)
    ap.add_argument("--gain-jitter-db", type=float)
    ap.add_argument("--cutoff-jitter", type=float)
    ap.add_argument("--speech-db", type=float)
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="flite WAV cache (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1; the machine is shared)")
    ap.add_argument("--no-summary", action="store_true", help="no per-word lines averaged over voices")
    ap.add_argument("--live", metavar="STATE", default=None,
                    help="validate against a running testbed (its state directory): play each word "
                         "--runs times into the room and compare the device log's wake rate with p")
    ap.add_argument("--live-gap", type=float, default=1.5, help="seconds after each live play (1.5)")
    a = ap.parse_args(argv)

    if a.live and a.config == DEFAULT_CONFIG:
        with open(os.path.join(a.live, "state.json")) as f:
            a.config = json.load(f).get("config") or a.config  # the running testbed's own config
    cfg = settings_from_config(a.config, a.device) if a.config else {
        "spotter": "micro", "wake_word": "alexa", "gain_jitter_db": 0.0, "cutoff_jitter": 0.0,
        "speech_db": -45.0, "noise": "none", "noise_db": -50.0, "noise_seed": 0}
    for k in ("spotter", "wake_word", "noise", "noise_db", "noise_seed", "gain_jitter_db",
              "cutoff_jitter", "speech_db"):
        v = getattr(a, k)
        if v is not None:
            cfg[k] = v
    cfg["cache"] = a.cache
    words = list(a.words)
    if a.words_file:
        with open(a.words_file) as f:
            for line in f:
                line = line.split("#")[0].strip()
                if line:
                    words.append(line.split("\t")[0].strip())
    if not words:
        ap.error("no words: give them as arguments or --words-file")
    voices = [v.strip() for v in a.voices.split(",") if v.strip()]
    rates = [float(r) for r in a.rates.split(",") if r.strip()]
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    print(json.dumps({"settings": {k: v for k, v in cfg.items() if k != "cache"},
                      "runs": a.runs, "voices": voices, "rates": rates, "seed": a.seed}),
          file=sys.stderr, flush=True)
    if a.live:
        return live(a, cfg, words, voices, rates)
    tasks = [(w, v, r, a.runs, a.seed) for w in words for v in voices for r in rates]
    by_word = {}
    if a.jobs > 1:
        import multiprocessing as mp

        pool = mp.get_context("fork").Pool(a.jobs, initializer=_init, initargs=(cfg,))
        results = pool.imap(task, tasks)
    else:
        _init(cfg)
        pool, results = None, map(task, tasks)
    try:
        for rec in results:
            print(json.dumps(rec), flush=True)
            by_word.setdefault(rec["word"], []).append(rec)
            recs = by_word[rec["word"]]
            if not a.no_summary and len(recs) == len(voices) * len(rates):
                k = sum(r["activations"] for r in recs)
                n = sum(r["runs"] for r in recs)
                print(json.dumps({"word": rec["word"], "voice": "all",
                                  "voices": ",".join(voices), "rates": rates, "runs": n,
                                  "activations": k, "p": round(k / n, 4),
                                  "p_by_voice": {r["voice"] + ("" if r["rate"] == 1 else "@%g" % r["rate"]): r["p"]
                                                 for r in recs}}), flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
