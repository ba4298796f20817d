"""Gemini's word timings for a clip's window (the real google-genai client against the fake
Gemini server): one request per clip window, and nothing in the answer trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_gemini import FakeGemini
from tests.support.gemini import make_analyzer, not_a_video
from truss.analysis.base import AnalysisError
from truss.captions import gemini
from truss.captions.model import GEMINI


def words(*triples: tuple[float, float, str]) -> dict:
    return {"words": [{"start_seconds": s, "end_seconds": e, "word": w} for s, e, w in triples]}


def test_one_request_about_the_window_gives_timed_words(fake: FakeGemini, tmp_path: Path) -> None:
    analyzer = make_analyzer(fake)
    file = analyzer.ensure_file(not_a_video(tmp_path / "talk.mp4"))
    fake.answer(words((60.2, 60.6, "Hello,"), (60.7, 61.2, "everyone."), (95.0, 95.5, "later")))
    transcript, usage = gemini.transcribe(analyzer, file, 600.0, 60.0, 90.0)
    assert transcript.source == GEMINI and not transcript.rough
    assert [(w.start, w.text) for w in transcript.words] == [(60.2, "Hello,"), (60.7, "everyone.")]
    assert usage.input_tokens == 1000
    sent = fake.seen("generate")
    assert len(sent) == 1
    request = sent[0].json()
    video = request["contents"][0]["parts"][0]
    metadata = {k.replace("_", "").lower(): v for k, v in video["videoMetadata"].items()}
    assert (metadata["startoffset"], metadata["endoffset"]) == ("60s", "90s")  # the clip only
    assert "words" in str(request["generationConfig"]["responseSchema"])
    assert "from 60.0 s to 90.0 s" in request["contents"][0]["parts"][1]["text"]


def test_times_given_from_the_window_start_are_moved_onto_the_video(
    fake: FakeGemini, tmp_path: Path
) -> None:
    analyzer = make_analyzer(fake)
    file = analyzer.ensure_file(not_a_video(tmp_path / "talk.mp4"))
    fake.answer(words((0.5, 0.9, "one"), (1.0, 1.4, "two"), (3.0, 2.0, "backwards"), (2, 3, " ")))
    transcript, _ = gemini.transcribe(analyzer, file, 600.0, 120.0, 150.0)
    assert [(w.start, w.text) for w in transcript.words] == [(120.5, "one"), (121.0, "two")]


def test_an_answer_that_does_not_validate_twice_is_an_error(
    fake: FakeGemini, tmp_path: Path
) -> None:
    analyzer = make_analyzer(fake)
    file = analyzer.ensure_file(not_a_video(tmp_path / "talk.mp4"))
    fake.answer("not json")
    fake.answer({"words": [{"start_seconds": "soon"}]})
    with pytest.raises(AnalysisError, match="couldn't be read twice") as raised:
        gemini.transcribe(analyzer, file, 600.0, 0.0, 30.0)
    assert raised.value.usage is not None and raised.value.usage.input_tokens == 2000
