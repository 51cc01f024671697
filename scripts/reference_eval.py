#!/usr/bin/env python3
"""Independent reference for `leakypick evaluate`, used to derive the expected values in
tests/it/evaluate.rs. tshark dissects the capture; this script reads the labels, finds
bursts, matches them and counts slots and window pairs. It shares no code with leakypick
(the paper's binning is borrowed from scripts/reference_compare.py, numpy and scipy do
the statistics).

    python3 scripts/reference_eval.py CAPTURE --labels FILE [--ifttt --device-map NAME=MAC --tz ZONE]
        [--window 1] [--kbps 23] [--n 2] [--slot 10] [--tolerance 2]
        [--stat-window 60] [--threshold 0.42]

Rules (docs/evaluation-format.md):
- labels: native CSV (mac,start,end,kind; epoch seconds or +S after the first packet), or
  an IFTTT log: "Month DD, YYYY at HH:MMAM" in ZONE, each event [minute, minute + 60 s),
  repeated (device, minute, kind) rows merged;
- bursts: as scripts/reference_bursts.py (upload = unicast destination MAC, IP destination
  outside the LAN; windows aligned to the first packet; hot = rate strictly above);
- an activation is widened by the tolerance on both sides; a burst matches it when
  [burst) overlaps [widened activation);
- slots of SLOT seconds aligned to the first packet, over the device's span (first to last
  frame it sent or received): positive = overlaps an activation, margin = overlaps only the
  widened part (not scored), predicted = overlaps a burst;
- window pairs of STAT_WINDOW seconds (idle w_i, probe w_i+1), both within the device's
  span, the probe window complete before the capture's end: positive = probe overlaps an
  activation and idle does not overlap a widened one; negative = neither overlaps a widened
  one; otherwise skipped. Score: the paper's p_size (Student's t-test on auto-binned size
  counts of every frame the device sent); predicted positive when p < THRESHOLD.
Prints one line of counts per device.
"""
import argparse
import csv
import datetime
import importlib.util
import ipaddress
import math
import os
import subprocess
import sys
import zoneinfo
from collections import defaultdict

import numpy as np
from scipy import stats

NS = 1_000_000_000


def load_auto_edges():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_compare.py")
    spec = importlib.util.spec_from_file_location("reference_compare", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.auto_edges


def nanos(text):
    """Exact nanoseconds from a decimal seconds string."""
    neg = text.startswith("-")
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    n = int(whole or "0") * NS + int((frac + "000000000")[:9])
    return -n if neg else n


def is_local(ip):
    a = ipaddress.ip_address(ip)
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        a = a.ipv4_mapped
    if isinstance(a, ipaddress.IPv4Address):
        return any(a in ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")) \
            or a.is_loopback or a.is_link_local or a.is_multicast or a.is_unspecified \
            or a == ipaddress.IPv4Address("255.255.255.255")
    return a.is_loopback or a.is_unspecified or a.is_multicast or a in ipaddress.ip_network("fc00::/7") \
        or a in ipaddress.ip_network("fe80::/10")


def read_frames(capture):
    out = subprocess.run(
        ["tshark", "-r", capture, "-T", "fields", "-E", "separator=\t",
         "-e", "frame.time_epoch", "-e", "frame.len", "-e", "eth.src", "-e", "eth.dst",
         "-e", "ip.dst", "-e", "ipv6.dst"],
        check=True, capture_output=True, text=True).stdout
    frames = []
    for line in out.splitlines():
        f = line.split("\t")
        frames.append((nanos(f[0]), int(f[1]), f[2], f[3], (f[4] or f[5]).split(",")[0]))
    return frames


def read_labels(a, first):
    acts = defaultdict(list)
    if a.ifttt:
        names = dict(e.split("=", 1) for e in a.device_map.split(","))
        tz = zoneinfo.ZoneInfo(a.tz)
        seen = set()
        for row in csv.reader(open(a.labels)):
            if len(row) != 3 or row[1] not in names:
                continue
            local = datetime.datetime.strptime(row[0], "%B %d, %Y at %I:%M%p").replace(tzinfo=tz)
            start = int(local.timestamp()) * NS
            kind = row[2].removeprefix("event_")
            key = (names[row[1]], start, kind)
            if key in seen:
                continue
            seen.add(key)
            acts[names[row[1]]].append((start, start + 60 * NS))
        return acts
    header = None
    for line in open(a.labels):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = [x.strip() for x in line.split(",")]
        if header is None:
            header = f
            continue
        if not f[1]:
            acts[f[0]]
            continue
        t = lambda s: first + nanos(s[1:]) if s.startswith("+") else nanos(s)
        acts[f[0]].append((t(f[1]), t(f[2])))
    return acts


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--labels", required=True)
    ap.add_argument("--ifttt", action="store_true")
    ap.add_argument("--device-map", default="")
    ap.add_argument("--tz", default="UTC")
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--kbps", type=float, default=23.0)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--slot", type=float, default=10.0)
    ap.add_argument("--tolerance", type=float, default=2.0)
    ap.add_argument("--stat-window", type=float, default=60.0)
    ap.add_argument("--threshold", type=float, default=0.42)
    a = ap.parse_args()
    frames = read_frames(a.capture)
    first = frames[0][0]
    capture_end = max(f[0] for f in frames) + 1
    acts = read_labels(a, first)
    W = round(a.window * NS)
    tol = round(a.tolerance * NS)
    slot = round(a.slot * NS)
    d = round(a.stat_window * NS)
    hot = a.kbps * 1000 * a.window / 8
    auto_edges = load_auto_edges()
    for mac in sorted(acts):
        raw = [(s, max(e, s + 1)) for s, e in acts[mac]]
        wide = [(s - tol, e + tol) for s, e in raw]
        mine = [f for f in frames if f[2] == mac or f[3] == mac]
        span = (min(f[0] for f in mine), max(f[0] for f in mine) + 1)
        per = defaultdict(int)
        for t, length, src, dst, ip in frames:
            if src != mac or not dst or int(dst.split(":")[0], 16) & 1 or not ip or is_local(ip):
                continue
            per[(t - first) // W] += length
        bursts, run = [], []
        for w in range(min(per, default=0), max(per, default=-1) + 2):
            if per.get(w, 0) > hot:
                run.append(w)
            else:
                if len(run) >= a.n:
                    bursts.append((first + run[0] * W, first + (run[-1] + 1) * W))
                run = []
        detected = sum(any(overlaps(b, x) for b in bursts) for x in wide)
        false_alarms = sum(not any(overlaps(b, x) for x in wide) for b in bursts)
        slot_of = lambda t: (t - first) // slot
        lo, hi = slot_of(span[0]), slot_of(span[1] - 1)
        def slots(ivs):
            s = set()
            for x, y in ivs:
                s.update(range(max(slot_of(x), lo), min(slot_of(y - 1), hi) + 1))
            return s
        P, M, D = slots(raw), slots(wide), slots(bursts)
        tp = len(P & D)
        fp = len(D - M)
        fn = len(P - D)
        tn = (hi - lo + 1) - len(M) - fp
        # Window pairs.
        sent = sorted((f[0], f[1]) for f in frames if f[2] == mac)
        win = lambda i: (first + i * d, first + (i + 1) * d)
        i0 = (span[0] - first) // d
        last_probe = min((span[1] - 1 - first) // d, (capture_end - first) // d - 1)
        pc = defaultdict(int)
        for i in range(i0, last_probe):
            idle, probe = win(i), win(i + 1)
            if any(overlaps(idle, x) for x in wide) or (
                    any(overlaps(probe, x) for x in wide) and not any(overlaps(probe, x) for x in raw)):
                continue
            label = "pos" if any(overlaps(probe, x) for x in raw) else "neg"
            xs = [l for t, l in sent if idle[0] <= t < idle[1]]
            ys = [l for t, l in sent if probe[0] <= t < probe[1]]
            p = None
            if len(xs) >= 2 and len(ys) >= 2:
                edges = auto_edges(np.array(xs + ys, dtype=float))
                if len(edges) - 1 >= 2:
                    fx, _ = np.histogram(xs, edges)
                    fy, _ = np.histogram(ys, edges)
                    r = stats.ttest_ind(fx, fy).pvalue
                    p = None if math.isnan(r) else r
            flagged = p is not None and p < a.threshold
            pc[(label, flagged)] += 1
        print(f"{mac}\tactivations={len(raw)}\tdetected={detected}\tdetections={len(bursts)}"
              f"\tfalse_alarms={false_alarms}\tslot_tp={tp}\tslot_fp={fp}\tslot_fn={fn}\tslot_tn={tn}"
              f"\tpair_tp={pc[('pos', True)]}\tpair_fp={pc[('neg', True)]}"
              f"\tpair_fn={pc[('pos', False)]}\tpair_tn={pc[('neg', False)]}")


if __name__ == "__main__":
    sys.exit(main())
