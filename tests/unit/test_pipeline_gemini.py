"""The pipeline with the Gemini analyzer: the real google-genai client against the fake Gemini
server on localhost, a real video, real ffmpeg. The model chooses, the signals refine."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.support.app import AuthActions
from tests.support.fake_gemini import FakeGemini
from tests.support.gemini import answer, moment
from tests.support.media import Videos
from tests.support.pipeline import uploaded_asset
from truss import jobs
from truss.data import assets, clips, keys
from truss.extensions import get_table

PLANTED_CUT_S = 20.0  # make_video cuts from the test pattern to red halfway through


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(40)


def test_gemini_moments_are_snapped_to_the_cut_and_usage_lands_on_the_asset(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    fake.answer(
        answer(moment(18.9, 31.0, 92, title="The reveal"), moment(3, 11, 40)),
        prompt_tokens=4000, output_tokens=250,
    )  # fmt: skip
    browser = gemini_app.test_client()
    creator = AuthActions(gemini_app, browser).login()
    with gemini_app.test_request_context():
        asset = uploaded_asset(video, cid=creator.id)
        jobs.request_analysis(asset)
        table = get_table()
        done = assets.get(table, asset.creator_id, asset.id)
        assert done.status == assets.READY, done.error
        assert (done.analyzer, done.input_tokens, done.output_tokens) == ("gemini", 4000, 250)
        best = clips.for_asset(table, asset.creator_id, asset.id)[0]
        assert best.title == "The reveal" and best.score == 92
        assert abs(best.start - PLANTED_CUT_S) < 0.5  # the model said 18.9; the cut is at 20
        assert best.render_status == clips.READY
        chapters = table.get(keys.asset_chapters(asset.creator_id, asset.id))["chapters"]
        assert chapters[0]["title"] == "Intro"
    html = browser.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "Gemini" in html and "4,000 input" in html and "250 output" in html
    assert "about $0.0039" in html  # 4000 x $0.75/M + 250 x $3.75/M


def test_re_analysis_within_48_hours_reuses_the_uploaded_file(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    fake.answer(answer(moment(2, 12, 70)))
    fake.answer(answer(moment(26, 36, 75)))
    with gemini_app.test_request_context():
        asset = uploaded_asset(video)
        jobs.request_analysis(asset)
        table = get_table()
        ready = assets.get(table, asset.creator_id, asset.id)
        assert ready.status == assets.READY, ready.error
        jobs.request_analysis(ready)
        again = assets.get(table, asset.creator_id, asset.id)
        assert again.status == assets.READY, again.error
        made = clips.for_asset(table, asset.creator_id, asset.id)
        assert [round(c.start) for c in made] == [26]  # replaced, not added to
    assert len(fake.seen("upload_start")) == 1
    assert len(fake.seen("generate")) == 2


def test_a_gemini_error_fails_the_asset_with_the_reason(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    from tests.support.fake_gemini import error_reply

    bad = error_reply(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
    fake.script("generate", bad)
    with gemini_app.test_request_context():
        asset = uploaded_asset(video)
        jobs.request_analysis(asset)
        failed = assets.get(get_table(), asset.creator_id, asset.id)
    assert failed.status == assets.FAILED
    assert "refused to analyse this video" in failed.error  # what happened, what to do
    assert "invalid argument" not in failed.error.lower()  # the API's words: logged only
