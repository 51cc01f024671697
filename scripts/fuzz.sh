#!/usr/bin/env bash
# Runs the mutation fuzzer (docs/fuzzing.md) in release for SECONDS (default 600).
# Further arguments go to leakypick-fuzz, e.g. `scripts/fuzz.sh 3600 --seed 7`.
# Exits non-zero on any finding; findings are saved in target/fuzz-findings (or --out).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
[ $# -gt 0 ] && shift
cargo build --release --locked -p leakypick-fuzz
exec target/release/leakypick-fuzz --seconds "$secs" "$@"
