#!/usr/bin/env python3
"""leakypick testbed: an emulated smart home in network namespaces whose devices really listen.

  testbed.py check                      are root and every tool and package here?
  testbed.py up     [--config F]        create the namespaces, the room, the cloud, the capture, the devices
  testbed.py status [--format table|json]
  testbed.py play   WORD|FILE.wav       speak a word (flite) or play a file into the room
  testbed.py stop-capture               stop tcpdump on the gateway (the pcap is then complete)
  testbed.py down   [--purge]           stop everything and remove the namespaces (also after a crash)
  testbed.py demo   [--keep]            up, play "Alexa", "Hey Google", "major", analyse, report, down

Every command takes --state DIR (default /run/leakypick-testbed) and --prefix P (default
"lpk-"; the namespaces are P+"gw", P+"cloud", P+"dev-"+NAME). Python 3.11 standard library
only; it runs ip, pulseaudio, pactl, paplay, flite, tcpdump and openssl. See testbed/README.md.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_STATE = "/run/leakypick-testbed"
DEFAULT_PREFIX = "lpk-"
DEFAULT_CONFIG = os.path.join(HERE, "home.toml")

LAN = ipaddress.ip_network("192.168.77.0/24")
GW_LAN_IP = "192.168.77.1"
GW_CLOUD_IP = "203.0.113.1"
CLOUD_IP = "203.0.113.10"
CLOUD_NET_LEN = 24
BRIDGE_MAC = "02:6c:70:00:00:01"

KINDS = ("assistant", "muted", "sound", "plug")
SPOTTERS = ("pocketsphinx", "micro")
# pymicro-wakeword's built-in models (spotter.MICRO_MODELS)
MICRO_WORDS = ("alexa", "hey jarvis", "hey mycroft", "okay nabu", "ok nabu")
# Device-log events that say the device has started listening (or, for a plug, running).
READY_EVENTS = {"listening", "ready", "started", "start"}
# Device-log events that say the device started an upload (woke up / was triggered).
WAKE_EVENTS = {"wake", "trigger", "triggered"}

TOOLS = ["ip", "pulseaudio", "pactl", "paplay", "pacat", "parec", "flite", "tcpdump", "openssl"]


class TestbedError(Exception):
    pass



# Bytes a TLS 1.2/1.3 application-data record adds to its payload on an Ethernet wire:
# 14 Ethernet + 20 IPv4 + 32 TCP (with timestamps) + 5 record header + 17 (AEAD tag and
# inner content type). Measured on a testbed capture: 491-byte payloads were 579-byte frames.
WIRE_OVERHEAD = 88


def tls_payload(wire_frame):
    """The payload size that makes each uploaded record `wire_frame` bytes on the wire,
    so that `frame` in the config means what a capture shows (the real Echo's 491)."""
    return max(1, int(wire_frame) - WIRE_OVERHEAD)

def note(msg):
    print(f"testbed: {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, capture=True, env=None, timeout=60):
    p = subprocess.run(
        cmd,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and p.returncode != 0:
        raise TestbedError(f"`{' '.join(cmd)}` failed ({p.returncode}): {(p.stderr or '').strip()}")
    return p


# ---------------------------------------------------------------------------------------------
# configuration


def mac_for(name, index):
    """A deterministic locally administered unicast MAC (02:6c:70 = 'lp') for a device."""
    h = 0
    for c in name.encode():
        h = (h * 131 + c) & 0xFFFF
    return f"02:6c:70:{(index + 0x10) & 0xFF:02x}:{h >> 8:02x}:{h & 0xFF:02x}"


def load_config(path):
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise TestbedError(f"config {path}: no such file")
    except tomllib.TOMLDecodeError as e:
        raise TestbedError(f"config {path}: {e}")
    defaults = {
        "wake_word": "alexa",
        "bitrate": 88000,
        "frame": 491,
        "tail": 1.5,
        "preroll": 0.0,
        "heartbeat_small": 20.0,
        "heartbeat_medium": 300.0,
        "threshold_db": -30.0,
        "spotter": "pocketsphinx",
        "gain_jitter_db": 0.0,
        "cutoff_jitter": 0.0,
        "speech_db": -45.0,
    }
    defaults.update(raw.get("defaults", {}))
    room = {"noise": "none", "noise_db": -50.0, "noise_seed": 0}
    room.update(raw.get("room", {}))
    if room["noise"] not in ("none", "pink", "babble"):
        raise TestbedError(f"config {path}: [room] noise must be none, pink or babble (got {room['noise']!r})")
    if not isinstance(room["noise_db"], (int, float)) or not -90 <= room["noise_db"] <= -20:
        raise TestbedError(f"config {path}: [room] noise_db must be a number of dBFS in -90..-20")
    cloud = {"port": 8443}
    cloud.update(raw.get("cloud", {}))
    devices = []
    seen_names, seen_macs, seen_ips = set(), set(), set()
    for i, d in enumerate(raw.get("device", [])):
        dev = dict(defaults)
        dev.update(d)
        where = f"config {path}: device {i + 1}"
        name = dev.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,24}", name):
            raise TestbedError(f"{where}: name must be 1-24 of a-z 0-9 _ (got {name!r})")
        if name in seen_names:
            raise TestbedError(f"{where}: duplicate name {name}")
        if dev.get("kind") not in KINDS:
            raise TestbedError(f"{where} ({name}): kind must be one of {', '.join(KINDS)}")
        if dev.get("spotter") not in SPOTTERS:
            raise TestbedError(f"{where} ({name}): spotter must be one of {', '.join(SPOTTERS)}")
        if dev["kind"] in ("assistant", "muted") and dev["spotter"] == "micro" \
                and " ".join(str(dev["wake_word"]).lower().replace("_", " ").split()) not in MICRO_WORDS:
            raise TestbedError(f"{where} ({name}): the micro spotter has models for "
                               f"{', '.join(MICRO_WORDS)} only (wake_word {dev['wake_word']!r})")
        mac = str(dev.get("mac") or mac_for(name, i)).lower()
        if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac) or int(mac[:2], 16) & 1:
            raise TestbedError(f"{where} ({name}): bad or multicast MAC {mac}")
        ip = str(dev.get("ip") or LAN[10 + i])
        if ipaddress.ip_address(ip) not in LAN or ip in (GW_LAN_IP, str(LAN[0]), str(LAN[-1])):
            raise TestbedError(f"{where} ({name}): ip {ip} must be a host of {LAN} other than .1")
        if mac in seen_macs or ip in seen_ips:
            raise TestbedError(f"{where} ({name}): MAC or IP used twice")
        seen_names.add(name)
        seen_macs.add(mac)
        seen_ips.add(ip)
        dev.update(name=name, mac=mac, ip=ip, index=i)
        devices.append(dev)
    if not devices:
        raise TestbedError(f"config {path}: no [[device]]")
    return {"path": os.path.abspath(path), "devices": devices, "cloud": cloud, "room": room}


# ---------------------------------------------------------------------------------------------
# state


class State:
    def __init__(self, state_dir, prefix=None):
        self.dir = os.path.abspath(state_dir)
        self.file = os.path.join(self.dir, "state.json")
        self.data = None
        if os.path.exists(self.file):
            with open(self.file) as f:
                self.data = json.load(f)
        self.prefix = prefix or (self.data or {}).get("prefix") or DEFAULT_PREFIX
        if not re.fullmatch(r"[a-z0-9-]{1,20}-", self.prefix):
            raise TestbedError(f"bad prefix {self.prefix!r}: 1-20 of a-z 0-9 - ending in -")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    @property
    def gw(self):
        return self.prefix + "gw"

    @property
    def cloud(self):
        return self.prefix + "cloud"

    def dev_ns(self, name):
        return self.prefix + "dev-" + name

    def owns_ns(self, ns):
        return ns in (self.gw, self.cloud) or ns.startswith(self.prefix + "dev-")

    def save(self):
        os.makedirs(self.dir, exist_ok=True)
        tmp = self.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=2)
        os.replace(tmp, self.file)

    def pulse_server(self):
        return "unix:" + self.path("pulse", "native")

    def client_env(self):
        env = dict(os.environ)
        env["PULSE_SERVER"] = self.pulse_server()
        env["XDG_RUNTIME_DIR"] = self.dir
        env["HOME"] = self.path("home")
        return env


def list_netns():
    p = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def pid_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def own_ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            pid = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, ValueError):
            break
    return pids


# ---------------------------------------------------------------------------------------------
# check


def check_prereqs(need_device_deps=True):
    problems = []
    if os.geteuid() != 0:
        problems.append("not root: the testbed creates network namespaces (run as root)")
    if sys.version_info < (3, 11):
        problems.append(f"python {sys.version.split()[0]} < 3.11 (tomllib)")
    for t in TOOLS:
        if shutil.which(t) is None:
            problems.append(f"missing tool `{t}` (apt-get install iproute2 pulseaudio pulseaudio-utils flite tcpdump openssl)")
    if need_device_deps:
        for mod in device_modules():
            p = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True, text=True)
            if p.returncode != 0:
                problems.append(f"python module `{mod}` missing for {sys.executable} (python3 -m pip install -r testbed/requirements.txt)")
        if "pymicro_wakeword" in device_modules() and not any("pymicro_wakeword" in p for p in problems):
            p = subprocess.run([sys.executable, "-c", MICRO_CHECK], capture_output=True, text=True)
            if p.returncode != 0 or "ok" not in p.stdout:
                problems.append("pymicro_wakeword cannot load its built-in alexa model: "
                                + ((p.stderr or p.stdout).strip().splitlines() or ["?"])[-1])
        if not os.path.exists(os.path.join(HERE, "device.py")):
            problems.append("testbed/device.py is missing")
    return problems


MICRO_CHECK = (
    "from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model\n"
    "m = MicroWakeWord.from_builtin(Model.ALEXA); f = MicroWakeWordFeatures()\n"
    "n = sum(1 for x in f.process_streaming(bytes(3200)) if m.process_streaming_prob(x) is not None)\n"
    "print('ok' if n > 0 else 'no features')\n"
)


def device_modules():
    """Python modules the device needs: from testbed/requirements.txt, else pocketsphinx."""
    req = os.path.join(HERE, "requirements.txt")
    mods = []
    if os.path.exists(req):
        with open(req) as f:
            for line in f:
                line = line.split("#")[0].strip()
                if line:
                    mods.append(re.split(r"[<>=!~\[; ]", line)[0].replace("-", "_").lower())
    return mods or ["pocketsphinx"]


def cmd_check(a):
    problems = check_prereqs(need_device_deps=a.device_cmd is None)
    for p in problems:
        print(f"MISSING: {p}")
    if problems:
        return 1
    print("ok: root, " + ", ".join(TOOLS) + ", python modules " + ", ".join(device_modules()))
    return 0


# ---------------------------------------------------------------------------------------------
# up


def record_proc(st, name, popen, cmd, netns=None, log=None):
    st.data["procs"].append({"name": name, "pid": popen.pid, "cmd": cmd, "netns": netns, "log": log})
    st.save()


def spawn(st, name, cmd, log, netns=None, env=None):
    full = (["ip", "netns", "exec", netns] if netns else []) + cmd
    out = open(log, "ab")
    p = subprocess.Popen(
        full, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    out.close()
    record_proc(st, name, p, full, netns, log)
    return p


def wait_for(what, pred, timeout, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            raise TestbedError(f"{what}: the process exited ({proc.returncode}){tail(log)}")
        time.sleep(0.1)
    raise TestbedError(f"{what}: not ready after {timeout:.0f} s{tail(log)}")


def tail(path, n=15):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        lines = f.readlines()[-n:]
    return f"\n--- last lines of {path} ---\n" + "".join(lines)


def ns_ip(ns, *args):
    run(["ip", "-n", ns] + list(args))


def ns_sysctl(ns, key, value):
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"])


def add_netns(st, ns):
    run(["ip", "netns", "add", ns])
    st.data["namespaces"].append(ns)
    st.save()
    ns_ip(ns, "link", "set", "lo", "up")
    # IPv6 off: no router solicitations or DAD chatter in the capture, IPv4 only.
    ns_sysctl(ns, "net.ipv6.conf.all.disable_ipv6", 1)
    ns_sysctl(ns, "net.ipv6.conf.default.disable_ipv6", 1)


def is_up(st):
    if not st.data:
        return False
    present = set(list_netns())
    return all(ns in present for ns in st.data.get("namespaces", [])) and any(
        pid_alive(p["pid"]) for p in st.data.get("procs", [])
    )


def cmd_up(a):
    st = State(a.state, a.prefix)
    if st.data and is_up(st):
        raise TestbedError(f"already up (state {st.file}); run `down` first")
    if not a.no_check:
        problems = check_prereqs(need_device_deps=a.device_cmd is None)
        if problems:
            raise TestbedError("cannot start:\n  " + "\n  ".join(problems))
    cfg = load_config(a.config)
    leftovers = [ns for ns in list_netns() if st.owns_ns(ns)]
    if st.data or leftovers:
        note("cleaning up a previous run first")
        do_down(st, purge=False, quiet=True)
        st = State(a.state, a.prefix)
    try:
        up(st, cfg, a)
    except BaseException:
        note("up failed; tearing down what was started")
        try:
            do_down(State(a.state, a.prefix), purge=False, quiet=True)
        except Exception as e:  # keep the original error
            note(f"teardown after failure: {e}")
        raise
    return 0


def up(st, cfg, a):
    os.makedirs(st.dir, exist_ok=True)
    os.chmod(st.dir, 0o755)
    for sub in ("devices", "pulse", "home", "tts"):
        os.makedirs(st.path(sub), exist_ok=True)
    for old in ("gateway.pcap", "cloud.log", "probes.log", "pulse.log", "tcpdump.log", "cloud.out", "noise.log"):
        if os.path.exists(st.path(old)):
            os.remove(st.path(old))
    for f in os.listdir(st.path("devices")):
        os.remove(st.path("devices", f))
    st.data = {
        "prefix": st.prefix,
        "state_dir": st.dir,
        "config": cfg["path"],
        "started": time.time(),
        "up": False,
        "namespaces": [],
        "procs": [],
        "devices": [],
        "gateway": {"ns": st.gw, "bridge": "br0", "ip": GW_LAN_IP, "mac": BRIDGE_MAC},
        "cloud": {"ns": st.cloud, "ip": CLOUD_IP, "port": cfg["cloud"]["port"]},
        "capture": st.path("gateway.pcap"),
        "probes": st.path("probes.log"),
        "pulse_server": st.pulse_server(),
    }
    st.save()
    t0 = time.time()

    # --- network: gateway with a bridge, cloud behind it, one namespace per device
    add_netns(st, st.gw)
    ns_sysctl(st.gw, "net.ipv4.ip_forward", 1)
    ns_ip(st.gw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
    ns_ip(st.gw, "link", "set", "br0", "address", BRIDGE_MAC)
    ns_ip(st.gw, "addr", "add", f"{GW_LAN_IP}/{LAN.prefixlen}", "dev", "br0")
    ns_ip(st.gw, "link", "set", "br0", "up")

    add_netns(st, st.cloud)
    # The veths are created inside the gateway namespace with the peer placed straight into
    # the other namespace: no interface ever exists in the root namespace.
    ns_ip(st.gw, "link", "add", "vcloud", "type", "veth", "peer", "name", "eth0", "netns", st.cloud)
    ns_ip(st.gw, "addr", "add", f"{GW_CLOUD_IP}/{CLOUD_NET_LEN}", "dev", "vcloud")
    ns_ip(st.gw, "link", "set", "vcloud", "up")
    ns_ip(st.cloud, "addr", "add", f"{CLOUD_IP}/{CLOUD_NET_LEN}", "dev", "eth0")
    ns_ip(st.cloud, "link", "set", "eth0", "up")
    ns_ip(st.cloud, "route", "add", str(LAN), "via", GW_CLOUD_IP)

    for dev in cfg["devices"]:
        ns = st.dev_ns(dev["name"])
        add_netns(st, ns)
        gw_if = f"vd{dev['index']}"
        ns_ip(st.gw, "link", "add", gw_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ns_ip(st.gw, "link", "set", gw_if, "master", "br0")
        ns_ip(st.gw, "link", "set", gw_if, "up")
        ns_ip(ns, "link", "set", "eth0", "address", dev["mac"])
        ns_ip(ns, "addr", "add", f"{dev['ip']}/{LAN.prefixlen}", "dev", "eth0")
        ns_ip(ns, "link", "set", "eth0", "up")
        ns_ip(ns, "route", "add", "default", "via", GW_LAN_IP)
        st.data["devices"].append(
            {
                "name": dev["name"],
                "kind": dev["kind"],
                "mac": dev["mac"],
                "ip": dev["ip"],
                "netns": ns,
                "gw_if": gw_if,
                "wake_word": dev.get("wake_word"),
                "spotter": dev.get("spotter") if dev["kind"] in ("assistant", "muted") else None,
                "log": st.path("devices", dev["name"] + ".log"),
                "stderr": st.path("devices", dev["name"] + ".err"),
            }
        )
    st.save()
    with open(st.path("names.txt"), "w") as f:
        for d in st.data["devices"]:
            f.write(f"{d['mac']} {d['name']}\n")
        f.write(f"{BRIDGE_MAC} gateway\n")

    # --- the cloud's certificate
    cert, key = st.path("cloud.crt"), st.path("cloud.key")
    run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", cert, "-days", "30",
            "-subj", "/CN=cloud.testbed.invalid", "-addext", f"subjectAltName=IP:{CLOUD_IP}",
        ]
    )

    # --- the room: a PulseAudio null sink; the devices record its monitor
    penv = dict(os.environ)
    penv.update(
        XDG_RUNTIME_DIR=st.dir,
        HOME=st.path("home"),
        PULSE_RUNTIME_PATH=st.path("pulse"),
        PULSE_STATE_PATH=st.path("pulse"),
    )
    penv.pop("PULSE_SERVER", None)
    sock = st.path("pulse", "native")
    pulse_cmd = [
        "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
        "--disallow-exit", "--log-target=stderr",
        # 16 kHz mono, the devices' own format: a 16 kHz WAV (flite's slt, rms, awb) reaches
        # parec unresampled, so a device hears exactly what wake_truth.py mixes offline
        # (the default 44.1 kHz stereo sink cut 7-8 kHz by ~12 dB and raised the micro
        # spotter's probabilities by ~0.04)
        "--load=module-null-sink sink_name=room rate=16000 channels=1 format=s16le "
        "sink_properties=device.description=room",
        f"--load=module-native-protocol-unix auth-anonymous=1 socket={sock}",
    ]
    pulse = spawn(st, "pulseaudio", pulse_cmd, st.path("pulse.log"), env=penv)

    def pulse_ready():
        if not os.path.exists(sock):
            return False
        p = subprocess.run(["pactl", "-s", st.pulse_server(), "list", "short", "sinks"],
                           capture_output=True, text=True, env=st.client_env())
        return p.returncode == 0 and "room" in p.stdout

    wait_for("pulseaudio", pulse_ready, 20, pulse, st.path("pulse.log"))

    # --- room noise, looped into the room for as long as the testbed is up
    room = cfg["room"]
    st.data["room"] = dict(room)
    if room["noise"] != "none":
        noise_cmd = [sys.executable, os.path.join(HERE, "spotter.py"), "noise", "--kind", room["noise"],
                     "--db", str(room["noise_db"]), "--seed", str(room["noise_seed"]),
                     "--cache", st.path("tts")]
        noise = spawn(st, "room-noise", noise_cmd, st.path("noise.log"), env=st.client_env())

        def noise_playing():
            p = subprocess.run(["pactl", "list", "short", "sink-inputs"], capture_output=True, text=True,
                               env=st.client_env())
            return p.returncode == 0 and p.stdout.strip() != ""

        wait_for("room noise", noise_playing, 60, noise, st.path("noise.log"))
        info = next((r for r in read_jsonl(st.path("noise.log")) if r.get("event") == "noise"), {})
        st.data["room"]["loudest_chunk_db"] = info.get("loudest_chunk_db")
        gates = [float(d["speech_db"]) for d in cfg["devices"] if d["kind"] != "plug"]
        if gates and info.get("loudest_chunk_db") is not None and info["loudest_chunk_db"] >= min(gates):
            raise TestbedError(f"room noise {room['noise']} at {room['noise_db']} dBFS has 100 ms chunks at "
                               f"{info['loudest_chunk_db']} dBFS, not below the speech gate {min(gates)} dBFS: "
                               "lower [room] noise_db")

    # --- the cloud
    cloud_log = st.path("cloud.log")
    cloud = spawn(
        st, "cloud",
        [sys.executable, os.path.join(HERE, "cloud.py"), "--port", str(cfg["cloud"]["port"]),
         "--cert", cert, "--key", key, "--log", cloud_log],
        st.path("cloud.out"), netns=st.cloud,
    )
    wait_for("cloud", lambda: os.path.exists(cloud_log) and "listening" in open(cloud_log).read(),
             20, cloud, st.path("cloud.out"))

    # --- the capture on the gateway's bridge, before the devices connect
    tlog = st.path("tcpdump.log")
    tcpdump = spawn(
        st, "tcpdump",
        ["tcpdump", "-i", "br0", "-n", "-U", "-Z", "root", "-w", st.data["capture"]],
        tlog, netns=st.gw,
    )
    wait_for("tcpdump", lambda: os.path.exists(tlog) and "listening on" in open(tlog).read(),
             20, tcpdump, tlog)

    # --- the devices
    cloud_addr = f"{CLOUD_IP}:{cfg['cloud']['port']}"
    base = a.device_cmd.split() if a.device_cmd else [sys.executable, os.path.join(HERE, "device.py")]
    for dev, sd in zip(cfg["devices"], st.data["devices"]):
        cmd = base + [
            "--name", dev["name"], "--kind", dev["kind"], "--wake-word", str(dev["wake_word"]),
            "--cloud", cloud_addr, "--source", "room.monitor", "--log", sd["log"],
            "--bitrate", str(dev["bitrate"]), "--frame", str(tls_payload(dev["frame"])),
            "--tail", str(dev["tail"]), "--preroll", str(dev["preroll"]),
            "--heartbeat-small", str(dev["heartbeat_small"]),
            "--heartbeat-medium", str(dev["heartbeat_medium"]),
            "--threshold-db", str(dev["threshold_db"]), "--insecure",
            "--spotter", str(dev["spotter"]), "--speech-db", str(dev["speech_db"]),
            "--gain-jitter-db", str(dev["gain_jitter_db"]), "--cutoff-jitter", str(dev["cutoff_jitter"]),
        ]
        if dev.get("seed") is not None:
            cmd += ["--seed", str(int(dev["seed"]))]
        p = spawn(st, "device:" + dev["name"], cmd, sd["stderr"], netns=sd["netns"], env=st.client_env())
        sd["pid"] = p.pid
    st.data["up"] = True
    st.save()
    note(f"up in {time.time() - t0:.1f} s: {len(cfg['devices'])} devices, state {st.dir}")
    if not a.no_wait:
        wait_ready(st, a.timeout)
    print(json.dumps({"state": st.dir, "capture": st.data["capture"], "prefix": st.prefix,
                      "devices": [{k: d[k] for k in ("name", "kind", "mac", "ip", "netns")}
                                  for d in st.data["devices"]]}))


def read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def rec_event(rec):
    return str(rec.get("event") or rec.get("type") or rec.get("ev") or "")


def rec_time(rec):
    for k in ("t", "time", "ts"):
        if isinstance(rec.get(k), (int, float)):
            return float(rec[k])
    return None


def device_ready(d):
    return any(rec_event(r) in READY_EVENTS for r in read_jsonl(d["log"]))


def wait_ready(st, timeout):
    t0 = time.time()
    devs = st.data["devices"]
    while True:
        waiting = [d for d in devs if not device_ready(d)]
        if not waiting:
            note(f"all {len(devs)} devices listening after {time.time() - t0:.1f} s")
            return
        for d in waiting:
            if not pid_alive(d["pid"]):
                raise TestbedError(f"device {d['name']} exited before it was ready{tail(d['stderr'])}")
        if time.time() - t0 > timeout:
            names = ", ".join(d["name"] for d in waiting)
            raise TestbedError(f"devices not listening after {timeout:.0f} s: {names}"
                               + "".join(tail(d["stderr"], 8) for d in waiting))
        time.sleep(0.2)


def cmd_wait(a):
    st = require_up(a)
    wait_ready(st, a.timeout)
    return 0


def require_up(a):
    st = State(a.state, a.prefix)
    if not st.data or not st.data.get("up"):
        raise TestbedError(f"not up (no {st.file}); run `up` first")
    return st


# ---------------------------------------------------------------------------------------------
# down


def do_down(st, purge=False, quiet=False):
    removed = {"processes": 0, "namespaces": 0}
    victims = set()
    ours = own_ancestors()
    data = st.data or {}
    for p in data.get("procs", []):
        pid = p["pid"]
        cl = pid_cmdline(pid)
        # only a pid that still runs what we started (a pid may have been reused)
        if pid_alive(pid) and cl and p["cmd"] and os.path.basename(p["cmd"][0]) in cl:
            victims.add(pid)
    present = list_netns()
    mine = [ns for ns in present if st.owns_ns(ns)]
    for ns in mine:
        r = run(["ip", "netns", "pids", ns], check=False)
        victims.update(int(x) for x in r.stdout.split() if x.isdigit())
    needle = st.dir.rstrip("/") + "/"
    for ent in os.listdir("/proc"):
        if ent.isdigit() and needle in pid_cmdline(int(ent)):
            victims.add(int(ent))
    victims -= ours
    # tcpdump first, with SIGINT, so that the capture file is closed cleanly
    order = sorted(victims, key=lambda pid: 0 if "tcpdump" in pid_cmdline(pid) else 1)
    for pid in order:
        try:
            os.kill(pid, signal.SIGINT if "tcpdump" in pid_cmdline(pid) else signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 5
    while time.time() < deadline and any(pid_alive(p) for p in victims):
        time.sleep(0.05)
    for pid in victims:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    removed["processes"] = len(victims)
    for ns in mine:
        r = run(["ip", "netns", "del", ns], check=False)
        if r.returncode != 0:
            time.sleep(0.2)
            run(["ip", "netns", "del", ns], check=False)
        removed["namespaces"] += 1
    left = [ns for ns in list_netns() if st.owns_ns(ns)]
    if os.path.exists(st.file):
        os.replace(st.file, st.path("state.last.json"))
    for sub in ("pulse", "home"):
        shutil.rmtree(st.path(sub), ignore_errors=True)
    if purge:
        shutil.rmtree(st.dir, ignore_errors=True)
    if left:
        raise TestbedError(f"namespaces still present after down: {', '.join(left)}")
    if not quiet:
        if removed["processes"] or removed["namespaces"]:
            note(f"down: stopped {removed['processes']} processes, removed {removed['namespaces']} namespaces")
        else:
            note("down: nothing was running")
    return removed


def cmd_down(a):
    do_down(State(a.state, a.prefix), purge=a.purge)
    return 0


# ---------------------------------------------------------------------------------------------
# status


def device_summary(d):
    recs = read_jsonl(d["log"])
    events = {}
    for r in recs:
        e = rec_event(r) or "?"
        events[e] = events.get(e, 0) + 1
    wakes = [r for r in recs if rec_event(r) in WAKE_EVENTS]
    sent = None
    for r in reversed(recs):  # the latest running total the device reports, if any
        for k in ("bytes_total", "total_bytes", "sent_total", "tx_total"):
            if isinstance(r.get(k), (int, float)):
                sent = r[k]
                break
        if sent is not None:
            break
    if sent is None:
        s = sum(r.get("bytes", 0) for r in recs if isinstance(r.get("bytes"), (int, float)))
        sent = s if s else None
    last = recs[-1] if recs else None
    return {
        "records": len(recs),
        "events": events,
        "wakes": len(wakes),
        "bytes_sent": sent,
        "last": last,
        "ready": any(rec_event(r) in READY_EVENTS for r in recs),
    }


def gather_status(st):
    present = list_netns()
    data = st.data or {}
    procs = []
    for p in data.get("procs", []):
        procs.append({"name": p["name"], "pid": p["pid"], "netns": p["netns"], "alive": pid_alive(p["pid"])})
    cap = data.get("capture")
    devices = []
    for d in data.get("devices", []):
        s = device_summary(d)
        s.update({k: d[k] for k in ("name", "kind", "mac", "ip", "netns")})
        s["alive"] = pid_alive(d.get("pid", -1))
        devices.append(s)
    cloud = read_jsonl(st.path("cloud.log"))
    return {
        "type": "testbed_status",
        "state": st.dir,
        "prefix": st.prefix,
        "up": bool(data.get("up")),
        "capture_stopped": bool(data.get("capture_stopped")),
        "namespaces": [ns for ns in present if st.owns_ns(ns)],
        "processes": procs,
        "capture": cap,
        "capture_bytes": os.path.getsize(cap) if cap and os.path.exists(cap) else None,
        "cloud_connections": sum(1 for r in cloud if r.get("event") == "connect"),
        "cloud_bytes": sum(r.get("bytes", 0) for r in cloud if r.get("event") == "recv"),
        "probes": read_jsonl(st.path("probes.log")),
        "devices": devices,
    }


def cmd_status(a):
    st = State(a.state, a.prefix)
    s = gather_status(st)
    if a.format == "json":
        print(json.dumps(s))
        return 0 if s["up"] else 3
    print(f"state {s['state']}  prefix {s['prefix']}  {'UP' if s['up'] else 'DOWN'}")
    print(f"namespaces ({len(s['namespaces'])}): {' '.join(s['namespaces']) or '-'}")
    print("processes:")
    for p in s["processes"]:
        print(f"  {p['name']:<22} pid {p['pid']:<8} {'alive' if p['alive'] else 'DEAD':<6} {p['netns'] or '(root ns)'}")
    cb = s["capture_bytes"]
    print(f"capture: {s['capture']} ({'-' if cb is None else f'{cb} bytes'}"
          f"{', stopped' if s['capture_stopped'] else ''})")
    print(f"cloud: {s['cloud_connections']} connections, {s['cloud_bytes']} bytes received")
    print(f"probes played: {len(s['probes'])}")
    for p in s["probes"]:
        print(f"  {fmt_t(p.get('t'))}  {p.get('what')}")
    print("devices:")
    print(f"  {'NAME':<12} {'KIND':<10} {'MAC':<18} {'IP':<15} {'PROC':<5} {'READY':<5} {'WAKES':>5} {'BYTES':>9}  EVENTS")
    for d in s["devices"]:
        ev = " ".join(f"{k}={v}" for k, v in sorted(d["events"].items()))
        print(f"  {d['name']:<12} {d['kind']:<10} {d['mac']:<18} {d['ip']:<15} "
              f"{'up' if d['alive'] else 'DEAD':<5} {'yes' if d['ready'] else 'no':<5} {d['wakes']:>5} "
              f"{'-' if d['bytes_sent'] is None else d['bytes_sent']:>9}  {ev}")
    return 0 if s["up"] else 3


def fmt_t(t):
    if not isinstance(t, (int, float)):
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"


# ---------------------------------------------------------------------------------------------
# play, stop-capture


def tts(st, text, voice="slt", rate=1.0):
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "x"
    tag = "" if float(rate) == 1.0 else f"-r{float(rate):g}"
    out = st.path("tts", f"{voice}{tag}-{slug}.wav")
    if not os.path.exists(out):
        os.makedirs(st.path("tts"), exist_ok=True)
        tmp = out + ".tmp.wav"
        # leakypick's call (probing/audio.rs); a rate other than 1 is flite's duration_stretch
        stretch = [] if float(rate) == 1.0 else ["--setf", f"duration_stretch={float(rate):g}"]
        run(["flite"] + stretch + ["-voice", voice, "-t", text, "-o", tmp])
        os.replace(tmp, out)
    return out


def play(st, what, voice="slt", rate=1.0):
    if what.lower().endswith(".wav") and os.path.exists(what):
        wav, kind = os.path.abspath(what), "file"
    else:
        wav, kind = tts(st, what, voice, rate), "tts"
    t0 = time.time()
    run(["paplay", "-d", "room", wav], env=st.client_env(), timeout=120)
    t1 = time.time()
    rec = {"t": round(t0, 6), "t_end": round(t1, 6), "what": what, "kind": kind, "file": wav}
    if kind == "tts":
        rec.update(voice=voice, rate=rate)
    with open(st.path("probes.log"), "a") as f:
        f.write(json.dumps(rec) + "\n")
    return rec


def cmd_play(a):
    st = require_up(a)
    for _ in range(a.repeat):
        for what in a.what:
            print(json.dumps(play(st, what, a.voice, a.rate)), flush=True)
            if a.gap > 0:
                time.sleep(a.gap)
    return 0


def stop_capture(st):
    if st.data.get("capture_stopped"):
        return
    for p in st.data["procs"]:
        if p["name"] == "tcpdump" and pid_alive(p["pid"]):
            os.kill(p["pid"], signal.SIGINT)
            deadline = time.time() + 10
            while pid_alive(p["pid"]) and time.time() < deadline:
                time.sleep(0.05)
            if pid_alive(p["pid"]):
                os.kill(p["pid"], signal.SIGKILL)
    st.data["capture_stopped"] = time.time()
    st.save()


def cmd_stop_capture(a):
    st = require_up(a)
    stop_capture(st)
    cap = st.data["capture"]
    print(json.dumps({"capture": cap, "bytes": os.path.getsize(cap) if os.path.exists(cap) else 0}))
    return 0


# ---------------------------------------------------------------------------------------------
# demo


def find_leakypick(given):
    if given:
        return given
    for c in (os.path.join(REPO, "target", "release", "leakypick"),
              os.path.join(REPO, "target", "debug", "leakypick")):
        if os.path.exists(c):
            return c
    w = shutil.which("leakypick")
    if w:
        return w
    raise TestbedError("no leakypick binary: run `cargo build --release` or give --leakypick")


def analyze(st, binary):
    p = run([binary, "analyze", st.data["capture"], "--format", "json", "--names", st.path("names.txt")],
            timeout=120)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def attribute(t, probes, slack, horizon):
    """Index of the probe an event at time t follows (started at most `slack` s after t's
    window start, at most `horizon` s before it), or None."""
    best = None
    for i, p in enumerate(probes):
        if p["t"] - slack <= t <= p["t_end"] + horizon:
            best = i
    return best


def reaction_matrix(st, records, probes, horizon):
    macs = {d["mac"]: d for d in st.data["devices"]}
    cap = {d["name"]: [[] for _ in probes] for d in st.data["devices"]}
    unprompted = {d["name"]: [] for d in st.data["devices"]}
    for r in records:
        if r.get("type") != "burst" or r.get("mac") not in macs:
            continue
        name = macs[r["mac"]]["name"]
        # a burst's start is the start of its first 1 s window: up to 1 s before the upload began
        i = attribute(r["start"], probes, slack=1.0 + r.get("window_s", 1.0), horizon=horizon)
        (cap[name][i] if i is not None else unprompted[name]).append(r)
    logs = {d["name"]: [[] for _ in probes] for d in st.data["devices"]}
    for d in st.data["devices"]:
        for r in read_jsonl(d["log"]):
            t = rec_time(r)
            if rec_event(r) in WAKE_EVENTS and t is not None:
                i = attribute(t, probes, slack=0.5, horizon=horizon)
                if i is not None:
                    logs[d["name"]][i].append(r)
    return cap, logs, unprompted


def cmd_demo(a):
    st = State(a.state, a.prefix)
    binary = find_leakypick(a.leakypick)
    brought_up = False
    if not (st.data and st.data.get("up") and is_up(st)):
        a.no_wait = False
        cmd_up(a)
        brought_up = True
        st = State(a.state, a.prefix)
    else:
        wait_ready(st, a.timeout)
    try:
        words = [w.strip() for w in a.words.split(",") if w.strip()]
        note(f"idle baseline {a.idle:.0f} s")
        time.sleep(a.idle)
        probes = []
        for w in words:
            rec = play(st, w, a.voice)
            probes.append(rec)
            note(f"played {w!r} at {fmt_t(rec['t'])} ({rec['t_end'] - rec['t']:.1f} s); waiting {a.gap:.0f} s")
            time.sleep(a.gap)
        stop_capture(st)
        records = analyze(st, binary)
        cap, logs, unprompted = reaction_matrix(st, records, probes, horizon=a.gap - 1.0)
        summary = next((r for r in records if r.get("type") == "summary"), {})
        ok = True
        print(f"\nCapture {st.data['capture']}: {summary.get('packets')} packets, "
              f"{summary.get('bursts')} bursts\n")
        print("Probes:")
        for i, p in enumerate(probes):
            print(f"  P{i + 1}  {fmt_t(p['t'])}  {p['what']!r}")
        hdr = "".join(f"{('P%d %s' % (i + 1, p['what']))[:17]:<18}" for i, p in enumerate(probes))
        print("\nWho uploaded after which probe: capture burst (kB) / device log (wake):")
        print(f"  {'DEVICE':<12} {'KIND':<10} {'MAC':<18} {hdr}AGREE")
        for d in st.data["devices"]:
            cells, agree = [], True
            for i in range(len(probes)):
                c, lg = bool(cap[d["name"]][i]), bool(logs[d["name"]][i])
                kb = sum(b["bytes"] for b in cap[d["name"]][i]) / 1000
                cell = (f"{kb:.0f} kB" if c else "-") + " / " + ("wake" if lg else "-")
                cells.append(f"{cell:<18}")
                agree &= c == lg
            ok &= agree
            print(f"  {d['name']:<12} {d['kind']:<10} {d['mac']:<18} {''.join(cells)}{'yes' if agree else 'NO'}")
            for b in unprompted[d["name"]]:
                print(f"      burst not after a probe: {fmt_t(b['start'])} {b['bytes']} bytes")
        print("\nDevice logs:")
        for d in st.data["devices"]:
            s = device_summary(d)
            print(f"  {d['name']:<12} wakes={s['wakes']} bytes_sent={s['bytes_sent']} events={s['events']}")
        print("\nThe capture and the device logs " + ("agree." if ok else "DISAGREE (see above)."))
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump({"probes": probes, "analyze": records,
                           "capture": {k: [[b["start"] for b in c] for c in v] for k, v in cap.items()},
                           "logs": {k: [len(c) for c in v] for k, v in logs.items()}}, f)
        return 0 if ok else 1
    finally:
        if a.keep:
            note(f"kept up (state {st.dir}); `testbed.py down --state {st.dir}` removes it")
        else:
            do_down(State(a.state, a.prefix))


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state", default=os.environ.get("LPK_TESTBED_STATE", DEFAULT_STATE),
                        help=f"state directory (default {DEFAULT_STATE})")
    common.add_argument("--prefix", default=None, help=f"namespace prefix (default {DEFAULT_PREFIX!r})")
    upopts = argparse.ArgumentParser(add_help=False)
    upopts.add_argument("--config", default=DEFAULT_CONFIG, help="home config (TOML)")
    upopts.add_argument("--device-cmd", default=None,
                        help="command that runs one device (default: python3 testbed/device.py)")
    upopts.add_argument("--no-check", action="store_true", help=argparse.SUPPRESS)
    upopts.add_argument("--timeout", type=float, default=90, help="seconds to wait for devices to listen")

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", parents=[common], help="check root, tools and packages")
    p.add_argument("--device-cmd", default=None, help=argparse.SUPPRESS)
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("up", parents=[common, upopts], help="bring the testbed up")
    p.add_argument("--no-wait", action="store_true", help="do not wait for the devices to listen")
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("wait", parents=[common], help="wait until every device listens")
    p.add_argument("--timeout", type=float, default=90)
    p.set_defaults(fn=cmd_wait)
    p = sub.add_parser("down", parents=[common], help="remove everything (idempotent)")
    p.add_argument("--purge", action="store_true", help="also delete the state directory")
    p.set_defaults(fn=cmd_down)
    p = sub.add_parser("status", parents=[common], help="what runs")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("play", parents=[common], help="speak words / play WAV files into the room")
    p.add_argument("what", nargs="+", help="a word or phrase (spoken with flite), or a .wav file")
    p.add_argument("--voice", default="slt", help="flite voice (slt, rms, awb, kal, ...; default slt)")
    p.add_argument("--rate", type=float, default=1.0,
                   help="flite duration_stretch (default 1: leakypick's own call, no --setf)")
    p.add_argument("--repeat", type=int, default=1, help="play the list this many times (default 1)")
    p.add_argument("--gap", type=float, default=0.0, help="seconds of silence after each play (default 0)")
    p.set_defaults(fn=cmd_play)
    p = sub.add_parser("stop-capture", parents=[common], help="stop the gateway capture")
    p.set_defaults(fn=cmd_stop_capture)
    p = sub.add_parser("demo", parents=[common, upopts], help="the whole loop in one command")
    p.add_argument("--words", default="Alexa,Hey Google,major", help="comma-separated probes")
    p.add_argument("--gap", type=float, default=15, help="seconds after each probe")
    p.add_argument("--idle", type=float, default=5, help="idle seconds before the first probe")
    p.add_argument("--voice", default="slt")
    p.add_argument("--keep", action="store_true", help="leave the testbed up afterwards")
    p.add_argument("--leakypick", default=None, help="the leakypick binary (default target/release/leakypick)")
    p.add_argument("--json-out", default=None, help="also write the results as JSON to this file")
    p.set_defaults(fn=cmd_demo)
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except TestbedError as e:
        note(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
