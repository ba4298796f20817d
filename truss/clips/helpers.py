"""What the clip views share: the get-or-404 helper, media URLs, template helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from truss.auth.session import current_creator
from truss.captions import styles
from truss.data import assets, clips
from truss.data.assets import Asset
from truss.data.clips import Clip
from truss.data.table import NotFound, Table
from truss.extensions import get_storage, get_table
from truss.polling import CLIP, poll_token
from truss.reframe import layouts
from truss.services.clips import TrimLimits, clock
from truss.storage import Storage

MEDIA_URL_EXPIRES_S = 900
DOWNLOAD_URL_EXPIRES_S = 300
STATUS_LABELS = {
    clips.PENDING: "Waiting to render",
    clips.RENDERING: "Rendering",
    clips.READY: "Ready",
    clips.FAILED: "Render failed",
}
FIELD_LABELS = {
    "title": "Title",
    "hook": "Hook",
    "hashtags": "Hashtags",
    "transcript": "Transcript excerpt",
}


def own_clip(clid: str) -> Clip:
    """The signed-in creator's clip (NotFound → 404 for anyone else's or a missing one)."""
    return clips.get(get_table(), current_creator().id, clid)


def trim_limits() -> TrimLimits:
    return TrimLimits()


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


def field_text(clip: Clip, name: str) -> str:
    """An editable field as the page shows it (hashtags space-separated)."""
    return " ".join(clip.hashtags) if name == "hashtags" else str(getattr(clip, name))


def template_helpers() -> dict[str, Any]:
    return {
        "clock": clock,
        "status_label": lambda clip: STATUS_LABELS.get(clip.render_status, clip.render_status),
        "media_url": lambda key: media_url(get_storage(), key),
        "editable_fields": FIELD_LABELS,
        "field_text": field_text,
        "clip_poll_token": lambda clip: poll_token(clip.creator_id, CLIP, clip.id),
        "layout_labels": layouts.LABELS,
        "caption_labels": styles.LABELS,
    }
