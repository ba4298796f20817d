"""Gemini's word timings for a clip's window (the real google-genai client against the fake
Gemini server): one request per clip window, and nothing in the answer trusted."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest
from flask import Flask

from tests.support.app import AuthActions, make_app
from tests.support.fake_gemini import API_KEY, FakeGemini
from tests.support.gemini import answer, make_analyzer, moment, not_a_video
from tests.support.media import Videos
from tests.support.pipeline import SMALL_RENDER_SETTINGS, uploaded_asset
from truss import jobs
from truss.analysis.base import AnalysisError
from truss.captions import gemini, store
from truss.captions.model import GEMINI
from truss.data import assets, clips
from truss.extensions import get_storage, get_table


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


@pytest.fixture
def words_app(aws: None, fake: FakeGemini) -> Flask:
    """An app that analyses with Gemini against the fake and asks each clip's words."""
    return make_app(
        fakeredis.FakeRedis(), ANALYZER="auto", GEMINI_API_KEY=API_KEY,
        GEMINI_BASE_URL=fake.base_url, GEMINI_POLL_INTERVAL_S=0.01,
        GEMINI_RETRY_INITIAL_DELAY_S=0.01, CLIP_MIN_S=5.0, CLIP_MAX_S=20.0,
        GEMINI_TRANSCRIPTS=True, **SMALL_RENDER_SETTINGS,
    )  # fmt: skip


def test_a_gemini_analysis_stores_each_clips_words_before_it_renders(
    words_app: Flask, fake: FakeGemini, videos: Videos
) -> None:
    fake.answer(answer(moment(3, 11, 70)), prompt_tokens=4000, output_tokens=250)
    fake.answer(words((4.0, 4.5, "Hello"), (5.0, 5.6, "geminiword")), prompt_tokens=500)
    browser = words_app.test_client()
    auth = AuthActions(words_app, browser)
    owner = auth.login()
    with words_app.test_request_context():
        asset = uploaded_asset(videos.cut_halfway(40), cid=owner.id)
        jobs.request_analysis(asset)
        table, storage = get_table(), get_storage()
        done = assets.get(table, asset.creator_id, asset.id)
        assert done.status == assets.READY, done.error
        assert done.input_tokens == 4500  # the words' request is counted too
        (clip,) = clips.for_asset(table, asset.creator_id, asset.id)
        assert clip.render_status == clips.READY
        transcript = store.load(storage, clip)
        assert transcript is not None and transcript.source == GEMINI
        assert [w.text for w in transcript.words] == ["Hello", "geminiword"]
    asked = fake.seen("generate")[1].json()["contents"][0]["parts"]
    assert f"from {clip.start:.1f} s to {clip.end:.1f} s" in asked[1]["text"]
    assert len(fake.seen("upload_start")) == 1  # the analysis's upload is reused
    assert clip.id in browser.get("/clips?q=geminiword").get_data(as_text=True)
    auth.login("someone-else@example.com")
    assert clip.id not in browser.get("/clips?q=geminiword").get_data(as_text=True)


def test_without_an_answer_for_the_words_the_clip_still_renders(
    words_app: Flask, fake: FakeGemini, videos: Videos
) -> None:
    fake.answer(answer(moment(3, 11, 70)))  # nothing scripted for the words: the fake refuses
    with words_app.test_request_context():
        asset = uploaded_asset(videos.cut_halfway(40))
        jobs.request_analysis(asset)
        table, storage = get_table(), get_storage()
        assert assets.get(table, asset.creator_id, asset.id).status == assets.READY
        (clip,) = clips.for_asset(table, asset.creator_id, asset.id)
        assert clip.render_status == clips.READY and store.load(storage, clip) is None
