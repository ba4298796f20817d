"""The scheduled pull of platform statistics for published clips.

Every worker's maintenance calls `schedule_round`: once per PLATFORM_STATS_EVERY_S (a Redis
key with that expiry elects one worker) it queues one job per creator with published posts
(the Redis set TRACKED; a post that publishes adds its creator, and opening the dashboard adds
the creator again if Redis lost it). The job (`Collector.run`) reads the creator's posts (one
Query) and the last days' platform parts (one Query), then asks each platform through the
creator's connection:

- YouTube: Analytics `reports` per video with dimensions=day, from the last few days
  (PLATFORM_STATS_REFETCH_DAYS: YouTube's figures settle a day or two late), from the day
  after the newest day stored for the clip when that is earlier (rounds missed or failed), or,
  for a video not seen yet, from the day it was published (at most KEEP_DAYS back); each
  day's figures replace what was stored.
  A video YouTube refuses (403/404: deleted, private, another channel's) is skipped and counted
  in the platform's note; the other videos' figures are stored.
- TikTok: `video/query` running totals; today's figures are the growth since the newest
  snapshot of an earlier day (the first snapshot counts whole on its day).
- Discord, Twitch: no statistics (said on the dashboard).

A platform that fails (error answer, connection dropped, connection needing a reconnect, or
an error of Truss's own such as a write DynamoDB refused) leaves the stored figures as they
were (a write that failed part-way leaves whole clips updated) and records the error and when;
the figures keep the time of the last answer, so the dashboard says how old they are. The day's
figures are written in updates of at most store.MAX_SETS_PER_UPDATE attributes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from redis import Redis

from truss.data import platform_stats as store
from truss.data import publications
from truss.data.platform_stats import FetchNote, PlatformDay
from truss.data.publications import Publication
from truss.data.table import Table
from truss.publishing.adapters.base import PublishError, Unauthorized
from truss.publishing.adapters.stats import NO_STATS, Figures, StatsError, VideoDay
from truss.publishing.platforms import name_of
from truss.publishing.tokens import (
    NeedsReconnect,
    NotConnected,
    Refresher,
    TokenError,
    TokenService,
)

log = logging.getLogger(__name__)

STATS_PLATFORMS = ("youtube", "tiktok")
TRACKED = "truss:analytics:stats-creators"  # creators with published posts
ROUND_KEY = "truss:analytics:stats-round"  # held for one round: one worker queues it
TIKTOK_PUBLISH_ID = "v_pub_"
YOUTUBE_LIMITS = {
    "quotaExceeded",
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "dailyLimitExceeded",
}
KEEP_DAYS = 90  # the dashboard's longest range; older posts are no longer asked about
History = Callable[[str, date, date], list[PlatformDay]]


class YouTubeStats(Protocol):
    def fetch_stats(self, token: str, video_id: str, first: date, last: date) -> list[VideoDay]: ...


class TikTokStats(Protocol):
    def fetch_counts(self, token: str, video_ids: list[str]) -> dict[str, Figures]: ...


def has_public_id(pub: Publication) -> bool:
    """Whether the platform gave the post an id its statistics API knows. A TikTok post
    that isn't public keeps only its publish id (`v_pub_...`), which video/query refuses."""
    if pub.platform == "tiktok":
        return bool(pub.remote_id) and not pub.remote_id.startswith(TIKTOK_PUBLISH_ID)
    return bool(pub.remote_id)


def utc_day(epoch_s: float) -> date:
    return datetime.fromtimestamp(epoch_s, UTC).date()


def track(redis: Redis, cid: str) -> None:
    """Remember that the creator has published posts (the rounds ask about them)."""
    redis.sadd(TRACKED, cid)


def forget(redis: Redis, cid: str) -> None:
    """The creator has no published post left to ask about (or is gone)."""
    redis.srem(TRACKED, cid)


def schedule_round(redis: Redis, every_s: int, enqueue: Callable[[str, int], object]) -> list[str]:
    """Queue one statistics job per tracked creator, once per `every_s` across all workers
    (`enqueue(cid, round)`); the creators queued (none when another worker has this round)."""
    round_no = int(time.time() // max(every_s, 1))
    if not redis.set(ROUND_KEY, round_no, nx=True, ex=max(every_s, 1)):
        return []
    members = sorted(
        m.decode() if isinstance(m, bytes) else str(m) for m in redis.smembers(TRACKED)
    )
    for cid in members:
        enqueue(cid, round_no)
    return members


@dataclass
class Collector:
    """One creator's pull (truss.jobs builds it from the app; tests pass fakes' adapters)."""

    table: Table
    tokens: TokenService
    adapter_for: Callable[[str], Any]
    refresher_for: Callable[[str], Refresher]
    history: History
    clock: Callable[[], float] = time.time
    refetch_days: int = 3

    def run(self, cid: str) -> dict[str, str]:
        """Pull every platform's figures for the creator's published posts; per platform,
        "" when it answered, else the error recorded."""
        today = utc_day(self.clock())
        posts = self.published(cid, today)
        if not posts:
            return {}
        days = self.history(cid, today - timedelta(days=KEEP_DAYS - 1), today)
        outcome = {}
        for platform, group in posts.items():
            outcome[platform] = self._platform(cid, platform, group, days, today)
        return outcome

    def published(self, cid: str, today: date) -> dict[str, list[Publication]]:
        """The creator's published posts with statistics, by platform (one Query)."""
        oldest = today - timedelta(days=KEEP_DAYS - 1)
        found: dict[str, list[Publication]] = defaultdict(list)
        for pub in publications.list_for_creator(self.table, cid):
            if (
                pub.status == publications.PUBLISHED
                and pub.platform in STATS_PLATFORMS
                and has_public_id(pub)
                and utc_day(pub.updated or pub.created) >= oldest
            ):
                found[pub.platform].append(pub)
        return dict(found)

    def _platform(
        self, cid: str, platform: str, posts: list[Publication], days: list[PlatformDay],
        today: date,
    ) -> str:  # fmt: skip
        previous = store.latest_fetches(days).get(platform, FetchNote())
        try:
            if platform == "youtube":
                partly = self._youtube(cid, posts, days, today)
            else:
                partly = self._tiktok(cid, posts, days, today)
        except (StatsError, PublishError, TokenError) as exc:
            words = _words(platform, exc)
            log.warning("statistics of %s for %s failed: %s", platform, cid, words)
            return self._failed(cid, today, platform, previous, words)
        except Exception:  # ours (a write DynamoDB refused, a bug): the other platforms go on
            log.exception("statistics of %s for %s could not be updated", platform, cid)
            name = name_of(platform)
            words = f"Truss couldn't update the {name} figures just now; it will try again."
            return self._failed(cid, today, platform, previous, words)
        now = self.clock()  # answered; `partly` says what it left out (shown on the dashboard)
        store.note_fetch(
            self.table, cid, today, platform, FetchNote(now, partly, now if partly else 0)
        )
        return partly

    def _failed(self, cid: str, today: date, platform: str, previous: FetchNote, words: str) -> str:
        """Record the error and when, keeping when the platform last answered."""
        note = FetchNote(previous.ok_at, words, self.clock())
        store.note_fetch(self.table, cid, today, platform, note)
        return words

    def _youtube(
        self, cid: str, posts: list[Publication], days: list[PlatformDay], today: date
    ) -> str:
        """Ask per video and store what YouTube answered; a video YouTube refuses (403/404)
        is skipped: the words say how many (empty when none was; when every one was, it is
        the platform's failure)."""
        newest = newest_days(days, "youtube")
        adapter: YouTubeStats = self.adapter_for("youtube")
        by_day: dict[date, dict[tuple[str, str], Figures]] = defaultdict(dict)
        refused: list[StatsError] = []
        for pub in posts:
            first = self._first_day(pub, newest.get(pub.clip_id), today)
            ask = partial(_youtube_days, adapter, pub.remote_id, first, today)
            try:
                answer: list[VideoDay] = self._authorized(cid, "youtube", ask)
            except StatsError as exc:
                if not refused_one_video(exc):
                    raise
                log.warning("YouTube refused video %s of %s: %s", pub.remote_id, cid, exc)
                refused.append(exc)
                continue
            for video_day in answer:
                by_day[video_day.day][("youtube", pub.clip_id)] = video_day.figures
        if refused and len(refused) == len(posts):
            raise refused[0]  # nothing answered: the figures are no newer
        for day, figures in by_day.items():
            store.write_figures(self.table, cid, day, figures)
        return _refused_words(refused, len(posts))

    def _first_day(self, pub: Publication, newest: date | None, today: date) -> date:
        """The first day to ask YouTube about: the re-fetch window, reaching back to the day
        after the newest one stored (a gap after rounds that failed or didn't run) or, for a
        video without figures, to the day it was published; never past KEEP_DAYS."""
        first = today - timedelta(days=self.refetch_days - 1)
        since = newest + timedelta(days=1) if newest else utc_day(pub.updated or pub.created)
        return max(min(first, since), today - timedelta(days=KEEP_DAYS - 1))

    def _tiktok(
        self, cid: str, posts: list[Publication], days: list[PlatformDay], today: date
    ) -> str:
        adapter: TikTokStats = self.adapter_for("tiktok")
        by_id = {pub.remote_id: pub for pub in posts}
        totals = self._authorized(cid, "tiktok", lambda t: adapter.fetch_counts(t, list(by_id)))
        base = store.last_totals(days, today)
        figures, snapshots = {}, {}
        for video_id, total in totals.items():
            key = ("tiktok", by_id[video_id].clip_id)
            figures[key] = total.minus(base.get(key, Figures()))
            snapshots[key] = total
        store.write_figures(self.table, cid, today, figures, snapshots)
        return ""

    def _authorized(self, cid: str, platform: str, call: Callable[[str], Any]) -> Any:
        """`call(token)`; after a 401, refresh once (unless another worker did) and again."""
        refresh = self.refresher_for(platform)
        token = self.tokens.access_token(cid, platform, refresh)
        try:
            return call(token)
        except Unauthorized:
            token = self.tokens.access_token(cid, platform, refresh, force=True, rejected=token)
        return call(token)


def newest_days(days: list[PlatformDay], platform: str) -> dict[str, date]:
    """Per clip id, the newest of these days with the platform's figures for it."""
    newest: dict[str, date] = {}
    for day in days:
        for on, clid in day.figures:
            if on == platform and day.day > newest.get(clid, date.min):
                newest[clid] = day.day
    return newest


def refused_one_video(exc: StatsError) -> bool:
    """YouTube won't give this one video's figures (403/404: deleted, made private, or posted
    from a channel no longer connected) while the connection itself works. A missing scope or
    a quota/rate limit (YouTube answers those with 403 too) is about every video."""
    return exc.status in (403, 404) and not exc.scope_missing and exc.code not in YOUTUBE_LIMITS


def _refused_words(refused: list[StatsError], asked: int) -> str:
    if not refused:
        return ""
    clips = "clip" if asked == 1 else "clips"
    return (
        f"YouTube gave no figures for {len(refused)} of {asked} {clips} ({refused[0]}): a video "
        "deleted, made private or posted from a channel no longer connected; the other "
        "clips' figures are up to date."
    )


def _youtube_days(
    adapter: YouTubeStats, video_id: str, first: date, last: date, token: str
) -> list[VideoDay]:
    return adapter.fetch_stats(token, video_id, first, last)


def _words(platform: str, exc: Exception) -> str:
    """What the dashboard shows about a failed pull."""
    name = name_of(platform)
    if isinstance(exc, StatsError):
        if exc.scope_missing:
            return (
                f"{name} doesn't let Truss read statistics yet: reconnect {name} on the "
                "Connections page and allow it."
            )
        return str(exc)
    if isinstance(exc, Unauthorized):
        return f"{name} refused Truss's access: reconnect {name} on the Connections page."
    if isinstance(exc, PublishError):
        return exc.message
    if isinstance(exc, NotConnected):
        return f"{name} is no longer connected: connect it on the Connections page to update."
    if isinstance(exc, NeedsReconnect):
        return f"{name} needs reconnecting on the Connections page before Truss can read it."
    return f"Truss couldn't use the {name} connection just now ({exc}); it will try again."


def no_stats_words(platforms: Iterable[str]) -> list[str]:
    """Why some platforms have no figures (Discord, Twitch)."""
    return [NO_STATS[p] for p in platforms if p in NO_STATS]
