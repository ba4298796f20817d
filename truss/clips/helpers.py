"""What every clip view needs: collaborators from the app, media URLs, template helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app

from truss.auth.session import current_creator
from truss.data import assets, clips
from truss.data.assets import Asset
from truss.data.clips import Clip
from truss.data.table import NotFound, Table
from truss.extensions import get_storage, get_table
from truss.polling import CLIP, poll_token
from truss.services.clips import EnqueueRender, TrimLimits, clock
from truss.storage import Storage

ENQUEUE_RENDER_EXTENSION = "truss.enqueue_render"
MEDIA_URL_EXPIRES_S = 900
DOWNLOAD_URL_EXPIRES_S = 300
STATUS_LABELS = {
    clips.PENDING: "Waiting to render",
    clips.RENDERING: "Rendering",
    clips.READY: "Ready",
    clips.FAILED: "Render failed",
}


def collaborators() -> tuple[Table, Storage, str]:
    """The table, the bucket and the signed-in creator's id (never an id from the request)."""
    return get_table(), get_storage(), current_creator().id


def enqueue_render() -> EnqueueRender:
    """`app.extensions["truss.enqueue_render"]` if set (tests), else the real RQ enqueuer."""
    custom: EnqueueRender | None = current_app.extensions.get(ENQUEUE_RENDER_EXTENSION)
    if custom is not None:
        return custom
    from truss.jobs import enqueue_rerender as real  # imported late: it pulls in ffmpeg tooling

    return real


def trim_limits() -> TrimLimits:
    return TrimLimits()


def own_clip(clid: str) -> tuple[Table, Storage, Clip]:
    """The signed-in creator's clip (NotFound → 404 for anyone else's or a missing one)."""
    table, storage, cid = collaborators()
    return table, storage, clips.get(table, cid, clid)


def asset_titles(table: Table, cid: str, asset_ids: Iterable[str]) -> dict[str, str]:
    """Titles of the source videos on one page: one BatchGetItem of their titles only."""
    wanted = set(asset_ids)
    found = assets.titles(table, cid, wanted)
    return {aid: found.get(aid, "A deleted video") for aid in wanted}


def source_asset(table: Table, clip: Clip) -> Asset | None:
    try:
        return assets.get(table, clip.creator_id, clip.asset_id)
    except NotFound:
        return None


def media_url(storage: Storage, key: str) -> str:
    return storage.presigned_get(key, MEDIA_URL_EXPIRES_S) if key else ""


def badge_class(clip: Clip) -> str:
    if clip.render_status == clips.READY:
        return "badge-ready"
    return "badge-failed" if clip.render_status == clips.FAILED else "badge-working"


def template_helpers() -> dict[str, Any]:
    return {
        "clock": clock,
        "status_label": lambda clip: STATUS_LABELS.get(clip.render_status, clip.render_status),
        "badge_class": badge_class,
        "media_url": lambda key: media_url(get_storage(), key),
        "editable_fields": FIELD_LABELS,
        "field_text": field_text,
        "clip_poll_token": lambda clip: poll_token(clip.creator_id, CLIP, clip.id),
    }


def field_text(clip: Clip, name: str) -> str:
    """An editable field as the page shows it (hashtags space-separated)."""
    return " ".join(clip.hashtags) if name == "hashtags" else str(getattr(clip, name))


FIELD_LABELS = {
    "title": "Title",
    "hook": "Hook",
    "hashtags": "Hashtags",
    "transcript": "Transcript excerpt",
}
