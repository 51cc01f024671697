#!/usr/bin/env bash
# End-to-end test of testbed/device.py, standalone (no network namespaces):
# a private PulseAudio with a null sink "room", a local TLS sink on 127.0.0.1 standing in
# for the cloud, five devices (honest assistant, leaky assistant with pre-roll, muted
# assistant, sound-triggered camera, plug), flite speech and synthetic sounds played into
# the room with paplay. Checks the device logs against what the TLS sink received.
#
#   testbed/test_device.sh            # 3 plays per word (about 2 minutes)
#   PLAYS=10 testbed/test_device.sh   # the detection measurement of README-device.md
#   KEEP=1 ...                        # keep the work directory (logs) and print its path
#
# Exits non-zero on failure. Needs root or a user that may run pulseaudio; installs
# missing dependencies with apt-get / pip when run as root (INSTALL=0 to forbid).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEVICE="$HERE/device.py"
PLAYS="${PLAYS:-3}"
PY="${PYTHON:-python3}"

need_apt=()
for c in pulseaudio:pulseaudio paplay:pulseaudio-utils parec:pulseaudio-utils pactl:pulseaudio-utils flite:flite openssl:openssl; do
    command -v "${c%%:*}" >/dev/null 2>&1 || need_apt+=("${c#*:}")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && [ "${INSTALL:-1}" = 1 ]; then
        echo "test_device: installing ${need_apt[*]}" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(printf '%s\n' "${need_apt[@]}" | sort -u) >/dev/null
    else
        echo "test_device: missing commands; apt-get install -y ${need_apt[*]}" >&2
        exit 2
    fi
fi
if ! "$PY" -c 'import pocketsphinx' 2>/dev/null; then
    if [ "${INSTALL:-1}" = 1 ]; then
        "$PY" -m pip install -q -r "$HERE/requirements.txt"
    else
        echo "test_device: missing pocketsphinx; $PY -m pip install -r $HERE/requirements.txt" >&2
        exit 2
    fi
fi

WORK="$(mktemp -d /tmp/leakypick-devtest.XXXXXX)"
chmod 700 "$WORK"
PIDS=()
PA_PID=""
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$PA_PID" ]; then kill "$PA_PID" 2>/dev/null || true; wait "$PA_PID" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then echo "test_device: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

export XDG_RUNTIME_DIR="$WORK/xdg"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export PULSE_SERVER="unix:$WORK/native"
pulseaudio -n --daemonize=no --exit-idle-time=-1 --disable-shm=yes --log-target=file:"$WORK/pulse.log" \
    --load="module-null-sink sink_name=room" \
    --load="module-native-protocol-unix socket=$WORK/native auth-anonymous=1" 2>>"$WORK/pulse.err" &
PA_PID=$!
for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl list short sinks | grep -q room || { echo "test_device: PulseAudio did not start"; cat "$WORK/pulse.err"; exit 1; }

# ---- the cloud: a TLS sink counting bytes per connection --------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=cloud -days 1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
cat >"$WORK/sink.py" <<'EOF'
import json, socket, ssl, sys, threading, time
out = open(sys.argv[1], "a", buffering=1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
print(srv.getsockname()[1], flush=True)
lock = threading.Lock()
def handle(c):
    n, first, t0 = 0, b"", time.time()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        while True:
            b = s.recv(65536)
            if not b:
                break
            if len(first) < 400:
                first += b[:400]
            n += len(b)
    except Exception:
        pass
    try:
        h = json.loads(first.split(b"\n")[0])
    except Exception:
        h = {}
    with lock:
        out.write(json.dumps({"t0": t0, "t1": time.time(), "bytes": n, "device": h.get("device"),
                              "stream": h.get("stream")}) + "\n")
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOF
"$PY" -u "$WORK/sink.py" "$WORK/cloud.jsonl" "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/sink.port" 2>"$WORK/sink.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
PORT="$(head -1 "$WORK/sink.port")"
CLOUD="127.0.0.1:$PORT"

# ---- sounds ----------------------------------------------------------------------------
flite -voice slt -t "Alexa" -o "$WORK/alexa.wav"
flite -voice slt -t "Hey Google" -o "$WORK/heygoogle.wav"
flite -voice slt -t "Major" -o "$WORK/major.wav"
flite -voice slt -t "Computer" -o "$WORK/computer.wav"
flite -voice slt -t "Alexa, what is the weather today" -o "$WORK/command.wav"
"$PY" - "$WORK" <<'EOF'
import math, random, struct, sys, wave
def write(path, seconds, dbfs):
    amp = 32767 * 10 ** (dbfs / 20) * math.sqrt(3)  # uniform noise: rms = amp/sqrt(3)
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", max(-32768, min(32767, int(random.uniform(-amp, amp)))))
                               for _ in range(int(16000 * seconds))))
write(sys.argv[1] + "/glass.wav", 1.2, -12)  # a loud crash: the sound device must react
write(sys.argv[1] + "/hum.wav", 1.2, -50)    # a quiet hum: nobody must react
EOF

# ---- devices ---------------------------------------------------------------------------
BITRATE=88000 FRAME=491 TAIL=0.5 PREROLL=3
common=(--cloud "$CLOUD" --source room.monitor --bitrate "$BITRATE" --frame "$FRAME" --tail "$TAIL"
        --heartbeat-small 3 --heartbeat-medium 8 --insecure)
start_dev() {  # name kind args...
    local name="$1" kind="$2"; shift 2
    "$PY" "$DEVICE" --name "$name" --kind "$kind" --log "$WORK/$name.log" "${common[@]}" "$@" \
        2>"$WORK/$name.err" &
    PIDS+=($!)
    eval "PID_$name=$!"
}
start_dev echo1 assistant --wake-word alexa --preroll 0
start_dev leaky1 assistant --wake-word alexa --preroll "$PREROLL"
start_dev muted1 muted --wake-word alexa --transcribe
start_dev cam1 sound --threshold-db -30
start_dev plug1 plug
# a device whose cloud is down must keep running and retry
"$PY" "$DEVICE" --name lost1 --kind plug --cloud 127.0.0.1:1 --log "$WORK/lost1.log" \
    --heartbeat-small 1 2>"$WORK/lost1.err" &
PIDS+=($!)
PID_lost1=$!
sleep 4  # decoders load, parec streams start

now() { date +%s.%N; }
play() {  # label file|-
    local t0 t1
    t0=$(now)
    if [ "$2" = - ]; then sleep 2; else paplay -d room "$2"; fi
    t1=$(now)
    printf '%s\t%s\t%s\n' "$1" "$t0" "$t1" >>"$WORK/plays.tsv"
    sleep 4.5  # longer than tail + pre-roll backlog, so uploads do not overlap
}
: >"$WORK/plays.tsv"
for i in $(seq "$PLAYS"); do
    play alexa "$WORK/alexa.wav"
    play heygoogle "$WORK/heygoogle.wav"
    play major "$WORK/major.wav"
    play computer "$WORK/computer.wav"
    play silence -
done
play command "$WORK/command.wav"
play glass "$WORK/glass.wav"
play hum "$WORK/hum.wav"
play glass "$WORK/glass.wav"
play hum "$WORK/hum.wav"

# idle CPU of one listening assistant over 10 s (clock ticks of utime+stime)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
c0=$(ticks "$PID_echo1"); sleep 10; c1=$(ticks "$PID_echo1")
CPU_IDLE=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)/hz/10*100}')

PLUG_RECORDING=0
pactl list source-outputs 2>/dev/null | grep -q 'leakypick-plug1' && PLUG_RECORDING=1

RCS=""
for n in echo1 leaky1 muted1 cam1 plug1 lost1; do
    pid_var="PID_$n"
    kill -TERM "${!pid_var}"
    rc=0; wait "${!pid_var}" || rc=$?
    RCS="$RCS $n=$rc"
done
sleep 1  # let the sink log the closed connections

"$PY" - "$WORK" "$PLAYS" "$BITRATE" "$PREROLL" "$CPU_IDLE" "$PLUG_RECORDING" "$RCS" <<'EOF'
import collections, json, sys
work, plays, bitrate, preroll, cpu_idle, plug_rec, rcs = sys.argv[1:8]
plays, bitrate, preroll = int(plays), float(bitrate), float(preroll)
fails, passes = [], []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    (passes if ok else fails).append(what)
def load(name):
    return [json.loads(l) for l in open("%s/%s.log" % (work, name)) if l.strip()]
logs = {n: load(n) for n in ["echo1", "leaky1", "muted1", "cam1", "plug1", "lost1"]}
windows = []
for line in open(work + "/plays.tsv"):
    label, t0, t1 = line.split("\t")
    windows.append((label, float(t0), float(t1) + 2.0))
def label_of(t):
    for label, t0, t1 in windows:
        if t0 <= t <= t1:
            return label
    return "outside"
cloud = [json.loads(l) for l in open(work + "/cloud.jsonl") if l.strip()]

for rc in rcs.split():
    check(rc.endswith("=0"), "exit status on SIGTERM " + rc)
for n, ev in logs.items():
    kinds = [e["event"] for e in ev]
    check(kinds[:1] == ["start"] and kinds[-1:] == ["stop"], "%s: log starts with start and ends with stop" % n)

def hits(name, pred):
    c = collections.Counter()
    for e in logs[name]:
        if pred(e):
            c[label_of(e.get("word_start", e["t"]))] += 1
    return c
wake = {n: hits(n, lambda e: e["event"] == "wake") for n in ["echo1", "leaky1"]}
wake["muted1"] = hits("muted1", lambda e: e["event"] == "heard" and e.get("muted"))
print("\nwake-word hits per %d plays (flite slt):" % plays)
print("%-8s %6s %10s %6s %9s %8s" % ("device", "alexa", "heygoogle", "major", "computer", "silence"))
for n in ["echo1", "leaky1", "muted1"]:
    print("%-8s %6d %10d %6d %9d %8d" % (n, *(wake[n][w] for w in ["alexa", "heygoogle", "major", "computer", "silence"])))
print()
for n in ["echo1", "leaky1", "muted1"]:
    check(wake[n]["alexa"] >= max(1, int(0.7 * plays)), "%s: alexa detected %d/%d" % (n, wake[n]["alexa"], plays))
    check(wake[n]["silence"] == 0, "%s: no wake in silence" % n)
    false = sum(wake[n][w] for w in ["heygoogle", "major", "computer"])
    check(false <= plays, "%s: at most %d false wakes on other words (got %d)" % (n, plays, false))
    check(wake[n]["command"] >= 1, "%s: wakes on the spoken command" % n)

# uploads: one per wake outside an upload, bytes in the log == bytes at the cloud
def uploads(name):
    return [e for e in logs[name] if e["event"] == "upload_end"]
for n in ["echo1", "leaky1", "cam1", "muted1", "plug1", "lost1"]:
    logged = sum(e["bytes"] for e in uploads(n))
    got = sum(c["bytes"] for c in cloud if c["device"] == n and c["stream"] == "audio")
    check(logged == got, "%s: audio bytes logged %d == received by the cloud %d" % (n, logged, got))
    hb_logged = sum(e["bytes"] for e in logs[n] if e["event"] == "heartbeat")
    hb_got = sum(c["bytes"] for c in cloud if c["device"] == n and c["stream"] == "heartbeat")
    check(hb_logged == hb_got, "%s: heartbeat bytes logged %d == received %d" % (n, hb_logged, hb_got))
for n in ["echo1", "leaky1"]:
    w = sum(1 for e in logs[n] if e["event"] == "wake" and not e["during_upload"])
    check(w == len(uploads(n)) and w > 0, "%s: %d uploads for %d wakes" % (n, len(uploads(n)), w))
for n in ["muted1", "plug1", "lost1"]:
    check(not uploads(n) and not [e for e in logs[n] if e["event"] in ("wake", "upload_start")],
          "%s: never uploads audio" % n)
for n in ["echo1", "leaky1", "muted1", "cam1", "plug1"]:
    hb = [e for e in logs[n] if e["event"] == "heartbeat"]
    check(any(e["size"] == "small" for e in hb) and any(e["size"] == "medium" for e in hb),
          "%s: small and medium heartbeats (%d)" % (n, len(hb)))

def per_alexa(name):
    return [e["bytes"] for e in uploads(name) if label_of(e["t"] - e["seconds"]) == "alexa"]
honest, leaky = per_alexa("echo1"), per_alexa("leaky1")
if honest and leaky:
    mh, ml = sum(honest) / len(honest), sum(leaky) / len(leaky)
    extra = preroll * bitrate / 8
    print("bytes per 'alexa' upload: honest %.0f, leaky (pre-roll %.1f s) %.0f, expected extra %.0f" % (mh, preroll, ml, extra))
    check(ml - mh > 0.7 * extra, "leaky device sends the pre-roll (extra %.0f bytes)" % (ml - mh))
    check(2000 < mh < 60000, "honest 'alexa' upload is speech + tail sized (%.0f bytes)" % mh)
else:
    check(False, "uploads for 'alexa' from both assistants")
# the command: upload lasts as long as the speech
cmd = [e for e in uploads("echo1") if label_of(e["t"] - e["seconds"]) == "command"]
check(bool(cmd) and cmd[0]["seconds"] > 2.0, "upload of the command lasts its speech (%s s)" % (cmd and round(cmd[0]["seconds"], 2)))

# muted device hears (and transcribes) what is said
heard = [e for e in logs["muted1"] if e["event"] == "heard"]
check(any("weather" in (e.get("transcript") or "") for e in heard), "muted1: heard and transcribed the command")

# sound device: every crash triggers, the hum does not
cam = hits("cam1", lambda e: e["event"] == "wake")
check(cam["glass"] == 2, "cam1: triggered by both crashes (%d)" % cam["glass"])
check(cam["hum"] == 0 and cam["silence"] == 0, "cam1: not triggered by the hum or silence")
glass_up = [e for e in uploads("cam1") if label_of(e["t"] - e["seconds"]) == "glass"]
exp = (1.2 + 0.5) * bitrate / 8
check(bool(glass_up) and all(0.6 * exp < e["bytes"] < 1.5 * exp for e in glass_up),
      "cam1: upload = loud time + tail (%s bytes, expected ~%.0f)" % ([e["bytes"] for e in glass_up], exp))

check(plug_rec == "0" and not [e for e in logs["plug1"] if e["event"] == "heard"], "plug1: never opens the microphone")
errs = [e for e in logs["lost1"] if e["event"] == "error"]
check(len(errs) >= 2, "lost1: cloud unreachable, %d errors logged, kept retrying" % len(errs))
print("idle CPU of one listening assistant: %s%%" % cpu_idle)
check(float(cpu_idle) < 10, "idle assistant CPU below 10%")
print("\ntest_device: %d passed, %d failed" % (len(passes), len(fails)))
sys.exit(1 if fails else 0)
EOF
