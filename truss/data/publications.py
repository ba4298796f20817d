"""A clip's post on one platform: `CREATOR#<cid>` / `PUBLICATION#<clid>#<platform>`.

Status: `scheduled → uploading → processing → published`, or `failed` (with the provider's
words and code), `needs_reconnect`, `missed` (over an hour late) or `cancelled`.

Exactly once: nobody talks to the platform without a successful `claim`, ONE conditional
update that takes a due `scheduled` post, or an `uploading`/`processing` one whose lease
lapsed (its worker died), and gives it to one worker until `lease_until`. Every later write
of the attempt is conditional on that worker still holding the lease, so a worker that lost
it (paused past its lease, then woke) can't overwrite what its successor did. The platform's
upload session is saved on the item as it goes, so a successor resumes the same upload
instead of starting a second video.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from truss.data import keys
from truss.data.items import attr, from_item
from truss.data.table import (
    AlreadyExists,
    Conflict,
    DataError,
    Item,
    NotFound,
    Table,
    dynamo_value,
)

TYPE = "publication"
SCHEDULED = "scheduled"
UPLOADING = "uploading"
PROCESSING = "processing"
PUBLISHED = "published"
FAILED = "failed"
NEEDS_RECONNECT = "needs_reconnect"
MISSED = "missed"
CANCELLED = "cancelled"
STATUSES = (
    SCHEDULED, UPLOADING, PROCESSING, PUBLISHED, FAILED, NEEDS_RECONNECT, MISSED, CANCELLED,
)  # fmt: skip
ACTIVE = (SCHEDULED, UPLOADING, PROCESSING, PUBLISHED)  # a new post for the clip is refused
WORKING = (UPLOADING, PROCESSING)
TERMINAL = (PUBLISHED, FAILED, NEEDS_RECONNECT, MISSED, CANCELLED)
RETRYABLE = (FAILED, NEEDS_RECONNECT, MISSED)
CREATE_CLEARS = (
    "session", "remote_id", "remote_url", "processing_since", "sent", "total", "started_at",
)  # fmt: skip
CONTENT = "content"  # a failure of the post itself: a retry starts a new upload
# Whatever the error is, these fields say what happened; a new claim or a retry clears them.
ERROR_FIELDS = ("error", "error_code", "error_kind", "retry_at")


class PublicationError(DataError):
    """Base of the errors a creator's change to a post can meet; the message is for them."""


class AlreadyPublishing(PublicationError):
    """The clip already has a post on this platform that is scheduled, under way or done."""


class NotChanged(PublicationError):
    """The post is no longer in a state that allows this change (it started, or it's gone)."""


@dataclass(frozen=True, kw_only=True)
class Publication:
    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    platform: str
    clip_id: str
    asset_id: str = ""
    status: str = SCHEDULED
    scheduled_at: int = 0  # epoch seconds, UTC
    text: str = ""  # YouTube title, TikTok caption, Discord message
    description: str = ""
    privacy: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    error: str = ""  # in words, for the creator
    error_code: str = ""  # the provider's own
    error_kind: str = ""  # the PublishError kind (retry/reconnect/content/quota) or ours
    retry_at: int | None = None  # a quota failure: when trying again can work
    remote_id: str = ""
    remote_url: str = ""
    session: dict[str, Any] | None = None  # the adapter's upload session
    lease_holder: str = ""
    lease_until: float = 0.0
    processing_since: int = 0
    checks: int = 0  # status checks scheduled while processing
    sent: int = 0  # bytes the platform holds (upload progress)
    total: int = 0
    started_at: float = 0.0  # when the first claim took it (how late a scheduled post began)
    created: int = 0
    updated: int = 0

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def member(self) -> str:
        """How the due set in Redis names this post."""
        return f"{self.creator_id}/{self.clip_id}/{self.platform}"


def _from_item(item: Item) -> Publication:
    return from_item(Publication, item)


def upload_done(session: Mapping[str, Any] | None) -> bool:
    """Whether a saved session says the platform holds the whole upload (YouTube gave the
    video id, TikTok took the last chunk, Discord posted the message)."""
    if not session:
        return False
    return bool(session.get("video_id") or session.get("uploaded") or session.get("message_id"))


def _key(cid: str, clid: str, platform: str) -> keys.Key:
    return keys.publication(cid, clid, platform)


def create(table: Table, pub: Publication) -> Publication:
    """Store a new post; AlreadyPublishing while one for the same clip and platform is
    scheduled, uploading, processing or published. A failed, cancelled, missed or
    needs-reconnect one is replaced (its session and errors go)."""
    key = _key(pub.creator_id, pub.clip_id, pub.platform)
    fields: Item = {
        "type": TYPE,
        "platform": pub.platform,
        "clip_id": pub.clip_id,
        "asset_id": pub.asset_id,
        "status": SCHEDULED,
        "scheduled_at": int(pub.scheduled_at),
        "text": pub.text,
        "description": pub.description,
        "privacy": pub.privacy,
        "options": dict(pub.options),
        "attempts": 0,
        "checks": 0,
        "lease_holder": "",
        "lease_until": 0,
        "created": int(pub.created),
        "updated": int(pub.created),
    }
    try:
        table.put_new({**key, **fields})
        return _from_item({**key, **fields})
    except AlreadyExists:
        pass
    try:
        item = table.update(
            key,
            fields,
            condition=Attr("type").eq(TYPE) & ~Attr("status").is_in(list(ACTIVE)),
            remove=(*ERROR_FIELDS, *CREATE_CLEARS),
        )
    except Conflict:
        raise AlreadyPublishing(
            "This clip is already scheduled, being posted or published there."
        ) from None
    return _from_item(item)


def get(table: Table, cid: str, clid: str, platform: str) -> Publication:
    return _from_item(table.get_typed(_key(cid, clid, platform), TYPE))


def find(table: Table, cid: str, clid: str, platform: str) -> Publication | None:
    try:
        return get(table, cid, clid, platform)
    except NotFound:
        return None


def list_for_clip(table: Table, cid: str, clid: str) -> list[Publication]:
    """Every post of one clip: one Query on `PUBLICATION#<clid>#`."""
    items = table.query_all(keys.creator_pk(cid), keys.publication_prefix(clid))
    return [_from_item(item) for item in items if item.get("type") == TYPE]


def list_for_creator(table: Table, cid: str) -> list[Publication]:
    """Every post of one creator: one Query on `PUBLICATION#`."""
    items = table.query_all(keys.creator_pk(cid), keys.publication_prefix())
    return [_from_item(item) for item in items if item.get("type") == TYPE]


def _lease_lapsed(now: float) -> ConditionBase:
    return Attr("lease_until").not_exists() | Attr("lease_until").lt(dynamo_value(float(now)))


def claim(
    table: Table, cid: str, clid: str, platform: str, worker: str, lease_s: float, now: float
) -> Publication | None:
    """Give the post to `worker` until now + lease_s, if it is due: `scheduled` with
    scheduled_at <= now, or `uploading`/`processing` with a lapsed lease. One conditional
    update (the read before it only picks the new status); None when it isn't claimable
    (not due, cancelled, done, or another worker holds it)."""
    old = find(table, cid, clid, platform)
    if old is None:
        return None
    if old.status == SCHEDULED:
        condition = Attr("status").eq(SCHEDULED) & Attr("scheduled_at").lte(int(now))
    elif old.status in WORKING:
        condition = Attr("status").is_in(list(WORKING)) & _lease_lapsed(now)
    else:
        return None
    status = PROCESSING if upload_done(old.session) else UPLOADING
    changes: Item = {
        "status": status,
        "lease_holder": worker,
        "lease_until": now + lease_s,
        "updated": int(now),
    }
    if status == PROCESSING and not old.processing_since:
        changes["processing_since"] = int(now)
    if old.status == SCHEDULED:
        changes["started_at"] = now
    polling = old.status == PROCESSING
    try:
        item = table.update(
            _key(cid, clid, platform),
            changes,
            condition=Attr("type").eq(TYPE) & condition,
            add=None if polling else {"attempts": 1},
            remove=() if polling else ERROR_FIELDS,
        )
    except Conflict:
        return None
    return _from_item(item)


def _held(worker: str) -> ConditionBase:
    return (
        Attr("type").eq(TYPE)
        & Attr("lease_holder").eq(worker)
        & Attr("status").is_in(list(WORKING))
    )


def _as_holder(
    table: Table,
    pub: Publication,
    worker: str,
    changes: Mapping[str, Any],
    remove: tuple[str, ...] = (),
) -> Publication:
    """A write of the lease holder; Conflict when `worker` no longer holds the post."""
    item = table.update(
        _key(pub.creator_id, pub.clip_id, pub.platform),
        changes,
        condition=_held(worker),
        remove=remove,
    )
    return _from_item(item)


def renew_lease(
    table: Table, pub: Publication, worker: str, lease_s: float, now: float
) -> Publication:
    return _as_holder(table, pub, worker, {"lease_until": now + lease_s, "updated": int(now)})


def save_session(
    table: Table,
    pub: Publication,
    worker: str,
    session: Mapping[str, Any],
    now: float,
    lease_s: float | None = None,
) -> Publication:
    """Keep the adapter's session (renewing the lease too, when lease_s is given)."""
    changes: Item = {"session": dict(session), "updated": int(now)}
    if lease_s is not None:
        changes["lease_until"] = now + lease_s
    return _as_holder(table, pub, worker, changes)


def note_progress(
    table: Table, pub: Publication, worker: str, sent: int, total: int, lease_s: float, now: float
) -> Publication:
    """Upload progress (bytes the platform holds), renewing the lease."""
    changes = {"sent": int(sent), "total": int(total), "lease_until": now + lease_s}
    return _as_holder(table, pub, worker, {**changes, "updated": int(now)})


def mark_processing(
    table: Table, pub: Publication, worker: str, session: Mapping[str, Any], now: float
) -> Publication:
    """The platform holds the whole upload and is processing it."""
    changes: Item = {"status": PROCESSING, "session": dict(session), "updated": int(now)}
    if not pub.processing_since:
        changes["processing_since"] = int(now)
    return _as_holder(table, pub, worker, changes)


def wait_for_check(table: Table, pub: Publication, worker: str, now: float) -> Publication:
    """Still processing: give the lease up so the next status check can claim it."""
    changes = {"lease_until": 0, "lease_holder": "", "checks": pub.checks + 1, "updated": int(now)}
    return _as_holder(table, pub, worker, changes)


def release(table: Table, pub: Publication, worker: str, now: float) -> Publication:
    """Give the lease up without changing the status (a retry will claim it again)."""
    return _as_holder(table, pub, worker, {"lease_until": 0, "updated": int(now)})


def mark_published(
    table: Table, pub: Publication, worker: str, remote_id: str, remote_url: str, now: float
) -> Publication:
    changes = {
        "status": PUBLISHED,
        "remote_id": remote_id,
        "remote_url": remote_url,
        "lease_until": 0,
        "updated": int(now),
    }
    return _as_holder(table, pub, worker, changes, remove=ERROR_FIELDS)


def mark_failed(
    table: Table,
    pub: Publication,
    worker: str,
    kind: str,
    words: str,
    code: str,
    retry_at: int | None,
    now: float,
) -> Publication:
    changes: Item = {
        "status": FAILED,
        "error_kind": kind,
        "error": words,
        "error_code": code,
        "lease_until": 0,
        "updated": int(now),
    }
    if retry_at is not None:
        changes["retry_at"] = int(retry_at)
    return _as_holder(table, pub, worker, changes, remove=() if retry_at else ("retry_at",))


def mark_needs_reconnect(
    table: Table, pub: Publication, worker: str, words: str, code: str, now: float
) -> Publication:
    changes = {
        "status": NEEDS_RECONNECT,
        "error_kind": "reconnect",
        "error": words,
        "error_code": code,
        "lease_until": 0,
        "updated": int(now),
    }
    return _as_holder(table, pub, worker, changes)


def mark_missed(
    table: Table, pub: Publication, worker: str | None, words: str, now: float
) -> Publication:
    """Over an hour late: never posted. By the lease holder, or (worker None) by the
    reconcile while the post is still `scheduled` at the time it read (a reschedule in
    between wins) and nobody claimed it."""
    changes = {
        "status": MISSED,
        "error_kind": "missed",
        "error": words,
        "error_code": "",
        "lease_until": 0,
        "updated": int(now),
    }
    if worker is not None:
        return _as_holder(table, pub, worker, changes)
    item = table.update(
        _key(pub.creator_id, pub.clip_id, pub.platform),
        changes,
        condition=Attr("type").eq(TYPE)
        & Attr("status").eq(SCHEDULED)
        & Attr("scheduled_at").eq(pub.scheduled_at),
    )
    return _from_item(item)


def _while_scheduled(
    table: Table, cid: str, clid: str, platform: str, changes: Mapping[str, Any]
) -> Publication:
    try:
        item = table.update(
            _key(cid, clid, platform),
            changes,
            condition=Attr("type").eq(TYPE) & Attr("status").eq(SCHEDULED),
        )
    except Conflict:
        raise NotChanged(
            "The post has already started or finished, so it can't be changed."
        ) from None
    return _from_item(item)


def cancel(table: Table, cid: str, clid: str, platform: str, now: float) -> Publication:
    """Cancel a post that hasn't started (NotChanged once a worker claimed it)."""
    return _while_scheduled(table, cid, clid, platform, {"status": CANCELLED, "updated": int(now)})


def reschedule(
    table: Table, cid: str, clid: str, platform: str, when: int, now: float
) -> Publication:
    """Move a post that hasn't started to `when` (epoch seconds)."""
    changes = {"scheduled_at": int(when), "updated": int(now)}
    return _while_scheduled(table, cid, clid, platform, changes)


def retry(table: Table, cid: str, clid: str, platform: str, now: float) -> Publication:
    """A failed, needs-reconnect or missed post → scheduled now. The session stays, so an
    upload resumes where it stopped, except after a `content` failure (the platform refused
    that upload: a new one starts)."""
    old = get(table, cid, clid, platform)
    if old.status not in RETRYABLE:
        raise NotChanged(f"The post is {old.status.replace('_', ' ')}; nothing to retry.")
    drop_session = old.error_kind == CONTENT or not old.session
    try:
        item = table.update(
            _key(cid, clid, platform),
            {
                "status": SCHEDULED,
                "scheduled_at": int(now),
                "lease_holder": "",
                "lease_until": 0,
                "checks": 0,
                "attempts": 0,  # the runner's cap on attempts counts from the creator's retry
                "updated": int(now),
            },
            condition=Attr("type").eq(TYPE) & Attr("status").eq(old.status),
            remove=(*ERROR_FIELDS, "processing_since", *(("session",) if drop_session else ())),
        )
    except Conflict:
        raise NotChanged("The post changed meanwhile; reload the page.") from None
    return _from_item(item)
