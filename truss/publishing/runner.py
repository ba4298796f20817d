"""The publish job's body: one post to one platform, exactly once, resumable after a crash.

    claim → (over an hour late: missed) → download the rendered clip to a temp file →
    token → adapter.start (the session is saved at once) → upload (renewing the lease and
    noting progress as it goes) → check: published, failed, or still processing (the lease
    is given up and a status check is scheduled, backing off, until the deadline).

Nobody touches the platform without a successful claim (truss.data.publications.claim), and
every write after it is conditional on still holding the lease. A crashed job leaves its
lease to lapse; the next job (an RQ retry, or the reconcile's) claims the post and continues
its saved session, so YouTube gets one video, not two.

Errors: a 401 refreshes the token once (under the token service's lock) and tries again; a
second 401, a refused refresh or a `reconnect` error → needs_reconnect; `content` → failed
(Discord oversize: a smaller copy once first); `quota` → failed, saying when to try again;
`retry` → the job raises RetryLater so RQ retries it with backoff, and on its last try the
post fails with the provider's words.

The due set (`DUE_SET`, a Redis sorted set of posts by when they are due, like
services/reconcile.py's WORKING_SET) lets every worker's maintenance find posts whose job RQ
lost, without scanning the table: `reconcile_due`.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis

from truss.data import clips
from truss.data import publications as store
from truss.data.publications import Publication
from truss.data.table import Conflict, NotFound, Table
from truss.publishing.adapters import Adapter, Post, PublishError, Session, Status, Unauthorized
from truss.publishing.adapters.discord import OVERSIZE_CODE, smaller_copy
from truss.publishing.providers import ProviderError
from truss.publishing.tokens import (
    NeedsReconnect,
    NotConnected,
    RefreshBusy,
    Refresher,
    TokenService,
)
from truss.services.leases import kept
from truss.storage import Storage

log = logging.getLogger(__name__)
DUE_SET = "truss:publish:due"
NAMES = {"youtube": "YouTube", "tiktok": "TikTok", "discord": "Discord"}
APPS = {"youtube": "YouTube Studio", "tiktok": "TikTok app", "discord": "Discord channel"}
DEFAULT_PRIVACY = {"youtube": "private", "tiktok": "SELF_ONLY", "discord": ""}
CRASHED = (
    "Publishing stopped unexpectedly several times in a row. Press Retry to try again; if it "
    "keeps stopping, re-render the clip first."
)


class RetryLater(Exception):
    """A temporary failure (the platform's 5xx, a dropped connection, a busy token refresh):
    the job raises it so RQ retries with backoff. Its message is the creator-facing words."""


class LeaseLost(Exception):
    """Another worker claimed the post meanwhile: this attempt stops without writing."""


@dataclass(frozen=True)
class RunnerSettings:
    lease_s: float = 60.0
    renew_every_s: float = 20.0
    processing_deadline_s: float = 1800.0
    missed_after_s: float = 3600.0
    check_delays_s: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0, 60.0)
    progress_every_s: float = 2.0  # how often upload progress is written to the item
    discord_limit_bytes: int = 10 * 1024 * 1024

    def check_delay(self, checks: int) -> float:
        return self.check_delays_s[min(checks, len(self.check_delays_s) - 1)]


def name_of(platform: str) -> str:
    return NAMES.get(platform, platform.title())


def minutes(seconds: float) -> str:
    whole = max(1, round(seconds / 60))
    return f"{whole} minute{'s' if whole != 1 else ''}"


def late_words(seconds: float) -> str:
    """How late, for the missed message: "over an hour", "3 hours"."""
    hours = int(seconds // 3600)
    return "over an hour" if hours < 2 else f"{hours} hours"


def missed_words(late_s: float) -> str:
    return (
        f"Truss couldn't start this post until {late_words(late_s)} after its time, so it "
        "wasn't posted. Press Retry to post it now, or cancel it."
    )


def at_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Runner:
    """Everything one publish attempt needs (truss.jobs builds it from the app)."""

    table: Table
    storage: Storage
    tokens: TokenService
    adapter_for: Callable[[str], Adapter]
    refresher_for: Callable[[str], Refresher]
    schedule_check: Callable[[Publication, float], object]  # (post, in how many seconds)
    settings: RunnerSettings = field(default_factory=RunnerSettings)
    clock: Callable[[], float] = time.time
    lease_table: Callable[[], Table] | None = None  # the renewing thread's own table
    shrink: Callable[[Path, int, float], Path] = smaller_copy
    workdir: str | None = None

    def run(
        self, cid: str, clid: str, platform: str, last_try: bool = True, worker: str = ""
    ) -> Publication | None:
        """One attempt; the post as it was left, or None when there was nothing to do (not
        due, cancelled, done, another worker holds it) or the lease was lost."""
        worker = worker or secrets.token_hex(8)
        now = self.clock()
        pub = store.claim(self.table, cid, clid, platform, worker, self.settings.lease_s, now)
        if pub is None:
            return None
        attempt = _Attempt(self, pub, worker, last_try)
        try:
            with self._renewing(attempt):
                return attempt.run()
        except LeaseLost:
            log.info("publication %s lost its lease; another attempt carries on", pub.member)
            return None

    @contextmanager
    def _renewing(self, attempt: _Attempt) -> Iterator[None]:
        if self.lease_table is None:
            yield
            return
        table = self.lease_table()

        def renew() -> bool:
            try:
                store.renew_lease(
                    table, attempt.pub, attempt.worker, self.settings.lease_s, self.clock()
                )
            except Conflict:
                return False
            return True

        with kept(renew, self.settings.renew_every_s):
            yield


class _Attempt:
    def __init__(self, runner: Runner, pub: Publication, worker: str, last_try: bool) -> None:
        self.r, self.pub, self.worker, self.last_try = runner, pub, worker, last_try
        self.s = runner.settings
        self.platform = pub.platform
        self.name = name_of(pub.platform)
        self._token: str | None = None
        self._progress_at = 0.0

    # --- the steps ------------------------------------------------------------------------

    def run(self) -> Publication:
        pub, now = self.pub, self.r.clock()
        late = now - pub.scheduled_at
        if pub.attempts <= 1 and not pub.session and late > self.s.missed_after_s:
            return self._write(store.mark_missed, missed_words(late), now)
        try:
            if pub.status == store.UPLOADING:
                self._upload()
            return self._check()
        except LeaseLost:
            raise
        except NotFound:
            words = "The clip was deleted, so there is nothing to post."
            return self._write(store.mark_failed, "content", words, "", None, self.r.clock())
        except (NotConnected, NeedsReconnect) as exc:
            return self._needs_reconnect(str(exc), "token")
        except ProviderError as exc:  # the refresh itself failed (not refused)
            if exc.transient:
                return self._temporary(PublishError("retry", str(exc), exc.code))
            return self._needs_reconnect(str(exc), exc.code)
        except RefreshBusy:
            return self._temporary(
                PublishError("retry", f"Truss couldn't renew the {self.name} access.", "busy")
            )
        except PublishError as exc:
            return self._failed(exc)
        except RetryLater:
            raise
        except Exception:
            if self.last_try:
                log.exception("publication %s crashed on its last try", pub.member)
                self._write(store.mark_failed, "crash", CRASHED, "", None, self.r.clock())
            else:
                self._release()
            raise

    def _upload(self) -> None:
        clip = clips.get(self.r.table, self.pub.creator_id, self.pub.clip_id)
        if clip.render_status != clips.READY or not clip.video_key:
            raise PublishError(
                "content", "The clip has no rendered video any more. Re-render it, then retry."
            )
        with tempfile.TemporaryDirectory(prefix="truss-publish-", dir=self.r.workdir) as tmp:
            path = Path(tmp) / f"{self.pub.clip_id}.mp4"
            self.r.storage.download(clip.video_key, str(path))
            post = self._post(path, clip.duration)
            try:
                session = self._send(post)
            except PublishError as exc:
                if self.platform != "discord" or exc.provider_code != OVERSIZE_CODE:
                    raise
                smaller = self.r.shrink(path, self.s.discord_limit_bytes, clip.duration)
                session = self._send(self._post(smaller, clip.duration))
        self.pub = self._write(store.mark_processing, session, self.r.clock())

    def _post(self, path: Path, duration: float) -> Post:
        pub = self.pub
        return Post(
            path=path,
            size=path.stat().st_size,
            content_type="video/mp4",
            duration_s=duration,
            text=pub.text,
            description=pub.description,
            privacy=pub.privacy or DEFAULT_PRIVACY.get(pub.platform, "private"),
            options=pub.options,
            session=pub.session,
        )

    def _send(self, post: Post) -> Session:
        adapter = self.r.adapter_for(self.platform)
        session = self.pub.session
        if not session:
            session = self._authorized(lambda token: adapter.start(token, post))
            self.pub = self._write(store.save_session, session, self.r.clock())
        started = session
        return self._authorized(
            lambda token: adapter.upload(token, post, started, self._on_progress)
        )

    def _on_progress(self, sent: int, total: int) -> None:
        now = self.r.clock()
        if now - self._progress_at < self.s.progress_every_s and sent < total:
            return
        self._progress_at = now
        self.pub = self._write(store.note_progress, sent, total, self.s.lease_s, now)

    def _check(self) -> Publication:
        adapter = self.r.adapter_for(self.platform)
        session = self.pub.session or {}
        status: Status = self._authorized(lambda token: adapter.check(token, session))
        now = self.r.clock()
        if status.state == "published":
            return self._write(store.mark_published, status.remote_id, status.url, now)
        if status.state == "failed":
            words = status.reason or f"{self.name} did not publish the clip."
            return self._write(store.mark_failed, "content", words, "processing_failed", None, now)
        since = self.pub.processing_since or now
        if now - since >= self.s.processing_deadline_s:
            words = (
                f"{self.name} didn't finish processing the clip within "
                f"{minutes(self.s.processing_deadline_s)}; look in your {APPS[self.platform]} "
                "to see whether it was posted before you retry."
            )
            return self._write(
                store.mark_failed, "deadline", words, "processing_timeout", None, now
            )
        pub = self._write(store.wait_for_check, now)
        self.r.schedule_check(pub, self.s.check_delay(self.pub.checks))
        return pub

    # --- tokens ---------------------------------------------------------------------------

    def _authorized(self, call: Callable[[str], Any]) -> Any:
        """`call(token)`; after a 401, refresh once (unless another worker did) and again."""
        token = self._access()
        try:
            return call(token)
        except Unauthorized:
            if self.platform == "discord":
                raise
        token = self._access(force=True, rejected=token)
        try:
            return call(token)
        except Unauthorized as exc:
            raise PublishError(
                "reconnect",
                f"{self.name} refused Truss's access even after renewing it. Reconnect "
                f"{self.name} on the Connections page, then retry.",
                exc.provider_code,
            ) from None

    def _access(self, force: bool = False, rejected: str | None = None) -> str:
        cid, tokens = self.pub.creator_id, self.r.tokens
        if self.platform == "discord":  # the webhook URL is the token (providers.py)
            saved = tokens.tokens(cid, "discord")
            webhook = saved.access_token or saved.extras.get("webhook_url", "")
            if not webhook:
                raise NeedsReconnect("Discord has no webhook saved")
            return webhook
        refresher = self.r.refresher_for(self.platform)
        return tokens.access_token(cid, self.platform, refresher, force=force, rejected=rejected)

    # --- outcomes -------------------------------------------------------------------------

    def _failed(self, exc: PublishError) -> Publication:
        now = self.r.clock()
        if exc.kind == "reconnect":
            return self._needs_reconnect(exc.message, exc.provider_code)
        if exc.kind == "retry":
            return self._temporary(exc)
        retry_at = None
        words = exc.message
        if exc.kind == "quota":
            when = exc.retry_at.timestamp() if exc.retry_at else now + 3600
            retry_at = int(when)
            words = f"{words} Truss will not try before {at_utc(when)}; press Retry after that."
        return self._write(store.mark_failed, exc.kind, words, exc.provider_code, retry_at, now)

    def _temporary(self, exc: PublishError) -> Publication:
        if self.last_try:
            words = f"{exc.message} It kept failing, so Truss stopped; press Retry to try again."
            return self._write(
                store.mark_failed, "retry", words, exc.provider_code, None, self.r.clock()
            )
        self._release()
        raise RetryLater(exc.message)

    def _needs_reconnect(self, reason: str, code: str) -> Publication:
        words = (
            reason
            if "Reconnect" in reason or "Connect" in reason
            else (f"{reason}. Reconnect {self.name} on the Connections page, then retry.")
        )
        return self._write(store.mark_needs_reconnect, words, code, self.r.clock())

    def _release(self) -> None:
        with suppress(Conflict):
            store.release(self.r.table, self.pub, self.worker, self.r.clock())

    def _write(self, change: Callable[..., Publication], *args: Any) -> Publication:
        """A write as the lease holder; LeaseLost when another attempt took over."""
        try:
            self.pub = change(self.r.table, self.pub, self.worker, *args)
        except Conflict:
            raise LeaseLost(self.pub.member) from None
        return self.pub


# --- the due set and its reconcile ---------------------------------------------------------


def watch(redis: Redis, pub: Publication) -> None:
    """Remember the post until it finishes (by when it is due)."""
    redis.zadd(DUE_SET, {pub.member: pub.scheduled_at})


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
