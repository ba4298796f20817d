"""The offline recogniser (PocketSphinx's bundled en-us model) on generated speech."""

from __future__ import annotations

import statistics
from pathlib import Path

from tests.support.speech import make_speech
from truss.captions import offline


def test_generated_speech_gives_rough_words_with_increasing_times(tmp_path: Path) -> None:
    speech = make_speech(tmp_path / "speech.mkv")
    transcript = offline.transcribe(speech.video, 0.0, speech.starts[-1] + 2.0)
    assert transcript.rough and "rough" in transcript.label
    starts = [w.start for w in transcript.words]
    assert len(transcript.words) >= len(speech.words) // 2
    assert starts == sorted(starts) and all(w.end > w.start for w in transcript.words)
    assert starts[0] >= speech.starts[0] - 0.3  # nothing heard in the lead-in silence
    errors = [min(abs(s - true) for s in starts) for true in speech.starts]
    assert statistics.median(errors) <= 0.3  # every spoken word has a recognised one near it


def test_a_window_is_timed_on_the_source_video(tmp_path: Path) -> None:
    speech = make_speech(tmp_path / "speech.mkv")
    start = speech.starts[3] - 0.2
    transcript = offline.transcribe(speech.video, start, speech.starts[6] - 0.1)
    assert transcript.words and transcript.words[0].start >= start
    assert transcript.words[-1].end <= speech.starts[6] + 0.3
