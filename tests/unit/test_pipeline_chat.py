"""The pipeline with a stream's chat spikes (a fake provider): chat clips with the chat's
evidence, boosted analyzer clips, and re-analysis that keeps the creator's own clips."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.media import Videos
from tests.support.pipeline import SMALL_RENDER_SETTINGS, uploaded_asset
from truss import jobs
from truss.analysis.base import (
    AnalysisError,
    AnalysisResult,
    Chapter,
    ClipLengths,
    Moment,
    StreamInfo,
    Usage,
)
from truss.data import assets, clips, keys, streams
from truss.data.table import Table
from truss.extensions import get_storage, get_table
from truss.services.pipeline import Loudness, Pipeline
from truss.streams.model import Spike
from truss.streams.moments import TIMES
from truss.streams.video_lag import estimate_for_video

LAG_S = 8.0


APP_SETTINGS = SMALL_RENDER_SETTINGS  # the app fixture's: no test here looks at a render


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(40)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


class FakeAnalyzer:
    def __init__(self, moments: list[Moment], name: str = "signals") -> None:
        self.moments, self.name = moments, name

    def analyze(
        self, video: Path, probe: StreamInfo, lengths: ClipLengths, max_moments: int = 8
    ) -> AnalysisResult:
        chapters = [Chapter(0, probe.duration, "All of it")]
        return AnalysisResult(chapters, self.moments, Usage(0, 0, probe.duration), "", self.name)


def spike(offset: float, score: int, intensity: float, emote: tuple[str, int]) -> Spike:
    return Spike(offset, offset - 2, offset + 3, intensity, score, (emote,), ("no way",))


SPIKES = [
    spike(12, 70, 14, ("KEKW", 83)),  # points at 4 s: inside the analyzer's 1-6 s moment
    spike(30, 75, 9, ("PogChamp", 40)),  # points at 22 s: nothing there, strong
    spike(37, 20, 2, ("LUL", 3)),  # points at 29 s: nothing there, weak
]


def run_analysis(
    cid: str, aid: str, analyzer: FakeAnalyzer, spikes: list[Spike], asked: list[str]
) -> list[tuple[str, str, str]]:
    rendered: list[tuple[str, str, str]] = []

    assets.set_stream(get_table(), cid, aid, "S1")  # linked: analysis reads the chat

    def chat_spikes_for(for_cid: str, for_aid: str, sid: str) -> tuple[float, list[Spike]]:
        asked.append(f"{for_cid}/{for_aid}/{sid}")
        return LAG_S, spikes

    Pipeline(
        get_table(), get_storage(), lambda *_: analyzer,
        lambda c, clid, r: rendered.append((c, clid, r)), ClipLengths(2, 10),
        chat_spikes_for=chat_spikes_for,
    ).analyze(cid, aid)  # fmt: skip
    return rendered


def test_spikes_become_chat_clips_with_the_chats_evidence(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table, cid, aid = get_table(), asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    analyzer = FakeAnalyzer([Moment(1, 6, "Intro", "", 50, "Loud start.")])
    asked: list[str] = []
    rendered = run_analysis(cid, aid, analyzer, SPIKES, asked)

    assert asked == [f"{cid}/{aid}/S1"]
    made = sorted(clips.for_asset(table, cid, aid), key=lambda c: c.start)
    assert [c.source for c in made] == ["signals", "chat"]  # the weak spike made nothing
    boosted, chat = made
    assert boosted.score > 50
    assert boosted.reason == f"Chat hit 14{TIMES} its normal rate; KEKW {TIMES}83. Loud start."
    assert chat.start < 22 < chat.end and chat.end - chat.start <= 10
    assert chat.reason == f"Chat hit 9{TIMES} its normal rate; PogChamp {TIMES}40."
    assert chat.score == 75 and chat.title == "Chat exploded at 0:22"
    assert len(rendered) == 2  # both are rendered
    item = table.get(keys.asset(cid, aid))
    assert item["status"] == assets.RENDERING and item["clips_total"] == 2


def test_re_analysis_replaces_chat_clips_and_keeps_the_creators_own(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table, cid, aid = get_table(), asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    run_analysis(cid, aid, FakeAnalyzer([Moment(1, 6, "Intro", "", 50, "x")]), SPIKES, [])
    mine = clips.create_own(table, cid, aid, "01MYC1PXX0000000000000000A", (30, 35), "Mine", "m1")
    failed = assets.Asset.from_item(table.update(keys.asset(cid, aid), {"status": assets.FAILED}))
    assets.transition(table, cid, aid, assets.FAILED, assets.QUEUED, run=assets.next_run(failed))

    gemini = FakeAnalyzer([Moment(8, 14, "Later", "", 60, "Gemini liked it.")], name="gemini")
    run_analysis(cid, aid, gemini, [], [])
    left = sorted((c.title, c.source) for c in clips.for_asset(table, cid, aid))
    assert left == [("Later", "gemini"), ("Mine", "manual")]  # the chat clip went too
    assert clips.get(table, cid, mine.id).source == "manual"


def test_the_lag_estimated_from_the_video_places_the_chat_clips(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table, cid, aid = get_table(), asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    assets.set_stream(table, cid, aid, "S1")
    measured: list[tuple[int, float]] = []

    def estimate(
        for_cid: str, for_aid: str, spikes: list[Spike], loudness: Loudness
    ) -> float | None:
        levels, bin_s = loudness()  # the real video's loudness, measured by ffmpeg
        measured.append((len(levels), bin_s))
        return 2.0  # chat 2 s behind: the strong spike at 30 s points at 28 s, not 22 s

    Pipeline(
        table, get_storage(), lambda *_: FakeAnalyzer([]), lambda *_: None, ClipLengths(2, 10),
        chat_spikes_for=lambda *_: (LAG_S, SPIKES), estimate_chat_lag=estimate,
    ).analyze(cid, aid)  # fmt: skip
    assert measured and abs(measured[0][0] * measured[0][1] - 40) <= 1  # 40 s of loudness
    chat = [c for c in clips.for_asset(table, cid, aid) if c.source == "chat"]
    assert [c.title for c in chat] == ["Chat exploded at 0:28", "Chat exploded at 0:10"]
    assert all(c.start < c.end <= 40 for c in chat)


def planted(lag_s: float, seed: int = 3) -> tuple[list[float], list[Spike]]:
    """10 minutes of loudness (0.5 s bins) with loud bursts, and chat spikes lag_s after them."""
    rng = random.Random(seed)
    levels = [-30 + rng.uniform(-2, 2) for _ in range(1200)]
    spikes = []
    for burst in sorted(rng.sample(range(20, 580, 10), 24)):
        for i in range(burst * 2, burst * 2 + 4):
            levels[i] = -6 + rng.uniform(-1, 1)
        spikes.append(Spike(burst + lag_s, burst + lag_s - 2, burst + lag_s + 4, 9.0, 70))
    return levels, spikes


def test_a_confident_lag_estimate_is_stored_on_the_stream(ctx: None) -> None:
    table, cid = get_table(), "C1"
    asset = uploaded_asset(b"not a video here", cid, "01BBBBBBBBBBBBBBBBBBBBBBBB")
    stream = streams.create(table, cid, "import", "past-stream")
    streams.link_asset(table, cid, stream.id, asset.id)
    levels, spikes = planted(8.0)

    lag_s = estimate_for_video(table, cid, asset.id, spikes, lambda: (levels, 0.5))
    assert lag_s is not None and abs(lag_s - 8.0) <= 1.0
    stored = streams.get(table, cid, stream.id)
    assert stored.lag_s == lag_s and stored.lag_origin == "estimated from the video"
    assert streams.spikes_for_asset(table, cid, asset.id)[0] == lag_s  # what analysis uses

    streams.set_lag_override(table, cid, stream.id, 3.0)  # the creator's own lag wins
    assert estimate_for_video(table, cid, asset.id, spikes, lambda: (levels, 0.5)) is None
    assert streams.get(table, cid, stream.id).lag_s == 3.0


def test_an_unconfident_or_impossible_estimate_keeps_the_lag_in_use(ctx: None) -> None:
    table, cid = get_table(), "C1"
    asset = uploaded_asset(b"not a video here", cid, "01CCCCCCCCCCCCCCCCCCCCCCCC")
    stream = streams.create(table, cid, "import", "past-stream")
    streams.link_asset(table, cid, stream.id, asset.id)
    levels, spikes = planted(8.0)
    unrelated = planted(8.0, seed=11)[1]  # chat that follows other bursts

    def no_audio() -> tuple[list[float], float]:
        raise AnalysisError("ffmpeg could not read the sound")

    assert estimate_for_video(table, cid, asset.id, unrelated, lambda: (levels, 0.5)) is None
    assert estimate_for_video(table, cid, asset.id, spikes, no_audio) is None
    assert streams.get(table, cid, stream.id).lag_origin == "default"
    other = "01DDDDDDDDDDDDDDDDDDDDDDDD"  # a video linked to no stream: nothing to estimate
    assert estimate_for_video(table, cid, other, spikes, lambda: (levels, 0.5)) is None


def test_the_worker_takes_a_linked_streams_spikes(ctx: None, video: Path) -> None:
    """The real wiring (truss.jobs): the signal analyzer, the stream's spikes from the table."""
    asset = uploaded_asset(video, "C1", "01EEEEEEEEEEEEEEEEEEEEEEEE")
    table, cid, aid = get_table(), asset.creator_id, asset.id
    stream = streams.create(table, cid, "import", "past-stream")
    streams.link_asset(table, cid, stream.id, aid)
    streams.put_spikes(table, cid, stream.id, [spike(30, 90, 20, ("KEKW", 150))])

    jobs.request_analysis(asset)  # RQ_ASYNC off: analysis and renders run now
    done = assets.get(table, cid, aid)
    assert done.status == assets.READY, done.error
    made = clips.for_asset(table, cid, aid)
    evidence = f"Chat hit 20{TIMES} its normal rate; KEKW {TIMES}150."
    assert [c.reason.startswith(evidence) for c in made].count(True) == 1
    assert all(c.render_status == clips.READY for c in made)
    assert {c.source for c in made} <= {"signals", "chat"}


def test_a_video_linked_to_no_stream_reads_nothing_about_streams(
    ctx: None, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = uploaded_asset(video, "C1", "01FFFFFFFFFFFFFFFFFFFFFFFF")
    table, cid, aid = get_table(), asset.creator_id, asset.id
    stream = streams.create(table, cid, "import", "past-stream")
    streams.link_asset(table, cid, stream.id, aid)
    streams.unlink_asset(table, cid, stream.id)  # linked once: the asset item must forget it
    assert assets.get(table, cid, aid).stream_id == ""
    read_keys: list[str] = []
    for name in ("get", "find"):
        real = getattr(Table, name)

        def spy(self: Table, key: keys.Key, *args: object, _real: Any = real) -> object:
            read_keys.append(str(key["SK"]))
            return _real(self, key, *args)

        monkeypatch.setattr(Table, name, spy)
    jobs.request_analysis(asset)  # RQ_ASYNC off: analysis and renders run now
    assert assets.get(table, cid, aid).status == assets.READY
    assert read_keys and [k for k in read_keys if "STREAM" in k] == []  # no link, no stream


def test_linking_and_unlinking_keep_the_asset_item_in_step(ctx: None) -> None:
    table, cid = get_table(), "C1"
    asset = uploaded_asset(b"not a video here", cid, "01GGGGGGGGGGGGGGGGGGGGGGGG")
    first = streams.create(table, cid, "import", "one")
    second = streams.create(table, cid, "import", "two")
    streams.link_asset(table, cid, first.id, asset.id)
    assert assets.get(table, cid, asset.id).stream_id == first.id
    streams.link_asset(table, cid, second.id, asset.id)  # relinked to another stream
    streams.unlink_asset(table, cid, first.id)  # the old stream's unlink leaves the new link
    assert assets.get(table, cid, asset.id).stream_id == second.id
    streams.unlink_asset(table, cid, second.id)
    assert assets.get(table, cid, asset.id).stream_id == ""
