"""Job events on the daily counters and a video's own cost: the real pipeline (moto, fakeredis,
real ffmpeg) counts an analysis, its clips and tokens once however often the job runs again,
and counts every render -- a trim's re-render too -- once per render id."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from flask import Flask

from tests.support.media import Videos
from tests.support.pipeline import FakeAnalyzer, fake_pipeline, moment, uploaded_asset
from truss import jobs
from truss.analytics import cost, counters, metrics, recording
from truss.data import analytics as daily
from truss.data import assets, clips, keys
from truss.extensions import get_table
from truss.services import clips as clip_rules


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(20)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def today(redis: fakeredis.FakeRedis, cid: str) -> dict[str, float]:
    table = get_table()
    counters.flush(redis, table)
    (figures,) = daily.read_days(table, cid, counters.utc_day(), counters.utc_day())
    return figures.counters


def test_a_rerun_analysis_counts_once_and_every_render_id_counts(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    asset = assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    analyzer = FakeAnalyzer([moment(1, 6, 90), moment(8, 14, 70)])
    pipeline = dataclasses.replace(fake_pipeline(analyzer, rendered), tally=recording.AppTally())
    pipeline.analyze(cid, aid)
    table.update(keys.asset(cid, aid), {"status": assets.ANALYZING})  # the job crashed: again
    pipeline.analyze(cid, aid)
    assert analyzer.calls == 2

    (_, first, rid), (_, second, rid2) = rendered[:2]
    pipeline.render(cid, first, rid)
    pipeline.render(cid, first, rid)  # the same render job again
    pipeline.render(cid, second, rid2)
    trimmed = clip_rules.trim(table, clips.get(table, cid, first), asset, "2", "7")
    pipeline.render(cid, first, trimmed.render_id)  # a trim: a new render id

    found = today(redis, cid)
    assert found[metrics.ANALYSES] == 1
    assert found[metrics.SECONDS_ANALYSED] == pytest.approx(20, abs=0.5)
    assert (found[metrics.GEMINI_IN_TOKENS], found[metrics.GEMINI_OUT_TOKENS]) == (12, 3)
    assert metrics.total(found, metrics.CLIPS_MADE) == 2
    assert found[metrics.RENDERS] == 3
    assert found[metrics.RENDER_SECONDS] == pytest.approx(5 + 6 + 5)
    assert found[metrics.S3_BYTES_STORED] > 0

    spent = daily.read_asset_cost(table, cid, aid)
    assert spent[cost.stage_metric(cost.ANALYSIS, metrics.GEMINI_IN_TOKENS)] == 12
    assert spent[cost.stage_metric(cost.RENDERS, metrics.RENDERS)] == 3
    own = cost.asset_cost(spent, cost.Prices(), stored_bytes=0)
    assert own.analysis > 0 and own.renders > 0


def test_the_jobs_count_their_dynamodb_capacity_to_the_day_and_the_video(
    ctx: None, video: Path, redis: fakeredis.FakeRedis
) -> None:
    asset = uploaded_asset(video)
    jobs.request_analysis(asset)  # RQ_ASYNC off: the analysis and its renders run now
    table = get_table()
    assert assets.get(table, asset.creator_id, asset.id).status == assets.READY

    found = today(redis, asset.creator_id)
    spent = daily.read_asset_cost(table, asset.creator_id, asset.id)

    assert found[metrics.ANALYSES] == 1 and found[metrics.RENDERS] >= 1
    assert found[metrics.DDB_READ_UNITS] > 0 and found[metrics.DDB_WRITE_UNITS] > 0
    for stage in (cost.ANALYSIS, cost.RENDERS):
        assert spent[cost.stage_metric(stage, metrics.DDB_WRITE_UNITS)] > 0
    # the day's units include the video's own (and the request's), never less
    assert found[metrics.DDB_WRITE_UNITS] >= sum(
        spent[cost.stage_metric(stage, metrics.DDB_WRITE_UNITS)]
        for stage in (cost.ANALYSIS, cost.RENDERS)
    )
