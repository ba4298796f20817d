"""Job events on the daily counters and a video's own cost: the real pipeline (moto, fakeredis,
real ffmpeg) counts an analysis, its clips and tokens once however often the job runs again,
and counts every render -- a trim's re-render too -- once per render id."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from flask import Flask

from tests.support.fake_platforms import fake_platforms  # noqa: F401 (fixture)
from tests.support.media import Videos
from tests.support.pipeline import FakeAnalyzer, fake_pipeline, moment, uploaded_asset
from tests.support.publishing import rendered_clip
from truss import jobs
from truss.analytics import cost, counters, metrics, recording
from truss.data import analytics as daily
from truss.data import assets, clips, keys, publications
from truss.data.platform_tokens import Account
from truss.data.publications import Publication
from truss.extensions import get_table, get_token_service
from truss.local.fake_platforms import FakePlatforms
from truss.publishing.tokens import TokenSet
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


def test_publications_count_per_platform_once(
    app: Flask,
    redis: fakeredis.FakeRedis,
    fake_platforms: FakePlatforms,  # noqa: F811
) -> None:
    app.config["DISCORD_API_BASE"] = f"{fake_platforms.url('discord')}/api"
    cid = "01JCREATOR00000000000000AA"
    with app.app_context():
        get_token_service().connect(
            cid, Account("discord", "hook", "#clips"), TokenSet(fake_platforms.webhook_url())
        )
    ok = rendered_clip(app, cid, "01J00000000000000000000001")
    unconnected = rendered_clip(app, cid, "01J00000000000000000000002")
    now = int(time.time())
    with app.app_context():
        for clip, platform in ((ok, "discord"), (unconnected, "youtube")):
            publications.create(get_table(), Publication(
                creator_id=cid, platform=platform, clip_id=clip.id, asset_id=clip.asset_id,
                scheduled_at=now, text="Best moment", created=now,
            ))  # fmt: skip
        for _ in range(2):  # the second run of each finds the post done: counts nothing
            jobs.publish_clip(cid, ok.id, "discord")
            jobs.publish_clip(cid, unconnected.id, "youtube")
        assert publications.get(get_table(), cid, ok.id, "discord").status == "published"
        found = today(redis, cid)

    assert metrics.by_qualifier(found, metrics.PUBLISH_OK) == {"discord": 1}
    assert metrics.by_qualifier(found, metrics.PUBLISH_FAILED) == {"youtube": 1}
    assert found[metrics.DDB_WRITE_UNITS] > 0  # the publish jobs' own capacity
