"""Clip rules: trim and re-render, add a clip by hand, edit fields, delete, download names.

Collaborators (table, storage) are arguments, so tests pass fakes. A trim or a clip of one's
own returns the clip whose render is to be queued; the route hands it to `jobs.queue_render`,
which calls `fail_unqueued` here if the queue refuses it.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from truss.analysis import limits
from truss.captions import styles
from truss.data import clips, keys, shares
from truss.data.assets import Asset
from truss.data.clips import Clip
from truss.data.creators import new_id
from truss.data.table import Conflict, NotFound, Table
from truss.reframe import layouts
from truss.services.quotas import release_clip
from truss.storage import Storage

log = logging.getLogger(__name__)
QUEUE_FAILED = "We couldn't queue the render: the job queue didn't answer. Press Re-render."
BUSY = "This clip is already being rendered. Wait until it's done, then trim again."
VIDEO_DELETED = "This video was deleted, so no clip can be made from it any more."
FIELD_LIMITS = {
    "title": limits.TITLE_CHARS,  # the caps model output gets too (truss.analysis.limits)
    "hook": limits.HOOK_CHARS,
    "transcript": limits.TRANSCRIPT_CHARS,
}
MAX_HASHTAGS = 15
HASHTAG = re.compile(r"^#?(\w{1,50})$")


class TrimError(ValueError):
    """A start/end the creator has to fix; `errors` maps field name → what to do."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class FieldError(ValueError):
    """An edited field that can't be saved as typed."""


@dataclass(frozen=True)
class TrimLimits:
    min_s: float = 3.0
    max_s: float = 180.0  # YouTube Shorts' and Instagram Reels' upper limit


def parse_time(text: str) -> float | None:
    """Seconds from "75.5", "1:15.5" or "0:01:15"; None when it isn't a time."""
    parts = text.strip().replace(",", ".").split(":")
    if not 1 <= len(parts) <= 3 or not all(parts):
        return None
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if any(n < 0 or n != n or n == float("inf") for n in numbers):
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return round(seconds, 3)


def clock(seconds: float) -> str:
    """1:15.5 style, for messages and default titles."""
    minutes, rest = divmod(max(seconds, 0.0), 60)
    text = f"{int(minutes)}:{rest:04.1f}"
    return text[:-2] if text.endswith(".0") else text


def check_window(
    start_text: str, end_text: str, source_s: float | None, limits: TrimLimits
) -> tuple[float, float]:
    """A valid (start, end) inside the source, or TrimError saying what to change."""
    start, end = parse_time(start_text), parse_time(end_text)
    errors: dict[str, str] = {}
    if start is None:
        errors["start"] = "Enter the start as seconds (like 75.5) or minutes:seconds (1:15.5)."
    if end is None:
        errors["end"] = "Enter the end as seconds (like 90) or minutes:seconds (1:30)."
    if start is None or end is None:
        raise TrimError(errors)
    if source_s is not None and start >= source_s:
        errors["start"] = f"The start is past the end of the video ({clock(source_s)})."
    if source_s is not None and end > source_s + 0.05:
        errors["end"] = f"The video is only {clock(source_s)} long: end at or before that."
    if not errors and end <= start:
        errors["end"] = "The end must come after the start."
    elif not errors and end - start < limits.min_s:
        errors["end"] = f"A clip must be at least {clock(limits.min_s)} long."
    elif not errors and end - start > limits.max_s:
        errors["end"] = f"A clip can be at most {clock(limits.max_s)} long: move the end earlier."
    if errors:
        raise TrimError(errors)
    return start, min(end, source_s) if source_s is not None else end


def render_id(prefix: str) -> str:
    """A new render attempt's id, e.g. t1767000000000 (sorts by time)."""
    return f"{prefix}{int(time.time() * 1000)}"


def fail_unqueued(table: Table, clip: Clip, error: Exception) -> Clip:
    """The queue refused the clip's pending render (`error`: Redis down, etc.): the clip
    says so instead of staying pending forever."""
    log.error("could not queue render %s of clip %s", clip.render_id, clip.id, exc_info=error)
    failed = clips.fail_render(table, clip.creator_id, clip.id, clip.render_id, QUEUE_FAILED)
    return failed or clip


def check_look(layout: str | None, caption_style: str | None) -> dict[str, str]:
    """The layout and caption style to store (a field not sent keeps the clip's); TrimError
    for a value that isn't one of the choices."""
    errors, look = {}, {}
    if layout is not None:
        if layouts.is_layout(layout):
            look["layout"] = layout
        else:
            errors["layout"] = "Pick one of the layouts listed (that one isn't a layout)."
    if caption_style is not None:
        if styles.is_style(caption_style):
            look["caption_style"] = caption_style
        else:
            errors["caption_style"] = "Pick one of the caption styles listed."
    if errors:
        raise TrimError(errors)
    return look


def trim(
    table: Table, clip: Clip, asset: Asset, start_text: str, end_text: str,
    limits: TrimLimits = TrimLimits(), layout: str | None = None,
    caption_style: str | None = None,
) -> Clip:  # fmt: skip
    """Validate the new window (and layout and caption style, when given) and move the clip
    back to pending: its re-render is to be queued (`jobs.queue_render`).

    The clip's current file stays in place (and playable) until the new one is uploaded."""
    errors: dict[str, str] = {}
    window: tuple[float, float] | None = None
    look: dict[str, str] = {}
    try:
        window = check_window(start_text, end_text, asset.duration_s, limits)
    except TrimError as exc:
        errors |= exc.errors
    try:
        look = check_look(layout, caption_style)
    except TrimError as exc:
        errors |= exc.errors
    if errors or window is None:
        raise TrimError(errors)
    if clip.working:
        raise TrimError({"start": BUSY})
    try:
        return clips.restart_render(table, clip.creator_id, clip.id, window, render_id("t"), look)
    except Conflict as exc:
        raise TrimError({"start": BUSY}) from exc


def add_own_clip(
    table: Table, asset: Asset, start_text: str, end_text: str, title: str,
    limits: TrimLimits = TrimLimits(),
) -> Clip:  # fmt: skip
    """A clip the creator picked on the asset page: validated and written pending (its
    render is to be queued: `jobs.queue_render`)."""
    if asset.duration_s is None:
        raise TrimError({"start": "This video hasn't been checked yet. Wait until it's ready."})
    window = check_window(start_text, end_text, asset.duration_s, limits)
    title = " ".join(title.split())[: FIELD_LIMITS["title"]]
    title = title or f"{asset.title} {clock(window[0])} to {clock(window[1])}"
    try:
        return clips.create_own(
            table, asset.creator_id, asset.id, new_id(), window, title, render_id("c")
        )
    except Conflict as exc:  # deleted since the page was read
        raise TrimError({"start": VIDEO_DELETED}) from exc


def clean_hashtags(text: str) -> list[str]:
    """'#launch, demo  #ai' → ['#launch', '#demo', '#ai']; FieldError for odd ones."""
    tags: dict[str, None] = {}
    for raw in text.replace(",", " ").split():
        found = HASHTAG.match(raw)
        if not found:
            raise FieldError(f"“{raw}” isn't a hashtag: use letters, digits and _ only.")
        tags.setdefault("#" + found.group(1), None)
    if len(tags) > MAX_HASHTAGS:
        raise FieldError(f"Use at most {MAX_HASHTAGS} hashtags.")
    return list(tags)


def clean_field(name: str, text: str) -> Any:
    """A form value as stored; FieldError says what to change."""
    if name == "hashtags":
        return clean_hashtags(text)
    value = text.strip() if name == "transcript" else " ".join(text.split())
    if name == "title" and not value:
        raise FieldError("A title can't be empty.")
    if len(value) > FIELD_LIMITS[name]:
        raise FieldError(f"Keep it under {FIELD_LIMITS[name]} characters.")
    return value


def edit_field(table: Table, cid: str, clid: str, name: str, text: str) -> Clip:
    if name not in clips.EDITABLE:
        raise FieldError(f"{name} can't be edited.")
    return clips.edit(table, cid, clid, {name: clean_field(name, text)})


def delete_clip(table: Table, storage: Storage, clip: Clip) -> None:
    """Fence its render (a running one can't finish and removes its own upload), stop its
    share link (the one the fenced item holds: `clip` may be an index's older copy), delete
    its files, then the item (last, so a retry works)."""
    fenced = clips.fence(table, clip.creator_id, clip.id)
    if fenced is not None and fenced.share_token:
        stop_sharing(table, fenced)
    release_clip(table, clip.creator_id, clip.id)  # its render's bytes no longer count
    storage.delete_prefix(keys.clip_object_prefix(clip.creator_id, clip.id))
    clips.delete(table, clip.creator_id, clip.id)


def delete_clips_of_asset(
    table: Table, storage: Storage, cid: str, aid: str, also: Iterable[str] = ()
) -> int:
    """Every clip of an asset with its files and share links (for deleting a video): the
    ones its clip index lists, and those of `also` (ids read by key: the index lags, so a
    clip written a moment ago may be missing from it)."""
    listed = {clip.id: clip for clip in clips.for_asset(table, cid, aid)}
    unlisted = [clid for clid in also if clid not in listed]
    doomed = [*listed.values(), *clips.by_ids(table, cid, aid, unlisted)]
    for clip in doomed:
        delete_clip(table, storage, clip)
    return len(doomed)


def download_name(clip: Clip) -> str:
    """An ASCII file name from the title: 'My great moment' → my-great-moment-01J2AB.mp4."""
    ascii_title = unicodedata.normalize("NFKD", clip.title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    return f"{slug or 'clip'}-{clip.id[-6:].lower()}.mp4"


def start_sharing(table: Table, clip: Clip) -> str:
    """The clip's live share token, made now if it has none; NotFound when the clip is
    gone or being deleted (a link made now would outlive it)."""
    if clip.share_token:
        return clip.share_token
    token = shares.new_token()
    try:
        shares.create(table, clip.creator_id, clip.id, token)
    except Conflict:
        current = clips.get(table, clip.creator_id, clip.id)  # shared meanwhile, or gone
        if current.render_id == clips.DELETED:
            raise NotFound(f"clip {clip.id} is being deleted") from None
        if not current.share_token:
            raise
        return current.share_token
    return token


def stop_sharing(table: Table, clip: Clip) -> None:
    """Revoke the live share link, if any (one revoked meanwhile is fine)."""
    if not clip.share_token:
        return
    try:
        shares.revoke(table, clip.creator_id, clip.id, clip.share_token)
    except Conflict:
        if clips.get(table, clip.creator_id, clip.id).share_token:
            raise
