"""Quotas the worker enforces once it has measured the video (length, minutes per month) —
before any analysis is paid for — and the storage that renders take and deletes give back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from tests.support.media import Videos
from tests.support.pipeline import SMALL_RENDER, FakeAnalyzer, moment
from truss.analysis.base import AnalysisError, ClipLengths, Usage
from truss.data import assets, clips, keys, usage
from truss.extensions import get_storage, get_table
from truss.services import quotas, uploads
from truss.services.clips import delete_clip
from truss.services.pipeline import Pipeline
from truss.services.quotas import Quotas

A, B = "CREATORA", "CREATORB"


@pytest.fixture(scope="module")
def talk(videos: Videos) -> Path:
    return videos.cut_halfway(40)


@pytest.fixture(scope="module")
def long_talk(videos: Videos) -> Path:
    return videos.cut_halfway(66, "160x90")


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def confirmed(cid: str, video: Path, quota: Quotas = quotas.NO_QUOTAS) -> assets.Asset:
    """Through the real upload service: started, stored, confirmed (its bytes counted)."""
    table, storage = get_table(), get_storage()
    limits = uploads.UploadLimits(5 * 1024**3, 100 * 1024**2, 16 * 1024**2, 900)
    body = video.read_bytes()
    plan = uploads.start_upload(table, storage, cid, "talk.mp4", len(body), "video/mp4", limits)
    aid = plan["asset_id"]
    storage.put_bytes(keys.asset_source_object(cid, aid), body, "video/mp4")
    asset = uploads.confirm(table, storage, cid, aid, limits, quota=quota).asset
    assert asset.status == assets.UPLOADED, asset.error
    return assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)


def pipeline(
    analyzer: FakeAnalyzer, quota: Quotas, renders: list[tuple[str, str, str]]
) -> Pipeline:
    def enqueue(cid: str, clid: str, render_id: str) -> None:
        renders.append((cid, clid, render_id))

    return Pipeline(
        get_table(), get_storage(), lambda *_: analyzer, enqueue, ClipLengths(2, 10),
        quota=quota, render_size=SMALL_RENDER,
    )  # fmt: skip


def this_month() -> str:
    return quotas.month_of(datetime.now(UTC))


def analysed_s(cid: str) -> float:
    return usage.read(get_table(), cid, this_month()).analysed_s


def stored(cid: str) -> int:
    return usage.read(get_table(), cid, this_month()).stored_bytes


def test_a_video_longer_than_allowed_fails_after_the_probe_with_no_analysis(
    ctx: None, talk: Path, long_talk: Path
) -> None:
    quota = Quotas(max_video_minutes=1)
    analyzer = FakeAnalyzer([moment(1, 6, 90)])
    too_long = confirmed(A, long_talk)
    pipeline(analyzer, quota, []).analyze(A, too_long.id)
    failed = assets.get(get_table(), A, too_long.id)
    assert failed.status == assets.FAILED
    assert "This video is 1 min 6 s long; videos can be at most 1 min." in failed.error
    assert analyzer.calls == 0 and analysed_s(A) == 0  # nothing paid for, nothing counted

    fits = confirmed(B, talk)
    pipeline(analyzer, quota, []).analyze(B, fits.id)
    assert assets.get(get_table(), B, fits.id).status == assets.RENDERING
    assert analyzer.calls == 1 and abs(analysed_s(B) - 40) < 0.5


def test_the_months_minutes_are_counted_once_per_run_and_refused_past_the_quota(
    ctx: None, talk: Path
) -> None:
    quota = Quotas(monthly_minutes=1)
    analyzer = FakeAnalyzer([moment(1, 6, 90)])
    first = confirmed(A, talk)
    pipeline(analyzer, quota, []).analyze(A, first.id)
    assert abs(analysed_s(A) - 40) < 0.5 and analyzer.calls == 1

    asset = assets.get(get_table(), A, first.id)  # a retried job of the same run
    quotas.charge_analysis(get_table(), asset, 40.0, str(asset.run), quota)
    assert abs(analysed_s(A) - 40) < 0.5

    second = confirmed(A, talk)  # 40 + 40 s > 1 minute
    pipeline(analyzer, quota, []).analyze(A, second.id)
    failed = assets.get(get_table(), A, second.id)
    assert failed.status == assets.FAILED and analyzer.calls == 1
    assert "only 20 s of your 1 min of analysis a month are left" in failed.error
    assert quotas.day(quotas.next_month(datetime.now(UTC))) in failed.error
    assert abs(analysed_s(A) - 40) < 0.5

    other = confirmed(B, talk)  # another creator's month is their own
    pipeline(analyzer, quota, []).analyze(B, other.id)
    assert assets.get(get_table(), B, other.id).status == assets.RENDERING


def test_renders_count_towards_storage_and_deleting_gives_everything_back(
    ctx: None, talk: Path
) -> None:
    table, storage = get_table(), get_storage()
    asset = confirmed(A, talk)
    source = talk.stat().st_size
    assert stored(A) == source
    renders: list[tuple[str, str, str]] = []
    work = pipeline(FakeAnalyzer([moment(1, 4, 90), moment(10, 13, 80)]), quotas.NO_QUOTAS, renders)
    work.analyze(A, asset.id)
    for job in renders:
        work.render(*job)
    made = clips.for_asset(table, A, asset.id)
    files = [key for clip in made for key in (clip.video_key, clip.poster_key)]
    rendered = sum(info.size for info in map(storage.head, files) if info is not None)
    assert len(made) == 2 and rendered > 0
    assert stored(A) == source + rendered

    work.render(*renders[0])  # the same render job again: counted once
    assert stored(A) == source + rendered

    delete_clip(table, storage, made[0])
    assert source < stored(A) < source + rendered

    uploads.delete_asset(table, storage, A, asset.id)
    assert stored(A) == 0


def test_a_delete_during_the_confirmation_leaves_no_bytes_or_minutes_counted(
    ctx: None, talk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delete fences and gives back the bytes right after the confirmation read the
    asset: the confirmation's charge must not land (it would be counted forever)."""
    table, storage = get_table(), get_storage()
    plan = uploads.start_upload(
        table, storage, A, "talk.mp4", 1000, "video/mp4",
        uploads.UploadLimits(5 * 1024**3, 100 * 1024**2, 16 * 1024**2, 900),
    )  # fmt: skip
    asset = assets.get(table, A, plan["asset_id"])
    real_find = table.find
    deleting: list[int] = []

    def find_then_delete_starts(key: keys.Key) -> object:
        found = real_find(key)
        if key == keys.asset(A, asset.id) and not deleting:
            deleting.append(1)  # what uploads.delete_asset does first
            assets.fence(table, A, asset.id)
            quotas.release_asset(table, A, asset.id)
        return found

    monkeypatch.setattr(table, "find", find_then_delete_starts)
    assert quotas.admit_upload(table, asset, 1000, Quotas(storage_bytes=10_000)) == ""
    monkeypatch.setattr(table, "find", real_find)
    quotas.charge_analysis(table, asset, 40.0, "7", quotas.NO_QUOTAS)  # a job still running
    assets.delete(table, A, asset.id)  # the delete finishes
    assert deleting and stored(A) == 0 and analysed_s(A) == 0


class FailingAnalyzer(FakeAnalyzer):
    """Fails like Gemini does: unreachable (nothing spent), or after tokens were spent."""

    def __init__(self, spent: Usage | None) -> None:
        super().__init__([])
        self.spent = spent

    def analyze(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        raise AnalysisError("The analysis service didn't answer. Press Retry.", self.spent)


def test_a_run_that_fails_before_anything_is_paid_for_gives_its_minutes_back(
    ctx: None, talk: Path
) -> None:
    table, quota = get_table(), Quotas(monthly_minutes=1)
    asset = confirmed(A, talk)
    pipeline(FailingAnalyzer(None), quota, []).analyze(A, asset.id)  # unreachable
    assert assets.get(table, A, asset.id).status == assets.FAILED
    assert analysed_s(A) == 0  # its 40 s were given back

    failed = assets.get(table, A, asset.id)  # the same failure reported twice: given back once
    quotas.refund_analysis(table, failed, str(failed.run))
    assert analysed_s(A) == 0

    retried = assets.transition(
        table, A, asset.id, assets.FAILED, assets.QUEUED, run=failed.run + 1
    )
    pipeline(FakeAnalyzer([moment(1, 6, 90)]), quota, []).analyze(A, retried.id)
    assert assets.get(table, A, asset.id).status == assets.RENDERING  # Retry fits the month
    assert abs(analysed_s(A) - 40) < 0.5

    paid = confirmed(B, talk)  # tokens were spent: the minutes stay counted
    pipeline(FailingAnalyzer(Usage(1000, 20, 40.0)), Quotas(), []).analyze(B, paid.id)
    assert assets.get(table, B, paid.id).status == assets.FAILED
    assert abs(analysed_s(B) - 40) < 0.5
