#!/usr/bin/env bash
# Live-path benchmark: how fast a stream `leakypick monitor -i` follows without kernel
# drops on one core, and what it costs at a home's rate, next to tcpdump on the same stream.
#
#   sudo scripts/bench-live.sh [RATE_MBPS...]      (default: 20 100 250 500 1000 top)
#   BENCH_SECONDS=10   seconds of traffic per rate (default 10)
#   BENCH_CONFIG=FILE  a monitor config to use (e.g. to try capture.immediate = false)
#
# Mixed home traffic: every real capture in ../shared/captures (Echo speakers, a Blink
# camera and hub), concatenated, replayed in a loop by `leakypick replay --mbps R` (or
# --top-speed) from one network namespace into another over a veth pair (MTU 9000, IPv6
# off, no addresses, no routes). The replayer is pinned to CPU 0, the capturing program to
# CPU 1. For each rate it runs, one after the other:
#   leakypick monitor -i vb    (the whole monitor: capture, detection, history, log alerts)
#   tcpdump -i vb -w /dev/null (what a user would otherwise run; it only captures),
#                              with the monitor's default buffer (32 MiB) and snaplen
# and reports frames sent and captured, kernel drops (from libpcap's counters, as each
# program prints them at exit), CPU time as a share of one core over the replay, and the
# monitor's peak memory (VmHWM). Needs root, iproute2, tcpdump, mergecap (tshark), taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-live.sh: needs root (network namespaces, capture)" >&2; exit 1; }
for tool in ip tcpdump mergecap taskset; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench-live.sh: $tool is missing" >&2; exit 1; }
done
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(20 100 250 500 1000 top)
secs="${BENCH_SECONDS:-10}"
shared="${LEAKYPICK_SHARED_CAPTURES:-../shared/captures}"

cargo build --release --features live --quiet
bin="$PWD/target/release/leakypick"
work="$(mktemp -d)"
na="lpkbench$$a"
nb="lpkbench$$b"
cleanup() {
    ip netns del "$na" 2>/dev/null || true
    ip netns del "$nb" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mix="$work/mix.pcap"
mergecap -a -F pcap -w "$mix" "$shared"/smart-speakers/*.pcap "$shared"/negatives/*.pcap "$shared"/cameras/*.pcap
mix_bytes=$(stat -c %s "$mix")

ip netns add "$na"
ip netns add "$nb"
ip -n "$na" link add va mtu 9000 type veth peer name vb mtu 9000 netns "$nb"
ip netns exec "$na" sysctl -qw net.ipv6.conf.va.disable_ipv6=1
ip netns exec "$nb" sysctl -qw net.ipv6.conf.vb.disable_ipv6=1
ip -n "$na" link set va up
ip -n "$nb" link set vb up
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# replay RATE -> prints "frames mbps seconds" of the replay
replay() {
    local rate="$1" pacing loops
    if [ "$rate" = top ]; then
        pacing=(--top-speed)
        loops=$(( (1000 * 1000000 / 8 * secs + mix_bytes - 1) / mix_bytes ))
    else
        pacing=(--mbps "$rate")
        loops=$(( (rate * 1000000 / 8 * secs + mix_bytes - 1) / mix_bytes ))
    fi
    ip netns exec "$na" taskset -c 0 "$bin" replay -i va "$mix" "${pacing[@]}" --loop "$loops" --format json 2>/dev/null |
        python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["frames"], round(d["mbps"],1), round(d["seconds"],2))'
}

# measure NAME RATE CMD... : runs CMD in the capture namespace on CPU 1 during a replay
measure() {
    local name="$1" rate="$2"; shift 2
    local log="$work/$name-$rate.log"
    ip netns exec "$nb" taskset -c 1 "$@" >/dev/null 2>"$log" &
    local pid=$!
    for _ in $(seq 100); do
        grep -q -e "monitoring vb" -e "listening on vb" "$log" 2>/dev/null && break
        sleep 0.1
    done
    local c0; c0=$(cpu_ticks "$pid")
    read -r frames mbps rsecs < <(replay "$rate")
    sleep 1
    local c1; c1=$(cpu_ticks "$pid")
    local hwm; hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true
    local cpu; cpu=$(awk "BEGIN{printf \"%.1f\", ($c1 - $c0) / $hz / ($rsecs + 1) * 100}")
    local got drop
    if [ "$name" = monitor ]; then
        got=$(sed -n 's/.*stopped: \([0-9]*\) frames.*/\1/p' "$log")
        drop=$(sed -n 's/.*kernel dropped \([0-9]*\) and the interface.*/\1/p' "$log")
    else
        got=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$log")
        drop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$log")
    fi
    printf "%-8s %-6s %10s %9s %10s %8s %6s%% %7s\n" "$name" "$rate" "$frames" "$mbps" "${got:-?}" "${drop:-?}" "$cpu" "$hwm"
}

echo "mix: $(basename "$mix") $((mix_bytes / 1024)) KiB of real captures, ${secs} s per rate; $(nproc) CPUs: $(lscpu | sed -n 's/^Model name: *//p')"
printf "%-8s %-6s %10s %9s %10s %8s %7s %7s\n" PROGRAM RATE SENT MBIT/S CAPTURED DROPPED CPU RSS_MB
for rate in "${rates[@]}"; do
    measure monitor "$rate" "$bin" monitor -i vb --data-dir "$work/history-$rate" --format json \
        ${BENCH_CONFIG:+--config "$BENCH_CONFIG"}
    # tcpdump with the monitor's capture settings (32 MiB buffer, snaplen 2048, batches).
    measure tcpdump "$rate" tcpdump -i vb -n -s 2048 -B 32768 -w /dev/null
done
