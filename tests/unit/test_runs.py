"""Jobs know their run: a stale or duplicate job does nothing, a crashed old run leaves the
new one alone, a stale render can't render an old window, and RQ never holds two jobs for
one run. Moto + fakeredis, real ffmpeg."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from rq import Queue, Worker
from rq.job import Job
from rq.utils import utcformat

from tests.support.app import make_app
from tests.support.media import Videos
from tests.support.pipeline import (
    SMALL_RENDER_SETTINGS,
    FakeAnalyzer,
    fake_pipeline,
    moment,
    uploaded_asset,
)
from truss import jobs, queue
from truss.analysis.base import AnalysisError, Usage
from truss.cli import TrussWorker
from truss.data import assets, clips
from truss.data.table import Conflict
from truss.extensions import get_storage, get_table
from truss.services import clips as clip_service
from truss.services import uploads
from truss.services.leases import Lease
from truss.services.pipeline import Pipeline

APP_SETTINGS = SMALL_RENDER_SETTINGS  # the app fixture's: no test here looks at a render


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(30)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def queued(video: Path) -> assets.Asset:
    asset = uploaded_asset(video)
    return assets.transition(
        get_table(), asset.creator_id, asset.id, assets.UPLOADED, assets.QUEUED,
        run=assets.next_run(asset),
    )  # fmt: skip


def analyse_again(asset: assets.Asset) -> assets.Asset:
    """What Re-analyse does: the asset goes back to the queue in a new run."""
    current = assets.get(get_table(), asset.creator_id, asset.id)
    return assets.transition(
        get_table(), asset.creator_id, asset.id, current.status, assets.QUEUED,
        run=assets.next_run(current),
    )  # fmt: skip


def test_a_stale_analysis_job_does_nothing(ctx: None, video: Path) -> None:
    first = queued(video)
    table = get_table()
    assets.fail(table, first.creator_id, first.id, "lost", expected_run=first.run)
    second = analyse_again(first)
    analyzer = FakeAnalyzer([moment(1, 6, 90)])
    rendered: list[tuple[str, str, str]] = []
    fake_pipeline(analyzer, rendered).analyze(first.creator_id, first.id, first.run)
    assert analyzer.calls == 0 and rendered == []
    now = assets.get(table, first.creator_id, first.id)
    assert (now.status, now.run) == (assets.QUEUED, second.run)
    fake_pipeline(analyzer, rendered).analyze(first.creator_id, first.id, second.run)
    assert analyzer.calls == 1 and len(rendered) == 1  # its own run's job does the work


def test_a_failing_duplicate_of_an_old_run_does_not_fail_the_new_run(
    ctx: None, video: Path
) -> None:
    first = queued(video)
    table = get_table()
    pipeline = fake_pipeline(FakeAnalyzer([]), [])
    stale = pipeline._claim(first.creator_id, first.id, first.run)
    assert stale is not None
    assets.fail(table, first.creator_id, first.id, "retry pressed", expected_run=first.run)
    second = analyse_again(first)
    pipeline._fail(stale, "The old run's job broke.")  # what a crashing stale job reports
    assert assets.get(table, first.creator_id, first.id).status == assets.QUEUED
    assert assets.get(table, first.creator_id, first.id).run == second.run


def clocked(analyzer: FakeAnalyzer, now: list[float]) -> Pipeline:
    """A pipeline whose lease clock is `now[0]`."""
    pipeline = fake_pipeline(analyzer, [])
    pipeline.clock = lambda: now[0]
    return pipeline


def test_a_duplicate_job_of_the_run_does_nothing_while_the_first_works(
    ctx: None, video: Path
) -> None:
    """An enqueue pushed twice (or an RQ retry while the first work horse still runs): the
    second job of the same run must not pay the analyzer a second time."""
    asset = queued(video)
    now = [1_000_000.0]
    duplicate = FakeAnalyzer([moment(1, 6, 90)])

    class StartsTheDuplicateMidway(FakeAnalyzer):
        def analyze(self, *args: object, **kwargs: object) -> object:
            clocked(duplicate, now).analyze(asset.creator_id, asset.id, asset.run)
            return super().analyze(*args, **kwargs)  # type: ignore[arg-type]

    first = StartsTheDuplicateMidway([moment(1, 6, 90)])
    clocked(first, now).analyze(asset.creator_id, asset.id, asset.run)
    assert (first.calls, duplicate.calls) == (1, 0)
    done = assets.get(get_table(), asset.creator_id, asset.id)
    assert done.status == assets.RENDERING and done.clips_total == 1


def test_a_retry_takes_over_only_once_the_crashed_attempts_lease_lapsed(
    ctx: None, video: Path
) -> None:
    asset = queued(video)
    cid, aid = asset.creator_id, asset.id
    now = [1_000_000.0]
    crashed = clocked(FakeAnalyzer([]), now)._claim(cid, aid, asset.run)  # then killed
    assert crashed is not None and crashed.claimed_by
    retry = FakeAnalyzer([moment(1, 6, 90)])
    clocked(retry, now).analyze(cid, aid, asset.run)  # its lease still runs: a duplicate?
    assert retry.calls == 0
    now[0] += Lease().seconds + 1  # nobody renewed it: the holder is dead
    clocked(retry, now).analyze(cid, aid, asset.run)
    assert retry.calls == 1
    assert assets.get(get_table(), cid, aid).status == assets.RENDERING
    with pytest.raises(Conflict):  # the dead attempt, were it to wake up, can't write
        assets.set_progress(
            get_table(), cid, aid, assets.ANALYZING, "late", 50, crashed.run, crashed.claimed_by
        )


def test_a_running_attempt_keeps_its_lease_and_loses_it_when_taken_over(
    ctx: None, video: Path
) -> None:
    asset = queued(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    now = [1_000_000.0]
    holder = clocked(FakeAnalyzer([]), now)._claim(cid, aid, asset.run)
    assert holder is not None
    now[0] += 50
    assert assets.renew_lease(table, cid, aid, holder.run, holder.claimed_by, now[0] + 60)
    now[0] += 50  # past the first lease, not the renewed one
    other = FakeAnalyzer([moment(1, 6, 90)])
    clocked(other, now).analyze(cid, aid, asset.run)
    assert other.calls == 0
    assert not assets.renew_lease(table, cid, aid, holder.run, "someone-else", now[0] + 60)


def test_the_lease_lapses_before_rq_retries_a_killed_workers_job() -> None:
    """RQ notices a killed worker's job its heartbeat + 60 s after the last heartbeat, so
    a lease renewed every heartbeat must lapse within 60 s; renewals come at least twice
    per lease."""
    for heartbeat in (1, 5, 30, 120, 600):
        lease = Lease.for_heartbeat(heartbeat)
        assert lease.seconds <= 60 and lease.seconds >= 2 * lease.renew_every_s


def test_the_crash_callback_of_an_old_run_leaves_the_new_run_alone(ctx: None, video: Path) -> None:
    first = queued(video)
    table = get_table()
    assets.fail(table, first.creator_id, first.id, "retry pressed", expected_run=first.run)
    second = analyse_again(first)

    class OldRunsLastTry:
        args = (first.creator_id, first.id, first.run)
        retries_left = 0

    jobs.analysis_crashed(OldRunsLastTry(), None, RuntimeError, RuntimeError("boom"), None)  # type: ignore[arg-type]
    now = assets.get(table, first.creator_id, first.id)
    assert (now.status, now.run, now.error) == (assets.QUEUED, second.run, "")

    class NewRunsLastTry:
        args = (first.creator_id, first.id, second.run)
        retries_left = 0

    jobs.analysis_crashed(NewRunsLastTry(), None, RuntimeError, RuntimeError("boom"), None)  # type: ignore[arg-type]
    assert assets.get(table, first.creator_id, first.id).status == assets.FAILED


def test_a_duplicate_enqueue_while_the_job_waits_does_not_queue_it_twice(
    aws: None, video: Path
) -> None:
    redis = fakeredis.FakeRedis()
    app = make_app(redis, RQ_ASYNC=True)  # jobs wait in Redis as they would for a worker
    with app.test_request_context():
        asset = queued(video)
        jobs.enqueue_analysis(asset.creator_id, asset.id, asset.run)
        jobs.enqueue_analysis(asset.creator_id, asset.id, asset.run)  # the reconcile, say
        analysis = queue.get_queue("analysis")
        assert analysis.count == 1
        assert jobs.analysis_active(asset.id, asset.run)
        (job,) = analysis.jobs
        assert job.args == (asset.creator_id, asset.id, asset.run)
        assert job.timeout == queue.job_timeout_s(app.config, None)


def test_a_render_of_an_earlier_runs_clip_does_not_count_towards_the_new_run(
    ctx: None, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-analysis drops the earlier run's clips through the (lagging) clip index; one it
    missed may still render, but its count must not finish the new run early."""
    asset = queued(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    rendered: list[tuple[str, str, str]] = []
    fake_pipeline(FakeAnalyzer([moment(1, 6, 90)]), rendered).analyze(cid, aid, asset.run)
    ((_, old_clid, old_render),) = rendered
    assets.fail(table, cid, aid, "stopped", expected_from=assets.RENDERING)
    second = analyse_again(asset)
    monkeypatch.setattr(clips, "for_asset", lambda *args: [])  # the index lags
    newer: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(8, 14, 70), moment(16, 22, 60)]), newer)
    pipeline.analyze(cid, aid, second.run)
    pipeline.render(cid, old_clid, old_render)  # the old run's clip, missed by the drop
    now = assets.get(table, cid, aid)
    assert (now.status, now.clips_done) == (assets.RENDERING, 0)
    for _, clid, render_id in newer:
        pipeline.render(cid, clid, render_id)
    done = assets.get(table, cid, aid)
    assert (done.status, done.clips_done) == (assets.READY, 2)


def test_tokens_spent_on_a_failed_run_are_counted(ctx: None, video: Path) -> None:
    asset = queued(video)

    class SpendsThenFails(FakeAnalyzer):
        def analyze(self, *args: object, **kwargs: object) -> object:
            raise AnalysisError("Gemini's answer could not be read.", Usage(5000, 700))

    fake_pipeline(SpendsThenFails([]), []).analyze(asset.creator_id, asset.id, asset.run)
    failed = assets.get(get_table(), asset.creator_id, asset.id)
    assert failed.status == assets.FAILED
    assert (failed.input_tokens, failed.output_tokens) == (5000, 700)


def test_a_stale_render_job_cannot_render_an_old_window(ctx: None, video: Path) -> None:
    asset = queued(video)
    table, cid, aid = get_table(), asset.creator_id, asset.id
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(1, 6, 90)]), rendered)
    pipeline.analyze(cid, aid, asset.run)
    ((_, clid, first_render),) = rendered
    pipeline.render(cid, clid, first_render)
    ready = clips.get(table, cid, clid)
    trimmed = clips.restart_render(table, cid, clid, (10.0, 14.0), "t2")
    pipeline.render(cid, clid, first_render)  # the old job, delivered again
    assert clips.get(table, cid, clid).render_status == clips.PENDING  # it did nothing
    pipeline.render(cid, clid, trimmed.render_id)
    done = clips.get(table, cid, clid)
    assert done.render_status == clips.READY and (done.start, done.end) == (10.0, 14.0)
    assert "/t2-" in done.video_key and done.video_key != ready.video_key
    assert get_storage().head(ready.video_key) is None  # the old file was replaced


def test_a_duplicate_render_job_leaves_the_clip_ready_with_its_files(
    ctx: None, video: Path
) -> None:
    """RQ retries a render whose worker died while its work horse still runs (or an enqueue
    is pushed twice): both jobs of the render id run; the one that loses must not delete
    the files the clip now points at."""
    asset = queued(video)
    table, storage, cid, aid = get_table(), get_storage(), asset.creator_id, asset.id
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(1, 6, 90)]), rendered)
    pipeline.analyze(cid, aid, asset.run)
    ((_, clid, render_id),) = rendered
    real_render_files = pipeline._render_files
    duplicates: list[str] = []

    def duplicate_finishes_first(*args: object) -> tuple[str, str]:
        made = real_render_files(*args)  # type: ignore[arg-type]
        if not duplicates:
            duplicates.append(render_id)
            pipeline.render(cid, clid, render_id)  # the duplicate runs and finishes now
        return made

    pipeline._render_files = duplicate_finishes_first  # type: ignore[method-assign]
    pipeline.render(cid, clid, render_id)
    done = clips.get(table, cid, clid)
    assert done.render_status == clips.READY
    assert storage.head(done.video_key) is not None and storage.head(done.poster_key) is not None
    assert assets.get(table, cid, aid).status == assets.READY


def test_a_render_fenced_by_a_delete_leaves_no_files(ctx: None, video: Path) -> None:
    asset = queued(video)
    table, storage, cid, aid = get_table(), get_storage(), asset.creator_id, asset.id
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(1, 6, 90)]), rendered)
    pipeline.analyze(cid, aid, asset.run)
    ((_, clid, render_id),) = rendered
    real_render_files = pipeline._render_files

    def delete_while_rendering(*args: object) -> tuple[str, str]:
        made = real_render_files(*args)  # type: ignore[arg-type]
        clip_service.delete_clip(table, storage, clips.get(table, cid, clid))
        return made

    pipeline._render_files = delete_while_rendering  # type: ignore[method-assign]
    pipeline.render(cid, clid, render_id)
    assert table.find(clips.keys.clip(cid, clid)) is None
    prefix = clips.keys.clip_object_prefix(cid, clid)
    assert storage.delete_prefix(prefix) == 0  # nothing was left to delete


def test_an_idle_worker_runs_maintenance_as_often_as_configured(
    redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ's idle worker blocks on Redis for worker_ttl - 15 s (405 s by default) between
    maintenance runs, so a killed worker's job waited ~7 minutes to be found: with a 1 s
    setting, an idle worker runs its maintenance (and the reconcile) again within 3 s (it
    blocks 1 s at a time and runs it once more than 1 s has passed)."""
    runs: list[int] = []
    monkeypatch.setattr(jobs, "reconcile_working_assets", lambda: runs.append(1) or [])
    config = {"WORKER_MAINTENANCE_S": 1, "WORKER_HEARTBEAT_S": 30}
    worker = TrussWorker.from_config([Queue("default", connection=redis)], redis, config)
    worker.work(max_idle_time=3)  # idle all along: no job is queued
    assert len(runs) >= 2  # RQ's default: once, at start


def test_readiness_counts_a_worker_with_a_long_heartbeat_as_alive_between_beats(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    worker = Worker(["default"], connection=redis)
    worker.register_birth()
    beat = datetime.now(UTC) - timedelta(seconds=100)  # a busy worker beats every 300 s
    redis.hset(worker.key, "last_heartbeat", utcformat(beat))
    with make_app(redis, WORKER_HEARTBEAT_S=300).app_context():
        assert [w.name for w in queue.live_workers(redis)] == [worker.name]
    with make_app(redis, WORKER_HEARTBEAT_S=30).app_context():
        assert queue.live_workers(redis) == []  # 100 s without a beat is 10 s too many


def lagging_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-asset clip index is eventually consistent: a delete may list no clip at all."""
    monkeypatch.setattr(clip_service.clips, "for_asset", lambda *args: [])
    keys = clips.keys
    monkeypatch.setattr(
        assets,
        "items_under",
        lambda t, cid, aid: [keys.asset_chapters(cid, aid), keys.asset(cid, aid)],
    )


def nothing_left(cid: str, aid: str) -> bool:
    table, storage = get_table(), get_storage()
    items = [
        *table.query_all(clips.keys.creator_pk(cid), clips.keys.clip_prefix()),
        *table.query_all(clips.keys.creator_pk(cid), clips.keys.asset_prefix(aid)),
    ]
    return not items and storage.delete_prefix(f"creators/{cid}/") == 0


def test_a_delete_removes_the_last_runs_clips_its_clip_index_did_not_list(
    ctx: None, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = queued(video)
    cid, aid = asset.creator_id, asset.id
    rendered: list[tuple[str, str, str]] = []
    pipeline = fake_pipeline(FakeAnalyzer([moment(1, 6, 90), moment(8, 14, 70)]), rendered)
    pipeline.analyze(cid, aid, asset.run)  # clips written, render jobs waiting
    with monkeypatch.context() as patched:
        lagging_index(patched)
        uploads.delete_asset(get_table(), get_storage(), cid, aid)
    assert nothing_left(cid, aid)  # the run's clips were found by key
    for _, clid, render_id in rendered:
        pipeline.render(cid, clid, render_id)  # the waiting jobs do nothing
    assert nothing_left(cid, aid)


def test_clips_a_delete_missed_are_removed_by_their_render_jobs(
    ctx: None, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = queued(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    fake_pipeline(FakeAnalyzer([]), []).analyze(cid, aid, asset.run)  # ready, no clips
    mine = clips.create_own(table, cid, aid, "01C11PC11PC11PC11PC11PC11P", (1.0, 5.0), "Mine", "c1")
    with monkeypatch.context() as patched:
        lagging_index(patched)
        uploads.delete_asset(table, get_storage(), cid, aid)
    assert table.find(clips.keys.clip(cid, mine.id)) is not None  # missed: the index lags
    fake_pipeline(FakeAnalyzer([]), []).render(cid, mine.id, mine.render_id)
    assert nothing_left(cid, aid)


def test_a_render_running_when_its_video_is_deleted_does_not_end_ready(
    ctx: None, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The render checked its video before the delete; the delete's index didn't list the
    clip: the render's last write must still see that the video is going."""
    asset = queued(video)
    cid, aid, table = asset.creator_id, asset.id, get_table()
    pipeline = fake_pipeline(FakeAnalyzer([]), [])
    pipeline.analyze(cid, aid, asset.run)
    mine = clips.create_own(table, cid, aid, "01C11PC11PC11PC11PC11PC11P", (1.0, 5.0), "Mine", "c1")
    real_render_files = pipeline._render_files

    def deleted_while_rendering(*args: object) -> tuple[str, str]:
        made = real_render_files(*args)  # type: ignore[arg-type]
        with monkeypatch.context() as patched:
            lagging_index(patched)
            uploads.delete_asset(table, get_storage(), cid, aid)
        return made

    pipeline._render_files = deleted_while_rendering  # type: ignore[method-assign]
    pipeline.render(cid, mine.id, mine.render_id)
    assert nothing_left(cid, aid)  # no ready clip of a deleted video, no files


def test_a_fenced_analysis_removes_what_it_wrote_before_the_fence(
    ctx: None, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = queued(video)
    cid, aid = asset.creator_id, asset.id
    real_create = clips.create_from_moment

    def create_then_deleted(*args: object, **kwargs: object) -> bool:
        made = real_create(*args, **kwargs)  # type: ignore[arg-type]
        with monkeypatch.context() as patched:  # the creator deletes the video right now
            lagging_index(patched)
            uploads.delete_asset(get_table(), get_storage(), cid, aid)
        return made

    monkeypatch.setattr(clips, "create_from_moment", create_then_deleted)
    fake_pipeline(FakeAnalyzer([moment(1, 6, 90)]), []).analyze(cid, aid, asset.run)
    assert nothing_left(cid, aid)


def test_a_video_longer_than_its_first_jobs_timeout_hands_over_to_a_job_that_fits(
    ctx: None, app: Flask, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "ASSUMED_DURATION_S", 1.0)  # unprobed videos look 1 s long
    asset = uploaded_asset(video)
    jobs.request_analysis(asset)  # inline: the first job probes 30 s and hands over
    done = assets.get(get_table(), asset.creator_id, asset.id)
    assert done.status == assets.READY, done.error
    first, longer = (
        Job.fetch(job_id, connection=queue.get_redis())
        for job_id in jobs.analysis_job_ids(asset.id, done.run)
    )
    assert first.timeout == queue.job_timeout_s(app.config, None)
    assert longer.timeout == queue.job_timeout_s(app.config, done.duration_s) > first.timeout
