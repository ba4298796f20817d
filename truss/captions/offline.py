"""The offline recogniser: PocketSphinx with the US-English model its wheel ships
(`pocketsphinx/model/en-us`), nothing downloaded at run time. It is fast and free but rough:
words are often wrong (its timings are better than its words), so transcripts it makes are
labelled rough and the creator can correct them on the clip page."""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

from truss import ffmpeg
from truss.analysis.base import AnalysisError
from truss.captions.model import OFFLINE, Transcript, Word, make

RATE = 16_000  # the model's sample rate
FRAMES_PER_S = 100  # PocketSphinx segments count 10 ms frames
FILLERS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")
ALTERNATE = re.compile(r"\(\d+\)$")  # `don't(2)`: the dictionary's second pronunciation
_LOCK = threading.Lock()  # one decoder per process, one utterance at a time
TIMEOUT_PER_S = 2.0  # wall-clock seconds of audio extraction allowed per second of clip


def window_audio(source: ffmpeg.Source, start: float, end: float) -> bytes:
    """The window's audio as 16 kHz mono 16-bit PCM (one fenced ffmpeg run)."""
    length = max(0.1, end - start)
    args = [
        "-v", "error", "-ss", f"{start:.3f}", *ffmpeg.input_args(source), "-t", f"{length:.3f}",
        "-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "pipe:1",
    ]  # fmt: skip
    done = ffmpeg.run(args, timeout=30 + TIMEOUT_PER_S * length, what="Reading the clip's audio")
    if done.returncode != 0:
        raise AnalysisError("The clip's audio could not be read for its captions.")
    return done.stdout


@cache
def _decoder() -> Any:
    from pocketsphinx import Decoder

    return Decoder(samprate=RATE, loglevel="FATAL")


def recognise(pcm: bytes, offset: float = 0.0) -> list[Word]:
    """Words heard in `pcm` (16 kHz mono s16le), timed from `offset` seconds."""
    with _LOCK:
        decoder = _decoder()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        segments = [(seg.word, seg.start_frame, seg.end_frame) for seg in decoder.seg()]
    words = []
    for word, first, last in segments:
        if FILLERS.match(word):
            continue
        text = ALTERNATE.sub("", word)
        start = offset + first / FRAMES_PER_S
        end = offset + (last + 1) / FRAMES_PER_S
        words.append(Word(round(start, 3), round(end, 3), text))
    return words


def transcribe(source: ffmpeg.Source | Path, start: float, end: float) -> Transcript:
    """A rough transcript of the source video's window [start, end)."""
    words = recognise(window_audio(source, start, end), offset=start)
    return make(OFFLINE, words, span=(round(start, 3), round(end, 3)))
