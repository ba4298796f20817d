"""Model output is untrusted: huge or garbage titles, hooks, reasons, transcripts, hashtags,
scores and chapters are cleaned and capped, so the analysis completes (one request, no
retry) and every clip item stays far below DynamoDB's 400 KB."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.fake_gemini import FakeGemini
from tests.support.gemini import answer, make_analyzer, moment, not_a_video, probe
from tests.support.media import Videos
from tests.support.pipeline import uploaded_asset
from truss import jobs
from truss.analysis import limits
from truss.analysis.base import ClipLengths, Moment
from truss.data import assets, clips, keys
from truss.extensions import get_table

HASHTAG = re.compile(r"^#\w{1,50}$")  # what a creator's own edit accepts (services/clips)
INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u202e]")


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    return not_a_video(tmp_path / "talk.mp4")


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(40)


def hostile_moment(start: float, end: float) -> dict[str, Any]:
    """Every field a model could blow up: far too much text, control characters, bidi
    overrides, a thousand hashtags of every shape, a score of a billion."""
    return {
        **moment(start, end),
        "title": "\u202eBIG\x00 " + "title " * 5_000,
        "hook": "\x1b[31mhook\x07 " * 3_000,
        "virality_score": 1e9,
        "score_reason": "because " * 3_000,
        "hashtags": ["#ok", "#OK", "two words", "#émoji🔥", "", "###", "x" * 500]
        + [f"#tag{i}" for i in range(1000)],
        "transcript": "so then\r\nI said\x00 " * 30_000,  # 500 KB: alone over 400 KB,
    }


def hostile_answer(*moments: dict[str, Any]) -> dict[str, Any]:
    chapter = {"start_seconds": 0, "end_seconds": 1, "title": "t\x00" * 500,
               "summary": "s " * 1_000}  # fmt: skip
    chapters = [{**chapter, "start_seconds": i, "end_seconds": i + 1} for i in range(400)]
    return {**answer(*moments), "chapters": chapters, "summary": "whole " * 5_000}


def assert_capped(title: str, hook: str, reason: str, tags: Any, transcript: str) -> None:
    assert 0 < len(title) <= limits.TITLE_CHARS and title.startswith("BIG title")
    assert len(hook) <= limits.HOOK_CHARS and len(reason) <= limits.REASON_CHARS
    assert len(transcript) <= limits.TRANSCRIPT_CHARS and transcript.startswith("so then\nI said")
    for text in (title, hook, reason, transcript):
        assert not INVISIBLE.search(text)
    assert list(tags) == ["#ok", "#twowords", "#émoji", "#" + "x" * 50, "#tag0", "#tag1",
                          "#tag2", "#tag3"]  # fmt: skip
    assert all(HASHTAG.match(tag) for tag in tags)


def test_the_analyzer_caps_every_field_of_a_hostile_answer(
    fake: FakeGemini,
    small_file: Path,
) -> None:
    fake.answer(hostile_answer(hostile_moment(10, 30), moment(100, 120, 150)))

    result = make_analyzer(fake).analyze(small_file, probe(300), ClipLengths(15, 60))

    assert len(fake.seen("generate")) == 1  # cleaned, not refused and asked again
    best = result.moments[0]
    assert best.score == 100
    assert_capped(best.title, best.hook, best.reason, best.hashtags, best.transcript)
    assert len(result.chapters) <= limits.MAX_CHAPTERS
    assert all(len(c.title) <= limits.CHAPTER_TITLE_CHARS for c in result.chapters)
    assert all(len(c.summary) <= limits.CHAPTER_SUMMARY_CHARS for c in result.chapters)
    assert len(result.summary) <= limits.SUMMARY_CHARS


def test_a_hostile_answer_still_gives_a_ready_video_with_small_clip_items(
    gemini_app: Flask,
    fake: FakeGemini,
    video: Path,
) -> None:
    fake.answer(hostile_answer(hostile_moment(2, 12), hostile_moment(24, 34)))
    with gemini_app.test_request_context():
        asset = uploaded_asset(video)
        jobs.request_analysis(asset)
        table = get_table()
        done = assets.get(table, asset.creator_id, asset.id)
        assert done.status == assets.READY, done.error
        made = clips.for_asset(table, asset.creator_id, asset.id)
        assert len(made) == 2
        for clip in made:
            assert_capped(clip.title, clip.hook, clip.reason, clip.hashtags, clip.transcript)
            item = table.get(keys.clip(asset.creator_id, clip.id))
            assert len(json.dumps(item, default=str).encode()) < 40_000
    assert len(fake.seen("generate")) == 1


def test_moments_clean_themselves_whoever_makes_them() -> None:
    made = Moment(0, 10, "\x00\n", "  a  hook\n", 250, "r", ("#a", "#A", "b c"), "t\x00")
    assert (made.title, made.hook, made.score) == ("a hook", "a hook", 100)
    assert (made.hashtags, made.transcript) == (("#a", "#bc"), "t")
