#!/usr/bin/env python3
"""Independent reference for burst detection, used to derive the expected values in
tests/it/analyze.rs. It shares no code with leakypick: tshark dissects the capture and
this script windows the upload bytes.

    python3 scripts/reference_bursts.py CAPTURE [--window 1] [--kbps 23] [--n 5] [--include-lan]

Rules (the same as documented for `leakypick analyze`): windows of `window` seconds
aligned to the first packet of the capture; a frame is an upload when its source MAC is
the device's, its destination MAC is unicast, and its IP destination is outside the local
network (not RFC 1918, loopback, link-local, multicast, broadcast, 0.0.0.0, ULA,
fe80::/10); bytes are frame.len (the original length); a window is hot when its rate is
strictly above the threshold; a burst is a run of at least n hot windows with no gap.
Prints one line per burst: MAC, start offset, end offset (seconds after the first
packet), bytes, windows.
"""
import argparse
import ipaddress
import subprocess
import sys
from collections import defaultdict


def is_local(ip: str) -> bool:
    a = ipaddress.ip_address(ip)
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        a = a.ipv4_mapped
    if isinstance(a, ipaddress.IPv4Address):
        return (a.is_private and not a.is_global and (a in ipaddress.ip_network("10.0.0.0/8")
                or a in ipaddress.ip_network("172.16.0.0/12") or a in ipaddress.ip_network("192.168.0.0/16"))) \
            or a.is_loopback or a.is_link_local or a.is_multicast or a.is_unspecified \
            or a == ipaddress.IPv4Address("255.255.255.255")
    return a.is_loopback or a.is_unspecified or a.is_multicast or a in ipaddress.ip_network("fc00::/7") \
        or a in ipaddress.ip_network("fe80::/10")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--kbps", type=float, default=23.0)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--include-lan", action="store_true")
    a = ap.parse_args()
    out = subprocess.run(
        ["tshark", "-r", a.capture, "-T", "fields", "-E", "separator=\t",
         "-e", "frame.time_epoch", "-e", "frame.len", "-e", "eth.src", "-e", "eth.dst",
         "-e", "ip.dst", "-e", "ipv6.dst"],
        check=True, capture_output=True, text=True).stdout
    first = None
    per = defaultdict(lambda: defaultdict(int))
    for line in out.splitlines():
        f = line.split("\t")
        t, length, src, dst = float(f[0]), int(f[1]), f[2], f[3]
        if first is None:
            first = t
        if not src or not dst or int(dst.split(":")[0], 16) & 1:
            continue
        ipdst = (f[4] or f[5]).split(",")[0]
        if not ipdst:
            continue
        if not a.include_lan and is_local(ipdst):
            continue
        w = int((t - first) // a.window)
        per[src][w] += length
    hot = a.kbps * 1000 * a.window / 8
    for mac in sorted(per):
        wins = per[mac]
        run = []
        for w in range(0, max(wins) + 2):
            if wins.get(w, 0) > hot:
                run.append(w)
            else:
                if len(run) >= a.n:
                    b = sum(wins[x] for x in run)
                    print(f"{mac}\t{run[0]*a.window:.3f}\t{(run[-1]+1)*a.window:.3f}\t{b}\t{len(run)}")
                run = []


if __name__ == "__main__":
    sys.exit(main())
