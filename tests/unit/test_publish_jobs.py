"""The publish queue: enqueue now or later (RQ's scheduler, one job per post and time), a real
RQ worker running the job in the app against the fake Discord, and the maintenance reconcile
that finds posts whose job was lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from tests.support.fake_platforms import fake_platforms  # noqa: F401 (fixture)
from tests.support.publishing import rendered_clip
from tests.support.queues import Queued
from tests.support.waits import wait_until
from truss import jobs
from truss.data import publications as store
from truss.data.clips import Clip
from truss.data.platform_tokens import Account
from truss.data.publications import Publication
from truss.data.table import Conflict
from truss.extensions import get_redis, get_table, get_token_service
from truss.local.fake_platforms import FakePlatforms
from truss.publishing import due
from truss.publishing.tokens import TokenSet
from truss.queue import get_queue

CID = "01JCREATOR00000000000000AA"
CLID = "01J00000000000000000000001"


@pytest.fixture
def clip(app: Flask) -> Clip:
    return rendered_clip(app, CID, CLID)


def post(app: Flask, clip: Clip, platform: str, at: float) -> Publication:
    pub = Publication(
        creator_id=CID,
        platform=platform,
        clip_id=clip.id,
        asset_id=clip.asset_id,
        scheduled_at=int(at),
        text="Best moment",
        created=int(at),
    )
    with app.app_context():
        return store.create(get_table(), pub)


def test_now_is_queued_later_is_scheduled_and_a_second_enqueue_adds_nothing(
    app: Flask, queued: Queued, clip: Clip
) -> None:
    now = datetime.now(UTC)
    soon = post(app, clip, "discord", now.timestamp())
    later = post(app, clip, "youtube", (now + timedelta(minutes=30)).timestamp())

    with app.app_context():
        for _ in range(2):  # a double click
            jobs.enqueue_publication(soon, now)
            jobs.enqueue_publication(later, datetime.fromtimestamp(later.scheduled_at, UTC))
        queue = get_queue("publish")
        scheduled = ScheduledJobRegistry(queue=queue)
        assert [j.id for j in queue.get_jobs()] == [jobs.publish_job_id(soon)]
        assert scheduled.get_job_ids() == [jobs.publish_job_id(later)]
        assert scheduled.get_scheduled_time(jobs.publish_job_id(later)) == datetime.fromtimestamp(
            later.scheduled_at, UTC
        )
        watched = get_redis().zrange(due.DUE_SET, 0, -1)
    assert sorted(m.decode() for m in watched) == sorted([soon.member, later.member])


def test_a_worker_runs_a_scheduled_post_when_the_scheduler_moves_it_and_skips_a_cancelled_one(
    app: Flask,
    queued: Queued,
    clip: Clip,
    fake_platforms: FakePlatforms,  # noqa: F811
) -> None:
    app.config["DISCORD_API_BASE"] = f"{fake_platforms.url('discord')}/api"
    now = datetime.now(UTC)
    run_at = now + timedelta(seconds=2)
    with app.app_context():
        get_token_service().connect(
            CID, Account("discord", "hook", "#clips"), TokenSet(fake_platforms.webhook_url())
        )
    other = rendered_clip(app, CID, "01J00000000000000000000002")
    ahead = post(app, clip, "discord", run_at.timestamp())
    cancelled = post(app, other, "discord", run_at.timestamp())

    with app.app_context():
        jobs.enqueue_publication(ahead, run_at)
        jobs.enqueue_publication(cancelled, run_at)
        store.cancel(get_table(), CID, other.id, "discord", now.timestamp())
        queue = get_queue("publish")
        registry = ScheduledJobRegistry(queue=queue)
        assert registry.get_jobs_to_schedule(int(now.timestamp())) == []  # not yet
        due = registry.get_jobs_to_schedule(int(run_at.timestamp()) + 1)
        assert sorted(due) == sorted(jobs.publish_job_id(p) for p in (ahead, cancelled))
        _wait_until(run_at)
        for job_id in due:  # what RQ's scheduler does at run_at
            registry.remove(job_id)
            queue.enqueue_job(queue.fetch_job(job_id))
        SimpleWorker([queue], connection=get_redis()).work(burst=True)

        assert store.get(get_table(), CID, CLID, "discord").status == "published"
        assert store.get(get_table(), CID, other.id, "discord").status == "cancelled"
    assert len(fake_platforms.received("discord")) == 1


def _wait_until(when: datetime) -> None:
    """The claim compares scheduled_at with the clock; the job's time must have come."""
    wait_until(lambda: datetime.now(UTC) >= when, 5, f"the clock reached {when}")


def test_the_reconcile_queues_lost_posts_marks_late_ones_missed_and_leaves_held_ones(
    app: Flask, queued: Queued
) -> None:
    now = datetime.now(UTC).timestamp()
    made = {n: rendered_clip(app, CID, f"01J0000000000000000000000{n}") for n in range(1, 5)}
    lost = post(app, made[1], "discord", now - 120)  # due, its job never queued
    late = post(app, made[2], "discord", now - 3700)  # over an hour late
    crashed = post(app, made[3], "youtube", now - 300)  # its worker died mid-upload
    held = post(app, made[4], "tiktok", now - 300)  # a worker is uploading it
    with app.app_context():
        table, redis = get_table(), get_redis()
        for pub in (lost, late, crashed, held):
            due.watch(redis, pub)
        dead = store.claim(table, CID, made[3].id, "youtube", "gone", 60, now - 200)
        assert dead is not None
        store.save_session(table, dead, "gone", {"upload_url": "u"}, now - 200)
        assert store.claim(table, CID, made[4].id, "tiktok", "alive", 600, now) is not None

        queued_again = jobs.reconcile_publications()

        assert sorted(queued_again) == sorted([lost.member, crashed.member])
        assert store.get(table, CID, made[2].id, "discord").status == "missed"
        ids = {j.id for j in get_queue("publish").get_jobs()}
        assert ids == {jobs.publish_job_id(lost), jobs.publish_job_id(crashed)}
        assert jobs.reconcile_publications() == []  # queued now: not again
        members = {m.decode() for m in redis.zrange(due.DUE_SET, 0, -1)}
    assert late.member not in members and held.member in members


def test_a_redis_failure_while_queuing_is_logged_and_reading_the_posts_heals_the_due_set(
    app: Flask, queued: Queued, clip: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    pub = post(app, clip, "discord", now.timestamp() - 120)

    def down(*_: object) -> None:
        raise RedisError("connection refused")

    with app.app_context():
        with monkeypatch.context() as patched:
            patched.setattr(due, "watch", down)
            assert jobs.enqueue_publication(pub, now) is None  # no 500

        redis = get_redis()
        assert redis.zscore(due.DUE_SET, pub.member) is None
        done = post(app, rendered_clip(app, CID, "01J00000000000000000000009"), "tiktok", 0)
        store.cancel(get_table(), CID, done.clip_id, "tiktok", 0)
        posts = [
            store.get(get_table(), CID, CLID, "discord"),
            store.get(get_table(), CID, done.clip_id, "tiktok"),
        ]

        jobs.watch_publications(posts)  # what the publish section does when it reads them

        assert redis.zscore(due.DUE_SET, pub.member) == pub.scheduled_at
        assert redis.zscore(due.DUE_SET, done.member) is None  # final: not watched
        redis.zadd(due.DUE_SET, {pub.member: 5})
        jobs.watch_publications(posts)
        assert redis.zscore(due.DUE_SET, pub.member) == 5  # an entry already there stays
        assert jobs.reconcile_publications() == [pub.member]


def test_each_run_of_a_job_is_its_own_lease_holder(
    app: Flask, clip: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RQ retry and the reconcile's re-enqueue keep the job's id: a run paused past its
    lease and woken after its successor claimed the post must not write as the holder."""
    pub = post(app, clip, "youtube", datetime.now(UTC).timestamp() - 10)
    workers: list[str] = []

    class Job:
        id = jobs.publish_job_id(pub)
        retries_left = 2

    class Recording:
        def run(self, *_: object, worker: str, **__: object) -> None:
            workers.append(worker)

    monkeypatch.setattr(jobs, "get_current_job", lambda: Job())
    monkeypatch.setattr(jobs, "publish_runner", lambda: Recording())
    with app.app_context():
        jobs.publish_clip(CID, CLID, "youtube")
        jobs.publish_clip(CID, CLID, "youtube")
        paused, successor = workers
        assert paused != successor and paused.startswith(f"{Job.id}:")

        table, now = get_table(), datetime.now(UTC).timestamp()
        first = store.claim(table, CID, CLID, "youtube", paused, 60, now)
        assert first is not None
        assert store.claim(table, CID, CLID, "youtube", successor, 60, now + 61) is not None
        with pytest.raises(Conflict):  # the woken run can no longer write
            store.mark_published(table, first, paused, "v", "u", now + 62)


def test_a_failing_asset_reconcile_does_not_skip_the_publish_one(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rq import Worker

    from truss.cli import TrussWorker

    ran: list[str] = []

    def broken() -> list[str]:
        raise RuntimeError("asset reconcile broke")

    monkeypatch.setattr(Worker, "run_maintenance_tasks", lambda self: None)
    monkeypatch.setattr(jobs, "reconcile_working_assets", broken)
    monkeypatch.setattr(jobs, "reconcile_publications", lambda: ran.append("posts") or [])
    with app.app_context():
        redis = get_redis()
        worker = TrussWorker.from_config([get_queue("publish")], redis, app.config)
        worker.run_maintenance_tasks()
    assert ran == ["posts"]


def test_a_post_waiting_out_a_short_rate_limit_has_a_job_the_reconcile_sees(
    app: Flask, queued: Queued, clip: Clip
) -> None:
    now = datetime.now(UTC).timestamp()
    pub = post(app, clip, "discord", now - 300)
    with app.app_context():
        table, redis = get_table(), get_redis()
        due.watch(redis, pub)
        claimed = store.claim(table, CID, CLID, "discord", "w1", 60, now - 200)
        assert claimed is not None
        waiting = store.release(table, claimed, "w1", now - 200)  # what runner._wait does

        jobs.schedule_publication_retry(waiting, 600)

        assert jobs.publication_active(waiting)
        assert jobs.reconcile_publications() == []  # not queued a second time
        assert ScheduledJobRegistry(queue=get_queue("publish")).get_job_ids() == [
            f"{jobs.publish_job_id(waiting)}-retry-1"
        ]
