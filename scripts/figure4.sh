#!/usr/bin/env bash
# The paper's figure 4 on simulated data: the p-value of the idle-versus-active comparison
# falls as the wake word is invoked more often. Prints a Markdown table.
#
#   scripts/figure4.sh [BIN]        (BIN defaults to target/release/leakypick)
#
# One simulated Echo idles for an hour (no activation); the same Echo (same MAC, same
# seed) is then simulated for the next hour at 1, 2, 4, 8, 16 and 30 activations an hour.
# `leakypick compare` takes the idle hour as the idle window and the active hour as the
# probe window, with every test. Deterministic: fixed seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/leakypick}"
[ -x "$bin" ] || { echo "figure4.sh: build first (cargo build --release)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" simulate --devices "echo@0/h" --duration 1h --seed 5 --out "$tmp/idle.pcap" --format json > /dev/null
mac=$(grep -v '^#' "$tmp/idle.labels.csv" | sed -n 2p | cut -d, -f1)
echo "| invocations per hour | activations in the hour | paper (t-test on bins) | Welch | Mann-Whitney | KS | chi-square |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for rate in 1 2 4 8 16 30; do
    "$bin" simulate --devices "echo@$rate/h" --duration 1h --seed 5 --start 1767229200 \
        --out "$tmp/active.pcap" --format json > /dev/null
    n=$(grep -c ',voice' "$tmp/active.labels.csv" || true)
    "$bin" compare "$tmp/idle.pcap" "$tmp/active.pcap" --device "$mac" \
        --idle +0,+3600 --probe +3600,+7200 --test all --format csv 2> /dev/null |
        awk -F, -v r="$rate" -v n="$n" 'NR > 1 { p[$4] = $8 }
            END { printf "| %s | %s | %.3g | %.3g | %.3g | %.3g | %.3g |\n", r, n, p["paper"], p["welch"], p["mann-whitney"], p["ks"], p["chi2"] }'
done
