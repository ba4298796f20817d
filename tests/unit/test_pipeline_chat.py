"""The pipeline with a stream's chat spikes (a fake provider): chat clips with the chat's
evidence, boosted analyzer clips, and re-analysis that keeps the creator's own clips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.pipeline_helpers import make_video, uploaded_asset
from truss.analysis.base import AnalysisResult, Chapter, ClipLengths, Moment, StreamInfo, Usage
from truss.data import assets, clips, get_table, keys
from truss.services.pipeline import Pipeline
from truss.storage import get_storage
from truss.streams.model import Spike
from truss.streams.moments import TIMES

LAG_S = 8.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "stream.mp4", 40)


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

    def chat_spikes_for(for_cid: str, for_aid: str) -> tuple[float, list[Spike]]:
        asked.append(f"{for_cid}/{for_aid}")
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

    assert asked == [f"{cid}/{aid}"]
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
    mine = clips.create_own(table, cid, aid, "01OWNCLIP0000000000000000A", (30, 35), "Mine", "m1")
    failed = assets.Asset.from_item(table.update(keys.asset(cid, aid), {"status": assets.FAILED}))
    assets.transition(table, cid, aid, assets.FAILED, assets.QUEUED, run=assets.next_run(failed))

    gemini = FakeAnalyzer([Moment(8, 14, "Later", "", 60, "Gemini liked it.")], name="gemini")
    run_analysis(cid, aid, gemini, [], [])
    left = sorted((c.title, c.source) for c in clips.for_asset(table, cid, aid))
    assert left == [("Later", "gemini"), ("Mine", "manual")]  # the chat clip went too
    assert clips.get(table, cid, mine.id).source == "manual"
