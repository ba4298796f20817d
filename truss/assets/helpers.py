"""What every asset view needs: collaborators from the app, and template helpers."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from truss.auth.session import current_creator
from truss.data import assets
from truss.data.assets import FAILED, READY, Asset
from truss.data.clips import Clip
from truss.data.table import Table
from truss.extensions import get_storage, get_table
from truss.services.uploads import OnUploaded, UploadLimits, human_size
from truss.storage import Storage

ON_UPLOADED_EXTENSION = "truss.on_uploaded"
PLAYBACK_URL_EXPIRES_S = 900
THUMBNAIL_URL_EXPIRES_S = 900


def collaborators() -> tuple[Table, Storage, str]:
    """The table, the bucket and the signed-in creator's id (never an id from the request)."""
    return get_table(), get_storage(), current_creator().id


def limits() -> UploadLimits:
    return UploadLimits.from_config(current_app.config)


def on_uploaded_hook() -> OnUploaded:
    """What runs after a confirmed upload: queue the analysis (tests may swap it in
    `app.extensions["truss.on_uploaded"]`)."""
    hook: OnUploaded = current_app.extensions.get(ON_UPLOADED_EXTENSION, queue_analysis)
    return hook


def queue_analysis(asset: Asset) -> None:
    from truss.jobs import request_analysis

    request_analysis(asset)


def is_stuck(asset: Asset) -> bool:
    """Working far longer than its jobs may run (their timeout grows with the video)."""
    from truss.queue import job_timeout_s

    return assets.is_stuck(asset, job_timeout_s(current_app.config, asset.duration_s))


def cost_usd(asset: Asset) -> float:
    config = current_app.config
    return (
        asset.input_tokens * config["GEMINI_INPUT_PRICE_PER_M"]
        + asset.output_tokens * config["GEMINI_OUTPUT_PRICE_PER_M"]
    ) / 1_000_000


def poster_url(storage: Storage, clip: Clip) -> str:
    if not clip.poster_key:
        return ""
    return storage.presigned_get(clip.poster_key, THUMBNAIL_URL_EXPIRES_S)


def clip_link(clip: Clip) -> str:
    """The clip's own page, once the clips area exists."""
    if "clips.detail" not in current_app.view_functions:
        return ""
    return url_for("clips.detail", clid=clip.id)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def filesize(asset: Asset) -> str:
    return human_size(asset.size if asset.size is not None else asset.expected_size)


def badge_class(asset: Asset) -> str:
    status = asset.display_status
    if status == READY:
        return "badge-ready"
    if status in {FAILED, "abandoned"}:
        return "badge-failed"
    return "badge-working"


def thumbnail_url(storage: Storage, asset: Asset) -> str:
    if not asset.thumbnail_key:
        return ""
    return storage.presigned_get(asset.thumbnail_key, THUMBNAIL_URL_EXPIRES_S)


def template_helpers() -> dict[str, Any]:
    return {
        "duration": duration,
        "filesize": filesize,
        "badge_class": badge_class,
        "is_stuck": is_stuck,
        "cost_usd": cost_usd,
        "poster_url": lambda clip: poster_url(get_storage(), clip),
        "clip_link": clip_link,
    }
