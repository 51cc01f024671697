#!/usr/bin/env bash
# The whole test suite: what CI runs (`.ci/run`) and what the README tells you to run.
#
# It installs the system tools the tests compare against (tshark, for independent
# expected values), then checks formatting, lints and runs every test. It must run
# from the repository root with the shared captures at ../shared/captures
# (or LEAKYPICK_SHARED_CAPTURES pointing at them). Any missing piece fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v tshark >/dev/null 2>&1 || need_pkgs+=(tshark)
if ((${#need_pkgs[@]})); then
    echo "test.sh: installing ${need_pkgs[*]} (needed by the tests)" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "test.sh: need root or sudo to apt-get install ${need_pkgs[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need_pkgs[@]}"
fi
command -v tshark >/dev/null 2>&1 || { echo "test.sh: tshark is still missing" >&2; exit 1; }

shared="${LEAKYPICK_SHARED_CAPTURES:-../shared/captures}"
[ -d "$shared" ] || { echo "test.sh: the shared captures are missing at $shared" >&2; exit 1; }

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
