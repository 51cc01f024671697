#!/usr/bin/env python3
"""Wake-word fuzzing benchmark (issue 11): both designs of `leakypick fuzz` on the testbed.

Runs, on two testbeds side by side (testbed/fuzz.toml, the target is `echo_micro`, the
pymicro-wakeword "alexa" spotter), the adaptive design on N candidate words and the
paper's fixed-10 design on the first M of the same words, then scores both against

  * the device's own log (every attempt: judged "woke" <=> the device logged a wake), and
  * the words' true activation probability, measured offline and independently of any
    campaign by testbed/wake_truth.py (testbed/misfires.txt: every word of
    testbed/misfire_candidates.txt with p >= 0.05; the others have p < 0.05).

Prints one JSON object with the figures (found per hour, recall at p >= 0.5 and >= 0.2,
seconds per word, false activations) and the ratios. Needs root, the testbed's packages
and a leakypick built with live capture:

    cargo build --release --features live
    sudo python3 scripts/bench-fuzz.py --words 20 --paper-words 6 --seed 1
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTBED = os.path.join(ROOT, "testbed", "testbed.py")
DEVICE = "68:db:f5:77:00:01"  # echo_micro in testbed/fuzz.toml


def truth():
    """word -> true activation probability (mean over voices), from misfires.txt."""
    p = {}
    with open(os.path.join(ROOT, "testbed", "misfire_candidates.txt")) as f:
        for line in f:
            w = line.split("#")[0].strip().split()
            if w:
                p[w[0]] = 0.0  # below 0.05: not listed as a misfire
    with open(os.path.join(ROOT, "testbed", "misfires.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.split("\t")
            p[cols[0]] = float(cols[1])
    return p


def testbed(state, prefix, command, *args):
    return subprocess.run([sys.executable, TESTBED, command, "--state", state, "--prefix", prefix, *args],
                          check=True, capture_output=True, text=True)


def campaign(leakypick, state, prefix, words, design, voices, out):
    data = os.path.join(state, "history")
    env = dict(os.environ, PULSE_SERVER="unix:%s/pulse/native" % state, XDG_RUNTIME_DIR=state,
               HOME=os.path.join(state, "home"))
    cmd = ["ip", "netns", "exec", prefix + "gw", leakypick, "fuzz", "-i", "br0", "--device", DEVICE,
           "--words", ",".join(words), "--design", design, "--voices", voices,
           "--audio-device", "room", "--data-dir", data, "--format", "json"]
    t0 = time.time()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0:
        raise SystemExit("fuzz (%s) failed: %s" % (design, r.stderr[-2000:]))
    rep = subprocess.run([leakypick, "fuzz", "report", "--attempts", "--format", "json", "--data-dir", data],
                         check=True, capture_output=True, text=True).stdout
    recs = [json.loads(l) for l in rep.splitlines() if l.strip()]
    wakes = []
    with open(os.path.join(state, "devices", "echo_micro.log")) as f:
        for line in f:
            v = json.loads(line)
            if v.get("event") == "wake":
                wakes.append(v["t"])
    out[design] = dict(records=recs, wakes=wakes, wall_s=wall)


def score(res, p, words):
    recs = res["records"]
    camp = next(r for r in recs if r["type"] == "fuzz_campaign")
    atts = [r for r in recs if r["type"] == "fuzz_attempt"]
    lat = camp["max_latency_s"]
    false_act = missed = 0
    for a in atts:
        logged = any(a["play_start"] <= t <= a["play_end"] + lat + 0.5 for t in res["wakes"])
        woke = a["verdict"] == "woke"
        false_act += woke and not logged
        missed += logged and not woke
    found = {r["word"] for r in recs if r["type"] == "fuzz_word" and r["activations"] > 0}
    hours = camp["hours"]

    def recall(th):
        want = [w for w in words if p.get(w, 0.0) >= th]
        return (sum(w in found for w in want) / len(want)) if want else None, len(want)

    r50, n50 = recall(0.5)
    r20, n20 = recall(0.2)
    return dict(words=len(words), attempts=len([a for a in atts if a["phase"] != "calibrate"]),
                campaign_hours=round(hours, 4), wall_s=round(res["wall_s"], 1),
                found=len(found), found_per_hour=round(len(found) / hours, 1),
                seconds_per_word=round(hours * 3600 / len(words), 1),
                recall_p_ge_0_5=r50, words_p_ge_0_5=n50, recall_p_ge_0_2=r20, words_p_ge_0_2=n20,
                false_activations=false_act, missed_by_judge=missed, found_words=sorted(found))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=int, default=20, help="candidates for the adaptive design (20)")
    ap.add_argument("--paper-words", type=int, default=6, help="the first M of them for the paper design (6)")
    ap.add_argument("--misfire-share", type=float, default=0.3,
                    help="share of the candidates drawn from the known misfires (0.3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--voices", default="slt,rms,awb")
    ap.add_argument("--leakypick", default=os.path.join(ROOT, "target", "release", "leakypick"))
    a = ap.parse_args()
    p = truth()
    rng = random.Random(a.seed)
    mis = sorted(w for w, v in p.items() if v >= 0.05)
    rest = sorted(w for w, v in p.items() if v < 0.05)
    k = round(a.words * a.misfire_share)
    words = rng.sample(mis, k) + rng.sample(rest, a.words - k)
    rng.shuffle(words)
    paper_words = words[: a.paper_words]
    out = {}
    beds = []
    try:
        threads = []
        for design, ws, prefix in (("adaptive", words, "lbfa-"), ("paper", paper_words, "lbfp-")):
            state = tempfile.mkdtemp(prefix="bench-fuzz-%s-" % design)
            beds.append((state, prefix))
            testbed(state, prefix, "up", "--config", os.path.join(ROOT, "testbed", "fuzz.toml"))
            t = threading.Thread(target=campaign, args=(a.leakypick, state, prefix, ws, design, a.voices, out))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    finally:
        for state, prefix in beds:
            subprocess.run([sys.executable, TESTBED, "down", "--state", state, "--prefix", prefix],
                           capture_output=True)
    if set(out) != {"adaptive", "paper"}:
        raise SystemExit("a campaign did not finish: %s" % sorted(out))
    ad = score(out["adaptive"], p, words)
    pa = score(out["paper"], p, paper_words)
    paper_70s = sum(1 for w in paper_words if w in set(pa["found_words"])) / (70.0 * len(paper_words) / 3600)
    result = dict(
        command=" ".join(sys.argv), seed=a.seed, voices=a.voices, candidates=words,
        true_p={w: p[w] for w in words}, adaptive=ad, paper=pa,
        paper_at_the_papers_70_s_per_word=dict(found_per_hour=round(paper_70s, 1), seconds_per_word=70.0),
        ratio_found_per_hour_vs_paper_design=round(ad["found_per_hour"] / pa["found_per_hour"], 2)
        if pa["found_per_hour"] else None,
        ratio_found_per_hour_vs_papers_70_s=round(ad["found_per_hour"] / paper_70s, 2) if paper_70s else None,
    )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
