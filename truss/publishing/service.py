"""Publishing a clip: drafts, validation, one post per platform, and the changes a creator can
make before a post starts (cancel, reschedule) or after it failed (retry).

A route calls these, then asks truss.jobs to enqueue what the result says:

    result = service.publish(table, cid, clip, requests, when_utc, now)
    for pub, run_at in result.to_enqueue:
        jobs.enqueue_publication(pub, run_at)

Each platform is validated and stored on its own: one platform's error (not connected, text
too long) never blocks the others, and comes back in `errors` in words a creator can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from truss.data import platform_tokens
from truss.data import publications as store
from truss.data.clips import READY, Clip
from truss.data.publications import (
    AlreadyPublishing,
    NotChanged,
    Publication,
    PublicationError,
)
from truss.data.table import Table
from truss.publishing.platforms import TEXT_LABELS, name_of

PLATFORMS_THAT_UPLOAD = ("youtube", "tiktok", "discord")
# Per platform: the main text's limit, and the description's (0: the platform has none).
LIMITS: dict[str, dict[str, int]] = {
    "youtube": {"text": 100, "description": 5000},
    "tiktok": {"text": 2200, "description": 0},
    "discord": {"text": 2000, "description": 0},
}
PAST_GRACE_S = 60  # a time this far in the past still counts as "now" (a slow form)
# Each platform's privacy values (TikTok's privacy_level; its creator info may offer fewer).
PRIVACY: dict[str, tuple[str, ...]] = {
    "youtube": ("private", "unlisted", "public"),
    "tiktok": ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"),
    "discord": (),
}

__all__ = [
    "LIMITS",
    "PLATFORMS_THAT_UPLOAD",
    "AlreadyPublishing",
    "Draft",
    "Enqueue",
    "NotChanged",
    "PostRequest",
    "PublicationError",
    "PublishResult",
    "cancel",
    "draft",
    "publish",
    "reschedule",
    "retry",
    "statuses",
]


@dataclass(frozen=True)
class Draft:
    text: str
    description: str = ""


@dataclass(frozen=True)
class PostRequest:
    platform: str
    text: str
    description: str = ""
    privacy: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    # The privacy values the account offers (TikTok's creator info), when the route has
    # them; otherwise any of the platform's PRIVACY values is accepted.
    privacy_options: tuple[str, ...] = ()


Enqueue = tuple[Publication, datetime]
Now = datetime | float  # an aware datetime, or epoch seconds


def _seconds(now: Now) -> float:
    return _epoch(now) if isinstance(now, datetime) else float(now)


@dataclass
class PublishResult:
    publications: list[Publication] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    to_enqueue: list[Enqueue] = field(default_factory=list)


def fit(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters (with an ellipsis)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def _hashtags(clip: Clip) -> str:
    tags = [tag.strip().lstrip("#") for tag in clip.hashtags if tag.strip().lstrip("#")]
    return " ".join(f"#{tag}" for tag in tags)


def draft(clip: Clip) -> dict[str, Draft]:
    """Each platform's text prefilled from the clip's title, hook and hashtags, within the
    platform's limits."""
    title = clip.title.strip() or "New clip"
    hook, tags = clip.hook.strip(), fit(_hashtags(clip), 500)
    caption = " ".join(part for part in (title, hook) if part)
    message = "\n".join(part for part in (f"**{title}**", hook) if part)
    return {
        "youtube": Draft(fit(title, 100), _with_tags(hook, "\n\n", tags, 5000)),
        "tiktok": Draft(_with_tags(caption, " ", tags, 2200)),
        "discord": Draft(fit(message, 2000)),
    }


def _with_tags(text: str, sep: str, tags: str, limit: int) -> str:
    """`text` then the hashtags, the text shortened so the hashtags always fit."""
    if not tags:
        return fit(text, limit)
    room = limit - len(tags) - len(sep)
    return sep.join(part for part in (fit(text, room), tags) if part)


def _epoch(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("the publish time must be timezone-aware")
    return int(when.astimezone(UTC).timestamp())


def _problem(
    table: Table, cid: str, clip: Clip, request: PostRequest, when: int, now: int
) -> str | None:
    """What stops this post, in words; None when it can go ahead."""
    platform, name = request.platform, name_of(request.platform)
    if platform not in PLATFORMS_THAT_UPLOAD:
        return f"Truss can't upload clips to {name}."
    if clip.render_status != READY or not clip.video_key:
        return "The clip isn't rendered yet. Wait until it's ready, then publish."
    token = platform_tokens.get(table, cid, platform)
    if token is None:
        return f"{name} isn't connected. Connect it on the Connections page, then publish."
    if token.status == platform_tokens.NEEDS_RECONNECT:
        return f"{name} needs to be reconnected. Reconnect it on the Connections page."
    label, limits = TEXT_LABELS[platform], LIMITS[platform]
    if platform == "youtube" and not request.text.strip():
        return "A YouTube video needs a title."
    if len(request.text) > limits["text"]:
        return (
            f"The {name} {label} is {len(request.text):,} characters; {name} allows "
            f"{limits['text']:,}. Shorten it."
        )
    if limits["description"] and len(request.description) > limits["description"]:
        return (
            f"The {name} description is {len(request.description):,} characters; {name} "
            f"allows {limits['description']:,}. Shorten it."
        )
    allowed = PRIVACY[platform]
    offered = tuple(p for p in request.privacy_options if p in allowed) or allowed
    if allowed and request.privacy and request.privacy not in offered:
        if platform == "tiktok":
            return (
                "TikTok doesn't offer that privacy for this account. Choose who can see the "
                "post from the options shown."
            )
        return f"Choose who can see the {name} post: {', '.join(allowed)}."
    if when < now - PAST_GRACE_S:
        return "That time has already passed. Pick a time in the future, or publish now."
    return None


def publish(
    table: Table,
    cid: str,
    clip: Clip,
    requests: Sequence[PostRequest],
    when_utc: datetime | None,
    now: Now,
) -> PublishResult:
    """One post per platform asked for, each validated on its own; `when_utc` None: now."""
    now = _seconds(now)
    result = PublishResult()
    when = max(_epoch(when_utc), int(now)) if when_utc else int(now)
    asked = when_utc and _epoch(when_utc)
    for request in requests:
        problem = _problem(table, cid, clip, request, int(asked or now), int(now))
        if problem:
            result.errors[request.platform] = problem
            continue
        pub = Publication(
            creator_id=cid,
            platform=request.platform,
            clip_id=clip.id,
            asset_id=clip.asset_id,
            scheduled_at=when,
            text=request.text,
            description=request.description if LIMITS[request.platform]["description"] else "",
            privacy=request.privacy,
            options=dict(request.options),
            created=int(now),
        )
        try:
            created = store.create(table, pub)
        except AlreadyPublishing as exc:
            result.errors[request.platform] = str(exc)
            continue
        result.publications.append(created)
        result.to_enqueue.append((created, run_at(created)))
    return result


def run_at(pub: Publication) -> datetime:
    return datetime.fromtimestamp(pub.scheduled_at, UTC)


def _find(table: Table, cid: str, clid: str, platform: str) -> Publication:
    pub = store.find(table, cid, clid, platform)
    if pub is None:
        raise NotChanged(f"There is no {name_of(platform)} post of this clip.")
    return pub


def cancel(table: Table, cid: str, clid: str, platform: str, now: Now | None = None) -> Publication:
    """Cancel a post that hasn't started; NotChanged once it has. Nothing to enqueue: the
    job that was scheduled finds it cancelled and does nothing."""
    _find(table, cid, clid, platform)
    return store.cancel(table, cid, clid, platform, _seconds(now if now is not None else _utc()))


def reschedule(
    table: Table, cid: str, clid: str, platform: str, when_utc: datetime, now: Now
) -> Enqueue:
    """Move a post that hasn't started; what to enqueue (the old job finds it not due)."""
    now, when = _seconds(now), _epoch(when_utc)
    if when < now - PAST_GRACE_S:
        raise NotChanged("That time has already passed. Pick a time in the future.")
    _find(table, cid, clid, platform)
    pub = store.reschedule(table, cid, clid, platform, max(when, int(now)), now)
    return pub, run_at(pub)


def retry(table: Table, cid: str, clid: str, platform: str, now: Now) -> Enqueue:
    """A failed, missed or needs-reconnect post → scheduled now; what to enqueue."""
    now = _seconds(now)
    old = _find(table, cid, clid, platform)
    if old.status == store.FAILED and old.retry_at and now < old.retry_at:
        when = datetime.fromtimestamp(old.retry_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise NotChanged(f"{name_of(platform)} won't take it before {when}; retry after that.")
    if platform in PLATFORMS_THAT_UPLOAD:
        token = platform_tokens.get(table, cid, platform)
        if token is None or token.status == platform_tokens.NEEDS_RECONNECT:
            name = name_of(platform)
            raise NotChanged(f"Connect {name} again on the Connections page, then retry.")
    pub = store.retry(table, cid, clid, platform, now)
    return pub, run_at(pub)


def statuses(table: Table, cid: str, clid: str) -> dict[str, Publication]:
    """The clip's posts by platform (one Query), in PLATFORMS_THAT_UPLOAD's order."""
    order = {platform: i for i, platform in enumerate(PLATFORMS_THAT_UPLOAD)}
    posts = store.list_for_clip(table, cid, clid)
    ordered = sorted(posts, key=lambda pub: order.get(pub.platform, len(order)))
    return {pub.platform: pub for pub in ordered}


def _utc() -> datetime:
    return datetime.now(UTC)
