#!/usr/bin/env python3
"""Reference values for leakypick's statistics module (crates/leakypick-core/src/stats).

Runs numpy and scipy on fixed inputs and writes
crates/leakypick-core/tests/fixtures/stats.json, which
crates/leakypick-core/tests/stats_reference.rs (and unit tests inside the module)
check case by case. Deterministic: every random input comes from a fixed seed.

    python3 scripts/gen_stats_fixtures.py            # writes the fixture file
    python3 scripts/gen_stats_fixtures.py --check    # fails if the file would change

Floats are written as strings (Python's repr, which round-trips exactly) so that no
JSON parser can be off by an ulp. Where numpy/scipy raise or return NaN, or where
leakypick deliberately returns an error (documented in the Rust code), a result is
{"error": "<StatsError variant>"} plus scipy's raw output when there is one.

numpy changed `bins='auto'` in 2.3 (numpy PR #28426). The paper used the earlier
rule, which leakypick calls `AutoBinRule::Legacy`; this script obtains it by
putting numpy 2.2's `_hist_bin_auto` (verbatim) in place of the current one, so the
rest of numpy's code path (percentile, linspace, histogram) is the installed one.
"""

import argparse
import json
import math
import os
import platform
import sys
import warnings

import numpy as np
import scipy
import scipy.special as sc
import scipy.stats as st
from numpy.lib import _histograms_impl as hist_impl

MAX_BINS = 100_000  # leakypick's cap (stats::MAX_BINS)
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "leakypick-core", "tests", "fixtures", "stats.json",
)


def f(x):
    """A float, exactly: an integer when it is a whole number below 2^53 (any JSON
    parser reads those exactly), otherwise Python's round-tripping repr as a string."""
    x = float(x)
    if x.is_integer() and abs(x) < 2.0 ** 53 and not (x == 0 and math.copysign(1, x) < 0):
        return int(x)
    return repr(x)


def fl(xs):
    return [f(x) for x in xs]


# ---------------------------------------------------------------- histograms

def _legacy_hist_bin_auto(x, range):
    """numpy 2.2's _hist_bin_auto, verbatim (the rule before numpy 2.3)."""
    fd_bw = hist_impl._hist_bin_fd(x, range)
    sturges_bw = hist_impl._hist_bin_sturges(x, range)
    del range  # unused
    if fd_bw:
        return min(fd_bw, sturges_bw)
    else:
        # limited variance, so we return a len dependent bw estimator
        return sturges_bw


_CURRENT_AUTO = hist_impl._hist_bin_selectors["auto"]


class auto_rule:
    """Context manager selecting numpy's 'auto' rule: 'legacy' or 'numpy23'."""

    def __init__(self, rule):
        self.rule = rule

    def __enter__(self):
        if self.rule == "legacy":
            hist_impl._hist_bin_selectors["auto"] = _legacy_hist_bin_auto
        elif int(np.__version__.split(".")[0]) < 2 or (
            np.__version__.startswith("2.") and int(np.__version__.split(".")[1]) < 3
        ):
            raise SystemExit("the 'numpy23' rule needs numpy >= 2.3 installed")

    def __exit__(self, *exc):
        hist_impl._hist_bin_selectors["auto"] = _CURRENT_AUTO


def as_array(data, integer):
    return np.array(data, dtype=np.int64 if integer else np.float64)


def planned_bins(a):
    """numpy's n_equal_bins for bins='auto', computed by numpy's own selector
    without allocating the edges (so a huge count can be reported, not built)."""
    first, last = hist_impl._get_outer_edges(a, None)
    width = hist_impl._hist_bin_selectors["auto"](a, (first, last))
    if not width:
        return 1
    if np.issubdtype(a.dtype, np.integer) and width < 1:
        width = 1
    ratio = np.ceil(hist_impl._unsigned_subtract(last, first) / width)
    return ratio


def auto_edges(data, rule, integer):
    """{'edges': [...]} or {'error': ...} for np.histogram_bin_edges(data, 'auto')."""
    a = as_array(data, integer)
    if a.size == 0:
        return {"error": "TooFewValues"}
    with auto_rule(rule):
        bins = planned_bins(a)
        if not np.isfinite(bins) or bins > MAX_BINS:
            return {"error": "TooManyBins", "numpy_bins": f(bins)}
        try:
            edges = np.histogram_bin_edges(a, bins="auto")
        except ValueError as e:
            assert "Too many bins" in str(e), e
            return {"error": "BinsTooNarrow"}
        counts, edges2 = np.histogram(a, bins="auto")
    assert np.array_equal(edges, edges2)
    return {"edges": fl(edges), "auto_counts": [int(c) for c in counts]}


def explicit_counts(data, edges):
    return [int(c) for c in np.histogram(np.array(data, dtype=np.float64), bins=np.array(edges))[0]]


# ---------------------------------------------------------------- tests

def result(stat, p):
    return {"statistic": f(stat), "pvalue": f(p)}


def student(a, b):
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0 or n1 + n2 < 3:
        return {"error": "TooFewValues"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.ttest_ind(np.array(a, float), np.array(b, float))
    if not (np.isfinite(r.statistic) and np.isfinite(r.pvalue)):
        return {"error": "ZeroVariance", "scipy": [f(r.statistic), f(r.pvalue)]}
    return result(r.statistic, r.pvalue)


def welch(a, b):
    if len(a) < 2 or len(b) < 2:
        return {"error": "TooFewValues"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.ttest_ind(np.array(a, float), np.array(b, float), equal_var=False)
    if not (np.isfinite(r.statistic) and np.isfinite(r.pvalue)):
        return {"error": "ZeroVariance", "scipy": [f(r.statistic), f(r.pvalue)]}
    return result(r.statistic, r.pvalue)


def mwu(a, b, method):
    if len(a) == 0 or len(b) == 0:
        return {"error": "TooFewValues"}
    r = st.mannwhitneyu(np.array(a, float), np.array(b, float), alternative="two-sided",
                        use_continuity=True, method=method)
    assert np.isfinite(r.pvalue)
    return result(r.statistic, r.pvalue)


def ks(a, b, method):
    if len(a) == 0 or len(b) == 0:
        return {"error": "TooFewValues"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.ks_2samp(np.array(a, float), np.array(b, float), alternative="two-sided",
                        method=method)
    if not np.isfinite(r.pvalue):
        # 'asymp' with one value per sample: the effective size rounds to 0.
        assert method == "asymp" and len(a) == len(b) == 1
        return {"error": "TooFewValues", "scipy": [f(r.statistic), f(r.pvalue)]}
    return result(r.statistic, r.pvalue)


def chi2(ca, cb):
    if len(ca) != len(cb):
        return {"error": "LengthMismatch"}
    obs = np.array([ca, cb], dtype=np.int64)
    keep = obs.sum(axis=0) > 0
    obs = obs[:, keep]
    if obs.shape[1] == 0 or np.any(obs.sum(axis=1) == 0):
        return {"error": "ZeroCounts"}
    if obs.shape[1] < 2:
        r = st.chi2_contingency(obs, correction=False)
        return {"error": "TooFewBins", "scipy": [f(r.statistic), f(r.pvalue)]}
    r = st.chi2_contingency(obs, correction=False)
    return result(r.statistic, r.pvalue)


def fisher(ps):
    if len(ps) == 0:
        return {"error": "TooFewValues"}
    if any(not (0 <= p <= 1) for p in ps):
        return {"error": "InvalidProbability"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.combine_pvalues(np.array(ps, float), method="fisher")
    return {"pvalue": f(r.pvalue)}


def two_sample(name, a, b):
    return {
        "name": name,
        "a": fl(a),
        "b": fl(b),
        "student": student(a, b),
        "welch": welch(a, b),
        "mwu_auto": mwu(a, b, "auto"),
        "mwu_asymptotic": mwu(a, b, "asymptotic"),
        "ks_auto": ks(a, b, "auto"),
        "ks_asymp": ks(a, b, "asymp"),
        "ks_exact": ks(a, b, "exact"),
    }


# ---------------------------------------------------------------- inputs

def echo_sizes(rng, n, probing):
    """Frame lengths typical of an Echo: ACKs and keep-alives when idle, plus
    full-size segments and mid-size TLS records while it streams audio."""
    idle = np.array([54, 60, 66, 66, 66, 91, 123, 139, 171, 491, 587])
    if not probing:
        return [int(v) for v in rng.choice(idle, size=n)]
    stream = np.array([1514, 1514, 1514, 1514, 1326, 66, 66, 491, 603, 1090])
    pick = rng.random(n) < 0.7
    out = np.where(pick, rng.choice(stream, size=n), rng.choice(idle, size=n))
    return [int(v) for v in out]


def interarrivals(rng, n, probing):
    """Inter-arrival times from 1e-6 s to 30 s (microsecond resolution, as in pcap
    files): keep-alive gaps when idle, bursts of back-to-back segments while
    streaming."""
    if probing:
        fast = 10 ** rng.uniform(-6, -2, size=n)
        slow = rng.exponential(1.0, size=n)
        out = np.where(rng.random(n) < 0.8, fast, slow)
    else:
        out = np.minimum(10 ** rng.uniform(-3, math.log10(30), size=n), 30.0)
    # pcap timestamps have microsecond resolution.
    return [float(np.round(v, 6)) for v in out]


def build():
    rng = np.random.default_rng(20240611)
    cases = {"versions": {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "generator": "scripts/gen_stats_fixtures.py",
    }}

    # ---- histogram edges on hand-made and random data
    hist_inputs = [
        ("single value", [5.0], False),
        ("two values", [1.0, 2.0], False),
        ("constant", [3.0] * 7, False),
        ("integers on edges 0..10", [float(i) for i in range(11)], False),
        ("tenths 0..1", [i / 10 for i in range(11)], False),
        ("negative values", [-5.5, -3.25, -1.0, 0.0, 0.5, 2.0, 7.75, -0.125], False),
        ("iqr zero, few outliers", [1.0] * 40 + [2.0, 3.0, 50.0], False),
        ("iqr zero, many ties", [0.0] * 900 + [10.0] * 100, False),
        ("echo sizes integer dtype", echo_sizes(rng, 400, True), True),
        ("echo sizes float dtype", [float(v) for v in echo_sizes(rng, 400, True)], False),
        ("echo idle integer dtype", echo_sizes(rng, 60, False), True),
        ("narrow integer spread", [100 + int(v) for v in rng.integers(0, 3, size=5000)], True),
        ("narrow spread as floats", [100.0 + float(v) for v in rng.integers(0, 3, size=5000)], False),
        ("tiny magnitudes", [1e-300, 2e-300, 3.5e-300, 8e-300], False),
        ("large magnitudes", [1e15, 1e15 + 2, 1e15 + 5, 1e15 + 1024], False),
        ("interarrival log spread", interarrivals(rng, 300, True), False),
        ("normal 1000", [float(v) for v in np.round(rng.normal(500, 80, 1000), 6)], False),
        ("clusters far apart (too many bins)", [0.0] * 10 + [1e-9] * 10 + [1e6], False),
        ("range of a few ulps (bins too narrow)",
         [1.0, 1.0 + 2.0 ** -52] * 500 + [1.0 + 100 * 2.0 ** -52], False),
        ("empty", [], False),
    ]
    cases["histograms"] = []
    for name, data, integer in hist_inputs:
        for rule in ("legacy", "numpy23"):
            entry = {"name": name, "rule": rule, "integer": integer, "data": fl(data)}
            entry.update(auto_edges(data, rule, integer))
            cases["histograms"].append(entry)

    # ---- explicit edges (np.histogram(data, bins=edges)), incl. values on edges
    explicit = [
        ("on edges", [0.0, 1.0, 1.0, 2.0, 3.0, 3.0], [0.0, 1.0, 2.0, 3.0]),
        ("outside and on last edge", [-1.0, 0.5, 3.0, 3.5, 10.0], [0.0, 1.0, 2.0, 3.0]),
        ("repeated edges", [0.0, 1.0, 1.5, 2.0], [0.0, 1.0, 1.0, 2.0]),
        ("repeated last edge", [1.0, 2.0, 2.0], [0.0, 2.0, 2.0]),
        ("tenths", [i / 10 for i in range(11)], [i / 10 for i in range(0, 11, 2)]),
    ]
    cases["explicit_histograms"] = [
        {"name": n, "data": fl(d), "edges": fl(e), "counts": explicit_counts(d, e)}
        for n, d, e in explicit
    ]

    # ---- the paper's pipeline: common 'auto' edges, counts, t-test on counts
    pipeline_inputs = []
    for i, (n_idle, n_probe, probing) in enumerate([
        (40, 300, True), (60, 60, False), (120, 900, True), (25, 25, True),
        (200, 180, False), (80, 2500, True), (15, 400, True), (300, 300, True),
    ]):
        pipeline_inputs.append((f"sizes {n_idle} idle vs {n_probe} {'probe' if probing else 'idle'} #{i}",
                                echo_sizes(rng, n_idle, False), echo_sizes(rng, n_probe, probing), True))
    for i, (n_idle, n_probe, probing) in enumerate([(50, 400, True), (100, 100, False), (30, 250, True)]):
        pipeline_inputs.append((f"interarrival {n_idle} vs {n_probe} #{i}",
                                interarrivals(rng, n_idle, False), interarrivals(rng, n_probe, probing), False))
    pipeline_inputs.append(("one bin: all sizes equal", [66] * 10, [66] * 12, True))
    pipeline_inputs.append(("two values only", [66] * 10 + [1514], [1514] * 5 + [66], True))
    cases["pipeline"] = []
    for name, idle, probe, integer in pipeline_inputs:
        entry = {"name": name, "idle": fl(idle), "probe": fl(probe), "variants": []}
        for rule in ("legacy", "numpy23"):
            for as_int in ([True, False] if integer else [False]):
                concat = list(idle) + list(probe)
                e = auto_edges(concat, rule, as_int)
                var = {"rule": rule, "integer": as_int}
                var.update({k: v for k, v in e.items() if k != "auto_counts"})
                if "edges" in e:
                    edges = np.array([float(x) for x in e["edges"]])
                    fi = np.histogram(as_array(idle, as_int), bins=edges)[0]
                    fp = np.histogram(as_array(probe, as_int), bins=edges)[0]
                    var["counts_idle"] = [int(c) for c in fi]
                    var["counts_probe"] = [int(c) for c in fp]
                    var["ttest_counts"] = student(list(map(float, fi)), list(map(float, fp)))
                    var["chi2_counts"] = chi2([int(c) for c in fi], [int(c) for c in fp])
                entry["variants"].append(var)
        cases["pipeline"].append(entry)

    # ---- two-sample tests on raw values
    ts = []
    ts.append(("ties", [1, 2, 2, 3, 3, 3], [2, 3, 3, 4, 4, 5]))
    ts.append(("both constant, equal", [5.0] * 6, [5.0] * 6))
    ts.append(("both constant, different", [5.0] * 5, [7.0] * 5))
    ts.append(("one constant", [3.0] * 8, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    ts.append(("identical samples", [1.5, 2.5, 10.0, 3.0], [1.5, 2.5, 10.0, 3.0]))
    ts.append(("n=2 each", [1.0, 2.0], [3.0, 5.0]))
    ts.append(("n=1 vs 5", [4.0], [1.0, 2.0, 3.0, 5.0, 6.0]))
    ts.append(("n=1 vs 1", [1.0], [2.0]))
    ts.append(("empty a", [], [1.0, 2.0]))
    ts.append(("separated 3 vs 3", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]))
    ts.append(("negative values", [-3.5, -1.25, 0.0, 2.0, -7.0, 1.5], [-0.5, 4.0, 3.25, 9.0, 0.75]))
    ts.append(("8 vs 8 no ties (mwu exact)", list(np.round(rng.normal(0, 1, 8), 6)),
               list(np.round(rng.normal(0.8, 1, 8), 6))))
    ts.append(("8 vs 9 no ties (mwu exact)", list(np.round(rng.normal(0, 1, 8), 6)),
               list(np.round(rng.normal(0.3, 1, 9), 6))))
    ts.append(("9 vs 9 no ties (mwu asymptotic)", list(np.round(rng.normal(0, 1, 9), 6)),
               list(np.round(rng.normal(0.3, 1, 9), 6))))
    ts.append(("3 vs 4 with ties", [1.0, 2.0, 2.0], [2.0, 3.0, 4.0, 5.0]))
    ts.append(("frame lengths idle vs probe", echo_sizes(rng, 120, False), echo_sizes(rng, 800, True)))
    ts.append(("frame lengths idle vs idle", echo_sizes(rng, 150, False), echo_sizes(rng, 170, False)))
    ts.append(("interarrival 1e-6..30 s", interarrivals(rng, 200, False), interarrivals(rng, 600, True)))
    ts.append(("5 vs 3000 continuous", list(np.round(rng.normal(1, 1, 5), 9)),
               list(np.round(rng.normal(0, 1, 3000), 9))))
    ts.append(("3000 vs 5 continuous", list(np.round(rng.normal(0, 1, 3000), 9)),
               list(np.round(rng.normal(-0.5, 1, 5), 9))))
    ts.append(("equal sizes 50 vs 50 shifted", list(np.round(rng.normal(0, 1, 50), 6)),
               list(np.round(rng.normal(0.5, 1, 50), 6))))
    ts.append(("equal sizes 400 vs 400 same", list(np.round(rng.normal(0, 1, 400), 6)),
               list(np.round(rng.normal(0, 1, 400), 6))))
    ts.append(("large small-p", list(np.round(rng.normal(0, 1, 2000), 6)),
               list(np.round(rng.normal(0.6, 1, 1500), 6))))
    ts.append(("huge degrees of freedom", list(np.round(rng.normal(0, 1, 3000), 4)),
               list(np.round(rng.normal(0.01, 1.3, 2500), 4))))
    # Above 10 000 values, ks 'auto' is asymptotic (scipy's kstwo distribution).
    ts.append(("ks asymp, en ~ 99 (Pomeranz/DMTW)", list(np.round(rng.normal(0, 1, 10001), 3)),
               list(np.round(rng.normal(0.15, 1, 100), 3))))
    ts.append(("ks asymp, en ~ 132, large shift (smirnov)", list(np.round(rng.normal(0, 1, 10002), 3)),
               list(np.round(rng.normal(0.6, 1, 133), 3))))
    ts.append(("ks asymp, en ~ 1900 shifted (smirnov)", list(np.round(rng.normal(0, 1, 10003), 3)),
               list(np.round(rng.normal(0.08, 1, 2300), 3))))
    ts.append(("ks asymp, integer sizes", echo_sizes(rng, 10500, False), echo_sizes(rng, 900, True)))
    cases["two_sample"] = [two_sample(n, [float(v) for v in a], [float(v) for v in b]) for n, a, b in ts]

    # ---- chi-square on counts
    chi_inputs = [
        ("3 bins", [10, 20, 30], [15, 25, 5]),
        ("zero columns dropped", [0, 10, 0, 20, 30, 0], [0, 15, 0, 25, 5, 0]),
        ("two bins (no Yates)", [12, 3], [5, 9]),
        ("one bin left", [0, 7, 0], [0, 3, 0]),
        ("a sample empty", [0, 0, 0], [1, 2, 3]),
        ("length mismatch", [1, 2], [1, 2, 3]),
        ("identical", [4, 0, 6, 9], [4, 0, 6, 9]),
        ("large counts", [int(v) for v in rng.integers(0, 5000, 40)], [int(v) for v in rng.integers(0, 5000, 40)]),
        ("very different", [1000, 1, 1, 1], [1, 1, 1, 1000]),
    ]
    cases["chi2"] = [{"name": n, "counts_a": a, "counts_b": b, "result": chi2(a, b)} for n, a, b in chi_inputs]

    # ---- Fisher's combination
    fisher_inputs = [
        [0.5], [0.01, 0.2], [1e-10] * 5, [0.0, 0.3], [1.0, 1.0], [0.9] * 100,
        [0.42, 0.43], [0.05, 0.05, 0.05], [1e-300, 1e-300], [0.999999, 1e-5, 0.3, 0.7],
        [float(v) for v in rng.uniform(0, 1, 30)], [1e-200] * 40, [], [1.5], [-0.1, 0.5],
    ]
    cases["fisher"] = [{"ps": fl(ps), "result": fisher(ps)} for ps in fisher_inputs]

    # ---- special functions directly (checked by unit tests in the module)
    special = {"student_t": [], "chi2_sf": [], "kstwo_sf": [], "smirnov": []}
    for df in [1.0, 2.0, 3.0, 4.5, 10.0, 29.3, 100.0, 1234.5, 5e4, 1e6, 3e7]:
        for t in [0.0, 1e-8, 1e-3, 0.3, 1.0, 1.7, 2.5, 4.0, 8.0, 20.0, 60.0, 300.0, 3000.0]:
            if df == 1.0 and t == 1e-8:
                # scipy's stdtr is off by 3e-9 here (the Cauchy closed form gives
                # 1 - 2 atan(t)/pi = 0.99999999363380228); a unit test checks that.
                continue
            special["student_t"].append([f(df), f(t), f(2 * sc.stdtr(df, -t))])
    for df in [1, 2, 3, 7, 20, 99, 100, 1001, 20000, 99999]:
        for x in [1e-6, 0.1, 1.0, 0.5 * df, df - 1.0, float(df), 1.2 * df + 3, 2.0 * df + 10, 5.0 * df + 50]:
            if x > 0:
                special["chi2_sf"].append([f(df), f(x), f(sc.chdtrc(df, x))])
    for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 500, 2000, 10000, 100000, 100001, 2000000]:
        for d in [0.4 / n, 0.7 / n, 1.0 / n, 1.5 / n, 0.5 / math.sqrt(n), 0.8 / math.sqrt(n),
                  1.1 / math.sqrt(n), 1.6 / math.sqrt(n), 2.5 / math.sqrt(n), 5.0 / math.sqrt(n),
                  12.0 / math.sqrt(n), 0.3, 0.55, 0.9, 1.0 - 1.0 / n, 1.0 - 0.5 / n]:
            if 0 < d <= 1:
                special["kstwo_sf"].append([f(n), f(d), f(st.kstwo.sf(d, n))])
    for n in [2, 3, 5, 10, 50, 141, 1000, 100000, 200000, 1000001]:
        for x in [0.01, 0.1, 0.3, 0.5, 0.75, 0.99, 1.5 / math.sqrt(n), 3.0 / math.sqrt(n)]:
            if 0 < x < 1:
                special["smirnov"].append([f(n), f(x), f(sc.smirnov(n, x))])
    cases["special"] = special
    return cases


def dumps(obj, indent=0):
    """JSON with one key per line but lists of scalars on one line, so that the
    file stays small and diffs stay readable."""
    pad = " " * indent
    if isinstance(obj, dict):
        items = [f'{pad} {json.dumps(k)}: {dumps(v, indent + 1).lstrip()}' for k, v in obj.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return pad + "[\n" + ",\n".join(dumps(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return pad + json.dumps(obj, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the fixture file is out of date")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    text = dumps(build()) + "\n"
    if args.check:
        with open(args.out) as fh:
            if fh.read() != text:
                sys.exit(f"{args.out} is out of date; rerun scripts/gen_stats_fixtures.py")
        return
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {os.path.normpath(args.out)} ({len(text) // 1024} KiB)")


if __name__ == "__main__":
    main()
