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

A post that keeps stopping its worker (killed mid-upload) fails after
RunnerSettings.max_attempts claims; a rate limit or quota that lifts within short_wait_s is
waited for (schedule_retry), a longer one fails saying when (retry_at). A refused connection
marks the PLATFORM_TOKEN too, so /connections offers Reconnect.

The due set and its reconcile, which find posts whose job RQ lost, are truss.publishing.due.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truss.data import clips, platform_tokens
from truss.data import publications as store
from truss.data.publications import Publication
from truss.data.table import Conflict, NotFound, Table
from truss.publishing.adapters import Adapter, Post, PublishError, Session, Status, Unauthorized
from truss.publishing.adapters.base import SESSION_EXPIRED
from truss.publishing.adapters.discord import OVERSIZE_CODE, smaller_copy
from truss.publishing.due import missed_words
from truss.publishing.platforms import name_of
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
    max_attempts: int = 6  # upload claims before a post that keeps stopping fails
    short_wait_s: float = 900.0  # a rate limit or quota lifting sooner is waited for

    def check_delay(self, checks: int) -> float:
        return self.check_delays_s[min(checks, len(self.check_delays_s) - 1)]


def minutes(seconds: float) -> str:
    whole = max(1, round(seconds / 60))
    return f"{whole} minute{'s' if whole != 1 else ''}"


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
    # (post, in how many seconds): another attempt once a short rate limit lifts; None:
    # RQ's retry with backoff (RetryLater)
    schedule_retry: Callable[[Publication, float], object] | None = None
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
        self._token_version: int | None = None  # of the PLATFORM_TOKEN the token came from
        self._progress_at = 0.0

    # --- the steps ------------------------------------------------------------------------

    def run(self) -> Publication:
        pub, now = self.pub, self.r.clock()
        late = now - pub.scheduled_at
        if pub.attempts <= 1 and not pub.session and late > self.s.missed_after_s:
            return self._write(store.mark_missed, missed_words(late), now)
        if pub.status == store.UPLOADING and pub.attempts > self.s.max_attempts:
            words = (
                f"Truss tried {pub.attempts - 1} times and the upload kept stopping; press "
                "Retry to try again. If it keeps stopping, re-render the clip first."
            )
            return self._write(store.mark_failed, "crash", words, "too_many_attempts", None, now)
        try:
            if pub.status == store.UPLOADING:
                self._upload()
            return self._check()
        except LeaseLost:
            raise
        except NotFound:
            words = "The clip was deleted, so there is nothing to post."
            return self._write(store.mark_failed, "content", words, "", None, self.r.clock())
        except (NotConnected, NeedsReconnect) as exc:  # the token service marked it
            return self._needs_reconnect(str(exc), "token", token_marked=True)
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
        """Upload into the saved session (one opened and saved first if there is none). An
        expired session is dropped and a new one opened and saved before any byte goes into
        it, so a crash after that resumes the new one: never a second video."""
        adapter = self.r.adapter_for(self.platform)
        session = self.pub.session or self._start(adapter, post)
        try:
            return self._upload_into(adapter, post, session)
        except PublishError as exc:
            if exc.provider_code != SESSION_EXPIRED:
                raise
        log.info("publication %s: the upload session expired; opening a new one", self.pub.member)
        self.pub = self._write(store.save_session, {}, self.r.clock())
        return self._upload_into(adapter, post, self._start(adapter, post))

    def _start(self, adapter: Adapter, post: Post) -> Session:
        session: Session = self._authorized(lambda token: adapter.start(token, post))
        self.pub = self._write(store.save_session, session, self.r.clock())
        return session

    def _upload_into(self, adapter: Adapter, post: Post, session: Session) -> Session:
        return self._authorized(
            lambda token: adapter.upload(token, post, session, self._on_progress)
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
            self._note_token_version()
            return webhook
        refresher = self.r.refresher_for(self.platform)
        token = tokens.access_token(cid, self.platform, refresher, force=force, rejected=rejected)
        self._note_token_version()
        return token

    def _note_token_version(self) -> None:
        """The connection the token came from: a refusal marks that one, not a newer one."""
        record = platform_tokens.get(self.r.table, self.pub.creator_id, self.platform)
        self._token_version = record.version if record is not None else None

    # --- outcomes -------------------------------------------------------------------------

    def _failed(self, exc: PublishError) -> Publication:
        now = self.r.clock()
        if exc.kind == "reconnect":
            return self._needs_reconnect(exc.message, exc.provider_code)
        if exc.kind == "retry":
            return self._temporary(exc)
        retry_at = None
        if exc.kind == "quota":
            when = exc.retry_at.timestamp() if exc.retry_at else now + 3600
            if when - now <= self.s.short_wait_s:
                return self._wait(exc, when - now)
            # The page says when, in the creator's zone ("You can try again after …").
            retry_at = int(when)
        return self._write(
            store.mark_failed, exc.kind, exc.message, exc.provider_code, retry_at, now
        )

    def _wait(self, exc: PublishError, delay_s: float) -> Publication:
        """A rate limit or quota lifting soon: another attempt then, resuming the session."""
        if self.r.schedule_retry is None:
            return self._temporary(exc)
        log.info(
            "publication %s: %s asked to wait %.0f s (%s); trying again then",
            self.pub.member, self.name, delay_s, exc.provider_code,
        )  # fmt: skip
        self._release()
        self.r.schedule_retry(self.pub, max(1.0, delay_s))
        return self.pub

    def _temporary(self, exc: PublishError) -> Publication:
        if self.last_try:
            words = f"{exc.message} It kept failing, so Truss stopped; press Retry to try again."
            return self._write(
                store.mark_failed, "retry", words, exc.provider_code, None, self.r.clock()
            )
        self._release()
        raise RetryLater(exc.message)

    def _needs_reconnect(self, reason: str, code: str, token_marked: bool = False) -> Publication:
        """The post, and the connection (so /connections offers Reconnect) unless the token
        service already marked it; a connection made again since the token was read stays."""
        words = (
            reason
            if "Reconnect" in reason or "Connect" in reason
            else (f"{reason}. Reconnect {self.name} on the Connections page, then retry.")
        )
        pub = self._write(store.mark_needs_reconnect, words, code, self.r.clock())
        if self._token_version is None:  # the token itself failed: the connection as it is
            self._note_token_version()
        if not token_marked and self._token_version is not None:
            marked = platform_tokens.mark_needs_reconnect(
                self.r.table, pub.creator_id, self.platform, self._token_version, words
            )
            if not marked:
                log.info("%s of %s was reconnected meanwhile", self.platform, pub.creator_id)
        return pub

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
