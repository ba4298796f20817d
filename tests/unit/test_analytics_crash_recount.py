"""A job that crashes just after its work ended is counted when RQ runs it again: a render
that finished (its clip ready) but died before counting counts once on the retry -- the
render, its bytes and the asset's progress --, and an analysis that moved its video on to
rendering but died before counting its clips counts them on the retry (real ffmpeg, moto,
fakeredis)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask import Flask

from tests.support.media import Videos
from tests.support.pipeline import FakeAnalyzer, fake_pipeline, moment, uploaded_asset
from truss.analytics import counters, metrics, recording
from truss.data import analytics as daily
from truss.data import assets, clips
from truss.extensions import get_table
from truss.services import pipeline as pipeline_module
from truss.services import quotas
from truss.services.pipeline import Pipeline


class Crash(Exception):
    """The worker died here."""


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(12)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():  # a worker: no request
        yield


def today(redis: fakeredis.FakeRedis, cid: str) -> dict[str, float]:
    table = get_table()
    counters.flush(redis, table)
    (figures,) = daily.read_days(table, cid, counters.utc_day(), counters.utc_day())
    return figures.counters


def counting_pipeline(rendered: list[tuple[str, str, str]]) -> Pipeline:
    analyzer = FakeAnalyzer([moment(1, 5, 90)])
    return dataclasses.replace(fake_pipeline(analyzer, rendered), tally=recording.AppTally())


def crash_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """The first call of owner.name dies; later ones (the retry's) run."""
    real, calls = getattr(owner, name), [0]

    def dies_the_first_time(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise Crash(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dies_the_first_time)


def test_a_render_that_died_just_after_finishing_is_counted_by_its_retry(
    ctx: None, video: Path, redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = uploaded_asset(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    pipeline = counting_pipeline(rendered)
    pipeline.analyze(cid, aid)
    ((_, clid, render_id),) = rendered

    crash_once(monkeypatch, quotas, "charge_render")  # the first thing after finish_render
    with pytest.raises(Crash):
        pipeline.render(cid, clid, render_id)
    assert clips.get(table, cid, clid).render_status == clips.READY
    assert metrics.RENDERS not in today(redis, cid)

    pipeline.render(cid, clid, render_id)  # RQ's retry
    pipeline.render(cid, clid, render_id)  # and a duplicate job: nothing more

    found = today(redis, cid)
    assert found[metrics.RENDERS] == 1
    assert found[metrics.RENDER_SECONDS] == pytest.approx(4)
    assert clips.get(table, cid, clid).stored_bytes > 0  # its storage charged
    assert assets.get(table, cid, aid).status == assets.READY  # not stuck rendering


def test_an_analysis_that_died_before_counting_its_clips_counts_them_on_its_retry(
    ctx: None, video: Path, redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = uploaded_asset(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    pipeline = counting_pipeline([])
    # the first thing after the asset moved on to rendering: the clip query of earlier runs
    crash_once(monkeypatch, pipeline_module.clips, "for_asset")
    with pytest.raises(Crash):
        pipeline.analyze(cid, aid)
    assert assets.get(table, cid, aid).status == assets.RENDERING
    assert metrics.total(today(redis, cid), metrics.CLIPS_MADE) == 0

    pipeline.analyze(cid, aid)  # RQ's retry
    pipeline.analyze(cid, aid)  # and once more: nothing more

    found = today(redis, cid)
    assert metrics.by_qualifier(found, metrics.CLIPS_MADE) == {"signals": 1}
    assert found[metrics.ANALYSES] == 1


def test_a_failed_render_that_died_before_counting_moves_its_video_on_at_the_retry(
    ctx: None, video: Path, redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = uploaded_asset(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    pipeline = counting_pipeline(rendered)
    pipeline.analyze(cid, aid)
    ((_, clid, render_id),) = rendered

    def unusable(*_args: Any) -> Any:
        raise pipeline_module.AnalysisError("This clip can't be rendered.")

    monkeypatch.setattr(pipeline, "_render_files", unusable)
    crash_once(monkeypatch, pipeline, "count_render")  # died right after fail_render
    with pytest.raises(Crash):
        pipeline.render(cid, clid, render_id)
    assert assets.get(table, cid, aid).status == assets.RENDERING

    pipeline.render(cid, clid, render_id)  # RQ's retry

    assert assets.get(table, cid, aid).status == assets.FAILED  # its only clip failed
    assert metrics.RENDERS not in today(redis, cid)  # a failed render is no render
