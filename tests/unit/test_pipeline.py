"""The analysis pipeline on moto + fakeredis with jobs run inline and real ffmpeg."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.support.media import Videos
from tests.support.pipeline import FakeAnalyzer, fake_pipeline, moment, uploaded_asset
from truss import jobs, media
from truss.analysis.base import Moment
from truss.data import assets, clips, keys
from truss.extensions import get_storage, get_table
from truss.services.pipeline import NO_MOMENTS


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(40)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def test_uploaded_video_becomes_ready_with_rendered_vertical_clips(
    ctx: None, video: Path, tmp_path: Path
) -> None:
    asset = uploaded_asset(video)
    jobs.request_analysis(asset)  # RQ_ASYNC off: analysis and renders run now
    table, storage = get_table(), get_storage()
    done = assets.get(table, asset.creator_id, asset.id)
    assert done.status == assets.READY, done.error
    item = table.get(keys.asset(asset.creator_id, asset.id))
    assert item["clips_total"] >= 1 and item["clips_done"] == item["clips_total"]
    assert item["thumbnail_key"] and storage.head(item["thumbnail_key"]) is not None
    assert abs(item["duration_s"] - 40) < 0.5
    chapters = table.get(keys.asset_chapters(asset.creator_id, asset.id))["chapters"]
    assert chapters and chapters[0]["start"] == 0
    made = clips.for_asset(table, asset.creator_id, asset.id)
    assert made == sorted(made, key=lambda c: -c.score)
    first = made[0]
    assert first.render_status == clips.READY
    out = tmp_path / "clip.mp4"
    storage.download(first.video_key, str(out))
    probe = media.probe(out)
    assert (probe.width, probe.height) == (720, 1280)
    assert abs(probe.duration - first.duration) < 0.5


def test_a_file_that_is_not_a_video_fails_with_a_reason_and_no_clips(ctx: None) -> None:
    asset = uploaded_asset(b"this is not a video at all" * 100)
    jobs.request_analysis(asset)
    failed = assets.get(get_table(), asset.creator_id, asset.id)
    assert failed.status == assets.FAILED
    assert "video" in failed.error.lower() and len(failed.error) < 300
    assert clips.for_asset(get_table(), asset.creator_id, asset.id) == []


def test_no_moment_is_a_clear_outcome_not_a_crash(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    assets.transition(table, asset.creator_id, asset.id, assets.UPLOADED, assets.QUEUED)
    fake_pipeline(FakeAnalyzer([]), []).analyze(asset.creator_id, asset.id)
    done = table.get(keys.asset(asset.creator_id, asset.id))
    assert done["status"] == assets.READY and done["stage"] == NO_MOMENTS


def test_rerunning_an_analysis_never_duplicates_clips(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    analyzer = FakeAnalyzer([moment(1, 6, 90), moment(8, 14, 70)])
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(analyzer, rendered)
    pipeline.analyze(cid, aid)
    pipeline.analyze(cid, aid)  # a duplicate job after the asset moved on: does nothing
    assert analyzer.calls == 1
    assert len(clips.for_asset(table, cid, aid)) == 2
    assert len({clid for _, clid, _ in rendered}) == 2
    # a crashed run that restarts mid-analysis writes the same clip ids again
    table.update(keys.asset(cid, aid), {"status": assets.ANALYZING})
    pipeline.analyze(cid, aid)
    assert len(clips.for_asset(table, cid, aid)) == 2


def test_each_clip_counts_once_and_the_last_makes_the_asset_ready(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(1, 6, 90), moment(8, 14, 70)]), rendered)
    pipeline.analyze(cid, aid)
    (_, first, rid), (_, second, rid2) = rendered
    pipeline.render(cid, first, rid)
    pipeline.render(cid, first, rid)  # the same job again: no double count
    item = table.get(keys.asset(cid, aid))
    assert item["status"] == assets.RENDERING and item["clips_done"] == 1
    assert item["stage"] == "Rendered 1 of 2 clips"
    pipeline.render(cid, second, rid2)
    assert table.get(keys.asset(cid, aid))["status"] == assets.READY


def test_a_clip_that_cannot_render_fails_alone(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(1, 6, 90), moment(100, 106, 70)]), rendered)
    pipeline.analyze(cid, aid)
    for _, clid, rid in rendered:
        pipeline.render(cid, clid, rid)
    made = {c.start: c for c in clips.for_asset(table, cid, aid)}
    assert made[1].render_status == clips.READY
    assert made[100].render_status == clips.FAILED and made[100].error
    done = table.get(keys.asset(cid, aid))
    assert done["status"] == assets.READY and "1 failed" in done["stage"]


def test_a_crash_after_the_last_retry_fails_the_asset_with_what_to_do(ctx: None) -> None:
    asset = uploaded_asset(b"x")
    table = get_table()
    assets.transition(table, asset.creator_id, asset.id, assets.UPLOADED, assets.QUEUED)

    class LastTry:
        args = (asset.creator_id, asset.id)
        retries_left = 0

    secret = RuntimeError("botocore said arn:aws:s3:::truss-media/creators/C1 is denied")
    jobs.analysis_crashed(LastTry(), None, RuntimeError, secret, None)  # type: ignore[arg-type]
    failed = assets.get(table, asset.creator_id, asset.id)
    assert failed.status == assets.FAILED
    assert "Retry" in failed.error
    assert "arn:" not in failed.error and "RuntimeError" not in failed.error  # logged instead


def test_re_analysis_replaces_the_analyzers_clips_and_keeps_hand_made_ones(
    ctx: None, video: Path
) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    fake_pipeline(FakeAnalyzer([moment(1, 6, 90), moment(8, 14, 70)]), rendered).analyze(cid, aid)
    own = Moment(20, 30, "Mine", "", 50, "picked by hand")
    clips.create_from_moment(table, cid, aid, "010WNC11P0000000000000000A", own, 9)
    clips.update_fields(table, cid, "010WNC11P0000000000000000A", {"source": "creator"})
    failed = assets.Asset.from_item(table.update(keys.asset(cid, aid), {"status": assets.FAILED}))
    assets.transition(table, cid, aid, assets.FAILED, assets.QUEUED, run=assets.next_run(failed))
    fake_pipeline(FakeAnalyzer([moment(2, 9, 80)]), rendered).analyze(cid, aid)
    left = clips.for_asset(table, cid, aid)
    assert sorted((c.title, c.source) for c in left) == [("At 2", "signals"), ("Mine", "manual")]


def test_a_count_is_all_or_nothing(ctx: None, video: Path) -> None:
    asset = uploaded_asset(video)
    table = get_table()
    cid, aid = asset.creator_id, asset.id
    assets.transition(table, cid, aid, assets.UPLOADED, assets.QUEUED)
    rendered: list[tuple[str, str, str]] = []
    fake_pipeline(FakeAnalyzer([moment(1, 6, 90)]), rendered).analyze(cid, aid)
    (_, clid, _) = rendered[0]
    table.update(keys.asset(cid, aid), {"status": assets.FAILED})  # not rendering any more
    assert clips.count_towards_asset(table, cid, clid, aid, failed=False) is False
    assert "counted" not in table.get(keys.clip(cid, clid))  # the clip flag was not set alone
    table.update(keys.asset(cid, aid), {"status": assets.RENDERING})
    assert clips.count_towards_asset(table, cid, clid, aid, failed=False) is True
    assert clips.count_towards_asset(table, cid, clid, aid, failed=False) is False
    assert table.get(keys.asset(cid, aid))["clips_done"] == 1
