#!/usr/bin/env bash
# Whole-program benchmark: leakypick analyze against the tools a user would otherwise
# run on the same capture, in one run, printing ratios.
#
#   scripts/bench.sh [SIZE_MB]      (default 320)
#   BENCH_SOURCE=simulated scripts/bench.sh [SIZE_MB]
#
# With BENCH_SOURCE=simulated the capture is written by `leakypick simulate` (65 simulated
# devices, fixed seed) instead of being built from the real captures.
#
# It builds bench-data/big.pcap (at least SIZE_MB) by concatenating time-shifted copies
# of the real captures in ../shared/captures (editcap -t, mergecap -a), then times
#   leakypick analyze --format json big.pcap
#   tshark -r big.pcap -q -z endpoints,eth
#   tcpdump -r big.pcap -w /dev/null
# (best of 3 wall-clock runs each, from a warm page cache) and reports peak memory
# (max RSS) of leakypick on the full file and on a quarter of it, to show that memory
# does not grow with the file. Needs tshark, tcpdump, editcap, mergecap and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${1:-320}"
shared="${LEAKYPICK_SHARED_CAPTURES:-../shared/captures}"
for tool in tshark tcpdump editcap mergecap /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench.sh: $tool is missing (apt-get install tshark tcpdump time)" >&2; exit 1; }
done
mkdir -p bench-data
big=bench-data/big.pcap
quarter=bench-data/quarter.pcap

build_capture() {
    local target_mb="$1" out="$2"
    local srcs=("$shared"/smart-speakers/*.pcap "$shared"/negatives/*.pcap "$shared"/cameras/*.pcap)
    local tmp; tmp="$(mktemp -d bench-data/build.XXXX)"
    # One round: every real capture, each shifted in time to start 10 s after the
    # previous one ends, so that the whole file is in time order as a live capture is.
    local i=0 parts=() cursor="" start end shift
    for f in "${srcs[@]}"; do
        read -r start end < <(capinfos -T -r -a -e -S "$f" | awk -F'\t' '{print $2, $3}')
        [ -n "$cursor" ] || cursor="$start"
        shift=$(awk "BEGIN{printf \"%.6f\", $cursor - $start}")
        editcap -F pcap -t "$shift" "$f" "$tmp/p$i.pcap" >/dev/null 2>&1
        cursor=$(awk "BEGIN{printf \"%.6f\", $end + $shift + 10}")
        parts+=("$tmp/p$i.pcap"); i=$((i + 1))
    done
    mergecap -a -F pcap -w "$tmp/round.pcap" "${parts[@]}"
    local round_secs; round_secs=$(capinfos -T -r -u -S "$tmp/round.pcap" | awk -F'\t' '{printf "%d", $2 + 10}')
    local round_bytes; round_bytes=$(stat -c %s "$tmp/round.pcap")
    local rounds=$(( (target_mb * 1024 * 1024 + round_bytes - 1) / round_bytes ))
    local copies=()
    for ((r = 0; r < rounds; r++)); do
        editcap -t $((r * round_secs)) "$tmp/round.pcap" "$tmp/r$r.pcap" >/dev/null
        copies+=("$tmp/r$r.pcap")
    done
    mergecap -a -F pcap -w "$out" "${copies[@]}"
    rm -rf "$tmp"
}

cargo build --release --quiet
bin=target/release/leakypick

if [ "${BENCH_SOURCE:-real}" = simulated ]; then
    big=bench-data/sim-big.pcap
    quarter=bench-data/sim-quarter.pcap
    spec="echo:20@30/h,echodot:10@20/h,camera:25@20/h,hub:5,plug:5"
    # Measure how many bytes ten simulated minutes make, then scale the duration.
    "$bin" simulate --devices "$spec" --duration 600s --seed 42 --out bench-data/probe.pcap --format json > /dev/null
    per10m=$(stat -c %s bench-data/probe.pcap)
    rm -f bench-data/probe.pcap bench-data/probe.labels.csv
    sim() {
        local mb="$1" out="$2" secs
        secs=$(( mb * 1048576 / per10m * 600 + 600 ))
        /usr/bin/time -o bench-data/sim.time -f "%e %M" \
            "$bin" simulate --devices "$spec" --duration "${secs}s" --seed 42 --out "$out" --format json > /dev/null
        read -r t m < bench-data/sim.time
        echo "simulate wrote $(( $(stat -c %s "$out") / 1048576 )) MB in $t s (max RSS $((m / 1024)) MB)" >&2
    }
    [ -f "$big" ] || sim "$size_mb" "$big"
    [ -f "$quarter" ] || sim $((size_mb / 4)) "$quarter"
else
    if [ ! -f "$big" ] || [ "$(stat -c %s "$big")" -lt $((size_mb * 1024 * 1024)) ]; then
        echo "building $big (>= $size_mb MB) from the real captures..." >&2
        build_capture "$size_mb" "$big"
    fi
    if [ ! -f "$quarter" ]; then
        build_capture $((size_mb / 4)) "$quarter"
    fi
fi
packets=$(capinfos -c -M "$big" | awk '/Number of packets/ {print $NF}')
bytes=$(stat -c %s "$big")

# best_of CMD...: prints "seconds max_rss_kb" of the fastest of 3 runs.
best_of() {
    local best_t="" best_m="" stats
    stats="$(mktemp)"
    cat "$big" > /dev/null
    for _ in 1 2 3; do
        /usr/bin/time -o "$stats" -f "%e %M" "$@" > /dev/null 2>&1
        local t m
        read -r t m < "$stats"
        if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN{exit !(a < b)}'; then best_t=$t; best_m=$m; fi
    done
    rm -f "$stats"
    echo "$best_t $best_m"
}

read -r lp_t lp_m < <(best_of "$bin" analyze --format json "$big")
read -r ts_t ts_m < <(best_of tshark -r "$big" -q -z endpoints,eth)
read -r td_t td_m < <(best_of tcpdump -r "$big" -w /dev/null)
read -r lq_t lq_m < <(best_of "$bin" analyze --format json "$quarter")

qbytes=$(stat -c %s "$quarter")
echo
echo "capture: $big, $((bytes / 1024 / 1024)) MB, $packets packets"
printf "%-34s %9s %12s %10s\n" tool seconds "MB/s" "max RSS MB"
row() {
    printf "%-34s %9.2f %12.0f %10.1f\n" "$1" "$2" \
        "$(awk -v b="$bytes" -v t="$2" 'BEGIN{print b/1048576/t}')" "$(awk -v m="$3" 'BEGIN{print m/1024}')"
}
row "leakypick analyze" "$lp_t" "$lp_m"
row "tshark -q -z endpoints,eth" "$ts_t" "$ts_m"
row "tcpdump -r -w /dev/null" "$td_t" "$td_m"
echo
awk "BEGIN{printf \"tshark / leakypick:  %.1fx (target >= 20x)\n\", $ts_t/$lp_t}"
awk "BEGIN{printf \"leakypick / tcpdump: %.2fx (target <= 3x)\n\", $lp_t/$td_t}"
awk "BEGIN{printf \"leakypick packets/s: %.1f million\n\", $packets/$lp_t/1e6}"
echo "leakypick max RSS: $((lq_m / 1024)) MB on $((qbytes / 1024 / 1024)) MB, $((lp_m / 1024)) MB on $((bytes / 1024 / 1024)) MB"
