#!/usr/bin/env python3
"""Independent reference for `leakypick compare --test paper` (and the raw-sample tests),
used to derive the expected values in tests/it/compare.rs. tshark dissects the capture,
numpy and scipy compute the statistics; nothing is shared with leakypick.

    python3 scripts/reference_compare.py CAPTURE MAC IDLE_START IDLE_END PROBE_START PROBE_END [--installed-auto]

Window bounds are seconds after the first packet; windows are half-open [start, end).
Every frame whose Ethernet source is MAC counts (leakypick's default for compare).
Prints the paper test's edges count, p_size, p_iat and Fisher's combination, then the
Welch, Mann-Whitney (asymptotic) and KS p-values on the raw sizes.
"""
import subprocess
import sys

import numpy as np
from scipy import stats


def auto_edges(data):
    """numpy's bins='auto' as it was before numpy 2.3 (what the paper used): the smaller
    of the Sturges and Freedman-Diaconis widths (Sturges alone when the IQR is 0), which
    is the larger of the two bin counts. numpy 2.3 changed 'auto'; leakypick follows
    the paper's rule."""
    sturges = np.histogram_bin_edges(data, bins="sturges")
    fd = np.histogram_bin_edges(data, bins="fd")
    q75, q25 = np.percentile(data, [75, 25])
    if q75 - q25 == 0:
        return sturges
    return fd if len(fd) > len(sturges) else sturges


USE_INSTALLED_AUTO = "--installed-auto" in sys.argv
if USE_INSTALLED_AUTO:
    sys.argv.remove("--installed-auto")


def paper_p(idle, probe):
    data = np.concatenate([idle, probe])
    # --installed-auto: the installed numpy's own bins='auto' (numpy >= 2.3 gives
    # leakypick's --bin-rule numpy-2.3).
    edges = np.histogram_bin_edges(data, bins="auto") if USE_INSTALLED_AUTO else auto_edges(data)
    f_s, _ = np.histogram(idle, bins=edges)
    f_pr, _ = np.histogram(probe, bins=edges)
    return len(edges) - 1, stats.ttest_ind(f_s, f_pr).pvalue


def main() -> None:
    cap, mac = sys.argv[1], sys.argv[2].lower()
    i0, i1, p0, p1 = map(float, sys.argv[3:7])
    out = subprocess.run(
        ["tshark", "-r", cap, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "eth.src"],
        check=True, capture_output=True, text=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    first = float(rows[0][0])
    # Work in integer nanoseconds like leakypick, so that window membership is exact.
    first_ns = int(round(first * 1e9))
    idle_t, idle_s, probe_t, probe_s = [], [], [], []
    for t, length, src in rows:
        if src.lower() != mac:
            continue
        ns = int(round(float(t) * 1e9)) - first_ns
        if i0 * 1e9 <= ns < i1 * 1e9:
            idle_t.append(float(t)); idle_s.append(float(length))
        if p0 * 1e9 <= ns < p1 * 1e9:
            probe_t.append(float(t)); probe_s.append(float(length))
    idle_s, probe_s = np.array(idle_s), np.array(probe_s)
    bins, p_size = paper_p(idle_s, probe_s)
    _, p_iat = paper_p(np.diff(idle_t), np.diff(probe_t))
    comb = stats.combine_pvalues([p_size, p_iat], method="fisher").pvalue
    print(f"idle_packets={len(idle_s)} probe_packets={len(probe_s)} bins={bins}")
    print(f"paper p_size={p_size!r} p_iat={p_iat!r} p_combined={comb!r}")
    print(f"welch p_size={stats.ttest_ind(idle_s, probe_s, equal_var=False).pvalue!r}")
    print(f"mann-whitney p_size={stats.mannwhitneyu(idle_s, probe_s, method='asymptotic').pvalue!r}")
    print(f"ks p_size={stats.ks_2samp(idle_s, probe_s).pvalue!r}")


if __name__ == "__main__":
    main()
