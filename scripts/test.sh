#!/usr/bin/env bash
# The whole test suite: what CI runs (`.ci/run`) and what the README tells you to run.
#
# It installs the system tools the tests compare against (tshark, for independent
# expected values) and what the testbed needs (iproute2, pulseaudio, flite, tcpdump,
# openssl, pocketsphinx; see testbed/README.md; it must run as root), then checks
# formatting, lints and runs every test. It must run from the repository root with the
# shared captures at ../shared/captures (or LEAKYPICK_SHARED_CAPTURES pointing at them).
# Any missing piece fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v tshark >/dev/null 2>&1 || need_pkgs+=(tshark)
# The testbed (testbed/testbed.py, tests/it/testbed.rs): namespaces, the room, TTS, capture, TLS.
for tool_pkg in ip:iproute2 pulseaudio:pulseaudio pactl:pulseaudio-utils paplay:pulseaudio-utils \
    pacat:pulseaudio-utils parec:pulseaudio-utils \
    flite:flite tcpdump:tcpdump openssl:openssl mosquitto:mosquitto mosquitto_sub:mosquitto-clients \
    setcap:libcap2-bin setpriv:util-linux espeak-ng:espeak-ng aplay:alsa-utils; do
    command -v "${tool_pkg%%:*}" >/dev/null 2>&1 || need_pkgs+=("${tool_pkg#*:}")
done
python3 -m pip --version >/dev/null 2>&1 || need_pkgs+=(python3-pip)
# Probe playback through ALSA's PulseAudio plugin (tests/it/probe_audio.rs).
dpkg -s libasound2-plugins >/dev/null 2>&1 || need_pkgs+=(libasound2-plugins)
# Live capture (the `live` feature links libpcap).
[ -e /usr/include/pcap.h ] || need_pkgs+=(libpcap-dev)
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
for tool in ip pulseaudio pactl paplay pacat parec flite tcpdump openssl mosquitto mosquitto_sub setcap setpriv espeak-ng aplay; do
    command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: $tool is still missing" >&2; exit 1; }
done
[ -e /usr/include/pcap.h ] || { echo "test.sh: libpcap-dev is still missing (live capture)" >&2; exit 1; }
# The testbed's emulated devices: Python packages (pocketsphinx with its en-us model,
# pymicro-wakeword with its alexa model and numpy; `check` also loads the alexa model).
if ! python3 testbed/testbed.py check >/dev/null 2>&1; then
    echo "test.sh: installing testbed/requirements.txt for $(command -v python3)" >&2
    python3 -m pip install -q -r testbed/requirements.txt ||
        python3 -m pip install -q --break-system-packages -r testbed/requirements.txt ||
        { echo "test.sh: cannot pip install testbed/requirements.txt" >&2; exit 1; }
fi
# Root, every tool and package: fails loudly (the testbed test would fail anyway).
python3 testbed/testbed.py check || { echo "test.sh: the testbed cannot run here" >&2; exit 1; }

shared="${LEAKYPICK_SHARED_CAPTURES:-../shared/captures}"
[ -d "$shared" ] || { echo "test.sh: the shared captures are missing at $shared" >&2; exit 1; }

export INSTA_UPDATE=no # snapshot tests (tests/it/snapshots.rs): a mismatch fails, nothing is written
cargo fmt --all --check
# Without and with the optional live capture (libpcap): both builds must stay clean.
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo test --workspace --all-features --locked
# A short fuzz run (docs/fuzzing.md): the regression seeds, the real captures, then
# mutated captures until 20 s are up; any finding fails. `cargo test` above built it in
# the same profile and features, so only the fuzz crate itself is rebuilt (about 2 s).
cargo run --all-features --locked -p leakypick-fuzz -- --seconds 20

# The emulated device's own end-to-end check (wake-word hits, muted and plug silence,
# bytes logged = bytes received), outside the namespaces.
bash testbed/test_device.sh
