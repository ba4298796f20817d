"""A render with captions, all real: ffmpeg, PocketSphinx, libass, moto S3 and DynamoDB. The
first render of a clip of generated speech makes its rough transcript, stores it, and burns
the words in at their times."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.support.media import frame_rgb
from tests.support.pipeline import SMALL_RENDER, FakeAnalyzer, fake_pipeline, uploaded_asset
from tests.support.speech import make_speech
from truss.analysis.base import Moment
from truss.captions import store
from truss.data import clips
from truss.extensions import get_storage, get_table
from truss.media import run_ffmpeg

APP_SETTINGS = {"CAPTIONS_RECOGNISER": "offline"}  # the unit tests' default is off
CLIP_ID = "01J00000000000000000000001"
SAID = ["hello", "world", "this", "is", "a", "test"]


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def talking_video(tmp_path: Path) -> tuple[Path, list[float]]:
    """A grey landscape video whose sound is generated speech with known word starts."""
    speech = make_speech(tmp_path / "speech.mkv", SAID)
    out = tmp_path / "talk.mp4"
    picture = "color=c=0x404040:s=320x180:r=25"
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", picture, "-i", str(speech.video)]
    args += ["-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)]
    run_ffmpeg(args, 60, "talking video")
    return out, speech.starts


def test_the_first_render_transcribes_and_burns_the_words_in(ctx: None, tmp_path: Path) -> None:
    video, starts = talking_video(tmp_path)
    end = starts[-1] + 1.0
    asset = uploaded_asset(video)
    table, storage = get_table(), get_storage()
    talk = Moment(0.0, end, "Talk", "hook", 90, "why", ("#a",))
    clips.create_from_moment(table, asset.creator_id, asset.id, CLIP_ID, talk, rank=0)
    fake_pipeline(FakeAnalyzer([]), []).render(asset.creator_id, CLIP_ID, "r1")
    clip = clips.get(table, asset.creator_id, CLIP_ID)
    assert clip.render_status == clips.READY, clip.error
    transcript = store.load(storage, clip)
    assert transcript is not None and transcript.rough and transcript.words
    times = [w.start for w in transcript.words]
    assert times == sorted(times) and times[0] >= starts[0] - 0.3
    out = tmp_path / "clip.mp4"
    storage.download(clip.video_key, str(out))
    width, height = SMALL_RENDER
    silent = frame_rgb(out, max(0.05, starts[0] - 0.4), width, height)  # before the first word
    spoken = frame_rgb(out, transcript.words[0].start + 0.1, width, height)
    changed = sum(1 for a, b in zip(silent, spoken, strict=True) if abs(a - b) > 60)
    assert changed > 100  # the caption appeared with the first word


def test_with_the_recogniser_off_a_render_makes_no_transcript(app: Flask, tmp_path: Path) -> None:
    app.config["CAPTIONS_RECOGNISER"] = "off"
    with app.test_request_context():
        video, starts = talking_video(tmp_path)
        asset = uploaded_asset(video)
        table, storage = get_table(), get_storage()
        talk = Moment(0.0, starts[-1] + 1.0, "Talk", "hook", 90, "why", ("#a",))
        clips.create_from_moment(table, asset.creator_id, asset.id, CLIP_ID, talk, rank=0)
        fake_pipeline(FakeAnalyzer([]), []).render(asset.creator_id, CLIP_ID, "r1")
        clip = clips.get(table, asset.creator_id, CLIP_ID)
        assert clip.render_status == clips.READY and store.load(storage, clip) is None
