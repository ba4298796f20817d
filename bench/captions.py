"""Captions figures (issue 15): how well the offline recogniser times words, and how fast.

    .venv/bin/python -m bench.captions

Generated speech (tests/support/speech.py: espeak-ng says each word on its own, placed at a
known offset) is transcribed by truss.captions.offline. Timing error: for every spoken word,
the distance from its true start to the nearest recognised word's start (the words
themselves are often misheard; the timings are what the captions need). Speed: seconds of
audio recognised per second of wall-clock time, the model's loading included."""

from __future__ import annotations

import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.speech import make_speech
from truss.captions import offline

SENTENCES = (
    "hello world this is a test of the captions in truss",
    "the quick brown fox jumps over the lazy dog again and again",
    "please subscribe for more videos like this one every week",
)
TARGET_S = 0.15

Figure = tuple[str, str, str, bool | None, str]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ffmpeg audio reads)."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def caption_figures() -> list[Figure]:
    if shutil.which("espeak-ng") is None:
        missing = "not measured: espeak-ng is not installed (apt-get install espeak-ng)"
        return [("offline caption timing error (median)", "-", f"<= {TARGET_S} s", None, missing)]
    errors: list[float] = []
    audio_s = busy_s = cpu_s = 0.0
    heard = spoken = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, sentence in enumerate(SENTENCES):
            words = sentence.split()
            speech = make_speech(Path(tmp) / f"speech{n}.mkv", words)
            length = speech.starts[-1] + 2.0
            began, cpu_began = time.perf_counter(), cpu_seconds()
            transcript = offline.transcribe(speech.video, 0.0, length)
            busy_s += time.perf_counter() - began
            cpu_s += cpu_seconds() - cpu_began
            audio_s += length
            starts = [w.start for w in transcript.words]
            errors += [min((abs(s - t) for s in starts), default=length) for t in speech.starts]
            heard += len(transcript.words)
            spoken += len(words)
    median = statistics.median(errors)
    detail = (
        f"{len(errors)} words of espeak-ng speech; p90 "
        f"{statistics.quantiles(errors, n=10)[-1]:.3f} s; {heard} words heard for {spoken} spoken"
    )
    return [
        ("offline caption timing error (median)", f"{median:.3f} s", f"<= {TARGET_S} s",
         median <= TARGET_S, detail),
        ("offline recognition speed", f"{audio_s / busy_s:.1f}x real time", "", None,
         f"{audio_s:.0f} s of audio in {busy_s:.1f} s wall, {cpu_s:.1f} CPU s (ffmpeg included)"),
    ]  # fmt: skip


if __name__ == "__main__":
    for figure in caption_figures():
        print(" | ".join(str(part) for part in figure))
