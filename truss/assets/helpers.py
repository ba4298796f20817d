"""What the asset views share: the get-or-404 helper, upload limits, template helpers."""

from __future__ import annotations

from typing import Any

from flask import current_app

from truss.auth.session import current_creator
from truss.data import assets
from truss.data.assets import Asset
from truss.data.clips import Clip
from truss.extensions import get_storage, get_table
from truss.polling import gone_from_the_page as gone_from_the_page  # publishing/routes.py
from truss.queue import job_timeout_s
from truss.services.uploads import UploadLimits
from truss.storage import Storage
from truss.units import human_size

PLAYBACK_URL_EXPIRES_S = 900
THUMBNAIL_URL_EXPIRES_S = 900


def own_asset(aid: str) -> Asset:
    """The signed-in creator's video (NotFound → 404 for anyone else's or a missing one)."""
    return assets.get(get_table(), current_creator().id, aid)


def limits() -> UploadLimits:
    return UploadLimits.from_config(current_app.config)


def is_stuck(asset: Asset) -> bool:
    """Working far longer than its jobs may run (their timeout grows with the video)."""
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


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def filesize(asset: Asset) -> str:
    return human_size(asset.size if asset.size is not None else asset.expected_size)


def thumbnail_url(storage: Storage, asset: Asset) -> str:
    if not asset.thumbnail_key:
        return ""
    return storage.presigned_get(asset.thumbnail_key, THUMBNAIL_URL_EXPIRES_S)


def template_helpers() -> dict[str, Any]:
    return {
        "duration": duration,
        "filesize": filesize,
        "is_stuck": is_stuck,
        "cost_usd": cost_usd,
        "poster_url": lambda clip: poster_url(get_storage(), clip),
    }
