"""The due set: every post that isn't final, in a Redis sorted set by when it is due (like
services/reconcile.py's WORKING_SET), so every worker's maintenance finds posts whose job RQ
lost without scanning the table (`reconcile_due`), and a page that reads posts puts back the
ones missing from it (`rewatch`: a web process that died between storing a post and queuing
it, Redis that lost its data)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from redis import Redis

from truss.data import publications as store
from truss.data.publications import Publication
from truss.data.table import Conflict, NotFound, Table

log = logging.getLogger(__name__)
DUE_SET = "truss:publish:due"


def late_words(seconds: float) -> str:
    """How late, for the missed message: "over an hour", "3 hours"."""
    hours = int(seconds // 3600)
    return "over an hour" if hours < 2 else f"{hours} hours"


def missed_words(late_s: float) -> str:
    return (
        f"Truss couldn't start this post until {late_words(late_s)} after its time, so it "
        "wasn't posted. Press Retry to post it now, or cancel it."
    )


def watch(redis: Redis, pub: Publication) -> None:
    """Remember the post until it finishes (by when it is due)."""
    redis.zadd(DUE_SET, {pub.member: pub.scheduled_at})


def rewatch(redis: Redis, posts: Iterable[Publication]) -> int:
    """Put the posts that aren't final back in the due set if they are missing from it (a
    web process that died between storing a post and queuing it, Redis that lost its data);
    the reconcile then finds them once due. One round trip; how many were added."""
    missing = {pub.member: pub.scheduled_at for pub in posts if not pub.terminal}
    if not missing:
        return 0
    added = redis.zadd(DUE_SET, missing, nx=True)
    return int(added or 0)


@dataclass(frozen=True)
class DueWork:
    """How the reconcile sees and queues publish jobs (truss.jobs passes RQ's)."""

    enqueue: Callable[[Publication], object]  # now
    active: Callable[[Publication], bool]  # RQ holds a job of this post
    grace_s: float = 60.0
    missed_after_s: float = 3600.0


def reconcile_due(redis: Redis, table: Table, work: DueWork, now: float) -> list[str]:
    """Queue the posts whose job RQ lost: a due `scheduled` post with no job (or over an
    hour late: missed), an `uploading`/`processing` one whose lease lapsed with no job (it
    resumes its session). Forgets finished posts. Returns the members queued."""
    queued: list[str] = []
    for raw in redis.zrangebyscore(DUE_SET, 0, now - work.grace_s):
        member = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            cid, clid, platform = member.split("/", 2)
            pub = store.get(table, cid, clid, platform)
        except (ValueError, NotFound):
            redis.zrem(DUE_SET, member)
            continue
        if pub.terminal:
            redis.zrem(DUE_SET, member)
            continue
        if pub.status == store.SCHEDULED and pub.scheduled_at > now - work.grace_s:
            redis.zadd(DUE_SET, {member: pub.scheduled_at})  # rescheduled later
            continue
        if pub.working and pub.lease_until >= now:
            continue  # a worker holds it
        if not redis.set(f"truss:publish:reconcile:{member}", 1, nx=True, ex=int(work.grace_s)):
            continue  # another worker's maintenance looks at it this period
        if work.active(pub):
            continue
        if pub.status == store.SCHEDULED and now - pub.scheduled_at > work.missed_after_s:
            try:
                store.mark_missed(table, pub, None, missed_words(now - pub.scheduled_at), now)
            except Conflict:
                continue
            redis.zrem(DUE_SET, member)
            continue
        log.warning("publication %s (%s) has no job: queuing it", member, pub.status)
        work.enqueue(pub)
        queued.append(member)
    return queued
