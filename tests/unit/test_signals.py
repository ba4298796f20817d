"""The signal analyzer on synthetic videos (real ffmpeg): the applause-like highlight, chapters,
no highlight without sound, short videos, edge snapping of other analyzers' moments."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from tests.support.media import CUT_AT, LOUD, Videos
from truss import media
from truss.analysis.base import AnalysisResult, ClipLengths, Moment
from truss.analysis.signals import SignalAnalyzer, clock, snap_edges
from truss.media import Signals

LENGTHS = ClipLengths(min_s=10.0, max_s=25.0)


def _analyze(path: Path, lengths: ClipLengths = LENGTHS, max_moments: int = 8) -> AnalysisResult:
    return SignalAnalyzer().analyze(path, media.probe(path), lengths, max_moments)


@pytest.fixture(scope="module")
def main_result(videos: Videos) -> AnalysisResult:
    return _analyze(videos.main())


def test_top_moment_is_the_applause_with_its_lead_in(main_result: AnalysisResult) -> None:
    top = main_result.moments[0]
    assert top.start <= LOUD[0] - 4 and top.end >= LOUD[1]  # lead-in before, all of it
    assert top.reason.startswith("Applause-like burst")
    assert top.title in {f"Applause at {clock(LOUD[0] + d)}" for d in (0, 1)}
    assert top.hashtags == ()


def _assert_well_formed(moments: list[Moment], lengths: ClipLengths, duration: float) -> None:
    spans = sorted((m.start, m.end) for m in moments)
    for (_, end), (start, _) in pairwise(spans):
        assert end <= start, f"overlapping moments {spans}"
    for m in moments:
        assert lengths.min_s - 0.01 <= m.duration <= lengths.max_s + 0.01
        assert 0 <= m.start < m.end <= duration
        assert 0 <= m.score <= 100


def test_the_one_highlight_is_the_one_moment(main_result: AnalysisResult) -> None:
    assert len(main_result.moments) == 1  # the single cut and the faint tone are no highlight
    _assert_well_formed(main_result.moments, LENGTHS, 90.0)
    scores = [m.score for m in main_result.moments]
    assert scores == sorted(scores, reverse=True)


def test_usage_and_name(main_result: AnalysisResult) -> None:
    assert main_result.analyzer == "signals"
    assert main_result.usage.media_seconds == pytest.approx(90.0, abs=0.1)
    assert main_result.usage.input_tokens == 0


def test_chapters_split_at_the_cut(main_result: AnalysisResult) -> None:
    chapters = main_result.chapters
    assert [round(c.start, 1) for c in chapters] == [0.0, CUT_AT]
    assert chapters[-1].end == pytest.approx(90.0, abs=0.1)
    assert chapters[1].title == "Part 2 (0:37\u20131:30)"


def test_video_without_audio_and_one_cut_has_no_highlight_and_says_so(videos: Videos) -> None:
    result = _analyze(videos.silent_picture())
    assert result.moments == []
    assert "no clips were made" in result.summary and "without sound" in result.summary


def test_video_shorter_than_min_length_is_one_whole_moment(videos: Videos) -> None:
    result = _analyze(videos.short(), ClipLengths(min_s=15.0, max_s=60.0))
    assert [(m.start, m.end) for m in result.moments] == [(0.0, pytest.approx(10.0, abs=0.1))]


def test_max_moments_is_respected(videos: Videos) -> None:
    assert _analyze(videos.main(), max_moments=0).moments == []


def _signals(cuts: list[float], quiet: list[float]) -> Signals:
    return Signals(
        duration=100.0,
        bin_s=0.5,
        loudness_db=[-30.0] * 200,
        visual_change=[1.0] * 200,
        cuts=cuts,
        quiet=quiet,
        has_audio=True,
    )


def test_snap_edges_prefers_cuts_then_quiet_within_two_seconds() -> None:
    signals = _signals(cuts=[21.2, 60.0], quiet=[38.75, 39.25])
    assert snap_edges(20.0, 40.0, signals) == (21.2, 39.25)
    assert snap_edges(10.0, 50.0, signals) == (10.0, 50.0)


def test_snap_edges_keeps_an_edge_that_would_break_the_length_range() -> None:
    signals = _signals(cuts=[31.5], quiet=[])
    assert snap_edges(30.0, 45.0, signals, lengths=ClipLengths(15.0, 60.0)) == (30.0, 45.0)
