#!/usr/bin/env python3
"""Repeated probing sessions on the testbed: detection rate, false alarms, session time.

    sudo python3 scripts/probe_experiment.py [--sessions 20] [--out docs/probing-results.md]

Brings the testbed up once (testbed/testbed.py, the home of tests/it/testbed.rs: an
assistant with wake word "alexa", a muted assistant, a sound-triggered hub, a plug), then
runs `leakypick probe` N times on the gateway bridge with the probes "alexa", "major" (the
paper's neutral word) and a generated dog bark, and scores every (device, probe) verdict
against what each device really does:

    assistant: reacts to "alexa" only     hub: reacts to the bark (a loud sound)
    muted assistant, plug: never react
    (whether the hub's RMS trigger fires on the spoken words depends on their loudness:
    reported, not scored)

Detection rate = verdicts "reacted" among the pairs that should react; false alarms =
verdicts "reacted" among the pairs that should not. Also the time each session took.
Needs root, the testbed's packages, and a live build (cargo build --release --features live).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSISTANT, MUTED, HUB, PLUG = (
    "68:db:f5:77:00:01", "68:db:f5:77:00:02", "02:6c:70:77:00:03", "02:6c:70:77:00:04")
NAMES = {ASSISTANT: "assistant (alexa)", MUTED: "muted assistant", HUB: "sound-triggered hub",
         PLUG: "plug"}
PROBES = ["alexa", "major", "bark"]
TRUTH = {
    (ASSISTANT, "alexa"): True, (ASSISTANT, "major"): False, (ASSISTANT, "bark"): False,
    (HUB, "alexa"): None, (HUB, "major"): None, (HUB, "bark"): True,
}
for mac in (MUTED, PLUG):
    for p in PROBES:
        TRUTH[(mac, p)] = False

HOME = """
[defaults]
bitrate = 88000
frame = 491
tail = 1.5
preroll = 0.0

[[device]]
name = "echo1"
kind = "assistant"
wake_word = "alexa"
mac = "68:db:f5:77:00:01"

[[device]]
name = "echo_muted"
kind = "muted"
wake_word = "alexa"
mac = "68:db:f5:77:00:02"

[[device]]
name = "hub"
kind = "sound"
mac = "02:6c:70:77:00:03"

[[device]]
name = "plug"
kind = "plug"
mac = "02:6c:70:77:00:04"
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--out", default=None, help="also write the results as Markdown here")
    ap.add_argument("--probe-args", default="--idle 8 --window 12 --every 6 --settle 4 --retests 1",
                    help="timing options passed to leakypick probe")
    ap.add_argument("--decide-by", default="burst")
    a = ap.parse_args()

    binary = os.path.join(REPO, "target", "release", "leakypick")
    subprocess.run(["cargo", "build", "--release", "--features", "live", "--quiet"], cwd=REPO, check=True)
    state = tempfile.mkdtemp(prefix="lpk-probe-exp-")
    prefix = f"lpk-x{os.getpid()}-"
    script = [sys.executable, os.path.join(REPO, "testbed", "testbed.py")]
    opts = ["--state", state, "--prefix", prefix]
    home = os.path.join(state, "home.toml")
    with open(home, "w") as f:
        f.write(HOME)
    subprocess.run(script + ["up", "--config", home] + opts, check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, PULSE_SERVER=f"unix:{state}/pulse/native", XDG_RUNTIME_DIR=state,
               HOME=os.path.join(state, "home"))
    counts = {}  # (mac, probe) -> times reacted
    durations, failures = [], 0
    try:
        for i in range(a.sessions):
            t0 = time.time()
            r = subprocess.run(
                ["ip", "netns", "exec", prefix + "gw", binary, "probe", "-i", "br0",
                 "--words", "alexa,major", "--sound", "bark", "--audio-device", "room",
                 "--format", "json", "--no-history", "--decide-by", a.decide_by,
                 "--cache-dir", os.path.join(state, "cache")] + a.probe_args.split(),
                env=env, capture_output=True, text=True)
            took = time.time() - t0
            if r.returncode != 0:
                failures += 1
                print(f"session {i + 1}: FAILED: {r.stderr.strip()[-400:]}", file=sys.stderr)
                continue
            durations.append(took)
            got = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            flagged = []
            for v in got:
                if v.get("type") == "verdict" and v.get("reacted"):
                    key = (v["mac"], v["probe"])
                    counts[key] = counts.get(key, 0) + 1
                    flagged.append(f"{NAMES.get(v['mac'], v['mac'])}:{v['probe']}")
            print(f"session {i + 1}: {took:.0f} s; reacted: {', '.join(flagged) or 'none'}", file=sys.stderr)
    finally:
        subprocess.run(script + ["down"] + opts, stdout=subprocess.DEVNULL)

    n = len(durations)
    pos = [k for k, v in TRUTH.items() if v is True]
    neg = [k for k, v in TRUTH.items() if v is False]
    tp = sum(counts.get(k, 0) for k in pos)
    fp = sum(counts.get(k, 0) for k in neg)
    lines = [
        f"{n} sessions completed ({failures} failed), probes {', '.join(PROBES)}, "
        f"`leakypick probe {a.probe_args} --decide-by {a.decide_by}`.",
        "",
        "| device | probe | should react | reacted in |",
        "|---|---|---|---:|",
    ]
    for (mac, probe), should in sorted(TRUTH.items(), key=lambda kv: (list(NAMES).index(kv[0][0]), PROBES.index(kv[0][1]))):
        should_text = "not scored" if should is None else ("yes" if should else "no")
        lines.append(f"| {NAMES[mac]} | {probe} | {should_text} | {counts.get((mac, probe), 0)}/{n} |")
    lines += [
        "",
        f"- Detection rate: {tp}/{len(pos) * n} = {100.0 * tp / max(1, len(pos) * n):.1f}% of the "
        f"(device, probe) pairs that should react.",
        f"- False alarms: {fp}/{len(neg) * n} = {100.0 * fp / max(1, len(neg) * n):.1f}% of the pairs "
        f"that should not.",
    ]
    if durations:
        lines.append(
            f"- Session time: median {statistics.median(durations):.0f} s, min {min(durations):.0f} s, "
            f"max {max(durations):.0f} s (3 probes, re-tests included).")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
