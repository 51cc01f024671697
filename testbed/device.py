#!/usr/bin/env python3
"""One emulated smart-home device for the leakypick testbed.

It listens to a PulseAudio source (the room's null-sink monitor) through `parec`, runs a
real offline keyword spotter (pocketsphinx, shipped en-us model) on what it records, and
talks to the emulated cloud over TLS: idle heartbeats, and audio uploads when it wakes.
It decides only from the audio it records; nothing tells it what was played.

Kinds:
  assistant  keyword spotter; on the wake word, uploads pre-roll + speech + tail
  muted      keyword spotter; logs what it hears, never uploads audio (heartbeats only)
  sound      uploads while the room is louder than --threshold-db (after 0.3 s), + tail
  plug       no microphone: never opens the audio source; heartbeats only

The log (JSON Lines, --log) is the testbed's ground truth. See testbed/README-device.md.
"""

import argparse
import collections
import json
import math
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spotter  # noqa: E402  (the listener shared with wake_truth.py)
from spotter import CHUNK_BYTES, CHUNK_SECONDS, RATE, rms_db  # noqa: E402


class Log:
    """Thread-safe JSON Lines log; also mirrored to stderr with --verbose."""

    def __init__(self, path, device, verbose=False):
        self.device = device
        self.verbose = verbose
        self.lock = threading.Lock()
        self.fh = None
        if path and path != "-":
            d = os.path.dirname(os.path.abspath(path))
            os.makedirs(d, exist_ok=True)
            self.fh = open(path, "a", buffering=1, encoding="utf-8")
        else:
            self.fh = sys.stdout

    def __call__(self, event, **fields):
        rec = {"t": round(time.time(), 3), "device": self.device, "event": event}
        for k, v in fields.items():
            if isinstance(v, float):
                v = round(v, 3)
            rec[k] = v
        line = json.dumps(rec, sort_keys=False)
        with self.lock:
            try:
                self.fh.write(line + "\n")
                self.fh.flush()
            except (OSError, ValueError):
                pass
            if self.verbose and self.fh is not sys.stdout:
                print(line, file=sys.stderr, flush=True)

    def close(self):
        with self.lock:
            if self.fh not in (None, sys.stdout):
                try:
                    self.fh.close()
                except OSError:
                    pass


class Cloud:
    """TLS connections to the emulated cloud."""

    def __init__(self, spec, insecure, cafile=None, server_name=None):
        host, _, port = spec.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("--cloud must be HOST:PORT, got %r" % spec)
        self.host = host.strip("[]")
        self.port = int(port)
        self.server_name = server_name or self.host
        ctx = ssl.create_default_context(cafile=cafile)
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.ctx = ctx

    def connect(self, timeout=5.0):
        raw = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ctx.wrap_socket(raw, server_hostname=self.server_name)
        except BaseException:
            raw.close()
            raise
        tls.settimeout(timeout)
        return tls


def drain(sock):
    """Read and discard whatever the cloud sent, without blocking."""
    try:
        sock.setblocking(False)
        while True:
            try:
                b = sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            if not b:
                raise ConnectionError("cloud closed the connection")
    finally:
        try:
            sock.setblocking(True)
        except OSError:
            pass


def header(device, stream, extra=None):
    h = {"device": device, "stream": stream}
    if extra:
        h.update(extra)
    return (json.dumps(h) + "\n").encode()


def fill(prefix, size, body=b""):
    """A payload of exactly `size` bytes: prefix, then audio bytes, then padding."""
    data = (prefix + body)[:size]
    if len(data) < size:
        data += os.urandom(size - len(data))
    return data


class Heartbeats(threading.Thread):
    """Small heartbeats every ~N s and medium ones every ~M s (±10 % jitter) over one
    kept-open TLS connection; reconnects with backoff; never raises."""

    def __init__(self, dev):
        super().__init__(name="heartbeats", daemon=True)
        self.dev = dev
        self.sock = None

    def _jitter(self, period):
        return period * random.uniform(0.9, 1.1)

    def run(self):
        a = self.dev.args
        log = self.dev.log
        stop = self.dev.stop
        now = time.monotonic()
        next_small = now + random.uniform(0.5, 2.0) if a.heartbeat_small > 0 else math.inf
        next_medium = now + self._jitter(a.heartbeat_medium) if a.heartbeat_medium > 0 else math.inf
        backoff = 1.0
        seq = 0
        while not stop.is_set():
            now = time.monotonic()
            due = min(next_small, next_medium)
            if due > now:
                stop.wait(min(due - now, 1.0))
                if self.sock is not None and not stop.is_set():
                    try:
                        drain(self.sock)
                    except (OSError, ConnectionError):
                        self._close()
                continue
            kind = "medium" if next_medium <= next_small else "small"
            size = random.randint(2000, 7000) if kind == "medium" else random.randint(100, 200)
            seq += 1
            payload = fill(header(self.dev.name, "heartbeat", {"kind": kind, "seq": seq}), size)
            try:
                if self.sock is None:
                    self.sock = self.dev.cloud.connect()
                self.sock.sendall(payload)
                drain(self.sock)
                log("heartbeat", bytes=size, size=kind)
                backoff = 1.0
                if kind == "medium":
                    next_medium = time.monotonic() + self._jitter(a.heartbeat_medium)
                else:
                    next_small = time.monotonic() + self._jitter(a.heartbeat_small)
            except (OSError, ssl.SSLError, ConnectionError) as e:
                self._close()
                log("error", what="heartbeat", error=str(e) or type(e).__name__, retry_in=backoff)
                retry = time.monotonic() + backoff
                if kind == "medium":
                    next_medium = retry
                else:
                    next_small = retry
                backoff = min(backoff * 2, 60.0)
        self._close()

    def _close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


class Upload(threading.Thread):
    """One audio upload: a fresh TLS connection, `frame`-byte records at `bitrate` bit/s.

    The audio it sends starts `preroll` seconds before the trigger (wake word or first
    loud chunk) and lasts until the room has been quiet for `tail` seconds (capped). The
    backlog (pre-roll and the wake word itself) is streamed at the same rate, so the
    upload ends `backlog` seconds after the live audio ends.
    """

    def __init__(self, dev, trigger_wall, backlog, reason):
        super().__init__(name="upload", daemon=True)
        self.dev = dev
        self.trigger_wall = trigger_wall
        self.backlog = backlog  # seconds of audio already buffered at start
        self.reason = reason
        self.live_end = None  # wall time when the live part ended
        self.sent = 0

    def live_over(self, now):
        a = self.dev.args
        if now - self.trigger_wall >= a.max_upload:
            return True
        return now - max(self.dev.last_loud_wall, self.trigger_wall) >= a.tail

    def run(self):
        a = self.dev.args
        log = self.dev.log
        interval = a.frame * 8.0 / a.bitrate
        start = time.monotonic()
        start_wall = time.time()
        records = 0
        sock = None
        err = None
        try:
            sock = self.dev.cloud.connect()
            hdr = header(self.dev.name, "audio", {"reason": self.reason})
            log("upload_start", reason=self.reason, preroll=a.preroll, backlog=self.backlog,
                bitrate=a.bitrate, frame=a.frame)
            next_t = start
            while True:
                now_wall = time.time()
                if self.live_end is None and self.live_over(now_wall):
                    self.live_end = now_wall
                if self.live_end is not None:
                    total_audio = self.backlog + (self.live_end - self.trigger_wall)
                    if records * interval >= total_audio - 1e-9:
                        break
                if self.dev.stop.is_set():
                    err = "stopped"
                    break
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(min(delay, 0.05))
                    continue
                body = self.dev.latest_audio()
                payload = fill(hdr if records == 0 else b"", a.frame, body)
                sock.sendall(payload)
                records += 1
                self.sent += len(payload)
                next_t += interval
                if records % 20 == 0:
                    drain(sock)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            err = str(e) or type(e).__name__
            log("error", what="upload", error=err)
        finally:
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
            log("upload_end", bytes=self.sent, records=records, reason=self.reason,
                seconds=time.time() - start_wall,
                audio_seconds=records * interval, **({"error": err} if err else {}))
            self.dev.upload_done(self)


class Transcriber(threading.Thread):
    """Optional full transcription (pocketsphinx's en-us language model) of each heard
    segment, off the audio thread, for the log's "heard" text."""

    def __init__(self, dev):
        super().__init__(name="transcriber", daemon=True)
        self.dev = dev
        self.q = collections.deque()
        self.cv = threading.Condition()
        self.decoder = None

    def submit(self, item):
        with self.cv:
            if len(self.q) < 8:
                self.q.append(item)
                self.cv.notify()
            else:
                self.dev.log("heard", dropped=True, **item[1])

    def run(self):
        from pocketsphinx import Decoder

        try:
            self.decoder = Decoder(samprate=RATE, loglevel="FATAL")
        except Exception as e:  # noqa: BLE001 - report and go on without text
            self.dev.log("error", what="transcriber", error=str(e))
            self.decoder = None
        while True:
            with self.cv:
                while not self.q and not self.dev.stop.is_set():
                    self.cv.wait(0.5)
                if not self.q:
                    return
                audio, fields = self.q.popleft()
            text = None
            if self.decoder is not None:
                try:
                    self.decoder.start_utt()
                    self.decoder.process_raw(audio, False, True)
                    self.decoder.end_utt()
                    h = self.decoder.hyp()
                    text = h.hypstr if h is not None else ""
                except Exception as e:  # noqa: BLE001
                    self.dev.log("error", what="transcriber", error=str(e))
            if text is not None:
                fields["transcript"] = text
            self.dev.log("heard", **fields)


class Device:
    def __init__(self, args):
        self.args = args
        self.name = args.name
        self.kind = args.kind
        self.log = Log(args.log, args.name, args.verbose)
        self.stop = threading.Event()
        self.cloud = Cloud(args.cloud, args.insecure, args.cafile, args.server_name)
        self.parec = None
        self.lock = threading.Lock()
        self.upload = None
        self.last_loud_wall = 0.0
        keep = max(args.preroll, 0.0) + 3.0  # pre-roll plus room for the wake word
        self.ring = collections.deque(maxlen=int(keep / CHUNK_SECONDS) + 1)
        self.listener = None
        self.seg_audio = []
        self.transcriber = None

    # ---- shared with the upload thread -------------------------------------------
    def latest_audio(self):
        try:
            return self.ring[-1]
        except IndexError:
            return b""

    def upload_done(self, up):
        with self.lock:
            if self.upload is up:
                self.upload = None

    def start_upload(self, trigger_wall, backlog, reason):
        with self.lock:
            if self.upload is not None:
                return False
            up = Upload(self, trigger_wall, backlog, reason)
            self.upload = up
        up.start()
        return True

    # ---- audio -------------------------------------------------------------------
    def open_parec(self):
        cmd = ["parec", "-d", self.args.source, "--format=s16le", "--rate=%d" % RATE,
               "--channels=1", "--raw", "--latency-msec=%d" % self.args.latency_ms,
               "--client-name=leakypick-" + self.name, "--stream-name=microphone"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:  # a big pipe absorbs pauses while pocketsphinx holds the interpreter
            import fcntl

            fcntl.fcntl(p.stdout.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
        except (OSError, ImportError):
            pass
        self.parec = p
        return p

    def close_parec(self):
        p = self.parec
        self.parec = None
        if p is None:
            return
        try:
            p.terminate()
            p.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            try:
                p.kill()
                p.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        err = b""
        try:
            err = p.stderr.read() or b""
        except (OSError, ValueError):
            pass
        for f in (p.stdout, p.stderr):
            try:
                f.close()
            except OSError:
                pass
        return err.decode(errors="replace").strip()

    def make_listener(self):
        """The speech gate and, for assistant/muted, the keyword spotter with the
        per-utterance variability (spotter.Listener; seeded by --seed)."""
        a = self.args
        sp = None
        if self.kind in ("assistant", "muted"):
            sp = spotter.make_spotter(a.spotter, a.wake_word, a.kws_threshold)
        var = spotter.Variability(a.gain_jitter_db, a.cutoff_jitter,
                                  random.Random("variability-%d" % a.seed if a.seed is not None else None))
        return spotter.Listener(sp, speech_db=a.speech_db, segment_gap=a.segment_gap,
                                max_segment=a.max_segment, variability=var)

    def listen(self):
        """Audio loop: read parec, keep the ring buffer, segment speech, spot the wake
        word, trigger uploads. Restarts parec with backoff if it dies."""
        a = self.args
        spotting = self.kind in ("assistant", "muted")
        if self.listener is None:
            self.listener = self.make_listener()
        if spotting:
            if a.transcribe:
                self.transcriber = Transcriber(self)
                self.transcriber.start()
        backoff = 1.0
        while not self.stop.is_set():
            try:
                p = self.open_parec()
            except OSError as e:
                self.log("error", what="parec", error=str(e), retry_in=backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            got = self._read_loop(p, spotting)
            err = self.close_parec()
            if self.stop.is_set():
                break
            self.log("error", what="parec", error=err or "audio source ended", retry_in=backoff)
            if got:
                backoff = 1.0
            self.stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def _read_loop(self, p, spotting):
        a = self.args
        lis = self.listener
        fd = p.stdout.fileno()
        buf = b""
        got_audio = False
        # sound trigger state
        loud_since = None
        loud_peak = -120.0
        while not self.stop.is_set():
            try:
                b = os.read(fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                return got_audio
            if not b:
                return got_audio
            got_audio = True
            buf += b
            nchunks = len(buf) // CHUNK_BYTES
            if nchunks == 0:
                continue
            # wall time of the end of the newest chunk ~ now
            now = time.time()
            for i in range(nchunks):
                chunk = buf[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]
                cw = now - (nchunks - 1 - i) * CHUNK_SECONDS  # end time of this chunk
                level = rms_db(chunk)
                speech = level > a.speech_db
                if speech and self.kind != "sound":
                    self.last_loud_wall = cw  # keeps an assistant's upload going
                # ---- sound trigger -------------------------------------------------
                if self.kind == "sound":
                    if level > a.threshold_db:
                        self.last_loud_wall = cw
                        if loud_since is None:
                            loud_since = cw - CHUNK_SECONDS
                            loud_peak = level
                        loud_peak = max(loud_peak, level)
                        if cw - loud_since >= a.min_loud - 1e-6 and self.upload is None:
                            backlog = a.preroll + (cw - loud_since)
                            self.log("wake", reason="sound", rms_db=loud_peak,
                                     loud_seconds=cw - loud_since)
                            self.start_upload(cw, backlog, "sound")
                    else:
                        loud_since = None
                # ---- speech segments ("heard") and keyword spotting (spotter.Listener,
                # the same code wake_truth.py runs offline) ---------------------------
                self.ring.append(chunk)
                seg_was = lis.in_seg
                if not seg_was and speech:
                    self.seg_audio = list(self.ring)[-(lis.lead + 1):]
                elif seg_was:
                    self.seg_audio.append(chunk)
                for ev, f in lis.push(chunk, cw, level):
                    if ev == "wake":
                        self.on_wake(f, cw)
                    else:
                        self.on_heard(self.seg_audio, f)
                        self.seg_audio = []
            buf = buf[nchunks * CHUNK_BYTES:]
        return got_audio

    def on_wake(self, hit, now):
        a = self.args
        fields = dict(spotter=a.spotter, **{k: v for k, v in hit.items() if k != "t"})
        if self.kind == "muted":
            # a muted assistant still hears the word, but must not act on it
            self.log("heard", wake_word=True, muted=True, **fields)
            return
        during = self.upload is not None
        self.log("wake", during_upload=during, **fields)
        if not during:
            backlog = a.preroll + max(0.0, now - hit["word_start"])
            self.start_upload(now, backlog, "wake")

    def on_heard(self, audio, seg):
        fields = dict(start=seg["start"], seconds=max(0.0, seg["end"] - seg["start"]),
                      rms_db=seg["peak_db"], mean_db=seg["mean_db"], wake_word=seg["wake"])
        for k in ("max_prob", "cutoff"):
            if k in seg:
                fields[k] = seg[k]
        if self.listener.spotter is not None and seg.get("gain_db"):
            fields["gain_db"] = seg["gain_db"]
        if seg["wake"]:
            fields["text"] = self.args.wake_word.lower().strip()
        if self.transcriber is not None:
            self.transcriber.submit((b"".join(audio), fields))
        else:
            self.log("heard", **fields)

    # ---- lifecycle ---------------------------------------------------------------
    def run(self):
        a = self.args
        self.log("start", kind=self.kind, pid=os.getpid(), cloud=a.cloud,
                 source=None if self.kind == "plug" else a.source,
                 wake_word=a.wake_word if self.kind in ("assistant", "muted") else None,
                 spotter=a.spotter if self.kind in ("assistant", "muted") else None,
                 gain_jitter_db=a.gain_jitter_db, cutoff_jitter=a.cutoff_jitter, seed=a.seed,
                 bitrate=a.bitrate, frame=a.frame, tail=a.tail, preroll=a.preroll,
                 threshold_db=a.threshold_db if self.kind == "sound" else None,
                 heartbeat_small=a.heartbeat_small, heartbeat_medium=a.heartbeat_medium)
        hb = Heartbeats(self)
        hb.start()
        try:
            if self.kind == "plug":
                self.stop.wait()
            else:
                self.listen()
        finally:
            self.stop.set()
            self.close_parec()
            up = self.upload
            if up is not None:
                up.join(timeout=3)
            hb.join(timeout=3)
            if self.transcriber is not None:
                self.transcriber.join(timeout=3)
            self.log("stop")
            self.log.close()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="One emulated smart-home device for the leakypick testbed.")
    p.add_argument("--name", required=True, help="device name used in the log and in stream headers")
    p.add_argument("--kind", required=True, choices=["assistant", "muted", "sound", "plug"])
    p.add_argument("--cloud", required=True, help="HOST:PORT of the TLS cloud endpoint")
    p.add_argument("--source", default="room.monitor", help="PulseAudio source to record (default room.monitor)")
    p.add_argument("--log", default="-", help="JSON Lines log file (default standard output)")
    p.add_argument("--wake-word", default="alexa", help="key phrase; every word must be in the CMU dictionary")
    p.add_argument("--spotter", choices=list(spotter.SPOTTERS), default="pocketsphinx",
                   help="keyword spotter of assistant/muted: pocketsphinx (key phrase from the CMU "
                        "dictionary) or micro (pymicro-wakeword's built-in model: alexa, hey jarvis, "
                        "hey mycroft, okay nabu); default pocketsphinx")
    p.add_argument("--gain-jitter-db", type=float, default=0.0,
                   help="per-utterance microphone gain jitter: standard deviation in dB (default 0)")
    p.add_argument("--cutoff-jitter", type=float, default=0.0,
                   help="per-utterance jitter (standard deviation) of the micro spotter's detection "
                        "cutoff around the model's own (0.9 for alexa); default 0")
    p.add_argument("--kws-threshold", type=float, default=1e-20,
                   help="pocketsphinx keyphrase threshold (smaller = more sensitive; default 1e-20)")
    p.add_argument("--bitrate", type=float, default=88000.0, help="upload bits per second (default 88000)")
    p.add_argument("--frame", type=int, default=491, help="payload bytes per upload record (default 491)")
    p.add_argument("--tail", type=float, default=1.5, help="seconds uploaded after the room goes quiet (default 1.5)")
    p.add_argument("--preroll", type=float, default=0.0,
                   help="seconds of audio before the wake word also uploaded (default 0 = honest)")
    p.add_argument("--max-upload", type=float, default=10.0, help="cap on the live part of an upload, s (default 10)")
    p.add_argument("--speech-db", type=float, default=-45.0,
                   help="RMS dBFS above which the room counts as speech (default -45)")
    p.add_argument("--threshold-db", type=float, default=-30.0, help="sound kind: trigger level, RMS dBFS (default -30)")
    p.add_argument("--min-loud", type=float, default=0.3, help="sound kind: seconds above the threshold to trigger (0.3)")
    p.add_argument("--heartbeat-small", type=float, default=20.0, help="seconds between small heartbeats (0 = none)")
    p.add_argument("--heartbeat-medium", type=float, default=300.0, help="seconds between medium heartbeats (0 = none)")
    p.add_argument("--segment-gap", type=float, default=0.6, help="quiet seconds that end a heard segment (0.6)")
    p.add_argument("--max-segment", type=float, default=15.0, help="longest heard segment, s (15)")
    p.add_argument("--latency-ms", type=int, default=100, help="parec --latency-msec (100)")
    p.add_argument("--transcribe", dest="transcribe", action="store_true", default=None,
                   help="also transcribe each heard segment with the en-us language model for the log "
                        "(costs 0.2-0.7 of a core while speech plays; keyword spotting alone ~4%%)")
    p.add_argument("--no-transcribe", dest="transcribe", action="store_false")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--insecure", dest="insecure", action="store_true", default=True,
                     help="do not verify the cloud's certificate (default: the testbed's cloud is self-signed)")
    tls.add_argument("--verify", dest="insecure", action="store_false", help="verify the cloud's certificate")
    p.add_argument("--cafile", default=None, help="CA bundle for --verify")
    p.add_argument("--server-name", default=None, help="TLS server name (SNI), default the cloud host")
    p.add_argument("--seed", type=int, default=None, help="random seed for heartbeat jitter and sizes and for the per-utterance variability")
    p.add_argument("-v", "--verbose", action="store_true", help="also print log lines to standard error")
    a = p.parse_args(argv)
    if a.transcribe is None:
        a.transcribe = False
    if a.bitrate <= 0 or a.frame <= 0:
        p.error("--bitrate and --frame must be positive")
    if a.preroll < 0 or a.tail < 0:
        p.error("--preroll and --tail must not be negative")
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.seed is not None:
        random.seed(a.seed)
    if a.kind in ("assistant", "muted"):
        mod = "pocketsphinx" if a.spotter == "pocketsphinx" else "pymicro_wakeword"
        try:
            __import__(mod)
        except ImportError:
            print("device.py: the %s module is missing: pip install -r testbed/requirements.txt" % mod,
                  file=sys.stderr)
            return 2
    try:
        dev = Device(a)
    except (ValueError, OSError) as e:
        print("device.py: %s" % e, file=sys.stderr)
        return 2
    if dev.kind in ("assistant", "muted"):
        try:  # fail early and clearly on a wake word the spotter cannot spot
            dev.listener = dev.make_listener()
        except Exception as e:  # noqa: BLE001
            dev.log("error", what="keyword spotter", error=str(e))
            print("device.py: cannot spot %r: %s" % (a.wake_word, e), file=sys.stderr)
            return 2

    def on_signal(signum, frame):
        dev.stop.set()
        p = dev.parec
        if p is not None:  # unblock the audio read
            try:
                p.terminate()
            except OSError:
                pass

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    dev.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
