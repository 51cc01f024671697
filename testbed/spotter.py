"""What an emulated assistant hears and decides, shared by the live device (device.py) and
the offline ground truth (wake_truth.py), so that both run the SAME code:

- `Listener`: the speech gate (100 ms chunks louder than `speech_db` open a segment), the
  keyword spotter run on each segment, the per-utterance variability draws and the
  refractory time between wakes. device.py feeds it the room's audio from parec;
  wake_truth.py feeds it a synthesised room (flite word + room noise).
- The spotters: `SphinxSpotter` (pocketsphinx keyword spotting, en-us model) and
  `MicroSpotter` (pymicro-wakeword's built-in microWakeWord models, e.g. "alexa").
- `Variability`: per-utterance microphone gain jitter (dB, normal) and, for the micro
  spotter, a detection cutoff jitter (normal, around the model's own cutoff 0.9).
- Room noise (`noise_signal`): "pink" (1/f, seeded) or "babble" (four flite talkers reading
  neutral sentences, overlapped), at an RMS level in dBFS; testbed.py plays it into the room
  in a loop (`python3 spotter.py noise ...`), wake_truth.py mixes the same signal in.
- `tts`: flite exactly as leakypick calls it (`flite -voice V -t TEXT -o OUT.wav`).

Audio everywhere: 16 kHz mono signed 16-bit little endian.
"""

import argparse
import collections
import json
import math
import os
import random
import subprocess
import sys
import wave

RATE = 16000
CHUNK_SECONDS = 0.1
CHUNK_SAMPLES = int(RATE * CHUNK_SECONDS)
CHUNK_BYTES = CHUNK_SAMPLES * 2
FRAME_SECONDS = 0.01  # pocketsphinx frame length

SPOTTERS = ("pocketsphinx", "micro")
NOISES = ("none", "pink", "babble")

try:  # fast RMS and gain; audioop is in the standard library up to Python 3.12
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # type: ignore
except ImportError:  # pragma: no cover - Python >= 3.13
    audioop = None


def rms_db(chunk):
    """RMS level of s16le mono audio in dBFS (-120 for digital silence)."""
    if not chunk:
        return -120.0
    if audioop is not None:
        r = audioop.rms(chunk, 2)
    else:
        import array

        a = array.array("h")
        a.frombytes(chunk[: len(chunk) // 2 * 2])
        r = math.sqrt(sum(x * x for x in a) / max(len(a), 1))
    if r <= 0:
        return -120.0
    return max(-120.0, 20.0 * math.log10(r / 32768.0))


def apply_gain(chunk, gain):
    """s16le audio times a linear gain, clipped."""
    if gain == 1.0:
        return chunk
    if audioop is not None:
        return audioop.mul(chunk, 2, gain)
    import numpy as np

    a = np.frombuffer(chunk, dtype=np.int16).astype(np.float32) * gain
    return np.clip(np.round(a), -32768, 32767).astype(np.int16).tobytes()


# ---------------------------------------------------------------------------------------------
# spotters


class SphinxSpotter:
    """pocketsphinx keyword spotting of one key phrase (the en-us model in the wheel)."""

    name = "pocketsphinx"
    warmup = 0.3  # seconds of audio before the gate opened that are fed first

    def __init__(self, wake_word, kws_threshold=1e-20):
        from pocketsphinx import Decoder

        self.phrase = wake_word.lower().strip()
        d = Decoder(keyphrase=self.phrase, kws_threshold=kws_threshold, samprate=RATE, loglevel="FATAL")
        missing = [w for w in self.phrase.split() if d.lookup_word(w) is None]
        if missing:  # pocketsphinx would silently never fire
            raise ValueError("not in the pronunciation dictionary: %s" % " ".join(missing))
        self.d = d
        self.cutoff = None
        self.utt_start = 0.0
        self.max_prob = None

    def start(self, pre, t0, cutoff=None):
        """A new utterance whose first sample (of `pre`) is at time t0."""
        self.d.start_utt()
        self.utt_start = t0
        for c in pre:
            self.d.process_raw(c, False, False)

    def feed(self, chunk, t_end):
        """Feeds a chunk ending at t_end; returns a hit dict or None."""
        self.d.process_raw(chunk, False, False)
        hyp = self.d.hyp()
        if hyp is None:
            return None
        word_start = self.utt_start
        try:
            segs = [s for s in self.d.seg() if s.word and not s.word.startswith("<")]
            if segs:
                word_start = self.utt_start + segs[-1].start_frame * FRAME_SECONDS
        except Exception:  # noqa: BLE001 - the start time is a refinement
            pass
        # restart the utterance so the same word is not reported twice
        self.d.end_utt()
        self.d.start_utt()
        self.utt_start = t_end
        return {"text": hyp.hypstr, "score": hyp.score, "word_start": word_start}

    def end(self):
        self.d.end_utt()


MICRO_MODELS = {"alexa": "ALEXA", "hey jarvis": "HEY_JARVIS", "hey mycroft": "HEY_MYCROFT",
                "okay nabu": "OKAY_NABU", "ok nabu": "OKAY_NABU"}


class MicroSpotter:
    """pymicro-wakeword: a built-in microWakeWord model (TFLite, streaming). Every 10 ms of
    audio gives a feature window; every 3 windows (30 ms) the model gives a probability; the
    mean of the last 5 (sliding_window_size) is compared with the cutoff (0.9 for alexa)."""

    name = "micro"
    warmup = 1.0  # seconds of room audio fed before the gate opened (fills the model's state)

    def __init__(self, wake_word):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        key = " ".join(wake_word.lower().replace("_", " ").split())
        if key not in MICRO_MODELS:
            raise ValueError("pymicro-wakeword has no built-in model for %r (it has: %s)"
                             % (wake_word, ", ".join(sorted(MICRO_MODELS))))
        self.model = Model[MICRO_MODELS[key]]
        self.mww = MicroWakeWord.from_builtin(self.model)
        self.features = MicroWakeWordFeatures()
        self.base_cutoff = float(self.mww.probability_cutoff)
        self.cutoff = self.base_cutoff
        self.phrase = key
        self.max_prob = 0.0
        self.seg_start = 0.0

    def start(self, pre, t0, cutoff=None):
        self.mww.reset()  # reloads the interpreter: clears the streaming state
        self.features.reset()
        self.cutoff = self.base_cutoff if cutoff is None else cutoff
        self.seg_start = t0 + CHUNK_SECONDS * len(pre)  # where the gate opened
        for c in pre:
            self._probs(c)
        self.max_prob = 0.0

    def _probs(self, chunk):
        out = []
        for f in self.features.process_streaming(chunk):
            p = self.mww.process_streaming_prob(f)
            if p is not None:
                out.append(p)
        return out

    def feed(self, chunk, t_end):
        hit = None
        for p in self._probs(chunk):
            if p > self.max_prob:
                self.max_prob = p
            if hit is None and p > self.cutoff:
                hit = {"text": self.phrase, "prob": p, "cutoff": self.cutoff,
                       "word_start": self.seg_start}
        if hit is not None:
            self.mww._probabilities.clear()  # one detection per crossing
        return hit

    def end(self):
        pass


def make_spotter(kind, wake_word, kws_threshold=1e-20):
    if kind == "micro":
        return MicroSpotter(wake_word)
    if kind == "pocketsphinx":
        return SphinxSpotter(wake_word, kws_threshold)
    raise ValueError("spotter must be one of %s, got %r" % (", ".join(SPOTTERS), kind))


# ---------------------------------------------------------------------------------------------
# variability


class Variability:
    """Per-utterance variation inside the device, drawn when the speech gate opens:
    microphone gain jitter (gain_db ~ Normal(0, gain_jitter_db), applied to everything the
    spotter hears in that segment) and a detection cutoff jitter (cutoff ~ Normal(model
    cutoff, cutoff_jitter), clipped to [0.5, 0.995]; micro spotter only)."""

    def __init__(self, gain_jitter_db=0.0, cutoff_jitter=0.0, rng=None):
        self.gain_jitter_db = float(gain_jitter_db)
        self.cutoff_jitter = float(cutoff_jitter)
        self.rng = rng or random.Random()

    def draw(self, base_cutoff):
        g = self.rng.gauss(0.0, self.gain_jitter_db) if self.gain_jitter_db > 0 else 0.0
        c = base_cutoff
        if base_cutoff is not None and self.cutoff_jitter > 0:
            c = min(0.995, max(0.5, self.rng.gauss(base_cutoff, self.cutoff_jitter)))
        return g, c


# ---------------------------------------------------------------------------------------------
# the listener


class Listener:
    """Speech gate + spotter + variability + refractory time, on 100 ms chunks.

    push(chunk, t_end) returns a list of events:
      ("wake", {text, score|prob, cutoff, gain_db, word_start, t})
      ("segment", {start, end, peak_db, mean_db, wake, max_prob?, gain_db, cutoff})
    `spotter` may be None (a sound device: segments only)."""

    def __init__(self, spotter=None, speech_db=-45.0, segment_gap=0.6, max_segment=15.0,
                 variability=None, refractory=1.0):
        self.spotter = spotter
        self.speech_db = speech_db
        self.hang = int(round(segment_gap / CHUNK_SECONDS))
        self.max_chunks = int(round(max_segment / CHUNK_SECONDS))
        self.var = variability or Variability()
        self.refractory = refractory
        self.lead = int(round(0.3 / CHUNK_SECONDS))  # of a heard segment, for the log
        self.warm = int(round((spotter.warmup if spotter else 0.3) / CHUNK_SECONDS))
        self.ring = collections.deque(maxlen=max(self.lead, self.warm))
        self.in_seg = False
        self.last_wake = -math.inf
        self._reset_seg()

    def _reset_seg(self):
        self.quiet = 0
        self.seg_start = 0.0
        self.peak = -120.0
        self.sum_pow = 0.0
        self.n = 0
        self.wake = False
        self.gain = 1.0
        self.gain_db = 0.0
        self.cutoff = None

    def push(self, chunk, t_end, level=None):
        events = []
        if level is None:
            level = rms_db(chunk)
        speech = level > self.speech_db
        sp = self.spotter
        if not self.in_seg and speech:
            self.in_seg = True
            self._reset_seg()
            self.peak = level
            self.seg_start = t_end - CHUNK_SECONDS * (min(self.lead, len(self.ring)) + 1)
            base = getattr(sp, "base_cutoff", None) if sp else None
            self.gain_db, self.cutoff = self.var.draw(base)
            self.gain = 10 ** (self.gain_db / 20.0)
            if sp is not None:
                pre = list(self.ring)[-self.warm:] if self.warm else []
                pre = [apply_gain(c, self.gain) for c in pre]
                sp.start(pre, t_end - CHUNK_SECONDS * (len(pre) + 1), self.cutoff)
        self.ring.append(chunk)
        if not self.in_seg:
            return events
        self.peak = max(self.peak, level)
        self.sum_pow += 10 ** (level / 10.0)
        self.n += 1
        self.quiet = 0 if speech else self.quiet + 1
        if sp is not None:
            hit = sp.feed(apply_gain(chunk, self.gain), t_end)
            if hit is not None and t_end - self.last_wake >= self.refractory:
                self.last_wake = t_end
                self.wake = True
                hit.update(t=t_end, gain_db=round(self.gain_db, 2), rms_db=self.peak)
                if hit.get("cutoff") is None:
                    hit.pop("cutoff", None)
                events.append(("wake", hit))
        if self.quiet >= self.hang or self.n >= self.max_chunks:
            self.in_seg = False
            if sp is not None:
                sp.end()
            seg = {"start": self.seg_start, "end": t_end - self.quiet * CHUNK_SECONDS,
                   "peak_db": self.peak,
                   "mean_db": 10 * math.log10(self.sum_pow / self.n) if self.sum_pow > 0 else -120.0,
                   "wake": self.wake, "gain_db": round(self.gain_db, 2)}
            if isinstance(sp, MicroSpotter):
                seg["max_prob"] = round(sp.max_prob, 4)
                seg["cutoff"] = round(self.cutoff, 4)
            events.append(("segment", seg))
        return events


# ---------------------------------------------------------------------------------------------
# audio files, TTS, resampling, noise


def read_wav(path):
    """(rate, float64 numpy samples of the first channel) of a 16-bit PCM WAV."""
    import numpy as np

    with wave.open(path, "rb") as w:
        rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError("%s: only 16-bit WAV" % path)
    a = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if ch > 1:
        a = a.reshape(-1, ch).mean(axis=1)
    return rate, a


def write_wav(path, samples, rate=RATE):
    import numpy as np

    a = np.clip(np.round(samples), -32768, 32767).astype("<i2")
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(a.tobytes())
    os.replace(tmp, path)


# PulseAudio's resampler (speex-float-1, its default) as measured on the room: white noise
# at 8 kHz played with paplay, recorded with parec at 16 kHz. Gain in dB against the
# frequency relative to the input's Nyquist frequency; above 1 it is the image it leaves.
PA_UPSAMPLE_DB = [(0.0, 0.0), (0.625, -0.2), (0.75, -0.6), (0.8, -2.3), (0.85, -4.5), (0.875, -5.3),
                  (0.9, -7.9), (0.925, -8.9), (0.95, -12.5), (0.975, -16.5), (1.0, -19.6),
                  (1.025, -24.1), (1.05, -28.1), (1.125, -37.7), (1.25, -60.0)]


def resample(a, rate, to=RATE):
    """Resampling of a float signal as PulseAudio does it between paplay and parec: for
    upsampling (kal: 8 kHz), the measured roll-off near the input's Nyquist frequency and its
    image above it (PA_UPSAMPLE_DB); otherwise band-limited (FFT)."""
    import numpy as np

    if rate == to or len(a) == 0:
        return a
    n = int(round(len(a) * to / rate))
    x = np.fft.rfft(a)
    y = np.zeros(n // 2 + 1, dtype=complex)
    m = min(len(x), len(y))
    y[:m] = x[:m]
    if to > rate:
        f = np.fft.rfftfreq(n, 1.0 / to)
        nyq = rate / 2.0
        # the image: content mirrored around the input's Nyquist frequency
        hi = (f > nyq) & (f < rate)
        src = np.round((rate - f[hi]) * n / to).astype(int)
        ok = (src >= 0) & (src < m)
        idx = np.where(hi)[0][ok]
        y[idx] = np.conj(x[src[ok]])
        pts = np.array(PA_UPSAMPLE_DB)
        gain_db = np.interp(f / nyq, pts[:, 0], pts[:, 1], right=-200.0)
        y *= 10 ** (gain_db / 20.0)
    return np.fft.irfft(y, n) * (n / len(a))


def flite_cmd(text, voice, out, rate=1.0):
    """The flite call, identical to leakypick's (crates/leakypick-app/src/probing/audio.rs:
    `flite -voice V -t TEXT -o OUT`); a rate other than 1 adds `--setf duration_stretch=R`
    (flite's speaking rate: >1 slower)."""
    cmd = ["flite"]
    if rate is not None and float(rate) != 1.0:
        cmd += ["--setf", "duration_stretch=%g" % float(rate)]
    cmd += ["-voice", voice, "-t", text, "-o", out]
    return cmd


def tts(text, voice, cache_dir, rate=1.0):
    """Path of a WAV of `text` spoken by flite (cached by voice, rate and text)."""
    import hashlib
    import re

    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "x"
    if len(slug) < len(text.strip()):
        slug += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    tag = "" if float(rate) == 1.0 else "-r%g" % float(rate)
    out = os.path.join(cache_dir, "%s%s-%s.wav" % (voice, tag, slug))
    if not os.path.exists(out):
        os.makedirs(cache_dir, exist_ok=True)
        tmp = out + ".%d.tmp.wav" % os.getpid()
        p = subprocess.run(flite_cmd(text, voice, tmp, rate), capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(tmp) or os.path.getsize(tmp) <= 44:
            raise RuntimeError("flite -voice %s -t %r failed: %s" % (voice, text, p.stderr.strip()))
        os.replace(tmp, out)
    return out


def speech16(text, voice, cache_dir, rate=1.0):
    """The flite word as a float signal at 16 kHz (kal is 8 kHz: resampled, as PulseAudio
    does between paplay and parec)."""
    r, a = read_wav(tts(text, voice, cache_dir, rate))
    return resample(a, r)


NOISE_SECONDS = 30.0

BABBLE_LINES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
]


def noise_unit(kind, seed=0, cache_dir=None, seconds=NOISE_SECONDS):
    """`seconds` of noise with RMS 1.0 (float), deterministic for (kind, seed)."""
    import numpy as np

    n = int(RATE * seconds)
    rng = np.random.default_rng(seed)
    if kind == "pink":
        w = rng.standard_normal(n)
        x = np.fft.rfft(w)
        f = np.arange(len(x), dtype=np.float64) * RATE / n
        f[0] = f[1]
        x /= np.sqrt(np.maximum(f, 20.0))  # 1/f power above 20 Hz, flat below
        a = np.fft.irfft(x, n)
    elif kind == "babble":
        if cache_dir is None:
            raise ValueError("babble noise needs a cache directory for its flite sentences")
        voices = ["slt", "rms", "awb", "kal16"]
        a = np.zeros(n)
        for i, v in enumerate(voices):
            track = np.zeros(0)
            order = rng.permutation(len(BABBLE_LINES))
            k = 0
            while len(track) < n:
                s = speech16(BABBLE_LINES[order[k % len(order)]], v, cache_dir)
                s = s / (np.sqrt(np.mean(s ** 2)) + 1e-9)
                track = np.concatenate([track, s, np.zeros(int(rng.uniform(0.05, 0.4) * RATE))])
                k += 1
            a += np.roll(track[:n], int(rng.integers(0, n)))
    else:
        raise ValueError("noise must be one of %s, got %r" % (", ".join(NOISES[1:]), kind))
    a -= a.mean()
    return a / (np.sqrt(np.mean(a ** 2)) + 1e-12)


def noise_signal(kind, db, seed=0, cache_dir=None):
    """The room noise as float samples at RMS `db` dBFS (None for "none")."""
    if kind in (None, "none"):
        return None
    return noise_unit(kind, seed, cache_dir) * (32768.0 * 10 ** (db / 20.0))


def play_noise(kind, db, seed, cache_dir, device="room"):
    """Plays the noise into the PulseAudio sink `device` forever (pacat), looping."""
    import numpy as np

    sig = noise_signal(kind, db, seed, cache_dir)
    data = np.clip(np.round(sig), -32768, 32767).astype("<i2").tobytes()
    loudest = max(rms_db(data[i:i + CHUNK_BYTES]) for i in range(0, len(data) - CHUNK_BYTES + 1, CHUNK_BYTES))
    print(json.dumps({"event": "noise", "kind": kind, "rms_db": db, "seed": seed,
                      "loudest_chunk_db": round(loudest, 2), "seconds": NOISE_SECONDS}), flush=True)
    cmd = ["pacat", "--playback", "-d", device, "--format=s16le", "--rate=%d" % RATE, "--channels=1",
           "--raw", "--latency-msec=200", "--client-name=leakypick-room-noise", "--stream-name=noise"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        while True:
            p.stdin.write(data)
            p.stdin.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        try:
            p.terminate()
        except OSError:
            pass
    return p.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description="testbed room helpers")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("noise", help="play room noise into a PulseAudio sink forever")
    p.add_argument("--kind", choices=NOISES[1:], required=True)
    p.add_argument("--db", type=float, required=True, help="RMS level, dBFS")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", required=True, help="directory for babble's flite sentences")
    p.add_argument("--sink", default="room")
    a = ap.parse_args(argv)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return play_noise(a.kind, a.db, a.seed, a.cache, a.sink)


if __name__ == "__main__":
    sys.exit(main())
