"""Shared by the pipeline tests: an asset that is `uploaded` (its video: tests.support.media), a
fake analyzer with the moments it finds, a pipeline that records the renders it queues."""

from __future__ import annotations

from pathlib import Path

from truss.analysis.base import AnalysisResult, Chapter, ClipLengths, Moment, StreamInfo, Usage
from truss.data import assets
from truss.data.assets import Asset
from truss.extensions import get_storage, get_table
from truss.services.pipeline import Pipeline

# What tests that never look at a render's picture render at: a 180x320 render of a few
# seconds takes ~0.3 s where 720x1280 takes ~1 s (the same code and ffmpeg filters).
SMALL_RENDER = (180, 320)
SMALL_RENDER_SETTINGS = {"RENDER_SIZE": "180x320"}  # the app's setting for the same


def uploaded_asset(
    source: Path | bytes, cid: str = "C1", aid: str = "01AAAAAAAAAAAAAAAAAAAAAAAA"
) -> Asset:
    table, storage = get_table(), get_storage()
    asset = assets.create(
        table, cid, aid, title="My talk", file_name="talk.mp4", expected_size=10,
        declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
    )  # fmt: skip
    body = source if isinstance(source, bytes) else source.read_bytes()
    storage.put_bytes(asset.source_key, body, "video/mp4")
    return assets.transition(table, cid, aid, assets.UPLOADING, assets.UPLOADED, size=len(body))


class FakeAnalyzer:
    name = "fake"

    def __init__(self, moments: list[Moment]) -> None:
        self.moments = moments
        self.calls = 0

    def analyze(
        self, video: Path, probe: StreamInfo, lengths: ClipLengths, max_moments: int = 8
    ) -> AnalysisResult:
        self.calls += 1
        chapters = [Chapter(0, probe.duration, "All of it")]
        return AnalysisResult(chapters, self.moments, Usage(12, 3, probe.duration), "s", "fake")


def moment(start: float, end: float, score: int) -> Moment:
    return Moment(start, end, f"At {start}", "hook", score, "because", ("#a",))


def fake_pipeline(analyzer: FakeAnalyzer, rendered: list[tuple[str, str, str]]) -> Pipeline:
    def enqueue(cid: str, clid: str, render_id: str) -> None:
        rendered.append((cid, clid, render_id))

    return Pipeline(
        get_table(), get_storage(), lambda *_: analyzer, enqueue, ClipLengths(2, 10),
        render_size=SMALL_RENDER,
    )  # fmt: skip
