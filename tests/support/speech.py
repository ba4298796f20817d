"""Generated speech with known word times (espeak-ng, from Debian) for the offline
recogniser's test and benchmark: each word is spoken on its own and placed at a known
offset, so the true start of every word is known to the sample."""

from __future__ import annotations

import array
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from truss.media import run_ffmpeg

WORDS = ["hello", "world", "this", "is", "a", "test", "of", "the", "captions", "in", "truss"]
GAP_S = 0.45  # silence between two words
LEAD_S = 0.6  # silence before the first word
LOUD = 500  # a sample above this (of 32767) is speech


@dataclass(frozen=True)
class Speech:
    video: Path  # audio in a Matroska file (a container the upload allow-list takes)
    starts: list[float]  # true start of each word, seconds
    words: list[str]


def espeak_or_skip() -> str:
    """espeak-ng's path; a visible skip without it, but a failure under CI (.ci/run installs it)."""
    found = shutil.which("espeak-ng")
    if found is None:
        message = "espeak-ng is not installed (apt-get install espeak-ng)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must run the offline recognition test)")
        pytest.skip(message)
    return found


def _say(espeak: str, word: str, folder: Path) -> tuple[array.array, int]:
    path = folder / f"{len(list(folder.iterdir()))}.wav"
    subprocess.run([espeak, "-s", "150", "-w", str(path), word], check=True, timeout=60)
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    return samples, rate


def _onset(samples: array.array) -> int:
    return next((i for i, s in enumerate(samples) if abs(s) > LOUD), 0)


def make_speech(dest: Path, words: list[str] = WORDS) -> Speech:
    """Speak `words` one by one with gaps; the file and each word's true start."""
    espeak = espeak_or_skip()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spoken = [_say(espeak, word, folder) for word in words]
        rate = spoken[0][1]
        track, starts = array.array("h", [0] * int(LEAD_S * rate)), []
        for samples, _ in spoken:
            start = _onset(samples)
            voiced = samples[start:]
            end = len(voiced) - _onset(array.array("h", reversed(voiced)))
            starts.append(len(track) / rate)
            track.extend(voiced[:end])
            track.extend([0] * int(GAP_S * rate))
        wav_path = folder / "speech.wav"
        with wave.open(str(wav_path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(track.tobytes())
        run_ffmpeg(
            ["-y", "-v", "error", "-i", str(wav_path), "-c:a", "pcm_s16le", str(dest)], 60, "speech"
        )
    return Speech(dest, starts, list(words))
