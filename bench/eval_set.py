"""The realistic evaluation set: talk videos with planted highlights and distractors.

Generated deterministically, no downloads: speech from espeak-ng (Debian package; voices take
turns with pauses, each at its own level), room noise, and numpy-made sounds (group laughter
from several espeak voices laughing "ha ha", applause as hundreds of band-limited claps,
cheering as applause with shouted "yeah" / "woo", a shout as one line 12-15 dB above its
speaker, a music sting of brassy chords on a cut, an air-conditioner hum, music beds, mic
bumps). The pictures are drawn by ffmpeg's lavfi sources (gradients, test patterns, fractals,
with camera grain): no scikit-image. Shots change at single hard cuts (a distractor), at the
sting and, every 0.4-0.7 s, in a montage (over music, over speech, or over silence).

The set has two parts: `tune` (the seeds, voices and noise the analyzer was tuned on) and
`held-out` (other seeds, voices and noise levels, never tuned on). It covers a video without
audio, a vertical one, a video with no highlight, and the three keyframe patterns of real
sources: keyframes on cuts (x264's scene cut), every 2 s and every 1 s (a fixed GOP).
Videos are cached in /tmp/truss-bench/eval2 by a hash of their description.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.videos import _atomic
from truss import media

RATE = 16000
FPS = 25
EVAL_DIR = Path(tempfile.gettempdir(), "truss-bench", "eval2")
HIGHLIGHTS = (
    "laughter", "applause", "cheer", "shout", "montage-music", "montage-speech",
    "montage-silent", "sting",
)  # fmt: skip
DISTRACTORS = ("hum", "music-intro", "music-outro", "music-under", "cut", "bump")
SLOT_S = 30.0  # each planted thing gets its own 30 s of the timeline
LENGTHS = {
    "laughter": (3.0, 5.0), "applause": (4.0, 7.0), "cheer": (4.0, 6.0), "shout": (0, 0),
    "montage-music": (4.0, 6.0), "montage-speech": (4.0, 6.0), "montage-silent": (4.0, 6.0),
    "sting": (2.0, 3.0), "hum": (22.0, 26.0), "music-under": (20.0, 25.0), "cut": (0, 0),
    "bump": (0.12, 0.2), "music-intro": (12.0, 15.0), "music-outro": (12.0, 15.0),
}  # fmt: skip
LINES = [
    "So the plan for today is pretty simple.",
    "I tried that last week and it did not work at all.",
    "Right, and then we moved everything over to the new place.",
    "Honestly I was not sure about it at first.",
    "Can you tell them what happened next?",
    "We had about twenty minutes before the doors opened.",
    "That is a good question, let me think about it.",
    "The thing nobody tells you is how long it takes.",
    "OK, so here is the part I wanted to show you.",
    "I am going to try it one more time, watch this.",
    "And that is basically how the whole thing started.",
    "You should have seen his face when he found out.",
    "Let us move on to the next one.",
    "I mean, it is not perfect, but it works.",
]
SHOUTS = ["No way! That is unbelievable!", "Stop! Look at that!", "Yes! We did it!"]
TUNE_VOICES = ("en-us+m3", "en-gb+f2", "en-gb-scotland+m1", "en+f4")
HELD_VOICES = ("en-029+m2", "en-gb-x-rp+f3", "en-us+m7", "en-gb-x-gbclan+f1")
HELD_VOICES_B = ("en-gb-x-gbcwmd+m5", "en-us+f5", "en-gb-scotland+f3", "en-029+m6")


@dataclass(frozen=True)
class Planted:
    """One highlight or distractor: its kind and where it is."""

    kind: str
    start: float
    end: float


@dataclass(frozen=True)
class EvalCase:
    """A generated video: what is planted where, and how it is made."""

    name: str
    split: str  # "tune" or "held-out"
    seed: int
    duration: float
    voices: tuple[str, ...]
    highlights: tuple[Planted, ...]
    distractors: tuple[Planted, ...]
    noise_db: float = -48.0
    audio: bool = True
    vertical: bool = False
    keyframes: str = "cuts"  # "cuts" (x264's scene cut), "2s" or "1s" (a fixed GOP)
    pictures: str = "photos"  # scikit-image's sample photos when installed, else drawings

    def path(self) -> Path:
        made = {**asdict(self), "photos": self.pictures == "photos" and photo_dir() is not None}
        digest = hashlib.sha1(json.dumps(made, sort_keys=True).encode()).hexdigest()
        return EVAL_DIR / f"{self.name}-{digest[:10]}.mp4"


def layout(
    name: str, split: str, seed: int, kinds: list[str], voices: tuple[str, ...], **extra: object
) -> EvalCase:
    """A case with each planted kind in its own 30 s slot (intro first, outro last)."""
    rng = random.Random(seed)
    intro = "music-intro" in kinds
    middle = [k for k in kinds if k not in ("music-intro", "music-outro")]
    rng.shuffle(middle)
    t = 16.0 if intro else 8.0
    placed = [Planted("music-intro", 0.0, round(rng.uniform(*LENGTHS["music-intro"]), 1))]
    placed = placed if intro else []
    for kind in middle:
        length = rng.uniform(*LENGTHS[kind])
        if kind in ("hum", "music-under"):
            start = t + 2
        elif kind == "shout":
            start, length = t + rng.uniform(10, 16), 0.0  # its length is its line's
        else:
            start = t + rng.uniform(12, 16)
        placed.append(Planted(kind, round(start, 2), round(start + length, 2)))
        t += SLOT_S
    duration = t + 8.0
    if "music-outro" in kinds:
        length = round(rng.uniform(*LENGTHS["music-outro"]), 1)
        placed.append(Planted("music-outro", duration, duration + length))
        duration += length
    highlights = tuple(p for p in placed if p.kind in HIGHLIGHTS)
    distractors = tuple(p for p in placed if p.kind in DISTRACTORS)
    return EvalCase(name, split, seed, round(duration, 1), voices, highlights, distractors,
                    **extra)  # type: ignore[arg-type]  # fmt: skip


def cases() -> list[EvalCase]:
    """The whole set: the tuning part, then the held-out part (two batches: other seeds,
    voices and louder room noise)."""
    out: list[EvalCase] = []
    for split, base, voices, noise in (
        ("tune", 100, TUNE_VOICES, -50.0),
        ("held-out", 700, HELD_VOICES, -42.0),
        ("held-out", 900, HELD_VOICES_B, -38.0),
    ):
        v, name = voices, f"{split}-{base}"
        out += [
            layout(f"{name}-podcast", split, base + 1,
                   ["laughter", "hum", "applause", "cut", "bump"], v[:2], noise_db=noise),
            layout(f"{name}-show", split, base + 2,
                   ["music-intro", "cheer", "music-under", "shout", "cut", "music-outro"],
                   v[1:3], noise_db=noise),
            layout(f"{name}-vlog", split, base + 3,
                   ["montage-music", "bump", "laughter", "cut", "sting"], v[2:4],
                   noise_db=noise + 3, keyframes="2s"),
            layout(f"{name}-stream", split, base + 4,
                   ["montage-speech", "hum", "shout", "bump", "applause"], (v[0], v[3]),
                   noise_db=noise, keyframes="1s"),
            layout(f"{name}-panel", split, base + 5,
                   ["cheer", "cut", "montage-silent", "music-under", "laughter"], v[:3],
                   noise_db=noise - 2, keyframes="2s"),
            layout(f"{name}-vertical", split, base + 6,
                   ["shout", "bump", "sting", "cut"], (v[3], v[1]), noise_db=noise,
                   vertical=True),
            layout(f"{name}-no-audio", split, base + 7,
                   ["montage-silent", "cut", "cut", "montage-silent"], (), audio=False,
                   keyframes="1s"),
            layout(f"{name}-nothing", split, base + 8,
                   ["music-intro", "hum", "cut", "bump", "music-under"], v[:2],
                   noise_db=noise),
        ]  # fmt: skip
    return out


# --- sounds ------------------------------------------------------------------------------

Audio = NDArray[np.float64]


@cache
def _espeak(voice: str, text: str, speed: int, pitch: int, amplitude: int = 100) -> Audio:
    """espeak-ng's rendering of text at RATE, -1..1 (cached)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("the realistic set needs espeak-ng: apt-get install -y espeak-ng")
    args = [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude)]
    wav = subprocess.run([*args, "--stdout", text], capture_output=True, check=True).stdout
    rate = int.from_bytes(wav[24:28], "little")
    pcm = np.frombuffer(wav[44 : 44 + (len(wav) - 44) // 2 * 2], dtype="<i2") / 32768.0
    times = np.arange(0, len(pcm) / rate, 1 / RATE)
    return _trim(np.interp(times, np.arange(len(pcm)) / rate, pcm))


def _trim(x: Audio) -> Audio:
    loud = np.flatnonzero(np.abs(x) > 0.01)
    return x[loud[0] : loud[-1] + 1] if len(loud) else x


def _rms(x: Audio) -> float:
    return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0


def _at_db(x: Audio, db: float) -> Audio:
    return x * (10 ** (db / 20) / max(_rms(x), 1e-9))


def _add(track: Audio, x: Audio, at: float) -> None:
    i = int(at * RATE)
    n = max(0, min(len(x), len(track) - i))
    track[i : i + n] += x[:n]


def _fade(x: Audio, seconds: float) -> Audio:
    n = min(len(x) // 2, int(seconds * RATE))
    ramp = np.linspace(0, 1, n) if n else np.zeros(0)
    x = x.copy()
    x[:n] *= ramp
    x[len(x) - n :] *= ramp[::-1]
    return x


def _pink(rng: np.random.Generator, n: int) -> Audio:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(1, np.arange(len(spectrum))))
    return np.fft.irfft(spectrum, n)


def laughter(rng: np.random.Generator, seconds: float, voices: tuple[str, ...]) -> Audio:
    """A group laughing: 6-8 voices saying "ha ha ha", staggered, with breath noise."""
    out = np.zeros(int(seconds * RATE))
    pool = [*voices, "en-us+f2", "en+m1", "en-gb+f5", "en-us+m4"]
    for k in range(int(rng.integers(6, 9))):
        voice = pool[k % len(pool)]
        text = " ".join(["ha"] * int(seconds * rng.uniform(2.5, 3.5)))
        ha = _espeak(voice, text, int(rng.integers(230, 330)), int(rng.integers(55, 95)))
        _add(out, _at_db(ha, -20 + rng.uniform(-4, 2)), rng.uniform(0, 0.8))
    breath = _pink(rng, len(out)) * np.abs(np.sin(np.linspace(0, 40, len(out))))
    out += _at_db(breath, -32)
    return _fade(out, 0.4)


def applause(rng: np.random.Generator, seconds: float) -> Audio:
    """Hundreds of claps: short band-limited noise bursts, 60-120 a second."""
    out = np.zeros(int(seconds * RATE))
    clap_n = int(0.03 * RATE)
    decay = np.exp(-np.arange(clap_n) / (0.006 * RATE))
    for at in rng.uniform(0, seconds, int(seconds * rng.uniform(60, 120))):
        noise = rng.standard_normal(clap_n + 1)
        clap = (noise[1:] - 0.6 * noise[:-1]) * decay * rng.uniform(0.3, 1)
        _add(out, clap, float(at))
    return _fade(out, 0.6)


def cheer(rng: np.random.Generator, seconds: float, voices: tuple[str, ...]) -> Audio:
    """Applause with several voices shouting "yeah" and "woo"."""
    out = _at_db(applause(rng, seconds), -20)
    for k in range(5):
        word = ["yeah!", "woo hoo!", "yes!", "whoo!", "come on!"][k]
        shout = _espeak([*voices, "en+m3"][k % (len(voices) + 1)], word, 200, 90, 200)
        _add(out, _at_db(shout, -22), rng.uniform(0, max(0.1, seconds - 1)))
    return _fade(out, 0.4)


def tone_chord(freqs: list[float], seconds: float, harmonics: int = 6) -> Audio:
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros(len(t))
    for f in freqs:
        for h in range(1, harmonics + 1):
            if f * h < RATE / 2:
                out += np.sin(2 * np.pi * f * h * t) / h
    return out


def music(rng: np.random.Generator, seconds: float) -> Audio:
    """A music bed: a four-chord loop with a bass line and a soft hi-hat, 100-120 bpm."""
    beat = 60 / rng.uniform(100, 120)
    roots = [220.0, 174.6, 261.6, 196.0]
    out = np.zeros(int(seconds * RATE))
    t, k = 0.0, 0
    while t < seconds:
        root = roots[k % 4]
        bar = tone_chord([root, root * 1.26, root * 1.5], 4 * beat, 4) * np.exp(
            -np.arange(int(4 * beat * RATE)) / (1.5 * RATE)
        )
        _add(out, bar * 0.3 + tone_chord([root / 2], 4 * beat, 2) * 0.4, t)
        for b in range(8):
            hat = np.diff(rng.standard_normal(int(0.02 * RATE) + 1))
            _add(out, hat * np.exp(-np.arange(len(hat)) / 40) * 0.08, t + b * beat / 2)
        t, k = t + 4 * beat, k + 1
    return _fade(out, 0.5)


def sting(seconds: float) -> Audio:
    """A brassy stab and a rising chord: a show's music sting."""
    first = tone_chord([261.6, 329.6, 392.0], seconds / 3, 8)
    second = tone_chord([293.7, 370.0, 440.0, 587.3], seconds * 2 / 3, 8)
    out = np.concatenate([first, second])
    return _fade(out * np.exp(-np.arange(len(out)) / (seconds * RATE)), 0.02)


def hum(rng: np.random.Generator, seconds: float) -> Audio:
    """An air conditioner: low rumble (brown noise) and mains hum harmonics."""
    n = int(seconds * RATE)
    brown = np.cumsum(rng.standard_normal(n))
    brown -= np.convolve(brown, np.ones(800) / 800, mode="same")
    t = np.arange(n) / RATE
    mains = sum(np.sin(2 * np.pi * 60 * h * t) / h for h in (1, 2, 3, 5))
    return _fade(_at_db(brown, -20) + _at_db(np.asarray(mains), -24), 1.0)


def bump(rng: np.random.Generator, seconds: float) -> Audio:
    """A mic bump: a decaying low thump and a click."""
    t = np.arange(int(seconds * RATE)) / RATE
    thump = np.sin(2 * np.pi * rng.uniform(60, 100) * t) * np.exp(-t / 0.04)
    thump[:40] += rng.standard_normal(40) * 0.5
    return thump


# --- the soundtrack and the pictures -----------------------------------------------------


def blocked_spans(case: EvalCase) -> list[tuple[float, float]]:
    """Where nobody talks: during laughter, applause, cheering, stings, music-only montages
    and music beds at the start or end (speech runs on over hum, music under speech, a
    montage over speech)."""
    quiet = {"laughter", "applause", "cheer", "sting", "montage-music", "montage-silent"}
    quiet |= {"music-intro", "music-outro"}
    spans = [(p.start, p.end + 0.6) for p in (*case.highlights, *case.distractors)
             if p.kind in quiet]  # fmt: skip
    return sorted(spans)


def soundtrack(case: EvalCase) -> tuple[Audio, EvalCase]:
    """The mixed audio, and the case with the shouts' real ends (their lines' lengths)."""
    rng = np.random.default_rng(case.seed)
    total = int((case.duration + 1) * RATE)
    track = _pink(rng, total)
    track = _at_db(track, case.noise_db)
    levels = {v: -24 + rng.uniform(-2, 2) for v in case.voices}
    shouts = {p.start: p for p in case.highlights if p.kind == "shout"}
    spans = blocked_spans(case)
    t, turn, voice_i, lines = 1.0, 0, 0, 0
    highlights = list(case.highlights)
    while t < case.duration - 3:
        voice = case.voices[voice_i]
        shout = next((s for s in shouts if s < t + 6), None)
        if shout is not None:
            line = _espeak(voice, SHOUTS[lines % len(SHOUTS)], 190, 80, 200)
            _add(track, _at_db(line, levels[voice] + rng.uniform(12, 15)), shout)
            end = round(shout + len(line) / RATE, 2)
            highlights[highlights.index(shouts.pop(shout))] = Planted("shout", shout, end)
            t = end + rng.uniform(0.5, 1.0)
            continue
        line = _espeak(voice, LINES[int(rng.integers(len(LINES)))], int(rng.integers(150, 185)),
                       int(rng.integers(35, 65)))  # fmt: skip
        length = len(line) / RATE
        block = next(((a, b) for a, b in spans if a < t + length + 0.3 and b > t), None)
        if block is not None:  # end the line just before the block (a lead-in), or skip it
            if block[0] - 0.3 - length < t - 0.3:
                t = block[1]
                continue
            t = block[0] - 0.3 - length
        _add(track, _at_db(line, levels[voice] + rng.uniform(-1.5, 1.5)), t)
        t = block[1] if block is not None else t + length + rng.uniform(0.3, 1.2)
        lines += 1
        turn += 1
        if turn >= rng.integers(1, 4):
            voice_i, turn = (voice_i + 1) % len(case.voices), 0
    for p in (*highlights, *case.distractors):
        _plant(track, p, rng, case, levels)
    return np.clip(track, -0.99, 0.99), _with(case, highlights)


def _with(case: EvalCase, highlights: list[Planted]) -> EvalCase:
    return EvalCase(**{**asdict(case), "highlights": tuple(highlights),
                       "distractors": case.distractors})  # type: ignore[arg-type]  # fmt: skip


def _plant(
    track: Audio, p: Planted, rng: np.random.Generator, case: EvalCase, levels: dict[str, float]
) -> None:
    """Mix one planted sound in at its level relative to the talk (~ -24 dBFS)."""
    speech = statistics_mean(list(levels.values())) if levels else -24.0
    length = p.end - p.start
    sounds = {
        "laughter": lambda: _at_db(laughter(rng, length, case.voices), speech + rng.uniform(7, 10)),
        "applause": lambda: _at_db(applause(rng, length), speech + rng.uniform(7, 11)),
        "cheer": lambda: _at_db(cheer(rng, length, case.voices), speech + rng.uniform(8, 11)),
        "sting": lambda: _at_db(sting(length), speech + rng.uniform(6, 9)),
        "montage-music": lambda: _at_db(music(rng, length), speech + rng.uniform(0, 3)),
        "hum": lambda: _at_db(hum(rng, length), speech + rng.uniform(2, 5)),
        "music-intro": lambda: _at_db(music(rng, length), speech + rng.uniform(2, 5)),
        "music-outro": lambda: _at_db(music(rng, length), speech + rng.uniform(2, 5)),
        "music-under": lambda: _at_db(music(rng, length), speech - rng.uniform(6, 10)),
        "bump": lambda: bump(rng, length) * 10 ** ((speech + rng.uniform(14, 18)) / 20),
    }
    if p.kind in sounds:
        _add(track, sounds[p.kind](), p.start)


def statistics_mean(values: list[float]) -> float:
    return sum(values) / len(values)


DRAWINGS = [
    "gradients=c0=0x304060:c1=0xc0a080:speed=0.002",
    "gradients=c0=0x602020:c1=0xe0c060:speed=0.003",
    "gradients=c0=0x103020:c1=0x80c0a0:speed=0.002",
    "testsrc2",
    "gradients=c0=0x402010:c1=0x90d0f0:speed=0.003",
    "gradients=c0=0x202060:c1=0xd080d0:speed=0.004",
    "smptehdbars",
    "pal75bars",
    "gradients=c0=0x505050:c1=0xf0f0e0:speed=0.002",
]


PHOTOS = (
    "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
    "hubble_deep_field.jpg", "ihc.png", "camera.png", "moon.png", "page.png",
)  # fmt: skip


def photo_dir() -> Path | None:
    """scikit-image's bundled sample photos (in its wheel: no download), if it is installed."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "data"
    return folder if all((folder / name).is_file() for name in PHOTOS) else None


def shots(case: EvalCase) -> list[tuple[float, int]]:
    """(length, picture number) of each shot: new shots at cuts, stings and in montages."""
    marks = {0.0, case.duration}
    for p in (*case.highlights, *case.distractors):
        if p.kind in ("cut", "sting"):
            marks.add(p.start)
        elif p.kind.startswith("montage"):
            rng = random.Random(case.seed * 31 + int(p.start))
            t = p.start
            while t < p.end:
                marks.add(round(t, 2))
                t += rng.uniform(0.4, 0.7)
            marks.add(p.end)
    times = sorted(marks)
    return [(round(b - a, 3), i * 3 + case.seed) for i, (a, b) in enumerate(pairwise(times))]


def _picture_inputs(case: EvalCase) -> tuple[list[str], str]:
    """ffmpeg inputs and the filter graph of the pictures: scikit-image photos panned slowly
    (with camera grain), else lavfi drawings (gradients, test patterns)."""
    w, h = (180, 320) if case.vertical else (320, 180)
    photos = photo_dir() if case.pictures == "photos" else None
    inputs, parts, labels = [], [], []
    for i, (length, number) in enumerate(shots(case)):
        if photos is not None:
            photo = photos / PHOTOS[number % len(PHOTOS)]
            inputs += ["-loop", "1", "-framerate", str(FPS), "-t", f"{length:.3f}"]
            inputs += ["-i", str(photo)]
            cover = f"scale={w * 5 // 4}:{h * 5 // 4}:force_original_aspect_ratio=increase"
            pan = f"crop={w}:{h}:x='(iw-{w})*t/{max(length, 0.1):.3f}':y='(ih-{h})/2'"
            chain = f"[{len(inputs) // 8 - 1}:v]{cover},{pan}"
        else:
            head, _, tail = DRAWINGS[number % len(DRAWINGS)].partition(",")
            sep = ":" if "=" in head else "="
            chain = f"{head}{sep}s={w}x{h}:r={FPS}:d={length:.3f}" + (f",{tail}" if tail else "")
        parts.append(f"{chain},noise=alls=6:allf=t,format=yuv420p,setsar=1[s{i}]")
        labels.append(f"[s{i}]")
    graph = ";".join(parts) + f";{''.join(labels)}concat=n={len(labels)}:v=1:a=0[v]"
    return inputs, graph


def _write_wav(path: Path, audio: Audio) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((audio * 32767).astype("<i2").tobytes())


KEYFRAMES = {
    "cuts": [],
    "2s": ["-g", str(2 * FPS), "-keyint_min", str(2 * FPS), "-sc_threshold", "0"],
    "1s": ["-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0"],
}


def generate(case: EvalCase) -> tuple[Path, EvalCase]:
    """The case's video (made once, cached) and the case with its shouts' real lengths."""
    final = soundtrack(case)[1] if case.audio else case

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="truss-eval-") as tmp:
            inputs, graph = _picture_inputs(case)
            args = ["-y", "-v", "error", *inputs, "-filter_complex", graph]
            maps = ["-map", "[v]"]
            if case.audio:
                wav = Path(tmp, "sound.wav")
                _write_wav(wav, soundtrack(case)[0])
                args += ["-i", str(wav)]
                maps += ["-map", f"{len(inputs) // 8}:a", "-c:a", "aac", "-b:a", "64k"]
            args += [*maps, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
            args += [*KEYFRAMES[case.keyframes], "-t", str(case.duration), str(out)]
            media.run_ffmpeg(args, 900, "Making an evaluation video")

    return _atomic(case.path(), make), final
